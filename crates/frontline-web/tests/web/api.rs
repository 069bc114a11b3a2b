//! The JSON API through the real router: auth, envelope, validation, masking,
//! audit, pagination, limits.

use crate::support::{id_number, TestApp, PASSWORD};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

#[tokio::test]
async fn login_gives_a_token_that_works_and_logout_ends_it() {
    let app = TestApp::new(Backend::Sqlite).await;
    let res = app
        .api(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "staff", "password": PASSWORD})))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let token = res.json()["token"].as_str().expect("token").to_string();
    let me = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(me.json()["role"], "staff");
    // The session is remembered for a few seconds: the next requests need no database read.
    assert!(app.state.sessions().get(&token).is_some(), "the session cache is filled");
    let out = app.api(Method::POST, "/api/v1/auth/logout", Some(&token), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(app.state.sessions().get(&token).is_none(), "logging out empties the cache at once");
    let after = app.get("/api/v1/auth/me", &token).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.error_code(), "unauthenticated");
    app.finish().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_account() {
    // The account's first wait outlasts the test: no assertion depends on timing.
    let config = frontline_web::WebConfig { login_backoff_first_secs: 3600, ..Default::default() };
    let app = TestApp::with_config(Backend::Sqlite, config).await;
    let bad = json!({"username": "deputy", "password": "wrong password"});
    for _ in 0..5 {
        let res = app.api(Method::POST, "/api/v1/auth/login", None, Some(bad.clone())).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.error_code(), "bad_credentials");
    }
    let res = app.api(Method::POST, "/api/v1/auth/login", None, Some(bad.clone())).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.error_code(), "too_many_requests");
    assert!(res.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    // Even the right password waits: the account is under attack.
    let good = app
        .api(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "deputy", "password": PASSWORD})))
        .await;
    assert_eq!(good.status, StatusCode::TOO_MANY_REQUESTS);
    // Another account from another address is not affected.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"username": "staff", "password": PASSWORD}).to_string()))
        .expect("request");
    assert_eq!(app.send_from(req, "10.1.2.3:5000").await.status, StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_address() {
    let config = frontline_web::WebConfig { login_failures_per_address: 5, ..Default::default() };
    let app = TestApp::with_config(Backend::Sqlite, config).await;
    for name in ["a1", "a2", "a3", "a4", "a5"] {
        let res =
            app.api(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": name, "password": "x"}))).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = app
        .api(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "staff", "password": PASSWORD})))
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "the same address tried five names");
    app.finish().await;
}

