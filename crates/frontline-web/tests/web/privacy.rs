//! Personal data on a need-to-know basis: each role gets the resident fields
//! of its table in the code and no more, masks cannot be undone by a field
//! beside them or by searching, census answers go through the same masks, and
//! a volunteer's work reaches their team's buildings only.

use std::collections::BTreeSet;

use crate::support::{browser_login, get_page, id_number, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_domain::privacy::{Disclosure, ResidentField};
use frontline_store::audit::AuditFilter;
use frontline_store::{Actor, Backend};
use frontline_web::WebConfig;
use serde_json::{json, Value};

const HONG_PHONE: &str = "13217926625";
const HONG_NEW_PHONE: &str = "13900001111";
const CAI_PHONE: &str = "13800005678";

fn hong_id() -> String {
    id_number("350623", 1999, 11, 23, 216)
}

fn cai_id() -> String {
    id_number("350602", 1985, 2, 3, 44)
}

fn sheet(hong_phone: &str) -> Vec<u8> {
    format!(
        "姓名,身份证号,手机号,出生日期,楼栋,单元,房号\n\
         洪华,{},{hong_phone},1999-11-23,3号楼,1单元,1301\n\
         蔡敏,{},{CAI_PHONE},1985-02-03,5号楼,2单元,201\n",
        hong_id(),
        cai_id()
    )
    .into_bytes()
}

/// Every cell of every sheet of an XLSX file, as text.
fn xlsx_cells(bytes: &[u8]) -> Vec<String> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).expect("sheet");
        out.extend(range.rows().flatten().map(ToString::to_string));
    }
    out
}

async fn import(app: &TestApp, token: &str, round: &str, body: Vec<u8>) -> i64 {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/census/imports?round={round}&compound=%E6%B5%B7%E6%9C%88&file_name=c.csv"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .expect("request");
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["round_id"].as_i64().expect("round id")
}

/// Two census rounds (洪华 changes phone in the second) and a sampling round
/// whose 3号楼 is team 一队's: (census round 2, sampling round, 洪华, 蔡敏, 3号楼, 5号楼).
struct World {
    census_round: i64,
    sampling_round: i64,
    hong: i64,
    cai: i64,
    b3: i64,
}

async fn world(app: &TestApp) -> World {
    let lead = app.token(Role::GroupLead).await;
    import(app, &lead, "R1", sheet(HONG_PHONE)).await;
    let census_round = import(app, &lead, "R2", sheet(HONG_NEW_PHONE)).await;
    let all = app.store().list_residents(&Default::default(), None, 10).await.expect("residents").items;
    let find = |name: &str| all.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("{name} imported"));
    let (hong, cai) = (find("洪华"), find("蔡敏"));
    let (b3, b5) = (hong.building_id.expect("building"), cai.building_id.expect("building"));
    let created = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "S1", "pool_size": 10, "buildings": [b3, b5],
                "teams": [{"building": b3, "team": "一队"}, {"building": b5, "team": "二队"}]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let sampling_round = created.json()["id"].as_i64().expect("id");
    World { census_round, sampling_round, hong: hong.id, cai: cai.id, b3 }
}

async fn join_team(app: &TestApp, username: &str, team: &str) {
    let lead = app.token(Role::GroupLead).await;
    let res =
        app.api(Method::PUT, &format!("/api/v1/users/{username}/team"), Some(&lead), Some(json!({"team": team}))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["team"], team);
}

/// The keys of a resident object.
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

/// The table in the code: the keys `who` may get.
fn table(who: Disclosure) -> BTreeSet<String> {
    who.resident_fields().iter().map(|f| f.key().to_string()).collect()
}

