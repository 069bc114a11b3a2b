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
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::decide::{self, dedup, Facts, Resident, Round, Tube, Writes};
use crate::sampling::Scan;

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
///   mapped page costs no read system call and no copy;
/// - it writes the log through [`super::coalesce_vfs`]: a commit's frames
///   reach the file in one write instead of two per frame. That relies on
///   `synchronous = FULL` (the log index is updated only after the sync).
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = match super::coalesce_vfs::register() {
        Ok(()) => Connection::open_with_flags_and_vfs(path, OpenFlags::default(), super::coalesce_vfs::name())?,
        Err(rc) => {
            tracing::warn!(code = rc, "the scan writer writes its log frame by frame (no coalescing VFS)");
            Connection::open(path)?
        }
    };
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 3000; PRAGMA cache_size = -32768; \
         PRAGMA mmap_size = 1073741824;",
    )?;
    conn.execute_batch(crate::db::WAL_SIZE_LIMIT)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

/// Records a group in one immediate transaction; statuses in order.
pub(crate) fn record(
    conn: &mut Connection,
    samplers: &[&str],
    scans: &[Scan],
    codes: &[Option<TubeCode>],
    now: i64,
) -> rusqlite::Result<Vec<&'static str>> {
    // BEGIN and COMMIT through cached statements (a transaction object would compile them each time).
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let result = gather(conn, scans, codes, now).and_then(|facts| {
        let (out, writes) = decide::decide_all(scans, codes, samplers, facts);
        write(conn, writes, now)?;
        Ok(out)
    });
    match result {
        Ok(out) => {
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(out)
        }
        Err(e) => {
            // The group is answered with the error; nothing of it stays.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The status a key is claimed with; [`write`] corrects the keys of scans
/// that ended otherwise (most are accepted).
const CLAIMED: &str = decide::ACCEPTED;

fn gather(tx: &Connection, scans: &[Scan], codes: &[Option<TubeCode>], now: i64) -> rusqlite::Result<Facts> {
    let mut facts = Facts::default();
    // Each key is claimed by inserting it: one search of the keys' B-tree, where a
    // look-up followed by an insert took two. A key already there was seen before
    // (a replay); the group's transaction takes the claims back if it fails.
    let mut key = tx.prepare_cached(
        "INSERT INTO sampling_scan_keys (key, status, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
    )?;
    for k in dedup(scans.iter().map(|s| s.key.as_str())) {
        if key.execute(params![k, CLAIMED, now])? == 0 {
            facts.seen.insert(k.to_string());
        }
    }
    let mut round = tx.prepare_cached("SELECT pool_size, status FROM sampling_rounds WHERE id = ?1")?;
    for id in dedup(scans.iter().map(|s| s.round)) {
        let found: Option<(i64, String)> = round.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        if let Some((pool_size, status)) = found {
            facts.rounds.insert(id, Round { pool_size, open: status == "open" });
        }
    }
    let mut resident = tx.prepare_cached(
        "SELECT r.building_id, \
           EXISTS (SELECT 1 FROM sampling_round_buildings rb WHERE rb.round_id = ?1 AND rb.building_id = r.building_id), \
           (SELECT m.tube_id FROM sampling_members m WHERE m.round_id = ?1 AND m.resident_id = r.id AND m.valid = 1) \
         FROM residents r WHERE r.id = ?2",
    )?;
    for (round, id) in dedup(scans.iter().filter_map(|s| Some((s.round, s.resident?)))) {
        if !facts.rounds.contains_key(&round) {
            continue;
        }
        let found: Option<(Option<i64>, bool, Option<i64>)> =
            resident.query_row(params![round, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
        if let Some((building, in_scope, tube)) = found {
            facts.residents.insert((round, id), Resident { building, in_scope });
            if let Some(tube) = tube {
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

fn write(tx: &Connection, writes: Writes, now: i64) -> rusqlite::Result<()> {
    let mut tube = tx.prepare_cached(
        "INSERT INTO sampling_tubes (id, round_id, code, pool_size, members, sealed, opened_at, sealed_at, sampler) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO UPDATE SET members = excluded.members, \
         sealed = excluded.sealed, sealed_at = COALESCE(sampling_tubes.sealed_at, excluded.sealed_at)",
    )?;
    for t in &writes.tubes {
        tube.execute(params![t.id, t.round, t.code, t.pool_size, t.members, t.sealed, now, t.sealed_at, t.sampler])?;
    }
    let mut member = tx.prepare_cached(concat!(
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1)",
        member_rebind!()
    ))?;
    for m in &writes.members {
        member.execute(params![m.round, m.tube, m.resident, m.building, m.at])?;
    }
    let mut count = tx.prepare_cached(super::COUNT_SAMPLED)?;
    for ((round, building), n) in writes.building_counts() {
        count.execute(params![n, round, building])?;
    }
    let mut key = tx.prepare_cached("UPDATE sampling_scan_keys SET status = ?2 WHERE key = ?1")?;
    for (k, status) in writes.keys.iter().filter(|(_, status)| *status != CLAIMED) {
        key.execute(params![k, status])?;
    }
    Ok(())
}
