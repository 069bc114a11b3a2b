//! A sampling round in a real browser (headless Chromium through chromedriver):
//! the sampler logs in, starts a round, binds a member with a barcode scanner
//! in keyboard mode, binds another with the phone's camera reading a printed
//! QR code (a fake camera playing a video of that code), and the round's page
//! follows a scan sent from another phone without being reloaded.

mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::path::Path;

use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};
use support::{id_number, TestApp, PASSWORD};
use webdriver::{Browser, ENTER};

async fn resident(app: &TestApp, token: &str, name: &str, seq: u16, household: i64) -> String {
    let body = json!({"name": name, "id_number": id_number("350602", 1980, 5, 5, seq), "household": household});
    let res = app.api(Method::POST, "/api/v1/residents", Some(token), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["sampling_code"].as_str().expect("code").to_string()
}

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

fn path_of(b: &Browser) -> String {
    b.eval("return location.pathname + location.search;").as_str().unwrap_or_default().to_string()
}

fn text_of(b: &Browser, css: &str) -> String {
    let script = format!("var e = document.querySelector({css:?}); return e ? e.textContent.trim() : null;");
    b.eval(&script).as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampler_scans_by_keyboard_and_by_camera_and_the_round_page_follows() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, h2) = app.place().await;
    let c1 = resident(&app, &staff, "甲", 41, h1).await;
    let c2 = resident(&app, &staff, "乙", 43, h1).await;
    let c3 = resident(&app, &staff, "丙", 45, h2).await;
    let dir = std::env::temp_dir().join(format!("frontline-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let video = dir.join("code.y4m");
    qr_video(&c3, &video);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(frontline_web::serve(listener, app.state.clone(), async move {
        let _ = stopped.await;
    }));
    let handle = tokio::runtime::Handle::current();
    let volunteer = app.token(Role::Volunteer).await;

    tokio::task::block_in_place(|| {
        let b = Browser::start(&[
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", video.display()),
        ]);
        b.goto(&format!("{base}/login"));
        b.type_into("input[name=username]", "group_lead");
        b.type_into("input[name=password]", &format!("{PASSWORD}{ENTER}"));
        b.wait_until(10, "the login to finish", |b| !path_of(b).starts_with("/login"));

        // Start a round over the district (every building is ticked by default).
        b.goto(&format!("{base}/sampling"));
        b.type_into("input[name=name]", "早筛");
        b.click("form[action='/sampling'] button[type=submit]");
        b.wait_until(10, "the round's page", |b| path_of(b).starts_with("/sampling/rounds/"));
        let round: i64 = path_of(&b).rsplit('/').next().and_then(|r| r.parse().ok()).expect("round id");

        // A barcode scanner in keyboard mode types the tube and Enter: the form is
        // not sent with the member missing, and the cursor is in the member's field.
        b.goto(&format!("{base}/sampling/rounds/{round}/scan?building={building}"));
        b.type_into("input[name=tube]", &format!("ZZ8001{ENTER}"));
        b.wait_until(5, "the member's field to take the cursor", |b| {
            b.eval("return document.activeElement && document.activeElement.name;") == Value::from("code")
        });
        assert!(path_of(&b).contains("/scan?building="), "nothing was sent yet");
        b.type_into("input[name=code]", &format!("{c1}{ENTER}"));
        b.wait_until(10, "the first member to be bound", |b| path_of(b).contains("status=accepted"));
        assert!(!text_of(&b, "[role=status]").is_empty(), "the sampler is told");
        assert_eq!(
            b.eval("return document.querySelector('input[name=tube]').value;"),
            Value::from("ZZ8001"),
            "the tube stays for its next member"
        );

        // The camera reads 丙's printed code and the form goes by itself.
        b.click("#camera");
        b.wait_until(20, "the camera to read the code", |_| {
            let tubes = handle.block_on(app.store().get_tube("ZZ8001"));
            tubes.is_ok_and(|t| t.members == 2)
        });
        let missed = handle.block_on(app.store().sampling_missed(round, &Default::default())).expect("missed");
        assert_eq!(missed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["乙"]);

        // The missed list as the group leader prints it.
        b.goto(&format!("{base}/sampling/rounds/{round}/missed"));
        let page = b.body_text();
        assert!(page.contains("乙") && !page.contains("甲") && !page.contains("丙"), "{page}");

        // The round's page follows a scan from another phone without a reload.
        b.goto(&format!("{base}/sampling/rounds/{round}"));
        b.wait_until(10, "the page's figures", |b| text_of(b, "#totals [data-k=sampled]") == "2");
        b.eval("window.notReloaded = true; return null;");
        let scan = json!({"scans": [{"key": "other-phone-1", "round": round, "tube": "ZZ8002", "resident_code": c2}]});
        let sent = handle.block_on(app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scan)));
        assert_eq!(sent.json()["results"][0]["status"], "accepted", "{}", sent.text());
        b.wait_until(15, "the live figures to follow", |b| text_of(b, "#totals [data-k=sampled]") == "3");
        assert_eq!(text_of(&b, "#totals [data-k=missed]"), "0");
        assert_eq!(b.eval("return window.notReloaded === true;"), Value::from(true));
    });
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}
