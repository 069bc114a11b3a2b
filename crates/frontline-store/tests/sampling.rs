//! The scan writer on both backends: concurrent callers are group-committed,
//! and every scan keeps its own caller; on SQLite, a database holding a round
//! at migration 0005 is migrated to the clustered members table.

use frontline_domain::date::Date;
use frontline_domain::synth::SynthOptions;
use frontline_store::migrate::SQLITE;
use frontline_store::sampling::{NewRound, SamplingRound, Scan, ScanWriter, Submitter};
use frontline_store::testing::TestDb;
use frontline_store::{conformance, Actor, Store};

/// A synthetic district of `residents` and a round over all of it, in pools of 5.
async fn seeded_round(store: &Store, residents: usize) -> SamplingRound {
    let system = Actor::system("test");
    let opts = SynthOptions { residents, seed: 3, today: Date::new(2022, 6, 13).expect("date") };
    store.seed_synthetic(&system, &opts).await.expect("seed");
    let buildings: Vec<i64> =
        store.list_buildings(None, None, 500).await.expect("buildings").items.iter().map(|b| b.id).collect();
    let round = NewRound {
        name: "R".into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings,
        teams: vec![],
    };
    store.create_sampling_round(&system, &round).await.expect("round")
}

/// A well-formed scan of `resident` into `tube`.
fn scan(key: String, round: i64, tube: String, resident: i64, at: i64) -> Scan {
    Scan { key, round, tube, resident: Some(resident), refusal: None, at }
}

async fn grouped_scans_keep_each_samplers_name(db: TestDb) {
    let store = db.store.clone();
    let round = seeded_round(&store, 300).await;
    let residents = store.list_residents(&Default::default(), None, 300).await.expect("residents").items;
    let writer = ScanWriter::spawn(store.clone(), 1_000);
    // 60 phones from two samplers submit at once: the writer groups what waits in its queue.
    let mut tasks = Vec::new();
    for (phone, chunk) in residents.chunks(5).enumerate() {
        let sampler = if phone % 2 == 0 { "sampler-even" } else { "sampler-odd" }.to_string();
        let scans: Vec<Scan> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let at = 1_000 + i64::try_from(i).unwrap_or(0);
                scan(format!("p{phone}-{i}"), round.id, format!("ZZ{phone:05}"), r.id, at)
            })
            .collect();
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move { writer.submit(sampler, scans).await }));
    }
    for t in tasks {
        let statuses = t.await.expect("task").expect("written");
        assert!(statuses.iter().all(|s| *s == "accepted"), "{statuses:?}");
    }
    for phone in 0..residents.chunks(5).len() {
        let tube = store.get_tube(&format!("ZZ{phone:05}")).await.expect("tube");
        let expected = if phone % 2 == 0 { "sampler-even" } else { "sampler-odd" };
        assert_eq!(tube.sampler, expected, "tube {phone} records who opened it");
        assert_eq!((tube.members, tube.sealed), (5, true));
    }
    let coverage = store.sampling_coverage(round.id).await.expect("coverage");
    assert_eq!(coverage.sampled, 300);
    // Each building's counter, kept by the writer, agrees with its members.
    let counted: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT building_id, COUNT(*) FROM sampling_members WHERE round_id = $1 AND valid = 1 \
         GROUP BY building_id ORDER BY building_id",
    )
    .bind(round.id)
    .fetch_all(store.pool())
    .await
    .expect("counted");
    let kept: Vec<(i64, i64)> =
        coverage.buildings.iter().filter(|b| b.sampled > 0).map(|b| (b.building, b.sampled)).collect();
    assert_eq!(kept, counted);
    if store.backend() == frontline_store::Backend::Sqlite {
        // SQLite's writer does not re-check foreign keys as it writes (it writes only
        // what it read in the same transaction): nothing it wrote may dangle.
        let dangling: Vec<(String, Option<i64>, String, i64)> =
            sqlx::query_as("PRAGMA foreign_key_check").fetch_all(store.pool()).await.expect("check");
        assert!(dangling.is_empty(), "{dangling:?}");
        let tubes: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sampling_tubes").fetch_one(store.pool()).await.expect("n");
        assert_eq!(tubes, 60);
    }
}

