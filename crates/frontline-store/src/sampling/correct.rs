//! Correcting a tube's result recorded in error. The correction follows the
//! domain's plan ([`frontline_domain::sampling::correction_plan`]): retests
//! not yet done are cancelled or opened, members leave or rejoin their
//! buildings' sampled counts; all in one transaction, audited before and
//! after, and kept with the people it moved for the sampling group.

use std::collections::BTreeMap;

use frontline_domain::sampling::{correction_plan, CorrectionError, LabResult, TubeCode};
use serde::Serialize;
use serde_json::json;

use super::{decide, COUNT_SAMPLED};
use crate::audit::{self, Actor, Change};
use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;

/// What a correction did to one person (`effect`):
/// - `released`: their retest was cancelled, they are cleared;
/// - `retest_due`: a single retest at home is now due;
/// - `back_to_missed`: their tube no longer counts, they are on the missed list;
/// - `sampled_again`: their tube counts after all (cleared);
/// - `retest_done`: their retest already had a result, which stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    /// The resident.
    pub resident: i64,
    /// What happened to them.
    pub effect: String,
}

/// A correction, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// Its id.
    pub id: i64,
    /// The tube's round.
    pub round: i64,
    /// The tube.
    pub tube: String,
    /// The result it had.
    pub before: String,
    /// The result it has now.
    pub after: String,
    /// Why.
    pub reason: String,
    /// Who corrected it.
    pub by: String,
    /// When (unix ms).
    pub at: i64,
    /// The people it moved, by resident id.
    pub affected: Vec<Affected>,
}

