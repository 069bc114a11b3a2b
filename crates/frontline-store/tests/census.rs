//! Census rounds on both backends: all-or-nothing imports, dry runs, duplicates
//! within a file, reconciliation of two rounds, base numbers, traceability,
//! likely duplicates with reversible merges.

use frontline_domain::census::{detect_header, CensusRules, HeaderMap};
use frontline_domain::date::Date;
use frontline_domain::ids::IdNumber;
use frontline_store::census::{ImportOptions, ImportOutcome};
use frontline_store::testing::TestDb;
use frontline_store::{conformance, Actor, Store};

mod merge;

fn id(y: i32, seq: u16) -> String {
    IdNumber::from_parts("350602", Date::new(y, 3, 4).expect("date"), seq).as_str().to_string()
}

fn bad_check(good: &str) -> String {
    let last = good.chars().last().unwrap_or('0');
    format!("{}{}", &good[..17], if last == '1' { '2' } else { '1' })
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_string()).collect()
}

const HEADER: [&str; 6] = ["姓名", "身份证号码", "联系电话", "楼栋", "单元", "房号"];

fn sheet(rows: &[Vec<String>]) -> (HeaderMap, Vec<(usize, Vec<String>)>) {
    let mut all = vec![row(&["南滨社区人员摸排表（第一轮）"]), row(&HEADER)];
    all.extend(rows.iter().cloned());
    let header = detect_header(&all, 10).expect("header");
    let data = all.into_iter().enumerate().skip(header.header_row + 1).map(|(i, r)| (i + 1, r)).collect();
    (header, data)
}

fn opts(round: &str, dry_run: bool, accept_valid: bool) -> ImportOptions {
    ImportOptions {
        round: round.into(),
        compound: "海月花园".into(),
        file_name: format!("{round}.csv"),
        source: "海月花园".into(),
        dry_run,
        accept_valid,
        today: Date::new(2022, 6, 13).expect("date"),
        rules: CensusRules::default(),
        scope: None,
    }
}

async fn import(store: &Store, o: &ImportOptions, rows: &[Vec<String>]) -> ImportOutcome {
    let (header, data) = sheet(rows);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let feeder = tokio::spawn(async move {
        for chunk in data.chunks(3) {
            if tx.send(Ok(chunk.to_vec())).await.is_err() {
                break;
            }
        }
    });
    let out = store.import_census(&Actor::system("test"), o, &header, rx, &|_| {}).await.expect("import");
    feeder.await.expect("feeder");
    out
}

fn first_round() -> Vec<Vec<String>> {
    vec![
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["林秀英", &id(1952, 12), "13800000002", "3栋", "1", "1301室"]),
        row(&["王小明", &id(1990, 13), "138 0000 0003", "3#", "1", "1302"]),
        row(&["", "", "", "", "", ""]),
        row(&["张伟", &id(1985, 15), "13800000005", "5", "2", "502"]),
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["李娜", &id(1995, 16), "1380000006", "5号楼", "2单元", "502"]),
        row(&["合计", "6人", "", "", "", ""]),
    ]
}

async fn refused_rows_make_the_import_all_or_nothing(db: TestDb) {
    let mut rows = first_round();
    rows.push(row(&["错号", &bad_check(&id(1970, 17)), "", "3", "1", "1303"]));
    let out = import(&db.store, &opts("第一轮", false, false), &rows).await;
    assert!(!out.summary.committed);
    assert_eq!(out.summary.refused.get("id_invalid_check"), Some(&1));
    assert!(db.store.list_rounds().await.expect("rounds").is_empty(), "nothing written");
    assert!(!db.store.has_places().await.expect("places"), "not even the buildings");
    let refused: Vec<_> = out.issues.iter().filter(|i| i.refused).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].row_number, 11, "row numbers are the file's, title and header included");
    assert_eq!(refused[0].column.as_deref(), Some("id_number"));

    let accepted = import(&db.store, &opts("第一轮", false, true), &rows).await;
    assert!(accepted.summary.committed);
    let s = &accepted.summary;
    assert_eq!((s.rows_read, s.rows_skipped, s.residents_created, s.duplicates_in_file), (9, 2, 5, 1));
    assert_eq!(s.warnings.get("phone_invalid"), Some(&1), "李娜's 10-digit phone is dropped, she is kept");
    assert_eq!(s.households_created, 3);
    let residents = db.store.list_residents(&Default::default(), None, 50).await.expect("list");
    assert_eq!(residents.items.len(), 5);
    let li = residents.items.iter().find(|r| r.name == "李娜").expect("李娜");
    assert_eq!(li.phone, None);
    assert_eq!(
        li.address.as_ref().map(|a| (a.building.as_str(), a.unit.as_str(), a.room.as_str())),
        Some(("5号楼", "2单元", "502"))
    );
}