type Member = (i64, i64, i64, Option<i64>, i64, i64);

async fn members(store: &Store) -> Vec<Member> {
    sqlx::query_as(
        "SELECT round_id, resident_id, tube_id, building_id, scanned_at, valid FROM sampling_members \
         ORDER BY round_id, resident_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("members")
}

#[tokio::test]
async fn migrating_to_clustered_members_and_building_counters_keeps_every_member() {
    let path = std::env::temp_dir().join(format!("frontline-migrate-members-{}.db", std::process::id()));
    let remove = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    };
    remove();
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    // The database as an earlier release left it: migrations up to 0005.
    sqlx::raw_sql(
        "CREATE TABLE _frontline_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(store.pool())
    .await
    .expect("bookkeeping");
    for m in SQLITE.iter().filter(|m| m.version <= 5) {
        sqlx::raw_sql(m.sql).execute(store.pool()).await.expect(m.name);
        sqlx::query("INSERT INTO _frontline_migrations (version, name, applied_at) VALUES ($1, $2, 0)")
            .bind(m.version)
            .bind(m.name)
            .execute(store.pool())
            .await
            .expect("recorded");
    }
    let round = seeded_round(&store, 40).await;
    let residents = store.list_residents(&Default::default(), None, 40).await.expect("residents").items;
    // Members as the previous release's writer left them: one tube each, every
    // seventh person's tube invalid.
    sqlx::query(
        "INSERT INTO sampling_tubes (round_id, code, pool_size, members, sealed, opened_at, sampler) \
         SELECT $1, 'MG' || id, 1, 1, 1, 0, 'old' FROM residents",
    )
    .bind(round.id)
    .execute(store.pool())
    .await
    .expect("tubes");
    sqlx::query(
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid) \
         SELECT $1, t.id, r.id, r.building_id, 1000 + r.id, CASE WHEN r.id % 7 = 0 THEN 0 ELSE 1 END \
         FROM residents r JOIN sampling_tubes t ON t.code = 'MG' || r.id",
    )
    .bind(round.id)
    .execute(store.pool())
    .await
    .expect("members");
    let before = members(&store).await;
    assert_eq!(before.len(), 40);
    let mut valid_by_building: std::collections::BTreeMap<i64, i64> = Default::default();
    for r in residents.iter().filter(|r| r.id % 7 != 0) {
        *valid_by_building.entry(r.building_id.expect("building")).or_default() += 1;
    }

    // The pending migrations run in order, these three first (later ones follow).
    let applied = store.migrate().await.expect("migrate");
    assert_eq!(applied[..3], ["0006_members_clustered", "0007_building_counters", "0008_missed_reasons"]);
    assert_eq!(applied.len(), SQLITE.iter().filter(|m| m.version > 5).count(), "{applied:?}");
    assert_eq!(members(&store).await, before, "every member kept, field for field");
    let coverage = store.sampling_coverage(round.id).await.expect("coverage");
    let counted: std::collections::BTreeMap<i64, i64> =
        coverage.buildings.iter().filter(|b| b.sampled > 0).map(|b| (b.building, b.sampled)).collect();
    assert_eq!(counted, valid_by_building, "each building's counter starts from its valid members");
    assert_eq!(coverage.sampled, valid_by_building.values().sum::<i64>());
    assert_eq!(coverage.expected, 40);
    let clustered: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sampling_members' AND sql LIKE '%WITHOUT ROWID%'",
    )
    .fetch_one(store.pool())
    .await
    .expect("schema");
    assert_eq!(clustered, 1);
    let dangling: Vec<(String, Option<i64>, String, i64)> =
        sqlx::query_as("PRAGMA foreign_key_check").fetch_all(store.pool()).await.expect("check");
    assert!(dangling.is_empty(), "{dangling:?}");
    // A resident is still in one tube per round: the key is the table's own.
    let again = sqlx::query(
        "INSERT INTO sampling_members (round_id, resident_id, tube_id, building_id, scanned_at, valid) \
         SELECT round_id, resident_id, tube_id, building_id, scanned_at, valid FROM sampling_members LIMIT 1",
    )
    .execute(store.pool())
    .await;
    assert!(again.is_err(), "a second membership in the same round is refused");
    store.close().await;
    remove();
}