#[tokio::test]
async fn invalid_id_number_is_a_422_naming_field_and_reason() {
    let app = TestApp::new(Backend::Sqlite).await;
    let token = app.token(Role::Staff).await;
    let (_, h1, _) = app.place().await;
    let good = id_number("350602", 1987, 4, 12, 351);
    let last = good.chars().last().expect("check char");
    let wrong = if last == '0' { '1' } else { '0' };
    let bad = format!("{}{wrong}", &good[..17]);
    let res = app
        .api(
            Method::POST,
            "/api/v1/residents",
            Some(&token),
            Some(json!({"name": "林一", "id_number": bad, "phone": "13800138000", "household": h1})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
    let body = res.json();
    assert_eq!(body["error"]["code"], "invalid");
    let fields = body["error"]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0]["field"], "id_number");
    assert_eq!(fields[0]["code"], "bad_check_character");
    let message = fields[0]["message"].as_str().expect("message");
    assert!(message.contains(last), "the message names the expected check character: {message}");

    let body17 = "35060220220229001";
    let check = frontline_domain::ids::check_char(body17.as_bytes()).expect("17 digits");
    let impossible = format!("{body17}{check}");
    let res = app
        .api(Method::POST, "/api/v1/residents", Some(&token), Some(json!({"name": "林二", "id_number": impossible})))
        .await;
    assert_eq!(res.json()["error"]["fields"][0]["code"], "impossible_birth_date", "{}", res.text());

    let res = app
        .api(Method::POST, "/api/v1/residents", Some(&token), Some(json!({"id_number": "123", "phone": "12345"})))
        .await;
    let codes: Vec<(String, String)> = res.json()["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| (f["field"].as_str().unwrap_or("").to_string(), f["code"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(codes.contains(&("name".into(), "required".into())), "{codes:?}");
    assert!(codes.contains(&("id_number".into(), "bad_length".into())), "{codes:?}");
    assert!(codes.iter().any(|(f, _)| f == "phone"), "{codes:?}");
    assert!(
        app.store().list_residents(&Default::default(), None, 10).await.expect("list").items.is_empty(),
        "nothing written"
    );
    app.finish().await;
}

#[tokio::test]
async fn english_messages_follow_accept_language() {
    let app = TestApp::new(Backend::Sqlite).await;
    let token = app.token(Role::Staff).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/residents")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(Body::from(json!({"name": "X", "id_number": "350602199001011"}).to_string()))
        .expect("request");
    let zh = app
        .api(Method::POST, "/api/v1/residents", Some(&token), Some(json!({"name": "X", "id_number": "3506021990"})))
        .await;
    let en = app.send(req).await;
    let en_msg = en.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    let zh_msg = zh.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(en_msg.is_ascii() && !en_msg.is_empty(), "{en_msg}");
    assert!(!zh_msg.is_ascii(), "{zh_msg}");
    app.finish().await;
}

#[tokio::test]
async fn residents_are_masked_and_reveals_are_audited() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let volunteer = app.token(Role::Volunteer).await;
    let commander = app.token(Role::Commander).await;
    let (building, h1, _) = app.place().await;
    let number = id_number("350602", 1942, 1, 1, 1234);
    let res = app
        .api(Method::POST, "/api/v1/residents", Some(&staff), Some(json!({"name": "陈伯", "id_number": number.to_lowercase(), "phone": "+86 138 0013 5678", "household": h1, "special_needs": ["living_alone"]})))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["id"].as_i64().expect("id");

    // Staff see the masks; a volunteer (no team, so no buildings) sees nobody.
    let outside = app.get(&format!("/api/v1/residents/{id}"), &volunteer).await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "{}", outside.text());
    let masked = app.get(&format!("/api/v1/residents/{id}"), &staff).await.json();
    assert!(masked.get("birth_date").is_none(), "a birth date would undo the mask: {masked}");
    assert_eq!(masked["age"].as_i64().map(|a| a >= 80), Some(true));
    let expected_mask = format!("{}********{}", &number[..6], &number[14..]);
    assert_eq!(masked["id_number"], expected_mask);
    assert_eq!(masked["phone"], "138****5678");
    assert_eq!(masked["masked"], true);
    assert_eq!(masked["building"], building);
    let code = masked["sampling_code"].as_str().expect("sampling code");
    assert!(!code.contains(&number[14..]), "the code reveals nothing of the ID number");
    let needs: Vec<&str> =
        masked["special_needs"].as_array().expect("needs").iter().filter_map(Value::as_str).collect();
    assert!(needs.contains(&"living_alone") && needs.contains(&"elderly"), "{needs:?}");

    let list = app.get(&format!("/api/v1/residents?building={building}"), &staff).await.json();
    assert_eq!(list["items"][0]["sampling_code"], code);
    assert_eq!(list["items"][0]["id_number"], expected_mask);

    let denied = app.get(&format!("/api/v1/residents/{id}?reveal=true"), &staff).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let shown = app.get(&format!("/api/v1/residents/{id}?reveal=true"), &commander).await.json();
    assert_eq!(shown["id_number"], number);
    assert_eq!(shown["phone"], "13800135678");
    assert_eq!(shown["masked"], false);
    assert_eq!(shown["birth_date"], "1942-01-01");

    let audit = app.get(&format!("/api/v1/audit?action=resident.reveal&entity_id={id}"), &commander).await.json();
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 1, "exactly the commander's reveal: {audit}");
    assert_eq!(entries[0]["actor"], "commander");
    assert_eq!(entries[0]["ip"], "127.0.0.1");
    app.finish().await;
}

