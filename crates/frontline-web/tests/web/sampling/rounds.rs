//! A round through the API and the browser: scans with idempotency keys and
//! every refusal, coverage (also streamed), oversized and malformed batches,
//! and concurrent phones group-committed. Runs on both backends.

use crate::support::{browser_login, coded_resident, field, get_page, id_number, post_form, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

fn statuses(v: &Value) -> Vec<String> {
    v["results"].as_array().expect("results").iter().map(|r| r["status"].as_str().unwrap_or("").to_string()).collect()
}

async fn sampling_round_end_to_end(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, h2) = app.place().await;
    let (r1, c1) = coded_resident(&app, &staff, "甲", 11, h1).await;
    let (_r2, c2) = coded_resident(&app, &staff, "乙", 13, h1).await;
    let (r3, c3) = coded_resident(&app, &staff, "丙", 15, h2).await;
    // Someone in another building, outside the round.
    let a = frontline_store::Actor::system("test");
    let c = app.store().ensure_compound(&a, "海月花园").await.expect("compound");
    let other_b = app.store().ensure_building(&a, c, "9号楼", Some(9), None).await.expect("building");
    let other_u = app.store().ensure_unit(&a, other_b, "1单元", Some(1)).await.expect("unit");
    let other_h = app.store().ensure_household(&a, other_u, "101", Some(1)).await.expect("household");
    let (_, outsider) = coded_resident(&app, &staff, "丁", 17, other_h).await;

    let denied = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&volunteer),
            Some(json!({"name": "x", "pool_size": 2, "buildings": [building]})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "x", "pool_size": 3, "buildings": []})),
        )
        .await;
    let body = bad.json();
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    assert!(
        bad.status == StatusCode::UNPROCESSABLE_ENTITY
            && fields.contains(&"pool_size")
            && fields.contains(&"buildings"),
        "{}",
        bad.text()
    );
    let created = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "6月13日全员", "pool_size": 5, "buildings": [building]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("id");
    crate::support::sweeps(&app, "volunteer", round).await;

    let scan = |key: &str, tube: &str, code: &str| json!({"key": key, "round": round, "tube": tube, "resident_code": code, "at": 1_000});
    // A batch with a bad key or time is refused whole, each bad scan named.
    let mut in_2100 = scan("k-2100", "ZZ0001", &c2);
    in_2100["at"] = json!(4_102_444_800_000_i64);
    let refused = app
        .api(
            Method::POST,
            "/api/v1/sampling/scans",
            Some(&volunteer),
            Some(json!({"scans": [
            scan("k1", "ZZ0001", &c1), scan(&"k".repeat(101), "ZZ0001", &c2), scan("  ", "ZZ0001", &c2), in_2100]})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
    let body = refused.json();
    let named: Vec<(&str, &str)> = body["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| Some((f["field"].as_str()?, f["code"].as_str()?)))
        .collect();
    assert_eq!(named, vec![("scans[1].key", "too_long"), ("scans[2].key", "required"), ("scans[3].at", "invalid")]);
    let batch = json!({"scans": [
        scan("k1", "ZZ0001", &c1),
        scan("k2", "ZZ0001", &c2),
        scan("k1", "ZZ0001", &c1),
        scan("k3", "ZZ0002", &c1),
        scan("k4", "ZZ0002", &c3),
        scan("k5", "ZZ0002", "not a code"),
        scan("k6", "ZZ0002", &outsider),
        {"key": "k7", "round": 999_999, "tube": "ZZ0003", "resident_code": c3, "at": 1},
        scan("k8", &c2, &c3),
    ]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(batch)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        statuses(&res.json()),
        vec![
            "accepted",
            "accepted",
            "duplicate",
            "already_in_tube",
            "accepted",
            "malformed_code",
            "out_of_scope",
            "unknown_round",
            "code_in_tube_field"
        ]
    );
    // Replaying the whole batch changes nothing.
    let before = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &staff).await.json();
    let replay = app
        .api(
            Method::POST,
            "/api/v1/sampling/scans",
            Some(&volunteer),
            Some(json!({"scans": [scan("k1", "ZZ0001", &c1), scan("k4", "ZZ0002", &c3)]})),
        )
        .await;
    assert_eq!(statuses(&replay.json()), vec!["duplicate", "duplicate"]);
    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &staff).await.json();
    assert_eq!(cov, before);
    assert_eq!(
        (cov["expected"].as_i64(), cov["sampled"].as_i64(), cov["missed"].as_i64()),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(cov["buildings"][0]["building"], building);
    let one = app.store().building_coverage(round, building).await.expect("building coverage");
    assert_eq!((one.expected, one.sampled), (3, 3));
    assert!(app.store().building_coverage(round, 999_999).await.is_err());
    assert!(app
        .get(&format!("/api/v1/sampling/rounds/{round}/missed"), &staff)
        .await
        .json()
        .as_array()
        .is_some_and(Vec::is_empty));

    let no_lab =
        app.api(Method::POST, "/api/v1/sampling/results", Some(&volunteer), Some(json!({"results": []}))).await;
    assert_eq!(no_lab.status, StatusCode::FORBIDDEN);
    let bad = app
        .api(Method::POST, "/api/v1/sampling/results", Some(&lab), Some(json!({"results": [
            {"tube": "ZZ0001", "result": "abnormal"}, {"tube": "", "result": "negative"}, {"tube": "ZZ0002", "result": "maybe"}]})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text());
    let body = bad.json();
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    assert_eq!(fields, vec!["results[1].tube", "results[2].result"], "each bad line is named");
    assert!(app.store().pending_retests(round).await.expect("retests").is_empty(), "nothing was written");
    let results = app
        .api(Method::POST, "/api/v1/sampling/results", Some(&lab), Some(json!({"results": [
            {"tube": "ZZ0001", "result": "abnormal"}, {"tube": "ZZ0002", "result": "invalid"}, {"tube": "ZZ9999", "result": "negative"}]})))
        .await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.text());
    let s: Vec<&str> = results
        .json()
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .map(|s| match s {
            "recorded" => "recorded",
            "unknown_tube" => "unknown_tube",
            _ => "other",
        })
        .collect();
    assert_eq!(s, vec!["recorded", "recorded", "unknown_tube"]);
    let retests = app.store().pending_retests(round).await.expect("retests");
    let mut who: Vec<i64> = retests.iter().map(|r| r.0).collect();
    who.sort_unstable();
    assert_eq!(who.len(), 2, "both members of the abnormal tube are retested singly");
    assert!(who.contains(&r1));
    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &staff).await.json();
    assert_eq!(
        (cov["sampled"].as_i64(), cov["missed"].as_i64()),
        (Some(2), Some(1)),
        "the invalid tube's member is missed again"
    );
    let missed = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &staff).await.json();
    assert_eq!(missed[0]["resident_id"], r3);

    // A batch with a bad line writes none of its lines, and says which lines are bad.
    let bad = app
        .api(
            Method::POST,
            "/api/v1/sampling/retests",
            Some(&lab),
            Some(json!({"round": round, "results": [
            {"resident_code": c1, "result": "negative"}, {"resident_code": "R000000000", "result": "negative"},
            {"resident_code": c2, "result": "maybe"}]})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text());
    let mut fields: Vec<(String, String)> = bad.json()["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| (f["field"].as_str().unwrap_or("").to_string(), f["code"].as_str().unwrap_or("").to_string()))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("results[1].resident_code".to_string(), "not_found".to_string()),
            ("results[2].result".to_string(), "unknown".to_string())
        ]
    );
    assert_eq!(app.store().pending_retests(round).await.expect("retests").len(), 2, "nothing was written");
    let no_round = app
        .api(
            Method::POST,
            "/api/v1/sampling/retests",
            Some(&lab),
            Some(json!({"round": round + 1000, "results": [
            {"resident_code": c1, "result": "negative"}]})),
        )
        .await;
    assert_eq!(no_round.status, StatusCode::NOT_FOUND, "{}", no_round.text());

    // Single retests at home: negative releases, positive confirms; nobody else has one due.
    let retests = app
        .api(Method::POST, "/api/v1/sampling/retests", Some(&lab), Some(json!({"round": round, "results": [
            {"resident_code": c1, "result": "negative"}, {"resident_code": c2, "result": "阳性"}, {"resident_code": c3, "result": "negative"}]})))
        .await;
    assert_eq!(retests.status, StatusCode::OK, "{}", retests.text());
    let states: Vec<&str> = retests
        .json()
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .map(|s| match s {
            "cleared" => "cleared",
            "confirmed" => "confirmed",
            "no_retest_due" => "no_retest_due",
            _ => "?",
        })
        .collect();
    assert_eq!(states, vec!["cleared", "confirmed", "no_retest_due"]);
    assert!(app.store().pending_retests(round).await.expect("retests").is_empty());
    let page = app.get(&format!("/sampling/rounds/{round}"), &lead).await.text();
    let confirmed = page.split("id=\"confirmed\"").nth(1).expect("the confirmed cases are listed");
    let confirmed = &confirmed[..confirmed.find("</table>").unwrap_or(confirmed.len())];
    assert!(confirmed.contains("乙") && !confirmed.contains("甲"), "{confirmed}");

    // An exemption with a reason takes the person out of should-test and the missed list.
    let bad_reason = app
        .api(
            Method::POST,
            &format!("/api/v1/sampling/rounds/{round}/exemptions"),
            Some(&lead),
            Some(json!({"resident_code": c3, "reason": "lazy"})),
        )
        .await;
    assert_eq!(bad_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let exempt = app
        .api(
            Method::POST,
            &format!("/api/v1/sampling/rounds/{round}/exemptions"),
            Some(&lead),
            Some(json!({"resident_code": c3, "reason": "hospitalised"})),
        )
        .await;
    assert_eq!(exempt.status, StatusCode::NO_CONTENT, "{}", exempt.text());
    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &staff).await.json();
    assert_eq!(
        (cov["expected"].as_i64(), cov["sampled"].as_i64(), cov["missed"].as_i64()),
        (Some(2), Some(2), Some(0))
    );
    // Someone outside the round cannot be exempted from it; someone already
    // sampled can, and still counts as expected and sampled: expected − sampled
    // stays the missed list.
    let exemptions = format!("/api/v1/sampling/rounds/{round}/exemptions");
    let exempt = |code: &str| {
        let body = json!({"resident_code": code, "reason": "away"});
        app.api(Method::POST, &exemptions, Some(&lead), Some(body))
    };
    let outside = exempt(&outsider).await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", outside.text());
    assert_eq!(outside.json()["error"]["fields"][0]["code"], "out_of_scope");
    assert_eq!(exempt(&c1).await.status, StatusCode::NO_CONTENT);
    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &staff).await.json();
    let missed = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &staff).await.json();
    assert_eq!(
        (cov["expected"].as_i64(), cov["sampled"].as_i64(), cov["missed"].as_i64()),
        (Some(2), Some(2), missed.as_array().map(|m| m.len() as i64)),
        "{cov}"
    );

    // Pool-size advice from the observed abnormal rate (one abnormal tube of one with a valid result).
    let advice = app.get(&format!("/api/v1/sampling/rounds/{round}/advice"), &staff).await.json();
    assert_eq!(advice["table"].as_array().map(Vec::len), Some(30));
    assert!(advice["recommended"].as_u64().is_some_and(|k| k >= 1));

    // A closed round takes no more scans. Closing it again is done already; a
    // round that does not exist is not found.
    let close = format!("/api/v1/sampling/rounds/{round}/close");
    assert_eq!(app.api(Method::POST, &close, Some(&lead), None).await.status, StatusCode::NO_CONTENT);
    let again = app.api(Method::POST, &close, Some(&lead), None).await.status;
    assert_eq!(again, StatusCode::NO_CONTENT, "a second close changes nothing");
    let nowhere = format!("/api/v1/sampling/rounds/{}/close", round + 1000);
    assert_eq!(app.api(Method::POST, &nowhere, Some(&lead), None).await.status, StatusCode::NOT_FOUND);
    let late = app
        .api(
            Method::POST,
            "/api/v1/sampling/scans",
            Some(&volunteer),
            Some(json!({"scans": [scan("late", "ZZ0005", &c3)]})),
        )
        .await;
    assert_eq!(statuses(&late.json()), vec!["round_closed"]);
    app.finish().await;
}