/// A writer started on a round that already has members (a restarted server)
/// knows who is in a tube: the same person into another tube is refused, into
/// the same one is a duplicate.
async fn a_restarted_writer_knows_the_rounds_members(db: TestDb) {
    let store = db.store.clone();
    let round = seeded_round(&store, 20).await;
    let residents = store.list_residents(&Default::default(), None, 2).await.expect("residents").items;
    let first = ScanWriter::spawn(store.clone(), 10);
    let written = first
        .submit("phone".into(), vec![scan("a1".into(), round.id, "ZZ0001".into(), residents[0].id, 1)])
        .await
        .expect("written");
    assert_eq!(written, vec!["accepted"]);
    drop(first);
    let again = ScanWriter::spawn(store.clone(), 10);
    let answered = again
        .submit(
            "phone".into(),
            vec![
                scan("b1".into(), round.id, "ZZ0002".into(), residents[0].id, 2),
                scan("b2".into(), round.id, "ZZ0001".into(), residents[0].id, 3),
                scan("b3".into(), round.id, "ZZ0001".into(), residents[1].id, 4),
            ],
        )
        .await
        .expect("written");
    assert_eq!(answered, vec!["already_in_tube", "duplicate", "accepted"]);
    assert_eq!(store.get_tube("ZZ0001").await.expect("tube").members, 2);
    assert_eq!(store.sampling_coverage(round.id).await.expect("coverage").sampled, 2);
}

/// A member row written by another connection after the writer read the round
/// is still seen: the scan of that person is refused, nothing of its group is
/// half-written, and the writer goes on.
async fn a_member_written_behind_the_writers_back_is_seen(db: TestDb) {
    let store = db.store.clone();
    let round = seeded_round(&store, 20).await;
    let residents = store.list_residents(&Default::default(), None, 3).await.expect("residents").items;
    let writer = ScanWriter::spawn(store.clone(), 10);
    let written = writer
        .submit("phone".into(), vec![scan("c1".into(), round.id, "ZZ0001".into(), residents[0].id, 1)])
        .await
        .expect("written");
    assert_eq!(written, vec!["accepted"]);
    let tube: i64 = sqlx::query_scalar(
        "INSERT INTO sampling_tubes (round_id, code, pool_size, members, sealed, opened_at, sampler) \
         VALUES ($1, 'ELSEWHERE', 1, 1, 1, 0, 'other') RETURNING id",
    )
    .bind(round.id)
    .fetch_one(store.pool())
    .await
    .expect("tube");
    sqlx::query(
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid) \
         VALUES ($1, $2, $3, $4, 0, 1)",
    )
    .bind(round.id)
    .bind(tube)
    .bind(residents[1].id)
    .bind(residents[1].building_id)
    .execute(store.pool())
    .await
    .expect("member");
    let answered = writer
        .submit(
            "phone".into(),
            vec![
                scan("c2".into(), round.id, "ZZ0002".into(), residents[2].id, 2),
                scan("c3".into(), round.id, "ZZ0002".into(), residents[1].id, 3),
            ],
        )
        .await
        .expect("written");
    assert_eq!(answered, vec!["accepted", "already_in_tube"]);
    let in_tube: Vec<i64> = sqlx::query_scalar(
        "SELECT m.resident_id FROM sampling_members m JOIN sampling_tubes t ON t.id = m.tube_id \
         WHERE t.code = 'ZZ0002' ORDER BY m.resident_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("members");
    assert_eq!(in_tube, vec![residents[2].id], "only the accepted scan's member, once");
    assert_eq!(store.get_tube("ZZ0002").await.expect("tube").members, 1);
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT key, status FROM sampling_scan_keys WHERE key IN ('c2', 'c3') ORDER BY key")
            .fetch_all(store.pool())
            .await
            .expect("keys");
    assert_eq!(keys, vec![("c2".into(), "accepted".into()), ("c3".into(), "already_in_tube".into())]);
}

