//! A sampling round in a real browser (headless Chromium through chromedriver):
//! the sampler logs in, starts a round, binds a member with a barcode scanner
//! in keyboard mode, binds another with the phone's camera reading a printed
//! QR code (a fake camera playing a video of that code), and the round's page
//! follows a scan sent from another phone without being reloaded; the lab then
//! uploads its result sheet with an abnormal pool, the round's page lists the
//! pool's people for single retests, and the lab records their results.

use std::path::Path;

use super::{log_in, path_of, serve, text_of};
use crate::support::webdriver::Browser;
use crate::support::{coded_resident, id_number, TestApp};
use axum::http::Method;
use fantoccini::key::Key;
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

/// A Y4M video (what Chromium's fake camera plays) of `text` as a QR code,
/// dark modules on white, as a printed code sheet looks to a phone.
fn qr_video(text: &str, path: &Path) {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("qr");
    let (modules, colors) = (code.width(), code.to_colors());
    let (scale, side) = (8, 320);
    let offset = (side - (modules * scale)) / 2;
    let mut frame = Vec::with_capacity(side * side * 3 / 2);
    for y in 0..side {
        for x in 0..side {
            let dark = x >= offset && y >= offset && {
                let (mx, my) = ((x - offset) / scale, (y - offset) / scale);
                mx < modules && my < modules && colors[my * modules + mx] == qrcode::Color::Dark
            };
            frame.push(if dark { 16u8 } else { 235u8 });
        }
    }
    frame.resize(side * side * 3 / 2, 128);
    let mut video = format!("YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..2 {
        video.extend_from_slice(b"FRAME\n");
        video.extend_from_slice(&frame);
    }
    std::fs::write(path, video).expect("video");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampler_scans_by_keyboard_and_by_camera_and_the_round_page_follows() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, h2) = app.place().await;
    let c1 = coded_resident(&app, &staff, "甲", 41, h1).await.1;
    let c2 = coded_resident(&app, &staff, "乙", 43, h1).await.1;
    let c3 = coded_resident(&app, &staff, "丙", 45, h2).await.1;
    let dir = std::env::temp_dir().join(format!("frontline-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let video = dir.join("code.y4m");
    qr_video(&c3, &video);
    let sheet = dir.join("检测结果.csv");
    std::fs::write(&sheet, "试管编号,检测结果\nZZ8001,异常\nZZ8002,阴性\n").expect("lab sheet");

    let (base, stop, server) = serve(&app).await;
    let volunteer = app.token(Role::Volunteer).await;

    let b = Browser::start(&[
        "--use-fake-ui-for-media-stream".into(),
        "--use-fake-device-for-media-stream".into(),
        format!("--use-file-for-fake-video-capture={}", video.display()),
    ])
    .await;
    log_in(&b, &base, "group_lead").await;

    // Start a round over the district (every building is ticked by default).
    b.goto(&format!("{base}/sampling")).await;
    b.type_into("input[name=name]", "早筛").await;
    b.click("form[action='/sampling'] button[type=submit]").await;
    b.wait_until(10, "the round's page", async |b| path_of(b).await.starts_with("/sampling/rounds/")).await;
    let round: i64 = path_of(&b).await.rsplit('/').next().and_then(|r| r.parse().ok()).expect("round id");
    crate::support::sweeps(&app, "volunteer", round).await;

    // A barcode scanner in keyboard mode types the tube and Enter: the form is
    // not sent with the member missing, and the cursor is in the member's field.
    b.goto(&format!("{base}/sampling/rounds/{round}/scan?building={building}")).await;
    b.type_into("input[name=tube]", &format!("ZZ8001{}", Key::Enter)).await;
    b.wait_until(5, "the member's field to take the cursor", async |b| {
        b.eval("return document.activeElement && document.activeElement.name;").await == "code"
    })
    .await;
    assert!(path_of(&b).await.contains("/scan?building="), "nothing was sent yet");
    b.type_into("input[name=code]", &format!("{c1}{}", Key::Enter)).await;
    // The page sends it in the background and says who was bound.
    b.wait_until(10, "the first member to be bound", async |b| text_of(b, "#scan-status").await.contains("甲")).await;
    assert!(path_of(&b).await.contains("/scan?building="), "the page stayed");
    assert_eq!(text_of(&b, "#tube-fill").await, "1/10", "the tube's fill");
    assert_eq!(
        b.eval("return document.querySelector('input[name=tube]').value;").await,
        Value::from("ZZ8001"),
        "the tube stays for its next member"
    );

    // The camera reads 丙's printed code and the form goes by itself.
    b.click("#camera").await;
    b.wait_until(20, "the camera to read the code", async |_| {
        app.store().get_tube("ZZ8001").await.is_ok_and(|t| t.members == 2)
    })
    .await;
    // The household is done: the sampler seals the tube early and the page is
    // ready for a new one.
    b.wait_until(10, "the page to say so", async |b| text_of(b, "#tube-fill").await == "2/10").await;
    b.goto(&format!("{base}/sampling/rounds/{round}/scan?building={building}&tube=ZZ8001")).await;
    b.wait_until(10, "the page to show both members bound", async |b| {
        b.eval("return document.querySelectorAll('.person .tag.done').length;").await == 2
    })
    .await;
    b.click("#seal").await;
    b.wait_until(10, "the tube to be sealed", async |b| path_of(b).await.contains("sealed=ZZ8001")).await;
    assert_eq!(b.eval("return document.querySelector('input[name=tube]').value;").await, Value::from(""));
    assert!(app.store().get_tube("ZZ8001").await.expect("tube").sealed);
    let missed = app.store().sampling_missed(round, &Default::default()).await.expect("missed");
    assert_eq!(missed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["乙"]);

    // The missed list as the group leader prints it.
    b.goto(&format!("{base}/sampling/rounds/{round}/missed")).await;
    let page = b.body_text().await;
    assert!(page.contains("乙") && !page.contains("甲") && !page.contains("丙"), "{page}");

    // The round's page follows a scan from another phone without a reload.
    b.goto(&format!("{base}/sampling/rounds/{round}")).await;
    b.wait_until(10, "the page's figures", async |b| text_of(b, "#totals [data-k=sampled]").await == "2").await;
    b.eval("window.notReloaded = true; return null;").await;
    let scan = json!({"scans": [{"key": "other-phone-1", "round": round, "tube": "ZZ8002", "resident_code": c2}]});
    let sent = app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scan)).await;
    assert_eq!(sent.json()["results"][0]["status"], "accepted", "{}", sent.text());
    b.wait_until(15, "the live figures to follow", async |b| text_of(b, "#totals [data-k=sampled]").await == "3").await;
    assert_eq!(text_of(&b, "#totals [data-k=missed]").await, "0");
    assert_eq!(b.eval("return window.notReloaded === true;").await, Value::from(true));

    // The lab uploads its sheet: 甲 and 丙's pool is abnormal, 乙's negative.
    let lab = Browser::start(&[]).await;
    log_in(&lab, &base, "lab").await;
    lab.goto(&format!("{base}/sampling/results")).await;
    lab.type_into("input[type=file]", &sheet.display().to_string()).await;
    lab.click("form[action='/sampling/results'] button[type=submit]").await;
    lab.wait_until(20, "the sheet's outcome", async |b| text_of(b, ".cards .card .n").await == "2").await;

    // The round's page lists both for a single retest at home, their building flagged.
    b.goto(&format!("{base}/sampling/rounds/{round}")).await;
    let retests = text_of(&b, "#retests tbody").await;
    assert!(retests.contains("甲") && retests.contains("丙") && !retests.contains("乙"), "{retests}");
    assert!(!text_of(&b, "#coverage .tag").await.is_empty(), "the building is flagged");

    // Each is retested alone at home; the lab records the results by their codes.
    for code in [&c1, &c3] {
        lab.goto(&format!("{base}/sampling/results")).await;
        lab.type_into("input[name=code]", code).await;
        lab.click("form[action='/sampling/retests'] button[type=submit]").await;
        lab.wait_until(10, "the retest to be recorded", async |b| {
            b.eval("var e = document.getElementById('retest-outcome'); return e ? e.dataset.status : null;").await
                == "cleared"
        })
        .await;
    }
    assert!(app.store().pending_retests(round).await.expect("retests").is_empty());
    b.goto(&format!("{base}/sampling/rounds/{round}")).await;
    b.wait_until(10, "the page's figures", async |b| text_of(b, "#totals [data-k=sampled]").await == "3").await;
    assert_eq!(b.eval("return document.querySelectorAll('#retests, #coverage .tag').length;").await, Value::from(0));
    assert_eq!(text_of(&b, "#totals [data-k=missed]").await, "0", "coverage stays at 100 %");
    lab.close().await;
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_census_sheet_is_picked_checked_and_committed_in_the_browser() {
    let app = TestApp::new(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("frontline-browser-census-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // A sheet as a community sends it: a title row, Chinese headers, a BOM, and one
    // ID number whose check character is wrong.
    let good1 = id_number("350602", 1950, 3, 9, 11);
    let good2 = id_number("350602", 1988, 7, 1, 12);
    let mut bad = id_number("350602", 1990, 1, 1, 13);
    let last = if bad.ends_with('1') { "2" } else { "1" };
    bad.replace_range(17.., last);
    let csv = format!(
        "\u{feff}海月花园第一轮摸排\n姓名,身份证号,联系电话,楼栋,单元,房号\n\
         陈建国,{good1},13800000001,3号楼,1单元,1301\n林美华,{good2},13800000002,3栋,1,1302\n\
         王错号,{bad},13800000003,3,1单元,1303\n"
    );
    let file = dir.join("第一轮.csv");
    std::fs::write(&file, csv).expect("sheet");
    let (base, stop, server) = serve(&app).await;

    let b = Browser::start(&[]).await;
    log_in(&b, &base, "staff").await;
    b.goto(&format!("{base}/census")).await;
    // The file picker takes the file's path, as a person choosing it would.
    b.type_into("input[type=file]", &file.display().to_string()).await;
    b.type_into("input[name=round]", "第一轮").await;
    b.type_into("input[name=compound]", "海月花园").await;
    b.click("form[action='/census/upload'] button[type=submit]").await;
    b.wait_until(20, "the check's preview", async |b| path_of(b).await.starts_with("/census/uploads/")).await;
    let preview = b.body_text().await;
    // The refused row is listed with its row number and value; the count per
    // reason reads as a title (it once showed the message's unfilled {parameters}).
    // ... its value masked like every number shown to someone who may not reveal.
    let shown = frontline_domain::privacy::mask_text(&bad);
    assert!(preview.contains(&shown) && !preview.contains(&bad), "the refused row is shown masked: {preview}");
    assert!(!preview.contains('{'), "no unfilled parameter: {preview}");
    assert!(app_residents(&app).await == 0, "nothing is written before the commit");
    // One row is refused: the button commits the valid rows.
    b.click("form[action$='/commit'] button[type=submit]").await;
    b.wait_until(20, "the round's page", async |b| path_of(b).await.starts_with("/census/rounds/")).await;
    assert_eq!(app_residents(&app).await, 2);
    let round_page = b.body_text().await;
    assert!(round_page.contains("3号楼"), "{round_page}");
    b.close().await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}

/// Residents in the database.
async fn app_residents(app: &TestApp) -> usize {
    app.store().list_residents(&Default::default(), None, 100).await.expect("residents").items.len()
}
