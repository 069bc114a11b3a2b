//! Census reconciliation in a real browser: a building leader's partial sheet
//! is checked, shown with the buildings it covers and what confirming it will
//! do, then confirmed (committed) and compared only within them: the people who
//! left are out of the base numbers, and the building's page counts them no more.

use super::{log_in, path_of, serve, text_of};
use crate::support::webdriver::Browser;
use crate::support::{id_number, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_store::Backend;

/// Six people in each of 1号楼, 2号楼 and 3号楼: (name, ID number, building, room).
fn people() -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for b in 1..=3u16 {
        for i in 0..6u16 {
            let id = id_number("350602", 1960 + i32::from(i), u32::from(b), 10, b * 10 + i);
            out.push((format!("住户{b}{i}"), id, format!("{b}号楼"), format!("{}", 101 + i)));
        }
    }
    out
}

fn csv(rows: &[&(String, String, String, String)]) -> String {
    let mut out = String::from("\u{feff}姓名,身份证号,楼栋,单元,房号\n");
    for (name, id, building, room) in rows {
        out.push_str(&format!("{name},{id},{building},1单元,{room}\n"));
    }
    out
}

/// The number on a page's card labelled `key` (in whichever language the page is).
async fn card(b: &Browser, key: &str) -> String {
    let (zh, en) = (catalogue().text(Lang::Zh, key), catalogue().text(Lang::En, key));
    let script = format!(
        "var c = Array.from(document.querySelectorAll('.card')).find(c => [{zh:?}, {en:?}].includes(c.querySelector('.l').textContent.trim())); \
         return c ? c.querySelector('.n').textContent.trim() : null;"
    );
    b.eval(&script).await.as_str().unwrap_or_default().to_string()
}

async fn building_id(app: &TestApp, name: &str) -> i64 {
    let base = app.store().base_numbers("1960-01-01", "2020-01-01").await.expect("base");
    base.buildings.iter().find(|b| b.building == name).and_then(|b| b.building_id).expect("building")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_sheet_is_reconciled_within_its_buildings_and_confirming_lowers_the_base() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let all = people();
    let first = csv(&all.iter().collect::<Vec<_>>());
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/census/imports?round=R1&compound={}", frontline_web::error::percent_encode("海月花园")))
        .header(header::AUTHORIZATION, format!("Bearer {staff}"))
        .body(Body::from(first))
        .expect("request");
    assert_eq!(app.send(req).await.status, StatusCode::CREATED);
    // 2号楼's leader sends their building's sheet: two of its six have left.
    let dir = std::env::temp_dir().join(format!("frontline-browser-reconcile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("2号楼.csv");
    let partial: Vec<_> = all.iter().filter(|p| p.2 == "2号楼").take(4).collect();
    std::fs::write(&file, csv(&partial)).expect("sheet");
    let (base, stop, server) = serve(&app).await;
    let shots = std::env::var_os("FRONTLINE_SCREENSHOTS").map(std::path::PathBuf::from);

    let b = Browser::start(&[]).await;
    log_in(&b, &base, "group_lead").await;
    b.goto(&format!("{base}/census")).await;
    b.type_into("input[type=file]", &file.display().to_string()).await;
    b.type_into("input[name=round]", "2号楼复核").await;
    b.type_into("input[name=compound]", "海月花园").await;
    b.click("form[action='/census/upload'] button[type=submit]").await;
    b.wait_until(20, "the check's preview", async |b| path_of(b).await.starts_with("/census/uploads/")).await;
    // The preview says which buildings the sheet covers, and compares only those.
    let scope = text_of(&b, "fieldset.scope").await;
    assert!(scope.contains("2号楼") && scope.contains('2'), "{scope}");
    let checked = b.eval("return document.querySelector('input[name=scope]:checked').value;").await;
    assert_eq!(checked.as_str(), Some("buildings"));
    if let Some(dir) = &shots {
        for w in [1366, 360] {
            b.resize(w, 2000).await;
            b.screenshot(&dir.join(format!("reconcile-preview-{w}.png"))).await;
        }
        b.resize(1366, 900).await;
    }
    let consequence = text_of(&b, "#consequence").await;
    assert!(consequence.contains('2'), "the preview says two will leave the base numbers: {consequence}");
    // Compared across the whole compound instead, everyone of 1号楼 and 3号楼 would leave too.
    b.click("input[name=scope][value=compound]").await;
    b.click("form.scope button[type=submit]").await;
    b.wait_until(20, "the compound's comparison", async |b| text_of(b, "#consequence").await.contains("14")).await;
    b.click("input[name=scope][value=buildings]").await;
    b.click("form.scope button[type=submit]").await;
    b.wait_until(20, "the building's comparison", async |b| !text_of(b, "#consequence").await.contains("14")).await;
    assert!(path_of(&b).await.contains("scope=buildings"));
    let residents = "buildings.residents";
    let b2 = building_id(&app, "2号楼").await;
    let b1 = building_id(&app, "1号楼").await;
    let preview = path_of(&b).await;
    b.goto(&format!("{base}/buildings/{b2}")).await;
    assert_eq!(card(&b, residents).await, "6", "the preview takes nobody out");
    b.goto(&format!("{base}{preview}")).await;
    b.click("form[action$='/commit'] button[type=submit]").await;
    b.wait_until(20, "the round's page", async |b| path_of(b).await.starts_with("/census/rounds/")).await;
    assert_eq!(text_of(&b, "#total-gone").await, "2", "nobody outside 2号楼 is gone");
    assert!(text_of(&b, "#scope").await.contains("2号楼"));
    assert!(text_of(&b, "#confirmed").await.contains("group_lead"), "confirmed as it was committed");
    if let Some(dir) = &shots {
        b.goto(&format!("{base}{}?kind=gone", path_of(&b).await)).await;
        for w in [1366, 360] {
            b.resize(w, 2000).await;
            b.screenshot(&dir.join(format!("reconcile-round-{w}.png"))).await;
        }
        b.resize(1366, 900).await;
    }
    b.goto(&format!("{base}/buildings/{b2}")).await;
    assert_eq!(card(&b, residents).await, "4", "the two who left are out of 2号楼's count");
    b.goto(&format!("{base}/buildings/{b1}")).await;
    assert_eq!(card(&b, residents).await, "6", "1号楼 was not in the sheet and keeps everyone");
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}
