//! Logging in under attack: the rate limit counts atomically, limits accounts
//! and addresses separately, finds the real client behind proxies, every
//! failure is audited, and weak passwords are refused.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::audit::{AuditEntry, AuditFilter};
use frontline_store::{Actor, Backend};
use frontline_web::WebConfig;
use serde_json::{json, Value};

use crate::support::{cookie, Answer, TestApp, PASSWORD};

const LOGIN: &str = "/api/v1/auth/login";

/// A config whose account wait outlasts any test, so no assertion depends on timing.
fn patient() -> WebConfig {
    WebConfig { login_backoff_first_secs: 3600, ..WebConfig::default() }
}

fn login_request(username: &str, password: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri(LOGIN).header(header::CONTENT_TYPE, "application/json");
    if let Some(xff) = forwarded_for {
        b = b.header("x-forwarded-for", xff);
    }
    b.body(Body::from(json!({"username": username, "password": password}).to_string())).expect("request")
}

async fn login_from(app: &TestApp, username: &str, password: &str, peer: &str) -> Answer {
    app.send_from(login_request(username, password, None), peer).await
}

/// The failed-login entries of the audit log, oldest first.
async fn failed_logins(app: &TestApp) -> Vec<AuditEntry> {
    let filter = AuditFilter { action: Some("auth.login_failed".into()), ..AuditFilter::default() };
    let mut entries = app.store().list_audit(&filter, None, 1_000).await.expect("audit").items;
    entries.reverse();
    entries
}

fn reason(e: &AuditEntry) -> &str {
    e.after.as_ref().and_then(|a| a["reason"].as_str()).unwrap_or_default()
}

