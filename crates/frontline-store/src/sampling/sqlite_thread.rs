//! On SQLite the scan writer is one OS thread with its own connection to the
//! database file. sqlx runs each SQLite connection on a worker thread and
//! hands every statement (and every row) across threads: with a dozen
//! statements per group commit, those hand-offs cost more than SQLite's own
//! work (half the CPU profile of single-scan ingest was futex wake-ups). Here
//! every lookup is a prepared point query and every write a prepared single-row
//! statement, executed in-thread — no hand-off until the group's callers are
//! answered. Both libraries link the same SQLite, so its locking between
//! connections of the process holds.

use std::path::Path;

use frontline_domain::sampling::TubeCode;
use rusqlite::{params, Connection, OptionalExtension};

use super::decide::{self, dedup, Facts, Part, Resident, Round, Tube, Writes};
use crate::sampling::Scan;
use crate::{FastMap, FastSet};

/// Opens the writer's connection with the store's pragmas, except that:
/// - it waits at most 3 s for another writer (a phone is better told to retry);
/// - every commit is synced (`synchronous = FULL`): an acknowledged scan
///   survives a power cut, not only a crash of the process. Group commit shares
///   the sync: measured, single-scan ingest kept its rate and its p99 went down;
/// - foreign keys are not re-checked. Every row this connection writes refers
///   to a round, resident or tube that [`gather`] read (or that the group
///   itself inserted first) inside the same immediate transaction, so nobody
///   can have removed it meanwhile; re-checking cost a parent lookup per
///   reference, three for every member written. Every other connection keeps
///   checking them, PostgreSQL always does, and a test checks that nothing the
///   writer wrote dangles;
/// - it reads the database file through a memory map: a scan looks up a
///   resident at random among a million, a page rarely in its own cache, and a
///   mapped page costs no read system call and no copy.
///
/// It goes through SQLite's own file layer, like every other connection: a
/// custom layer that buffered the log's frames until the next sync bought 6 %
/// of the writer's CPU, and wrote stale frames over another connection's
/// commit after a transaction that spilled to the log and rolled back.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 3000; PRAGMA cache_size = -32768; \
         PRAGMA mmap_size = 1073741824;",
    )?;
    conn.execute_batch(crate::db::WAL_SIZE_LIMIT)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

/// What the writer remembers of each round it has written to, so that a scan
/// needs fewer searches of the database's B-trees.
#[derive(Default)]
pub(crate) struct Rounds(FastMap<i64, RoundMemory>);

struct RoundMemory {
    /// The round's buildings. A round's scope is written with the round, in the
    /// same transaction, and never changes after: once the writer has seen a
    /// round, its scope is final, and a resident's building is checked against
    /// this set instead of the scopes' index.
    scope: FastSet<i64>,
    /// Every resident who has a member row in the round, valid or not: read once
    /// from the members, then kept by the writer as it writes them. A resident
    /// not in it was never in one of the round's tubes, so the search of the
    /// members for their current tube is skipped — which is nearly every scan.
    members: Bitmap,
}

impl Rounds {
    /// Reads a round's memory from the database the first time the writer meets it.
    fn load(&mut self, tx: &Connection, round: i64) -> rusqlite::Result<()> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(round) {
            let mut stmt = tx.prepare_cached("SELECT building_id FROM sampling_round_buildings WHERE round_id = ?1")?;
            let scope = stmt.query_map([round], |r| r.get(0))?.collect::<rusqlite::Result<FastSet<i64>>>()?;
            let mut members = Bitmap::default();
            let mut stmt = tx.prepare_cached("SELECT resident_id FROM sampling_members WHERE round_id = ?1")?;
            let mut rows = stmt.query([round])?;
            while let Some(row) = rows.next()? {
                members.insert(row.get(0)?);
            }
            slot.insert(RoundMemory { scope, members });
        }
        Ok(())
    }

    /// Forgets every round: the next group reads them again.
    fn forget(&mut self) {
        self.0.clear();
    }
}

/// A set of resident ids, a bit each. Ids beyond [`Bitmap::LIMIT`] (or below
/// zero) are never stored and always answered "maybe": the set only ever errs
/// towards looking a resident up.
#[derive(Default)]
struct Bitmap(Vec<u64>);

impl Bitmap {
    /// Residents' ids are allocated densely from 1; 2^26 of them take 8 MiB.
    const LIMIT: i64 = 1 << 26;

