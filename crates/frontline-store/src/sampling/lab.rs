//! The lab's side of a round: tube results (an abnormal pool opens single
//! retests at home, an invalid tube sends its members back to the missed
//! list), single retest results through the domain's state machine, tubes
//! whose result is overdue, and the counts behind pool-size advice.

use frontline_domain::sampling::{apply as transition, Event, PersonStatus, TransitionError};
use frontline_domain::sampling::{LabResult, RetestResult, TubeCode};
use serde::Serialize;
use serde_json::json;

use super::{decide, COUNT_SAMPLED};
use crate::audit::{self, Actor, Change};
use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;

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

impl Store {
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
            let tube: Option<(i64, i64, Option<String>, Option<i64>)> =
                sqlx::query_as("SELECT id, round_id, result, retest_of FROM sampling_tubes WHERE code = $1")
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((tube_id, round_id, prior, retest_of)) = tube else {
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
            if retest_of.is_some() {
                // A home retest's single tube: its result is the person's retest result.
                super::retest::record_retest_tube(&mut tx, actor, tube_id, code, *result).await?;
                out.push("recorded");
                continue;
            }
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

    /// Counts for pool-size advice: (abnormal tubes, tubes with a result, people in them).
    /// Home retests' single tubes are left out: they sample people already
    /// known to be in an abnormal pool, not the round's population.
    pub async fn tube_statistics(&self, round: i64) -> Result<(i64, i64, i64), StoreError> {
        let row: (Option<i64>, i64, i64) = sqlx::query_as(
            "SELECT SUM(CASE WHEN result = 'abnormal' THEN 1 ELSE 0 END), COUNT(*), CAST(COALESCE(SUM(members), 0) AS BIGINT) \
             FROM sampling_tubes WHERE round_id = $1 AND result IS NOT NULL AND result <> 'invalid' \
               AND retest_of IS NULL",
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
            // A retest due again (invalid) is taken into a new tube.
            sqlx::query(
                "UPDATE sampling_retests SET state = $1, \
                 retest_tube_id = CASE WHEN $1 = 'pending' THEN NULL ELSE retest_tube_id END \
                 WHERE round_id = $2 AND resident_id = $3",
            )
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