async fn dry_run_counts_like_the_real_import_and_writes_nothing(db: TestDb) {
    let dry = import(&db.store, &opts("第一轮", true, false), &first_round()).await;
    assert!(!dry.summary.committed && dry.summary.dry_run);
    assert!(db.store.list_rounds().await.expect("rounds").is_empty());
    let real = import(&db.store, &opts("第一轮", false, false), &first_round()).await;
    assert!(real.summary.committed);
    let strip = |mut s: frontline_store::census::ImportSummary| {
        s.committed = false;
        s.dry_run = false;
        s.round_id = None;
        s
    };
    assert_eq!(strip(dry.summary), strip(real.summary));
}

async fn importing_the_same_file_twice_creates_nobody(db: TestDb) {
    let first = import(&db.store, &opts("第一轮", false, false), &first_round()).await;
    assert_eq!(first.summary.residents_created, 5);
    let again = import(&db.store, &opts("第一轮复核", false, false), &first_round()).await;
    assert_eq!((again.summary.residents_created, again.summary.residents_matched), (0, 5));
    assert_eq!(again.summary.households_created, 0);
    assert_eq!(db.store.list_residents(&Default::default(), None, 50).await.expect("list").items.len(), 5);
    let (header, data) = sheet(&first_round());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(Ok(data)).await.expect("send");
    drop(tx);
    let same_name =
        db.store.import_census(&Actor::system("test"), &opts("第一轮", false, false), &header, rx, &|_| {}).await;
    assert!(
        matches!(same_name, Err(frontline_store::StoreError::Conflict { ref constraint }) if constraint == "census_rounds_name_key"),
        "round names are unique per compound: {same_name:?}"
    );
}

/// Every resident's stored fields, in id order.
async fn resident_rows(store: &Store) -> Vec<(i64, i64, i64, Option<String>, Option<i64>, i64)> {
    sqlx::query_as("SELECT id, needs, away, phone, household_id, updated_at FROM residents ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("residents")
}

async fn reimporting_an_unchanged_sheet_changes_nobody(db: TestDb) {
    // An 84-year-old (elderly is derived from the birth date, never stored) and an
    // infant without a document (matched by name, birth date and household).
    let rows = [
        row(&["周老太", &id(1938, 21), "13800000021", "3号楼", "1单元", "1301"]),
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
    ];
    let mut with_infant = vec![row(&["姓名", "身份证号码", "联系电话", "楼栋", "单元", "房号", "出生日期"])];
    with_infant.extend(rows.iter().map(|r| {
        let mut r = r.clone();
        r.push(String::new());
        r
    }));
    with_infant.push(row(&["陈小宝", "", "", "3号楼", "1单元", "1301", "2021-05-01"]));
    let header = detect_header(&with_infant, 10).expect("header");
    let data: Vec<(usize, Vec<String>)> =
        with_infant.iter().cloned().enumerate().skip(header.header_row + 1).map(|(i, r)| (i + 1, r)).collect();
    let run = |round: &'static str| {
        let (header, data, store) = (header.clone(), data.clone(), db.store.clone());
        async move {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            tx.send(Ok(data)).await.expect("send");
            drop(tx);
            store
                .import_census(&Actor::system("test"), &opts(round, false, false), &header, rx, &|_| {})
                .await
                .expect("import")
        }
    };
    let first = run("第一轮").await;
    assert_eq!(first.summary.residents_created, 3, "{:?}", first.summary);
    let before = resident_rows(&db.store).await;
    let again = run("第二轮").await;
    assert_eq!((again.summary.residents_created, again.summary.residents_matched), (0, 3), "{:?}", again.summary);
    assert_eq!(resident_rows(&db.store).await, before, "nothing new in the sheet, nothing rewritten");
}

