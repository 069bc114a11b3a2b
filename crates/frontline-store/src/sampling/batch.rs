//! Scans in bulk through sqlx, on either backend: a group's facts are read
//! with a fixed number of `IN (…)` lookups, decided in memory
//! ([`super::decide`]), and written with multi-row statements — so a thousand
//! scans cost about as many round trips as one.

use frontline_domain::sampling::TubeCode;
use sqlx::AnyConnection;

use super::decide::{self, dedup, Facts, Resident, Round, Tube, Writes};
use crate::bulk::{Batch, V};
use crate::db::{push_param, reserve_ids, Backend};
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
    backend: Backend,
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
            push_param(&mut sql, backend, prefix.len() + i + 1);
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

/// Records `scans` on `conn` (inside the caller's transaction); statuses in order.
///
/// A group costs a fixed number of statements whatever its size: four lookups
/// (keys, rounds, residents with their scope and current tube per round, tubes)
/// and three multi-row writes (tubes upserted, members, keys).
pub(crate) async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    samplers: &[&str],
    scans: &[Scan],
    codes: &[Option<TubeCode>],
    now: i64,
) -> Result<Vec<&'static str>, StoreError> {
    let facts = gather(conn, backend, scans, codes).await?;
    let (out, writes) = decide::decide_all(scans, codes, samplers, facts);
    write(conn, backend, writes, now).await?;
    Ok(out)
}

async fn gather(
    conn: &mut AnyConnection,
    backend: Backend,
    scans: &[Scan],
    codes: &[Option<TubeCode>],
) -> Result<Facts, StoreError> {
    let mut facts = Facts::default();
    let keys = dedup(scans.iter().map(|s| s.key.clone()));
    facts.seen = lookup::<(String, String), String>(
        conn,
        backend,
        "SELECT key, status FROM sampling_scan_keys WHERE key IN",
        &[],
        "",
        &keys,
    )
    .await?
    .into_iter()
    .map(|(k, status)| (k, decide::interned(&status)))
    .collect();
    let round_ids = dedup(scans.iter().map(|s| s.round));
    for (id, pool_size, status) in lookup::<(i64, i64, String), i64>(
        conn,
        backend,
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
    let head = match backend {
        Backend::Sqlite => RESIDENTS_IN_ROUND.replace("$1", "?").replace("$2", "?"),
        Backend::Postgres => RESIDENTS_IN_ROUND.to_string(),
    };
    let round_ids: Vec<i64> = facts.rounds.keys().copied().collect();
    for round in round_ids {
        let ids = dedup(scans.iter().filter(|s| s.round == round).filter_map(|s| s.resident));
        for (id, building, in_scope, tube) in
            lookup::<(i64, Option<i64>, i64, Option<i64>), i64>(conn, backend, &head, &[round, round], "", &ids).await?
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
        backend,
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
    facts.fresh_ids = reserve_ids(conn, backend, "sampling_tubes", new_tubes).await?;
    Ok(facts)
}

/// A resident's building, whether it is in a round's scope (`$1`), and their valid tube in the round (`$2`).
const RESIDENTS_IN_ROUND: &str = "SELECT r.id, r.building_id, \
       CASE WHEN EXISTS (SELECT 1 FROM sampling_round_buildings rb \
         WHERE rb.round_id = $1 AND rb.building_id = r.building_id) THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END, \
       (SELECT m.tube_id FROM sampling_members m WHERE m.round_id = $2 AND m.resident_id = r.id AND m.valid = 1) \
     FROM residents r WHERE r.id IN";

/// Upserts a tube by id: new tubes are inserted, changed ones take their new count and seal.
const TUBE_UPSERT: &str = " ON CONFLICT (id) DO UPDATE SET members = excluded.members, \
     sealed = excluded.sealed, sealed_at = COALESCE(sampling_tubes.sealed_at, excluded.sealed_at)";

async fn write(conn: &mut AnyConnection, backend: Backend, writes: Writes, now: i64) -> Result<(), StoreError> {
    let counts = writes.building_counts();
    let mut tube_rows = Batch::new(
        backend,
        "INSERT INTO sampling_tubes (id, round_id, code, pool_size, members, sealed, opened_at, sealed_at, sampler)",
        9,
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
        ]);
        if tube_rows.full() {
            tube_rows.flush(conn).await?;
        }
    }
    tube_rows.flush(conn).await?;
    let mut member_rows = Batch::new(
        backend,
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid)",
        6,
    )
    .with_tail(member_rebind!());
    for m in writes.members {
        member_rows.push([V::I(m.round), V::I(m.tube), V::I(m.resident), V::OptI(m.building), V::I(m.at), V::I(1)]);
        if member_rows.full() {
            member_rows.flush(conn).await?;
        }
    }
    member_rows.flush(conn).await?;
    for ((round, building), n) in counts {
        sqlx::query(super::COUNT_SAMPLED).bind(n).bind(round).bind(building).execute(&mut *conn).await?;
    }
    let mut key_rows = Batch::new(backend, "INSERT INTO sampling_scan_keys (key, status, created_at)", 3);
    for (key, status) in writes.keys {
        key_rows.push([V::S(key), V::S(status.to_string()), V::I(now)]);
        if key_rows.full() {
            key_rows.flush(conn).await?;
        }
    }
    key_rows.flush(conn).await?;
    Ok(())
}
