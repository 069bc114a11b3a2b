//! The README's screenshots, taken from the demo's district: the commander's
//! overview, the round's page at a desk, and the sampler's page on a 360-px
//! phone. Not part of the suite (it writes into `docs/`); regenerate with
//! `cargo test -p frontline-web --test web docs_screenshots -- --ignored`.

use std::path::PathBuf;

use super::{log_in, serve};
use crate::support::webdriver::Browser;
use crate::support::TestApp;
use axum::http::Method;
use frontline_domain::access::Role;
use frontline_domain::date::Date;
use frontline_domain::ids::SamplingCode;
use frontline_domain::synth::SynthOptions;
use frontline_store::audit::Actor;
use frontline_store::Backend;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the README's screenshots into docs/"]
async fn docs_screenshots() {
    let app = TestApp::new(Backend::Sqlite).await;
    let today = Date::parse_iso("2022-04-20").expect("date");
    let opts = SynthOptions { residents: 6_000, ..SynthOptions::demo(today) };
    app.store().seed_synthetic(&Actor::system("docs"), &opts).await.expect("seed");
    let lead = app.token(Role::GroupLead).await;
    let buildings: Vec<i64> = app
        .store()
        .list_buildings(None, None, 500)
        .await
        .expect("buildings")
        .items
        .iter()
        .map(|b| b.id)
        .take(6)
        .collect();
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "第三轮全员核酸", "pool_size": 10, "buildings": buildings})),
        )
        .await;
    assert_eq!(round.status, 201, "{}", round.text());
    let round = round.json()["id"].as_i64().expect("round id");
    // Most of the first buildings sampled, ten to a tube; the rest still missing.
    let mut scans = Vec::new();
    for (b, share) in buildings.iter().zip([95, 88, 72, 60, 35, 10]) {
        let people = app.store().building_residents(*b).await.expect("residents");
        let take = people.len() * share / 100;
        for (i, r) in people.iter().take(take).enumerate() {
            let code = SamplingCode::encode(r.id, app.state.code_key());
            scans.push(json!({"key": format!("docs-{b}-{i}"), "round": round, "tube": format!("D{b:03}{:04}", i / 10), "resident_code": code.as_str()}));
        }
    }
    for chunk in scans.chunks(500) {
        let sent = app.api(Method::POST, "/api/v1/sampling/scans", Some(&lead), Some(json!({"scans": chunk}))).await;
        assert_eq!(sent.status, 200, "{}", sent.text());
    }

    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let (base, stop, server) = serve(&app).await;
    let b = Browser::start(&[]).await;
    log_in(&b, &base, "commander").await;
    // The product's own language: the browser here asks for English.
    b.goto(&format!("{base}/lang/zh?next=/")).await;
    b.resize(1366, 900).await;
    b.goto(&format!("{base}/")).await;
    b.screenshot(&docs.join("overview.png")).await;
    b.goto(&format!("{base}/sampling/rounds/{round}")).await;
    b.screenshot(&docs.join("round-page.png")).await;
    b.resize(360, 780).await;
    b.goto(&format!("{base}/sampling/rounds/{round}/scan?building={}", buildings[3])).await;
    b.screenshot(&docs.join("sampler-phone.png")).await;
    b.close().await;
    let _ = stop.send(());
    server.await.expect("server task").expect("server");
    app.finish().await;
}