#[tokio::test]
async fn sampling_round_end_to_end_on_sqlite() {
    sampling_round_end_to_end(Backend::Sqlite).await;
}

#[tokio::test]
async fn sampling_round_end_to_end_on_postgres() {
    sampling_round_end_to_end(Backend::Postgres).await;
}

#[tokio::test]
async fn oversized_and_malformed_batches_are_refused_whole() {
    let app = TestApp::new(Backend::Sqlite).await;
    let volunteer = app.token(Role::Volunteer).await;
    let one = json!({"key": "k", "round": 1, "tube": "ZZ0001", "resident_code": "R0000000000", "at": 1});
    let huge = json!({"scans": vec![one.clone(); 100_000]});
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sampling/scans")
        .header(header::AUTHORIZATION, format!("Bearer {volunteer}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(huge.to_string()))
        .expect("request");
    let res = app.send(req).await;
    assert!(
        res.status == StatusCode::PAYLOAD_TOO_LARGE || res.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.status
    );
    let malformed =
        app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(json!({"scans": [{"key": "k"}]}))).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let first = &malformed.json()["error"]["fields"][0];
    assert_eq!((first["field"].as_str(), first["message"].as_str()), (Some("scans[0].round"), Some("必填")), "{first}");
    let wrong_type = app
        .api(
            Method::POST,
            "/api/v1/sampling/scans",
            Some(&volunteer),
            Some(json!({"scans": [{"key": "k", "round": "七", "tube": "T", "resident_code": "R"}]})),
        )
        .await;
    let first = &wrong_type.json()["error"]["fields"][0];
    assert_eq!(
        (first["field"].as_str(), first["message"].as_str()),
        (Some("scans[0].round"), Some("应为整数")),
        "{first}"
    );
    let empty = app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(json!({"scans": []}))).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

#[tokio::test]
async fn a_round_runs_in_the_browser() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, _) = app.place().await;
    let (r1, c1) = coded_resident(&app, &staff, "甲", 21, h1).await;
    let (_, c2) = coded_resident(&app, &staff, "乙", 23, h1).await;
    let session = browser_login(&app, "group_lead").await;
    let get = |path: String| get_page(&app, &session, path);
    let post = |path: String, body: String| post_form(&app, &session, path, body);
    let list = get("/sampling".into()).await.text();
    let csrf = field(&list, "csrf");
    let started = post("/sampling".into(), format!("csrf={csrf}&name=R1&pool_size=10&building={building}")).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    let round_page = started.header("location").expect("round page");
    let round: i64 = round_page.rsplit('/').next().and_then(|r| r.parse().ok()).expect("round id");
    let page = get(format!("/sampling/rounds/{round}/scan?building={building}")).await.text();
    assert!(page.contains("甲") && page.contains("乙"), "the sampler sees who is missing");
    assert!(!page.contains(&c1) && !page.contains(&c2), "but not their codes: a code is scanned from its holder");
    let key = field(&page, "key");
    let bound = post(
        format!("/sampling/rounds/{round}/scan"),
        format!("csrf={csrf}&key={key}&building={building}&tube=ZZ7001&code={c1}"),
    )
    .await;
    assert_eq!(bound.status, StatusCode::SEE_OTHER);
    let after = get(bound.header("location").expect("back to the page")).await.text();
    assert!(after.contains("已绑定：甲") && after.contains(">1/10<") && after.contains("ZZ7001"), "{after}");
    let made_up = get(format!("/sampling/rounds/{round}/scan?building={building}&status=bogus")).await.text();
    assert!(!made_up.contains("scan_status"), "a status the catalogue does not know is not shown");
    // The same form sent twice (a double tap) changes nothing.
    let again = post(
        format!("/sampling/rounds/{round}/scan"),
        format!("csrf={csrf}&key={key}&building={building}&tube=ZZ7001&code={c2}"),
    )
    .await;
    assert!(again.header("location").is_some_and(|l| l.contains("status=duplicate")));
    let missed = get(format!("/sampling/rounds/{round}/missed")).await.text();
    assert!(missed.contains("乙") && !missed.contains(">甲<"), "{missed}");
    let export = get(format!("/sampling/rounds/{round}/missed.xlsx")).await;
    let sheet = frontline_import::decode(&export.body, Some("m.xlsx"), &Default::default()).expect("xlsx");
    assert_eq!(sheet.rows.len(), 2, "header + 乙");
    let column = |name: &str| sheet.rows[0].iter().position(|h| h == name).expect(name);
    assert_eq!(sheet.rows[1][column("姓名")], "乙");
    assert_eq!(sheet.rows[1][column("楼层")], "13", "the floor, for the sweep");
    assert!(!sheet.rows[1][column("小区")].is_empty(), "the compound: building names repeat across compounds");
    // 乙 has no code with her: the ID's last four characters and her name find her.
    let id2 = id_number("350602", 1980, 5, 5, 23);
    let typed = format!("{} 乙", &id2[14..]);
    let page = get(format!("/sampling/rounds/{round}/scan?building={building}")).await.text();
    assert!(page.contains("id=\"camera\""), "the camera button is offered");
    let key2 = field(&page, "key");
    // The page's keys are time-ordered (the keys table is appended to) and never repeat.
    assert_ne!(key2, key);
    assert!(key2.split('-').next() >= key.split('-').next() && key.len() == 29, "{key} then {key2}");
    let by_tail = post(
        format!("/sampling/rounds/{round}/scan"),
        format!(
            "csrf={csrf}&key={key2}&building={building}&tube=ZZ7001&code={}",
            frontline_web::error::percent_encode(&typed)
        ),
    )
    .await;
    assert!(
        by_tail.header("location").is_some_and(|l| l.contains("status=accepted")),
        "{:?}",
        by_tail.header("location")
    );
    let wrong_name = post(
        format!("/sampling/rounds/{round}/scan"),
        format!(
            "csrf={csrf}&key=other&building={building}&tube=ZZ7001&code={}",
            frontline_web::error::percent_encode(&format!("{} 丙", &id2[14..]))
        ),
    )
    .await;
    let told = wrong_name.header("location").expect("back to the page");
    assert!(told.contains("status=tail_not_found"), "{told}");
    assert!(get(told).await.text().contains("身份证后几位和姓名都相符"), "the sampler is told what did not match");
    let garbled = post(
        format!("/sampling/rounds/{round}/scan"),
        format!("csrf={csrf}&key=garbled&building={building}&tube=ZZ7001&code=%3F%3F"),
    )
    .await;
    assert!(garbled.header("location").is_some_and(|l| l.contains("status=malformed_code")));
    let codes = get(format!("/sampling/codes?building={building}")).await.text();
    assert!(
        codes.contains("<svg") && codes.contains(&c1) && codes.contains("1单元 1301"),
        "printable codes per household"
    );
    let filter =
        frontline_store::audit::AuditFilter { action: Some("sampling.codes.print".into()), ..Default::default() };
    let printed = app.store().list_audit(&filter, None, 10).await.expect("audit").items;
    assert_eq!(printed.len(), 1, "printing a building's codes is audited");
    assert_eq!(printed[0].entity_id.as_deref(), Some(building.to_string().as_str()));
    let coverage = get(round_page.clone()).await.text();
    assert!(
        coverage.contains("/assets/coverage.js")
            && coverage.contains(&format!("data-stream=\"/sampling/rounds/{round}/coverage/stream\""))
    );
    let cov = app.store().sampling_coverage(round).await.expect("coverage");
    assert_eq!((cov.expected, cov.sampled), (2, 2));
    assert!(app
        .store()
        .sampling_missed(round, &Default::default())
        .await
        .expect("missed")
        .iter()
        .all(|m| m.resident_id != r1));
    app.finish().await;
}

