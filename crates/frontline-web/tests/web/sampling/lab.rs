//! The lab's side of a round: results per tube from the API, a sheet or the
//! results page; abnormal tubes opening single retests, invalid tubes sending
//! their members back to the missed list. Runs on both backends.

use crate::support::{browser_login, coded_resident, field, get_page, post_form, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

fn statuses(v: &Value) -> Vec<String> {
    v["results"].as_array().expect("results").iter().map(|r| r["status"].as_str().unwrap_or("").to_string()).collect()
}

/// An invalid tube sends its members back to the missed list, and the sweep
/// (补采) samples them again into a new tube: that scan is accepted, and the
/// person counts as sampled again.
async fn invalid_tube_members_are_sampled_again(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, _) = app.place().await;
    let (_, c1) = coded_resident(&app, &staff, "甲", 11, h1).await;
    let (r2, c2) = coded_resident(&app, &staff, "乙", 13, h1).await;
    let created = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "补采", "pool_size": 5, "buildings": [building]})),
        )
        .await;
    let round = created.json()["id"].as_i64().expect("id");
    crate::support::sweeps(&app, "volunteer", round).await;
    let scan = |key: &str, tube: &str, code: &str| json!({"key": key, "round": round, "tube": tube, "resident_code": code, "at": 1_000});
    let post = |scans: Vec<Value>| {
        app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(json!({"scans": scans})))
    };
    let first = post(vec![scan("a1", "YY0001", &c1), scan("a2", "YY0001", &c2)]).await;
    assert_eq!(statuses(&first.json()), vec!["accepted", "accepted"]);
    let result = app
        .api(
            Method::POST,
            "/api/v1/sampling/results",
            Some(&lab),
            Some(json!({"results": [{"tube": "YY0001", "result": "invalid"}]})),
        )
        .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.text());
    let coverage_url = format!("/api/v1/sampling/rounds/{round}/coverage");
    let coverage = || app.get(&coverage_url, &staff);
    let cov = coverage().await.json();
    assert_eq!((cov["sampled"].as_i64(), cov["missed"].as_i64()), (Some(0), Some(2)));

    // The sweep samples the first of them again, into a new tube.
    let again = post(vec![scan("b1", "YY0002", &c1)]).await;
    assert_eq!(statuses(&again.json()), vec!["accepted"], "{}", again.text());
    let cov = coverage().await.json();
    assert_eq!((cov["sampled"].as_i64(), cov["missed"].as_i64()), (Some(1), Some(1)));
    assert_eq!(cov["buildings"][0]["sampled"].as_i64(), Some(1));
    let missed = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &staff).await.json();
    let missed: Vec<i64> = missed.as_array().expect("list").iter().filter_map(|m| m["resident_id"].as_i64()).collect();
    assert_eq!(missed, vec![r2]);
    // Now bound to a valid tube again: the replay is a duplicate, another tube is refused.
    let replay = post(vec![scan("b1", "YY0002", &c1), scan("b2", "YY0003", &c1)]).await;
    assert_eq!(statuses(&replay.json()), vec!["duplicate", "already_in_tube"]);
    app.finish().await;
}

#[tokio::test]
async fn invalid_tube_members_are_sampled_again_on_sqlite() {
    invalid_tube_members_are_sampled_again(Backend::Sqlite).await;
}

#[tokio::test]
async fn invalid_tube_members_are_sampled_again_on_postgres() {
    invalid_tube_members_are_sampled_again(Backend::Postgres).await;
}

#[tokio::test]
async fn lab_sheets_import_results_per_tube() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, h2) = app.place().await;
    let (_, c1) = coded_resident(&app, &staff, "甲", 31, h1).await;
    let (r2, c2) = coded_resident(&app, &staff, "乙", 33, h2).await;
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
    let scans = json!({"scans": [
        {"key": "a", "round": round, "tube": "ZZ0001", "resident_code": c1},
        {"key": "b", "round": round, "tube": "ZZ0002", "resident_code": c2}]});
    assert_eq!(
        statuses(&app.api(Method::POST, "/api/v1/sampling/scans", Some(&staff), Some(scans)).await.json()),
        vec!["accepted", "accepted"]
    );
    let sheet = "检测机构：某某医学检验所\n样本编号,姓名,检测结果,报告时间\nZZ0001,,阴性,2022-06-13 08:00\nZZ0002,,混管异常,2022-06-13 08:00\nZZ0003,,阴性,\nZZ0004,,看不清,\n";
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sampling/results/import")
        .header(header::AUTHORIZATION, format!("Bearer {lab}"))
        .body(Body::from(sheet.as_bytes().to_vec()))
        .expect("request");
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!((v["recorded"].as_u64(), v["unknown_tube"].as_u64()), (Some(2), Some(1)));
    assert_eq!(v["refused"][0][0], 6, "the unreadable result's row is reported");
    let retests = app.store().pending_retests(round).await.expect("retests");
    assert_eq!(retests.iter().map(|r| r.0).collect::<Vec<_>>(), vec![r2]);
    let page = app.get(&format!("/sampling/rounds/{round}"), &lead).await.text();
    assert!(
        page.contains("待单管复采") && page.contains("有混管异常") && page.contains("ZZ0002"),
        "retests are listed and their building flagged"
    );
    // The same sheet again changes nothing; a later sheet saying otherwise is
    // not taken silently: those tubes are named and keep their first result.
    let resend = |body: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/sampling/results/import")
            .header(header::AUTHORIZATION, format!("Bearer {lab}"))
            .body(Body::from(body.as_bytes().to_vec()))
            .expect("request")
    };
    let again = app.send(resend(sheet)).await.json();
    assert_eq!((again["recorded"].as_u64(), again["already_recorded"].as_u64()), (Some(0), Some(2)), "{again}");
    assert_eq!(again["conflicting"], json!([]));
    let changed = app.send(resend("样本编号,检测结果\nZZ0001,混管异常\nZZ0002,阴性\n")).await.json();
    assert_eq!(changed["conflicting"], json!(["ZZ0001", "ZZ0002"]), "{changed}");
    assert_eq!(app.store().pending_retests(round).await.expect("retests").len(), 1, "nothing changed");
    let posted = app
        .api(
            Method::POST,
            "/api/v1/sampling/results",
            Some(&lab),
            Some(json!({"results": [{"tube": "ZZ0001", "result": "abnormal"}]})),
        )
        .await;
    assert_eq!(posted.json()[0]["status"], "conflicting_result");
    let no_columns = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sampling/results/import")
        .header(header::AUTHORIZATION, format!("Bearer {lab}"))
        .body(Body::from("a,b\n1,2\n"))
        .expect("request");
    let res = app.send(no_columns).await;
    assert_eq!(res.json()["error"]["fields"][0]["code"], "no_lab_columns");
    app.finish().await;
}

