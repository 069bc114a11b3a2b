//! Starting and closing rounds: the API's contract, a name refused when
//! another round of one of its compounds carries it, the new-round form with
//! some buildings ticked (and the team fields of the others left empty), its
//! selection buttons without script, a refused form that keeps every input,
//! closing after a confirmation, the round page's figures, and the missed
//! list's reason that starts with nothing chosen.

use crate::support::{browser_login, coded_resident, field, get_page, post_form, TestApp};
use axum::http::{Method, StatusCode};
use frontline_domain::access::Role;
use frontline_store::{Actor, Backend};
use serde_json::{json, Value};

/// Two compounds: 海月花园 with three buildings, 山水苑 with two. Answers
/// (compound ids, building ids in that order).
async fn district(app: &TestApp) -> ((i64, i64), Vec<i64>) {
    let a = Actor::system("test");
    let s = app.store();
    let east = s.ensure_compound(&a, "海月花园").await.expect("compound");
    let west = s.ensure_compound(&a, "山水苑").await.expect("compound");
    let mut buildings = Vec::new();
    for (c, n) in [(east, 1), (east, 2), (east, 3), (west, 1), (west, 2)] {
        buildings.push(s.ensure_building(&a, c, &format!("{n}号楼"), Some(n), Some(6)).await.expect("building"));
    }
    ((east, west), buildings)
}

fn coverage_buildings(cov: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> =
        cov["buildings"].as_array().expect("buildings").iter().filter_map(|b| b["building"].as_i64()).collect();
    ids.sort_unstable();
    ids
}

fn fields_of(answer: &Value) -> Vec<String> {
    answer["error"]["fields"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["field"].as_str()).map(str::to_string).collect())
        .unwrap_or_default()
}

async fn create(app: &TestApp, token: &str, body: Value) -> crate::support::Answer {
    app.api(Method::POST, "/api/v1/sampling/rounds", Some(token), Some(body)).await
}

