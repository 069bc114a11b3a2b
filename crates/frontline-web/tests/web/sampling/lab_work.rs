//! The lab's working pages: the summary of a sheet naming its tubes, the list
//! of tubes awaiting a result (overdue ones flagged), one result entered by
//! hand, corrections of a result recorded in error (who may, the reason, the
//! audit, the retests that follow and the people listed), and the person
//! named in a retest's confirmation.

use crate::support::{browser_login, coded_resident, field, get_page, post_form, TestApp};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use frontline_domain::access::Role;
use frontline_store::Backend;
use serde_json::{json, Value};

/// A round with a full pooled tube sealed long ago (`AA0001`: 王小明 and four
/// more, overdue) and a tube just opened (`AA0002`: 李四, waiting).
pub(crate) struct Fixture {
    pub app: TestApp,
    pub round: i64,
    pub building: i64,
    /// Members of AA0001, in order (resident id, sampling code).
    pub pooled: Vec<(i64, String)>,
    pub lab: String,
    pub staff: String,
}

pub(crate) async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let lead = app.token(Role::GroupLead).await;
    let lab = app.token(Role::Lab).await;
    let (building, h1, h2) = app.place().await;
    let names = ["王小明", "赵一", "钱二", "孙三", "周五"];
    let mut pooled = Vec::new();
    for (i, name) in names.iter().enumerate() {
        pooled.push(coded_resident(&app, &staff, name, 201 + 2 * i as u16, h1).await);
    }
    let single = coded_resident(&app, &staff, "李四", 231, h2).await;
    let round = app
        .api(
            Method::POST,
            "/api/v1/sampling/rounds",
            Some(&lead),
            Some(json!({"name": "第一轮", "pool_size": 5, "buildings": [building]})),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("round");
    let mut scans: Vec<Value> = pooled
        .iter()
        .enumerate()
        .map(|(i, (_, c))| json!({"key": format!("p{i}"), "round": round, "tube": "AA0001", "resident_code": c, "at": 1_000}))
        .collect();
    scans.push(json!({"key": "s", "round": round, "tube": "AA0002", "resident_code": single.1}));
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(&staff), Some(json!({"scans": scans}))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    Fixture { app, round, building, pooled, lab, staff }
}

impl Fixture {
    pub(crate) async fn result(&self, tube: &str, result: &str) {
        let res = self
            .app
            .api(
                Method::POST,
                "/api/v1/sampling/results",
                Some(&self.lab),
                Some(json!({"results": [{"tube": tube, "result": result}]})),
            )
            .await;
        assert_eq!(res.json()[0]["status"], "recorded", "{}", res.text());
    }

    async fn pending(&self) -> Vec<i64> {
        self.app.store().pending_retests(self.round).await.expect("retests").into_iter().map(|r| r.0).collect()
    }

    async fn coverage(&self) -> (i64, i64) {
        let c = self.app.get(&format!("/api/v1/sampling/rounds/{}/coverage", self.round), &self.staff).await.json();
        (c["sampled"].as_i64().expect("sampled"), c["buildings"][0]["sampled"].as_i64().expect("building"))
    }
}

#[tokio::test]
async fn the_summary_names_unknown_abnormal_and_invalid_tubes() {
    let f = fixture(Backend::Sqlite).await;
    let sheet = "样本编号,检测结果\nAA0001,混管异常\nAA0002,无效\nZZ9999,阴性\n";
    let req = Request::post("/api/v1/sampling/results/import")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.lab))
        .body(Body::from(sheet))
        .expect("req");
    let v = f.app.send(req).await.json();
    assert_eq!(v["unknown_tubes"], json!(["ZZ9999"]), "{v}");
    assert_eq!(v["abnormal"], json!(["AA0001"]));
    assert_eq!(v["invalid"], json!(["AA0002"]));
    assert_eq!(v["recorded"], 2);
    // The posted API names each tube's result beside its status.
    let posted = f
        .app
        .api(
            Method::POST,
            "/api/v1/sampling/results",
            Some(&f.lab),
            Some(json!({"results": [{"tube": "ZZ9998", "result": "negative"}]})),
        )
        .await
        .json();
    assert_eq!(posted[0], json!({"tube": "ZZ9998", "result": "negative", "status": "unknown_tube"}));

    // The page's summary lists the same tubes.
    let session = browser_login(&f.app, "lab").await;
    let page = get_page(&f.app, &session, "/sampling/results").await.text();
    let csrf = field(&page, "csrf");
    let b = "xyzboundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n\r\n管码,结果\nZZ7777,阴性\nAA0001,异常\n\r\n--{b}--\r\n"
    );
    let res = f
        .app
        .send(
            Request::post("/sampling/results")
                .header(header::COOKIE, format!("frontline_session={session}"))
                .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}"))
                .body(Body::from(body))
                .expect("req"),
        )
        .await
        .text();
    let unknown = res.split("id=\"unknown-tubes\"").nth(1).expect("the unknown tubes are listed");
    assert!(unknown.split("</div>").next().is_some_and(|s| s.contains("ZZ7777")), "{res}");
    f.app.finish().await;
}

