//! The browser's path: login form with CSRF, session cookie, pages in both
//! languages, forms guarded by CSRF, masked data revealed only with a trace.

use crate::support::{id_number, Answer, TestApp, PASSWORD};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::audit::AuditFilter;
use frontline_store::Backend;
use serde_json::json;

fn cookie_value(res: &Answer, name: &str) -> Option<String> {
    res.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// Logs in through the form; returns the session cookie.
async fn browser_login(app: &TestApp, username: &str) -> String {
    let form = app.send(Request::get("/login?next=/buildings").body(Body::empty()).expect("req")).await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = cookie_value(&form, "frontline_login_csrf").expect("login csrf cookie");
    assert_eq!(hidden_field(&form.text(), "csrf").as_deref(), Some(pre.as_str()));
    let body = format!("username={username}&password={PASSWORD}&csrf={pre}&next=%2Fbuildings");
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("frontline_login_csrf={pre}"))
        .body(Body::from(body))
        .expect("req");
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(res.header("location").as_deref(), Some("/buildings"));
    let set = res
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("frontline_session="))
        .expect("session cookie")
        .to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    cookie_value(&res, "frontline_session").expect("session")
}

async fn page(app: &TestApp, path: &str, session: &str, extra_cookie: Option<&str>, lang: Option<&str>) -> Answer {
    let mut cookie = format!("frontline_session={session}");
    if let Some(c) = extra_cookie {
        cookie.push_str("; ");
        cookie.push_str(c);
    }
    let mut b = Request::get(path).header(header::COOKIE, cookie);
    if let Some(l) = lang {
        b = b.header(header::ACCEPT_LANGUAGE, l);
    }
    app.send(b.body(Body::empty()).expect("req")).await
}

async fn post_form(app: &TestApp, path: &str, session: &str, body: &str) -> Answer {
    let req = Request::post(path)
        .header(header::COOKIE, format!("frontline_session={session}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .expect("req");
    app.send(req).await
}

#[tokio::test]
async fn login_form_needs_its_csrf_token_and_right_password() {
    let app = TestApp::new(Backend::Sqlite).await;
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username=staff&password={PASSWORD}&csrf=forged")))
        .expect("req");
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    let form = app.send(Request::get("/login").body(Body::empty()).expect("req")).await;
    let pre = cookie_value(&form, "frontline_login_csrf").expect("cookie");
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("frontline_login_csrf={pre}"))
        .body(Body::from(format!("username=staff&password=nope&csrf={pre}")))
        .expect("req");
    let wrong = app.send(req).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text().contains("用户名或密码错误"));
    app.finish().await;
}

#[tokio::test]
async fn pages_in_chinese_by_default_and_english_on_request() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (building, h1, _) = app.place().await;
    let staff = app.token(Role::Staff).await;
    let created = app
        .api(Method::POST, "/api/v1/residents", Some(&staff), Some(json!({"name": "郑阿婆", "id_number": id_number("350602", 1938, 8, 8, 42), "phone": "13912345678", "household": h1})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let session = browser_login(&app, "staff").await;

    let zh = page(&app, "/buildings", &session, None, None).await;
    assert_eq!(zh.status, StatusCode::OK);
    let html = zh.text();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("楼栋") && html.contains("3号楼"), "{html}");
    assert!(!html.contains("审计日志"), "a staff member's menu has no audit log");

    let en = page(&app, "/buildings", &session, None, Some("en-US,en;q=0.9")).await.text();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Buildings") && en.contains("Households"), "{en}");

    let switch = page(&app, "/lang/en?next=/buildings", &session, None, None).await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(cookie_value(&switch, "frontline_lang").as_deref(), Some("en"));
    let chosen = page(&app, "/buildings", &session, Some("frontline_lang=en"), Some("zh-CN")).await.text();
    assert!(chosen.contains("Buildings"), "the chosen language beats Accept-Language");

    let detail = page(&app, &format!("/buildings/{building}"), &session, None, None).await.text();
    assert!(detail.contains("郑阿婆") && detail.contains("1301") && detail.contains("高龄"), "{detail}");
    let found = page(&app, "/residents?q=5678", &session, None, None).await.text();
    assert!(found.contains("郑阿婆") && found.contains("139****5678") && !found.contains("13912345678"), "{found}");
    app.finish().await;
}

