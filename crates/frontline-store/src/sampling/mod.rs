//! Sampling rounds (核酸采样): rounds over buildings, scans binding residents to
//! pooled tubes (idempotent by the client's key), coverage, the missed list
//! (补采名单), and lab results that open retests or send people back to the list.

use std::collections::HashMap;

use frontline_domain::sampling::{apply as transition, Event, PersonStatus, TransitionError};
use frontline_domain::sampling::{LabResult, MissReason, RetestResult, TubeCode};
use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::{self, Actor, Change};
use crate::db::{param_list, Store};
use crate::error::StoreError;
use crate::now_ms;

/// The tail of both writers' member insert. A person whose tube came back
/// invalid keeps a row with `valid = 0` and is on the missed list again; the
/// sweep (补采) binds them to a new tube, which replaces that row. A valid
/// binding is never replaced: the writers look it up in the same transaction
/// and refuse the scan (`already_in_tube`) before they write.
macro_rules! member_rebind {
    () => {
        " ON CONFLICT (round_id, resident_id) DO UPDATE SET tube_id = excluded.tube_id, \
         building_id = excluded.building_id, scanned_at = excluded.scanned_at, valid = 1 \
         WHERE sampling_members.valid = 0"
    };
}

/// Adds to a building's sampled count (`$1` members, round `$2`, building
/// `$3`): both writers for the members they bind, a lab result (negative `$1`)
/// for those an invalid tube sends back to the missed list.
const COUNT_SAMPLED: &str =
    "UPDATE sampling_round_buildings SET sampled = sampled + $1 WHERE round_id = $2 AND building_id = $3";

mod batch;
mod coverage;
mod decide;
mod merge;
mod sqlite_thread;
mod tubes;
mod writer;

pub use coverage::{
    BuildingCoverage, BuildingDetail, CompoundCoverage, Coverage, HouseholdCoverage, Missed, MissedFilter, UnitCoverage,
};
pub use decide::OTHER_SCAN_STATUSES;
pub(crate) use merge::MERGE;

/// A tube whose result is overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueTube {
    /// Its barcode.
    pub code: String,
    /// Its pool size.
    pub pool_size: i64,
    /// People in it.
    pub members: i64,
    /// When it was sealed (or opened, if never sealed), unix ms.
    pub since: i64,
    /// Who opened it.
    pub sampler: String,
}

/// A resident (`$2`) of a round's scope (`$1`): one row, or none.
const IN_SCOPE: &str = "SELECT r.id FROM residents r JOIN sampling_round_buildings rb \
     ON rb.building_id = r.building_id AND rb.round_id = $1 WHERE r.id = $2";

/// What noting a missed person's reason did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissNote {
    /// Noted.
    Noted,
    /// The resident is not in the round's scope.
    OutOfScope,
    /// The resident is bound to a valid tube of the round.
    AlreadySampled,
    /// The reason is set by lab results only (`tube_invalid`).
    Reserved,
}
pub use writer::{ScanWriter, SubmitError};

/// A new round.
#[derive(Debug, Clone)]
pub struct NewRound {
    /// Its name.
    pub name: String,
    /// Default people per tube.
    pub pool_size: u32,
    /// `door_to_door` or `fixed_point`.
    pub mode: String,
    /// When it must be done (unix ms).
    pub deadline: Option<i64>,
    /// The buildings in scope.
    pub buildings: Vec<i64>,
    /// The team assigned to each building that has one.
    pub teams: Vec<TeamAssignment>,
}

/// A team assigned to a building of a round (the missed list is handed out per team).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TeamAssignment {
    /// The building.
    pub building: i64,
    /// The team's name (`None` clears the assignment).
    pub team: Option<String>,
}

/// A round.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SamplingRound {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Default people per tube.
    pub pool_size: i64,
    /// `door_to_door` or `fixed_point`.
    pub mode: String,
    /// Deadline (unix ms).
    pub deadline: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    /// The buildings in scope.
    pub buildings: Vec<i64>,
    /// The teams assigned to buildings (buildings without a team are left out).
    pub teams: Vec<TeamAssignment>,
}

/// A tube as the store knows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TubeView {
    /// Its barcode.
    pub code: String,
    /// Its round.
    pub round: i64,
    /// People bound to it.
    pub members: i64,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Who opened it.
    pub sampler: String,
    /// Its lab result, once recorded.
    pub result: Option<String>,
}