async fn rounds_through_the_api(backend: Backend) {
    let app = TestApp::new(backend).await;
    let lead = app.token(Role::GroupLead).await;
    let (_, b) = district(&app).await;

    // The contract: three buildings asked for, exactly those three covered.
    let created =
        create(&app, &lead, json!({"name": "第一轮", "pool_size": 10, "buildings": [b[0], b[2], b[3]]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("id");
    let cov = app.get(&format!("/api/v1/sampling/rounds/{round}/coverage"), &lead).await.json();
    assert_eq!(coverage_buildings(&cov), vec![b[0], b[2], b[3]]);

    // The same name over a building of either compound already in that round is refused, on `name`.
    for scope in [vec![b[1]], vec![b[4]]] {
        let dup = create(&app, &lead, json!({"name": " 第一轮 ", "pool_size": 10, "buildings": scope})).await;
        assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text());
        assert_eq!(fields_of(&dup.json()), vec!["name"]);
        assert!(dup.json()["error"]["fields"][0]["message"].as_str().unwrap_or_default().contains("第一轮"));
    }
    assert_eq!(app.store().list_sampling_rounds().await.expect("rounds").len(), 1, "nothing half-written");

    // Another compound may use the name; and two at once over one compound: exactly one wins.
    let a = Actor::system("test");
    let north = app.store().ensure_compound(&a, "北苑").await.expect("compound");
    let nb = app.store().ensure_building(&a, north, "1号楼", Some(1), None).await.expect("building");
    let elsewhere = create(&app, &lead, json!({"name": "第一轮", "buildings": [nb]})).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.text());
    let body = json!({"name": "同时", "buildings": [b[1]]});
    let (x, y) = tokio::join!(create(&app, &lead, body.clone()), create(&app, &lead, body.clone()));
    let mut statuses = vec![x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::CREATED, StatusCode::CONFLICT], "{} / {}", x.text(), y.text());

    // Closing: the round says so, and a second close changes nothing.
    let volunteer = app.token(Role::Volunteer).await;
    let denied = app.api(Method::POST, &format!("/api/v1/sampling/rounds/{round}/close"), Some(&volunteer), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    for _ in 0..2 {
        let closed = app.api(Method::POST, &format!("/api/v1/sampling/rounds/{round}/close"), Some(&lead), None).await;
        assert_eq!(closed.status, StatusCode::NO_CONTENT, "{}", closed.text());
    }
    let got = app.get(&format!("/api/v1/sampling/rounds/{round}"), &lead).await.json();
    assert_eq!(got["status"], "closed");
    app.finish().await;
}

#[tokio::test]
async fn rounds_through_the_api_sqlite() {
    rounds_through_the_api(Backend::Sqlite).await;
}

#[tokio::test]
async fn rounds_through_the_api_postgres() {
    rounds_through_the_api(Backend::Postgres).await;
}

/// The form's body: `csrf`, then the pairs given, percent-encoded.
fn body(csrf: &str, pairs: &[(&str, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect::<String>()
    };
    std::iter::once(format!("csrf={csrf}"))
        .chain(pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// The ids of the building boxes ticked in the new-round form.
fn ticked(html: &str) -> Vec<i64> {
    let mut out: Vec<i64> = html
        .split("<input type=\"checkbox\" name=\"building\" value=\"")
        .skip(1)
        .filter_map(|rest| {
            let (id, tail) = rest.split_once('"')?;
            tail.starts_with(" checked").then(|| id.parse().ok()).flatten()
        })
        .collect();
    out.sort_unstable();
    out
}

#[tokio::test]
async fn the_new_round_form_over_some_buildings() {
    let app = TestApp::new(Backend::Sqlite).await;
    let ((east, _), b) = district(&app).await;
    let session = browser_login(&app, "group_lead").await;
    let page = get_page(&app, &session, "/sampling").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert_eq!(ticked(&html), b, "every building ticked to begin with");
    let csrf = field(&html, "csrf");

    // Without script: "none" unticks all, a compound's button ticks its buildings; the rest is kept.
    let none =
        post_form(&app, &session, "/sampling", body(&csrf, &[("name", "早筛".into()), ("select", "none".into())]))
            .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(ticked(&none.text()).is_empty());
    assert!(none.text().contains("value=\"早筛\""));
    let pairs = [("name", "早筛".to_string()), ("pool_size", "20".to_string()), ("select", format!("compound:{east}"))];
    let by_compound = post_form(&app, &session, "/sampling", body(&csrf, &pairs)).await;
    assert_eq!(ticked(&by_compound.text()), b[..3].to_vec());
    assert!(by_compound.text().contains("<option value=\"20\" selected>"));
    assert!(app.store().list_sampling_rounds().await.expect("rounds").is_empty(), "selecting starts nothing");

    // Three ticked, every team field sent (empty but one, and one typed for an unticked building).
    let mut pairs =
        vec![("name", "早筛".to_string()), ("pool_size", "10".to_string()), ("mode", "door_to_door".to_string())];
    for id in [b[0], b[2], b[4]] {
        pairs.push(("building", id.to_string()));
    }
    let team_keys: Vec<String> = b.iter().map(|id| format!("team_{id}")).collect();
    for (i, key) in team_keys.iter().enumerate() {
        let team = match i {
            2 => "一队",
            1 => "二队",
            _ => "",
        };
        pairs.push((key.as_str(), team.to_string()));
    }
    pairs.push(("deadline", String::new()));
    pairs.push(("start", "1".into()));
    let started = post_form(&app, &session, "/sampling", body(&csrf, &pairs)).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    let rounds = app.store().list_sampling_rounds().await.expect("rounds");
    let round = rounds.first().expect("a round");
    assert_eq!(round.buildings, vec![b[0], b[2], b[4]]);
    let teams: Vec<(i64, Option<String>)> = round.teams.iter().map(|t| (t.building, t.team.clone())).collect();
    assert_eq!(teams, vec![(b[2], Some("一队".to_string()))], "only ticked buildings' typed teams count");
    assert_eq!(started.header("location"), Some(format!("/sampling/rounds/{}", round.id)));

    // Refused forms come back whole: the same name again, and no name with a bad deadline.
    for (name, deadline, field_id) in [("早筛", "", "name-error"), ("", "明天", "deadline-error")] {
        let mut pairs =
            vec![("name", name.to_string()), ("pool_size", "20".to_string()), ("mode", "fixed_point".to_string())];
        pairs.push(("building", b[1].to_string()));
        pairs.push(("building", b[3].to_string()));
        pairs.push((team_keys[1].as_str(), "三队".to_string()));
        pairs.push((team_keys[0].as_str(), "不算".to_string()));
        pairs.push(("deadline", deadline.to_string()));
        let refused = post_form(&app, &session, "/sampling", body(&csrf, &pairs)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
        let html = refused.text();
        assert!(html.contains(&format!("id=\"{field_id}\"")), "the message beside its field: {html}");
        assert!(html.contains("id=\"error-summary\""));
        assert_eq!(ticked(&html), vec![b[1], b[3]]);
        assert!(html.contains(&format!("name=\"{}\" value=\"三队\"", team_keys[1])));
        assert!(html.contains(&format!("name=\"{}\" value=\"不算\"", team_keys[0])));
        assert!(html.contains(&format!("name=\"name\" value=\"{name}\"")));
        assert!(html.contains(&format!("name=\"deadline\" value=\"{deadline}\"")));
        assert!(html.contains("<option value=\"20\" selected>"));
        assert!(html.contains("<option value=\"fixed_point\" selected>"));
    }
    let html =
        post_form(&app, &session, "/sampling", body(&csrf, &[("name", "早筛".into()), ("building", b[1].to_string())]))
            .await
            .text();
    assert!(html.contains("同一小区已有名为“早筛”的采样轮次"), "{html}");
    let nothing =
        post_form(&app, &session, "/sampling", body(&csrf, &[("name", "空".into()), ("start", "1".into())])).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nothing.text().contains("id=\"buildings-error\""));
    assert_eq!(app.store().list_sampling_rounds().await.expect("rounds").len(), 1, "refused forms wrote nothing");
    app.finish().await;
}

#[tokio::test]
async fn a_round_page_and_closing_it_after_confirmation() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let (building, h1, h2) = app.place().await;
    let c1 = coded_resident(&app, &staff, "甲", 21, h1).await.1;
    coded_resident(&app, &staff, "乙", 23, h1).await;
    coded_resident(&app, &staff, "丙", 25, h2).await;
    let created = create(&app, &lead, json!({"name": "复核轮", "pool_size": 10, "buildings": [building]})).await;
    let round = created.json()["id"].as_i64().expect("id");
    let scan = json!({"scans": [{"key": "k1", "round": round, "tube": "ZZ7001", "resident_code": c1}]});
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(&lead), Some(scan)).await;
    assert_eq!(res.json()["results"][0]["status"], "accepted", "{}", res.text());

    let session = browser_login(&app, "group_lead").await;
    let html = get_page(&app, &session, format!("/sampling/rounds/{round}")).await.text();
    assert!(html.contains("<td class=\"nowrap\" data-label=\"小区\">海月花园</td>"), "compound beside the building");
    assert!(html.contains("<div class=\"n\" data-k=\"done\">33%</div>"), "1 of 3 sampled");
    assert!(html.contains("<div class=\"n\" data-k=\"open\">1</div>"), "one tube filling");
    assert!(html.contains("<div class=\"n\" data-k=\"received\">0</div>"));
    assert!(html.contains("id=\"advice\""));
    assert!(html.contains("本轮尚无检测结果"), "no results yet: the default stands");

    // The confirmation names the round and what closing does; nothing is closed by looking.
    let confirm = get_page(&app, &session, format!("/sampling/rounds/{round}/close")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    let text = confirm.text();
    assert!(text.contains("结束“复核轮”后不能再扫码采样；未采的 2 人将进入补采名单。"), "{text}");
    assert!(text.contains("仍有 1 支试管未封管"));
    assert_eq!(app.store().get_sampling_round(round).await.expect("round").status, "open");
    let volunteer = browser_login(&app, "volunteer").await;
    let csrf_v = field(&get_page(&app, &volunteer, "/sampling").await.text(), "csrf");
    let denied = post_form(&app, &volunteer, format!("/sampling/rounds/{round}/close"), format!("csrf={csrf_v}")).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let csrf = field(&text, "csrf");
    let bad = post_form(&app, &session, format!("/sampling/rounds/{round}/close"), "csrf=wrong".into()).await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store().get_sampling_round(round).await.expect("round").status, "open");
    let closed = post_form(&app, &session, format!("/sampling/rounds/{round}/close"), format!("csrf={csrf}")).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store().get_sampling_round(round).await.expect("round").status, "closed");
    let html = get_page(&app, &session, format!("/sampling/rounds/{round}")).await.text();
    assert!(html.contains("id=\"closed\"") && !html.contains("id=\"close-round\""));
    app.finish().await;
}

#[tokio::test]
async fn the_missed_reason_starts_with_nothing_chosen() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let (building, h1, _) = app.place().await;
    let (r1, _) = coded_resident(&app, &staff, "甲", 51, h1).await;
    let created = create(&app, &lead, json!({"name": "补采", "buildings": [building]})).await;
    let round = created.json()["id"].as_i64().expect("id");
    let session = browser_login(&app, "group_lead").await;
    let list = format!("/sampling/rounds/{round}/missed?building={building}");
    let html = get_page(&app, &session, &list).await.text();
    assert!(html.contains("type=\"radio\" name=\"reason\" value=\"away\""), "{html}");
    assert!(!html.contains(" checked>"), "no reason chosen for anyone");
    assert!(!html.contains("<select name=\"reason\""));
    let csrf = field(&html, "csrf");

    // The button pressed with nothing chosen: an error on that row, nothing recorded.
    let path = format!("/sampling/rounds/{round}/missed");
    let refused = post_form(&app, &session, &path, format!("csrf={csrf}&resident={r1}&building={building}")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("请先选择未采原因，再点登记"));
    let only_here = frontline_store::sampling::MissedFilter { building: Some(building), team: None };
    let missed = app.store().sampling_missed(round, &only_here).await.expect("missed");
    assert_eq!(missed.iter().map(|m| m.reason.clone()).collect::<Vec<_>>(), vec![None]);

    let noted =
        post_form(&app, &session, &path, format!("csrf={csrf}&resident={r1}&building={building}&reason=bedridden"))
            .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    let missed = app.store().sampling_missed(round, &only_here).await.expect("missed");
    assert_eq!(missed[0].reason.as_deref(), Some("bedridden"));
    // A reason once noted shows as chosen.
    let html = get_page(&app, &session, &list).await.text();
    assert!(html.contains("value=\"bedridden\" checked>"));
    app.finish().await;
}

