//! Merging likely duplicates carries every capability's rows to the kept
//! resident, and undoing the merge puts them back: here, sampling (a member
//! bound by the scan writer, a retest, an exemption, a missed reason, and the
//! buildings' sampled counters).

use frontline_domain::sampling::{LabResult, MissReason, TubeCode};
use frontline_store::sampling::{NewRound, SamplingRound, Scan, ScanWriter};
use frontline_store::testing::TestDb;
use frontline_store::{conformance, Actor, Store, StoreError};

use super::{id, import, opts, row};

/// Every sampling row that points at a resident, and every building counter.
#[derive(Debug, PartialEq)]
struct Sampling {
    members: Vec<(i64, i64, i64, Option<i64>, i64, i64)>,
    retests: Vec<(i64, i64, i64, i64, String, i64, i64)>,
    exemptions: Vec<(i64, i64, String, String, i64)>,
    missed: Vec<(i64, i64, String, String, i64)>,
    counters: Vec<(i64, i64, i64)>,
}

async fn sampling(store: &Store) -> Sampling {
    let pool = store.pool();
    Sampling {
        members: sqlx::query_as(
            "SELECT round_id, resident_id, tube_id, building_id, scanned_at, valid FROM sampling_members \
             ORDER BY round_id, resident_id",
        )
        .fetch_all(pool)
        .await
        .expect("members"),
        retests: sqlx::query_as(
            "SELECT id, round_id, resident_id, tube_id, state, due_at, created_at FROM sampling_retests ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .expect("retests"),
        exemptions: sqlx::query_as(
            "SELECT round_id, resident_id, reason, decided_by, created_at FROM sampling_exemptions \
             ORDER BY round_id, resident_id",
        )
        .fetch_all(pool)
        .await
        .expect("exemptions"),
        missed: sqlx::query_as(
            "SELECT round_id, resident_id, reason, noted_by, noted_at FROM sampling_missed_reasons \
             ORDER BY round_id, resident_id",
        )
        .fetch_all(pool)
        .await
        .expect("missed"),
        counters: sqlx::query_as(
            "SELECT round_id, building_id, sampled FROM sampling_round_buildings ORDER BY round_id, building_id",
        )
        .fetch_all(pool)
        .await
        .expect("counters"),
    }
}

/// Rows of every table pointing at residents whose resident does not exist.
async fn dangling(store: &Store) -> i64 {
    let mut n = 0;
    for (table, col) in [
        ("census_rows", "resident_id"),
        ("resident_addresses", "resident_id"),
        ("resident_merges", "kept_id"),
        ("sampling_members", "resident_id"),
        ("sampling_retests", "resident_id"),
        ("sampling_exemptions", "resident_id"),
        ("sampling_missed_reasons", "resident_id"),
    ] {
        let sql =
            format!("SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL AND {col} NOT IN (SELECT id FROM residents)");
        n += sqlx::query_scalar::<_, i64>(&sql).fetch_one(store.pool()).await.expect("dangling");
    }
    n
}

/// Whether every building's sampled counter equals its valid members.
fn counters_agree(s: &Sampling) -> bool {
    s.counters.iter().all(|&(round, building, sampled)| {
        let counted = s.members.iter().filter(|m| m.0 == round && m.3 == Some(building) && m.5 == 1).count();
        i64::try_from(counted).is_ok_and(|n| n == sampled)
    })
}

/// Two residents named alike with one phone, one in 3号楼 and one in 5号楼
/// (with a neighbour each): the open review, the first resident's id and the second's.
async fn likely_duplicates(store: &Store) -> (i64, i64, i64) {
    let rows = vec![
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["林秀英", &id(1952, 12), "13800000002", "3号楼", "1单元", "1301"]),
        row(&["陈建国", &id(1950, 31), "13800000001", "5号楼", "2单元", "502"]),
        row(&["张伟", &id(1985, 15), "13800000005", "5号楼", "2单元", "502"]),
    ];
    let out = import(store, &opts("第一轮", false, false), &rows).await;
    assert_eq!(out.summary.likely_duplicates, 1, "{:?}", out.summary);
    let review = store.list_reviews(Some("open")).await.expect("reviews").remove(0);
    let building = |id| async move { store.get_resident(id).await.expect("resident").building_id };
    let (a, b) = (review.resident_a, review.resident_b);
    assert_ne!(building(a).await, building(b).await, "the two live in different buildings");
    (review.id, a, b)
}

