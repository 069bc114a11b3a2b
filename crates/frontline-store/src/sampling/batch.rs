//! The scan writer on PostgreSQL: a group's facts are read with a fixed
//! number of `IN (…)` lookups, decided in memory ([`super::decide`]), and
//! written with multi-row statements — so a thousand scans cost about as many
//! round trips as one.
//!
//! Several `frontline serve` instances may share one database. Each group
//! takes one transaction-scoped advisory lock before it reads anything, so the
//! instances' groups run one after the other: each reads what the others
//! committed (tubes' counts, who is in which tube) and decides on that. Two
//! instances scanning the same tube never lose a count, and one person
//! scanned into two tubes through two instances ends up in one of them; the
//! other scan is refused as `already_in_tube` and the rest of its group
//! commits.

use frontline_domain::sampling::TubeCode;
use sqlx::AnyConnection;

use super::decide::{self, dedup, Facts, Part, Resident, Round, Tube, Writes};
use crate::bulk::{Batch, V};
use crate::db::{push_param, reserve_ids, Backend, Store};

/// This writer's dialect.
const BACKEND: Backend = Backend::Postgres;
use crate::error::StoreError;
use crate::sampling::Scan;

/// Values per `IN (…)` list. Lists are padded (with their last value) to one of
/// a few sizes, so that the statement text repeats and its prepared statement
/// is reused from the connection's cache instead of being compiled per group.
const IN_SIZES: [usize; 6] = [1, 4, 16, 64, 256, 1024];

fn padded_len(n: usize) -> usize {
    IN_SIZES.into_iter().find(|s| *s >= n).unwrap_or(IN_SIZES[IN_SIZES.len() - 1])
}

