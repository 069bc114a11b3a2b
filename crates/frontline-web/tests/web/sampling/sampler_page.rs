//! The sampler's page: one unit at a time, floors upwards from the floor the
//! sweep starts at, special needs beside names (bedridden stands out), the
//! tube's fill and a full tube cleared from the form (with and without
//! script), home retests from the page; and the household's phone on the
//! missed list for the roles that may see phones.

use super::fill::round_of;
use crate::support::{browser_login, field, get_page, post_form, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::audit::Actor;
use frontline_store::Backend;
use serde_json::{json, Value};

/// A building of two units: 1单元 with rooms on floors 2, 9 and 13, 2单元 with
/// one on floor 3. Returns (building, unit 2, households by room).
async fn tower(app: &TestApp) -> (i64, i64, [i64; 4]) {
    let a = Actor::system("test");
    let s = app.store();
    let c = s.ensure_compound(&a, "海月花园").await.expect("compound");
    let b = s.ensure_building(&a, c, "3号楼", Some(3), Some(18)).await.expect("building");
    let u1 = s.ensure_unit(&a, b, "1单元", Some(1)).await.expect("unit");
    let u2 = s.ensure_unit(&a, b, "2单元", Some(2)).await.expect("unit");
    let h1301 = s.ensure_household(&a, u1, "1301", Some(13)).await.expect("household");
    let h0201 = s.ensure_household(&a, u1, "0201", Some(2)).await.expect("household");
    let h0901 = s.ensure_household(&a, u1, "0901", Some(9)).await.expect("household");
    let h0301 = s.ensure_household(&a, u2, "0301", Some(3)).await.expect("household");
    (b, u2, [h1301, h0201, h0901, h0301])
}

/// A resident through the API, with optional phone and needs: (id, sampling code).
async fn person(app: &TestApp, token: &str, name: &str, seq: u16, household: i64, extra: Value) -> (i64, String) {
    let mut body = json!({"name": name, "id_number": crate::support::id_number("350602", 1980, 5, 5, seq), "household": household});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let res = app.api(Method::POST, "/api/v1/residents", Some(token), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    (v["id"].as_i64().expect("id"), v["sampling_code"].as_str().expect("code").to_string())
}

fn at(page: &str, needle: &str) -> usize {
    page.find(needle).unwrap_or_else(|| panic!("{needle} is not on the page"))
}

#[tokio::test]
async fn the_sampler_sweeps_one_unit_upwards_from_a_chosen_floor() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, unit2, [h13, h2, h9, h3]) = tower(&app).await;
    person(&app, &staff, "高层甲", 81, h13, json!({})).await;
    person(&app, &staff, "低层乙", 83, h2, json!({"special_needs": ["bedridden", "dialysis"]})).await;
    person(&app, &staff, "中层丙", 85, h9, json!({})).await;
    person(&app, &staff, "二单元丁", 87, h3, json!({})).await;
    let round = round_of(&app, building, 10).await;
    let session = browser_login(&app, "group_lead").await;
    let scan = format!("/sampling/rounds/{round}/scan?building={building}");

    let page = get_page(&app, &session, &scan).await.text();
    assert!(!page.contains("二单元丁"), "one unit at a time: the first by default");
    assert!(at(&page, "2 层") < at(&page, "9 层") && at(&page, "9 层") < at(&page, "13 层"), "floors go up");
    assert!(at(&page, "低层乙") < at(&page, "中层丙") && at(&page, "中层丙") < at(&page, "高层甲"));
    assert!(page.contains("id=\"scan-box\""), "the scan box is the sticky block");
    // Bedridden means sampling at the bedside: it stands out beside the name, other needs are tags.
    let bed = at(&page, "卧床·入户采样");
    assert!(bed > at(&page, "低层乙") && bed < at(&page, "中层丙"), "beside 低层乙");
    assert!(page.contains("class=\"person bedridden\""));
    assert!(page[at(&page, "低层乙")..at(&page, "中层丙")].contains("透析"));

    let page = get_page(&app, &session, format!("{scan}&from=9")).await.text();
    assert!(!page.contains("低层乙") && !page.contains("data-floor=\"2\""), "below the starting floor is left out");
    assert!(at(&page, "中层丙") < at(&page, "高层甲"));
    assert!(page.contains("<option value=\"9\" selected>"), "the choice is kept");

    let page = get_page(&app, &session, format!("{scan}&unit={unit2}")).await.text();
    assert!(page.contains("二单元丁") && !page.contains("高层甲") && !page.contains("低层乙"));
    // The scan form carries the unit and floor, so the page comes back to the same part.
    assert_eq!(field(&page, "unit"), unit2.to_string());
    app.finish().await;
}