async fn round(store: &Store, name: &str) -> SamplingRound {
    let buildings = store.list_buildings(None, None, 50).await.expect("buildings").items.iter().map(|b| b.id).collect();
    let new = NewRound {
        name: name.into(),
        pool_size: 5,
        mode: "door_to_door".into(),
        deadline: None,
        buildings,
        teams: vec![],
    };
    store.create_sampling_round(&Actor::system("test"), &new).await.expect("round")
}

fn scan(key: &str, round: i64, tube: &str, resident: i64) -> Scan {
    Scan { key: key.into(), round, tube: tube.into(), resident: Some(resident), refusal: None, at: 1_000 }
}

/// The merged resident was sampled (and their pooled tube came back abnormal:
/// a retest) in one round, exempted in a second — where the kept resident was
/// exempted too, for another reason — and noted as missed in a third. The
/// merge carries all of it to the kept resident (the kept one's exemption
/// wins), the member and its count move to the kept resident's building, the
/// scan writer sees the moved member, and undo puts every row back exactly.
async fn merging_a_sampled_resident_carries_sampling_and_undo_puts_it_back(db: TestDb) {
    let store = db.store.clone();
    let chen = Actor::system("chen");
    let (review, kept, merged) = likely_duplicates(&store).await;
    let kept_building = store.get_resident(kept).await.expect("kept").building_id.expect("building");
    let merged_building = store.get_resident(merged).await.expect("merged").building_id.expect("building");
    let neighbour = store
        .list_residents(&Default::default(), None, 10)
        .await
        .expect("residents")
        .items
        .into_iter()
        .find(|r| r.id != kept && r.id != merged && r.building_id == Some(merged_building))
        .expect("a neighbour of the merged resident")
        .id;
    let (sampled, exempted, missed) = (round(&store, "R1").await, round(&store, "R2").await, round(&store, "R3").await);
    let writer = ScanWriter::spawn(store.clone(), 10);
    let answered = writer
        .submit(
            "phone".into(),
            vec![scan("m1", sampled.id, "ZZ0001", merged), scan("n1", sampled.id, "ZZ0001", neighbour)],
        )
        .await
        .expect("scans");
    assert_eq!(answered, vec!["accepted", "accepted"]);
    let lab = store
        .record_lab_results(&chen, &[(TubeCode::parse("ZZ0001").expect("code"), LabResult::Abnormal)], 24)
        .await
        .expect("lab");
    assert_eq!(lab, vec!["recorded"]);
    store.exempt_from_round(&chen, exempted.id, merged, "away").await.expect("exempt");
    store.exempt_from_round(&chen, exempted.id, kept, "hospitalised").await.expect("exempt");
    store.note_missed(&chen, missed.id, merged, MissReason::NotHome).await.expect("missed");
    let before = sampling(&store).await;
    let counter = |s: &Sampling, round: i64, building: i64| {
        s.counters.iter().find(|c| (c.0, c.1) == (round, building)).map(|c| c.2)
    };
    assert_eq!(counter(&before, sampled.id, merged_building), Some(2));
    assert_eq!(counter(&before, sampled.id, kept_building), Some(0));
    assert_eq!(before.retests.len(), 2, "both members of the abnormal tube are retested");

    let merge = store.merge_review(&chen, review, kept).await.expect("merge");
    assert_eq!((merge.kept_id, merge.merged_id), (kept, merged));
    let after = sampling(&store).await;
    assert_eq!(dangling(&store).await, 0, "nothing points at the merged resident");
    let member = after.members.iter().find(|m| m.0 == sampled.id && m.1 == kept).expect("the member moved");
    assert_eq!(member.3, Some(kept_building), "it counts in the kept resident's building");
    assert_eq!(counter(&after, sampled.id, merged_building), Some(1), "the neighbour stays");
    assert_eq!(counter(&after, sampled.id, kept_building), Some(1));
    assert!(counters_agree(&after), "{after:?}");
    let coverage = store.sampling_coverage(sampled.id).await.expect("coverage");
    assert_eq!((coverage.expected, coverage.sampled, coverage.missed), (3, 2, 1), "林秀英 alone is missed");
    assert!(after.retests.iter().any(|r| r.1 == sampled.id && r.2 == kept), "the retest moved");
    assert_eq!(store.pending_retests(sampled.id).await.expect("retests").len(), 2);
    let exemptions: Vec<_> = after.exemptions.iter().filter(|e| e.0 == exempted.id).collect();
    assert_eq!(exemptions.len(), 1, "{exemptions:?}");
    assert_eq!((exemptions[0].1, exemptions[0].2.as_str()), (kept, "hospitalised"), "the kept resident's stays");
    assert_eq!(
        after.missed.iter().map(|m| (m.0, m.1, m.2.as_str())).collect::<Vec<_>>(),
        vec![(missed.id, kept, "not_home")]
    );
    // The scan writer learns that the kept resident is in a tube now.
    let again = writer.submit("phone".into(), vec![scan("k1", sampled.id, "ZZ0002", kept)]).await.expect("scan");
    assert_eq!(again, vec!["already_in_tube"]);
    assert_eq!(sampling(&store).await, after, "the refused scan changed nothing");

    let audit = store
        .list_audit(
            &frontline_store::audit::AuditFilter { action: Some("resident.merge".into()), ..Default::default() },
            None,
            1,
        )
        .await
        .expect("audit");
    let carried = &audit.items[0].after.as_ref().expect("after")["carried"];
    assert_eq!(carried["moved"]["sampling_members"], 1, "{carried}");
    assert_eq!(carried["moved"]["sampling_missed_reasons"], 1, "{carried}");
    assert_eq!(carried["dropped"]["sampling_exemptions"][0]["reason"], "away", "{carried}");

    store.undo_merge(&chen, merge.id).await.expect("undo");
    assert_eq!(sampling(&store).await, before, "every sampling row and count is back");
    assert_eq!(dangling(&store).await, 0);
    let coverage = store.sampling_coverage(sampled.id).await.expect("coverage");
    assert_eq!((coverage.expected, coverage.sampled), (4, 2));
    if store.backend() == frontline_store::Backend::Sqlite {
        let broken: Vec<(String, Option<i64>, String, i64)> =
            sqlx::query_as("PRAGMA foreign_key_check").fetch_all(store.pool()).await.expect("check");
        assert!(broken.is_empty(), "{broken:?}");
    }
}