/// The sweep notes why someone was missed: the reason shows on the missed
/// list (a voided tube shows as `tube_invalid` without anyone noting it), an
/// exemption is lifted, and nobody sampled, outside the round, or given the
/// lab's own reason is noted.
async fn missed_people_carry_the_sweeps_reason(db: TestDb) {
    use frontline_domain::sampling::{LabResult, MissReason, TubeCode};
    use frontline_store::sampling::{MissNote, MissedFilter};
    let store = db.store.clone();
    let round = seeded_round(&store, 1_500).await;
    let system = Actor::system("sweep");
    let ids: Vec<i64> = store
        .list_residents(&Default::default(), None, 40)
        .await
        .expect("residents")
        .items
        .iter()
        .map(|r| r.id)
        .collect();
    let (bedridden, exempt, sampled, voided) = (ids[0], ids[1], ids[2], ids[3]);
    let writer = ScanWriter::spawn(store.clone(), 10);
    let answered = writer
        .submit(
            "phone".into(),
            vec![
                scan("s".into(), round.id, "ZZ0001".into(), sampled, 1),
                scan("v".into(), round.id, "ZZ0002".into(), voided, 2),
            ],
        )
        .await
        .expect("written");
    assert_eq!(answered, vec!["accepted", "accepted"]);
    store
        .record_lab_results(&system, &[(TubeCode::parse("ZZ0002").expect("tube"), LabResult::Invalid)], 24)
        .await
        .expect("lab");
    store.exempt_from_round(&system, round.id, exempt, "away").await.expect("exempt");
    let expected_before = store.sampling_coverage(round.id).await.expect("coverage").expected;

    let note = |resident, reason| store.note_missed(&system, round.id, resident, reason);
    assert_eq!(note(bedridden, MissReason::Refused).await.expect("note"), MissNote::Noted);
    assert_eq!(note(bedridden, MissReason::Bedridden).await.expect("note"), MissNote::Noted, "the latest note counts");
    assert_eq!(note(exempt, MissReason::NotHome).await.expect("note"), MissNote::Noted);
    assert_eq!(note(sampled, MissReason::Refused).await.expect("note"), MissNote::AlreadySampled);
    assert_eq!(note(voided, MissReason::TubeInvalid).await.expect("note"), MissNote::Reserved);
    // A round over another building: the resident is outside it.
    let home = store.get_resident(bedridden).await.expect("resident").building_id.expect("building");
    let elsewhere = store
        .list_buildings(None, None, 500)
        .await
        .expect("buildings")
        .items
        .into_iter()
        .map(|b| b.id)
        .find(|b| *b != home)
        .expect("a second building");
    let other_round = NewRound {
        name: "elsewhere".into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings: vec![elsewhere],
        teams: vec![],
    };
    let small = store.create_sampling_round(&system, &other_round).await.expect("round");
    assert_eq!(
        store.note_missed(&system, small.id, bedridden, MissReason::Away).await.expect("note"),
        MissNote::OutOfScope
    );

    let missed = store.sampling_missed(round.id, &MissedFilter::default()).await.expect("missed");
    let reason = |id: i64| missed.iter().find(|m| m.resident_id == id).map(|m| m.reason.clone());
    assert_eq!(reason(bedridden), Some(Some("bedridden".to_string())));
    assert_eq!(reason(exempt), Some(Some("not_home".to_string())), "back on the list: the exemption is lifted");
    assert_eq!(reason(voided), Some(Some("tube_invalid".to_string())));
    assert_eq!(reason(sampled), None, "the sampled are not missed");
    assert_eq!(store.sampling_coverage(round.id).await.expect("coverage").expected, expected_before + 1);
}

