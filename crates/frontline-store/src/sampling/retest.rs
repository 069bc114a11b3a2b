//! Home retests (复核单采): a member of an abnormal pool is sampled again at
//! home into a single tube of their own. The tube is opened full and sealed
//! (pool size 1), marked as the retest of the abnormal pool (`retest_of`), and
//! the person's retest row points at it; the lab reports it by its code like
//! any tube ([`Store::record_lab_results`]), which closes the retest.
//!
//! Retest scans are few (one per member of an abnormal pool), so they do not go
//! through the scan writer: each batch is one transaction of its own, holding
//! the writers' lock, with the same idempotency keys and audit entry as a batch
//! of pooled scans.

use frontline_domain::sampling::{
    apply as transition, check_add_member, Event, LabResult, PersonStatus, RetestResult, TransitionError, TubeCode,
    TubeState,
};
use serde_json::json;
use sqlx::AnyConnection;

use super::decide::{self, ScanOutcome, TubeFill, ACCEPTED};
use super::writer::Submitter;
use super::{Scan, IN_SCOPE};
use crate::audit::{self, Actor, Change};
use crate::db::{Backend, Store};
use crate::error::StoreError;
use crate::now_ms;

/// The audit log's action for a batch of retest scans.
const RETEST_SCAN_ACTION: &str = "sampling.retest_scan";

/// A retest tube's fill: one person, sealed.
const SINGLE: TubeFill = TubeFill { members: 1, pool_size: 1, sealed: true };