#[tokio::test]
async fn duplicate_id_number_is_409_and_patch_moves_household() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (_, h1, h2) = app.place().await;
    let number = id_number("350603", 1990, 5, 6, 22);
    let body = json!({"name": "王芳", "id_number": number, "household": h1});
    let first = app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(body.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let id = first.json()["id"].as_i64().expect("id");
    let dup = app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(body)).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.json()["error"]["fields"][0]["field"], "id_number");

    let missing = app
        .api(Method::PATCH, &format!("/api/v1/residents/{id}"), Some(&staff), Some(json!({"household": 424242})))
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.json()["error"]["fields"][0]["field"], "household");

    let moved = app
        .api(
            Method::PATCH,
            &format!("/api/v1/residents/{id}"),
            Some(&staff),
            Some(json!({"household": h2, "phone": null})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    assert_eq!(moved.json()["household"], h2);
    assert!(moved.json()["phone"].is_null());
    assert_eq!(app.store().address_history(id).await.expect("history").len(), 2);
    let gone = app.api(Method::PATCH, "/api/v1/residents/999999", Some(&staff), Some(json!({"name": "x"}))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn fifteen_digit_ids_are_converted_with_a_warning() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let full = id_number("350602", 1965, 3, 4, 17);
    let old = format!("{}{}", &full[..6], &full[8..17]);
    let res =
        app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(json!({"name": "老李", "id_number": old}))).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["warnings"][0]["code"], "converted_from_15");
    let commander = app.token(Role::Commander).await;
    let id = res.json()["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/api/v1/residents/{id}?reveal=true"), &commander).await.json()["id_number"], full);
    app.finish().await;
}