/// Rows of `{head} ({values…}) {tail}`, with `prefix` bound before the list
/// (in text order), `values` in chunks of at most 1,024 padded to a fixed size.
async fn lookup<T, P>(
    conn: &mut AnyConnection,
    head: &str,
    prefix: &[i64],
    tail: &str,
    values: &[P],
) -> Result<Vec<T>, StoreError>
where
    T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    P: Clone + Send + for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + 'static,
{
    let mut out = Vec::new();
    for chunk in values.chunks(IN_SIZES[IN_SIZES.len() - 1]) {
        let size = padded_len(chunk.len());
        let mut sql = String::with_capacity(head.len() + tail.len() + size * 6);
        sql.push_str(head);
        sql.push_str(" (");
        for i in 0..size {
            if i > 0 {
                sql.push(',');
            }
            push_param(&mut sql, BACKEND, prefix.len() + i + 1);
        }
        sql.push_str(") ");
        sql.push_str(tail);
        let mut q = sqlx::query_as::<_, T>(&sql);
        for p in prefix {
            q = q.bind(*p);
        }
        for v in chunk.iter().chain(std::iter::repeat_n(&chunk[chunk.len() - 1], size - chunk.len())) {
            q = q.bind(v.clone());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The advisory lock every instance's scan writer takes for one group (an
/// arbitrary constant: "FLscan" in ASCII).
pub(crate) const SCAN_LOCK: i64 = 0x464c_7363_616e;

/// Records the batches of several samplers (`parts`, in order, sent `scans`,
/// whose parsed tube codes are `codes`) in one transaction, with an audit
/// entry per batch; statuses in order.
///
/// A group costs a fixed number of statements whatever its size: the lock,
/// four lookups (keys per account, rounds, residents with their scope and
/// current tube per round, tubes) and four multi-row writes (tubes upserted,
/// members, keys, audit entries).
/// A member row that appeared behind the lock's back (written by something
/// other than a scan writer) makes the group's decisions unsound: it is rolled
/// back and decided once more on fresh facts.
pub(crate) async fn record_group(
    store: &Store,
    parts: &[Part<'_>],
    scans: &[Scan],
    codes: &[Option<TubeCode>],
    now: i64,
) -> Result<Vec<decide::ScanOutcome>, StoreError> {
    debug_assert_eq!(parts.iter().map(|p| p.len).sum::<usize>(), scans.len());
    for _ in 0..2 {
        let mut tx = store.pool().begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SCAN_LOCK).execute(&mut *tx).await?;
        let facts = gather(&mut tx, parts, scans, codes).await?;
        let (out, writes) = decide::decide_all(scans, codes, parts, facts);
        if write(&mut tx, writes, now).await? {
            tx.commit().await?;
            return Ok(out);
        }
        tx.rollback().await?;
        tracing::warn!("the scan writer met a member it did not know of; it decides the group again");
    }
    Err(StoreError::Corrupt("a scanned resident is already in a tube the writer cannot see".into()))
}

async fn gather(
    conn: &mut AnyConnection,
    parts: &[Part<'_>],
    scans: &[Scan],
    codes: &[Option<TubeCode>],
) -> Result<Facts, StoreError> {
    let mut facts = Facts::default();
    // Keys are the clients': each account's are looked up among its own.
    let accounts: Vec<i64> = decide::submitters(parts).map(|b| b.account()).collect();
    for account in dedup(accounts.iter().copied()) {
        let keys = dedup(scans.iter().zip(&accounts).filter(|(_, a)| **a == account).map(|(s, _)| s.key.clone()));
        for (k, status) in lookup::<(String, String), String>(
            conn,
            "SELECT key, status FROM sampling_scan_keys WHERE account_id = $1 AND key IN",
            &[account],
            "",
            &keys,
        )
        .await?
        {
            facts.seen.insert((account, k), decide::interned(&status));
        }
    }
    let round_ids = dedup(scans.iter().map(|s| s.round));
    for (id, pool_size, status) in lookup::<(i64, i64, String), i64>(
        conn,
        "SELECT id, pool_size, status FROM sampling_rounds WHERE id IN",
        &[],
        "",
        &round_ids,
    )
    .await?
    {
        facts.rounds.insert(id, Round { pool_size, open: status == "open" });
    }
    // Per round (a group nearly always has one): each resident's building, scope and tube.
    let round_ids: Vec<i64> = facts.rounds.keys().copied().collect();
    for round in round_ids {
        let ids = dedup(scans.iter().filter(|s| s.round == round).filter_map(|s| s.resident));
        for (id, building, in_scope, tube) in
            lookup::<(i64, Option<i64>, i64, Option<i64>), i64>(conn, RESIDENTS_IN_ROUND, &[round, round], "", &ids)
                .await?
        {
            facts.residents.insert((round, id), Resident { building, in_scope: in_scope != 0 });
            if let Some(tube) = tube {
                facts.members.insert((round, id), tube);
            }
        }
    }
    let codes = decide::tube_codes(codes);
    for (id, code, round, pool_size, members, sealed) in lookup::<(i64, String, i64, i64, i64, i64), String>(
        conn,
        "SELECT id, code, round_id, pool_size, members, sealed FROM sampling_tubes WHERE code IN",
        &[],
        "",
        &codes,
    )
    .await?
    {
        facts.tubes.insert(code, Tube::found(id, round, pool_size, members, sealed != 0));
    }
    let new_tubes = decide::new_tube_count(&codes, &facts);
    facts.fresh_ids = reserve_ids(conn, BACKEND, "sampling_tubes", new_tubes).await?;
    Ok(facts)
}

/// A resident's building, whether it is in a round's scope (`$1`), and their valid tube in the round (`$2`).
const RESIDENTS_IN_ROUND: &str = "SELECT r.id, r.building_id, \
       CASE WHEN EXISTS (SELECT 1 FROM sampling_round_buildings rb \
         WHERE rb.round_id = $1 AND rb.building_id = r.building_id) THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END, \
       (SELECT m.tube_id FROM sampling_members m WHERE m.round_id = $2 AND m.resident_id = r.id AND m.valid = 1) \
     FROM residents r WHERE r.id IN";

/// Upserts a tube by id: new tubes are inserted, changed ones take their new
/// count (read under the lock, so no other writer changed it meanwhile) and
/// seal. A tube sealed meanwhile by hand or by its lab result stays sealed.
const TUBE_UPSERT: &str = " ON CONFLICT (id) DO UPDATE SET members = excluded.members, \
     sealed = GREATEST(sampling_tubes.sealed, excluded.sealed), sealed_at = COALESCE(sampling_tubes.sealed_at, excluded.sealed_at)";

/// Writes a group's rows; `false` when a member turned out to be in a valid
/// tube already (nothing was rebound: the caller rolls back).
async fn write(conn: &mut AnyConnection, writes: Writes, now: i64) -> Result<bool, StoreError> {
    let counts = writes.building_counts();
    let mut tube_rows = Batch::new(
        BACKEND,
        "INSERT INTO sampling_tubes (id, round_id, code, pool_size, members, sealed, opened_at, sealed_at, sampler, opened_by)",
        10,
    )
    .with_tail(TUBE_UPSERT);
    for t in writes.tubes {
        tube_rows.push([
            V::I(t.id),
            V::I(t.round),
            V::S(t.code),
            V::I(t.pool_size),
            V::I(t.members),
            V::I(i64::from(t.sealed)),
            V::I(now),
            V::OptI(t.sealed_at),
            V::S(t.sampler),
            V::OptI(t.opened_by),
        ]);
        if tube_rows.full() {
            tube_rows.flush(conn).await?;
        }
    }
    tube_rows.flush(conn).await?;
    let mut member_rows = Batch::new(
        BACKEND,
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid)",
        6,
    )
    .with_tail(member_rebind!());
    let expected = writes.members.len() as u64;
    let mut written = 0;
    for m in writes.members {
        member_rows.push([V::I(m.round), V::I(m.tube), V::I(m.resident), V::OptI(m.building), V::I(m.at), V::I(1)]);
        if member_rows.full() {
            written += member_rows.flush(conn).await?;
        }
    }
    written += member_rows.flush(conn).await?;
    if written != expected {
        return Ok(false);
    }
    for ((round, building), n) in counts {
        sqlx::query(super::COUNT_SAMPLED).bind(n).bind(round).bind(building).execute(&mut *conn).await?;
    }
    let mut key_rows = Batch::new(BACKEND, "INSERT INTO sampling_scan_keys (account_id, key, status, created_at)", 4);
    for (account, key, status) in writes.keys {
        key_rows.push([V::I(account), V::S(key), V::S(status.to_string()), V::I(now)]);
        if key_rows.full() {
            key_rows.flush(conn).await?;
        }
    }
    key_rows.flush(conn).await?;
    let mut audit_rows = Batch::new(
        BACKEND,
        "INSERT INTO audit_log (at, actor_id, actor, ip, action, entity, entity_id, before_json, after_json)",
        9,
    );
    for a in writes.audit {
        audit_rows.push([
            V::I(now),
            V::OptI(a.actor.user_id),
            V::S(a.actor.name),
            V::OptS(a.actor.ip),
            V::S(decide::SCAN_BATCH_ACTION.to_string()),
            V::S(decide::SCAN_BATCH_ENTITY.to_string()),
            V::OptS(a.entity_id),
            V::OptS(None),
            V::S(a.after),
        ]);
        if audit_rows.full() {
            audit_rows.flush(conn).await?;
        }
    }
    audit_rows.flush(conn).await?;
    Ok(true)
}