/// Every string anywhere in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Whether any string in `v` gives away a hidden part of 洪华's numbers or birth date.
fn leaks_hong(v: &Value) -> Option<String> {
    let mut all = Vec::new();
    strings(v, &mut all);
    let id = hong_id();
    all.into_iter().find(|s| {
        s.contains(&id)
            || s.contains(HONG_PHONE)
            || s.contains(HONG_NEW_PHONE)
            || s.contains("1999-11-23")
            || s.contains("19991123")
    })
}

async fn field_matrix(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = world(&app).await;
    join_team(&app, "volunteer", "一队").await;
    for role in Role::ALL {
        let token = app.token(role).await;
        let masked = Disclosure::masked(role);
        // The list.
        let list = app.get("/api/v1/residents", &token).await;
        if masked.resident_fields().is_empty() {
            assert_eq!(list.status, StatusCode::FORBIDDEN, "{role:?} lists residents");
        } else {
            assert_eq!(list.status, StatusCode::OK, "{role:?}: {}", list.text());
            let items = list.json()["items"].as_array().expect("items").clone();
            assert!(!items.is_empty(), "{role:?} sees somebody");
            for item in &items {
                assert_eq!(keys(item), table(masked), "{role:?} GET /api/v1/residents");
                assert!(leaks_hong(item).is_none(), "{role:?} list leaks {:?}", leaks_hong(item));
            }
        }
        // One resident, masked and revealed.
        let one = app.get(&format!("/api/v1/residents/{}", w.hong), &token).await;
        if masked.resident_fields().is_empty() {
            assert_eq!(one.status, StatusCode::FORBIDDEN, "{role:?}");
        } else {
            assert_eq!(one.status, StatusCode::OK, "{role:?}: {}", one.text());
            assert_eq!(keys(&one.json()), table(masked), "{role:?} GET /api/v1/residents/{{id}}");
            assert!(leaks_hong(&one.json()).is_none(), "{role:?}");
        }
        let revealed = app.get(&format!("/api/v1/residents/{}?reveal=true", w.hong), &token).await;
        match Disclosure::revealed(role) {
            Some(who) => {
                assert_eq!(revealed.status, StatusCode::OK, "{role:?}");
                assert_eq!(keys(&revealed.json()), table(who), "{role:?} GET /api/v1/residents/{{id}}?reveal=true");
                assert_eq!(revealed.json()["birth_date"], "1999-11-23");
            }
            None => assert_eq!(revealed.status, StatusCode::FORBIDDEN, "{role:?} reveals"),
        }
        // The census trace and the reconciliation: raw cells and phones masked.
        let trace = app.get(&format!("/api/v1/residents/{}/trace", w.hong), &token).await;
        if trace.status == StatusCode::OK {
            let rows = trace.json();
            assert_eq!(rows.as_array().map(Vec::len), Some(2), "{role:?}: both rounds' rows");
            assert!(leaks_hong(&rows).is_none(), "{role:?} trace leaks {:?}", leaks_hong(&rows));
        }
        let rec = app.get(&format!("/api/v1/census/rounds/{}/reconcile", w.census_round), &token).await;
        if rec.status == StatusCode::OK {
            let rec = rec.json();
            assert!(leaks_hong(&rec).is_none(), "{role:?} reconcile leaks {:?}", leaks_hong(&rec));
            let change = rec["people"].as_array().expect("people").iter().find(|p| p["change"] == "phone_changed");
            let change = change.expect("the phone change is listed");
            assert_eq!(change["old_phone"], "132****6625", "{role:?}");
        }
        // The missed list carries names and rooms, never ID numbers; the
        // household's phone, masked, only for readers whose view has phones.
        let missed = app.get(&format!("/api/v1/sampling/rounds/{}/missed", w.sampling_round), &token).await;
        if missed.status == StatusCode::OK {
            for m in missed.json().as_array().expect("list") {
                let k = keys(m);
                for forbidden in ["id_number", "birth_date", "sampling_code"] {
                    assert!(!k.contains(forbidden), "{role:?} missed list carries {forbidden}");
                }
                if k.contains("phone") {
                    assert!(masked.shows(ResidentField::Phone), "{role:?} missed list carries phone");
                }
                assert!(leaks_hong(m).is_none(), "{role:?} missed list leaks {:?}", leaks_hong(m));
            }
            let phones = missed.json().as_array().expect("list").iter().filter(|m| m["phone"].is_string()).count();
            assert_eq!(phones > 0, masked.shows(ResidentField::Phone), "{role:?}: phones on the missed list");
        }
    }
    app.finish().await;
}

