//! Migrations that rebuild a table keep its rows: a SQLite database holding a
//! sampling round at migration 0005 is migrated to the clustered members table.

use frontline_domain::date::Date;
use frontline_domain::synth::SynthOptions;
use frontline_store::migrate::SQLITE;
use frontline_store::sampling::{NewRound, Scan, ScanWriter};
use frontline_store::{Actor, Store};

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
async fn clustering_the_members_keeps_every_member() {
    let path = std::env::temp_dir().join(format!("frontline-migrate-members-{}.db", std::process::id()));
    let remove = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    };
    remove();
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    // The database as the previous release left it: migrations up to 0005.
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
    let system = Actor::system("test");
    let opts = SynthOptions { residents: 40, seed: 5, today: Date::new(2022, 6, 13).expect("date") };
    store.seed_synthetic(&system, &opts).await.expect("seed");
    let buildings =
        store.list_buildings(None, None, 100).await.expect("buildings").items.iter().map(|b| b.id).collect();
    let new = NewRound {
        name: "R".into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings,
        teams: vec![],
    };
    let round = store.create_sampling_round(&system, &new).await.expect("round");
    let residents = store.list_residents(&Default::default(), None, 40).await.expect("residents").items;
    let scans: Vec<Scan> = residents
        .iter()
        .enumerate()
        .map(|(i, r)| Scan {
            key: format!("k{i}"),
            round: round.id,
            tube: format!("MG{:05}", i / 5),
            resident: Some(r.id),
            refusal: None,
            at: 1_000 + i64::try_from(i).unwrap_or(0),
        })
        .collect();
    let writer = ScanWriter::spawn(store.clone(), 10);
    let statuses = writer.submit(system.clone(), scans).await.expect("scans");
    assert!(statuses.iter().all(|s| s == "accepted"), "{statuses:?}");
    let before = members(&store).await;
    assert_eq!(before.len(), 40);
    let coverage_before = store.sampling_coverage(round.id).await.expect("coverage");

    assert_eq!(store.migrate().await.expect("migrate"), vec!["0006_members_clustered"]);
    assert_eq!(members(&store).await, before, "every member kept, field for field");
    let coverage_after = store.sampling_coverage(round.id).await.expect("coverage");
    assert_eq!(
        (coverage_after.expected, coverage_after.sampled, coverage_after.missed),
        (coverage_before.expected, coverage_before.sampled, coverage_before.missed)
    );
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
