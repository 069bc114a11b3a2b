//! The audit trail: scans are recorded with who sent them, idempotency keys
//! belong to their account, only a tube's sampler (their group's leader, the
//! command) seals it, and the audit log masks the personal data it holds
//! unless a reader allowed to reveal it asks to. Runs on both backends.

use crate::support::{browser_login, coded_resident, field, get_page, post_form, TestApp, PASSWORD};
use axum::http::{Method, StatusCode};
use frontline_domain::access::{Perm, Role};
use frontline_store::accounts::NewUser;
use frontline_store::audit::AuditFilter;
use frontline_store::{now_ms, Actor, Backend};
use serde_json::{json, Value};

/// A round over the test place's building, created by the group lead.
async fn round(app: &TestApp, building: i64) -> i64 {
    let lead = app.token(Role::GroupLead).await;
    let body = json!({"name": "R", "pool_size": 5, "buildings": [building]});
    let created = app.api(Method::POST, "/api/v1/sampling/rounds", Some(&lead), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let round = created.json()["id"].as_i64().expect("round");
    crate::support::sweeps(app, "volunteer", round).await;
    round
}

/// Posts one batch; its statuses.
async fn scans(app: &TestApp, token: &str, batch: Vec<(&str, i64, &str, &str)>) -> Vec<String> {
    let scans: Vec<Value> = batch
        .iter()
        .map(|(key, round, tube, code)| json!({"key": key, "round": round, "tube": tube, "resident_code": code}))
        .collect();
    let res = app.api(Method::POST, "/api/v1/sampling/scans", Some(token), Some(json!({"scans": scans}))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().expect("status").to_string())
        .collect()
}

/// An account with the test password, and a bearer token for it.
async fn account(app: &TestApp, name: &str, role: Role, group: Option<i64>) -> (i64, String) {
    let hash = frontline_web::auth::hash_password(PASSWORD.to_string()).await.expect("hash");
    let new = NewUser { username: name.into(), display_name: name.into(), password_hash: hash, role, group_id: group };
    let user = app.store().create_user(&Actor::system("test"), &new).await.expect("user");
    let token = frontline_web::auth::random_token().expect("token");
    let hash = frontline_web::auth::token_hash(&token);
    app.store().create_session(user.id, &hash, "api", "csrf-unused", now_ms() + 3_600_000).await.expect("session");
    (user.id, token)
}

async fn scan_batches_are_audited_with_their_sender(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let volunteer = app.token(Role::Volunteer).await;
    let volunteer_id = app.store().user_by_name("volunteer").await.expect("user").id;
    let (building, h1, _) = app.place().await;
    let (r1, c1) = coded_resident(&app, &staff, "甲", 21, h1).await;
    let (r2, c2) = coded_resident(&app, &staff, "乙", 23, h1).await;
    let round = round(&app, building).await;
    let before = app.store().list_audit(&AuditFilter::default(), None, 500).await.expect("audit").items.len();

    let answered = scans(&app, &volunteer, vec![("v1", round, "ZZ7001", &c1), ("v2", round, "ZZ7001", &c2)]).await;
    assert_eq!(answered, ["accepted", "accepted"]);
    let again = scans(&app, &volunteer, vec![("v1", round, "ZZ7001", &c1)]).await;
    assert_eq!(again, ["duplicate"]);

    let all = app.store().list_audit(&AuditFilter::default(), None, 500).await.expect("audit").items;
    assert_eq!(all.len(), before + 2, "one entry per batch, a replayed one included");
    let filter = AuditFilter { action: Some("sampling.scan_batch".into()), ..Default::default() };
    let entries = app.store().list_audit(&filter, None, 10).await.expect("audit").items;
    assert_eq!(entries.len(), 2);
    let first = &entries[1];
    assert_eq!(
        (first.actor.as_str(), first.actor_id, first.ip.as_deref()),
        ("volunteer", Some(volunteer_id), Some("127.0.0.1")),
        "who, from which client"
    );
    assert_eq!((first.entity.as_str(), first.entity_id.clone()), ("sampling_round", Some(round.to_string())));
    let after = first.after.clone().expect("the scans");
    let listed: Vec<(String, i64, String, String)> = after["scans"]
        .as_array()
        .expect("scans")
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or_default().to_string();
            (text("key"), s["resident"].as_i64().unwrap_or_default(), text("tube"), text("status"))
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("v1".to_string(), r1, "ZZ7001".to_string(), "accepted".to_string()),
            ("v2".to_string(), r2, "ZZ7001".to_string(), "accepted".to_string())
        ]
    );
    assert!(after["scans"][0]["at"].as_i64().is_some(), "when it was scanned");
    let text = after.to_string();
    let numbers =
        [crate::support::id_number("350602", 1980, 5, 5, 21), crate::support::id_number("350602", 1980, 5, 5, 23)];
    assert!(numbers.iter().all(|n| !text.contains(n.as_str())) && !text.contains(&c1), "no ID number or code: {text}");
    assert_eq!(entries[0].after.as_ref().expect("scans")["scans"][0]["status"], "duplicate");
    app.finish().await;
}