#[tokio::test]
async fn resident_page_reveals_only_with_permission_and_leaves_a_trace() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, h1, _) = app.place().await;
    let staff = app.token(Role::Staff).await;
    let number = id_number("350603", 1975, 12, 1, 77);
    let created = app
        .api(
            Method::POST,
            "/api/v1/residents",
            Some(&staff),
            Some(json!({"name": "许先生", "id_number": number, "household": h1})),
        )
        .await;
    let id = created.json()["id"].as_i64().expect("id");

    let staff_session = browser_login(&app, "staff").await;
    let masked = page(&app, &format!("/residents/{id}"), &staff_session, None, None).await.text();
    assert!(masked.contains(&format!("{}********{}", &number[..6], &number[14..])) && !masked.contains(&number));
    assert!(!masked.contains("1975-12-01"), "no birth date beside the mask");
    assert!(!masked.contains("?reveal=1"), "no reveal link for staff");
    assert_eq!(
        page(&app, &format!("/residents/{id}?reveal=1"), &staff_session, None, None).await.status,
        StatusCode::FORBIDDEN
    );

    let lead = browser_login(&app, "group_lead").await;
    assert!(page(&app, &format!("/residents/{id}"), &lead, None, None).await.text().contains("?reveal=1"));
    let shown = page(&app, &format!("/residents/{id}?reveal=1"), &lead, None, None).await.text();
    assert!(shown.contains(&number));
    let trace = app
        .store()
        .list_audit(&AuditFilter { action: Some("resident.reveal".into()), ..Default::default() }, None, 10)
        .await
        .expect("audit");
    assert_eq!(trace.items.len(), 1);
    assert_eq!(trace.items[0].actor, "group_lead");
    app.finish().await;
}

#[tokio::test]
async fn forms_and_cookie_api_calls_need_the_csrf_token() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (building, _, _) = app.place().await;
    let session = browser_login(&app, "commander").await;
    let html = page(&app, &format!("/buildings/{building}"), &session, None, None).await.text();
    let csrf = hidden_field(&html, "csrf").expect("csrf field on the zone form");

    let forged =
        post_form(&app, &format!("/buildings/{building}/zone"), &session, "level=sealed&reason=x&csrf=wrong").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app.store().zone_history(building).await.expect("history").is_empty());
    let ok = post_form(
        &app,
        &format!("/buildings/{building}/zone"),
        &session,
        &format!("level=sealed&reason=%E9%98%B3%E6%80%A7&csrf={csrf}"),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let history = app.store().zone_history(building).await.expect("history");
    assert_eq!((history.len(), history[0].reason.as_str()), (1, "阳性"));

    let req = Request::post("/api/v1/groups")
        .header(header::COOKIE, format!("frontline_session={session}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"code": "x1", "name": "x"}).to_string()))
        .expect("req");
    let no_header = app.send(req).await;
    assert_eq!((no_header.status, no_header.error_code().as_str()), (StatusCode::FORBIDDEN, "csrf"));
    let req = Request::post("/api/v1/groups")
        .header(header::COOKIE, format!("frontline_session={session}"))
        .header("x-csrf-token", &csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"code": "x1", "name": "x"}).to_string()))
        .expect("req");
    assert_eq!(app.send(req).await.status, StatusCode::CREATED);

    let out = post_form(&app, "/logout", &session, &format!("csrf={csrf}")).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = page(&app, "/buildings", &session, None, None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session ended");
    assert!(after
        .header("location")
        .is_some_and(|l| l.starts_with("/login?next=%2Fbuildings") || l.starts_with("/login?next=/buildings")));
    app.finish().await;
}

#[tokio::test]
async fn groups_page_edits_are_audited() {
    let app = TestApp::new(Backend::Sqlite).await;
    let session = browser_login(&app, "deputy").await;
    let html = page(&app, "/groups", &session, None, None).await.text();
    assert!(html.contains("社区管理和服务") && html.contains("特殊群体服务"));
    let csrf = hidden_field(&html, "csrf").expect("csrf");
    let g = app.store().list_groups().await.expect("groups")[1].clone();
    let res = post_form(
        &app,
        &format!("/groups/{}", g.id),
        &session,
        &format!("csrf={csrf}&name=%E9%87%87%E6%A0%B7%E7%BB%84&name_en=Sampling&duty=&sort=20"),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(app.store().get_group(g.id).await.expect("group").name, "采样组");
    let audit = app
        .store()
        .list_audit(&AuditFilter { action: Some("group.update".into()), ..Default::default() }, None, 5)
        .await
        .expect("audit");
    assert_eq!(audit.items[0].actor, "deputy");
    assert_eq!(audit.items[0].before.as_ref().and_then(|b| b["name"].as_str()), Some(g.name.as_str()));

    let audit_page = page(&app, "/audit?action=group.update", &session, None, None).await;
    assert_eq!(audit_page.status, StatusCode::OK);
    assert!(audit_page.text().contains("修改工作小组：采样组"), "{}", audit_page.text());
    let bad_date = page(&app, "/audit?from_date=2022-13-01", &session, None, None).await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

#[tokio::test]
async fn static_assets_are_embedded() {
    let app = TestApp::new(Backend::Sqlite).await;
    for path in ["/assets/app.css", "/assets/vendor/htmx/htmx.min.js"] {
        let res = app.send(Request::get(path).body(Body::empty()).expect("req")).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert!(!res.body.is_empty());
    }
    let missing = app.send(Request::get("/assets/nope.js").body(Body::empty()).expect("req")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("<html"), "pages get the HTML error page");
    app.finish().await;
}