#[tokio::test]
async fn the_lab_uploads_a_sheet_in_the_browser() {
    let app = TestApp::new(Backend::Sqlite).await;
    let session = browser_login(&app, "lab").await;
    let page = get_page(&app, &session, "/sampling/results").await.text();
    assert!(page.contains("上传检测结果") && page.contains("检测结果"), "the lab's menu and page");
    let csrf = field(&page, "csrf");
    let boundary = "xyzboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n\r\n管码,结果\nZZ0001,阴性\n\r\n--{boundary}--\r\n"
    );
    let res = app
        .send(
            Request::post("/sampling/results")
                .header(header::COOKIE, format!("frontline_session={session}"))
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
                .body(Body::from(body))
                .expect("req"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().contains("未知试管"), "the outcome is shown");
    app.finish().await;
}

/// The lab records single retests from its page: negative releases, positive
/// confirms, a second entry for the same person finds no retest due, a code
/// nobody has is refused, and only the lab's roles may record.
#[tokio::test]
async fn the_lab_records_retests_from_its_page() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, _) = app.place().await;
    let c1 = coded_resident(&app, &staff, "甲", 71, h1).await.1;
    let c2 = coded_resident(&app, &staff, "乙", 73, h1).await.1;
    let body = json!({"name": "R", "pool_size": 5, "buildings": [building]});
    let round = app.api(Method::POST, "/api/v1/sampling/rounds", Some(&lead), Some(body)).await.json()["id"]
        .as_i64()
        .expect("round");
    let scans = json!({"scans": [
        {"key": "r1", "round": round, "tube": "ZZ7001", "resident_code": c1},
        {"key": "r2", "round": round, "tube": "ZZ7001", "resident_code": c2}]});
    let scanned = app.api(Method::POST, "/api/v1/sampling/scans", Some(&lead), Some(scans)).await;
    assert_eq!(statuses(&scanned.json()), vec!["accepted", "accepted"]);
    let abnormal = json!({"results": [{"tube": "ZZ7001", "result": "abnormal"}]});
    assert_eq!(
        app.api(Method::POST, "/api/v1/sampling/results", Some(&lab), Some(abnormal)).await.status,
        StatusCode::OK
    );
    assert_eq!(app.store().pending_retests(round).await.expect("retests").len(), 2);

    let session = browser_login(&app, "lab").await;
    let page = get_page(&app, &session, "/sampling/results").await.text();
    assert!(page.contains("action=\"/sampling/retests\"") && page.contains(&format!("value=\"{round}\"")), "{page}");
    let csrf = field(&page, "csrf");
    let record = |code: &str, result: &str| format!("csrf={csrf}&round={round}&code={code}&result={result}");
    let outcome = |html: &str| {
        let marker = "data-status=\"";
        html.find(marker).map(|i| html[i + marker.len()..].split('"').next().unwrap_or_default().to_string())
    };
    let first = post_form(&app, &session, "/sampling/retests", record(&c1, "negative")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(outcome(&first.text()).as_deref(), Some("cleared"));
    assert!(first.text().contains("复核阴性，已解除"), "the lab is told in words: {}", first.text());
    let again = post_form(&app, &session, "/sampling/retests", record(&c1, "negative")).await;
    assert_eq!(outcome(&again.text()).as_deref(), Some("no_retest_due"));
    let positive = post_form(&app, &session, "/sampling/retests", record(&c2, "positive")).await;
    assert_eq!(outcome(&positive.text()).as_deref(), Some("confirmed"));
    assert!(app.store().pending_retests(round).await.expect("retests").is_empty());
    let nobody = post_form(&app, &session, "/sampling/retests", record("NOBODY00", "negative")).await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nobody.text());
    let forged =
        post_form(&app, &session, "/sampling/retests", format!("csrf=x&round={round}&code={c1}&result=negative")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "a form without the session's token");

    // A volunteer cannot record results, from any page's form.
    let volunteer = browser_login(&app, "volunteer").await;
    let scan_page =
        get_page(&app, &volunteer, format!("/sampling/rounds/{round}/scan?building={building}")).await.text();
    let theirs = field(&scan_page, "csrf");
    let refused = post_form(
        &app,
        &volunteer,
        "/sampling/retests",
        format!("csrf={theirs}&round={round}&code={c1}&result=positive"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.finish().await;
}