/// A submission limited to some buildings (a volunteer's assignment) refuses,
/// scan by scan, the residents of every other building as
/// `outside_assignment`; the rest of the batch is written. The batch is one
/// audit entry under its account, naming its scans and the assignment. Keys
/// belong to their account: another account's same key is a new scan.
async fn scans_outside_the_assignment_are_refused_one_by_one(db: TestDb) {
    let store = db.store.clone();
    seeded_round(&store, 300).await;
    let residents = store.list_residents(&Default::default(), None, 300).await.expect("residents").items;
    let home = residents[0].building_id.expect("a building");
    // The synthetic district fills one building first: one resident moves next
    // door, and the round takes in both buildings.
    let system = Actor::system("test");
    let compound = store.ensure_compound(&system, "隔壁花园").await.expect("compound");
    let next_door = store.ensure_building(&system, compound, "1号楼", Some(1), Some(6)).await.expect("building");
    let both = NewRound {
        name: "R2".into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings: vec![home, next_door],
        teams: vec![],
    };
    let round = store.create_sampling_round(&system, &both).await.expect("round");
    let moved = residents[residents.len() - 1].id;
    sqlx::query("UPDATE residents SET building_id = $1 WHERE id = $2")
        .bind(next_door)
        .bind(moved)
        .execute(store.pool())
        .await
        .expect("moved");
    let inside = [residents[0].id, residents[1].id];
    let outside = [moved];
    let writer = ScanWriter::spawn(store.clone(), 10);
    let volunteer = Actor { user_id: Some(41), name: "volunteer-41".into(), ip: Some("10.1.2.3".into()) };
    let assigned = Submitter { actor: volunteer.clone(), buildings: Some([home].into_iter().collect()) };
    let batch = vec![
        scan("a".into(), round.id, "ZZ0001".into(), inside[0], 1),
        scan("b".into(), round.id, "ZZ0001".into(), outside[0], 2),
        scan("c".into(), round.id, "ZZ0001".into(), inside[1], 3),
    ];
    let answered = writer.submit_as(assigned.clone(), batch).await.expect("written");
    assert_eq!(answered, vec!["accepted", "outside_assignment", "accepted"]);
    assert_eq!(store.get_tube("ZZ0001").await.expect("tube").members, 2, "only the assigned building's people");
    assert_eq!(store.get_tube("ZZ0001").await.expect("tube").opened_by, Some(41));

    let replay = vec![
        scan("a".into(), round.id, "ZZ0001".into(), inside[0], 1),
        scan("b".into(), round.id, "ZZ0001".into(), outside[0], 2),
    ];
    let again = writer.submit_as(assigned, replay).await.expect("written");
    assert_eq!(again, vec!["duplicate", "outside_assignment"], "a replay answers as the first time");

    // Another account, allowed anywhere, with the same key "b": its own scan.
    let staff = Submitter::anywhere(Actor { user_id: Some(42), name: "staff-42".into(), ip: None });
    let theirs = writer
        .submit_as(staff, vec![scan("b".into(), round.id, "ZZ0002".into(), outside[0], 4)])
        .await
        .expect("written");
    assert_eq!(theirs, vec!["accepted"], "another account's key is not a replay");

    let filter = frontline_store::audit::AuditFilter {
        action: Some("sampling.scan_batch".into()),
        actor: Some("volunteer-41".into()),
        ..Default::default()
    };
    let entries = store.list_audit(&filter, None, 10).await.expect("audit").items;
    assert_eq!(entries.len(), 2, "one entry per batch");
    let first = &entries[1];
    assert_eq!((first.actor_id, first.ip.as_deref()), (Some(41), Some("10.1.2.3")));
    assert_eq!((first.entity.as_str(), first.entity_id.clone()), ("sampling_round", Some(round.id.to_string())));
    let after = first.after.as_ref().expect("the scans");
    assert_eq!(after["assignment"], serde_json::json!([home]));
    let scans = after["scans"].as_array().expect("scans");
    let seen: Vec<(&str, i64, &str, &str)> = scans
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or_default();
            (text("key"), s["resident"].as_i64().unwrap_or_default(), text("tube"), text("status"))
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a", inside[0], "ZZ0001", "accepted"),
            ("b", outside[0], "ZZ0001", "outside_assignment"),
            ("c", inside[1], "ZZ0001", "accepted")
        ]
    );
}

conformance!(
    scans_outside_the_assignment_are_refused_one_by_one,
    missed_people_carry_the_sweeps_reason,
    grouped_scans_keep_each_samplers_name,
    each_key_keeps_the_outcome_it_was_answered_with,
    a_restarted_writer_knows_the_rounds_members,
    a_member_written_behind_the_writers_back_is_seen,
    a_crashed_writer_is_started_again,
    two_writers_on_one_database_lose_no_count_and_bind_nobody_twice,
    retest_results_follow_the_domains_state_machine,
);