/// Posts the page's scan form; with `json`, as the page's script does.
async fn post_scan(app: &TestApp, session: &str, round: i64, form: String, json: bool) -> crate::support::Answer {
    let mut req = Request::post(format!("/sampling/rounds/{round}/scan"))
        .header(header::COOKIE, format!("frontline_session={session}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if json {
        req = req.header(header::ACCEPT, "application/json");
    }
    app.send(req.body(Body::from(form)).expect("req")).await
}

#[tokio::test]
async fn a_full_tube_is_cleared_from_the_page_with_and_without_script() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, _, [h13, h2, h9, _]) = tower(&app).await;
    let mut codes = Vec::new();
    for (i, h) in [h13, h13, h2, h9, h9, h2, h2].into_iter().enumerate() {
        codes.push(person(&app, &staff, &format!("住户{i}"), 90 + i as u16, h, json!({})).await.1);
    }
    let round = round_of(&app, building, 3).await;
    let session = browser_login(&app, "group_lead").await;
    let page = get_page(&app, &session, format!("/sampling/rounds/{round}/scan?building={building}")).await.text();
    let csrf = field(&page, "csrf");
    let form = |key: &str, tube: &str, code: &str| {
        format!("csrf={csrf}&key={key}&building={building}&tube={tube}&code={code}")
    };

    // Without script: the page comes back with the tube and its fill, until it is full.
    for (i, code) in codes[..2].iter().enumerate() {
        let res =
            post_form(&app, &session, format!("/sampling/rounds/{round}/scan"), form(&format!("a{i}"), "ZZ5101", code))
                .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let back = res.header("location").expect("back");
        assert!(back.contains("tube=ZZ5101") && !back.contains("full="), "{back}");
        let page = get_page(&app, &session, back).await.text();
        assert!(page.contains(&format!(">{}/3<", i + 1)), "the fill is shown: {}/3", i + 1);
        assert!(page.contains("name=\"tube\" value=\"ZZ5101\""));
    }
    let res =
        post_form(&app, &session, format!("/sampling/rounds/{round}/scan"), form("a2", "ZZ5101", &codes[2])).await;
    let back = res.header("location").expect("back");
    assert!(back.contains("full=ZZ5101") && !back.contains("tube="), "{back}");
    let page = get_page(&app, &session, back).await.text();
    assert!(page.contains("本管已满，请扫新试管") && page.contains("tube-done"), "the sampler is told");
    assert!(
        page.contains("name=\"tube\" value=\"\" required autocomplete=\"off\" autofocus"),
        "an empty tube field, focused"
    );
    assert!(page.contains("id=\"seal-form\" hidden"), "nothing left to seal");
    assert!(app.store().get_tube("ZZ5101").await.expect("tube").sealed);

    // With script: the answer says what to show and whether the tube is done.
    let answer = |res: crate::support::Answer| {
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        res.json()
    };
    let one = answer(post_scan(&app, &session, round, form("b0", "ZZ5102", &codes[3]), true).await);
    assert_eq!(
        (one["ok"].as_bool(), one["fill"].as_str(), one["done"].as_bool()),
        (Some(true), Some("1/3"), Some(false))
    );
    assert!(one["message"].as_str().is_some_and(|m| m.contains("住户3")), "{one}");
    assert_ne!(one["key"].as_str(), Some("b0"), "a fresh key for the next scan");
    answer(post_scan(&app, &session, round, form("b1", "ZZ5102", &codes[4]), true).await);
    let full = answer(post_scan(&app, &session, round, form("b2", "ZZ5102", &codes[5]), true).await);
    assert_eq!((full["ok"].as_bool(), full["done"].as_bool(), full["fill"].as_str()), (Some(true), Some(true), None));
    assert!(full["message"].as_str().is_some_and(|m| m.contains("本管已满，请扫新试管")), "{full}");
    // A scan into the full tube is refused, and the tube is cleared all the same.
    let refused = answer(post_scan(&app, &session, round, form("b3", "ZZ5102", &codes[6]), true).await);
    assert_eq!(
        (refused["status"].as_str(), refused["ok"].as_bool(), refused["done"].as_bool()),
        (Some("tube_full"), Some(false), Some(true))
    );
    app.finish().await;
}

