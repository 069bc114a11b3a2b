//! Working-group members and leaders: managed by the command through the
//! API, the groups page and the CLI's service, audited, and refused to others.

use crate::support::{browser_login, get_page, post_form, TestApp};
use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::audit::AuditFilter;
use frontline_store::Backend;
use serde_json::json;

async fn audited(app: &TestApp, action: &str) -> usize {
    let filter = AuditFilter { action: Some(action.into()), ..Default::default() };
    app.store().list_audit(&filter, None, 50).await.expect("audit").items.len()
}

async fn members_and_leaders_through_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let deputy = app.token(Role::Deputy).await;
    let staff = app.token(Role::Staff).await;
    let groups = app.store().list_groups().await.expect("groups");
    let (g, other) = (groups[1].id, groups[2].id);

    let refused = app.api(Method::PUT, &format!("/api/v1/groups/{g}/members/staff"), Some(&staff), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let added = app.api(Method::PUT, &format!("/api/v1/groups/{g}/members/staff"), Some(&deputy), None).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    assert_eq!(added.json()["group_id"].as_i64(), Some(g));
    let listed = app.get(&format!("/api/v1/groups/{g}/members"), &staff).await.json();
    assert_eq!(
        listed.as_array().map(|m| m.iter().filter_map(|u| u["username"].as_str()).collect::<Vec<_>>()),
        Some(vec!["staff"])
    );

    let not_member = app
        .api(Method::PUT, &format!("/api/v1/groups/{g}/leader"), Some(&deputy), Some(json!({"username": "volunteer"})))
        .await;
    assert_eq!(not_member.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", not_member.text());
    assert_eq!(not_member.json()["error"]["fields"][0]["code"], "not_member");
    let led = app
        .api(Method::PUT, &format!("/api/v1/groups/{g}/leader"), Some(&deputy), Some(json!({"username": "staff"})))
        .await;
    assert_eq!(led.status, StatusCode::OK, "{}", led.text());
    let staff_id = app.store().user_by_name("staff").await.expect("staff").id;
    assert_eq!(led.json()["leader_id"].as_i64(), Some(staff_id));

    // Moving the leader to another group leaves this one without a leader.
    let moved = app.api(Method::PUT, &format!("/api/v1/groups/{other}/members/staff"), Some(&deputy), None).await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(app.store().get_group(g).await.expect("group").leader_id, None);
    let not_there = app.api(Method::DELETE, &format!("/api/v1/groups/{g}/members/staff"), Some(&deputy), None).await;
    assert_eq!(not_there.status, StatusCode::UNPROCESSABLE_ENTITY);
    let removed = app.api(Method::DELETE, &format!("/api/v1/groups/{other}/members/staff"), Some(&deputy), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(app.store().user_by_name("staff").await.expect("staff").group_id, None);
    let unknown = app.api(Method::PUT, &format!("/api/v1/groups/{g}/members/nobody"), Some(&deputy), None).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.api(Method::PUT, "/api/v1/groups/99999/members/staff", Some(&deputy), None).await.status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(audited(&app, "user.group").await, 3, "added, moved, removed");
    assert_eq!(audited(&app, "group.leader").await, 1);
    app.finish().await;
}

#[tokio::test]
async fn members_and_leaders_through_the_api_on_sqlite() {
    members_and_leaders_through_the_api(Backend::Sqlite).await;
}

#[tokio::test]
async fn members_and_leaders_through_the_api_on_postgres() {
    members_and_leaders_through_the_api(Backend::Postgres).await;
}

/// Every body row has as many cells as the header has columns.
fn columns_line_up(html: &str) {
    let table = &html[html.find("<table class=\"groups\">").expect("groups table")..];
    let table = &table[..table.find("</table>").expect("end")];
    let (head, body) = table.split_once("</thead>").expect("thead");
    let headers = head.matches("<th>").count() + head.matches("<th ").count();
    for row in body.split("<tr>").skip(1) {
        assert_eq!(row.matches("<td").count(), headers, "a row out of line with the headers: {row}");
    }
}

#[tokio::test]
async fn the_groups_page_manages_members() {
    let app = TestApp::new(Backend::Sqlite).await;
    let g = app.store().list_groups().await.expect("groups")[1].id;
    let session = browser_login(&app, "deputy").await;
    let html = get_page(&app, &session, "/groups").await.text();
    columns_line_up(&html);
    let csrf = crate::support::field(&html, "csrf");
    assert!(html.contains(&format!("action=\"/groups/{g}/members\"")), "an add-member form");

    let add = post_form(&app, &session, format!("/groups/{g}/members"), format!("csrf={csrf}&username=staff")).await;
    assert_eq!(add.status, StatusCode::SEE_OTHER, "{}", add.text());
    let html = get_page(&app, &session, "/groups").await.text();
    assert!(html.contains("staff 测试") && html.contains(&format!("action=\"/groups/{g}/leader\"")));

    let wrong =
        post_form(&app, &session, format!("/groups/{g}/leader"), format!("csrf={csrf}&username=volunteer")).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains(&format!("id=\"member-error-{g}\"")) && wrong.text().contains("该账号不是本组成员"));
    // An account that does not exist (deleted meanwhile): the form again, the choice kept.
    let gone = post_form(&app, &session, format!("/groups/{g}/members"), format!("csrf={csrf}&username=nobody")).await;
    assert_eq!(gone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gone.text().contains(&format!("id=\"member-error-{g}\"")));
    let lead = post_form(&app, &session, format!("/groups/{g}/leader"), format!("csrf={csrf}&username=staff")).await;
    assert_eq!(lead.status, StatusCode::SEE_OTHER);
    assert!(app.store().get_group(g).await.expect("group").leader_id.is_some());
    let forged = post_form(&app, &session, format!("/groups/{g}/members/remove"), "csrf=x&username=staff".into()).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let remove =
        post_form(&app, &session, format!("/groups/{g}/members/remove"), format!("csrf={csrf}&username=staff")).await;
    assert_eq!(remove.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store().group_members(g).await.expect("members").len(), 0);

    // A group lead sees the groups and members, and cannot change them.
    let viewer = browser_login(&app, "group_lead").await;
    let html = get_page(&app, &viewer, "/groups").await.text();
    columns_line_up(&html);
    assert!(!html.contains(&format!("action=\"/groups/{g}/members\"")));
    let csrf = crate::support::field(&html, "csrf");
    let refused =
        post_form(&app, &viewer, format!("/groups/{g}/members"), format!("csrf={csrf}&username=group_lead")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store().user_by_name("group_lead").await.expect("lead").group_id, None);
    app.finish().await;
}

/// The group forms' errors live on the page that also manages members: the
/// page comes back whole (rows in line, member forms still there) with the
/// message next to the field, and nothing is written.
#[tokio::test]
async fn a_failed_group_form_keeps_the_members_page_whole() {
    let app = TestApp::new(Backend::Sqlite).await;
    let groups = app.store().list_groups().await.expect("groups");
    let (g, taken) = (groups[1].clone(), groups[0].code.clone());
    let session = browser_login(&app, "deputy").await;
    let html = get_page(&app, &session, "/groups").await.text();
    assert!(!html.contains("error-summary") && !html.contains("aria-invalid"), "a fresh page shows no errors");
    let csrf = crate::support::field(&html, "csrf");

    // A code already taken: a conflict, shown beside the code of the new-group form.
    let res = post_form(&app, &session, "/groups", format!("csrf={csrf}&code={taken}&name=dup&sort=5")).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    let html = res.text();
    columns_line_up(&html);
    assert!(html.contains("error-summary") && html.contains("href=\"#f-code\""), "a summary linking to the code");
    assert!(html.contains("id=\"f-code\"") && html.contains("id=\"f-code-error\""));
    assert!(html.contains(&format!("value=\"{taken}\"")) && html.contains("value=\"dup\""));
    assert!(html.contains(&format!("action=\"/groups/{}/members\"", g.id)), "the member forms are still there");
    assert_eq!(app.store().list_groups().await.expect("groups").len(), groups.len());

    // A row saved with a wrong order: only that row is marked, with its input kept.
    let body = format!("csrf={csrf}&name=kept+name&name_en=Kept&duty=&sort=many");
    let res = post_form(&app, &session, format!("/groups/{}", g.id), body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
    let html = res.text();
    columns_line_up(&html);
    assert!(html.contains("value=\"kept name\"") && html.contains("value=\"many\""));
    assert_eq!(html.matches("aria-invalid=\"true\"").count(), 1, "only the order is marked");
    assert!(html.contains("id=\"f-sort-error\"") && !html.contains("id=\"f-code\""));
    assert!(html.contains(&format!("value=\"{}\"", groups[0].name)), "the other rows show what is stored");
    assert_eq!(app.store().get_group(g.id).await.expect("group").name, g.name, "the group was changed");
    assert_eq!(audited(&app, "group.update").await, 0);
    app.finish().await;
}