/// Retest results go through the domain's transitions: a result for someone
/// waiting for a retest moves them; an invalid one leaves them waiting; a
/// cleared person has no retest due; a confirmed case takes no more results;
/// someone never in an abnormal pool has none due. Each outcome is what
/// `frontline_domain::sampling::apply` says for the person's state.
async fn retest_results_follow_the_domains_state_machine(db: TestDb) {
    use frontline_domain::sampling::{apply, Event, LabResult, PersonStatus, RetestResult, TubeCode};
    let store = db.store.clone();
    let round = seeded_round(&store, 20).await;
    let residents = store.list_residents(&Default::default(), None, 6).await.expect("residents").items;
    let writer = ScanWriter::spawn(store.clone(), 10);
    // Three people in an abnormal pool, three in a negative one.
    let scans: Vec<Scan> = residents
        .iter()
        .enumerate()
        .map(|(i, r)| scan(format!("r{i}"), round.id, format!("ZZ000{}", 1 + i / 3), r.id, 1))
        .collect();
    writer.submit("phone".into(), scans).await.expect("written");
    let system = Actor::system("lab");
    let tube = |c: &str| TubeCode::parse(c).expect("tube");
    store
        .record_lab_results(
            &system,
            &[(tube("ZZ0001"), LabResult::Abnormal), (tube("ZZ0002"), LabResult::Negative)],
            24,
        )
        .await
        .expect("lab");
    let (a, b, c, clear) = (residents[0].id, residents[1].id, residents[2].id, residents[3].id);
    let record = |who: i64, result: RetestResult| {
        let store = store.clone();
        let system = system.clone();
        async move { store.record_retests(&system, round.id, &[(who, result)]).await.expect("retest")[0] }
    };
    // Each step's expected outcome is the domain's, from the person's status.
    let steps = [
        (a, PersonStatus::RetestPending, RetestResult::Negative, "cleared"),
        (a, PersonStatus::Cleared, RetestResult::Negative, "no_retest_due"),
        (b, PersonStatus::RetestPending, RetestResult::Invalid, "pending"),
        (b, PersonStatus::RetestPending, RetestResult::Positive, "confirmed"),
        (b, PersonStatus::Confirmed, RetestResult::Negative, "already_confirmed"),
    ];
    for (who, status, result, answered) in steps {
        let domain = match apply(&status, &Event::RetestResult(result)) {
            Ok(PersonStatus::RetestPending) => "pending".to_string(),
            Ok(s) => s.code().to_string(),
            Err(e) if e.code() == "not_awaiting_retest_result" => "no_retest_due".to_string(),
            Err(e) => e.code().to_string(),
        };
        assert_eq!(domain, answered, "the domain's word for {status:?} + {result:?}");
        assert_eq!(record(who, result).await, answered, "the store's for {status:?} + {result:?}");
    }
    assert_eq!(record(clear, RetestResult::Positive).await, "no_retest_due", "never in an abnormal pool");
    assert_eq!(
        store.pending_retests(round.id).await.expect("pending").iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![c]
    );
    assert_eq!(store.confirmed_cases(round.id).await.expect("cases").iter().map(|p| p.0).collect::<Vec<_>>(), vec![b]);
}