#[tokio::test]
async fn a_home_retest_is_scanned_from_the_page_and_reported_by_the_lab() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lab = app.token(Role::Lab).await;
    let (building, _, [h13, ..]) = tower(&app).await;
    let (a, ca) = person(&app, &staff, "复核甲", 101, h13, json!({})).await;
    let (_, cb) = person(&app, &staff, "同管乙", 103, h13, json!({})).await;
    let round = round_of(&app, building, 5).await;
    let session = browser_login(&app, "group_lead").await;
    let page = get_page(&app, &session, format!("/sampling/rounds/{round}/scan?building={building}")).await.text();
    let csrf = field(&page, "csrf");
    for (key, code) in [("p1", &ca), ("p2", &cb)] {
        let body = format!("csrf={csrf}&key={key}&building={building}&tube=ZZ6101&code={code}");
        post_form(&app, &session, format!("/sampling/rounds/{round}/scan"), body).await;
    }
    let sheet = json!({"results": [{"tube": "ZZ6101", "result": "abnormal"}]});
    app.api(Method::POST, "/api/v1/sampling/results", Some(&lab), Some(sheet)).await;

    let retest =
        get_page(&app, &session, format!("/sampling/rounds/{round}/scan?building={building}&retest=1")).await.text();
    assert!(retest.contains("复核单采") && retest.contains("name=\"retest\" value=\"1\""), "retest mode");
    assert_eq!(retest.matches("class=\"tag retest-due\"").count(), 2, "both members of the pool are due");
    let body = format!("csrf={csrf}&key=r1&building={building}&retest=1&tube=ZZR601&code={ca}");
    let res = post_form(&app, &session, format!("/sampling/rounds/{round}/scan"), body).await;
    let back = res.header("location").expect("back");
    assert!(back.contains("status=accepted") && back.contains("full=ZZR601") && back.contains("retest=1"), "{back}");
    let tube = app.store().get_tube("ZZR601").await.expect("tube");
    assert_eq!((tube.pool_size, tube.members, tube.sealed), (1, 1, true));
    let retest =
        get_page(&app, &session, format!("/sampling/rounds/{round}/scan?building={building}&retest=1")).await.text();
    assert_eq!(retest.matches("class=\"tag retest-due\"").count(), 1, "复核甲's retest is taken");

    // The lab's result sheet names the retest tube like any other.
    let sheet = "样本编号,检测结果\nZZR601,阴性\n";
    let req = Request::post("/api/v1/sampling/results/import")
        .header(header::AUTHORIZATION, format!("Bearer {lab}"))
        .body(Body::from(sheet))
        .expect("request");
    let res = app.send(req).await;
    assert_eq!(res.json()["recorded"], 1, "{}", res.text());
    assert_eq!(app.store().get_tube("ZZR601").await.expect("tube").result.as_deref(), Some("negative"));
    let pending: Vec<i64> = app.store().pending_retests(round).await.expect("pending").iter().map(|r| r.0).collect();
    assert!(!pending.contains(&a) && pending.len() == 1, "复核甲 is released, 同管乙 still waits");
    let retest =
        get_page(&app, &session, format!("/sampling/rounds/{round}/scan?building={building}&retest=1")).await.text();
    assert_eq!(retest.matches("class=\"tag retest-due\"").count(), 1, "still only 同管乙");
    app.finish().await;
}

#[tokio::test]
async fn the_missed_list_shows_the_household_phone_masked_to_office_roles_only() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, _, [h13, h2, ..]) = tower(&app).await;
    person(&app, &staff, "有电话", 111, h13, json!({"phone": "13800000009"})).await;
    person(&app, &staff, "同户无电话", 113, h13, json!({})).await;
    person(&app, &staff, "无人电话", 115, h2, json!({})).await;
    let round = round_of(&app, building, 10).await;
    crate::support::sweeps(&app, "volunteer", round).await;

    let session = browser_login(&app, "staff").await;
    let page = get_page(&app, &session, format!("/sampling/rounds/{round}/missed")).await.text();
    assert!(page.contains("联系电话"), "a phone column for staff");
    assert!(!page.contains("13800000009"), "never in full");
    assert_eq!(page.matches("138****0009").count(), 2, "the person's own, and their household's for the other");
    let listed = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &staff).await.json();
    let phones: Vec<Value> = listed.as_array().expect("list").iter().map(|m| m["phone"].clone()).collect();
    assert!(phones.contains(&json!("138****0009")) && phones.contains(&Value::Null), "{listed}");
    let export = get_page(&app, &session, format!("/sampling/rounds/{round}/missed.xlsx")).await;
    let sheet = frontline_import::decode(&export.body, Some("m.xlsx"), &Default::default()).expect("xlsx");
    let phone = sheet.rows[0].iter().position(|h| h == "联系电话").expect("a phone column in the export");
    assert!(sheet.rows[1..].iter().all(|r| r.get(phone).is_none_or(|p| p.is_empty() || p == "138****0009")), "masked");

    let volunteer = app.token(Role::Volunteer).await;
    let session = browser_login(&app, "volunteer").await;
    let page = get_page(&app, &session, format!("/sampling/rounds/{round}/missed")).await.text();
    assert!(page.contains("有电话"), "the volunteer's list");
    assert!(!page.contains("联系电话") && !page.contains("0009"), "no phone for a volunteer");
    let listed = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &volunteer).await.json();
    assert!(listed.as_array().expect("list").iter().all(|m| m["phone"].is_null()), "{listed}");
    let export = get_page(&app, &session, format!("/sampling/rounds/{round}/missed.xlsx")).await;
    let sheet = frontline_import::decode(&export.body, Some("m.xlsx"), &Default::default()).expect("xlsx");
    assert!(sheet.rows.len() > 1 && !sheet.rows[0].iter().any(|h| h == "联系电话"), "no phone column");
    app.finish().await;
}
