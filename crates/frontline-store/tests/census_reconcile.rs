//! Reconciliation that keeps the base numbers honest, on both backends: refused
//! rows whose ID numbers a number cell destroyed are not people who left, a
//! partial sheet compares only within its buildings, and confirming a round
//! (committing its import) takes the people who left out of the base numbers
//! and sampling rounds' expected counts — reversibly.

use frontline_domain::census::{detect_header, CensusRules};
use frontline_domain::date::Date;
use frontline_domain::ids::IdNumber;
use frontline_store::census::{ImportOptions, ImportOutcome, Reconciliation, Scope};
use frontline_store::sampling::NewRound;
use frontline_store::testing::TestDb;
use frontline_store::{conformance, Actor, Store};

fn id(region: &str, y: i32, seq: u16) -> String {
    IdNumber::from_parts(region, Date::new(y, 3, 4).expect("date"), seq).as_str().to_string()
}

/// What a spreadsheet's number cell makes of an ID number: its last digits gone.
fn number_cell(id: &str) -> String {
    format!("{}.{}E+17", &id[..1], &id[1..15])
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_string()).collect()
}

fn opts(round: &str, scope: Option<Scope>) -> ImportOptions {
    ImportOptions {
        round: round.into(),
        compound: "海月花园".into(),
        file_name: format!("{round}.csv"),
        source: "海月花园".into(),
        dry_run: false,
        accept_valid: true,
        today: Date::new(2022, 6, 13).expect("date"),
        rules: CensusRules::default(),
        scope,
    }
}

fn sheet(rows: &[Vec<String>]) -> (frontline_domain::census::HeaderMap, Vec<(usize, Vec<String>)>) {
    let mut all = vec![row(&["姓名", "身份证号码", "联系电话", "楼栋", "单元", "房号"])];
    all.extend(rows.iter().cloned());
    let header = detect_header(&all, 10).expect("header");
    (header, all.into_iter().enumerate().skip(1).map(|(i, r)| (i + 1, r)).collect())
}

async fn import(store: &Store, o: &ImportOptions, rows: &[Vec<String>]) -> ImportOutcome {
    let (header, data) = sheet(rows);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(Ok(data)).await.expect("send");
    drop(tx);
    let out = store.import_census(&Actor::system("test"), o, &header, rx, &|_| {}).await.expect("import");
    assert!(out.summary.committed, "{:?}", out.summary);
    out
}

