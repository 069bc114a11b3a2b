//! The audit log page reads as sentences: display names, actions and objects
//! in words, local times, and filters as menus that filter.

use crate::support::{browser_login, coded_resident, get_page, TestApp};
use axum::http::StatusCode;
use frontline_domain::access::Role;
use frontline_store::audit::AuditFilter;
use frontline_store::Backend;

#[tokio::test]
async fn the_audit_log_reads_as_sentences_with_menus() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (_, h1, _) = app.place().await;
    let (id, _) = coded_resident(&app, &staff, "张三", 61, h1).await;
    let lead = browser_login(&app, "group_lead").await;
    assert_eq!(get_page(&app, &lead, format!("/residents/{id}?reveal=1")).await.status, StatusCode::OK);

    let session = browser_login(&app, "commander").await;
    let page = get_page(&app, &session, "/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let reveal_line = "查看完整个人信息：张三（海月花园 3号楼 1单元 1301）";
    let create_line = "新增居民：张三（海月花园 3号楼 1单元 1301）";
    assert!(html.contains(reveal_line) && html.contains(create_line), "{html}");
    assert!(html.contains(">group_lead 测试</td>") && html.contains(">staff 测试</td>"), "display names");
    assert!(!html.contains(">group_lead</td>"), "not the user name");
    assert!(!html.contains("resident.reveal<") && !html.contains(">resident<"), "no codes shown as text");

    // An object named only in its own record (a tube by its code).
    let lab = app.token(Role::Lab).await;
    let lead_token = app.token(Role::GroupLead).await;
    let building = app.store().get_resident(id).await.expect("resident").building_id.expect("building");
    let round = app
        .api(
            axum::http::Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead_token),
            Some(serde_json::json!({"name": "R", "pool_size": 10, "buildings": [building]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    crate::support::sweeps(&app, "volunteer", round).await;
    let volunteer = app.token(Role::Volunteer).await;
    let code = app.get(&format!("/api/v1/residents/{id}"), &staff).await.json()["sampling_code"]
        .as_str()
        .expect("code")
        .to_string();
    let scans = serde_json::json!({"scans": [{"key": "a1", "round": round, "tube": "AU0001", "resident_code": code}]});
    app.api(axum::http::Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scans)).await;
    let results = serde_json::json!({"results": [{"tube": "AU0001", "result": "negative"}]});
    let posted = app.api(axum::http::Method::POST, "/api/v1/sampling/results", Some(&lab), Some(results)).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text());
    let html = get_page(&app, &session, "/audit?action=sampling.result").await.text();
    assert!(html.contains("录入检测结果：AU0001"), "{html}");
    let html = get_page(&app, &session, "/audit").await.text();

    // Times in the district's time zone (UTC+8 by default).
    let filter = AuditFilter { action: Some("resident.reveal".into()), ..Default::default() };
    let at = app.store().list_audit(&filter, None, 1).await.expect("audit").items[0].at;
    let local_minutes = (at / 60_000 + 8 * 60).rem_euclid(24 * 60);
    let hhmm = format!("{:02}:{:02}", local_minutes / 60, local_minutes % 60);
    assert!(html.contains(&hhmm), "local time {hhmm}");

    // Filters are menus.
    for select in ["<select name=\"actor\">", "<select name=\"action\">", "<select name=\"entity\">"] {
        assert!(html.contains(select), "{select}");
    }
    assert!(html.contains("<option value=\"group_lead\">group_lead 测试</option>"));
    assert!(html.contains("<option value=\"resident.reveal\">查看完整个人信息</option>"));

    // …that filter.
    let by_actor = get_page(&app, &session, "/audit?actor=staff").await.text();
    assert!(by_actor.contains(create_line) && !by_actor.contains(reveal_line));
    assert!(by_actor.contains("<option value=\"staff\" selected>"), "the menu keeps the choice");
    let by_action = get_page(&app, &session, "/audit?action=resident.reveal").await.text();
    assert!(by_action.contains(reveal_line) && !by_action.contains(create_line));
    let by_kind = get_page(&app, &session, "/audit?entity=group").await.text();
    assert!(!by_kind.contains(reveal_line) && !by_kind.contains(create_line) && by_kind.contains("没有记录"));
    let later = get_page(&app, &session, "/audit?from_date=2999-01-01").await.text();
    assert!(later.contains("没有记录"));
    app.finish().await;
}