#[tokio::test]
async fn scan_batches_are_audited_with_their_sender_on_sqlite() {
    scan_batches_are_audited_with_their_sender(Backend::Sqlite).await;
}

#[tokio::test]
async fn scan_batches_are_audited_with_their_sender_on_postgres() {
    scan_batches_are_audited_with_their_sender(Backend::Postgres).await;
}

/// A key is the client's: a volunteer's phone that makes the same key as a
/// staff member's still has its scan stored; a replay by the same account is
/// a duplicate.
async fn keys_belong_to_their_account(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let volunteer = app.token(Role::Volunteer).await;
    let (building, h1, h2) = app.place().await;
    let (_, c1) = coded_resident(&app, &staff, "甲", 31, h1).await;
    let (r2, c2) = coded_resident(&app, &staff, "乙", 33, h2).await;
    let round = round(&app, building).await;

    assert_eq!(scans(&app, &staff, vec![("K", round, "ZZ7101", &c1)]).await, ["accepted"]);
    assert_eq!(scans(&app, &volunteer, vec![("K", round, "ZZ7102", &c2)]).await, ["accepted"], "another account's key");
    let tube = app.store().get_tube("ZZ7102").await.expect("the volunteer's scan was stored");
    assert_eq!(tube.members, 1);
    assert_eq!(app.store().sampled_in_building(round, building).await.expect("sampled").len(), 2);
    assert!(app.store().sampled_in_building(round, building).await.expect("sampled").contains(&(r2, "ZZ7102".into())));
    assert_eq!(scans(&app, &volunteer, vec![("K", round, "ZZ7102", &c2)]).await, ["duplicate"]);
    assert_eq!(scans(&app, &staff, vec![("K", round, "ZZ7101", &c1)]).await, ["duplicate"]);
    app.finish().await;
}

#[tokio::test]
async fn keys_belong_to_their_account_on_sqlite() {
    keys_belong_to_their_account(Backend::Sqlite).await;
}

#[tokio::test]
async fn keys_belong_to_their_account_on_postgres() {
    keys_belong_to_their_account(Backend::Postgres).await;
}

/// A tube is sealed by the account that opened it, the leader of that
/// account's working group, or the command (commander, deputy); anyone else
/// gets 403, through the API and the page.
async fn only_the_sampler_their_lead_and_the_command_seal(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let groups = app.store().list_groups().await.expect("groups");
    let (g1, g2) = (groups[0].id, groups[1].id);
    let (_, sampler) = account(&app, "sampler1", Role::Staff, Some(g1)).await;
    let (_, own_lead) = account(&app, "lead1", Role::GroupLead, Some(g1)).await;
    let (_, other_lead) = account(&app, "lead2", Role::GroupLead, Some(g2)).await;
    let (_, colleague) = account(&app, "staff2", Role::Staff, Some(g1)).await;
    let (building, h1, _) = app.place().await;
    let round = round(&app, building).await;
    let mut codes = Vec::new();
    for seq in 0..6 {
        codes.push(coded_resident(&app, &staff, &format!("人{seq}"), 41 + 2 * seq, h1).await.1);
    }
    let tubes = ["ZZ7201", "ZZ7202", "ZZ7203", "ZZ7204", "ZZ7205", "ZZ7206"];
    for (i, (tube, code)) in tubes.iter().zip(&codes).enumerate() {
        let key = format!("s{i}");
        assert_eq!(scans(&app, &sampler, vec![(&key, round, tube, code)]).await, ["accepted"]);
    }
    let sampler_id = app.store().user_by_name("sampler1").await.expect("user").id;
    assert_eq!(app.store().get_tube("ZZ7201").await.expect("tube").opened_by, Some(sampler_id));
    let seal = |tube: &str| format!("/api/v1/sampling/tubes/{tube}/seal");

    let volunteer = app.token(Role::Volunteer).await;
    for (who, token) in
        [("volunteer", &volunteer), ("staff", &staff), ("colleague", &colleague), ("other lead", &other_lead)]
    {
        let res = app.api(Method::POST, &seal("ZZ7201"), Some(token), None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{who}: {}", res.text());
    }
    assert!(!app.store().get_tube("ZZ7201").await.expect("tube").sealed, "nobody else sealed it");

    let commander = app.token(Role::Commander).await;
    let deputy = app.token(Role::Deputy).await;
    for (tube, token) in [("ZZ7201", &sampler), ("ZZ7202", &own_lead), ("ZZ7203", &deputy), ("ZZ7204", &commander)] {
        let res = app.api(Method::POST, &seal(tube), Some(token), None).await;
        assert_eq!(res.status, StatusCode::OK, "{tube}: {}", res.text());
        assert!(app.store().get_tube(tube).await.expect("tube").sealed);
    }

    // The page: the volunteer cannot, the sampler can.
    let page_seal = |session: String, tube: &'static str| {
        let app = &app;
        async move {
            let page = get_page(app, &session, format!("/sampling/rounds/{round}/scan?building={building}")).await;
            let csrf = field(&page.text(), "csrf");
            post_form(app, &session, format!("/sampling/rounds/{round}/seal"), format!("csrf={csrf}&tube={tube}")).await
        }
    };
    let refused = page_seal(browser_login(&app, "volunteer").await, "ZZ7205").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!app.store().get_tube("ZZ7205").await.expect("tube").sealed);
    let done = page_seal(browser_login(&app, "sampler1").await, "ZZ7205").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert!(app.store().get_tube("ZZ7205").await.expect("tube").sealed);
    app.finish().await;
}