/// Both residents have a member row in the same round: the merge is refused,
/// whichever is kept, with the round named, and nothing changes.
async fn merging_two_residents_sampled_in_the_same_round_is_refused(db: TestDb) {
    let store = db.store.clone();
    let chen = Actor::system("chen");
    let (review, a, b) = likely_duplicates(&store).await;
    let first = round(&store, "R1").await;
    let second = round(&store, "R2").await;
    let writer = ScanWriter::spawn(store.clone(), 10);
    let scans =
        vec![scan("a1", first.id, "ZZ0001", a), scan("b1", first.id, "ZZ0002", b), scan("b2", second.id, "ZZ0003", b)];
    assert_eq!(writer.submit("phone".into(), scans).await.expect("scans"), vec!["accepted"; 3]);
    store.exempt_from_round(&chen, second.id, a, "away").await.expect("exempt");
    let before = sampling(&store).await;
    for keep in [a, b] {
        let refused = store.merge_review(&chen, review, keep).await;
        assert!(
            matches!(&refused, Err(StoreError::MergeRefused { code: "sampled_in_same_round", names }) if names == &["R1"]),
            "{refused:?}"
        );
    }
    assert_eq!(sampling(&store).await, before);
    assert!(store.get_resident(a).await.is_ok() && store.get_resident(b).await.is_ok());
    assert_eq!(store.list_reviews(Some("open")).await.expect("reviews").len(), 1, "the pair is still open");
    assert!(store.list_merges().await.expect("merges").is_empty());
}

