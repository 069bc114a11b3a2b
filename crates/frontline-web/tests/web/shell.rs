//! The frame every page shares: error pages inside it, forms shown again
//! with the input kept, and a menu of only what the role can use.

use crate::support::{browser_login, get_page, post_form, TestApp};
use axum::http::StatusCode;
use frontline_domain::access::Role;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_store::Backend;

/// The menu's links in a page (between `id="main-menu"` and `</nav>`).
fn menu_links(html: &str) -> Vec<String> {
    let Some(start) = html.find("id=\"main-menu\"") else { return vec![] };
    let menu = &html[start..start + html[start..].find("</nav>").unwrap_or(0)];
    // The templates escape `/` in attribute values.
    menu.split("href=\"").skip(1).filter_map(|s| s.split('"').next()).map(|h| h.replace("&#x2f;", "/")).collect()
}

fn percent(s: &str) -> String {
    frontline_web::error::percent_encode(s)
}

/// The frame of a signed-in page: the user's name, the logout form and the menu.
fn assert_framed(html: &str, display_name: &str, what: &str) {
    assert!(html.contains(display_name), "{what}: no user name in\n{html}");
    assert!(html.contains("action=\"/logout\""), "{what}: no logout form");
    assert!(menu_links(html).contains(&"/".to_string()), "{what}: no menu in\n{html}");
}

#[tokio::test]
async fn error_pages_keep_the_header_menu_and_user() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = browser_login(&app, "staff").await;
    let commander = browser_login(&app, "commander").await;
    // 404 from a handler (no such building) and from the router (no such page).
    for path in ["/buildings/987654", "/no/such/page"] {
        let res = get_page(&app, &commander, path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.text().contains(catalogue().text(Lang::Zh, "error.not_found")), "{path}");
        assert_framed(&res.text(), "commander 测试", path);
    }
    // 403: the audit log is not a staff member's.
    let res = get_page(&app, &staff, "/audit").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.text().contains(catalogue().text(Lang::Zh, "error.forbidden")));
    assert_framed(&res.text(), "staff 测试", "403");
    assert!(!menu_links(&res.text()).contains(&"/audit".to_string()), "the menu offers the page just refused");
    // 422: a filter that is not a date.
    let res = get_page(&app, &commander, "/audit?from_date=yesterday").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains(catalogue().text(Lang::Zh, "error.field.bad_date")), "{}", res.text());
    assert_framed(&res.text(), "commander 测试", "422");
    // A form the extractor cannot read (no `keep`): a framed page, not plain text.
    let res = post_form(&app, &commander, "/census/reviews/1/merge", "csrf=x".to_string()).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{:?}", res.headers);
    assert_framed(&res.text(), "commander 测试", "unreadable form");
    // Without a session the error page still has its frame, without a user.
    let res = app.send(axum::http::Request::get("/no/such/page").body(axum::body::Body::empty()).expect("req")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.text().contains("class=\"top\"") && !res.text().contains("action=\"/logout\""));
    app.finish().await;
}

#[tokio::test]
async fn a_wrong_zone_decision_shows_the_form_again_with_the_input() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (building, _, _) = app.place().await;
    let session = browser_login(&app, "commander").await;
    let page = get_page(&app, &session, format!("/buildings/{building}")).await;
    let csrf = crate::support::field(&page.text(), "csrf");
    let path = format!("/buildings/{building}/zone");
    // A reason over 500 characters: the reason is kept, the level too, the message is beside the field.
    let long = "楼内发现阳性病例".repeat(70);
    let res = post_form(&app, &session, &path, format!("csrf={csrf}&level=controlled&reason={}", percent(&long))).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
    let html = res.text();
    assert!(html.contains(&format!("value=\"{long}\"")), "the reason is lost");
    assert!(html.contains("<option value=\"controlled\" selected>"), "the level is lost");
    assert!(html.contains("id=\"f-reason-error\""), "no message beside the reason");
    assert!(html.contains(catalogue().text(Lang::Zh, "error.field.too_long")));
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"f-reason-error\""));
    assert!(html.contains("class=\"error-box error-summary\"") && html.contains("href=\"#f-reason\""));
    assert_framed(&html, "commander 测试", "zone form");
    // An unknown level: the reason typed is kept.
    let res = post_form(&app, &session, &path, format!("csrf={csrf}&level=purple&reason={}", percent("复核"))).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("value=\"复核\"") && res.text().contains("id=\"f-level-error\""), "{}", res.text());
    // Nothing was written.
    assert!(app.store().zone_history(building).await.expect("history").is_empty());
    // A right one is recorded and goes back to the page.
    let res =
        post_form(&app, &session, &path, format!("csrf={csrf}&level=controlled&reason={}", percent("复核"))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(app.store().zone_history(building).await.expect("history").len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn a_wrong_group_form_shows_the_form_again_with_the_input() {
    let app = TestApp::new(Backend::Sqlite).await;
    let session = browser_login(&app, "commander").await;
    let page = get_page(&app, &session, "/groups").await;
    let csrf = crate::support::field(&page.text(), "csrf");
    let before = app.store().list_groups().await.expect("groups").len();
    // A code with a space: everything typed is kept, the message is beside the code.
    let body = format!(
        "csrf={csrf}&code=bad+code&name={}&name_en=Supplies&duty={}&sort=7",
        percent("物资组"),
        percent("配送")
    );
    let res = post_form(&app, &session, "/groups", body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
    let html = res.text();
    for kept in ["value=\"bad code\"", "value=\"物资组\"", "value=\"Supplies\"", "value=\"配送\"", "value=\"7\""] {
        assert!(html.contains(kept), "lost {kept}");
    }
    assert!(html.contains("id=\"f-code-error\""), "no message beside the code");
    assert_eq!(app.store().list_groups().await.expect("groups").len(), before, "a group was written");
    // Saving a group with its name emptied: that group's form keeps what was typed.
    let group = app.store().list_groups().await.expect("groups").remove(0);
    let body = format!("csrf={csrf}&name=+&name_en=Kept+English&duty={}&sort=3", percent("保留的职责"));
    let res = post_form(&app, &session, format!("/groups/{}", group.id), body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
    let html = res.text();
    assert!(html.contains("value=\"Kept English\"") && html.contains("value=\"保留的职责\""), "the input is lost");
    assert!(html.contains("id=\"f-name-error\""));
    assert_eq!(app.store().get_group(group.id).await.expect("group").name, group.name, "the group was changed");
    app.finish().await;
}

#[tokio::test]
async fn the_menu_offers_only_pages_the_role_can_open() {
    let app = TestApp::new(Backend::Sqlite).await;
    let coming = [catalogue().text(Lang::Zh, "app.coming"), catalogue().text(Lang::Zh, "nav.passes")];
    for role in Role::ALL {
        let session = browser_login(&app, role.code()).await;
        let home = get_page(&app, &session, "/").await;
        assert_eq!(home.status, StatusCode::OK, "{}", role.code());
        let html = home.text();
        let menu = &html[html.find("id=\"main-menu\"").expect("menu")..];
        let menu = &menu[..menu.find("</nav>").expect("menu end")];
        for word in coming {
            assert!(!menu.contains(word), "{}: the menu offers {word}", role.code());
        }
        let links = menu_links(&html);
        assert!(!links.is_empty(), "{}: an empty menu", role.code());
        for href in links {
            let res = get_page(&app, &session, &href).await;
            assert_eq!(res.status, StatusCode::OK, "{} cannot open {href} from its menu", role.code());
        }
    }
    app.finish().await;
}