async fn the_tubes_page_lists_awaiting_tubes_overdue_first_flagged(backend: Backend) {
    let f = fixture(backend).await;
    let all = f.app.get("/api/v1/lab/tubes", &f.lab).await.json();
    assert_eq!(all["total"], 2, "{all}");
    let codes: Vec<(&str, bool)> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| (t["code"].as_str().unwrap_or(""), t["overdue"].as_bool().unwrap_or(false)))
        .collect();
    assert_eq!(codes, vec![("AA0001", true), ("AA0002", false)], "oldest first, sealed in 1970 is overdue");
    let late = f.app.get("/api/v1/lab/tubes?overdue=1", &f.lab).await.json();
    assert_eq!(late["total"], 1);
    assert_eq!(late["items"][0]["code"], "AA0001");
    let first = f.app.get("/api/v1/lab/tubes?limit=1", &f.lab).await.json();
    let next = first["next"].as_str().expect("a second page");
    let second = f.app.get(&format!("/api/v1/lab/tubes?limit=1&after={next}"), &f.lab).await.json();
    assert_eq!(second["items"][0]["code"], "AA0002");
    assert_eq!(second["next"], Value::Null);
    let by_code = f.app.get("/api/v1/lab/tubes?code=aa0002", &f.lab).await.json();
    assert_eq!(by_code["total"], 1);
    assert_eq!(f.app.get("/api/v1/lab/tubes", &f.staff).await.status, StatusCode::FORBIDDEN);

    let session = browser_login(&f.app, "lab").await;
    let page = get_page(&f.app, &session, "/lab/tubes?overdue=1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("data-code=\"AA0001\"") && html.contains("超时"), "{html}");
    assert!(!html.contains("data-code=\"AA0002\""));
    let paged = get_page(&f.app, &session, "/lab/tubes?limit=1").await.text();
    assert!(paged.contains("共 2 管") && !paged.contains("data-code=\"AA0002\""), "{paged}");
    let next = paged.split("id=\"next-page\" href=\"").nth(1).and_then(|r| r.split('"').next()).expect("next link");
    let second = get_page(&f.app, &session, next.replace("&amp;", "&")).await.text();
    assert!(second.contains("data-code=\"AA0002\"") && !second.contains("data-code=\"AA0001\""), "{second}");
    let checkpoint = browser_login(&f.app, "checkpoint").await;
    assert_eq!(get_page(&f.app, &checkpoint, "/lab/tubes").await.status, StatusCode::FORBIDDEN);
    f.result("AA0002", "negative").await;
    assert_eq!(f.app.get("/api/v1/lab/tubes", &f.lab).await.json()["total"], 1, "a result takes it off");
    f.app.finish().await;
}