#[tokio::test]
async fn code_sheets_carry_their_print_time_and_whole_addresses() {
    let app = TestApp::new(Backend::Sqlite).await;
    let staff = app.token(Role::Staff).await;
    let (building, h1, h2) = app.place().await;
    coded_resident(&app, &staff, "甲", 71, h1).await;
    coded_resident(&app, &staff, "乙", 73, h2).await;
    let session = browser_login(&app, "staff").await;
    let html = get_page(&app, &session, format!("/sampling/codes?building={building}")).await.text();
    let printed = html.split("id=\"printed\">").nth(1).and_then(|r| r.split('<').next()).expect("print line");
    assert!(
        printed.contains("共 2 户") && printed.contains("打印时间 ") && printed.contains("打印人 staff 测试"),
        "{printed}"
    );
    assert!(html.contains("<h2>海月花园 3号楼 1单元 1301</h2>") && html.contains("<h2>海月花园 3号楼 1单元 1302</h2>"));
    assert!(html.contains("class=\"code-sheet\""));
    // One print time on the sheet: its head's, not the frame's footer as well.
    assert_eq!(html.matches("打印时间 ").count(), 1, "{html}");
    assert!(!html.contains("class=\"print-only printed\""), "{html}");
    // Without a building chosen there is no sheet head: the frame's footer prints the time.
    let empty = get_page(&app, &session, "/sampling/codes").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    assert!(empty.text().contains("class=\"print-only printed\""));
    app.finish().await;
}
