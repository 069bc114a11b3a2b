//! The resident page: household members, sampling history, the census rows
//! behind the record, "no phone" said in words, and an edit form for those
//! who may edit, which keeps what was typed when it fails and is audited.

use crate::support::{browser_login, coded_resident, get_page, id_number, post_form, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::audit::AuditFilter;
use frontline_store::Backend;
use serde_json::json;

fn csrf_of(html: &str) -> String {
    crate::support::field(html, "csrf")
}

#[tokio::test]
async fn the_resident_page_shows_household_sampling_and_census_rows() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let lab = app.token(Role::Lab).await;
    let volunteer = app.token(Role::Volunteer).await;
    let (building, h1, _) = app.place().await;
    // 甲 with a phone, 乙 without, in one household.
    let body = json!({"name": "甲", "id_number": id_number("350602", 1980, 5, 5, 41), "phone": "13812345678", "household": h1});
    let created = app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let jia = created.json()["id"].as_i64().expect("id");
    let jia_code = created.json()["sampling_code"].as_str().expect("code").to_string();
    let (yi, _) = coded_resident(&app, &staff, "乙", 43, h1).await;

    // 甲 is sampled in a round and the tube comes back negative.
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "第一轮核酸", "pool_size": 10, "buildings": [building]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    crate::support::sweeps(&app, "volunteer", round).await;
    let scans = json!({"scans": [{"key": "s1", "round": round, "tube": "RS0001", "resident_code": jia_code}]});
    let scanned = app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scans)).await;
    assert_eq!(scanned.json()["results"][0]["status"], "accepted", "{}", scanned.text());
    let results = json!({"results": [{"tube": "RS0001", "result": "negative"}]});
    let posted = app.api(Method::POST, "/api/v1/sampling/results", Some(&lab), Some(results)).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text());

    // 乙 turns up in a census sheet.
    let sheet = format!("姓名,身份证号码\n乙,{}\n", id_number("350602", 1980, 5, 5, 43));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/census/imports?round=%E7%AC%AC%E4%B8%80%E8%BD%AE%E6%91%B8%E6%8E%92&compound=C")
        .header(header::AUTHORIZATION, format!("Bearer {staff}"))
        .body(Body::from(sheet))
        .expect("request");
    let imported = app.send(req).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text());
    let census_round = imported.json()["round_id"].as_i64().expect("round id");

    let session = browser_login(&app, "staff").await;
    let page = get_page(&app, &session, format!("/residents/{yi}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(&format!("<a href=\"/residents/{jia}\">甲</a>")), "甲 as a household member");
    assert!(html.contains("未登记电话"), "a missing phone is said in words");
    assert!(
        html.contains(&format!("href=\"/census/rounds/{census_round}\"")) && html.contains("第一轮摸排"),
        "census rows"
    );
    assert!(html.contains("暂无采样记录"), "乙 was not sampled");
    assert!(html.contains(&format!("action=\"/residents/{yi}\"")), "the edit form for staff");

    let html = get_page(&app, &session, format!("/residents/{jia}")).await.text();
    assert!(
        html.contains("RS0001") && html.contains("第一轮核酸") && html.contains("阴性"),
        "sampling history: {html}"
    );
    assert!(html.contains("138****5678") && !html.contains("未登记电话") && !html.contains("13812345678"));
    assert!(html.contains(&format!("<a href=\"/residents/{yi}\">乙</a>")));
    assert!(html.contains("没有摸排记录"), "甲 was registered by hand");

    // A volunteer reads the page but has no edit form and no census rows.
    let v = browser_login(&app, "volunteer").await;
    let html = get_page(&app, &v, format!("/residents/{yi}")).await.text();
    assert!(html.contains("乙") && !html.contains(&format!("action=\"/residents/{yi}\"")), "no edit form");
    assert!(!html.contains("/census/rounds/"));
    let csrf = csrf_of(&html);
    let refused = post_form(&app, &v, format!("/residents/{yi}"), format!("csrf={csrf}&name=X")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn editing_a_resident_keeps_the_input_on_error_and_is_audited() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (_, h1, _) = app.place().await;
    let (id, _) = coded_resident(&app, &staff, "王芳", 45, h1).await;
    let session = browser_login(&app, "staff").await;
    let html = get_page(&app, &session, format!("/residents/{id}")).await.text();
    let csrf = csrf_of(&html);
    assert!(html.contains("name=\"name\" value=\"王芳\""), "the form starts from the record");

    // A bad phone: nothing written, the form again with what was typed.
    let bad = post_form(
        &app,
        &session,
        format!("/residents/{id}"),
        format!("csrf={csrf}&name=%E7%8E%8B%E8%8A%B3%E8%8A%B3&phone=12345&needs=living_alone"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text();
    assert!(
        html.contains("name=\"name\" value=\"王芳芳\"") && html.contains("name=\"phone\" value=\"12345\""),
        "{html}"
    );
    assert!(html.contains("value=\"living_alone\" checked"), "the ticked need stays ticked");
    let error_at = html.find("id=\"phone-error\"").expect("the message beside the phone");
    assert!(error_at < html.find("id=\"edit-phone\"").expect("phone field"));
    assert!(html.contains("href=\"#edit-phone\""), "the summary links to the field");
    let kept = app.store().get_resident(id).await.expect("resident");
    assert_eq!((kept.name.as_str(), kept.phone.as_deref(), kept.needs), ("王芳", None, 0), "nothing half-written");

    // Without the form's token: refused.
    let forged = post_form(&app, &session, format!("/residents/{id}"), "csrf=wrong&name=X".to_string()).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let ok = post_form(
        &app,
        &session,
        format!("/residents/{id}"),
        format!("csrf={csrf}&name=%E7%8E%8B%E8%8A%B3%E8%8A%B3&phone=13812345678&needs=living_alone&needs=bedridden"),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text());
    let saved = app.store().get_resident(id).await.expect("resident");
    assert_eq!((saved.name.as_str(), saved.phone.as_deref()), ("王芳芳", Some("13812345678")));
    let after = get_page(&app, &session, format!("/residents/{id}?saved=1")).await.text();
    assert!(after.contains("已保存") && after.contains("独居") && after.contains("卧床"));
    assert!(!after.contains("13812345678"), "the form never shows the full number");

    // Removing the phone.
    let removed = post_form(
        &app,
        &session,
        format!("/residents/{id}"),
        format!("csrf={csrf}&name=%E7%8E%8B%E8%8A%B3%E8%8A%B3&phone_remove=1"),
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let cleared = app.store().get_resident(id).await.expect("resident");
    assert_eq!((cleared.phone, cleared.needs), (None, 0), "phone removed; no needs ticked, none kept");

    let filter = AuditFilter { action: Some("resident.update".into()), ..Default::default() };
    let audited = app.store().list_audit(&filter, None, 10).await.expect("audit").items;
    assert_eq!(audited.len(), 2, "two saves, two entries; the refused one none");
    assert!(audited.iter().all(|e| e.actor == "staff"));
    app.finish().await;
}
