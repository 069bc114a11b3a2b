//! The conformance suite: every test runs unchanged on SQLite and on PostgreSQL.

use frontline_domain::access::Role;
use frontline_domain::date::Date;
use frontline_domain::ids::{IdNumber, Phone};
use frontline_domain::people::{SpecialNeed, SpecialNeeds};
use frontline_domain::places::ZoneLevel;
use frontline_domain::synth::SynthOptions;
use frontline_store::accounts::{Group, NewUser};
use frontline_store::audit::{AuditFilter, Change};
use frontline_store::residents::{Document, NewResident, ResidentFilter, ResidentPatch, Tails};
use frontline_store::testing::TestDb;
use frontline_store::{conformance, migrate, now_ms, Actor, Store, StoreError};

fn id(region: &str, y: i32, m: u32, d: u32, seq: u16) -> IdNumber {
    IdNumber::from_parts(region, Date::new(y, m, d).expect("valid test date"), seq)
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).expect("valid test phone")
}

fn admin() -> Actor {
    Actor::system("test")
}

/// Compound "海月花园" → 3号楼 → 1单元 → rooms 1301, 1302.
async fn small_place(store: &Store) -> (i64, i64, i64, i64) {
    let a = admin();
    let compound = store.ensure_compound(&a, "海月花园").await.expect("compound");
    let building = store.ensure_building(&a, compound, "3号楼", Some(3), Some(18)).await.expect("building");
    let unit = store.ensure_unit(&a, building, "1单元", Some(1)).await.expect("unit");
    let h1 = store.ensure_household(&a, unit, "1301", Some(13)).await.expect("household");
    let h2 = store.ensure_household(&a, unit, "1302", Some(13)).await.expect("household");
    (compound, building, h1, h2)
}

fn resident(name: &str, id_number: IdNumber, phone_no: Option<&str>, household: Option<i64>) -> NewResident {
    NewResident {
        name: name.to_string(),
        document: Document::CnId(id_number),
        birth_date: None,
        sex: None,
        phone: phone_no.map(phone),
        household_id: household,
        needs: SpecialNeeds::NONE,
    }
}