/// A resident who kept another in an earlier merge is merged in turn: the
/// earlier merge now belongs to the new kept resident, and both undo, newest
/// first, with every row back with its own resident.
async fn a_resident_who_kept_another_can_be_merged_and_both_undone(db: TestDb) {
    let store = db.store.clone();
    let chen = Actor::system("chen");
    let rows = vec![
        row(&["陈建国", &id(1950, 11), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["陈建国", &id(1950, 31), "13800000001", "3号楼", "1单元", "1301"]),
        row(&["陈建国", &id(1950, 51), "13800000001", "5号楼", "2单元", "502"]),
    ];
    let out = import(&store, &opts("第一轮", false, false), &rows).await;
    assert_eq!(out.summary.likely_duplicates, 3, "{:?}", out.summary);
    let mut ids: Vec<i64> =
        store.list_residents(&Default::default(), None, 5).await.expect("list").items.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    let (x, y, z) = (ids[0], ids[1], ids[2]);
    let pair = |p: (i64, i64)| {
        let store = store.clone();
        async move {
            store
                .list_reviews(None)
                .await
                .expect("reviews")
                .into_iter()
                .find(|r| (r.resident_a, r.resident_b) == p)
                .expect("review")
                .id
        }
    };
    let sampled = round(&store, "R1").await;
    let writer = ScanWriter::spawn(store.clone(), 10);
    assert_eq!(
        writer.submit("phone".into(), vec![scan("z1", sampled.id, "ZZ0001", z)]).await.expect("scan"),
        vec!["accepted"]
    );
    let before = sampling(&store).await;
    let first = store.merge_review(&chen, pair((y, z)).await, y).await.expect("z into y");
    let second = store.merge_review(&chen, pair((x, y)).await, x).await.expect("y into x");
    assert_eq!(dangling(&store).await, 0);
    let merged = sampling(&store).await;
    let x_building = store.get_resident(x).await.expect("x").building_id;
    assert!(merged.members.iter().all(|m| m.1 == x && m.3 == x_building), "z's member followed to x: {merged:?}");
    assert!(counters_agree(&merged), "{merged:?}");
    assert_eq!(store.resident_trace(x).await.expect("trace").len(), 3);
    store.undo_merge(&chen, second.id).await.expect("undo y");
    store.undo_merge(&chen, first.id).await.expect("undo z");
    assert_eq!(sampling(&store).await, before);
    for r in [x, y, z] {
        assert_eq!(store.resident_trace(r).await.expect("trace").len(), 1, "resident {r} has their own row back");
    }
    assert_eq!(dangling(&store).await, 0);
}

/// A merge made by an earlier release kept only census rows and addresses in
/// its snapshot: it still undoes.
async fn a_merge_recorded_before_movers_still_undoes(db: TestDb) {
    let store = db.store.clone();
    let chen = Actor::system("chen");
    let (review, kept, merged) = likely_duplicates(&store).await;
    let merge = store.merge_review(&chen, review, kept).await.expect("merge");
    let snapshot: String = sqlx::query_scalar("SELECT snapshot FROM resident_merges WHERE id = $1")
        .bind(merge.id)
        .fetch_one(store.pool())
        .await
        .expect("snapshot");
    let snapshot: serde_json::Value = serde_json::from_str(&snapshot).expect("json");
    let tables = &snapshot["carried"]["tables"];
    let legacy = serde_json::json!({
        "merged": snapshot["merged"],
        "kept_before": snapshot["kept_before"],
        "census_rows": tables["census_rows"]["moved"],
        "addresses": tables["resident_addresses"]["moved"],
        "review": review,
    });
    assert_eq!(legacy["census_rows"].as_array().map(Vec::len), Some(1), "{snapshot}");
    sqlx::query("UPDATE resident_merges SET snapshot = $1 WHERE id = $2")
        .bind(legacy.to_string())
        .bind(merge.id)
        .execute(store.pool())
        .await
        .expect("rewrite");
    store.undo_merge(&chen, merge.id).await.expect("undo");
    for r in [kept, merged] {
        assert_eq!(store.resident_trace(r).await.expect("trace").len(), 1, "resident {r}");
        assert_eq!(store.address_history(r).await.expect("history").len(), 1, "resident {r}");
    }
    assert_eq!(dangling(&store).await, 0);
}

conformance!(
    a_merge_recorded_before_movers_still_undoes,
    merging_a_sampled_resident_carries_sampling_and_undo_puts_it_back,
    merging_two_residents_sampled_in_the_same_round_is_refused,
    a_resident_who_kept_another_can_be_merged_and_both_undone,
);