impl Store {
    /// Binds members of abnormal pools to single retest tubes, one scan each,
    /// in one transaction; each scan's outcome in order. A scan is accepted
    /// when its person waits for a retest in the round and the tube is new;
    /// the same person and tube again is a `duplicate`. Refused:
    /// `already_in_tube` (someone in a tube of the round whose pool was not
    /// abnormal), `no_retest_due` (nobody waits for this person's retest),
    /// `retest_already_taken` (their retest is in another tube, result
    /// awaited), `retest_tube_in_use` (the tube holds other people), and the
    /// pooled scans' refusals for the round, person and tube.
    pub async fn bind_retests(&self, by: &Submitter, scans: &[Scan]) -> Result<Vec<ScanOutcome>, StoreError> {
        let mut tx = self.pool().begin().await?;
        match self.backend() {
            Backend::Sqlite => crate::db::take_write_lock(&mut tx, Backend::Sqlite).await?,
            Backend::Postgres => {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(super::batch::SCAN_LOCK).execute(&mut *tx).await?;
            }
        }
        let account = by.account();
        let now = now_ms();
        let mut out = Vec::with_capacity(scans.len());
        for scan in scans {
            let seen: Option<String> =
                sqlx::query_scalar("SELECT status FROM sampling_scan_keys WHERE account_id = $1 AND key = $2")
                    .bind(account)
                    .bind(&scan.key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(first) = seen {
                let status = decide::interned(&first);
                let status = if status == ACCEPTED { "duplicate" } else { status };
                out.push(ScanOutcome { status, tube: (first == ACCEPTED).then_some(SINGLE) });
                continue;
            }
            let status = bind_one(&mut tx, by, scan, now).await?;
            sqlx::query("INSERT INTO sampling_scan_keys (account_id, key, status, created_at) VALUES ($1, $2, $3, $4)")
                .bind(account)
                .bind(&scan.key)
                .bind(status)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let single = status == ACCEPTED || status == "duplicate";
            out.push(ScanOutcome { status, tube: single.then_some(SINGLE) });
        }
        if let Some(first) = scans.first() {
            let items: Vec<_> = scans
                .iter()
                .zip(&out)
                .map(|(s, o)| json!({"key": s.key, "round": s.round, "tube": s.tube, "resident": s.resident, "at": s.at, "status": o.status}))
                .collect();
            let one_round = scans.iter().all(|s| s.round == first.round);
            let change = Change {
                action: RETEST_SCAN_ACTION,
                entity: decide::SCAN_BATCH_ENTITY,
                entity_id: one_round.then(|| first.round.to_string()),
                before: None,
                after: Some(json!({"count": scans.len(), "scans": items})),
            };
            audit::record(&mut tx, &by.actor, change).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Residents of a round whose single retest is due and not yet taken
    /// (pending, without a retest tube): whom the sampler visits.
    pub async fn retests_to_take(&self, round: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT resident_id FROM sampling_retests \
             WHERE round_id = $1 AND state = 'pending' AND retest_tube_id IS NULL ORDER BY resident_id",
        )
        .bind(round)
        .fetch_all(self.pool())
        .await?)
    }
}

/// Decides and writes one retest scan; its status.
async fn bind_one(tx: &mut AnyConnection, by: &Submitter, scan: &Scan, now: i64) -> Result<&'static str, StoreError> {
    use frontline_domain::sampling::ScanRefusal as R;
    if let Some(refusal) = scan.refusal {
        return Ok(refusal);
    }
    let round: Option<String> = sqlx::query_scalar("SELECT status FROM sampling_rounds WHERE id = $1")
        .bind(scan.round)
        .fetch_optional(&mut *tx)
        .await?;
    match round.as_deref() {
        None => return Ok("unknown_round"),
        Some("open") => {}
        Some(_) => return Ok(R::RoundClosed.code()),
    }
    let Ok(code) = TubeCode::parse(&scan.tube) else { return Ok(decide::unreadable_tube(&scan.tube)) };
    let Some(resident) = scan.resident else { return Ok(R::UnknownCode.code()) };
    let building: Option<Option<i64>> = sqlx::query_scalar("SELECT building_id FROM residents WHERE id = $1")
        .bind(resident)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(building) = building else { return Ok(R::UnknownCode.code()) };
    let in_scope = sqlx::query(IN_SCOPE).bind(scan.round).bind(resident).fetch_optional(&mut *tx).await?;
    if in_scope.is_none() {
        return Ok(R::OutOfScope.code());
    }
    if let Some(assigned) = &by.buildings {
        if !building.is_some_and(|b| assigned.contains(&b)) {
            return Ok(R::OutsideAssignment.code());
        }
    }
    type RetestRow = (String, i64, Option<i64>, Option<String>);
    let retest: Option<RetestRow> = sqlx::query_as(
        "SELECT r.state, r.tube_id, r.retest_tube_id, t.code FROM sampling_retests r \
         LEFT JOIN sampling_tubes t ON t.id = r.retest_tube_id WHERE r.round_id = $1 AND r.resident_id = $2",
    )
    .bind(scan.round)
    .bind(resident)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((state, pool, _, taken)) = retest else {
        // Nobody waits for this person's retest: a person in a tube of the
        // round is refused as a second pooled scan would be.
        let member =
            sqlx::query("SELECT tube_id FROM sampling_members WHERE round_id = $1 AND resident_id = $2 AND valid = 1")
                .bind(scan.round)
                .bind(resident)
                .fetch_optional(&mut *tx)
                .await?;
        return Ok(if member.is_some() { R::AlreadyInAnotherTube.code() } else { "no_retest_due" });
    };
    // A pending retest with a tube is taken, its result awaited; a closed one
    // keeps its last tube, which changes nothing.
    let before = match (retest_status(&state)?, taken) {
        (PersonStatus::RetestPending, Some(tube)) => {
            PersonStatus::RetestSampled { tube: TubeCode::parse(&tube).map_err(corrupt_tube)? }
        }
        (status, _) => status,
    };
    match transition(&before, &Event::RetestScanned(code.clone())) {
        Ok(after) if after == before => return Ok("duplicate"),
        Ok(_) => {}
        Err(TransitionError::RetestAlreadyTaken { .. }) => return Ok("retest_already_taken"),
        Err(_) => return Ok("no_retest_due"),
    }
    type TubeRow = (i64, i64, i64, i64);
    let tube: Option<TubeRow> =
        sqlx::query_as("SELECT round_id, pool_size, members, sealed FROM sampling_tubes WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((round, pool_size, members, sealed)) = tube {
        let state = TubeState {
            round,
            pool_size: u32::try_from(pool_size).unwrap_or(1),
            members: u32::try_from(members).unwrap_or(u32::MAX),
            sealed: sealed != 0,
        };
        // A tube that is already in use (another round's, a full or sealed
        // one, or a pooled tube being filled) never becomes a retest tube.
        return Ok(match check_add_member(Some(&state), scan.round, 1) {
            Err(refusal) => refusal.code(),
            Ok(_) => "retest_tube_in_use",
        });
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sampling_tubes (round_id, code, pool_size, members, sealed, opened_at, sealed_at, sampler, opened_by, retest_of) \
         VALUES ($1, $2, 1, 1, 1, $3, $3, $4, $5, $6) RETURNING id",
    )
    .bind(scan.round)
    .bind(code.as_str())
    .bind(now)
    .bind(&by.actor.name)
    .bind(by.actor.user_id)
    .bind(pool)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE sampling_retests SET retest_tube_id = $1 WHERE round_id = $2 AND resident_id = $3")
        .bind(id)
        .bind(scan.round)
        .bind(resident)
        .execute(&mut *tx)
        .await?;
    Ok(ACCEPTED)
}