async fn sqlite_runs_in_wal_mode_with_foreign_keys(db: TestDb) {
    if db.store.backend() != frontline_store::Backend::Sqlite {
        return;
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(db.store.pool()).await.expect("pragma");
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(db.store.pool()).await.expect("pragma");
    assert_eq!(fk, 1);
}

/// A large transaction grows the write-ahead log; once the log starts over, the
/// file is cut back to 64 MiB instead of keeping that size for good.
async fn sqlite_cuts_the_log_back_after_a_large_transaction(db: TestDb) {
    if db.store.backend() != frontline_store::Backend::Sqlite {
        return;
    }
    const LIMIT: u64 = 64 << 20;
    let wal = format!("{}-wal", db.url.trim_start_matches("sqlite://"));
    let big = "x".repeat(80 << 20);
    db.store.setting_or_init("big", &big).await.expect("large write");
    let grown = std::fs::metadata(&wal).expect("log file").len();
    assert!(grown > LIMIT, "the large write should have grown the log past the limit: {grown} bytes");
    // The large commit checkpoints the log; the next write starts it over.
    db.store.setting_or_init("small", "y").await.expect("small write");
    let after = std::fs::metadata(&wal).expect("log file").len();
    assert!(after <= LIMIT, "the log kept {after} bytes (limit {LIMIT})");
    assert_eq!(db.store.setting("big").await.expect("read").map(|v| v.len()), Some(big.len()));
}

async fn migrations_apply_once(db: TestDb) {
    let names: Vec<String> = migrate::SQLITE.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(db.store.applied_migrations().await.expect("applied"), names);
    assert!(db.store.migrate().await.expect("second migrate").is_empty());
    db.store.ping().await.expect("ping");
}

async fn ensure_places_is_idempotent(db: TestDb) {
    let first = small_place(&db.store).await;
    let second = small_place(&db.store).await;
    assert_eq!(first, second);
    let page = db.store.list_households(Some(first.1), None, 10).await.expect("households");
    assert_eq!(page.items.len(), 2);
    let creations = db
        .store
        .list_audit(&AuditFilter { action: Some("household.create".into()), ..Default::default() }, None, 10)
        .await
        .expect("audit");
    assert_eq!(creations.items.len(), 2, "only real creations are audited");
}

async fn residents_round_trip_with_derived_fields(db: TestDb) {
    let (_, building, h1, _) = small_place(&db.store).await;
    let number = id("350602", 1987, 4, 12, 351);
    let mut new = resident("林美华", number.clone(), Some("+86 138-0013-8000"), Some(h1));
    new.needs = [SpecialNeed::Dialysis].into_iter().collect();
    let created = db.store.create_resident(&admin(), &new).await.expect("create");
    assert_eq!(created.id_number.as_deref(), Some(number.as_str()));
    assert_eq!(created.birth_date.as_deref(), Some("1987-04-12"));
    assert_eq!(created.sex.as_deref(), Some("male"));
    assert_eq!(created.phone.as_deref(), Some("13800138000"));
    assert_eq!(created.building_id, Some(building));
    assert!(SpecialNeeds::from_bits(created.needs).contains(SpecialNeed::Dialysis));
    let address = created.address.clone().expect("address");
    assert_eq!((address.building.as_str(), address.unit.as_str(), address.room.as_str()), ("3号楼", "1单元", "1301"));
    assert_eq!(db.store.get_resident(created.id).await.expect("get"), created);
    let audit = db
        .store
        .list_audit(
            &AuditFilter {
                entity: Some("resident".into()),
                entity_id: Some(created.id.to_string()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .expect("audit");
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].action, "resident.create");
    assert_eq!(audit.items[0].after.as_ref().and_then(|a| a["name"].as_str()), Some("林美华"));
}

async fn duplicate_id_number_is_a_named_conflict(db: TestDb) {
    let (_, _, h1, h2) = small_place(&db.store).await;
    let number = id("350603", 1990, 1, 1, 12);
    db.store.create_resident(&admin(), &resident("甲", number.clone(), None, Some(h1))).await.expect("first");
    let err = db.store.create_resident(&admin(), &resident("乙", number, None, Some(h2))).await.expect_err("dup");
    match err {
        StoreError::Conflict { constraint } => assert_eq!(constraint, "residents_id_number_key"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let all = db.store.list_residents(&ResidentFilter::default(), None, 10).await.expect("list");
    assert_eq!(all.items.len(), 1, "the refused write left nothing behind");
    let audits = db
        .store
        .list_audit(&AuditFilter { action: Some("resident.".into()), ..Default::default() }, None, 10)
        .await
        .expect("audit");
    assert_eq!(audits.items.len(), 1, "no audit entry for a refused write");
}

async fn missing_household_is_refused(db: TestDb) {
    let err = db
        .store
        .create_resident(&admin(), &resident("丙", id("350604", 1970, 6, 6, 20), None, Some(9_999)))
        .await
        .expect_err("missing household");
    assert!(matches!(err, StoreError::MissingReference), "{err:?}");
}

async fn moving_household_keeps_address_history(db: TestDb) {
    let (_, _, h1, h2) = small_place(&db.store).await;
    let r = db
        .store
        .create_resident(&admin(), &resident("丁", id("350605", 1960, 2, 29, 31), Some("13912345678"), Some(h1)))
        .await
        .expect("create");
    let patch =
        ResidentPatch { household_id: Some(h2), phone: Some(None), name: Some("丁一".into()), ..Default::default() };
    let moved = db.store.update_resident(&admin(), r.id, &patch).await.expect("update");
    assert_eq!(moved.household_id, Some(h2));
    assert_eq!(moved.phone, None);
    assert_eq!(moved.name, "丁一");
    let history = db.store.address_history(r.id).await.expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].0, Some(h2));
    assert_eq!(history[0].2, None, "the current address is open");
    assert_eq!(history[1].0, Some(h1));
    assert!(history[1].2.is_some(), "the old address was closed");
    let audit = db
        .store
        .list_audit(&AuditFilter { action: Some("resident.update".into()), ..Default::default() }, None, 10)
        .await
        .expect("audit");
    let entry = &audit.items[0];
    assert_eq!(entry.before.as_ref().and_then(|b| b["phone"].as_str()), Some("13912345678"));
    assert!(entry.after.as_ref().is_some_and(|a| a["phone"].is_null()));
}

async fn search_by_name_tail_and_address(db: TestDb) {
    let (_, building, h1, h2) = small_place(&db.store).await;
    let a = id("350602", 1950, 3, 3, 101);
    db.store.create_resident(&admin(), &resident("陈建国", a.clone(), Some("13800005678"), Some(h1))).await.expect("a");
    db.store
        .create_resident(&admin(), &resident("陈小红", id("350602", 1980, 5, 5, 202), Some("13900001111"), Some(h2)))
        .await
        .expect("b");
    db.store.create_resident(&admin(), &resident("王五", id("350603", 1990, 7, 7, 303), None, None)).await.expect("c");
    let find_as = |q: &str, tails: Tails, within: Option<Vec<i64>>| {
        let store = db.store.clone();
        let q = q.to_string();
        async move {
            let filter = ResidentFilter { query: Some(q), tails, within, ..Default::default() };
            let page = store.list_residents(&filter, None, 50).await.expect("search");
            let mut names: Vec<String> = page.items.into_iter().map(|r| r.name).collect();
            names.sort();
            names
        }
    };
    let both = Tails { phone: true, id: true };
    let find = |q: &str| find_as(q, both, None);
    assert_eq!(find("陈").await, vec!["陈小红", "陈建国"]);
    assert_eq!(find("5678").await, vec!["陈建国"]);
    assert_eq!(find(a.tail(4)).await, vec!["陈建国"]);
    assert_eq!(find(a.tail(6)).await, vec!["陈建国"]);
    // Tails that go past what a mask shows find nobody, whoever asks.
    assert_eq!(find("05678").await, Vec::<String>::new(), "5 digits are an ID tail, never a phone's");
    assert_eq!(find("13800005678").await, Vec::<String>::new());
    assert_eq!(find(a.tail(7)).await, Vec::<String>::new());
    // Each number only for readers who see it; none for others.
    assert_eq!(find_as("5678", Tails { phone: false, id: true }, None).await, Vec::<String>::new());
    assert_eq!(find_as(a.tail(4), Tails { phone: true, id: false }, None).await, Vec::<String>::new());
    assert_eq!(find_as("5678", Tails::default(), None).await, Vec::<String>::new());
    // A reader's reach narrows every search.
    assert_eq!(find_as("陈", both, Some(vec![])).await, Vec::<String>::new());
    assert_eq!(find_as("陈", both, Some(vec![building])).await, vec!["陈小红", "陈建国"]);
    assert_eq!(find_as("陈", both, Some(vec![building + 1_000])).await, Vec::<String>::new());
    assert_eq!(find("3-1-1302").await, vec!["陈小红"]);
    assert_eq!(find("3号楼").await.len(), 2);
    assert_eq!(find("李").await, Vec::<String>::new());
    assert_eq!(find("100%").await, Vec::<String>::new(), "LIKE wildcards are escaped");
    let in_building = db
        .store
        .list_residents(&ResidentFilter { building: Some(building), ..Default::default() }, None, 50)
        .await
        .expect("by building");
    assert_eq!(in_building.items.len(), 2);
}

async fn keyset_pages_cover_every_row_once(db: TestDb) {
    let (_, _, h1, _) = small_place(&db.store).await;
    for seq in 0..23u16 {
        db.store
            .create_resident(&admin(), &resident("某", id("350602", 1980, 1, 1, seq * 2), None, Some(h1)))
            .await
            .expect("create");
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db.store.list_residents(&ResidentFilter::default(), after, 5).await.expect("page");
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next {
            Some(cursor) => after = Some(cursor.parse::<i64>().expect("numeric cursor")),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, seen);
    assert_eq!(seen.len(), 23);
}

async fn zone_levels_keep_their_history(db: TestDb) {
    let (_, building, _, _) = small_place(&db.store).await;
    let now = now_ms();
    db.store
        .set_zone(&admin(), building, ZoneLevel::Sealed, now - 10_000, "positive case on floor 13")
        .await
        .expect("sealed");
    db.store
        .set_zone(&admin(), building, ZoneLevel::Controlled, now - 5_000, "7 clean days")
        .await
        .expect("controlled");
    db.store.set_zone(&admin(), building, ZoneLevel::Precaution, now + 86_400_000, "planned").await.expect("future");
    let b = db.store.get_building(building).await.expect("building");
    assert_eq!(b.summary.zone, Some(ZoneLevel::Controlled), "a future decision is not yet in force");
    let history = db.store.zone_history(building).await.expect("history");
    let levels: Vec<ZoneLevel> = history.iter().map(|z| z.level).collect();
    assert_eq!(levels, vec![ZoneLevel::Precaution, ZoneLevel::Controlled, ZoneLevel::Sealed]);
    assert_eq!(history[2].reason, "positive case on floor 13");
    assert_eq!(history[2].decided_by, "test");
}

async fn audit_log_is_append_only(db: TestDb) {
    db.store
        .record_access(
            &admin(),
            Change {
                action: "resident.reveal",
                entity: "resident",
                entity_id: Some("1".into()),
                before: None,
                after: None,
            },
        )
        .await
        .expect("record");
    let update = sqlx::query("UPDATE audit_log SET actor = 'someone else'").execute(db.store.pool()).await;
    assert!(update.is_err(), "UPDATE must be refused");
    let delete = sqlx::query("DELETE FROM audit_log").execute(db.store.pool()).await;
    assert!(delete.is_err(), "DELETE must be refused");
    let page = db.store.list_audit(&AuditFilter::default(), None, 10).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].actor, "test");
}

/// Two entries; the older one's id and (actor, action, at).
async fn two_entries(db: &TestDb) -> (i64, (String, String, i64)) {
    for action in ["resident.reveal", "resident.export"] {
        let change = Change { action, entity: "resident", entity_id: Some("1".into()), before: None, after: None };
        db.store.record_access(&admin(), change).await.expect("record");
    }
    let page = db.store.list_audit(&AuditFilter::default(), None, 10).await.expect("list");
    assert_eq!(page.items.len(), 2);
    let old = &page.items[1];
    (old.id, (old.actor.clone(), old.action.clone(), old.at))
}

/// The entry `id` as it was, and the log still two entries long.
async fn unchanged(db: &TestDb, id: i64, was: &(String, String, i64)) {
    let page = db.store.list_audit(&AuditFilter::default(), None, 10).await.expect("list");
    assert_eq!(page.items.len(), 2, "no entry removed or added");
    let e = page.items.iter().find(|e| e.id == id).expect("the entry is still there");
    assert_eq!(&(e.actor.clone(), e.action.clone(), e.at), was, "the entry is unchanged");
}

/// Neither SQLite's REPLACE (which deletes the clashing row without firing
/// DELETE triggers) nor an upsert, nor PostgreSQL's TRUNCATE (which fires no
/// row trigger), can rewrite or empty the log.
async fn audit_log_cannot_be_rewritten(db: TestDb) {
    let (id, was) = two_entries(&db).await;
    let forge = "(id, at, actor, action, entity) VALUES ($1, 0, 'forger', 'nothing.happened', 'audit_log')";
    let mut attempts = vec![format!(
        "INSERT INTO audit_log {forge} ON CONFLICT (id) DO UPDATE SET actor = excluded.actor, action = excluded.action"
    )];
    if db.store.backend() == frontline_store::Backend::Sqlite {
        attempts.push(format!("INSERT OR REPLACE INTO audit_log {forge}"));
        attempts.push(format!("REPLACE INTO audit_log {forge}"));
    }
    for sql in &attempts {
        let res = sqlx::query(sql).bind(id).execute(db.store.pool()).await;
        assert!(res.is_err(), "must be refused: {sql}");
        unchanged(&db, id, &was).await;
    }
    if db.store.backend() == frontline_store::Backend::Postgres {
        let res = sqlx::query("TRUNCATE audit_log").execute(db.store.pool()).await;
        let err = res.expect_err("TRUNCATE must be refused").to_string();
        assert!(err.contains("append-only"), "{err}");
        unchanged(&db, id, &was).await;
    }
    // A new entry still gets its own id.
    let change = Change { action: "resident.reveal", entity: "resident", entity_id: None, before: None, after: None };
    db.store.record_access(&admin(), change).await.expect("appending still works");
}

/// deploy/postgres-least-privilege.md: the server runs as a role that owns
/// nothing and holds only SELECT and INSERT on the audit log. It starts
/// (its migrate finds nothing to do and needs no DDL), writes entries, and
/// UPDATE, DELETE and TRUNCATE of the log are refused by privilege, before
/// any trigger.
async fn postgres_app_role_cannot_rewrite_the_audit_log(db: TestDb) {
    if db.store.backend() != frontline_store::Backend::Postgres {
        return;
    }
    let (id, was) = two_entries(&db).await;
    let role = format!("frontline_app_{}", db.url.rsplit('/').next().expect("database name"));
    let grants = [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}"),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ];
    for sql in &grants {
        sqlx::raw_sql(sql).execute(db.store.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // The same database, as the application's role (trust authentication in tests).
    let (scheme_user, host_db) = db.url.split_once('@').expect("user in the URL");
    let scheme = scheme_user.split_once("://").expect("scheme").0;
    let app = Store::connect(&format!("{scheme}://{role}@{host_db}")).await.expect("connect as the app role");
    let outcome = async {
        assert_eq!(app.migrate().await.expect("an up-to-date database migrates without DDL"), Vec::<&str>::new());
        app.ensure_default_groups().await.expect("the server's start-up writes");
        let change =
            Change { action: "resident.reveal", entity: "resident", entity_id: None, before: None, after: None };
        app.record_access(&admin(), change).await.expect("INSERT is granted");
        for sql in ["UPDATE audit_log SET actor = 'forger'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
            let err = sqlx::query(sql).execute(app.pool()).await.expect_err(sql).to_string();
            assert!(err.contains("permission denied"), "{sql} refused by privilege: {err}");
        }
        let page = app.list_audit(&AuditFilter::default(), None, 10).await.expect("SELECT is granted");
        assert_eq!(page.items.len(), 3);
        let e = page.items.iter().find(|e| e.id == id).expect("still there");
        assert_eq!((e.actor.clone(), e.action.clone(), e.at), was);
    };
    let result = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    app.close().await;
    // Roles outlive the database: drop this one whatever happened.
    for sql in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        sqlx::raw_sql(&sql).execute(db.store.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

async fn audit_filters_combine(db: TestDb) {
    let alice = Actor { user_id: None, name: "alice".into(), ip: Some("10.0.0.1".into()) };
    let bob = Actor::system("bob");
    for (who, action) in
        [(&alice, "resident.reveal"), (&bob, "resident.reveal"), (&alice, "building.zone"), (&alice, "resident_x")]
    {
        db.store
            .record_access(who, Change { action, entity: "resident", entity_id: None, before: None, after: None })
            .await
            .expect("record");
    }
    let f = AuditFilter { actor: Some("alice".into()), action: Some("resident.".into()), ..Default::default() };
    let page = db.store.list_audit(&f, None, 10).await.expect("filtered");
    assert_eq!(page.items.len(), 1, "prefix is literal: `resident_x` must not match `resident.`");
    assert_eq!(page.items[0].ip.as_deref(), Some("10.0.0.1"));
    let all = db.store.list_audit(&AuditFilter::default(), None, 2).await.expect("page 1");
    assert_eq!(all.items.len(), 2);
    assert!(all.items[0].id > all.items[1].id, "newest first");
    let rest =
        db.store.list_audit(&AuditFilter::default(), all.next.and_then(|c| c.parse().ok()), 10).await.expect("page 2");
    assert_eq!(rest.items.len(), 2);
    let future = db
        .store
        .list_audit(&AuditFilter { from: Some(now_ms() + 60_000), ..Default::default() }, None, 10)
        .await
        .expect("from");
    assert!(future.items.is_empty());
}

async fn accounts_and_sessions(db: TestDb) {
    db.store.ensure_default_groups().await.expect("groups");
    let groups = db.store.list_groups().await.expect("list groups");
    let new = NewUser {
        username: "chen".into(),
        display_name: "陈组长".into(),
        password_hash: "$argon2id$fake".into(),
        role: Role::GroupLead,
        group_id: Some(groups[0].id),
    };
    let user = db.store.create_user(&admin(), &new).await.expect("create user");
    assert_eq!(user.role, Role::GroupLead);
    let dup = db.store.create_user(&admin(), &new).await.expect_err("duplicate");
    assert!(matches!(dup, StoreError::Conflict { ref constraint } if constraint == "users_username_key"), "{dup:?}");
    let (found, hash) = db.store.user_for_login("chen").await.expect("lookup").expect("exists");
    assert_eq!((found.id, hash.as_str()), (user.id, "$argon2id$fake"));
    let now = now_ms();
    db.store.create_session(user.id, "h1", "cookie", "csrf1", now + 60_000).await.expect("session");
    db.store.create_session(user.id, "h2", "api", "csrf2", now - 1).await.expect("expired session");
    let (u, s) = db.store.session_user("h1", now).await.expect("query").expect("live");
    assert_eq!((u.id, s.csrf.as_str(), s.kind.as_str()), (user.id, "csrf1", "cookie"));
    assert!(db.store.session_user("h2", now).await.expect("query").is_none(), "expired");
    db.store.set_user_disabled(&admin(), "chen", true).await.expect("disable");
    assert!(db.store.session_user("h1", now).await.expect("query").is_none(), "disabled accounts lose their sessions");
    db.store.set_user_disabled(&admin(), "chen", false).await.expect("enable");
    db.store.create_session(user.id, "h3", "api", "c", now + 60_000).await.expect("session");
    db.store.set_password(&admin(), "chen", "$argon2id$new").await.expect("reset");
    assert!(db.store.session_user("h3", now).await.expect("query").is_none(), "a reset ends sessions");
    assert!(matches!(db.store.set_password(&admin(), "nobody", "x").await, Err(StoreError::NotFound)));
}

async fn working_groups_default_and_edit(db: TestDb) {
    db.store.ensure_default_groups().await.expect("first");
    db.store.ensure_default_groups().await.expect("second");
    let groups = db.store.list_groups().await.expect("list");
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, vec!["社区管理和服务", "核酸采样", "环境消杀", "管控巡逻", "物资保障", "特殊群体服务"]);
    let mut g = groups[5].clone();
    g.name = "特殊群体关爱".into();
    let updated = db.store.update_group(&admin(), &g).await.expect("update");
    assert_eq!(updated.name, "特殊群体关爱");
    let new = Group {
        id: 0,
        code: "volunteers".into(),
        name: "志愿者突击队".into(),
        name_en: "Volunteer commandos".into(),
        duty: String::new(),
        sort: 70,
        leader_id: None,
    };
    db.store.create_group(&admin(), &new).await.expect("create");
    assert!(matches!(db.store.create_group(&admin(), &new).await, Err(StoreError::Conflict { .. })));
    assert_eq!(db.store.list_groups().await.expect("list").len(), 7);
}

async fn synthetic_district_seeds_consistently(db: TestDb) {
    assert!(!db.store.has_places().await.expect("empty"));
    let opts = SynthOptions { residents: 1_500, seed: 7, today: Date::new(2022, 6, 13).expect("date") };
    let report = db.store.seed_synthetic(&Actor::system("demo"), &opts).await.expect("seed");
    assert_eq!(report.residents, 1_500);
    assert!(db.store.has_places().await.expect("seeded"));
    let mut residents = 0;
    let mut households = 0;
    let mut after = None;
    loop {
        let page = db.store.list_buildings(None, after, 7).await.expect("buildings");
        residents += page.items.iter().map(|b| b.residents).sum::<i64>();
        households += page.items.iter().map(|b| b.households).sum::<i64>();
        match page.next {
            Some(c) => after = c.parse().ok(),
            None => break,
        }
    }
    assert_eq!(u64::try_from(residents).ok(), Some(report.residents));
    assert_eq!(u64::try_from(households).ok(), Some(report.households));
    // Identity columns moved past the seeded ids: a normal insert still works.
    let first = db.store.list_households(None, None, 1).await.expect("households").items.remove(0);
    let r = db
        .store
        .create_resident(&admin(), &resident("新来的", id("110105", 2001, 9, 9, 998), None, Some(first.id)))
        .await
        .expect("insert after seed");
    assert_eq!(u64::try_from(r.id).ok(), Some(report.residents + 1));
}

async fn group_members_and_leaders(db: TestDb) {
    db.store.ensure_default_groups().await.expect("groups");
    let groups = db.store.list_groups().await.expect("list");
    let (g, other) = (groups[0].id, groups[1].id);
    let new = |name: &str| NewUser {
        username: name.into(),
        display_name: name.into(),
        password_hash: "$argon2id$x".into(),
        role: Role::Staff,
        group_id: None,
    };
    let chen = db.store.create_user(&admin(), &new("chen")).await.expect("chen");
    let lin = db.store.create_user(&admin(), &new("lin")).await.expect("lin");
    db.store.set_user_group(&admin(), chen.id, Some(g)).await.expect("join");
    assert!(
        matches!(db.store.set_group_leader(&admin(), g, Some(lin.id)).await, Err(StoreError::MissingReference)),
        "only a member leads"
    );
    assert_eq!(db.store.set_group_leader(&admin(), g, Some(chen.id)).await.expect("lead").leader_id, Some(chen.id));
    assert_eq!(
        db.store.group_members(g).await.expect("members").iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![chen.id]
    );
    db.store.set_user_group(&admin(), chen.id, Some(other)).await.expect("move");
    assert_eq!(db.store.get_group(g).await.expect("group").leader_id, None, "leaving ends the lead");
    assert!(matches!(db.store.set_user_group(&admin(), lin.id, Some(99_999)).await, Err(StoreError::MissingReference)));
    assert!(matches!(db.store.set_group_leader(&admin(), 99_999, None).await, Err(StoreError::NotFound)));
    let filter = AuditFilter { action: Some("user.group".into()), ..Default::default() };
    assert_eq!(db.store.list_audit(&filter, None, 10).await.expect("audit").items.len(), 2);
}

async fn settings_initialise_once(db: TestDb) {
    assert_eq!(db.store.setting("k").await.expect("get"), None);
    assert_eq!(db.store.setting_or_init("k", "first").await.expect("init"), "first");
    assert_eq!(db.store.setting_or_init("k", "second").await.expect("init again"), "first");
}

conformance!(
    sqlite_runs_in_wal_mode_with_foreign_keys,
    sqlite_cuts_the_log_back_after_a_large_transaction,
    migrations_apply_once,
    ensure_places_is_idempotent,
    residents_round_trip_with_derived_fields,
    duplicate_id_number_is_a_named_conflict,
    missing_household_is_refused,
    moving_household_keeps_address_history,
    search_by_name_tail_and_address,
    keyset_pages_cover_every_row_once,
    zone_levels_keep_their_history,
    audit_log_is_append_only,
    audit_log_cannot_be_rewritten,
    postgres_app_role_cannot_rewrite_the_audit_log,
    audit_filters_combine,
    accounts_and_sessions,
    working_groups_default_and_edit,
    group_members_and_leaders,
    synthetic_district_seeds_consistently,
    settings_initialise_once,
);