/// Why a correction was not made.
#[derive(Debug, thiserror::Error)]
pub enum CorrectError {
    /// The domain refused it (no result yet, the same result).
    #[error(transparent)]
    Refused(#[from] CorrectionError),
    /// The store failed, or the tube does not exist ([`StoreError::NotFound`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CorrectError {
    fn from(e: sqlx::Error) -> Self {
        CorrectError::Store(e.into())
    }
}

impl Store {
    /// Corrects tube `code`'s result to `after`, for `reason` (checked by the
    /// caller). Opens retests for `retest_hours`.
    pub async fn correct_tube_result(
        &self,
        actor: &Actor,
        code: &TubeCode,
        after: LabResult,
        reason: &str,
        retest_hours: u32,
    ) -> Result<Correction, CorrectError> {
        let mut tx = self.pool.begin().await?;
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        // PostgreSQL locks the tube's row against a concurrent correction;
        // SQLite's write lock, taken above, already serialises writers.
        let lock = if self.backend() == crate::db::Backend::Postgres { " FOR UPDATE" } else { "" };
        let (tube_id, round, prior): (i64, i64, Option<String>) =
            sqlx::query_as(&format!("SELECT id, round_id, result FROM sampling_tubes WHERE code = $1{lock}"))
                .bind(code.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let before = prior
            .as_deref()
            .map(|p| LabResult::from_code(p).ok_or_else(|| StoreError::Corrupt(format!("unknown tube result {p:?}"))));
        let before = before.transpose()?;
        let plan = correction_plan(before, after)?;
        let now = now_ms();
        let mut effects: BTreeMap<i64, &'static str> = BTreeMap::new();
        if plan.cancel_retests {
            let done: Vec<(i64,)> = sqlx::query_as(
                "SELECT resident_id FROM sampling_retests WHERE tube_id = $1 AND state IN ('cleared', 'confirmed')",
            )
            .bind(tube_id)
            .fetch_all(&mut *tx)
            .await?;
            effects.extend(done.into_iter().map(|(r,)| (r, "retest_done")));
            let cancelled: Vec<(i64,)> = sqlx::query_as(
                "DELETE FROM sampling_retests WHERE tube_id = $1 AND state NOT IN ('cleared', 'confirmed') \
                 RETURNING resident_id",
            )
            .bind(tube_id)
            .fetch_all(&mut *tx)
            .await?;
            effects.extend(cancelled.into_iter().map(|(r,)| (r, "released")));
        }
        if plan.invalidate_members || plan.restore_members {
            let (from, to, sign, effect) =
                if plan.invalidate_members { (1, 0, -1, "back_to_missed") } else { (0, 1, 1, "sampled_again") };
            let moved: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
                // A member whose single retest has a result was tested: they
                // neither go back on the missed list nor need counting again.
                "UPDATE sampling_members SET valid = $1 WHERE tube_id = $2 AND valid = $3 \
                 AND resident_id NOT IN (SELECT resident_id FROM sampling_retests \
                   WHERE tube_id = $2 AND state IN ('cleared', 'confirmed')) \
                 RETURNING resident_id, round_id, building_id",
            )
            .bind(to)
            .bind(tube_id)
            .bind(from)
            .fetch_all(&mut *tx)
            .await?;
            for ((r, b), n) in decide::count_by_building(moved.iter().map(|(_, r, b)| (*r, *b))) {
                sqlx::query(COUNT_SAMPLED).bind(sign * n).bind(r).bind(b).execute(&mut *tx).await?;
            }
            effects.extend(moved.into_iter().map(|(r, _, _)| (r, effect)));
        }
        if plan.open_retests {
            let opened: Vec<(i64,)> = sqlx::query_as(
                "INSERT INTO sampling_retests (round_id, resident_id, tube_id, state, due_at, created_at) \
                 SELECT $1, resident_id, $2, 'pending', $3, $4 FROM sampling_members WHERE tube_id = $2 AND valid = 1 \
                 ON CONFLICT (round_id, resident_id) DO NOTHING RETURNING resident_id",
            )
            .bind(round)
            .bind(tube_id)
            .bind(now + i64::from(retest_hours) * 3_600_000)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            effects.extend(opened.into_iter().map(|(r,)| (r, "retest_due")));
        }
        sqlx::query("UPDATE sampling_tubes SET result = $1, result_at = $2 WHERE id = $3")
            .bind(after.code())
            .bind(now)
            .bind(tube_id)
            .execute(&mut *tx)
            .await?;
        let before = before.map(LabResult::code).unwrap_or_default();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sampling_corrections (round_id, tube_id, result_before, result_after, reason, corrected_by, corrected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(round)
        .bind(tube_id)
        .bind(before)
        .bind(after.code())
        .bind(reason)
        .bind(&actor.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (resident, effect) in &effects {
            sqlx::query(
                "INSERT INTO sampling_correction_people (correction_id, resident_id, effect) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(resident)
            .bind(*effect)
            .execute(&mut *tx)
            .await?;
        }
        let affected: Vec<Affected> =
            effects.into_iter().map(|(resident, effect)| Affected { resident, effect: effect.to_string() }).collect();
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "sampling.result_correction",
                entity: "sampling_tube",
                entity_id: Some(tube_id.to_string()),
                before: Some(json!({"tube": code.as_str(), "result": before})),
                after: Some(json!({
                    "tube": code.as_str(), "result": after.code(), "reason": reason, "correction": id,
                    "affected": affected.iter().map(|a| json!({"resident": a.resident, "effect": a.effect})).collect::<Vec<_>>(),
                })),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Correction {
            id,
            round,
            tube: code.as_str().to_string(),
            before: before.to_string(),
            after: after.code().to_string(),
            reason: reason.to_string(),
            by: actor.name.clone(),
            at: now,
            affected,
        })
    }

    /// Corrections, newest first, of one round or of all; at most `limit`.
    pub async fn list_corrections(&self, round: Option<i64>, limit: i64) -> Result<Vec<Correction>, StoreError> {
        type Row = (i64, i64, String, String, String, String, String, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT c.id, c.round_id, t.code, c.result_before, c.result_after, c.reason, c.corrected_by, c.corrected_at \
             FROM sampling_corrections c JOIN sampling_tubes t ON t.id = c.tube_id \
             WHERE (CAST($1 AS BIGINT) IS NULL OR c.round_id = $1) ORDER BY c.id DESC LIMIT $2",
        )
        .bind(round)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, round, tube, before, after, reason, by, at) in rows {
            let people: Vec<(i64, String)> = sqlx::query_as(
                "SELECT resident_id, effect FROM sampling_correction_people WHERE correction_id = $1 ORDER BY resident_id",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            let affected = people.into_iter().map(|(resident, effect)| Affected { resident, effect }).collect();
            out.push(Correction { id, round, tube, before, after, reason, by, at, affected });
        }
        Ok(out)
    }
}
