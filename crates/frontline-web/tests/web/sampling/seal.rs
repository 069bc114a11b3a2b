//! A sampler closes a tube before it is full (封管): later scans into it are
//! refused as sealed, sealing twice changes nothing, and the seal is audited.
//! Runs on both backends.

use crate::support::{browser_login, coded_resident, field, get_page, post_form, TestApp};
use axum::http::{Method, StatusCode};
use frontline_domain::access::{Perm, Role};
use frontline_store::audit::AuditFilter;
use frontline_store::Backend;
use serde_json::json;

async fn scan(app: &TestApp, token: &str, key: &str, round: i64, tube: &str, code: &str) -> String {
    let body = json!({"scans": [{"key": key, "round": round, "tube": tube, "resident_code": code}]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(token), Some(body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["results"][0]["status"].as_str().expect("status").to_string()
}

async fn a_tube_sealed_early_takes_no_more_members(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let (building, h1, _) = app.place().await;
    let c1 = coded_resident(&app, &staff, "甲", 51, h1).await.1;
    let c2 = coded_resident(&app, &staff, "乙", 53, h1).await.1;
    let body = json!({"name": "R", "pool_size": 5, "buildings": [building]});
    let created = app.api(Method::POST, "/api/v1/sampling/rounds", Some(&lead), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("round");
    crate::support::sweeps(&app, "volunteer", round).await;
    assert_eq!(scan(&app, &volunteer, "k1", round, "ZZ9001", &c1).await, "accepted");

    let no_scan = Role::ALL.into_iter().find(|r| !r.can(Perm::Scan)).expect("a role that cannot scan");
    let outsider = app.token(no_scan).await;
    let refused = app.api(Method::POST, "/api/v1/sampling/tubes/ZZ9001/seal", Some(&outsider), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!app.store().get_tube("ZZ9001").await.expect("tube").sealed);

    let sealed = app.api(Method::POST, "/api/v1/sampling/tubes/zz9001/seal", Some(&volunteer), None).await;
    assert_eq!(sealed.status, StatusCode::OK, "{}", sealed.text());
    let view = sealed.json();
    assert_eq!(
        (view["code"].as_str(), view["members"].as_i64(), view["sealed"].as_bool()),
        (Some("ZZ9001"), Some(1), Some(true))
    );
    assert_eq!(scan(&app, &volunteer, "k2", round, "ZZ9001", &c2).await, "tube_sealed");
    // The refused scan wrote nobody into the tube; 乙 is still to be sampled.
    assert_eq!(app.store().get_tube("ZZ9001").await.expect("tube").members, 1);
    let missed = app.store().sampling_missed(round, &Default::default()).await.expect("missed");
    assert_eq!(missed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["乙"]);

    let again = app.api(Method::POST, "/api/v1/sampling/tubes/ZZ9001/seal", Some(&volunteer), None).await;
    assert_eq!(again.status, StatusCode::OK, "sealing twice is harmless");
    let filter = AuditFilter { action: Some("sampling.tube.seal".into()), ..Default::default() };
    let audited = app.store().list_audit(&filter, None, 10).await.expect("audit").items;
    assert_eq!(audited.len(), 1, "one seal, one entry");
    assert_eq!(audited[0].actor, "volunteer");

    for missing in ["ZZ9999", "not a tube!"] {
        let path = format!("/api/v1/sampling/tubes/{}/seal", frontline_web::error::percent_encode(missing));
        let res = app.api(Method::POST, &path, Some(&volunteer), None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{missing}");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_tube_sealed_early_takes_no_more_members_on_sqlite() {
    a_tube_sealed_early_takes_no_more_members(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_tube_sealed_early_takes_no_more_members_on_postgres() {
    a_tube_sealed_early_takes_no_more_members(Backend::Postgres).await;
}

/// The sampler's page offers the seal for the tube being filled, and comes back
/// ready for a new tube; a tube of another round cannot be sealed from it.
#[tokio::test]
async fn the_sampler_seals_from_the_page() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let (building, h1, _) = app.place().await;
    let c1 = coded_resident(&app, &staff, "甲", 61, h1).await.1;
    let mut rounds = Vec::new();
    for name in ["R1", "R2"] {
        let body = json!({"name": name, "pool_size": 5, "buildings": [building]});
        let created = app.api(Method::POST, "/api/v1/sampling/rounds", Some(&lead), Some(body)).await;
        rounds.push(created.json()["id"].as_i64().expect("round"));
    }
    // The volunteer opens the tube: it is theirs to seal.
    let volunteer = app.token(Role::Volunteer).await;
    crate::support::sweeps(&app, "volunteer", rounds[0]).await;
    assert_eq!(scan(&app, &volunteer, "k1", rounds[0], "ZZ9101", &c1).await, "accepted");
    let session = browser_login(&app, "volunteer").await;
    let page = get_page(&app, &session, format!("/sampling/rounds/{}/scan?building={building}&tube=ZZ9101", rounds[0]))
        .await
        .text();
    assert!(
        page.contains("id=\"seal\"") && !page.contains("id=\"seal-form\" hidden"),
        "the page offers the seal for the tube being filled"
    );
    let csrf = field(&page, "csrf");
    let other = post_form(
        &app,
        &session,
        format!("/sampling/rounds/{}/seal", rounds[1]),
        format!("csrf={csrf}&building={building}&tube=ZZ9101"),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "a tube of another round");
    assert!(!app.store().get_tube("ZZ9101").await.expect("tube").sealed);
    let done = post_form(
        &app,
        &session,
        format!("/sampling/rounds/{}/seal", rounds[0]),
        format!("csrf={csrf}&building={building}&tube=ZZ9101"),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let back = done.header("location").expect("back to the page");
    assert!(back.contains("sealed=ZZ9101") && !back.contains("tube="), "{back}");
    let page = get_page(&app, &session, back).await.text();
    assert!(page.contains("ZZ9101") && page.contains("已封管") && page.contains("id=\"seal-form\" hidden"), "{page}");
    assert!(app.store().get_tube("ZZ9101").await.expect("tube").sealed);
    app.finish().await;
}