#[tokio::test]
async fn lists_are_keyset_paginated() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, _) = app.place().await;
    for seq in 0..5u16 {
        let body = json!({"name": format!("住户{seq}"), "id_number": id_number("350602", 1980, 1, 2, seq * 2 + 1), "household": h1});
        assert_eq!(
            app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(body)).await.status,
            StatusCode::CREATED
        );
    }
    let mut names = vec![];
    let mut path = format!("/api/v1/residents?building={building}&limit=2");
    loop {
        let page = app.get(&path, &staff).await.json();
        names.extend(
            page["items"].as_array().expect("items").iter().map(|r| r["name"].as_str().unwrap_or("").to_string()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/residents?building={building}&limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(names, (0..5).map(|i| format!("住户{i}")).collect::<Vec<_>>());
    let bad = app.get("/api/v1/residents?after=abc", &staff).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["fields"][0]["field"], "after");
    let buildings = app.get("/api/v1/buildings?limit=1", &staff).await.json();
    assert_eq!(buildings["items"][0]["residents"], 5);
    assert_eq!(buildings["items"][0]["households"], 2);
    assert!(buildings["next"].is_null());
    app.finish().await;
}

#[tokio::test]
async fn envelope_for_every_failure_kind() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let unauth = app.api(Method::GET, "/api/v1/buildings", None, None).await;
    assert_eq!((unauth.status, unauth.error_code().as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let missing = app.get("/api/v1/nothing-here", &staff).await;
    assert_eq!((missing.status, missing.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let not_a_number = app.get("/api/v1/residents/abc", &staff).await;
    assert_eq!(not_a_number.status, StatusCode::NOT_FOUND);
    let method = app.api(Method::DELETE, "/api/v1/audit", Some(&staff), None).await;
    assert_eq!((method.status, method.error_code().as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/residents")
        .header(header::AUTHORIZATION, format!("Bearer {staff}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"name\": "))
        .expect("request");
    let malformed = app.send(req).await;
    assert_eq!((malformed.status, malformed.error_code().as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/residents")
        .header(header::AUTHORIZATION, format!("Bearer {staff}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .expect("request");
    let too_large = app.send(req).await;
    assert_eq!(
        (too_large.status, too_large.error_code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let wrong_type = app
        .api(Method::POST, "/api/v1/residents", Some(&staff), Some(json!({"name": "x", "household": "three"})))
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The message names where the wrong type is (read again with path tracking).
    assert!(wrong_type.text().contains("household"), "{}", wrong_type.text());
    let plain = |content_type: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/residents")
            .header(header::AUTHORIZATION, format!("Bearer {staff}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from("{\"name\": \"x\", \"household\": \"three\"}"))
            .expect("request")
    };
    let text = app.send(plain("text/plain")).await;
    assert_eq!((text.status, text.error_code().as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(text.text().contains("Content-Type"), "{}", text.text());
    // A `+json` type is JSON: the body is read (and its wrong type found).
    let suffixed = app.send(plain("application/merge-patch+json; charset=utf-8")).await;
    assert_eq!(suffixed.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

#[tokio::test]
async fn zone_decisions_keep_history_through_the_api() {
    let app = TestApp::new(Backend::Sqlite).await;
    let deputy = app.token(Role::Deputy).await;
    let staff = app.token(Role::Staff).await;
    let (building, _, _) = app.place().await;
    let path = format!("/api/v1/buildings/{building}/zones");
    let no_reason = app.api(Method::POST, &path, Some(&deputy), Some(json!({"level": "sealed"}))).await;
    assert_eq!(no_reason.json()["error"]["fields"][0]["field"], "reason");
    let bad_level = app.api(Method::POST, &path, Some(&deputy), Some(json!({"level": "red", "reason": "x"}))).await;
    assert_eq!(bad_level.json()["error"]["fields"][0]["code"], "unknown");
    let staff_try = app.api(Method::POST, &path, Some(&staff), Some(json!({"level": "sealed", "reason": "x"}))).await;
    assert_eq!(staff_try.status, StatusCode::FORBIDDEN);
    let sealed = app
        .api(
            Method::POST,
            &path,
            Some(&deputy),
            Some(json!({"level": "sealed", "reason": "阳性病例", "effective_from": 1_000})),
        )
        .await;
    assert_eq!(sealed.status, StatusCode::CREATED, "{}", sealed.text());
    let controlled = app
        .api(
            Method::POST,
            &path,
            Some(&deputy),
            Some(json!({"level": "controlled", "reason": "7天无新增", "effective_from": 2_000})),
        )
        .await;
    assert_eq!(controlled.status, StatusCode::CREATED);
    let history = app.get(&path, &staff).await.json();
    let levels: Vec<&str> = history.as_array().expect("history").iter().filter_map(|z| z["level"].as_str()).collect();
    assert_eq!(levels, vec!["controlled", "sealed"]);
    assert_eq!(history[0]["decided_by"], "deputy");
    assert_eq!(app.get(&format!("/api/v1/buildings/{building}"), &staff).await.json()["zone"], "controlled");
    app.finish().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new(Backend::Sqlite).await;
    let h = app.api(Method::GET, "/healthz", None, None).await;
    assert_eq!(h.status, StatusCode::OK);
    let r = app.api(Method::GET, "/readyz", None, None).await;
    assert_eq!((r.status, r.json()["database"].as_str()), (StatusCode::OK, Some("sqlite")));
    let token = app.token(frontline_domain::access::Role::Staff).await;
    app.store().close().await;
    let down = app.api(Method::GET, "/readyz", None, None).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    // A database that cannot be reached is a 503 to retry later, whose body
    // says nothing of the cause.
    let broken = app.get("/api/v1/buildings", &token).await;
    assert_eq!(broken.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(broken.error_code(), "database_unavailable");
    assert!(broken.header("retry-after").is_some(), "{:?}", broken.headers);
    let text = broken.text().to_lowercase();
    assert!(!text.contains("pool") && !text.contains("sqlx") && !text.contains("closed"), "{text}");
    app.finish().await;
}