fn retry_after(res: &Answer) -> u64 {
    res.header("retry-after").and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no Retry-After: {res:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_get_exactly_the_limit() {
    let app = TestApp::with_config(Backend::Sqlite, patient()).await;
    let limit = app.state.config().login_failures_per_account as usize;
    let attempts = (0..60)
        .map(|i| login_from(&app, "deputy", "wrong password", if i % 2 == 0 { "127.0.0.1:1" } else { "10.0.0.9:2" }));
    let answers = futures_util::future::join_all(attempts).await;
    let unauthorized = answers.iter().filter(|a| a.status == StatusCode::UNAUTHORIZED).count();
    let limited: Vec<&Answer> = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(unauthorized, limit, "only {limit} passwords may be checked");
    assert_eq!(limited.len(), 60 - limit);
    assert!(limited.iter().all(|a| retry_after(a) >= 1 && a.error_code() == "too_many_requests"));
    // The right password waits too: the account is under attack.
    let good = login_from(&app, "deputy", PASSWORD, "10.1.2.3:5").await;
    assert_eq!(good.status, StatusCode::TOO_MANY_REQUESTS);
    let audited = failed_logins(&app).await;
    assert_eq!(audited.iter().filter(|e| reason(e) == "wrong_password").count(), limit);
    assert_eq!(audited.iter().filter(|e| reason(e) == "rate_limited").count(), 61 - limit);
    app.finish().await;
}

#[tokio::test]
async fn failures_of_one_account_do_not_lock_out_another_from_the_same_address() {
    let app = TestApp::with_config(Backend::Sqlite, patient()).await;
    for _ in 0..5 {
        assert_eq!(login_from(&app, "deputy", "wrong password", "192.0.2.1:1").await.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login_from(&app, "deputy", PASSWORD, "192.0.2.1:1").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&locked) > 1, "{locked:?}");
    // The commander behind the same address (an office, a proxy) still gets in.
    let commander = login_from(&app, "commander", PASSWORD, "192.0.2.1:1").await;
    assert_eq!(commander.status, StatusCode::OK, "{}", commander.text());
    // The page login too, and a refusal there carries Retry-After as well.
    let page = page_login(&app, "staff", PASSWORD, "192.0.2.1:1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    let page_locked = page_login(&app, "deputy", PASSWORD, "192.0.2.1:1").await;
    assert_eq!(page_locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&page_locked) >= 1);
    app.finish().await;
}

#[tokio::test]
async fn success_clears_an_accounts_failures() {
    let app = TestApp::with_config(Backend::Sqlite, patient()).await;
    for _ in 0..4 {
        assert_eq!(login_from(&app, "staff", "wrong password", "192.0.2.1:1").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&app, "staff", PASSWORD, "192.0.2.1:1").await.status, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(login_from(&app, "staff", "wrong password", "192.0.2.1:1").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&app, "staff", PASSWORD, "192.0.2.1:1").await.status, StatusCode::OK, "counted from zero");
    app.finish().await;
}

#[tokio::test]
async fn an_address_trying_many_accounts_is_limited_at_its_own_threshold() {
    let app = TestApp::new(Backend::Sqlite).await;
    let per_address = app.state.config().login_failures_per_address;
    assert!(per_address >= 50, "much higher than an account's");
    for i in 0..per_address {
        let res = login_from(&app, &format!("guess{i}"), "wrong password", "198.51.100.4:1").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = login_from(&app, "staff", PASSWORD, "198.51.100.4:1").await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "the address tried {per_address} names");
    assert!(retry_after(&res) >= 1);
    let elsewhere = login_from(&app, "staff", PASSWORD, "198.51.100.5:1").await;
    assert_eq!(elsewhere.status, StatusCode::OK, "other addresses are not affected");
    let last = failed_logins(&app).await.pop().expect("audited");
    assert_eq!(last.after.as_ref().map(|a| a["limit"].clone()), Some(json!("address")));
    app.finish().await;
}

#[tokio::test]
async fn the_client_is_the_rightmost_untrusted_forwarded_hop() {
    let config = WebConfig {
        trust_forwarded_for: true,
        trusted_proxies: vec!["10.0.0.0/8".parse().expect("cidr")],
        login_failures_per_address: 5,
        ..patient()
    };
    let app = TestApp::with_config(Backend::Sqlite, config).await;
    // The client forges the leftmost hop; the proxies (10.x) append what they saw.
    for i in 0..5 {
        let xff = format!("198.51.100.{i}, 203.0.113.7, 10.0.0.2");
        let res =
            app.send_from(login_request(&format!("guess{i}"), "wrong password", Some(&xff)), "10.0.0.1:4000").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let rotated = "198.51.100.99, 203.0.113.7, 10.0.0.2";
    let res = app.send_from(login_request("guess99", "wrong password", Some(rotated)), "10.0.0.1:4000").await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "a new leftmost hop does not escape the limit");
    // Another real client behind the same proxies is not limited.
    let other = "198.51.100.0, 203.0.113.8, 10.0.0.2";
    let res = app.send_from(login_request("staff", PASSWORD, Some(other)), "10.0.0.1:4000").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let audited = failed_logins(&app).await;
    assert_eq!(audited.len(), 6);
    assert!(audited.iter().all(|e| e.ip.as_deref() == Some("203.0.113.7")), "{audited:?}");
    // A peer that is not a trusted proxy cannot set the address at all.
    let direct = app.send_from(login_request("guess", "wrong password", Some("203.0.113.9")), "192.0.2.50:1").await;
    assert_eq!(direct.status, StatusCode::UNAUTHORIZED);
    assert_eq!(failed_logins(&app).await.pop().and_then(|e| e.ip).as_deref(), Some("192.0.2.50"));
    app.finish().await;
}

#[tokio::test]
async fn failed_api_logins_are_audited_with_name_address_and_reason() {
    let app = TestApp::with_config(Backend::Sqlite, patient()).await;
    app.store().set_user_disabled(&Actor::system("test"), "volunteer", true).await.expect("disable");
    let secret = "wrong-but-secret-password";
    assert_eq!(login_from(&app, "staff", secret, "192.0.2.7:1").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login_from(&app, "ghost", secret, "192.0.2.7:1").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login_from(&app, "volunteer", PASSWORD, "192.0.2.7:1").await.status, StatusCode::UNAUTHORIZED);
    for _ in 0..4 {
        login_from(&app, "staff", secret, "192.0.2.7:1").await;
    }
    assert_eq!(login_from(&app, "staff", secret, "192.0.2.7:1").await.status, StatusCode::TOO_MANY_REQUESTS);
    let audited = failed_logins(&app).await;
    let summary: Vec<(&str, &str)> = audited.iter().map(|e| (e.actor.as_str(), reason(e))).collect();
    assert_eq!(
        summary,
        [
            ("staff", "wrong_password"),
            ("ghost", "unknown_user"),
            ("volunteer", "disabled"),
            ("staff", "wrong_password"),
            ("staff", "wrong_password"),
            ("staff", "wrong_password"),
            ("staff", "wrong_password"),
            ("staff", "rate_limited"),
        ]
    );
    assert!(audited.iter().all(|e| e.ip.as_deref() == Some("192.0.2.7") && e.actor_id.is_none()));
    let staff = app.store().user_by_name("staff").await.expect("staff");
    assert_eq!(audited[0].entity_id, Some(staff.id.to_string()));
    assert_eq!(audited[1].entity_id, None, "no such account");
    assert_eq!(audited[7].after.as_ref().map(|a| a["limit"].clone()), Some(json!("account")));
    let everything = serde_json::to_string(&audited).expect("json");
    assert!(!everything.contains(secret) && !everything.contains(PASSWORD), "no password is ever recorded");
    // The commander reads them in the audit log through the API.
    let token = app.token(Role::Commander).await;
    let listed = app.get("/api/v1/audit?action=auth.login_failed", &token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json()["items"].as_array().map(Vec::len), Some(8));
    app.finish().await;
}

async fn page_login(app: &TestApp, username: &str, password: &str, peer: &str) -> Answer {
    let form = app.send(Request::get("/login").body(Body::empty()).expect("req")).await;
    let pre = cookie(&form, "frontline_login_csrf").expect("login csrf cookie");
    let body = format!("username={username}&password={password}&csrf={pre}");
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("frontline_login_csrf={pre}"))
        .body(Body::from(body))
        .expect("req");
    app.send_from(req, peer).await
}

#[tokio::test]
async fn failed_page_logins_are_audited() {
    let app = TestApp::with_config(Backend::Postgres, patient()).await;
    let res = page_login(&app, "group_lead", "not-my-password", "192.0.2.33:1").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = page_login(&app, "nobody", "not-my-password", "192.0.2.33:1").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let audited = failed_logins(&app).await;
    let summary: Vec<(&str, &str, Option<&str>)> =
        audited.iter().map(|e| (e.actor.as_str(), reason(e), e.ip.as_deref())).collect();
    assert_eq!(
        summary,
        [("group_lead", "wrong_password", Some("192.0.2.33")), ("nobody", "unknown_user", Some("192.0.2.33"))]
    );
    assert!(!serde_json::to_string(&audited).expect("json").contains("not-my-password"));
    app.finish().await;
}

/// Creates `username` with `password` through the API, in `lang`.
async fn create_user(app: &TestApp, token: &str, username: &str, password: &str, lang: &str) -> Answer {
    let body = json!({"username": username, "password": password, "role": "volunteer"});
    let req = Request::post("/api/v1/users")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::from(body.to_string()))
        .expect("req");
    app.send(req).await
}

