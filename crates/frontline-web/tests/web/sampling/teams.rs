//! A round's organisation: teams assigned to buildings, the deadline, coverage
//! by compound, unit and household, and the missed list handed out per team.
//! Runs on both backends.

use crate::support::{browser_login, coded_resident, field, get_page, post_form, TestApp};
use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::{Actor, Backend};
use serde_json::{json, Value};

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> =
        list.as_array().expect("list").iter().filter_map(|m| m["name"].as_str()).map(str::to_string).collect();
    n.sort();
    n
}

async fn teams_deadline_and_household_coverage(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let (b3, h1, h2) = app.place().await;
    let a = Actor::system("test");
    let s = app.store();
    let c = s.ensure_compound(&a, "海月花园").await.expect("compound");
    let b5 = s.ensure_building(&a, c, "5号楼", Some(5), Some(6)).await.expect("building");
    let u5 = s.ensure_unit(&a, b5, "2单元", Some(2)).await.expect("unit");
    let h5 = s.ensure_household(&a, u5, "201", Some(2)).await.expect("household");
    let c1 = coded_resident(&app, &staff, "甲", 31, h1).await.1;
    let c2 = coded_resident(&app, &staff, "乙", 33, h1).await.1;
    let _c3 = coded_resident(&app, &staff, "丙", 35, h2).await.1;
    let _c4 = coded_resident(&app, &staff, "丁", 37, h5).await.1;

    // A team for a building outside the scope is refused, and nothing is created.
    let outside = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 10, "buildings": [b3], "teams": [{"building": b5, "team": "一队"}]})),
        )
        .await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", outside.text());
    assert!(s.list_sampling_rounds().await.expect("rounds").is_empty());

    let deadline = 1_900_000_000_000_i64;
    let created = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 10, "deadline": deadline, "buildings": [b3, b5],
                "teams": [{"building": b3, "team": " 一队 "}]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("id");
    let got = app.get(&format!("/api/v1/sampling/rounds/{round}"), &volunteer).await.json();
    assert_eq!(got["deadline"], deadline);
    assert_eq!(got["teams"], json!([{"building": b3, "team": "一队"}]), "team names are cleaned");
    let listed = app.get("/api/v1/sampling/rounds", &volunteer).await.json();
    assert_eq!(listed[0]["id"], round);

    // Reassigning needs the right to manage rounds, stays within the scope, and is audited.
    let teams = |body: Value, token: &str| {
        let token = token.to_string();
        let app = &app;
        async move {
            app.api(Method::PUT, &format!("/api/v1/sampling/rounds/{round}/teams"), Some(&token), Some(body)).await
        }
    };
    assert_eq!(
        teams(json!({"teams": [{"building": b5, "team": "二队"}]}), &volunteer).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        teams(json!({"teams": [{"building": 999_999, "team": "二队"}]}), &lead).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let set = teams(json!({"teams": [{"building": b5, "team": "二队"}]}), &lead).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    assert_eq!(set.json()["teams"].as_array().map(Vec::len), Some(2));
    let audit = app.get("/api/v1/audit?action=sampling.round.teams", &app.token(Role::Commander).await).await.json();
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");

    // Two of the three in building 3 are sampled, by a volunteer of its team.
    crate::support::set_team(&app, "volunteer", Some("一队")).await;
    let scans = json!({"scans": [
        {"key": "t1", "round": round, "tube": "TT0001", "resident_code": c1, "at": 1},
        {"key": "t2", "round": round, "tube": "TT0001", "resident_code": c2, "at": 2},
    ]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scans)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &staff).await.json();
    assert_eq!((cov["expected"].as_i64(), cov["sampled"].as_i64()), (Some(4), Some(2)));
    assert_eq!(cov["compounds"].as_array().map(Vec::len), Some(1));
    assert_eq!(cov["compounds"][0]["expected"], 4);
    let b3_row = cov["buildings"].as_array().expect("buildings").iter().find(|b| b["building"] == b3).cloned();
    assert_eq!(b3_row.map(|b| (b["team"].clone(), b["sampled"].clone())), Some((json!("一队"), json!(2))));

    let detail = app.get(&format!("/api/v1/sampling/rounds/{round}/buildings/{b3}/coverage"), &staff).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    let d = detail.json();
    assert_eq!((d["expected"].as_i64(), d["sampled"].as_i64(), d["team"].as_str()), (Some(3), Some(2), Some("一队")));
    let units = d["units"].as_array().expect("units");
    assert_eq!(units.len(), 1);
    let hh: Vec<(i64, i64, i64)> = units[0]["households"]
        .as_array()
        .expect("households")
        .iter()
        .map(|h| {
            (
                h["household"].as_i64().unwrap_or(0),
                h["expected"].as_i64().unwrap_or(-1),
                h["sampled"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(hh, vec![(h1, 2, 2), (h2, 1, 0)]);
    assert_eq!(
        app.get(&format!("/api/v1/sampling/rounds/{round}/buildings/999999/coverage"), &staff).await.status,
        StatusCode::NOT_FOUND
    );

    // The missed list per team and per building.
    let all = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &staff).await.json();
    assert_eq!(names(&all), vec!["丁", "丙"]);
    let team1 =
        app.get(&format!("/api/v1/sampling/rounds/{round}/missed?team=%E4%B8%80%E9%98%9F"), &staff).await.json();
    assert_eq!(names(&team1), vec!["丙"]);
    assert_eq!(team1[0]["team"], "一队");
    let in_b5 = app.get(&format!("/api/v1/sampling/rounds/{round}/missed?building={b5}"), &staff).await.json();
    assert_eq!(names(&in_b5), vec!["丁"]);
    app.finish().await;
}

#[tokio::test]
async fn teams_deadline_and_household_coverage_on_sqlite() {
    teams_deadline_and_household_coverage(Backend::Sqlite).await;
}

#[tokio::test]
async fn teams_deadline_and_household_coverage_on_postgres() {
    teams_deadline_and_household_coverage(Backend::Postgres).await;
}

#[tokio::test]
async fn a_round_with_teams_and_a_deadline_is_set_up_in_the_browser() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, _) = app.place().await;
    coded_resident(&app, &staff, "甲", 41, h1).await;
    let session = browser_login(&app, "group_lead").await;
    let list = get_page(&app, &session, "/sampling").await.text();
    assert!(list.contains("name=\"deadline\"") && list.contains(&format!("name=\"team_{building}\"")));
    let csrf = field(&list, "csrf");
    let bad = post_form(
        &app,
        &session,
        "/sampling",
        format!("csrf={csrf}&name=R&pool_size=10&mode=door_to_door&deadline=tomorrow&building={building}"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "an unreadable deadline is refused");
    // 2099-06-13 18:00 in China.
    let started = post_form(
        &app,
        &session,
        "/sampling",
        format!(
            "csrf={csrf}&name=R&pool_size=10&mode=fixed_point&deadline=2099-06-13T18%3A00&building={building}&team_{building}=%E4%B8%89%E9%98%9F"
        ),
    )
    .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    let round_page = started.header("location").expect("round page");
    let round: i64 = round_page.rsplit('/').next().and_then(|r| r.parse().ok()).expect("round id");
    let r = app.store().get_sampling_round(round).await.expect("round");
    assert_eq!(r.mode, "fixed_point");
    let expected_deadline = frontline_domain::date::parse_local_datetime("2099-06-13T18:00", 480);
    assert_eq!(r.deadline, expected_deadline);
    assert_eq!(r.teams.first().and_then(|t| t.team.as_deref()), Some("三队"));

    let page = get_page(&app, &session, &round_page).await.text();
    assert!(page.contains("2099-06-13 18:00") && page.contains("距截止还有"), "the deadline and time left show");
    assert!(page.contains("三队") && page.contains(&format!("/sampling/rounds/{round}/buildings/{building}")));
    // Reassign from the round page.
    let moved = post_form(
        &app,
        &session,
        format!("/sampling/rounds/{round}/teams"),
        format!("csrf={csrf}&team_{building}=%E5%9B%9B%E9%98%9F"),
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text());
    let r = app.store().get_sampling_round(round).await.expect("round");
    assert_eq!(r.teams.first().and_then(|t| t.team.as_deref()), Some("四队"));
    let detail = get_page(&app, &session, format!("/sampling/rounds/{round}/buildings/{building}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.text().contains("1301") && detail.text().contains("四队"));
    let missed =
        get_page(&app, &session, format!("/sampling/rounds/{round}/missed?team=%E5%9B%9B%E9%98%9F")).await.text();
    assert!(missed.contains("甲") && missed.contains("四队"), "{missed}");
    let none =
        get_page(&app, &session, format!("/sampling/rounds/{round}/missed?team=%E4%BA%94%E9%98%9F")).await.text();
    assert!(!none.contains(">甲<"), "another team's list does not carry this building");
    // A round past its deadline says so.
    let lead = app.token(Role::GroupLead).await;
    let late = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "过期轮次", "pool_size": 10, "deadline": 1_000, "buildings": [building]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    let page = get_page(&app, &session, format!("/sampling/rounds/{late}")).await.text();
    assert!(page.contains("已超过截止时间") && !page.contains("距截止还有"), "overdue rounds say so");
    app.finish().await;
}

/// The sweep notes why people were missed: through the API (each refusal
/// specific), on one building's missed list in the browser (a form per
/// person, back to the same list), and in the export; the district's whole
/// list shows the reasons without forms.
#[tokio::test]
async fn the_sweep_notes_why_people_were_missed() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let volunteer = app.token(Role::Volunteer).await;
    let (building, h1, h2) = app.place().await;
    let (_, c1) = coded_resident(&app, &staff, "甲", 31, h1).await;
    let (r2, c2) = coded_resident(&app, &staff, "乙", 33, h1).await;
    let (_, c3) = coded_resident(&app, &staff, "丙", 35, h2).await;
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "R", "pool_size": 10, "buildings": [building], "teams": [{"building": building, "team": "一队"}]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    // The volunteer sweeps the building with team 一队.
    crate::support::set_team(&app, "volunteer", Some("一队")).await;
    let scans = json!({"scans": [{"key": "a", "round": round, "tube": "ZZ0001", "resident_code": c3}]});
    app.api(Method::POST, "/api/v1/sampling/scans", Some(&volunteer), Some(scans)).await;

    let missed_path = format!("/api/v1/sampling/rounds/{round}/missed");
    let note = |code: &str, reason: &str| {
        let body = json!({"resident_code": code, "reason": reason});
        app.api(Method::POST, &missed_path, Some(&volunteer), Some(body))
    };
    assert_eq!(note(&c1, "refused").await.status, StatusCode::NO_CONTENT);
    for (code, reason, field, expected) in [
        (c3.as_str(), "refused", "resident_code", "already_sampled"),
        (c2.as_str(), "tube_invalid", "reason", "reserved"),
        (c2.as_str(), "lazy", "reason", "unknown"),
    ] {
        let res = note(code, reason).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text());
        let f = &res.json()["error"]["fields"][0];
        assert_eq!((f["field"].as_str(), f["code"].as_str()), (Some(field), Some(expected)), "{reason}");
    }
    let missed = app.get(&format!("/api/v1/sampling/rounds/{round}/missed"), &volunteer).await.json();
    let reasons: Vec<(String, Value)> = missed
        .as_array()
        .expect("list")
        .iter()
        .map(|m| (m["name"].as_str().unwrap_or("").to_string(), m["reason"].clone()))
        .collect();
    assert_eq!(reasons, vec![("甲".to_string(), json!("refused")), ("乙".to_string(), Value::Null)]);

    // In the browser, on one building's list.
    let session = browser_login(&app, "volunteer").await;
    let list = get_page(&app, &session, &format!("/sampling/rounds/{round}/missed?building={building}")).await.text();
    assert!(list.contains("拒绝采样") && list.contains(&format!("name=\"resident\" value=\"{r2}\"")), "{list}");
    let csrf = field(&list, "csrf");
    let noted = post_form(
        &app,
        &session,
        &format!("/sampling/rounds/{round}/missed"),
        format!("csrf={csrf}&resident={r2}&reason=bedridden&building={building}"),
    )
    .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER, "{}", noted.text());
    let back = noted.header("location").expect("back to the list");
    assert!(back.starts_with(&format!("/sampling/rounds/{round}/missed?building={building}")), "{back}");
    let list = get_page(&app, &session, &format!("/sampling/rounds/{round}/missed?building={building}")).await.text();
    assert!(list.contains("卧床"), "the reason is shown");
    let whole = get_page(&app, &session, &format!("/sampling/rounds/{round}/missed")).await.text();
    assert!(whole.contains("卧床") && !whole.contains("name=\"resident\""), "the whole list: reasons, no forms");
    let export = get_page(&app, &session, &format!("/sampling/rounds/{round}/missed.xlsx?building={building}")).await;
    let sheet = frontline_import::decode(&export.body, Some("m.xlsx"), &Default::default()).expect("xlsx");
    let reason = sheet.rows[0].iter().position(|h| h == "未采原因").expect("a reason column");
    let mut exported: Vec<&str> = sheet.rows[1..].iter().map(|r| r[reason].as_str()).collect();
    exported.sort_unstable();
    assert_eq!(exported, vec!["卧床", "拒绝采样"]);
    // The sweep's floor-by-floor page shows what is known of who is missing.
    let sweep = get_page(&app, &session, &format!("/sampling/rounds/{round}/scan?building={building}")).await.text();
    assert!(sweep.contains("<strong>乙</strong> <span class=\"tag\">卧床</span>"), "{sweep}");
    app.finish().await;
}

/// A district's own sampling rules (`[web.rules.sampling]`): the pool sizes
/// a round may use and its default, and the hours after which a tube without
/// a result shows as overdue on the round's page (slow transport, a lost tube).
#[tokio::test]
async fn a_district_sets_its_pool_sizes_and_result_deadlines() {
    let mut config = frontline_web::WebConfig::default();
    config.rules.sampling.pool_sizes = vec![1, 3];
    config.rules.sampling.default_pool_size = 3;
    config.rules.sampling.pooled_turnaround_hours = 1;
    let app = TestApp::with_config(Backend::Sqlite, config).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, h2) = app.place().await;
    let mut codes = Vec::new();
    for (i, name) in ["甲", "乙", "丙", "丁"].into_iter().enumerate() {
        codes.push(coded_resident(&app, &staff, name, 40 + i as u16, if i < 2 { h1 } else { h2 }).await.1);
    }
    let create = |body: Value| app.api(Method::POST, "/api/v1/sampling/rounds", Some(&lead), Some(body));
    let ten = create(json!({"name": "R", "pool_size": 10, "buildings": [building]})).await;
    assert_eq!(ten.status, StatusCode::UNPROCESSABLE_ENTITY, "10-in-1 is not among this district's sizes");
    let created = create(json!({"name": "R", "buildings": [building]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("id");
    let got = app.get(&format!("/api/v1/sampling/rounds/{round}"), &lead).await.json();
    assert_eq!(got["pool_size"], 3, "the district's default pool size");

    // Three people two hours ago fill and seal ZZ0001; ZZ0002 was opened just now.
    let two_hours_ago = frontline_store::now_ms() - 2 * 3_600_000;
    let scan = |key: &str, tube: &str, code: &str, at: i64| json!({"key": key, "round": round, "tube": tube, "resident_code": code, "at": at});
    let now = frontline_store::now_ms();
    let batch = json!({"scans": [
        scan("a", "ZZ0001", &codes[0], two_hours_ago), scan("b", "ZZ0001", &codes[1], two_hours_ago),
        scan("c", "ZZ0001", &codes[2], two_hours_ago), scan("d", "ZZ0002", &codes[3], now)]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(&staff), Some(batch)).await.json();
    assert!(res["results"].as_array().expect("results").iter().all(|r| r["status"] == "accepted"), "{res}");
    let overdue = |page: &str| {
        page.split("id=\"overdue\"").nth(1).map(|t| t[..t.find("</table>").unwrap_or(t.len())].to_string())
    };
    let page = app.get(&format!("/sampling/rounds/{round}"), &lead).await.text();
    let listed = overdue(&page).expect("overdue tubes are listed");
    assert!(listed.contains("ZZ0001") && !listed.contains("ZZ0002"), "{listed}");
    let result = json!({"results": [{"tube": "ZZ0001", "result": "negative"}]});
    assert_eq!(
        app.api(Method::POST, "/api/v1/sampling/results", Some(&lab), Some(result)).await.status,
        StatusCode::OK
    );
    let page = app.get(&format!("/sampling/rounds/{round}"), &lead).await.text();
    assert!(overdue(&page).is_none(), "a result takes the tube off the list");
    app.finish().await;
}