/// The writer panics (the test hook): the group it held is answered
/// `Unavailable` and nothing of it stays; while it is held down, scans are
/// refused at once and it says it is down; released, it starts again and
/// still knows who is in which tube.
async fn a_crashed_writer_is_started_again(db: TestDb) {
    use frontline_store::sampling::SubmitError;
    let store = db.store.clone();
    let round = seeded_round(&store, 20).await;
    let residents = store.list_residents(&Default::default(), None, 3).await.expect("residents").items;
    let writer = ScanWriter::spawn(store.clone(), 10);
    assert!(writer.wait_up(std::time::Duration::from_secs(10)).await, "the writer starts");
    let first = writer
        .submit("phone".into(), vec![scan("w1".into(), round.id, "ZZ0001".into(), residents[0].id, 1)])
        .await
        .expect("written");
    assert_eq!(first, vec!["accepted"]);

    writer.crash(true).await;
    assert!(!writer.is_up(), "a crashed writer held down says so");
    let refused =
        writer.submit("phone".into(), vec![scan("w2".into(), round.id, "ZZ0001".into(), residents[1].id, 2)]).await;
    assert_eq!(refused, Err(SubmitError::Unavailable));
    writer.release();
    assert!(writer.wait_up(std::time::Duration::from_secs(10)).await, "released, it starts again");
    let after = writer
        .submit(
            "phone".into(),
            vec![
                scan("w2".into(), round.id, "ZZ0001".into(), residents[1].id, 3),
                scan("w3".into(), round.id, "ZZ0002".into(), residents[0].id, 4),
            ],
        )
        .await
        .expect("written");
    assert_eq!(after, vec!["accepted", "already_in_tube"], "the refused scan was not kept; the tube is remembered");

    // A crash nobody holds: the supervisor starts the writer again by itself.
    writer.crash(false).await;
    assert!(writer.wait_up(std::time::Duration::from_secs(10)).await, "started again");
    let later = writer
        .submit("phone".into(), vec![scan("w4".into(), round.id, "ZZ0001".into(), residents[2].id, 5)])
        .await
        .expect("written");
    assert_eq!(later, vec!["accepted"]);
    assert_eq!(store.get_tube("ZZ0001").await.expect("tube").members, 3);
}

/// Two server instances (two stores, two writers) on one database scan the
/// same tubes and the same people at once. No tube loses a count or takes
/// more than its pool; each person ends up in exactly one tube, the other
/// instance's scan refused, and every other scan of that group committed.
async fn two_writers_on_one_database_lose_no_count_and_bind_nobody_twice(db: TestDb) {
    let store = db.store.clone();
    let round = seeded_round(&store, 120).await;
    let residents = store.list_residents(&Default::default(), None, 60).await.expect("residents").items;
    let other = Store::connect(&db.url).await.expect("second instance");
    let writers = [ScanWriter::spawn(store.clone(), 1_000), ScanWriter::spawn(other.clone(), 1_000)];
    let mut tasks = Vec::new();
    for (w, writer) in writers.iter().enumerate() {
        // Each instance's phones scan everyone, five to a request, into tubes
        // the other instance fills too (offset by two people).
        for (phone, chunk) in residents.chunks(5).enumerate() {
            let scans: Vec<Scan> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let tube = (phone * 5 + i + 2 * w) / 5 % 12;
                    scan(format!("i{w}-{phone}-{i}"), round.id, format!("ZZ{tube:04}"), r.id, 1_000)
                })
                .collect();
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move { writer.submit(format!("instance-{w}"), scans).await }));
        }
    }
    let mut accepted = 0;
    for t in tasks {
        let statuses = t.await.expect("task").expect("written");
        for s in &statuses {
            assert!(
                ["accepted", "already_in_tube", "duplicate", "tube_full", "tube_sealed"].contains(s),
                "unexpected {s}"
            );
        }
        accepted += statuses.iter().filter(|s| **s == "accepted").count();
    }
    let per_resident: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT resident_id, COUNT(*) FROM sampling_members WHERE round_id = $1 AND valid = 1 GROUP BY resident_id \
         HAVING COUNT(*) > 1",
    )
    .bind(round.id)
    .fetch_all(store.pool())
    .await
    .expect("members");
    assert_eq!(per_resident, vec![], "nobody is in two tubes");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sampling_members WHERE round_id = $1 AND valid = 1")
        .bind(round.id)
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(usize::try_from(rows).expect("rows"), accepted, "every accepted scan is one member row");
    let tubes: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT t.code, t.members, t.pool_size, (SELECT COUNT(*) FROM sampling_members m WHERE m.tube_id = t.id) \
         FROM sampling_tubes t WHERE t.round_id = $1 ORDER BY t.code",
    )
    .bind(round.id)
    .fetch_all(store.pool())
    .await
    .expect("tubes");
    assert!(!tubes.is_empty());
    for (code, members, pool, counted) in &tubes {
        assert_eq!(members, counted, "tube {code} keeps every member's count");
        assert!(members <= pool, "tube {code} holds no more than its pool");
    }
    let coverage = store.sampling_coverage(round.id).await.expect("coverage");
    assert_eq!(coverage.sampled, rows, "the buildings' counters agree");
    other.close().await;
}