async fn second_round_reconciles_with_the_first(db: TestDb) {
    let first = import(&db.store, &opts("第一轮", false, false), &first_round()).await;
    let second_rows = vec![
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        // moved from 1301 to 1302
        row(&["林秀英", &id(1952, 12), "13800000002", "3号楼", "1单元", "1302"]),
        // changed phone
        row(&["王小明", &id(1990, 13), "13900000003", "3号楼", "1单元", "1302"]),
        // 张伟 is gone; 李娜 stays; 赵六 is new
        row(&["李娜", &id(1995, 16), "", "5号楼", "2单元", "502"]),
        row(&["赵六", &id(2001, 19), "13800000009", "5号楼", "2单元", "503"]),
    ];
    let second = import(&db.store, &opts("第二轮", false, false), &second_rows).await;
    assert!(second.summary.committed);
    assert_eq!(
        (second.summary.residents_matched, second.summary.residents_created, second.summary.residents_moved),
        (4, 1, 1)
    );
    let round = second.summary.round_id.expect("round id");
    let rec = db.store.reconcile(round).await.expect("reconcile");
    assert_eq!(rec.previous.as_ref().map(|p| p.id), first.summary.round_id);
    let t = &rec.totals;
    assert_eq!((t.still_present, t.gone, t.new, t.moved, t.phone_changed), (4, 1, 1, 1, 1));
    let b3 = rec.buildings.iter().find(|b| b.building == "3号楼").expect("3号楼");
    assert_eq!((b3.still_present, b3.moved, b3.phone_changed, b3.gone, b3.new), (3, 1, 1, 0, 0));
    let b5 = rec.buildings.iter().find(|b| b.building == "5号楼").expect("5号楼");
    assert_eq!((b5.still_present, b5.gone, b5.new), (1, 1, 1));
    let gone: Vec<&str> = rec.people.iter().filter(|p| p.change == "gone").map(|p| p.name.as_str()).collect();
    assert_eq!(gone, vec!["张伟"]);
    let moved = rec.people.iter().find(|p| p.change == "moved").expect("moved");
    assert_eq!(
        (moved.name.as_str(), moved.before.as_deref(), moved.after.as_deref()),
        ("林秀英", Some("3号楼 1单元 1301"), Some("3号楼 1单元 1302"))
    );
    let phone = rec.people.iter().find(|p| p.change == "phone_changed").expect("phone");
    assert_eq!((phone.old_phone.as_deref(), phone.new_phone.as_deref()), (Some("13800000003"), Some("13900000003")));

    // The resident links back to the rows that made and changed them.
    let lin = db
        .store
        .list_residents(
            &frontline_store::residents::ResidentFilter { query: Some("林秀英".into()), ..Default::default() },
            None,
            5,
        )
        .await
        .expect("find")
        .items
        .remove(0);
    let trace = db.store.resident_trace(lin.id).await.expect("trace");
    let steps: Vec<(&str, &str, i64)> =
        trace.iter().map(|t| (t.round.as_str(), t.outcome.as_str(), t.row_number)).collect();
    assert_eq!(steps, vec![("第一轮", "created", 4), ("第二轮", "matched", 4)]);
    assert_eq!(trace[0].raw[5], "1301室", "raw values are kept as they arrived");
    assert_eq!(db.store.address_history(lin.id).await.expect("history").len(), 2);
}