/// One scan as a phone sends it.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The client's idempotency key.
    pub key: String,
    /// The round.
    pub round: i64,
    /// The tube's code, as scanned.
    pub tube: String,
    /// The resident the code decodes to (`None` when the code was malformed or unknown: `refusal` says why).
    pub resident: Option<i64>,
    /// A refusal found before the store (a malformed code).
    pub refusal: Option<&'static str>,
    /// When it was scanned (unix ms).
    pub at: i64,
}

impl Store {
    /// Creates a round over buildings.
    pub async fn create_sampling_round(&self, actor: &Actor, new: &NewRound) -> Result<SamplingRound, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sampling_rounds (name, pool_size, mode, deadline, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
        )
        .bind(&new.name)
        .bind(i64::from(new.pool_size))
        .bind(&new.mode)
        .bind(new.deadline)
        .bind(&actor.name)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        for b in &new.buildings {
            sqlx::query(
                "INSERT INTO sampling_round_buildings (round_id, building_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(*b)
            .execute(&mut *tx)
            .await?;
        }
        set_teams(&mut tx, id, &new.teams).await?;
        let round = fetch_round(&mut tx, id).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.round.create",
                entity: "sampling_round",
                entity_id: Some(id.to_string()),
                before: None,
                after: Some(json!(round)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(round)
    }

    /// Every round, newest first (the latest 200): two queries, the rounds and then
    /// the scopes of all of them, whatever their number.
    pub async fn list_sampling_rounds(&self) -> Result<Vec<SamplingRound>, StoreError> {
        let rows = sqlx::query(&format!("{ROUND_SELECT} ORDER BY id DESC LIMIT 200")).fetch_all(self.pool()).await?;
        let (Some(newest), Some(oldest)) = (rows.first(), rows.last()) else {
            return Ok(Vec::new());
        };
        let (newest, oldest): (i64, i64) = (newest.try_get("id")?, oldest.try_get("id")?);
        // Ids between the oldest and the newest listed are exactly the rounds listed:
        // one range of the scope's primary key.
        let scope: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT round_id, building_id, team FROM sampling_round_buildings \
             WHERE round_id >= $1 AND round_id <= $2 ORDER BY round_id, building_id",
        )
        .bind(oldest)
        .bind(newest)
        .fetch_all(self.pool())
        .await?;
        let mut by_round: HashMap<i64, Vec<(i64, Option<String>)>> = HashMap::new();
        for (round, building, team) in scope {
            by_round.entry(round).or_default().push((building, team));
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                round_from(row, by_round.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// The residents of a building already bound to a valid tube in a round, with their tube codes.
    pub async fn sampled_in_building(&self, round: i64, building: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, t.code FROM residents r \
             JOIN sampling_members m ON m.round_id = $1 AND m.resident_id = r.id AND m.valid = 1 \
             JOIN sampling_tubes t ON t.id = m.tube_id WHERE r.building_id = $2",
        )
        .bind(round)
        .bind(building)
        .fetch_all(self.pool())
        .await?)
    }

    /// Assigns teams to buildings of a round (audited with the assignments before and after).
    pub async fn assign_sampling_teams(
        &self,
        actor: &Actor,
        round: i64,
        teams: &[TeamAssignment],
    ) -> Result<SamplingRound, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = fetch_round(&mut tx, round).await?;
        set_teams(&mut tx, round, teams).await?;
        let after = fetch_round(&mut tx, round).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.round.teams",
                entity: "sampling_round",
                entity_id: Some(round.to_string()),
                before: Some(json!(before.teams)),
                after: Some(json!(after.teams)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Closes a round: later scans are refused with `round_closed`.
    pub async fn close_sampling_round(&self, actor: &Actor, id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE sampling_rounds SET status = 'closed' WHERE id = $1 AND status = 'open'")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            // Closing a closed round is done already (a second tap, a retried request).
            let exists =
                sqlx::query("SELECT id FROM sampling_rounds WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return exists.map(|_| ()).ok_or(StoreError::NotFound);
        }
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.round.close",
                entity: "sampling_round",
                entity_id: Some(id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One round.
    pub async fn get_sampling_round(&self, id: i64) -> Result<SamplingRound, StoreError> {
        fetch_round(&mut *self.pool.acquire().await?, id).await
    }

    /// Records lab results per tube; returns each tube's status (`recorded`, `unknown_tube`, `already_recorded`).
    /// An abnormal tube opens a single retest at home for each member; an invalid one
    /// puts its members back on the missed list.
    pub async fn record_lab_results(
        &self,
        actor: &Actor,
        results: &[(TubeCode, LabResult)],
        retest_hours: u32,
    ) -> Result<Vec<&'static str>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let mut out = Vec::with_capacity(results.len());
        for (code, result) in results {
            let tube: Option<(i64, i64, Option<String>)> =
                sqlx::query_as("SELECT id, round_id, result FROM sampling_tubes WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((tube_id, round_id, prior)) = tube else {
                out.push("unknown_tube");
                continue;
            };
            if let Some(prior) = prior {
                // A result is final: the same one again changes nothing, and a
                // different one is not taken silently — the lab is told, and the
                // tube keeps the result its members were already acted on by.
                out.push(if prior == result.code() { "already_recorded" } else { "conflicting_result" });
                continue;
            }
            sqlx::query("UPDATE sampling_tubes SET result = $1, result_at = $2, sealed = 1, sealed_at = COALESCE(sealed_at, $2) WHERE id = $3")
                .bind(result.code())
                .bind(now)
                .bind(tube_id)
                .execute(&mut *tx)
                .await?;
            match result {
                LabResult::Abnormal => {
                    sqlx::query(
                        "INSERT INTO sampling_retests (round_id, resident_id, tube_id, state, due_at, created_at) \
                         SELECT $1, resident_id, $2, 'pending', $3, $4 FROM sampling_members WHERE tube_id = $2 \
                         ON CONFLICT (round_id, resident_id) DO NOTHING",
                    )
                    .bind(round_id)
                    .bind(tube_id)
                    .bind(now + i64::from(retest_hours) * 3_600_000)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                LabResult::Invalid => {
                    // Its members go back to the missed list, and leave their buildings'
                    // sampled counts: exactly the rows this statement changed, whatever
                    // another transaction wrote meanwhile.
                    let gone: Vec<(i64, Option<i64>)> = sqlx::query_as(
                        "UPDATE sampling_members SET valid = 0 WHERE tube_id = $1 AND valid = 1 \
                         RETURNING round_id, building_id",
                    )
                    .bind(tube_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    for ((round, building), n) in decide::count_by_building(gone) {
                        sqlx::query(COUNT_SAMPLED).bind(-n).bind(round).bind(building).execute(&mut *tx).await?;
                    }
                }
                LabResult::Negative => {}
            }
            audit::record(
                &mut tx,
                actor,
                Change {
                    action: "sampling.result",
                    entity: "sampling_tube",
                    entity_id: Some(tube_id.to_string()),
                    before: None,
                    after: Some(json!({"tube": code.as_str(), "result": result.code()})),
                },
            )
            .await?;
            out.push("recorded");
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Whether a resident lives in one of a round's buildings.
    pub async fn in_round_scope(&self, round: i64, resident: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(IN_SCOPE)
            .bind(round)
            .bind(resident)
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }

    /// Notes why a resident of a round was not sampled yet (the sweep's
    /// finding: bedridden, refused, nobody home…). They stay on the missed
    /// list with the reason; an exemption they had is lifted (they are expected
    /// again). Refused for someone outside the round or already sampled.
    pub async fn note_missed(
        &self,
        actor: &Actor,
        round: i64,
        resident: i64,
        reason: MissReason,
    ) -> Result<MissNote, StoreError> {
        if reason == MissReason::TubeInvalid {
            // Only a lab result says a tube was invalid.
            return Ok(MissNote::Reserved);
        }
        let mut tx = self.pool.begin().await?;
        let in_scope = sqlx::query(IN_SCOPE).bind(round).bind(resident).fetch_optional(&mut *tx).await?;
        if in_scope.is_none() {
            return Ok(MissNote::OutOfScope);
        }
        let sampled =
            sqlx::query("SELECT tube_id FROM sampling_members WHERE round_id = $1 AND resident_id = $2 AND valid = 1")
                .bind(round)
                .bind(resident)
                .fetch_optional(&mut *tx)
                .await?;
        if sampled.is_some() {
            return Ok(MissNote::AlreadySampled);
        }
        sqlx::query("DELETE FROM sampling_exemptions WHERE round_id = $1 AND resident_id = $2")
            .bind(round)
            .bind(resident)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sampling_missed_reasons (round_id, resident_id, reason, noted_by, noted_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (round_id, resident_id) DO UPDATE SET reason = excluded.reason, noted_by = excluded.noted_by, \
             noted_at = excluded.noted_at",
        )
        .bind(round)
        .bind(resident)
        .bind(reason.code())
        .bind(&actor.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.missed",
                entity: "resident",
                entity_id: Some(resident.to_string()),
                before: None,
                after: Some(json!({"round": round, "reason": reason.code()})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(MissNote::Noted)
    }

    /// Exempts a resident from a round with a reason (away, hospitalised, transferred, infant, other).
    pub async fn exempt_from_round(
        &self,
        actor: &Actor,
        round: i64,
        resident: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sampling_exemptions (round_id, resident_id, reason, decided_by, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (round_id, resident_id) DO UPDATE SET reason = excluded.reason, decided_by = excluded.decided_by",
        )
        .bind(round)
        .bind(resident)
        .bind(reason)
        .bind(&actor.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.exempt",
                entity: "resident",
                entity_id: Some(resident.to_string()),
                before: None,
                after: Some(json!({"round": round, "reason": reason})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts for pool-size advice: (abnormal tubes, tubes with a result, people in them).
    pub async fn tube_statistics(&self, round: i64) -> Result<(i64, i64, i64), StoreError> {
        let row: (Option<i64>, i64, i64) = sqlx::query_as(
            "SELECT SUM(CASE WHEN result = 'abnormal' THEN 1 ELSE 0 END), COUNT(*), CAST(COALESCE(SUM(members), 0) AS BIGINT) \
             FROM sampling_tubes WHERE round_id = $1 AND result IS NOT NULL AND result <> 'invalid'",
        )
        .bind(round)
        .fetch_one(self.pool())
        .await?;
        Ok((row.0.unwrap_or(0), row.1, row.2))
    }

    /// Records single-tube retest results of a round, all in one transaction,
    /// each through the domain's state machine
    /// ([`frontline_domain::sampling::apply`]): for each (resident, result),
    /// the retest's new state (`cleared`, `confirmed`, `pending`), or why none
    /// was recorded: `no_retest_due` (nobody is waiting for this person's
    /// retest result), `already_confirmed`. [`StoreError::NotFound`] when the
    /// round does not exist.
    pub async fn record_retests(
        &self,
        actor: &Actor,
        round: i64,
        results: &[(i64, RetestResult)],
    ) -> Result<Vec<&'static str>, StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        sqlx::query("SELECT id FROM sampling_rounds WHERE id = $1")
            .bind(round)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut out = Vec::with_capacity(results.len());
        for &(resident, result) in results {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT state FROM sampling_retests WHERE round_id = $1 AND resident_id = $2")
                    .bind(round)
                    .bind(resident)
                    .fetch_optional(&mut *tx)
                    .await?;
            // Without a retest row the person was never in an abnormal pool: no
            // retest result applies to them, whatever else they are in the round.
            let Some(stored) = stored else {
                out.push(retest_refusal(&TransitionError::NotAwaitingRetestResult));
                continue;
            };
            let before = retest_status(&stored)?;
            let after = match transition(&before, &Event::RetestResult(result)) {
                Ok(after) => after,
                Err(refusal) => {
                    out.push(retest_refusal(&refusal));
                    continue;
                }
            };
            let state = retest_state(&after)?;
            sqlx::query("UPDATE sampling_retests SET state = $1 WHERE round_id = $2 AND resident_id = $3")
                .bind(state)
                .bind(round)
                .bind(resident)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut tx,
                actor,
                Change {
                    action: "sampling.retest",
                    entity: "resident",
                    entity_id: Some(resident.to_string()),
                    before: Some(json!({"round": round, "state": stored})),
                    after: Some(json!({"round": round, "result": result.code(), "state": state})),
                },
            )
            .await?;
            out.push(state);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Pending retests of a round: (resident id, tube code, due at), due soonest first.
    pub async fn pending_retests(&self, round: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
        self.retests_in_state(round, "pending").await
    }

    /// People of a round whose single retest came back positive (confirmed
    /// cases): (resident id, pooled tube code, retest due at).
    pub async fn confirmed_cases(&self, round: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
        self.retests_in_state(round, "confirmed").await
    }

    async fn retests_in_state(&self, round: i64, state: &str) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.resident_id, t.code, r.due_at FROM sampling_retests r JOIN sampling_tubes t ON t.id = r.tube_id \
             WHERE r.round_id = $1 AND r.state = $2 ORDER BY r.due_at, r.resident_id",
        )
        .bind(round)
        .bind(state)
        .fetch_all(self.pool())
        .await?)
    }

    /// Tubes of a round still without a result past their due time — slow
    /// transport, or a tube lost on the way: single tubes sealed (or opened,
    /// if never sealed) before `single_before`, pooled ones before
    /// `pooled_before` (unix ms). Oldest first, at most `limit`.
    pub async fn overdue_tubes(
        &self,
        round: i64,
        single_before: i64,
        pooled_before: i64,
        limit: i64,
    ) -> Result<Vec<OverdueTube>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, String)> = sqlx::query_as(
            "SELECT code, pool_size, members, COALESCE(sealed_at, opened_at) AS since, sampler FROM sampling_tubes \
             WHERE round_id = $1 AND result IS NULL \
               AND ((pool_size <= 1 AND COALESCE(sealed_at, opened_at) < $2) \
                 OR (pool_size > 1 AND COALESCE(sealed_at, opened_at) < $3)) \
             ORDER BY since, code LIMIT $4",
        )
        .bind(round)
        .bind(single_before)
        .bind(pooled_before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(code, pool_size, members, since, sampler)| OverdueTube { code, pool_size, members, since, sampler })
            .collect())
    }

    /// One tube by its barcode.
    pub async fn get_tube(&self, code: &str) -> Result<TubeView, StoreError> {
        let row: (String, i64, i64, i64, String, Option<String>) = sqlx::query_as(
            "SELECT code, round_id, members, sealed, sampler, result FROM sampling_tubes WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(TubeView { code: row.0, round: row.1, members: row.2, sealed: row.3 != 0, sampler: row.4, result: row.5 })
    }

    /// Which of `ids` exist, for decoding sampling codes.
    pub async fn existing_residents(&self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(1_000) {
            let sql = format!("SELECT id FROM residents WHERE id IN ({})", param_list(self.backend(), chunk.len()));
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(out)
    }
}

/// A retest's stored state as the domain's person status. A retest row
/// exists only for a member of an abnormal pool, so these are the only
/// states it can hold.
fn retest_status(state: &str) -> Result<PersonStatus, StoreError> {
    match state {
        "pending" => Ok(PersonStatus::RetestPending),
        "cleared" => Ok(PersonStatus::Cleared),
        "confirmed" => Ok(PersonStatus::Confirmed),
        other => Err(StoreError::Corrupt(format!("unknown retest state {other:?}"))),
    }
}

/// The stored state of a retest the domain moved to `status`.
fn retest_state(status: &PersonStatus) -> Result<&'static str, StoreError> {
    match status {
        PersonStatus::RetestPending => Ok("pending"),
        PersonStatus::Cleared => Ok("cleared"),
        PersonStatus::Confirmed => Ok("confirmed"),
        other => Err(StoreError::Corrupt(format!("a retest result cannot lead to {}", other.code()))),
    }
}

/// How a refused retest result is answered (`no_retest_due` is the API's
/// name for the domain's `not_awaiting_retest_result`).
fn retest_refusal(refusal: &TransitionError) -> &'static str {
    match refusal {
        TransitionError::NotAwaitingRetestResult => "no_retest_due",
        other => other.code(),
    }
}

/// A round's own columns (without its scope).
const ROUND_SELECT: &str = "SELECT id, name, pool_size, mode, deadline, status FROM sampling_rounds";

async fn fetch_round(conn: &mut AnyConnection, id: i64) -> Result<SamplingRound, StoreError> {
    let row = sqlx::query(&format!("{ROUND_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let scope: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT building_id, team FROM sampling_round_buildings WHERE round_id = $1 ORDER BY building_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    round_from(&row, scope)
}

/// A round from its row ([`ROUND_SELECT`]) and its scope: (building, team), by building.
fn round_from(row: &AnyRow, scope: Vec<(i64, Option<String>)>) -> Result<SamplingRound, StoreError> {
    let buildings = scope.iter().map(|(b, _)| *b).collect();
    let teams = scope
        .into_iter()
        .filter(|(_, t)| t.is_some())
        .map(|(building, team)| TeamAssignment { building, team })
        .collect();
    Ok(SamplingRound {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        pool_size: row.try_get("pool_size")?,
        mode: row.try_get("mode")?,
        deadline: row.try_get("deadline")?,
        status: row.try_get("status")?,
        buildings,
        teams,
    })
}

/// Sets (or clears) the team of buildings in a round's scope; a building outside the scope is `NotFound`.
async fn set_teams(conn: &mut AnyConnection, round: i64, teams: &[TeamAssignment]) -> Result<(), StoreError> {
    for t in teams {
        let n = sqlx::query("UPDATE sampling_round_buildings SET team = $1 WHERE round_id = $2 AND building_id = $3")
            .bind(t.team.as_deref())
            .bind(round)
            .bind(t.building)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}