/// A census import holds SQLite's write lock for its whole transaction: scans
/// arriving meanwhile are answered "busy, retry" (503), not a server error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_meeting_a_held_database_are_told_to_retry() {
    let db = TestDb::new(frontline_store::Backend::Sqlite).await;
    let store = db.store.clone();
    let round = seeded_round(&store, 20).await;
    let resident = store.list_residents(&Default::default(), None, 1).await.expect("residents").items[0].id;
    let keyed = |key: &str| scan(key.into(), round.id, "ZZ0001".into(), resident, 1);
    let writer = ScanWriter::spawn(store.clone(), 10);
    let mut holder = store.pool().acquire().await.expect("connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.expect("write lock");
    let refused = writer.submit("phone".into(), vec![keyed("k1")]).await;
    assert!(matches!(refused, Err(frontline_store::sampling::SubmitError::Busy)), "{refused:?}");
    sqlx::query("ROLLBACK").execute(&mut *holder).await.expect("release");
    drop(holder);
    let again = writer.submit("phone".into(), vec![keyed("k1")]).await.expect("written");
    assert_eq!(again, vec!["accepted".to_string()], "nothing of the refused attempt was kept");
    db.drop_db().await;
}

/// Every scan's key is stored with the outcome it was answered with, refusals
/// included. A replayed key stores nothing more and answers as its first scan
/// did: `duplicate` when that was accepted, else the same refusal — within one
/// group or later, whatever the replay carries.
async fn each_key_keeps_the_outcome_it_was_answered_with(db: TestDb) {
    let store = db.store.clone();
    let round = seeded_round(&store, 20).await;
    let resident = store.list_residents(&Default::default(), None, 1).await.expect("residents").items[0].id;
    let writer = ScanWriter::spawn(store.clone(), 10);
    let group = vec![
        scan("ok".into(), round.id, "ZZ0001".into(), resident, 1),
        Scan {
            key: "bad-code".into(),
            round: round.id,
            tube: "ZZ0001".into(),
            resident: None,
            refusal: Some("malformed_code"),
            at: 2,
        },
        scan("nobody".into(), round.id, "ZZ0001".into(), 999_999_999, 3),
        scan("ok".into(), round.id, "ZZ0002".into(), resident, 4),
        scan("nobody".into(), round.id, "ZZ0002".into(), resident, 5),
    ];
    let answered = writer.submit("phone".into(), group).await.expect("written");
    assert_eq!(answered[3], "duplicate", "an accepted key repeated within one group");
    assert_eq!(answered[4], answered[2], "a refused key repeated within one group is refused the same way");
    let stored = || async {
        sqlx::query_as::<_, (String, String)>("SELECT key, status FROM sampling_scan_keys ORDER BY key")
            .fetch_all(store.pool())
            .await
            .expect("keys")
    };
    let mut expected: Vec<(String, String)> =
        ["ok", "bad-code", "nobody"].iter().zip(&answered).map(|(k, s)| ((*k).to_string(), s.to_string())).collect();
    expected.sort();
    assert_eq!(stored().await, expected);
    assert_eq!(answered[0], "accepted");
    assert!(answered[1] != "accepted" && answered[2] != "accepted", "{answered:?}");
    let replay = writer
        .submit(
            "phone".into(),
            vec![
                scan("nobody".into(), round.id, "ZZ0003".into(), resident, 5),
                scan("ok".into(), round.id, "ZZ0003".into(), resident, 6),
            ],
        )
        .await
        .expect("written");
    assert_eq!(replay, vec![answered[2], "duplicate"]);
    assert_eq!(stored().await, expected, "a replay changes no key");
    assert_eq!(store.sampling_coverage(round.id).await.expect("coverage").sampled, 1);
}