async fn base_numbers_per_building_compound_and_district(db: TestDb) {
    let rows = vec![
        row(&["高龄独居", &id(1930, 21), "", "3号楼", "1单元", "101"]),
        row(&["外出者", &id(1980, 23), "", "3号楼", "1单元", "102"]),
        row(&["邻居", &id(1981, 25), "", "3号楼", "1单元", "102"]),
        row(&["五楼", &id(1982, 27), "", "5号楼", "1单元", "101"]),
    ];
    let mut with_status: Vec<Vec<String>> = rows;
    with_status[0].push("是".into());
    with_status[1].push(String::new());
    with_status[1].push("外出".into());
    let mut all = vec![row(&["姓名", "身份证号码", "联系电话", "楼栋", "单元", "房号", "是否独居老人", "在家情况"])];
    all.extend(with_status);
    let header = detect_header(&all, 5).expect("header");
    let data: Vec<(usize, Vec<String>)> = all.into_iter().enumerate().skip(1).map(|(i, r)| (i + 1, r)).collect();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tx.send(Ok(data)).await.expect("send");
    drop(tx);
    let out = db
        .store
        .import_census(&Actor::system("test"), &opts("第一轮", false, false), &header, rx, &|_| {})
        .await
        .expect("import");
    assert!(out.summary.committed, "{:?}", out.summary);
    let base = db.store.base_numbers("1942-06-13", "2019-06-13").await.expect("base");
    let b3 = base.buildings.iter().find(|b| b.building == "3号楼").expect("3号楼");
    assert_eq!((b3.residents, b3.households, b3.away), (3, 2, 1));
    let need =
        |row: &frontline_store::census::BaseRow, code: &str| row.needs.iter().find(|(c, _)| c == code).map(|(_, n)| *n);
    assert_eq!(need(b3, "living_alone"), Some(1));
    assert_eq!(need(b3, "elderly"), Some(1));
    assert_eq!(b3.round.as_deref(), Some("第一轮"));
    let compound = &base.compounds[0];
    assert_eq!((compound.residents, compound.households), (4, 3));
    assert_eq!(base.district.residents, 4);
}

async fn a_file_failing_half_way_writes_nothing(db: TestDb) {
    let (header, data) = sheet(&first_round());
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tx.send(Ok(data)).await.expect("send");
    tx.send(Err("the file is corrupt after row 9".into())).await.expect("send");
    drop(tx);
    let out = db.store.import_census(&Actor::system("test"), &opts("第一轮", false, true), &header, rx, &|_| {}).await;
    assert!(matches!(out, Err(frontline_store::StoreError::Aborted(_))), "{out:?}");
    assert!(db.store.list_rounds().await.expect("rounds").is_empty());
    assert!(db.store.list_residents(&Default::default(), None, 5).await.expect("list").items.is_empty());
}

async fn likely_duplicates_merge_and_unmerge(db: TestDb) {
    let rows = vec![
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["陈建国", &id(1950, 31), "13800000001", "3号楼", "1单元", "1301"]),
    ];
    let out = import(&db.store, &opts("第一轮", false, false), &rows).await;
    assert_eq!(out.summary.likely_duplicates, 1);
    let reviews = db.store.list_reviews(Some("open")).await.expect("reviews");
    assert_eq!(reviews.len(), 1);
    let r = &reviews[0];
    let merge = db.store.merge_review(&Actor::system("chen"), r.id, r.resident_a).await.expect("merge");
    assert!(matches!(db.store.get_resident(r.resident_b).await, Err(frontline_store::StoreError::NotFound)));
    assert_eq!(
        db.store.resident_trace(r.resident_a).await.expect("trace").len(),
        2,
        "both rows now trace to the kept resident"
    );
    assert!(
        db.store.merge_review(&Actor::system("chen"), r.id, r.resident_a).await.is_err(),
        "a decided review cannot be merged again"
    );
    db.store.undo_merge(&Actor::system("chen"), merge.id).await.expect("undo");
    let back = db.store.get_resident(r.resident_b).await.expect("back");
    assert_eq!(back.name, "陈建国");
    assert_eq!(db.store.resident_trace(r.resident_b).await.expect("trace").len(), 1);
    assert_eq!(db.store.list_reviews(Some("open")).await.expect("reviews").len(), 1, "the pair is open again");
    assert!(db.store.undo_merge(&Actor::system("chen"), merge.id).await.is_err(), "undone once");
    let audit = db
        .store
        .list_audit(
            &frontline_store::audit::AuditFilter { action: Some("resident.".into()), ..Default::default() },
            None,
            10,
        )
        .await
        .expect("audit");
    let actions: Vec<&str> = audit.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["resident.unmerge", "resident.merge"]);
}

