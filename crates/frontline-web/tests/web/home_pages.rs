//! Home pages by role: the confirmed-case alert on the overview, building and
//! resident pages for the roles that should know (not the checkpoint, and a
//! volunteer only for their team's buildings), and every role's home page
//! without an empty card or heading.

use crate::sampling::lab_work::fixture;
use crate::support::{browser_login, get_page, set_team, TestApp};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::json;

/// Whether a page shows the confirmed-case alert.
fn alerted(html: &str) -> bool {
    html.contains("id=\"positive-alert\"")
}

#[tokio::test]
async fn a_confirmed_positive_is_an_alert_for_those_who_should_know() {
    let f = fixture(Backend::Sqlite).await;
    f.result("AA0001", "abnormal").await;
    let (case, code) = f.pooled[0].clone();
    let other = f.pooled[1].0;
    let res = f
        .app
        .api(
            axum::http::Method::POST,
            "/api/v1/sampling/retests",
            Some(&f.lab),
            Some(json!({"round": f.round, "results": [{"resident_code": code, "result": "positive"}]})),
        )
        .await;
    assert_eq!(res.json()[0]["status"], "confirmed", "{}", res.text());
    assert_eq!(res.json()[0]["name"], "王*明", "the lab's answer names the person, masked");
    for role in [Role::Commander, Role::Deputy, Role::GroupLead, Role::Staff] {
        let s = browser_login(&f.app, role.code()).await;
        let home = get_page(&f.app, &s, "/").await.text();
        assert!(alerted(&home) && home.contains("王小明"), "{role:?} home: {home}");
        let building = get_page(&f.app, &s, format!("/buildings/{}", f.building)).await.text();
        assert!(alerted(&building), "{role:?} building");
        assert!(alerted(&get_page(&f.app, &s, format!("/residents/{case}")).await.text()), "{role:?} resident");
        assert!(!alerted(&get_page(&f.app, &s, format!("/residents/{other}")).await.text()), "{role:?} other");
    }
    for role in [Role::Checkpoint, Role::Lab] {
        let s = browser_login(&f.app, role.code()).await;
        assert!(!alerted(&get_page(&f.app, &s, "/").await.text()), "{role:?}");
    }
    // A volunteer: not without a team, and then only for their team's buildings.
    let volunteer = browser_login(&f.app, "volunteer").await;
    assert!(!alerted(&get_page(&f.app, &volunteer, "/").await.text()), "no team, no buildings");
    crate::support::sweeps(&f.app, "volunteer", f.round).await;
    let home = get_page(&f.app, &volunteer, "/").await.text();
    assert!(alerted(&home), "their team's building: {home}");
    assert!(alerted(&get_page(&f.app, &volunteer, format!("/buildings/{}", f.building)).await.text()));
    set_team(&f.app, "volunteer", Some("别的小队")).await;
    assert!(!alerted(&get_page(&f.app, &volunteer, "/").await.text()), "another team's");
    f.app.finish().await;
}

/// Every number element with nothing in it, and every heading without text.
fn empty_parts(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in html.match_indices("class=\"n") {
        let rest = &html[i..];
        let inner = rest.split_once('>').map(|(_, r)| r.split("</div>").next().unwrap_or("")).unwrap_or("");
        if inner.trim().is_empty() {
            found.push(rest.chars().take(80).collect());
        }
    }
    for level in ["h1", "h2", "h3"] {
        for (i, _) in html.match_indices(&format!("<{level}")) {
            let rest = &html[i..];
            let inner =
                rest.split_once('>').map(|(_, r)| r.split(&format!("</{level}>")).next().unwrap_or("")).unwrap_or("");
            let text: String = strip_tags(inner);
            if text.trim().is_empty() {
                found.push(rest.chars().take(80).collect());
            }
        }
    }
    // A card holding no number at all.
    for (i, _) in html.match_indices("<div class=\"card\">") {
        let rest = &html[i + 18..];
        if !rest.trim_start().starts_with("<div class=\"n") {
            found.push(rest.chars().take(80).collect());
        }
    }
    found
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_emptiness_check_finds_what_it_looks_for() {
    assert_eq!(empty_parts("<div class=\"card\"><div class=\"n\"></div><div class=\"l\">x</div></div>").len(), 1);
    assert_eq!(empty_parts("<h1> </h1><h2><span></span></h2>").len(), 2);
    assert_eq!(empty_parts("<div class=\"card\"><a href=\"/\">x</a></div>").len(), 1);
    assert!(empty_parts("<h1>区</h1><div class=\"card\"><div class=\"n\">3</div></div>").is_empty());
}

#[tokio::test]
async fn no_role_has_an_empty_card_or_heading_at_home() {
    for with_data in [false, true] {
        let app = if with_data {
            let f = fixture(Backend::Sqlite).await;
            f.result("AA0001", "abnormal").await;
            let commander = f.app.token(Role::Commander).await;
            let zone = json!({"level": "sealed", "reason": "密接"});
            let path = format!("/api/v1/buildings/{}/zones", f.building);
            let res = f.app.api(axum::http::Method::POST, &path, Some(&commander), Some(zone)).await;
            assert!(res.status.is_success(), "{}", res.text());
            f.app
        } else {
            TestApp::new(Backend::Sqlite).await
        };
        for role in Role::ALL {
            let s = browser_login(&app, role.code()).await;
            let home = get_page(&app, &s, "/").await;
            assert_eq!(home.status, axum::http::StatusCode::OK, "{role:?}");
            let page = home.text();
            // The page's own content: the menu is the shell's.
            let html = page.split("<main").nth(1).and_then(|m| m.split("</main>").next()).expect("main").to_string();
            let empty = empty_parts(&html);
            assert!(empty.is_empty(), "{role:?} (data: {with_data}): {empty:?}");
            assert!(!html.contains("即将上线") && !html.contains("敬请期待"), "{role:?}: nothing is 'coming soon'");
            match role {
                Role::Lab => assert!(html.contains("id=\"lab-cards\"") && html.contains("/lab/tubes"), "{html}"),
                Role::Checkpoint if with_data => assert!(html.contains("data-zone=\"sealed\""), "{html}"),
                Role::Checkpoint => assert!(html.contains("id=\"no-zoned\""), "{html}"),
                _ => {}
            }
        }
        if with_data {
            let s = browser_login(&app, "lab").await;
            let html = get_page(&app, &s, "/").await.text();
            let cards = html.split("id=\"lab-cards\"").nth(1).expect("cards");
            assert!(cards.contains("<div class=\"n\">1</div>"), "one tube awaiting, one today: {cards}");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn command_is_told_of_overdue_tubes_at_home() {
    let f = fixture(Backend::Sqlite).await;
    let commander = browser_login(&f.app, "commander").await;
    let home = get_page(&f.app, &commander, "/").await.text();
    assert!(home.contains("id=\"overdue-alert\"") && home.contains("1 管检测结果已超时"), "{home}");
    let staff = browser_login(&f.app, "staff").await;
    assert!(!get_page(&f.app, &staff, "/").await.text().contains("overdue-alert"), "not the lab's business of staff");
    f.result("AA0001", "negative").await;
    assert!(!get_page(&f.app, &commander, "/").await.text().contains("overdue-alert"), "none once the result is in");
    f.app.finish().await;
}
