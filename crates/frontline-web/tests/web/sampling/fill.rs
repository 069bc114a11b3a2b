//! A tube's fill in every scan's answer (the sampler's page shows "2/3" and
//! asks for a new tube once it is full), and home retests: a member of an
//! abnormal pool scanned into a single retest tube, which the lab then
//! reports by its code. Runs on both backends.

use crate::support::{coded_resident, TestApp};
use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::audit::Actor;
use frontline_store::sampling::NewRound;
use frontline_store::Backend;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A round over the test building with pool size `pool_size` (3 is not among
/// the configured sizes, so it is made in the store). Each has a name of its
/// own: rounds sharing a compound may not share a name.
pub async fn round_of(app: &TestApp, building: i64, pool_size: u32) -> i64 {
    static MADE: AtomicUsize = AtomicUsize::new(1);
    let new = NewRound {
        name: format!("R{}", MADE.fetch_add(1, Ordering::Relaxed)),
        pool_size,
        mode: "door_to_door".into(),
        deadline: None,
        buildings: vec![building],
        teams: vec![],
    };
    app.store().create_sampling_round(&Actor::system("test"), &new).await.expect("round").id
}

async fn scan(app: &TestApp, token: &str, key: &str, round: i64, tube: &str, code: &str, retest: bool) -> Value {
    let body = json!({"scans": [{"key": key, "round": round, "tube": tube, "resident_code": code, "retest": retest}]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(token), Some(body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["results"][0].clone()
}

fn fill(answer: &Value) -> (i64, i64, bool) {
    let t = &answer["tube"];
    (t["members"].as_i64().expect("members"), t["pool_size"].as_i64().expect("pool size"), t["sealed"] == true)
}

async fn a_tube_that_fills_up_says_so(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, h2) = app.place().await;
    let mut codes = Vec::new();
    for (i, name) in ["甲", "乙", "丙", "丁"].into_iter().enumerate() {
        let household = if i < 2 { h1 } else { h2 };
        codes.push(coded_resident(&app, &staff, name, 60 + i as u16, household).await.1);
    }
    let round = round_of(&app, building, 3).await;
    let first = scan(&app, &staff, "k1", round, "ZZ5001", &codes[0], false).await;
    assert_eq!((first["status"].as_str(), fill(&first)), (Some("accepted"), (1, 3, false)));
    let second = scan(&app, &staff, "k2", round, "ZZ5001", &codes[1], false).await;
    assert_eq!(fill(&second), (2, 3, false));
    let third = scan(&app, &staff, "k3", round, "ZZ5001", &codes[2], false).await;
    assert_eq!((third["status"].as_str(), fill(&third)), (Some("accepted"), (3, 3, true)), "sealed at its pool size");
    assert!(app.store().get_tube("ZZ5001").await.expect("tube").sealed);
    let fourth = scan(&app, &staff, "k4", round, "ZZ5001", &codes[3], false).await;
    assert_eq!((fourth["status"].as_str(), fill(&fourth)), (Some("tube_full"), (3, 3, true)));
    // A phone that lost the third answer sends it again: the tube is still full.
    let replay = scan(&app, &staff, "k3", round, "ZZ5001", &codes[2], false).await;
    assert_eq!((replay["status"].as_str(), fill(&replay)), (Some("duplicate"), (3, 3, true)));
    // A tube of another round tells nothing of itself.
    let other = round_of(&app, building, 3).await;
    let foreign = scan(&app, &staff, "k5", other, "ZZ5001", &codes[3], false).await;
    assert_eq!(foreign["status"], "tube_reused");
    assert!(foreign.get("tube").is_none(), "{foreign}");
    app.finish().await;
}

#[tokio::test]
async fn a_tube_that_fills_up_says_so_on_sqlite() {
    a_tube_that_fills_up_says_so(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_tube_that_fills_up_says_so_on_postgres() {
    a_tube_that_fills_up_says_so(Backend::Postgres).await;
}

async fn results(app: &TestApp, lab: &str, lines: &[(&str, &str)]) -> Vec<String> {
    let body = json!({"results": lines.iter().map(|(t, r)| json!({"tube": t, "result": r})).collect::<Vec<_>>()});
    let res = app.api(Method::POST, "/api/v1/sampling/results", Some(lab), Some(body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json().as_array().expect("outcomes").iter().map(|o| o["status"].as_str().unwrap_or("").to_string()).collect()
}

async fn a_home_retest_goes_into_a_single_tube_the_lab_reports(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, h2) = app.place().await;
    let (_, ca) = coded_resident(&app, &staff, "甲", 71, h1).await;
    let (b, cb) = coded_resident(&app, &staff, "乙", 73, h1).await;
    let (_, cc) = coded_resident(&app, &staff, "丙", 75, h2).await;
    let (_, cd) = coded_resident(&app, &staff, "丁", 77, h2).await;
    let round = round_of(&app, building, 5).await;
    for (key, tube, code) in [("p1", "ZZ7001", &ca), ("p2", "ZZ7001", &cb), ("p3", "ZZ7002", &cc)] {
        assert_eq!(scan(&app, &staff, key, round, tube, code, false).await["status"], "accepted");
    }
    assert_eq!(results(&app, &lab, &[("ZZ7001", "abnormal"), ("ZZ7002", "negative")]).await, ["recorded"; 2]);

    // 甲 waits for a retest: scanned at home into a new single tube.
    let taken = scan(&app, &staff, "r1", round, "ZZR001", &ca, true).await;
    assert_eq!((taken["status"].as_str(), fill(&taken)), (Some("accepted"), (1, 1, true)), "{taken}");
    let tube = app.store().get_tube("ZZR001").await.expect("retest tube");
    assert_eq!((tube.pool_size, tube.members, tube.sealed), (1, 1, true));
    assert_eq!(scan(&app, &staff, "r1", round, "ZZR001", &ca, true).await["status"], "duplicate", "a replayed key");
    assert_eq!(
        scan(&app, &staff, "r2", round, "ZZR001", &ca, true).await["status"],
        "duplicate",
        "the same tube again"
    );
    assert_eq!(scan(&app, &staff, "r3", round, "ZZR002", &ca, true).await["status"], "retest_already_taken");
    // Nobody else is retested: 丙's pool was negative, 丁 was never sampled.
    assert_eq!(scan(&app, &staff, "r4", round, "ZZR003", &cc, true).await["status"], "already_in_tube");
    assert_eq!(scan(&app, &staff, "r5", round, "ZZR003", &cd, true).await["status"], "no_retest_due");
    // A retest is never pooled, nor put in a tube already used.
    assert_eq!(scan(&app, &staff, "r6", round, "ZZ7009", &cb, false).await["status"], "already_in_tube");
    assert_eq!(scan(&app, &staff, "r7", round, "ZZ7002", &cb, true).await["status"], "tube_sealed");
    assert_eq!(scan(&app, &staff, "r8", round, "ZZR001", &cb, true).await["status"], "tube_full");
    for missing in ["ZZR002", "ZZR003", "ZZ7009"] {
        assert!(app.store().get_tube(missing).await.is_err(), "{missing} was never opened");
    }

    // The lab reports the single tube by its code: 甲 is released.
    assert_eq!(results(&app, &lab, &[("ZZR001", "negative")]).await, ["recorded"]);
    let pending: Vec<i64> = app.store().pending_retests(round).await.expect("pending").iter().map(|r| r.0).collect();
    assert_eq!(pending, vec![b], "甲's retest is closed; 乙's is still due");
    assert_eq!(results(&app, &lab, &[("ZZR001", "negative")]).await, ["already_recorded"]);

    // 乙's first retest tube is invalid: the retest is due again, into a new tube.
    assert_eq!(scan(&app, &staff, "b1", round, "ZZR004", &cb, true).await["status"], "accepted");
    assert_eq!(results(&app, &lab, &[("ZZR004", "invalid")]).await, ["recorded"]);
    assert_eq!(app.store().pending_retests(round).await.expect("pending").len(), 1);
    assert_eq!(scan(&app, &staff, "b2", round, "ZZR005", &cb, true).await["status"], "accepted");
    // A retest result typed in by the person's code works on a taken retest
    // too; an invalid one frees the person for yet another tube.
    let typed = json!({"round": round, "results": [{"resident_code": cb, "result": "invalid"}]});
    let res = app.api(Method::POST, "/api/v1/sampling/retests", Some(&lab), Some(typed)).await;
    assert_eq!(res.json()[0]["status"], "pending", "{}", res.text());
    assert_eq!(scan(&app, &staff, "b4", round, "ZZR007", &cb, true).await["status"], "accepted");
    assert_eq!(results(&app, &lab, &[("ZZR007", "invalid")]).await, ["recorded"]);
    assert_eq!(scan(&app, &staff, "b5", round, "ZZR005", &cb, true).await["status"], "tube_full", "a used tube");
    assert_eq!(scan(&app, &staff, "b6", round, "ZZR008", &cb, true).await["status"], "accepted");
    // Abnormal on a single tube is a positive retest: a confirmed case.
    assert_eq!(results(&app, &lab, &[("ZZR008", "abnormal")]).await, ["recorded"]);
    let confirmed: Vec<i64> = app.store().confirmed_cases(round).await.expect("cases").iter().map(|r| r.0).collect();
    assert_eq!(confirmed, vec![b]);
    assert!(app.store().pending_retests(round).await.expect("pending").is_empty());
    assert_eq!(scan(&app, &staff, "b3", round, "ZZR006", &cb, true).await["status"], "no_retest_due");
    // Pool-size advice counts the round's pools, not the retests' single tubes.
    assert_eq!(app.store().tube_statistics(round).await.expect("statistics"), (1, 2, 3));
    // Coverage did not move: retests are not new people sampled.
    let missed = app.store().sampling_missed(round, &Default::default()).await.expect("missed");
    assert_eq!(missed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["丁"]);
    app.finish().await;
}

#[tokio::test]
async fn a_home_retest_goes_into_a_single_tube_the_lab_reports_on_sqlite() {
    a_home_retest_goes_into_a_single_tube_the_lab_reports(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_home_retest_goes_into_a_single_tube_the_lab_reports_on_postgres() {
    a_home_retest_goes_into_a_single_tube_the_lab_reports(Backend::Postgres).await;
}
