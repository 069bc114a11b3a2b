//! The scan writer seen from outside: while it is down, `/readyz` says so and
//! scans get a 503 with `Retry-After` and a message in the caller's language;
//! when it is back, scans are accepted again. Runs on both backends.

use crate::support::{coded_resident, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};
use std::time::Duration;

async fn writer_down_and_back(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let (building, h1, h2) = app.place().await;
    let (_, c1) = coded_resident(&app, &staff, "甲", 11, h1).await;
    let (_, c2) = coded_resident(&app, &staff, "乙", 13, h2).await;
    let created = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 5, "buildings": [building]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("id");
    crate::support::sweeps(&app, "volunteer", round).await;
    let scans = |key: &str, code: &str| -> Value {
        json!({"scans": [{"key": key, "round": round, "tube": "ZZ0001", "resident_code": code, "at": 1_000}]})
    };
    let post = |body: Value, lang: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/sampling/scans")
            .header(header::AUTHORIZATION, format!("Bearer {volunteer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT_LANGUAGE, lang)
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let ready = app.api(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["scan_writer_up"], true);

    app.state.scans().crash(true).await;
    let down = app.api(Method::GET, "/readyz", None, None).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        (down.json()["scan_writer_up"].clone(), down.json()["database_up"].clone()),
        (json!(false), json!(true))
    );
    let en = app.send(post(scans("k1", &c1), "en")).await;
    assert_eq!(en.status, StatusCode::SERVICE_UNAVAILABLE, "{}", en.text());
    assert!(en.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)), "{:?}", en.headers);
    assert_eq!(en.error_code(), "writer_unavailable");
    assert!(en.json()["error"]["message"].as_str().is_some_and(|m| m.contains("restarting")), "{}", en.text());
    let zh = app.send(post(scans("k1", &c1), "zh-CN")).await;
    assert_eq!(zh.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(zh.json()["error"]["message"].as_str().is_some_and(|m| m.contains("扫码记录正在恢复")), "{}", zh.text());

    app.state.scans().release();
    assert!(app.state.scans().wait_up(Duration::from_secs(10)).await, "the writer starts again");
    assert_eq!(app.api(Method::GET, "/readyz", None, None).await.status, StatusCode::OK);
    let accepted = app.send(post(scans("k1", &c1), "en")).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());
    assert_eq!(accepted.json()["results"][0]["status"], "accepted", "the refused scan was not kept: its key is new");

    // A crash nobody holds down: it comes back by itself.
    app.state.scans().crash(false).await;
    assert!(app.state.scans().wait_up(Duration::from_secs(10)).await);
    let again = app.send(post(scans("k2", &c2), "en")).await;
    assert_eq!(again.json()["results"][0]["status"], "accepted", "{}", again.text());
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writer_down_and_back() {
    writer_down_and_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writer_down_and_back() {
    writer_down_and_back(Backend::Postgres).await;
}
