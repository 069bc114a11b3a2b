//! Reconciliation through the API and the round page: refused rows whose ID
//! numbers a number cell destroyed are "to check" or "unresolved", never gone;
//! a partial sheet is compared within its buildings; confirming a round takes
//! the people who left out of the base numbers and sampling's expected counts,
//! each with a state that can be changed, and can be restored.

use crate::support::{field, get_page, id_number, post_form, Answer, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

/// A person of a sheet: name, ID number cell, building, room.
type Person = (String, String, &'static str, String);

fn sheet(people: &[Person]) -> Vec<u8> {
    let mut out = String::from("姓名,身份证号码,楼栋,单元,房号\n");
    for (name, id, building, room) in people {
        out.push_str(&format!("{name},{id},{building},1单元,{room}\n"));
    }
    out.into_bytes()
}

/// What a spreadsheet's number cell makes of an ID number.
fn number_cell(id: &str) -> String {
    format!("{}.{}E+17", &id[..1], &id[1..15])
}

/// `n` people per building of 1号楼…`buildings`号楼, born on distinct days.
fn district(buildings: usize, n: usize) -> Vec<Person> {
    let mut out = Vec::new();
    for b in 1..=buildings {
        for i in 0..n {
            let seq = u16::try_from(b * 100 + i).expect("fits");
            let id = id_number(
                "350602",
                1950 + i32::try_from(i % 50).expect("fits"),
                1 + u32::try_from(b).expect("fits"),
                1 + u32::try_from(i % 28).expect("fits"),
                seq,
            );
            let building: &'static str = Box::leak(format!("{b}号楼").into_boxed_str());
            out.push((format!("居民{b}-{i}"), id, building, format!("{}", 101 + i)));
        }
    }
    out
}

async fn import(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/census/imports?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .expect("request");
    app.send(req).await
}

async fn round(app: &TestApp, token: &str, query: &str, people: &[Person]) -> (i64, Value) {
    let res =
        import(app, token, &format!("{query}&compound={}&accept_valid=true", enc("海月花园")), sheet(people)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = res.json()["round_id"].as_i64().expect("round id");
    (id, res.json())
}

fn enc(s: &str) -> String {
    frontline_web::error::percent_encode(s)
}

async fn building_residents(app: &TestApp, token: &str, name: &str) -> i64 {
    let base = app.get("/api/v1/census/base", token).await.json();
    base["buildings"].as_array().expect("buildings").iter().find(|b| b["building"] == name).expect(name)["residents"]
        .as_i64()
        .expect("count")
}

fn people_of<'a>(rec: &'a Value, change: &str) -> Vec<&'a Value> {
    rec["people"].as_array().expect("people").iter().filter(|p| p["change"] == change).collect()
}

#[tokio::test]
async fn refused_rows_tied_to_one_resident_are_to_check_and_confirming_spares_them() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::new(backend).await;
        let lead = app.token(Role::GroupLead).await;
        let mut first = district(2, 10);
        // Two people sharing name, region and birth date: a refused row of theirs is ambiguous.
        let twin_a = id_number("350602", 1980, 5, 5, 901);
        let twin_b = id_number("350602", 1980, 5, 5, 902);
        first.push(("王伟".into(), twin_a.clone(), "1号楼", "201".into()));
        first.push(("王伟".into(), twin_b.clone(), "1号楼", "202".into()));
        let (_, _) = round(&app, &lead, "round=R1", &first).await;
        assert_eq!(building_residents(&app, &lead, "1号楼").await, 12);

        // A sampling round over both buildings expects everyone.
        let base = app.get("/api/v1/census/base", &lead).await.json();
        let bid = |name: &str| {
            base["buildings"].as_array().expect("b").iter().find(|b| b["building"] == name).expect(name)["building_id"]
                .clone()
        };
        let body = json!({"name": "早筛", "pool_size": 10, "buildings": [bid("1号楼"), bid("2号楼")]});
        let sampling = app.api(Method::POST, "/api/v1/sampling/rounds", Some(&lead), Some(body)).await;
        assert_eq!(sampling.status, StatusCode::CREATED, "{}", sampling.text());
        let sampling = sampling.json()["id"].as_i64().expect("sampling id");
        let coverage = format!("/api/v1/sampling/rounds/{sampling}/coverage");
        let expected = async |app: &TestApp| app.get(&coverage, &lead).await.json()["expected"].as_i64();
        assert_eq!(expected(&app).await, Some(22));

        // Round 2: three of 1号楼's rows have their IDs in number cells, and one 王伟's (the
        // other 王伟 has no row: either may be behind it); two of 2号楼 left.
        let mut second = first.clone();
        for p in second.iter_mut().take(3) {
            p.1 = number_cell(&p.1);
        }
        second.iter_mut().find(|p| p.1 == twin_a).expect("twin").1 = number_cell(&twin_a);
        second.retain(|p| p.0 != "居民2-8" && p.0 != "居民2-9" && p.1 != twin_b);
        let staff = app.token(Role::Staff).await;
        let dry =
            import(&app, &staff, &format!("round=R2&compound={}&dry_run=true", enc("海月花园")), sheet(&second)).await;
        let d = dry.json();
        assert_eq!(
            (d["gone"].as_u64(), d["to_check"].as_u64(), d["unresolved"].as_u64()),
            (Some(2), Some(3), Some(2)),
            "{d}"
        );
        assert_eq!(expected(&app).await, Some(22), "the preview takes nobody out");
        let (id, summary) = round(&app, &staff, "round=R2", &second).await;
        assert_eq!(summary["refused"]["id_precision_lost"], 4);
        assert_eq!(summary["departed"], 2, "committing confirms the round");
        let rec = app.get(&format!("/api/v1/census/rounds/{id}/reconcile"), &lead).await;
        assert_eq!(rec.status, StatusCode::OK);
        let rec = rec.json();
        let t = &rec["totals"];
        assert_eq!(
            (t["gone"].as_u64(), t["to_check"].as_u64(), t["unresolved"].as_u64()),
            (Some(2), Some(3), Some(2)),
            "{t}"
        );
        let gone: Vec<&str> = people_of(&rec, "gone").iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(gone.len(), 2);
        assert!(gone.iter().all(|n| n.starts_with("居民2-")), "{gone:?}");
        assert!(people_of(&rec, "to_check")
            .iter()
            .all(|p| p["row_number"].as_i64().is_some_and(|r| (2..=4).contains(&r))));
        assert!(people_of(&rec, "unresolved").iter().all(|p| p["name"] == "王伟"));
        assert_eq!(building_residents(&app, &lead, "1号楼").await, 12, "to check and unresolved stay");
        assert_eq!(building_residents(&app, &lead, "2号楼").await, 8);
        assert_eq!(expected(&app).await, Some(20), "people who left are not expected at sampling");
        let round_json = app.get(&format!("/api/v1/census/rounds/{id}"), &lead).await.json();
        assert!(round_json["confirmed_at"].as_i64().is_some() && round_json["confirmed_by"] == "staff", "{round_json}");
        let again = app.api(Method::POST, &format!("/api/v1/census/rounds/{id}/confirm"), Some(&staff), None).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "confirmed when committed");

        // Why they left can be changed, and a person restored; staff may not.
        let who = people_of(&rec, "gone")[0]["resident_id"].as_i64().expect("id");
        let path = format!("/api/v1/residents/{who}/departure");
        assert_eq!(
            app.api(Method::PUT, &path, Some(&staff), Some(json!({"state": "deceased"}))).await.status,
            StatusCode::FORBIDDEN
        );
        let bad = app.api(Method::PUT, &path, Some(&lead), Some(json!({"state": "vanished"}))).await;
        assert_eq!(
            (bad.status, bad.json()["error"]["fields"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("state"))
        );
        let set = app.api(Method::PUT, &path, Some(&lead), Some(json!({"state": "transferred"}))).await;
        assert_eq!((set.status, set.json()["state"].as_str()), (StatusCode::OK, Some("transferred")));
        let rec = app.get(&format!("/api/v1/census/rounds/{id}/reconcile"), &lead).await.json();
        let state = people_of(&rec, "gone").iter().find(|p| p["resident_id"] == who).map(|p| p["state"].clone());
        assert_eq!(state, Some(json!("transferred")));
        let restore = format!("/api/v1/residents/{who}/restore");
        assert_eq!(app.api(Method::POST, &restore, Some(&lead), None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(building_residents(&app, &lead, "2号楼").await, 9);
        assert_eq!(expected(&app).await, Some(21));
        assert_eq!(app.api(Method::POST, &restore, Some(&lead), None).await.status, StatusCode::NOT_FOUND);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_partial_sheet_is_compared_within_its_buildings() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let all = district(8, 6);
    round(&app, &staff, "round=R1", &all).await;
    // One building leader's sheet of 3号楼, one person short.
    let partial: Vec<Person> = all.iter().filter(|p| p.2 == "3号楼").skip(1).cloned().collect();
    let dry =
        import(&app, &staff, &format!("round=R2&compound={}&dry_run=true", enc("海月花园")), sheet(&partial)).await;
    let s = dry.json();
    assert_eq!((s["scope"].as_str(), s["buildings_outside"].as_u64()), (Some("buildings"), Some(7)), "{s}");
    assert_eq!(s["sheet_buildings"], json!(["3号楼"]));
    let (id, _) = round(&app, &staff, "round=R2", &partial).await;
    let rec = app.get(&format!("/api/v1/census/rounds/{id}/reconcile"), &staff).await.json();
    assert_eq!(rec["totals"]["gone"], 1, "{}", rec["totals"]);
    assert_eq!(rec["scope"], "buildings");
    assert_eq!(rec["scope_buildings"], json!(["3号楼"]));
    assert!(people_of(&rec, "gone").iter().all(|p| p["building"] == "3号楼"));

    // Chosen explicitly, the compound scope reports the rest; a scope that is neither is refused.
    let (whole, _) = round(&app, &staff, "round=R3&scope=compound", &partial).await;
    let rec = app.get(&format!("/api/v1/census/rounds/{whole}/reconcile"), &staff).await.json();
    assert_eq!(rec["totals"]["gone"], 42, "the 42 of the other buildings (3号楼's leaver was R2's)");
    let bad =
        import(&app, &staff, &format!("round=R4&compound={}&scope=street", enc("海月花园")), sheet(&partial)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["fields"][0]["field"], "scope");
    app.finish().await;
}

#[tokio::test]
async fn the_round_page_filters_and_pages_its_changes_and_confirms() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let all = district(3, 60);
    round(&app, &staff, "round=R1", &all).await;
    // 1号楼 all present; 2号楼 and 3号楼 keep 5 each: 110 gone.
    let first_rooms = ["101", "102", "103", "104", "105"];
    let kept: Vec<Person> =
        all.iter().filter(|p| p.2 == "1号楼" || first_rooms.contains(&p.3.as_str())).cloned().collect();
    let (id, _) = round(&app, &staff, "round=R2&scope=compound", &kept).await;
    let session = crate::support::browser_login(&app, "group_lead").await;
    let page = get_page(&app, &session, format!("/census/rounds/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("共 110 条") && html.contains("第 1 页，共 3 页"), "{html}");
    assert_eq!(html.matches("kind-gone").count(), 50, "a page of 50");
    let page3 = get_page(&app, &session, format!("/census/rounds/{id}?kind=gone&page=3")).await.text();
    assert_eq!(page3.matches("kind-gone").count(), 10);
    let b2 = get_page(&app, &session, format!("/census/rounds/{id}?kind=gone&building={}", enc("2号楼"))).await.text();
    assert!(b2.contains("共 55 条") && b2.contains("第 1 页，共 2 页"), "{b2}");
    // A building's cell, labelled for the phone's card layout.
    let label = frontline_domain::i18n::catalogue().text(frontline_domain::i18n::Lang::Zh, "buildings.building");
    let cells =
        |html: &str, b: &str| html.matches(&format!("<td class=\"nowrap\" data-label=\"{label}\">{b}</td>")).count();
    assert_eq!((cells(&b2, "2号楼"), cells(&b2, "3号楼")), (1 + 50, 1), "the counts row, then 2号楼's people only");
    let new_only = get_page(&app, &session, format!("/census/rounds/{id}?kind=new")).await.text();
    assert!(new_only.contains("共 0 条"));
    // Committed, the round was confirmed: the people who left are out of the base numbers.
    assert!(html.contains("已由staff") && !html.contains("确认本轮"), "{html}");
    assert_eq!(building_residents(&app, &staff, "2号楼").await, 5);
    let csrf = field(&html, "csrf");
    let who = app.get(&format!("/api/v1/census/rounds/{id}/reconcile"), &staff).await.json()["people"][0]
        ["resident_id"]
        .as_i64()
        .expect("resident");
    let state = post_form(
        &app,
        &session,
        format!("/census/residents/{who}/departure"),
        format!("csrf={csrf}&round={id}&state=deceased"),
    )
    .await;
    assert_eq!(state.status, StatusCode::SEE_OTHER, "{}", state.text());
    assert!(get_page(&app, &session, format!("/census/rounds/{id}?kind=gone"))
        .await
        .text()
        .contains("<option value=\"deceased\" selected>"));
    let resident = get_page(&app, &session, format!("/residents/{who}")).await.text();
    assert!(resident.contains("id=\"departure\"") && resident.contains("已移出底数：死亡"), "{resident}");
    // Restored from the resident's page, back to it.
    let restored = post_form(&app, &session, format!("/census/residents/{who}/restore"), format!("csrf={csrf}")).await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    assert_eq!(restored.header("location"), Some(format!("/residents/{who}")));
    assert!(!get_page(&app, &session, format!("/residents/{who}")).await.text().contains("id=\"departure\""));
    assert!(get_page(&app, &session, format!("/census/rounds/{id}?kind=gone")).await.text().contains("已恢复"));
    assert_eq!(building_residents(&app, &staff, "2号楼").await, 6);

    // A round committed before rounds were confirmed on import is confirmed from its page,
    // whose button names the consequence.
    frontline_store::testing::forget_confirmation(app.store(), id).await;
    let legacy = get_page(&app, &session, format!("/census/rounds/{id}")).await.text();
    assert!(legacy.contains("确认本轮：110人移出底数"), "{legacy}");
    let confirmed = post_form(&app, &session, format!("/census/rounds/{id}/confirm"), format!("csrf={csrf}")).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER, "{}", confirmed.text());
    let after = get_page(&app, &session, format!("/census/rounds/{id}?kind=gone")).await.text();
    assert!(after.contains("已由group_lead") && !after.contains("确认本轮"), "{after}");
    assert_eq!(building_residents(&app, &staff, "2号楼").await, 5, "the restored person had no row: they leave again");
    app.finish().await;
}