#[tokio::test]
async fn field_matrix_sqlite() {
    field_matrix(Backend::Sqlite).await;
}

#[tokio::test]
async fn field_matrix_postgres() {
    field_matrix(Backend::Postgres).await;
}

#[tokio::test]
async fn census_answers_reveal_only_with_the_permission_and_an_audit_entry() {
    let app = TestApp::new(Backend::Sqlite).await;
    let w = world(&app).await;
    let staff = app.token(Role::Staff).await;
    let commander = app.token(Role::Commander).await;
    for path in [
        format!("/api/v1/residents/{}/trace?reveal=true", w.hong),
        format!("/api/v1/census/rounds/{}/reconcile?reveal=true", w.census_round),
    ] {
        assert_eq!(app.get(&path, &staff).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let reveals = |app: &TestApp| {
        let store = app.store().clone();
        async move {
            let filter = AuditFilter { action: Some("census.reveal".into()), ..Default::default() };
            store.list_audit(&filter, None, 100).await.expect("audit").items.len()
        }
    };
    let before = reveals(&app).await;
    let rec = app.get(&format!("/api/v1/census/rounds/{}/reconcile?reveal=true", w.census_round), &commander).await;
    assert_eq!(rec.status, StatusCode::OK);
    assert!(rec.text().contains(HONG_PHONE) && rec.text().contains(HONG_NEW_PHONE));
    assert_eq!(reveals(&app).await, before + 1, "the reveal is audited");
    let trace = app.get(&format!("/api/v1/residents/{}/trace?reveal=true", w.hong), &commander).await;
    assert!(trace.text().contains(&hong_id()) && trace.text().contains("1999-11-23"));

    // The XLSX export: masked for staff, revealed (and audited) for the commander.
    let staff_session = browser_login(&app, "staff").await;
    let path = format!("/census/rounds/{}/reconcile.xlsx", w.census_round);
    let masked = get_page(&app, &staff_session, &path).await;
    let text = xlsx_cells(&masked.body);
    assert!(text.iter().any(|c| c == "132****6625"), "{text:?}");
    assert!(!text.iter().any(|c| c.contains(HONG_PHONE) || c.contains(HONG_NEW_PHONE)), "{text:?}");
    assert_eq!(get_page(&app, &staff_session, format!("{path}?reveal=1")).await.status, StatusCode::FORBIDDEN);
    let boss = browser_login(&app, "commander").await;
    let before = reveals(&app).await;
    let full = get_page(&app, &boss, format!("{path}?reveal=1")).await;
    assert!(xlsx_cells(&full.body).iter().any(|c| c == HONG_PHONE));
    assert_eq!(reveals(&app).await, before + 1);
    app.finish().await;
}

#[tokio::test]
async fn a_masked_id_cannot_be_rebuilt_and_search_is_no_phone_oracle() {
    let config = WebConfig { number_searches_per_minute: 5, ..WebConfig::default() };
    let app = TestApp::with_config(Backend::Sqlite, config).await;
    let w = world(&app).await;
    let staff = app.token(Role::Staff).await;

    // No birth date beside a masked number, anywhere in the staff's answers.
    let list = app.get("/api/v1/residents", &staff).await.json();
    for item in list["items"].as_array().expect("items") {
        assert!(item.get("birth_date").is_none(), "{item}");
        assert!(item["id_number"].as_str().is_some_and(|n| n.contains('*')), "{item}");
    }

    // The attack: narrow to the household, then grow the tail digit by digit.
    let household = app.get(&format!("/api/v1/residents/{}", w.hong), &staff).await.json()["household"].clone();
    for tail in ["7926625", "17926625", "13217926625", "625", "25"] {
        let res = app.get(&format!("/api/v1/residents?household={household}&q={tail}"), &staff).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "q={tail}: {}", res.text());
        assert_eq!(res.json()["error"]["fields"][0]["field"], "q", "{}", res.text());
    }
    // 5 and 6 characters are an ID number's tail: they never match a phone.
    let hong_phone_now = HONG_NEW_PHONE;
    for tail in [&hong_phone_now[6..], &hong_phone_now[5..]] {
        let res = app.get(&format!("/api/v1/residents?household={household}&q={tail}"), &staff).await;
        assert_eq!(res.status, StatusCode::OK, "q={tail}");
        assert_eq!(res.json()["items"], json!([]), "q={tail} matched a phone");
    }
    // The last 4 digits, which the mask shows anyway, find them.
    let found = app.get("/api/v1/residents?q=6625", &staff).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.json()["items"], json!([]), "6625 was 洪华's old phone; the current one ends 1111");
    let found = app.get("/api/v1/residents?q=1111", &staff).await.json();
    assert_eq!(found["items"][0]["name"], "洪华");
    // An ID tail of 4 to 6 characters works; longer does not.
    let id = hong_id();
    let by_id = app.get(&format!("/api/v1/residents?q={}", &id[12..]), &staff).await.json();
    assert_eq!(by_id["items"][0]["name"], "洪华");
    assert_eq!(
        app.get(&format!("/api/v1/residents?q={}", &id[10..]), &staff).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Number searches are counted per account: the fourth within a minute is refused.
    let limited = app.get("/api/v1/residents?q=5678", &staff).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text());
    assert!(limited.header("retry-after").is_some());
    // ... while searching by name goes on.
    assert_eq!(app.get("/api/v1/residents?q=%E6%B4%AA", &staff).await.status, StatusCode::OK);
    // Another account has its own count.
    let lead = app.get("/api/v1/residents?q=5678", &app.token(Role::GroupLead).await).await;
    assert_eq!(lead.json()["items"][0]["name"], "蔡敏");
    app.finish().await;
}

