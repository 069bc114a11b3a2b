//! Scans in bulk: a batch is checked against the database with a fixed number
//! of `IN (…)` lookups, decided in memory in arrival order, and written with
//! multi-row statements — so a thousand scans cost about as many round trips
//! as one.

use std::collections::{HashMap, HashSet};

use frontline_domain::sampling::{check_add_member, ScanRefusal, TubeAction, TubeCode, TubeState};
use sqlx::AnyConnection;

use crate::bulk::{Batch, V};
use crate::db::{param_list, reserve_ids, Backend};
use crate::error::StoreError;
use crate::sampling::Scan;

struct Round {
    pool_size: i64,
    open: bool,
    buildings: HashSet<i64>,
}

struct Tube {
    id: i64,
    round: i64,
    pool_size: i64,
    members: i64,
    sealed: bool,
    sealed_at: Option<i64>,
    new: bool,
    touched: bool,
    /// Who opened it (new tubes only).
    sampler: String,
}

async fn lookup<T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>>(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    tail: &str,
    values: &[String],
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for chunk in values.chunks(2_000) {
        let sql = format!("{head} ({}) {tail}", param_list(backend, chunk.len()));
        let mut q = sqlx::query_as::<_, T>(&sql);
        for v in chunk {
            q = q.bind(v.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

async fn lookup_ids<T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>>(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    tail: &str,
    values: &[i64],
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for chunk in values.chunks(2_000) {
        let sql = format!("{head} ({}) {tail}", param_list(backend, chunk.len()));
        let mut q = sqlx::query_as::<_, T>(&sql);
        for v in chunk {
            q = q.bind(*v);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

fn dedup<T: Clone + Eq + std::hash::Hash>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
}

/// Records `scans` on `conn` (inside the caller's transaction); statuses in order.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    samplers: &[&str],
    scans: &[Scan],
    now: i64,
) -> Result<Vec<String>, StoreError> {
    // 1. What the database already knows about this batch.
    let keys = dedup(scans.iter().map(|s| s.key.clone()));
    let seen: HashSet<String> =
        lookup::<(String,)>(conn, backend, "SELECT key FROM sampling_scan_keys WHERE key IN", "", &keys)
            .await?
            .into_iter()
            .map(|(k,)| k)
            .collect();
    let round_ids = dedup(scans.iter().map(|s| s.round));
    let mut rounds: HashMap<i64, Round> = HashMap::new();
    for (id, pool_size, status) in lookup_ids::<(i64, i64, String)>(
        conn,
        backend,
        "SELECT id, pool_size, status FROM sampling_rounds WHERE id IN",
        "",
        &round_ids,
    )
    .await?
    {
        rounds.insert(id, Round { pool_size, open: status == "open", buildings: HashSet::new() });
    }
    for (round, building) in lookup_ids::<(i64, i64)>(
        conn,
        backend,
        "SELECT round_id, building_id FROM sampling_round_buildings WHERE round_id IN",
        "",
        &round_ids,
    )
    .await?
    {
        if let Some(r) = rounds.get_mut(&round) {
            r.buildings.insert(building);
        }
    }
    let resident_ids = dedup(scans.iter().filter_map(|s| s.resident));
    let buildings: HashMap<i64, Option<i64>> = lookup_ids::<(i64, Option<i64>)>(
        conn,
        backend,
        "SELECT id, building_id FROM residents WHERE id IN",
        "",
        &resident_ids,
    )
    .await?
    .into_iter()
    .collect();
    let codes: Vec<Option<TubeCode>> = scans.iter().map(|s| TubeCode::parse(&s.tube).ok()).collect();
    let code_strings = dedup(codes.iter().flatten().map(|c| c.as_str().to_string()));
    let mut tubes: HashMap<String, Tube> = HashMap::new();
    for (id, code, round, pool_size, members, sealed) in lookup::<(i64, String, i64, i64, i64, i64)>(
        conn,
        backend,
        "SELECT id, code, round_id, pool_size, members, sealed FROM sampling_tubes WHERE code IN",
        "",
        &code_strings,
    )
    .await?
    {
        tubes.insert(
            code,
            Tube {
                id,
                round,
                pool_size,
                members,
                sealed: sealed != 0,
                sealed_at: None,
                new: false,
                touched: false,
                sampler: String::new(),
            },
        );
    }
    let mut members: HashMap<(i64, i64), i64> = HashMap::new();
    // By round first: the unique index is (round_id, resident_id), so each lookup is an index probe.
    for round in &round_ids {
        let tail = format!("AND round_id = {round}");
        for (resident, tube) in lookup_ids::<(i64, i64)>(
            conn,
            backend,
            "SELECT resident_id, tube_id FROM sampling_members WHERE resident_id IN",
            &tail,
            &resident_ids,
        )
        .await?
        {
            members.insert((*round, resident), tube);
        }
    }

    // 2. Decide each scan in order, against that state as it evolves.
    let new_tube_count = code_strings.iter().filter(|c| !tubes.contains_key(*c)).count();
    let mut fresh_ids = reserve_ids(conn, backend, "sampling_tubes", new_tube_count).await?.into_iter();
    let mut batch_keys: HashSet<&str> = HashSet::new();
    let mut new_members: Vec<(i64, i64, i64, Option<i64>, i64)> = Vec::new();
    let mut out = Vec::with_capacity(scans.len());
    for ((scan, code), sampler) in scans.iter().zip(&codes).zip(samplers) {
        if seen.contains(&scan.key) || !batch_keys.insert(scan.key.as_str()) {
            out.push("duplicate".to_string());
            continue;
        }
        let status = decide(
            scan,
            sampler,
            code.as_ref(),
            &rounds,
            &buildings,
            &mut tubes,
            &mut members,
            &mut fresh_ids,
            &mut new_members,
        );
        out.push(status.to_string());
    }

    // 3. Write: new tubes, touched tubes, members, keys.
    let mut tube_rows = Batch::new(
        backend,
        "INSERT INTO sampling_tubes (id, round_id, code, pool_size, members, sealed, opened_at, sealed_at, sampler)",
        9,
    );
    for (code, t) in tubes.iter().filter(|(_, t)| t.new) {
        tube_rows.push([
            V::I(t.id),
            V::I(t.round),
            V::S(code.clone()),
            V::I(t.pool_size),
            V::I(t.members),
            V::I(i64::from(t.sealed)),
            V::I(now),
            V::OptI(t.sealed_at),
            V::S(t.sampler.clone()),
        ]);
        if tube_rows.full() {
            tube_rows.flush(conn).await?;
        }
    }
    tube_rows.flush(conn).await?;
    for t in tubes.values().filter(|t| t.touched && !t.new) {
        sqlx::query(
            "UPDATE sampling_tubes SET members = $1, sealed = $2, sealed_at = COALESCE(sealed_at, $3) WHERE id = $4",
        )
        .bind(t.members)
        .bind(i64::from(t.sealed))
        .bind(t.sealed_at)
        .bind(t.id)
        .execute(&mut *conn)
        .await?;
    }
    let mut member_rows = Batch::new(
        backend,
        "INSERT INTO sampling_members (round_id, tube_id, resident_id, building_id, scanned_at, valid)",
        6,
    );
    for (round, tube, resident, building, at) in new_members {
        member_rows.push([V::I(round), V::I(tube), V::I(resident), V::OptI(building), V::I(at), V::I(1)]);
        if member_rows.full() {
            member_rows.flush(conn).await?;
        }
    }
    member_rows.flush(conn).await?;
    let mut key_rows = Batch::new(backend, "INSERT INTO sampling_scan_keys (key, status, created_at)", 3);
    let mut written: HashSet<&str> = HashSet::new();
    for (scan, status) in scans.iter().zip(&out) {
        if seen.contains(&scan.key) || !written.insert(scan.key.as_str()) {
            continue;
        }
        key_rows.push([V::S(scan.key.clone()), V::S(status.clone()), V::I(now)]);
        if key_rows.full() {
            key_rows.flush(conn).await?;
        }
    }
    key_rows.flush(conn).await?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn decide(
    scan: &Scan,
    sampler: &str,
    code: Option<&TubeCode>,
    rounds: &HashMap<i64, Round>,
    buildings: &HashMap<i64, Option<i64>>,
    tubes: &mut HashMap<String, Tube>,
    members: &mut HashMap<(i64, i64), i64>,
    fresh_ids: &mut impl Iterator<Item = i64>,
    new_members: &mut Vec<(i64, i64, i64, Option<i64>, i64)>,
) -> &'static str {
    if let Some(refusal) = scan.refusal {
        return refusal;
    }
    let Some(round) = rounds.get(&scan.round) else { return "unknown_round" };
    if !round.open {
        return ScanRefusal::RoundClosed.code();
    }
    let Some(code) = code else { return "malformed_tube" };
    let Some(resident) = scan.resident else { return ScanRefusal::UnknownCode.code() };
    let Some(building) = buildings.get(&resident) else { return ScanRefusal::UnknownCode.code() };
    if !building.is_some_and(|b| round.buildings.contains(&b)) {
        return ScanRefusal::OutOfScope.code();
    }
    let tube = tubes.get(code.as_str());
    if let Some(in_tube) = members.get(&(scan.round, resident)) {
        return if tube.is_some_and(|t| t.id == *in_tube) {
            "duplicate"
        } else {
            ScanRefusal::AlreadyInAnotherTube.code()
        };
    }
    let state = tube.map(|t| TubeState {
        round: t.round,
        pool_size: u32::try_from(t.pool_size).unwrap_or(1),
        members: u32::try_from(t.members).unwrap_or(u32::MAX),
        sealed: t.sealed,
    });
    let action = match check_add_member(state.as_ref(), scan.round, u32::try_from(round.pool_size).unwrap_or(10)) {
        Ok(a) => a,
        Err(refusal) => return refusal.code(),
    };
    let tube_id = match action {
        TubeAction::Open { now_full } => {
            let Some(id) = fresh_ids.next() else { return "internal" };
            tubes.insert(
                code.as_str().to_string(),
                Tube {
                    id,
                    round: scan.round,
                    pool_size: round.pool_size,
                    members: 1,
                    sealed: now_full,
                    sealed_at: now_full.then_some(scan.at),
                    new: true,
                    touched: true,
                    sampler: sampler.to_string(),
                },
            );
            id
        }
        TubeAction::Add { now_full } => {
            let Some(t) = tubes.get_mut(code.as_str()) else { return ScanRefusal::UnknownCode.code() };
            t.members += 1;
            t.touched = true;
            if now_full {
                t.sealed = true;
                t.sealed_at = Some(scan.at);
            }
            t.id
        }
    };
    members.insert((scan.round, resident), tube_id);
    new_members.push((scan.round, tube_id, resident, *building, scan.at));
    "accepted"
}
