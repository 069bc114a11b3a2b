//! Searching residents by address: the same "3-1-1302" exists in several
//! compounds, so results name the compound, a compound's name (or part of it)
//! narrows the search, and "1302室" is a room, not a building.

use crate::support::{browser_login, get_page, id_number, TestApp};
use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::{Actor, Backend};
use serde_json::{json, Value};

/// `3号楼 1单元 1302` in two compounds, and `1301` next door in the first.
async fn two_compounds(app: &TestApp) -> (i64, i64, i64, i64) {
    let a = Actor::system("test");
    let s = app.store();
    let mut rooms = vec![];
    for compound in ["书香苑", "海月花园"] {
        let c = s.ensure_compound(&a, compound).await.expect("compound");
        let b = s.ensure_building(&a, c, "3号楼", Some(3), Some(18)).await.expect("building");
        let u = s.ensure_unit(&a, b, "1单元", Some(1)).await.expect("unit");
        rooms.push(s.ensure_household(&a, u, "1302", Some(13)).await.expect("household"));
        rooms.push(s.ensure_household(&a, u, "1301", Some(13)).await.expect("household"));
    }
    (rooms[0], rooms[1], rooms[2], rooms[3])
}

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let url = format!("/api/v1/residents?q={}", urlencoding(q));
    let res = app.get(&url, token).await;
    assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
    res.json()["items"].as_array().expect("items").clone()
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn names(items: &[Value]) -> Vec<&str> {
    let mut n: Vec<&str> = items.iter().filter_map(|r| r["name"].as_str()).collect();
    n.sort_unstable();
    n
}

async fn a_compound_narrows_an_address_search(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let (shuxiang_1302, shuxiang_1301, haiyue_1302, _) = two_compounds(&app).await;
    for (name, seq, household) in [("书甲", 21, shuxiang_1302), ("书乙", 23, shuxiang_1301), ("海丙", 25, haiyue_1302)]
    {
        let body = json!({"name": name, "id_number": id_number("350602", 1980, 5, 5, seq), "household": household});
        let res = app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    }

    let both = search(&app, &staff, "3-1-1302").await;
    assert_eq!(names(&both), vec!["书甲", "海丙"]);
    let compounds: Vec<&str> = both.iter().filter_map(|r| r["address"]["compound"].as_str()).collect();
    assert!(compounds.contains(&"书香苑") && compounds.contains(&"海月花园"), "results carry the compound: {both:?}");

    assert_eq!(names(&search(&app, &staff, "书香苑 3-1-1302").await), vec!["书甲"]);
    assert_eq!(names(&search(&app, &staff, "书香苑3号楼1单元1302室").await), vec!["书甲"]);
    assert_eq!(names(&search(&app, &staff, "书香 3-1-1302").await), vec!["书甲"], "part of the name");
    assert_eq!(names(&search(&app, &staff, "海月花园 3-1-1302").await), vec!["海丙"]);
    assert_eq!(names(&search(&app, &staff, "1302室").await), vec!["书甲", "海丙"], "a room, in any building");
    assert_eq!(names(&search(&app, &staff, "书香苑 1302室").await), vec!["书甲"]);
    assert!(search(&app, &staff, "书香苑 3-1-1303").await.is_empty());
    assert!(search(&app, &staff, "绿城 3-1-1302").await.is_empty(), "another compound's name finds nobody");

    // The page names the compound in each result.
    let session = browser_login(&app, "staff").await;
    let html = get_page(&app, &session, format!("/residents?q={}", urlencoding("3-1-1302"))).await.text();
    assert!(html.contains("书香苑 3号楼 1单元 1302") && html.contains("海月花园 3号楼 1单元 1302"), "{html}");
    app.finish().await;
}

#[tokio::test]
async fn a_compound_narrows_an_address_search_on_sqlite() {
    a_compound_narrows_an_address_search(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_compound_narrows_an_address_search_on_postgres() {
    a_compound_narrows_an_address_search(Backend::Postgres).await;
}