#[tokio::test]
async fn a_volunteer_sees_only_the_team_buildings_without_numbers_or_codes() {
    let app = TestApp::new(Backend::Sqlite).await;
    let w = world(&app).await;
    let volunteer = app.token(Role::Volunteer).await;

    // No team yet: nobody, and no way to search by number.
    let none = app.get("/api/v1/residents", &volunteer).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json()["items"], json!([]));
    assert_eq!(app.get(&format!("/api/v1/residents/{}", w.hong), &volunteer).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/sampling/rounds/{}/missed", w.sampling_round), &volunteer).await.json(),
        json!([])
    );

    join_team(&app, "volunteer", "一队").await;
    let list = app.get("/api/v1/residents", &volunteer).await.json();
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["name"], "洪华");
    assert_eq!(items[0]["building"], w.b3);
    assert!(items[0].get("sampling_code").is_none() && items[0].get("id_number").is_none());
    // 蔡敏 lives in 二队's building: not there for this volunteer.
    assert_eq!(app.get(&format!("/api/v1/residents/{}", w.cai), &volunteer).await.status, StatusCode::NOT_FOUND);
    let other = app.get("/api/v1/residents?q=%E8%94%A1", &volunteer).await.json();
    assert_eq!(other["items"], json!([]));
    let by_number = app.get("/api/v1/residents?q=6625", &volunteer).await;
    assert_eq!(by_number.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(by_number.json()["error"]["fields"][0]["code"], "number_not_allowed");
    // The missed list is the team's part, even when asked for the whole round.
    let missed = app.get(&format!("/api/v1/sampling/rounds/{}/missed", w.sampling_round), &volunteer).await.json();
    let names: Vec<&str> = missed.as_array().expect("list").iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, vec!["洪华"]);

    // Scans: a code copied from elsewhere does not count outside the team's buildings.
    let staff = app.token(Role::Staff).await;
    let code_of = |id: i64| {
        let app = &app;
        let staff = staff.clone();
        async move {
            app.get(&format!("/api/v1/residents/{id}"), &staff).await.json()["sampling_code"]
                .as_str()
                .expect("code")
                .to_string()
        }
    };
    let (hong_code, cai_code) = (code_of(w.hong).await, code_of(w.cai).await);
    let scans = json!({"scans": [
        {"key": "v1", "round": w.sampling_round, "tube": "VT0001", "resident_code": hong_code},
        {"key": "v2", "round": w.sampling_round, "tube": "VT0001", "resident_code": cai_code},
    ]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scans)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let answer = res.json();
    let statuses: Vec<&str> =
        answer["results"].as_array().expect("results").iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, vec!["accepted", "outside_assignment"]);
    let coverage = app.get(&format!("/api/v1/sampling/rounds/{}/coverage", w.sampling_round), &staff).await.json();
    let sampled: i64 =
        coverage["buildings"].as_array().expect("buildings").iter().filter_map(|b| b["sampled"].as_i64()).sum();
    assert_eq!(sampled, 1, "only the team's building counts: {coverage}");
    // Noting why someone was missed is also the team's own buildings only.
    let note = json!({"resident_code": cai_code, "reason": "refused"});
    let noted = app
        .api(
            Method::POST,
            &format!("/api/v1/sampling/rounds/{}/missed", w.sampling_round),
            Some(&volunteer),
            Some(note),
        )
        .await;
    assert_eq!(noted.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", noted.text());

    // The pages say the same: the home page shows the team's buildings, not the district.
    let session = browser_login(&app, "volunteer").await;
    let home = get_page(&app, &session, "/").await.text();
    assert!(home.contains("我的小队") && home.contains("一队") && home.contains("3号楼"), "{home}");
    let search = get_page(&app, &session, "/residents?q=%E8%94%A1").await.text();
    assert!(!search.contains("蔡敏"), "{search}");
    let search = get_page(&app, &session, "/residents?q=6625").await;
    assert_eq!(search.status, StatusCode::OK, "the search box keeps its text and explains");
    assert!(search.text().contains("不能按号码查找") && search.text().contains("value=\"6625\""), "{}", search.text());
    let b5_page = get_page(
        &app,
        &session,
        format!("/buildings/{}", app.store().get_resident(w.cai).await.expect("cai").building_id.expect("b5")),
    )
    .await
    .text();
    assert!(!b5_page.contains("蔡敏"), "{b5_page}");
    app.finish().await;
}

#[tokio::test]
async fn team_changes_are_for_those_who_assign_teams_and_are_audited() {
    let app = TestApp::new(Backend::Sqlite).await;
    let volunteer = app.token(Role::Volunteer).await;
    let staff = app.token(Role::Staff).await;
    for token in [&volunteer, &staff] {
        let res =
            app.api(Method::PUT, "/api/v1/users/volunteer/team", Some(token), Some(json!({"team": "一队"}))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    }
    join_team(&app, "volunteer", "一队").await;
    let filter = AuditFilter { action: Some("user.team".into()), ..Default::default() };
    assert_eq!(app.store().list_audit(&filter, None, 10).await.expect("audit").items.len(), 1);
    let gone = app
        .api(
            Method::PUT,
            "/api/v1/users/nobody/team",
            Some(&app.token(Role::Commander).await),
            Some(json!({"team": "x"})),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let a = Actor::system("test");
    assert_eq!(app.store().set_user_team(&a, "volunteer", None).await.expect("cleared").team, None);
    app.finish().await;
}
