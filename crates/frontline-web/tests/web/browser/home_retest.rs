//! A home retest in a real browser: two people's pooled tube came back
//! abnormal. The sampler, on a 360 px phone, switches the scan page to home
//! retests (复核单采), puts each of them into a new single tube and sees each
//! confirmed, the list following without a reload; the lab then records one
//! retest by the person's code (negative: released) and the other through its
//! result sheet by the retest tube's code (abnormal: a confirmed case).

use super::{log_in, path_of, serve, text_of};
use crate::sampling::fill::round_of;
use crate::support::webdriver::Browser;
use crate::support::{coded_resident, TestApp};
use axum::http::{Method, StatusCode};
use fantoccini::key::Key;
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

/// Binds pooled scans through the API: (key, tube, person's code).
async fn pooled(app: &TestApp, token: &str, round: i64, scans: &[(&str, &str, &str)]) {
    let scans: Vec<Value> = scans
        .iter()
        .map(|(key, tube, code)| json!({"key": key, "round": round, "tube": tube, "resident_code": code}))
        .collect();
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(token), Some(json!({"scans": scans}))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    for r in res.json()["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{}", res.text());
    }
}

/// Scans a new tube, then a person's code, as a barcode scanner in keyboard
/// mode does, and waits for the page to confirm the person by name.
async fn scan_retest(b: &Browser, tube: &str, code: &str, name: &str) {
    b.type_into("input[name=tube]", &format!("{tube}{}", Key::Enter)).await;
    b.wait_until(5, "the member's field to take the cursor", async |b| {
        b.eval("return document.activeElement && document.activeElement.name;").await == "code"
    })
    .await;
    b.type_into("input[name=code]", &format!("{code}{}", Key::Enter)).await;
    b.wait_until(10, "the retest to be confirmed", async |b| text_of(b, "#scan-status").await.contains(name)).await;
}