fn password_field(res: &Answer) -> (String, String) {
    let v: Value = res.json();
    let f = v["error"]["fields"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["field"] == "password"))
        .unwrap_or_else(|| panic!("no password field error: {v}"));
    (f["code"].as_str().unwrap_or_default().to_string(), f["message"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_field_error_in_both_languages() {
    let app = TestApp::new(Backend::Sqlite).await;
    let token = app.token(Role::Commander).await;
    let cases = [
        ("12345678", "too_short", "A password needs at least 10 characters", "密码至少需要 10 个字符"),
        ("          ", "too_simple", "A password needs at least 5 different characters", "密码至少需要 5 个不同的字符"),
        ("password123", "common", "This is a common password", "常见密码"),
        ("1234567890", "common", "This is a common password", "常见密码"),
        ("Qwertyuiop", "common", "This is a common password", "常见密码"),
        ("iloveyou2024", "common", "This is a common password", "常见密码"),
        ("Zhang.Wei-1985", "contains_username", "must not contain the user name", "不能包含用户名"),
    ];
    for (password, code, en, zh) in cases {
        let res = create_user(&app, &token, "zhang.wei", password, "en").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{password:?}: {}", res.text());
        assert_eq!(res.error_code(), "invalid");
        let (got_code, message) = password_field(&res);
        assert_eq!(got_code, code, "{password:?}");
        assert!(message.contains(en), "{password:?}: {message}");
        let res = create_user(&app, &token, "zhang.wei", password, "zh-CN").await;
        let (_, message) = password_field(&res);
        assert!(message.contains(zh), "{password:?}: {message}");
    }
    let res = create_user(&app, &token, "zhang.wei", "night-shift-at-gate-3", "en").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let login = login_from(&app, "zhang.wei", "night-shift-at-gate-3", "192.0.2.1:1").await;
    assert_eq!(login.status, StatusCode::OK);
    app.finish().await;
}