    fn insert(&mut self, id: i64) {
        let Ok(i) = usize::try_from(id) else { return };
        if id >= Self::LIMIT {
            return;
        }
        if self.0.len() <= i / 64 {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn may_contain(&self, id: i64) -> bool {
        match usize::try_from(id) {
            Ok(i) if id < Self::LIMIT => self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0),
            _ => true,
        }
    }
}

/// How a failed group is answered: a database held by another writer is
/// busy (try again shortly); a database that cannot be read or written (a
/// missing or unreadable file, a full disk, an I/O error) makes the
/// connection suspect: the writer is down until the supervisor reopens it.
pub(crate) fn submit_error(e: &rusqlite::Error) -> super::SubmitError {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => super::SubmitError::Busy,
        Some(
            C::CannotOpen
            | C::SystemIoFailure
            | C::DiskFull
            | C::DatabaseCorrupt
            | C::NotADatabase
            | C::PermissionDenied
            | C::ReadOnly
            | C::FileLockingProtocolFailed,
        ) => super::SubmitError::Unavailable,
        _ => super::SubmitError::Failed(e.to_string()),
    }
}

/// Records a group in one immediate transaction, with an audit entry per
/// batch (`parts`); statuses in order.
///
/// A member row the writer did not know of (written by another connection since
/// it read the round) makes the group's decisions unsound: the group is rolled
/// back and recorded once more with every round read afresh.
pub(crate) fn record(
    conn: &mut Connection,
    rounds: &mut Rounds,
    parts: &[Part<'_>],
    scans: &[Scan],
    codes: &[Option<TubeCode>],
    now: i64,
) -> rusqlite::Result<Vec<decide::ScanOutcome>> {
    for attempt in 0..2 {
        if attempt > 0 {
            tracing::warn!("the scan writer met members it did not know of; it reads its rounds again");
            rounds.forget();
        }
        // BEGIN and COMMIT through cached statements (a transaction object would compile them each time).
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let result = gather(conn, rounds, parts, scans, codes, now).and_then(|facts| {
            let (out, writes) = decide::decide_all(scans, codes, parts, facts);
            Ok(write(conn, rounds, writes, now)?.then_some(out))
        });
        match result {
            Ok(Some(out)) => {
                conn.prepare_cached("COMMIT")?.execute([])?;
                return Ok(out);
            }
            // A member the group adds was in a tube already: nothing of it stays.
            Ok(None) => conn.execute_batch("ROLLBACK")?,
            Err(e) => {
                // The group is answered with the error; nothing of it stays.
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
        Some("a scanned resident is already in a tube the writer cannot see".into()),
    ))
}

/// The status a key is claimed with; [`write`] corrects the keys of scans
/// that ended otherwise (most are accepted).
const CLAIMED: &str = decide::ACCEPTED;

fn gather(
    tx: &Connection,
    rounds: &mut Rounds,
    parts: &[Part<'_>],
    scans: &[Scan],
    codes: &[Option<TubeCode>],
    now: i64,
) -> rusqlite::Result<Facts> {
    let mut facts = Facts::default();
    // Each key is claimed by inserting it: one search of the keys' B-tree, where a
    // look-up followed by an insert took two. A key already there was seen before
    // (a replay); the group's transaction takes the claims back if it fails.
    // Keys are the clients': each is unique within its account only.
    let mut key = tx.prepare_cached(
        "INSERT INTO sampling_scan_keys (account_id, key, status, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (account_id, key) DO NOTHING",
    )?;
    let accounts = decide::submitters(parts).map(|b| b.account());
    for (account, k) in dedup(accounts.zip(scans).map(|(a, s)| (a, s.key.as_str()))) {
        if key.execute(params![account, k, CLAIMED, now])? == 0 {
            // A replay (rare): its first outcome is read back.
            let mut first =
                tx.prepare_cached("SELECT status FROM sampling_scan_keys WHERE account_id = ?1 AND key = ?2")?;
            let status: String = first.query_row(params![account, k], |r| r.get(0))?;
            facts.seen.insert((account, k.to_string()), decide::interned(&status));
        }
    }
    let mut round = tx.prepare_cached("SELECT pool_size, status FROM sampling_rounds WHERE id = ?1")?;
    for id in dedup(scans.iter().map(|s| s.round)) {
        let found: Option<(i64, String)> = round.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        if let Some((pool_size, status)) = found {
            let open = status == "open";
            if open {
                rounds.load(tx, id)?;
            } else {
                // Scans into a closed round are refused: its memory is not needed again.
                rounds.0.remove(&id);
            }
            facts.rounds.insert(id, Round { pool_size, open });
        }
    }
    let mut resident = tx.prepare_cached("SELECT building_id FROM residents WHERE id = ?1")?;
    let mut member = tx.prepare_cached(
        "SELECT tube_id FROM sampling_members WHERE round_id = ?1 AND resident_id = ?2 AND valid = 1",
    )?;
    for (round, id) in dedup(scans.iter().filter_map(|s| Some((s.round, s.resident?)))) {
        if !facts.rounds.contains_key(&round) {
            continue;
        }
        // A closed round has no memory: its scans are refused before anyone is looked up.
        let Some(memory) = rounds.0.get(&round) else { continue };
        let Some(building) = resident.query_row([id], |r| r.get::<_, Option<i64>>(0)).optional()? else {
            continue;
        };
        let in_scope = building.is_some_and(|b| memory.scope.contains(&b));
        facts.residents.insert((round, id), Resident { building, in_scope });
        if memory.members.may_contain(id) {
            if let Some(tube) = member.query_row(params![round, id], |r| r.get(0)).optional()? {
                facts.members.insert((round, id), tube);
            }
        }
    }
    let mut tube =
        tx.prepare_cached("SELECT id, round_id, pool_size, members, sealed FROM sampling_tubes WHERE code = ?1")?;
    let codes = decide::tube_codes(codes);
    for code in &codes {
        let found = tube
            .query_row([code], |r| Ok(Tube::found(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .optional()?;
        if let Some(t) = found {
            facts.tubes.insert(code.clone(), t);
        }
    }
    let new_tubes = i64::try_from(decide::new_tube_count(&codes, &facts)).unwrap_or(i64::MAX);
    if new_tubes > 0 {
        // One writer holds the write lock: the ids after the maximum are free until commit.
        let first: i64 =
            tx.prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM sampling_tubes")?.query_row([], |r| r.get(0))?;
        facts.fresh_ids = (first..first + new_tubes).collect();
    }
    Ok(facts)
}

/// Writes a group's rows; `false` when a member turned out to be in a valid
/// tube already (nothing was rebound: the caller rolls back).
fn write(tx: &Connection, rounds: &mut Rounds, writes: Writes, now: i64) -> rusqlite::Result<bool> {
    let mut tube = tx.prepare_cached(
        "INSERT INTO sampling_tubes (id, round_id, code, pool_size, members, sealed, opened_at, sealed_at, sampler, opened_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO UPDATE SET members = excluded.members, \
         sealed = MAX(sampling_tubes.sealed, excluded.sealed), sealed_at = COALESCE(sampling_tubes.sealed_at, excluded.sealed_at)",
    )?;
    for t in &writes.tubes {
        tube.execute(params![
            t.id,
            t.round,
            t.code,
            t.pool_size,
            t.members,
            t.sealed,
            now,
            t.sealed_at,
            t.sampler,
            t.opened_by
        ])?;
    }
    let mut member = tx.prepare_cached(concat!(
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1)",
        member_rebind!()
    ))?;
    for m in &writes.members {
        if member.execute(params![m.round, m.tube, m.resident, m.building, m.at])? == 0 {
            return Ok(false);
        }
        if let Some(memory) = rounds.0.get_mut(&m.round) {
            memory.members.insert(m.resident);
        }
    }
    let mut count = tx.prepare_cached(super::COUNT_SAMPLED)?;
    for ((round, building), n) in writes.building_counts() {
        count.execute(params![n, round, building])?;
    }
    let mut key = tx.prepare_cached("UPDATE sampling_scan_keys SET status = ?3 WHERE account_id = ?1 AND key = ?2")?;
    for (account, k, status) in writes.keys.iter().filter(|(_, _, status)| *status != CLAIMED) {
        key.execute(params![account, k, status])?;
    }
    let mut audit = tx.prepare_cached(
        "INSERT INTO audit_log (at, actor_id, actor, ip, action, entity, entity_id, before_json, after_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
    )?;
    for a in &writes.audit {
        audit.execute(params![
            now,
            a.actor.user_id,
            a.actor.name,
            a.actor.ip,
            decide::SCAN_BATCH_ACTION,
            decide::SCAN_BATCH_ENTITY,
            a.entity_id,
            a.after
        ])?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::Bitmap;

    #[test]
    fn the_member_bitmap_errs_only_towards_looking_up() {
        let mut set = Bitmap::default();
        for id in [1, 63, 64, 1_000_003] {
            set.insert(id);
        }
        for id in [1, 63, 64, 1_000_003] {
            assert!(set.may_contain(id), "{id} was inserted");
        }
        for id in [0, 2, 62, 65, 1_000_002, 5_000_000] {
            assert!(!set.may_contain(id), "{id} was not");
        }
        // Ids it cannot hold are never ruled out.
        set.insert(Bitmap::LIMIT + 5);
        assert!(set.may_contain(Bitmap::LIMIT + 5) && set.may_contain(Bitmap::LIMIT + 6) && set.may_contain(-1));
        assert!(set.0.len() <= (1_000_003 / 64) + 1, "nothing stored for ids beyond the limit");
    }
}

#[cfg(all(test, feature = "testing"))]
mod spill_tests {
    use crate::testing::TestDb;
    use crate::Backend;

    /// Copies the database file and its log as they are on disk (what a crash leaves).
    fn crash_copy(path: &std::path::Path) -> std::path::PathBuf {
        let copy = path.with_extension("crash.db");
        for suffix in ["", "-wal"] {
            let from = format!("{}{suffix}", path.display());
            if std::path::Path::new(&from).exists() {
                std::fs::copy(&from, format!("{}{suffix}", copy.display())).expect("copy");
            }
        }
        copy
    }

    fn check(path: &std::path::Path) {
        let conn = rusqlite::Connection::open(path).expect("reopen");
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity");
        assert_eq!(ok, "ok", "{}", path.display());
        let committed: i64 =
            conn.query_row("SELECT COUNT(*) FROM spill WHERE v LIKE 'pool %'", [], |r| r.get(0)).expect("count");
        assert_eq!(committed, 50, "every row the pool committed survives ({})", path.display());
        let after: i64 = conn.query_row("SELECT COUNT(*) FROM spill WHERE v = 'after'", [], |r| r.get(0)).expect("n");
        assert_eq!(after, 1, "the writer's own later commit survives");
        let rolled_back: i64 =
            conn.query_row("SELECT COUNT(*) FROM spill WHERE v LIKE 'big %'", [], |r| r.get(0)).expect("n");
        assert_eq!(rolled_back, 0, "nothing of the rolled-back transaction");
    }

    /// The writer's transaction outgrows its page cache, so SQLite writes its
    /// frames to the log early; it rolls back; another connection commits at
    /// the same place in the log; the writer reads and writes again. Every
    /// committed row must survive, in the live file and after a crash.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_transaction_that_spills_and_rolls_back_loses_no_commit() {
        let db = TestDb::new(Backend::Sqlite).await;
        let path = db.store.sqlite_path().expect("file").to_path_buf();
        sqlx::query("CREATE TABLE spill (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(db.store.pool())
            .await
            .expect("table");
        // The log starts over after a full checkpoint: the writer's frames and the
        // pool's then fall at the same offsets.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(db.store.pool()).await.expect("checkpoint");
        let writer = super::open(&path).expect("writer");
        writer.execute_batch("PRAGMA cache_size = 16").expect("small cache");
        writer.execute_batch("BEGIN IMMEDIATE").expect("begin");
        let filler = "x".repeat(1_000);
        for i in 0..2_000 {
            writer.execute("INSERT INTO spill (v) VALUES (?1)", [format!("big {i} {filler}")]).expect("insert");
        }
        writer.execute_batch("ROLLBACK").expect("rollback");
        for i in 0..50 {
            sqlx::query("INSERT INTO spill (v) VALUES ($1)")
                .bind(format!("pool {i}"))
                .execute(db.store.pool())
                .await
                .expect("pool commit");
        }
        let seen: i64 = writer.query_row("SELECT COUNT(*) FROM spill", [], |r| r.get(0)).expect("read");
        assert_eq!(seen, 50, "the writer reads the pool's commits");
        writer.execute("INSERT INTO spill (v) VALUES ('after')", []).expect("write again");
        let crashed = crash_copy(&path);
        check(&crashed);
        drop(writer);
        check(&path);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", crashed.display()));
        }
        db.drop_db().await;
    }
}