#[tokio::test]
async fn coverage_streams_as_server_sent_events() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = TestApp::new(Backend::Sqlite).await;
    let lead = app.token(Role::GroupLead).await;
    let (building, _, _) = app.place().await;
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 10, "buildings": [building]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    let req = Request::get(format!("/sampling/rounds/{round}/coverage/stream"))
        .header(header::AUTHORIZATION, format!("Bearer {lead}"))
        .body(Body::empty())
        .expect("req");
    let res = app.router.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream")));
    let mut body = res.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame()).await.expect("an event in time");
    let bytes = frame.expect("frame").expect("ok").into_data().expect("data");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("event: coverage") && text.contains("\"expected\":0"), "{text}");
    app.finish().await;
}

#[tokio::test]
async fn concurrent_phones_are_group_committed_without_losing_or_doubling_a_scan() {
    let app = TestApp::new(Backend::Sqlite).await;
    let opts = frontline_domain::synth::SynthOptions {
        residents: 400,
        seed: 9,
        today: frontline_domain::date::Date::new(2022, 6, 13).expect("date"),
    };
    app.store().seed_synthetic(&frontline_store::Actor::system("test"), &opts).await.expect("seed");
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let buildings: Vec<i64> =
        app.store().list_buildings(None, None, 500).await.expect("buildings").items.iter().map(|b| b.id).collect();
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 10, "buildings": buildings})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    crate::support::sweeps(&app, "volunteer", round).await;
    let residents = app.store().list_residents(&Default::default(), None, 500).await.expect("residents").items;
    let codes: Vec<String> = residents
        .iter()
        .map(|r| frontline_domain::ids::SamplingCode::encode(r.id, app.state.code_key()).as_str().to_string())
        .collect();
    // 40 phones at once, 10 scans each, one tube per phone.
    let mut tasks = Vec::new();
    for (phone, chunk) in codes.chunks(10).enumerate() {
        let scans: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"key": format!("p{phone}-{i}"), "round": round, "tube": format!("ZZ{phone:05}"), "resident_code": c}))
            .collect();
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/sampling/scans")
            .header(header::AUTHORIZATION, format!("Bearer {volunteer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"scans": scans}).to_string()))
            .expect("request");
        let router = app.router.clone();
        tasks.push(tokio::spawn(async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let mut req = req;
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo("127.0.0.1:1".parse::<std::net::SocketAddr>().expect("addr")));
            let res = router.oneshot(req).await.expect("response");
            let body = res.into_body().collect().await.expect("body").to_bytes();
            serde_json::from_slice::<Value>(&body).expect("json")
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let v = t.await.expect("task");
        accepted += statuses(&v).iter().filter(|s| *s == "accepted").count();
    }
    assert_eq!(accepted, codes.len());
    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &lead).await.json();
    assert_eq!(cov["sampled"].as_u64(), Some(u64::try_from(codes.len()).expect("fits")));
    assert_eq!(cov["missed"], 0);
    app.finish().await;
}