fn corrupt_tube(e: frontline_domain::sampling::TubeCodeError) -> StoreError {
    StoreError::Corrupt(format!("a stored retest tube code does not parse: {e}"))
}

/// A retest's stored state as the domain's person status (a retest row exists
/// only for a member of an abnormal pool, so these are its only states).
pub(super) fn retest_status(state: &str) -> Result<PersonStatus, StoreError> {
    match state {
        "pending" => Ok(PersonStatus::RetestPending),
        "cleared" => Ok(PersonStatus::Cleared),
        "confirmed" => Ok(PersonStatus::Confirmed),
        other => Err(StoreError::Corrupt(format!("unknown retest state {other:?}"))),
    }
}

/// The lab's result for a retest tube (tube `tube_id`, code `code`): the
/// person's retest moves through the domain's state machine (an abnormal
/// single tube is a positive retest); an invalid one leaves the retest due,
/// free for a new tube. Audited as the retest result it is.
pub(super) async fn record_retest_tube(
    tx: &mut AnyConnection,
    actor: &Actor,
    tube_id: i64,
    code: &TubeCode,
    result: LabResult,
) -> Result<(), StoreError> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT round_id, resident_id, state FROM sampling_retests WHERE retest_tube_id = $1")
            .bind(tube_id)
            .fetch_optional(&mut *tx)
            .await?;
    // A retest tube whose person's retest was closed by hand meanwhile keeps its result only.
    let Some((round, resident, stored)) = row else { return Ok(()) };
    let retest = RetestResult::of_single_tube(result);
    let before = match retest_status(&stored)? {
        PersonStatus::RetestPending => PersonStatus::RetestSampled { tube: code.clone() },
        other => other,
    };
    let Ok(after) = transition(&before, &Event::RetestResult(retest)) else { return Ok(()) };
    let state = match after {
        PersonStatus::Cleared => "cleared",
        PersonStatus::Confirmed => "confirmed",
        _ => "pending",
    };
    // An invalid retest is taken again, into a new tube.
    let keep_tube = state != "pending";
    sqlx::query(
        "UPDATE sampling_retests SET state = $1, retest_tube_id = CASE WHEN $2 = 1 THEN retest_tube_id END \
         WHERE round_id = $3 AND resident_id = $4",
    )
    .bind(state)
    .bind(i64::from(keep_tube))
    .bind(round)
    .bind(resident)
    .execute(&mut *tx)
    .await?;
    let change = Change {
        action: "sampling.retest",
        entity: "resident",
        entity_id: Some(resident.to_string()),
        before: Some(json!({"round": round, "state": stored})),
        after: Some(json!({"round": round, "tube": code.as_str(), "result": retest.code(), "state": state})),
    };
    audit::record(tx, actor, change).await
}