async fn a_changed_phone_can_reveal_a_likely_duplicate(db: TestDb) {
    let apart = vec![
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["陈建国", &id(1950, 31), "13800000002", "3号楼", "1单元", "1302"]),
    ];
    assert_eq!(import(&db.store, &opts("第一轮", false, false), &apart).await.summary.likely_duplicates, 0);
    // Nobody is created in the second round, but a phone changes to the other's.
    let mut same_phone = apart.clone();
    same_phone[1][2] = "13800000001".into();
    let second = import(&db.store, &opts("第二轮", false, false), &same_phone).await;
    assert_eq!(second.summary.residents_created, 0);
    assert_eq!(second.summary.likely_duplicates, 1, "{:?}", second.summary);
    let third = import(&db.store, &opts("第三轮", false, false), &same_phone).await;
    assert_eq!(third.summary.likely_duplicates, 0, "the pair is listed once");
    assert_eq!(db.store.list_reviews(Some("open")).await.expect("reviews").len(), 1);
}

/// Residents are matched against what the database held before the import
/// (on SQLite, read a batch ahead on a connection of their own): a resident the
/// round moves in one batch and names again in a later one is that batch's
/// duplicate, keeps the first row's household and phone, and is moved once.
async fn a_person_named_again_in_a_later_batch_is_the_first_rows(db: TestDb) {
    import(&db.store, &opts("第一轮", false, false), &first_round()).await;
    let households = |store: Store| async move {
        let rows: Vec<(String, Option<i64>, Option<String>)> =
            sqlx::query_as("SELECT name, household_id, phone FROM residents WHERE name = '林秀英'")
                .fetch_all(store.pool())
                .await
                .expect("resident");
        rows
    };
    let before = households(db.store.clone()).await;
    let second_rows = vec![
        // moved from 1301 to 1302, with a new phone (batch 1: rows are sent three at a time)
        row(&["林秀英", &id(1952, 12), "13900000012", "3号楼", "1单元", "1302"]),
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["王小明", &id(1990, 13), "13800000003", "3号楼", "1单元", "1302"]),
        row(&["张伟", &id(1985, 15), "13800000005", "5号楼", "2单元", "502"]),
        row(&["李娜", &id(1995, 16), "", "5号楼", "2单元", "502"]),
        row(&["赵六", &id(2001, 19), "13800000009", "5号楼", "2单元", "503"]),
        // batch 3: named again, elsewhere and with another phone
        row(&["林秀英", &id(1952, 12), "13700000012", "5号楼", "2单元", "503"]),
    ];
    let second = import(&db.store, &opts("第二轮", false, false), &second_rows).await;
    let s = &second.summary;
    assert!(s.committed, "{s:?}");
    assert_eq!(
        (s.residents_matched, s.residents_created, s.duplicates_in_file, s.residents_moved),
        (5, 1, 1, 1),
        "{s:?}"
    );
    let after = households(db.store.clone()).await;
    assert_eq!(after.len(), 1, "still one 林秀英: {after:?}");
    assert_ne!(after[0].1, before[0].1, "moved by the first row");
    assert_eq!(after[0].2.as_deref(), Some("13900000012"), "the first row's phone, not the duplicate's");
    let history: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM resident_addresses a JOIN residents r ON r.id = a.resident_id WHERE r.name = '林秀英'",
    )
    .fetch_one(db.store.pool())
    .await
    .expect("history");
    assert_eq!(history, 2, "one move: the first household and the new one");
}

conformance!(
    a_person_named_again_in_a_later_batch_is_the_first_rows,
    a_changed_phone_can_reveal_a_likely_duplicate,
    refused_rows_make_the_import_all_or_nothing,
    dry_run_counts_like_the_real_import_and_writes_nothing,
    importing_the_same_file_twice_creates_nobody,
    reimporting_an_unchanged_sheet_changes_nobody,
    second_round_reconciles_with_the_first,
    base_numbers_per_building_compound_and_district,
    likely_duplicates_merge_and_unmerge,
    a_file_failing_half_way_writes_nothing,
);