#[tokio::test]
async fn the_tubes_page_lists_awaiting_tubes_on_sqlite() {
    the_tubes_page_lists_awaiting_tubes_overdue_first_flagged(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_tubes_page_lists_awaiting_tubes_on_postgres() {
    the_tubes_page_lists_awaiting_tubes_overdue_first_flagged(Backend::Postgres).await;
}

#[tokio::test]
async fn one_result_is_entered_by_hand_and_a_bad_entry_keeps_the_input() {
    let f = fixture(Backend::Sqlite).await;
    let session = browser_login(&f.app, "lab").await;
    let page = get_page(&f.app, &session, "/lab/tubes").await.text();
    let csrf = field(&page, "csrf");
    let post = |body: String| post_form(&f.app, &session, "/lab/tubes", body);
    let no_result = post(format!("csrf={csrf}&tube=AA0002&result=")).await.text();
    assert!(
        no_result.contains("请选择检测结果") && no_result.contains("name=\"tube\" value=\"AA0002\""),
        "{no_result}"
    );
    let unknown = post(format!("csrf={csrf}&tube=QQ0001&result=negative")).await.text();
    assert!(unknown.contains("没有这个试管码") && unknown.contains("value=\"QQ0001\""), "{unknown}");
    assert!(unknown.contains("<option value=\"negative\" selected>"), "the chosen result is kept");
    let malformed = post(format!("csrf={csrf}&tube=A%21&result=negative")).await.text();
    assert!(malformed.contains("id=\"tube-error\""), "{malformed}");
    assert!(f.pending().await.is_empty(), "nothing was written");
    let done = post(format!("csrf={csrf}&tube=aa0001&result=abnormal")).await.text();
    assert!(done.contains("id=\"entry-done\" data-status=\"recorded\""), "{done}");
    assert_eq!(f.pending().await.len(), 5, "an abnormal tube opens a retest per member");
    let again = post(format!("csrf={csrf}&tube=AA0001&result=negative")).await.text();
    assert!(again.contains("data-status=\"conflicting_result\""), "a second, different result is not taken");
    f.app.finish().await;
}

/// Only the lab (its lead) and command correct; the reason is required; the
/// correction is audited before and after, and the retests follow.
async fn corrections_move_retests_and_list_people(backend: Backend) {
    let f = fixture(backend).await;
    f.result("AA0001", "abnormal").await;
    assert_eq!(f.pending().await.len(), 5);
    let correct = |token: String, body: Value| {
        let app = &f.app;
        async move { app.api(Method::POST, "/api/v1/lab/tubes/AA0001/correction", Some(&token), Some(body)).await }
    };
    for role in [Role::Staff, Role::GroupLead, Role::Volunteer, Role::Checkpoint] {
        let t = f.app.token(role).await;
        let res = correct(t, json!({"result": "negative", "reason": "录入错误"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let no_reason = correct(f.lab.clone(), json!({"result": "negative", "reason": "  "})).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.json()["error"]["fields"][0]["code"], "reason_required");
    let same = correct(f.lab.clone(), json!({"result": "abnormal", "reason": "复核"})).await;
    assert_eq!(same.json()["error"]["fields"][0]["code"], "same_result");
    assert_eq!(f.pending().await.len(), 5, "nothing changed");
    let unknown = f
        .app
        .api(
            Method::POST,
            "/api/v1/lab/tubes/QQ0009/correction",
            Some(&f.lab),
            Some(json!({"result": "negative", "reason": "x"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // abnormal → negative: the pending retests are cancelled, members released.
    let done = correct(f.lab.clone(), json!({"result": "negative", "reason": "仪器读错"})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let v = done.json();
    assert_eq!((v["before"].as_str(), v["after"].as_str()), (Some("abnormal"), Some("negative")));
    let affected = v["affected"].as_array().expect("affected");
    assert_eq!(affected.len(), 5);
    assert!(affected.iter().all(|a| a["effect"] == "released"), "{v}");
    assert!(affected.iter().any(|a| a["name"] == "王*明"), "the lab sees masked names: {v}");
    assert!(affected.iter().all(|a| a["address"].is_null()), "and no address");
    assert!(f.pending().await.is_empty());

    // negative → abnormal (by command): every member needs a retest again.
    let commander = f.app.token(Role::Commander).await;
    let back = correct(commander.clone(), json!({"result": "abnormal", "reason": "更正错误"})).await.json();
    assert!(back["affected"].as_array().expect("list").iter().all(|a| a["effect"] == "retest_due"), "{back}");
    assert_eq!(f.pending().await.len(), 5);
    assert!(back["affected"].as_array().expect("list").iter().any(|a| a["name"] == "王小明"), "command sees names");

    // One member's single retest comes back negative: that result stands.
    let retest = json!({"round": f.round, "results": [{"resident_code": f.pooled[0].1, "result": "negative"}]});
    let res = f.app.api(Method::POST, "/api/v1/sampling/retests", Some(&f.lab), Some(retest)).await;
    assert_eq!(res.json()[0]["status"], "cleared", "{}", res.text());
    // abnormal → invalid: the others go back on the missed list, out of the sampled counts.
    assert_eq!(f.coverage().await, (6, 6));
    let invalid = correct(commander.clone(), json!({"result": "invalid", "reason": "样本溶血"})).await.json();
    let effects = |v: &Value| -> Vec<(i64, String)> {
        v["affected"]
            .as_array()
            .expect("list")
            .iter()
            .map(|a| (a["resident"].as_i64().unwrap_or(0), a["effect"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    let tested = f.pooled[0].0;
    assert_eq!(effects(&invalid).len(), 5, "{invalid}");
    for (resident, effect) in effects(&invalid) {
        let expected = if resident == tested { "retest_done" } else { "back_to_missed" };
        assert_eq!(effect, expected, "{invalid}");
    }
    assert!(f.pending().await.is_empty());
    assert_eq!(f.coverage().await, (2, 2), "the retested member stays sampled");
    // invalid → negative: counted as sampled again.
    let restored = correct(commander.clone(), json!({"result": "negative", "reason": "复查有效"})).await.json();
    let restored = effects(&restored);
    assert_eq!(restored.len(), 4);
    assert!(restored.iter().all(|(_, e)| e == "sampled_again"), "{restored:?}");
    assert_eq!(f.coverage().await, (6, 6));

    // Audited, before and after, with the reason.
    let audit = f.app.get("/api/v1/audit?action=sampling.result_correction", &commander).await.json();
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 4, "{audit}");
    let first = entries.iter().find(|e| e["actor"] == "lab").expect("the lab's correction");
    assert_eq!(first["before"]["result"], "abnormal");
    assert_eq!(first["after"]["result"], "negative");
    assert_eq!(first["after"]["reason"], "仪器读错");

    // The sampling group lists the people each correction moved.
    let list = f.app.get("/api/v1/lab/corrections", &f.staff).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(4));
    assert!(list[0]["affected"][0]["address"].as_str().is_some_and(|a| a.contains("3号楼")), "{list}");
    let checkpoint = f.app.token(Role::Checkpoint).await;
    assert_eq!(f.app.get("/api/v1/lab/corrections", &checkpoint).await.status, StatusCode::FORBIDDEN);
    // A volunteer sees them only for their team's buildings.
    let volunteer = f.app.token(Role::Volunteer).await;
    assert_eq!(f.app.get("/api/v1/lab/corrections", &volunteer).await.json(), json!([]));
    crate::support::sweeps(&f.app, "volunteer", f.round).await;
    let theirs = f.app.get("/api/v1/lab/corrections", &volunteer).await.json();
    assert_eq!(theirs.as_array().map(Vec::len), Some(4), "{theirs}");
    f.app.finish().await;
}

#[tokio::test]
async fn corrections_move_retests_and_list_people_on_sqlite() {
    corrections_move_retests_and_list_people(Backend::Sqlite).await;
}

#[tokio::test]
async fn corrections_move_retests_and_list_people_on_postgres() {
    corrections_move_retests_and_list_people(Backend::Postgres).await;
}

#[tokio::test]
async fn the_correction_form_keeps_its_input_and_lists_the_people() {
    let f = fixture(Backend::Sqlite).await;
    f.result("AA0001", "negative").await;
    let session = browser_login(&f.app, "lab").await;
    let page = get_page(&f.app, &session, "/lab/corrections").await.text();
    let csrf = field(&page, "csrf");
    let post = |body: String| post_form(&f.app, &session, "/lab/corrections", body);
    let missing = post(format!("csrf={csrf}&tube=AA0001&result=abnormal&reason=")).await.text();
    assert!(missing.contains("请填写更正原因") && missing.contains("value=\"AA0001\""), "{missing}");
    assert!(missing.contains("<option value=\"abnormal\" selected>"));
    let unknown = post(format!("csrf={csrf}&tube=QQ0001&result=abnormal&reason=x")).await.text();
    assert!(unknown.contains("没有这个试管码") && unknown.contains(">x</textarea>"), "{unknown}");
    let done = post(format!("csrf={csrf}&tube=AA0001&result=abnormal&reason=%E5%BD%95%E9%94%99")).await.text();
    assert!(done.contains("id=\"correction-done\"") && done.contains("须单管复核"), "{done}");
    assert_eq!(f.pending().await.len(), 5);
    // The sampling group's page lists them by name and address; the
    // form is not theirs.
    let staff = browser_login(&f.app, "staff").await;
    let list = get_page(&f.app, &staff, "/lab/corrections").await.text();
    assert!(list.contains("王小明") && list.contains("录错") && !list.contains("name=\"reason\""), "{list}");
    let refused = post_form(
        &f.app,
        &staff,
        "/lab/corrections",
        format!("csrf={}&tube=AA0001&result=negative&reason=x", field(&list, "csrf")),
    );
    assert_eq!(refused.await.status, StatusCode::FORBIDDEN);
    f.app.finish().await;
}

#[tokio::test]
async fn the_retest_confirmation_names_the_person_masked_for_the_lab() {
    let f = fixture(Backend::Sqlite).await;
    f.result("AA0001", "abnormal").await;
    let session = browser_login(&f.app, "lab").await;
    let page = get_page(&f.app, &session, "/sampling/results").await.text();
    let csrf = field(&page, "csrf");
    let code = &f.pooled[0].1;
    let res = post_form(
        &f.app,
        &session,
        "/sampling/retests",
        format!("csrf={csrf}&round={}&code={code}&result=negative", f.round),
    )
    .await
    .text();
    assert!(res.contains("<strong id=\"retest-name\">王*明</strong>"), "{res}");
    assert!(!res.contains("王小明"), "the lab does not see the whole name");
    let commander = browser_login(&f.app, "commander").await;
    let page = get_page(&f.app, &commander, "/sampling/results").await.text();
    let code = &f.pooled[1].1;
    let res = post_form(
        &f.app,
        &commander,
        "/sampling/retests",
        format!("csrf={}&round={}&code={code}&result=positive", field(&page, "csrf"), f.round),
    )
    .await
    .text();
    assert!(res.contains("<strong id=\"retest-name\">赵一</strong>"), "{res}");
    f.app.finish().await;
}