/// Five people in 3号楼, three in 5号楼.
fn first_round() -> Vec<Vec<String>> {
    vec![
        row(&["陈建国", &id("350602", 1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["林秀英", &id("350602", 1952, 12), "13800000002", "3号楼", "1单元", "1301"]),
        row(&["王小明", &id("350602", 1990, 13), "13800000003", "3号楼", "1单元", "1302"]),
        row(&["王小明", &id("350602", 1990, 14), "13800000004", "3号楼", "1单元", "1303"]),
        row(&["周芳", &id("350602", 1988, 20), "13800000010", "3号楼", "1单元", "1304"]),
        row(&["张伟", &id("350602", 1985, 15), "13800000005", "5号楼", "2单元", "502"]),
        row(&["李娜", &id("350602", 1995, 16), "13800000006", "5号楼", "2单元", "502"]),
        row(&["赵敏", &id("350602", 1960, 17), "13800000007", "5号楼", "2单元", "503"]),
    ]
}

async fn reconcile(store: &Store, out: &ImportOutcome) -> Reconciliation {
    store.reconcile(out.summary.round_id.expect("round")).await.expect("reconcile")
}

fn names<'a>(rec: &'a Reconciliation, change: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = rec.people.iter().filter(|p| p.change == change).map(|p| p.name.as_str()).collect();
    v.sort_unstable();
    v
}

async fn building_residents(store: &Store, name: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM residents r JOIN buildings b ON b.id = r.building_id WHERE b.name = $1";
    sqlx::query_scalar(sql).bind(name).fetch_one(store.pool()).await.expect("count")
}

async fn building_id(store: &Store, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM buildings WHERE name = $1").bind(name).fetch_one(store.pool()).await.expect("id")
}

async fn resident_named(store: &Store, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM residents WHERE name = $1 ORDER BY id LIMIT 1")
        .bind(name)
        .fetch_one(store.pool())
        .await
        .expect("resident")
}

/// Second round: 陈建国's ID number in a number cell (tied to him alone: to
/// check); one 王小明 row likewise, but two 王小明 share region and birth date
/// (unresolved); 周芳 and 赵敏 have no row at all (gone).
async fn refused_rows_tied_to_residents_are_not_gone(db: TestDb) {
    import(&db.store, &opts("第一轮", None), &first_round()).await;
    let second = vec![
        row(&["陈建国", &number_cell(&id("350602", 1950, 11)), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["林秀英", &id("350602", 1952, 12), "13800000002", "3号楼", "1单元", "1301"]),
        row(&["王小明", &number_cell(&id("350602", 1990, 13)), "13800000003", "3号楼", "1单元", "1302"]),
        row(&["张伟", &id("350602", 1985, 15), "13800000005", "5号楼", "2单元", "502"]),
        row(&["李娜", &id("350602", 1995, 16), "13800000006", "5号楼", "2单元", "502"]),
    ];
    let out = import(&db.store, &opts("第二轮", Some(Scope::Compound)), &second).await;
    assert_eq!(out.summary.refused.get("id_precision_lost"), Some(&2));
    let s = &out.summary;
    assert_eq!((s.gone, s.to_check, s.unresolved, s.departed), (2, 1, 2, 2), "{s:?}");
    let rec = reconcile(&db.store, &out).await;
    let t = &rec.totals;
    assert_eq!((t.gone, t.to_check, t.unresolved, t.still_present), (2, 1, 2, 3), "{t:?}");
    assert_eq!(names(&rec, "gone"), vec!["周芳", "赵敏"]);
    assert_eq!(names(&rec, "to_check"), vec!["陈建国"]);
    assert_eq!(names(&rec, "unresolved"), vec!["王小明", "王小明"]);
    let chen = rec.people.iter().find(|p| p.change == "to_check").expect("to check");
    assert_eq!(chen.row_number, Some(2), "the refused row to correct");
    let b3 = rec.buildings.iter().find(|b| b.building == "3号楼").expect("3号楼");
    assert_eq!((b3.gone, b3.to_check, b3.unresolved), (1, 1, 2));

    // Committed, the round is confirmed: only the gone left the base numbers, never
    // the unresolved nor those to check.
    assert!(rec.round.confirmed_at.is_some());
    assert_eq!(building_residents(&db.store, "3号楼").await, 4, "周芳 left 3号楼; both 王小明 and 陈建国 stay");
    assert_eq!(building_residents(&db.store, "5号楼").await, 2, "赵敏 left 5号楼");
    let again = db.store.confirm_round(&Actor::system("test"), rec.round.id).await;
    assert!(matches!(again, Err(frontline_store::StoreError::Conflict { .. })), "{again:?}");
}

async fn confirming_takes_the_gone_out_of_base_numbers_and_sampling_reversibly(db: TestDb) {
    import(&db.store, &opts("第一轮", None), &first_round()).await;
    let b3 = building_id(&db.store, "3号楼").await;
    let b5 = building_id(&db.store, "5号楼").await;
    let round = NewRound {
        name: "第三次核酸".into(),
        pool_size: 10,
        mode: "door_to_door".into(),
        deadline: None,
        buildings: vec![b3, b5],
        teams: vec![],
    };
    let sampling = db.store.create_sampling_round(&Actor::system("test"), &round).await.expect("sampling round");
    assert_eq!(db.store.sampling_coverage(sampling.id).await.expect("coverage").expected, 8);
    let mut second = first_round();
    second.retain(|r| r[0] != "赵敏" && r[0] != "周芳");
    // The preview (a dry run) says who would leave, and nobody leaves.
    let dry = ImportOptions { dry_run: true, ..opts("第二轮", None) };
    let (header, data) = sheet(&second);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(Ok(data)).await.expect("send");
    drop(tx);
    let preview = db.store.import_census(&Actor::system("test"), &dry, &header, rx, &|_| {}).await.expect("dry run");
    assert_eq!((preview.summary.gone, preview.summary.departed), (2, 2));
    let base_before = db.store.base_numbers("1962-06-13", "2019-06-13").await.expect("base");
    assert_eq!(base_before.district.residents, 8, "a dry run takes nobody out");

    let out = import(&db.store, &opts("第二轮", None), &second).await;
    assert_eq!(out.summary.departed, 2);
    let rec = reconcile(&db.store, &out).await;
    assert_eq!(names(&rec, "gone"), vec!["周芳", "赵敏"]);
    let base = db.store.base_numbers("1962-06-13", "2019-06-13").await.expect("base");
    assert_eq!(base.district.residents, 6);
    let row5 = base.buildings.iter().find(|b| b.building == "5号楼").expect("5号楼");
    assert_eq!(row5.residents, 2);
    assert_eq!(db.store.overview("1962-06-13", "2019-06-13").await.expect("overview").residents, 6);
    let cover = db.store.sampling_coverage(sampling.id).await.expect("coverage");
    assert_eq!(cover.expected, 6, "people who left are not expected at sampling");
    let later = NewRound { name: "第四次核酸".into(), ..round };
    let later = db.store.create_sampling_round(&Actor::system("test"), &later).await.expect("later round");
    assert_eq!(db.store.sampling_coverage(later.id).await.expect("coverage").expected, 6);
    let missed = db.store.sampling_missed(later.id, &Default::default()).await.expect("missed");
    assert!(missed.iter().all(|m| m.name != "赵敏"), "{missed:?}");

    // The state can be changed, and the person brought back; both audited.
    let zhao = resident_named(&db.store, "赵敏").await;
    let rec = db.store.reconcile(rec.round.id).await.expect("reconcile");
    let state = |rec: &Reconciliation| rec.people.iter().find(|p| p.resident_id == zhao).and_then(|p| p.state.clone());
    assert_eq!(state(&rec).as_deref(), Some("moved_out"));
    db.store.set_departure_state(&Actor::system("test"), zhao, "deceased").await.expect("state");
    let rec = db.store.reconcile(rec.round.id).await.expect("reconcile");
    assert_eq!(state(&rec).as_deref(), Some("deceased"));
    db.store.restore_resident(&Actor::system("test"), zhao).await.expect("restore");
    assert_eq!(building_residents(&db.store, "5号楼").await, 3);
    assert_eq!(db.store.sampling_coverage(later.id).await.expect("coverage").expected, 7);
    assert!(db.store.open_departure(zhao).await.expect("departure").is_none());
    let rec = db.store.reconcile(rec.round.id).await.expect("reconcile");
    assert_eq!(state(&rec).as_deref(), Some("restored"));
    let again = db.store.restore_resident(&Actor::system("test"), zhao).await;
    assert!(matches!(again, Err(frontline_store::StoreError::NotFound)), "{again:?}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('census.confirm', 'resident.departure_state', 'resident.restore')",
    )
    .fetch_one(db.store.pool())
    .await
    .expect("audit");
    assert_eq!(audited, 3, "the import's confirmation (not the dry run's), the state, the restore");

    // A later sheet naming someone who left brings them back by itself.
    let zhou = resident_named(&db.store, "周芳").await;
    let third: Vec<Vec<String>> = first_round().into_iter().filter(|r| r[3] == "3号楼").collect();
    let out = import(&db.store, &opts("第三轮", Some(Scope::Buildings)), &third).await;
    assert_eq!((out.summary.residents_returned, out.summary.gone), (1, 0));
    assert!(db.store.open_departure(zhou).await.expect("departure").is_none());
    assert_eq!(building_residents(&db.store, "3号楼").await, 5);
}

/// A sheet from one building leader is compared with that building only.
async fn a_partial_sheet_marks_nobody_outside_its_buildings_gone(db: TestDb) {
    import(&db.store, &opts("第一轮", None), &first_round()).await;
    let partial = vec![
        row(&["张伟", &id("350602", 1985, 15), "13800000005", "5号楼", "2单元", "502"]),
        row(&["李娜", &id("350602", 1995, 16), "13800000006", "5号楼", "2单元", "502"]),
    ];
    let out = import(&db.store, &opts("5号楼复核", None), &partial).await;
    assert_eq!(out.summary.scope, "buildings", "detected: the other building holds residents");
    assert_eq!(out.summary.sheet_buildings, vec!["5号楼".to_string()]);
    assert_eq!(out.summary.buildings_outside, 1);
    let rec = reconcile(&db.store, &out).await;
    assert_eq!(rec.scope_buildings, vec!["5号楼".to_string()]);
    assert_eq!(names(&rec, "gone"), vec!["赵敏"], "nobody of 3号楼");
    assert_eq!((rec.totals.gone, rec.totals.still_present), (1, 2));
    assert_eq!(building_residents(&db.store, "3号楼").await, 5);
    assert_eq!(building_residents(&db.store, "5号楼").await, 2);

    // The next whole-compound round compares 5号楼 with the partial round, 3号楼 with the first.
    let mut whole = first_round();
    whole.retain(|r| r[0] != "赵敏" && r[0] != "陈建国");
    let out = import(&db.store, &opts("第二轮", None), &whole).await;
    assert_eq!(out.summary.scope, "compound");
    let rec = reconcile(&db.store, &out).await;
    assert_eq!(names(&rec, "gone"), vec!["陈建国"]);

    // Asked for explicitly, the compound scope reports everyone without a row.
    let out = import(&db.store, &opts("全小区", Some(Scope::Compound)), &partial).await;
    let rec = reconcile(&db.store, &out).await;
    assert_eq!(rec.totals.gone, 4, "林秀英, both 王小明 and 周芳");
}

/// A round committed before rounds were confirmed on import is confirmed on
/// its own, once; people a later round names stay.
async fn a_round_committed_unconfirmed_is_confirmed_on_its_own(db: TestDb) {
    import(&db.store, &opts("第一轮", None), &first_round()).await;
    let mut second = first_round();
    second.retain(|r| r[0] != "赵敏" && r[0] != "周芳");
    let out = import(&db.store, &opts("第二轮", None), &second).await;
    let round = out.summary.round_id.expect("round");
    // As such a round was: nobody departed, not confirmed.
    for name in ["赵敏", "周芳"] {
        let id = resident_named(&db.store, name).await;
        db.store.restore_resident(&Actor::system("test"), id).await.expect("restore");
    }
    sqlx::query("UPDATE census_rounds SET confirmed_by = NULL, confirmed_at = NULL WHERE id = $1")
        .bind(round)
        .execute(db.store.pool())
        .await
        .expect("unconfirm");
    assert_eq!(building_residents(&db.store, "5号楼").await, 3);
    // A later sheet of 3号楼 names 周芳 again.
    let third: Vec<Vec<String>> = first_round().into_iter().filter(|r| r[3] == "3号楼").collect();
    import(&db.store, &opts("第三轮", Some(Scope::Buildings)), &third).await;
    let done = db.store.confirm_round(&Actor::system("test"), round).await.expect("confirm");
    assert_eq!((done.departed, done.kept), (1, 1), "赵敏 leaves; 周芳, named since, stays");
    assert_eq!(building_residents(&db.store, "5号楼").await, 2);
    assert_eq!(building_residents(&db.store, "3号楼").await, 5);
    let again = db.store.confirm_round(&Actor::system("test"), round).await;
    assert!(matches!(again, Err(frontline_store::StoreError::Conflict { .. })), "{again:?}");
    let missing = db.store.confirm_round(&Actor::system("test"), 999_999).await;
    assert!(matches!(missing, Err(frontline_store::StoreError::NotFound)), "{missing:?}");
}

conformance!(
    a_round_committed_unconfirmed_is_confirmed_on_its_own,
    refused_rows_tied_to_residents_are_not_gone,
    confirming_takes_the_gone_out_of_base_numbers_and_sampling_reversibly,
    a_partial_sheet_marks_nobody_outside_its_buildings_gone,
);