#[tokio::test]
async fn only_the_sampler_their_lead_and_the_command_seal_on_sqlite() {
    only_the_sampler_their_lead_and_the_command_seal(Backend::Sqlite).await;
}

#[tokio::test]
async fn only_the_sampler_their_lead_and_the_command_seal_on_postgres() {
    only_the_sampler_their_lead_and_the_command_seal(Backend::Postgres).await;
}

/// How many `reveal` entries of the audit log the log holds.
async fn reveals(app: &TestApp) -> usize {
    let filter = AuditFilter { action: Some("reveal".into()), entity: Some("audit_log".into()), ..Default::default() };
    app.store().list_audit(&filter, None, 100).await.expect("audit").items.len()
}

/// The log shows what it protects masked: the ID number, phones (old and new)
/// and birth date of a resident created and edited are nowhere in the answer,
/// unless a reader allowed to reveal personal data asks, which is logged.
async fn the_audit_log_masks_personal_data_unless_revealed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let staff = app.token(Role::Staff).await;
    let commander = app.token(Role::Commander).await;
    let (_, h1, _) = app.place().await;
    let number = crate::support::id_number("350602", 1985, 7, 9, 51);
    let (old_phone, new_phone) = ("13812345678", "13987654321");
    let body = json!({"name": "林美华", "id_number": number, "phone": old_phone, "household": h1});
    let created = app.api(Method::POST, "/api/v1/residents", Some(&staff), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().expect("id");
    let patched = app
        .api(Method::PATCH, &format!("/api/v1/residents/{id}"), Some(&staff), Some(json!({"phone": new_phone})))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    let clear = [number.as_str(), old_phone, new_phone, "1985-07-09"];

    let masked = app.get("/api/v1/audit?entity=resident", &commander).await;
    assert_eq!(masked.status, StatusCode::OK, "{}", masked.text());
    let text = masked.text();
    for c in clear {
        assert!(!text.contains(c), "{c} in clear: {text}");
    }
    assert!(text.contains("林美华") && text.contains("138****5678") && text.contains("139****4321"), "{text}");
    assert!(text.contains(&format!("350602********{}", &number[14..])), "the ID number masked: {text}");
    assert_eq!(reveals(&app).await, 0, "a masked read is not a reveal");

    let revealed = app.get("/api/v1/audit?entity=resident&reveal=true", &commander).await;
    assert_eq!(revealed.status, StatusCode::OK, "{}", revealed.text());
    let text = revealed.text();
    for c in clear {
        assert!(text.contains(c), "{c} revealed: {text}");
    }
    assert_eq!(reveals(&app).await, 1, "the reveal is logged");
    let filter = AuditFilter { action: Some("reveal".into()), ..Default::default() };
    let entry = &app.store().list_audit(&filter, None, 1).await.expect("audit").items[0];
    assert_eq!(entry.actor, "commander");
    let shown: Vec<i64> =
        revealed.json()["items"].as_array().expect("items").iter().filter_map(|e| e["id"].as_i64()).collect();
    assert_eq!(entry.after.as_ref().expect("which entries")["entries"], json!(shown));

    for role in Role::ALL.into_iter().filter(|r| !r.can(Perm::RevealPersonalData)) {
        let token = app.token(role).await;
        let res = app.get("/api/v1/audit?reveal=true", &token).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    assert_eq!(reveals(&app).await, 1, "a refused reveal reveals nothing and logs nothing");

    // The page: masked, with a link that reveals (and is logged).
    let session = browser_login(&app, "commander").await;
    let page = get_page(&app, &session, "/audit?entity=resident").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for c in clear {
        assert!(!html.contains(c), "{c} in clear on the page");
    }
    assert!(html.contains("reveal=1"), "a reveal link for the commander");
    let page = get_page(&app, &session, "/audit?entity=resident&reveal=1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(number.as_str()), "revealed on request");
    assert_eq!(reveals(&app).await, 2);
    app.finish().await;
}

#[tokio::test]
async fn the_audit_log_masks_personal_data_unless_revealed_on_sqlite() {
    the_audit_log_masks_personal_data_unless_revealed(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_audit_log_masks_personal_data_unless_revealed_on_postgres() {
    the_audit_log_masks_personal_data_unless_revealed(Backend::Postgres).await;
}