/// Whether the sampler's list tags the person `id` as still due for a retest.
async fn tagged_due(b: &Browser, id: i64) -> bool {
    let script = format!("return document.querySelector('.person[data-r=\"{id}\"] .tag.retest-due') !== null;");
    b.eval(&script).await == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_retest_is_scanned_on_a_phone_and_reported_by_the_lab() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lab_token = app.token(Role::Lab).await;
    let (building, h1, h2) = app.place().await;
    let (wang, wang_code) = coded_resident(&app, &staff, "王建明", 131, h1).await;
    let (li, li_code) = coded_resident(&app, &staff, "李秀英", 133, h1).await;
    let (zhang, zhang_code) = coded_resident(&app, &staff, "张伟", 135, h2).await;
    let round = round_of(&app, building, 5).await;
    crate::support::sweeps(&app, "volunteer", round).await;
    // 王建明 and 李秀英 share a pooled tube that comes back abnormal; 张伟's is negative.
    pooled(&app, &staff, round, &[("p1", "ZZ7101", &wang_code), ("p2", "ZZ7101", &li_code)]).await;
    pooled(&app, &staff, round, &[("p3", "ZZ7102", &zhang_code)]).await;
    let sheet =
        json!({"results": [{"tube": "ZZ7101", "result": "abnormal"}, {"tube": "ZZ7102", "result": "negative"}]});
    let res = app.api(Method::POST, "/api/v1/sampling/results", Some(&lab_token), Some(sheet)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(app.store().retests_to_take(round).await.expect("due"), {
        let mut due = vec![wang, li];
        due.sort();
        due
    });

    let dir = std::env::temp_dir().join(format!("frontline-browser-retest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (base, stop, server) = serve(&app).await;

    // The sampler, on a small phone, reading Chinese.
    let b = Browser::start(&[]).await;
    log_in(&b, &base, "volunteer").await;
    b.resize(360, 780).await;
    let page = format!("/sampling/rounds/{round}/scan?building={building}");
    b.goto(&format!("{base}/lang/zh?next={}", frontline_web::error::percent_encode(&page))).await;
    b.wait_until(5, "the page in Chinese", async |b| b.body_text().await.contains("试管")).await;
    assert!(tagged_due(&b, wang).await && tagged_due(&b, li).await && !tagged_due(&b, zhang).await);

    // The switch to home retests.
    b.click("a[href*='retest=1']").await;
    b.wait_until(10, "the retest mode", async |b| path_of(b).await.contains("retest=1")).await;
    assert!(text_of(&b, "h1").await.contains("复核单采"), "{}", text_of(&b, "h1").await);
    assert_eq!(b.eval("return document.querySelector('#scan-form input[name=retest]').value;").await, "1");
    assert_eq!(b.eval("return document.getElementById('seal-form');").await, Value::Null, "a retest tube seals itself");
    assert_eq!(
        b.eval("return document.documentElement.scrollWidth <= window.innerWidth;").await,
        Value::from(true),
        "nothing runs off a 360 px screen"
    );
    if let Some(shots) = std::env::var_os("FRONTLINE_SCREENSHOTS") {
        b.screenshot(&std::path::Path::new(&shots).join("home-retest-360.png")).await;
    }

    // 王建明 goes into a new single tube: confirmed by name, the tube is done at
    // once, and the list no longer asks for his retest.
    scan_retest(&b, "ZZR701", &wang_code, "王建明").await;
    assert!(b.eval("return document.querySelector('#scan-status .notice.tube-done') !== null;").await == true);
    assert!(text_of(&b, "#scan-status").await.contains("本管已满"), "{}", text_of(&b, "#scan-status").await);
    assert_eq!(b.eval("return document.querySelector('input[name=tube]').value;").await, "", "ready for a new tube");
    assert!(!tagged_due(&b, wang).await, "the list follows without a reload");
    let listed = text_of(&b, &format!(".person[data-r='{wang}']")).await;
    assert_eq!(listed, "ZZ7101 王建明", "his pooled tube beside his name, as after a reload");
    assert!(tagged_due(&b, li).await, "李秀英 is still due");
    let tube = app.store().get_tube("ZZR701").await.expect("retest tube");
    assert_eq!((tube.round, tube.pool_size, tube.members, tube.sealed), (round, 1, 1, true));
    assert_eq!(app.store().retests_to_take(round).await.expect("due"), vec![li]);

    scan_retest(&b, "ZZR702", &li_code, "李秀英").await;
    assert!(!tagged_due(&b, li).await);
    if let Some(shots) = std::env::var_os("FRONTLINE_SCREENSHOTS") {
        b.screenshot(&std::path::Path::new(&shots).join("home-retest-360-scanned.png")).await;
    }
    // The server's page agrees once reloaded.
    b.goto(&format!("{base}{page}&retest=1")).await;
    assert_eq!(b.eval("return document.querySelectorAll('.tag.retest-due').length;").await, Value::from(0));
    assert!(app.store().retests_to_take(round).await.expect("due").is_empty());
    assert_eq!(app.store().pending_retests(round).await.expect("pending").len(), 2, "both await their results");

    // The lab types 王建明's result in by his code: negative releases him.
    let lab = Browser::start(&[]).await;
    log_in(&lab, &base, "lab").await;
    let results = frontline_web::error::percent_encode("/sampling/results");
    lab.goto(&format!("{base}/lang/zh?next={results}")).await;
    lab.type_into("form[action='/sampling/retests'] input[name=code]", &wang_code).await;
    lab.click("form[action='/sampling/retests'] select[name=result] option[value=negative]").await;
    lab.click("form[action='/sampling/retests'] button[type=submit]").await;
    lab.wait_until(10, "the retest to be recorded", async |b| {
        b.eval("var e = document.getElementById('retest-outcome'); return e ? e.dataset.status : null;").await
            == "cleared"
    })
    .await;
    let outcome = text_of(&lab, "#retest-outcome").await;
    assert!(outcome.contains(&wang_code) && outcome.contains("复核阴性，已解除"), "{outcome}");
    // The lab sees no resident: the confirmation names the code, never the person.
    assert!(!lab.body_text().await.contains("王建明"), "{}", lab.body_text().await);
    let pending: Vec<i64> = app.store().pending_retests(round).await.expect("pending").iter().map(|r| r.0).collect();
    assert_eq!(pending, vec![li], "王建明 is released, 李秀英 still waits");

    // 李秀英's retest tube comes back abnormal on the lab's sheet: a confirmed case.
    let sheet = dir.join("复核结果.csv");
    std::fs::write(&sheet, "样本编号,检测结果\nZZR702,异常\n").expect("lab sheet");
    lab.type_into("input[type=file]", &sheet.display().to_string()).await;
    lab.click("form[action='/sampling/results'] button[type=submit]").await;
    lab.wait_until(20, "the sheet's outcome", async |b| text_of(b, ".cards .card .n").await == "1").await;
    assert_eq!(app.store().get_tube("ZZR702").await.expect("tube").result.as_deref(), Some("abnormal"));
    assert!(app.store().pending_retests(round).await.expect("pending").is_empty());
    let confirmed: Vec<i64> = app.store().confirmed_cases(round).await.expect("cases").iter().map(|r| r.0).collect();
    assert_eq!(confirmed, vec![li], "only 李秀英 is a confirmed case");

    lab.close().await;
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}
