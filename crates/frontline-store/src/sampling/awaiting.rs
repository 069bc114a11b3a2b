//! What the lab works on: tubes received and awaiting a result (overdue past
//! their turnaround), today's results, and the confirmed cases the district
//! must see.

use serde::Serialize;

use crate::audit::escape_like;
use crate::db::Store;
use crate::error::StoreError;
use crate::page::{from_rows, Page};

/// A tube awaiting its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwaitingTube {
    /// Its id.
    pub id: i64,
    /// Its barcode.
    pub code: String,
    /// Its round.
    pub round: i64,
    /// The round's name.
    pub round_name: String,
    /// Its pool size (1: a single tube).
    pub pool_size: i64,
    /// People in it.
    pub members: i64,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Sealed at (or opened at, if never sealed), unix ms.
    pub since: i64,
    /// Who opened it.
    pub sampler: String,
    /// Whether its result is past due.
    pub overdue: bool,
}

/// Which awaiting tubes to list.
#[derive(Debug, Clone, Default)]
pub struct AwaitingFilter {
    /// Only this round's.
    pub round: Option<i64>,
    /// Only those past due.
    pub overdue_only: bool,
    /// Codes starting with this.
    pub code: Option<String>,
}

/// The lab's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LabCounts {
    /// Tubes awaiting a result.
    pub awaiting: i64,
    /// Of which past due.
    pub overdue: i64,
    /// Results recorded since the start of the day.
    pub recorded_today: i64,
}

/// A confirmed case (positive single retest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Positive {
    /// The resident.
    pub resident: i64,
    /// Their building.
    pub building: Option<i64>,
    /// The round.
    pub round: i64,
    /// The round's name.
    pub round_name: String,
}

/// Past due: a single tube sealed before `$a`, a pooled one before `$b`.
fn overdue_sql(single: &str, pooled: &str) -> String {
    format!(
        "((t.pool_size <= 1 AND COALESCE(t.sealed_at, t.opened_at) < {single}) \
         OR (t.pool_size > 1 AND COALESCE(t.sealed_at, t.opened_at) < {pooled}))"
    )
}

impl Store {
    /// Tubes awaiting a result, oldest first, by keyset (`after` = the last
    /// row's `since:id`), and how many match in all. Single tubes sealed
    /// before `single_before` and pooled ones before `pooled_before` are
    /// overdue. Tubes with no member are not waiting for anything.
    pub async fn awaiting_tubes(
        &self,
        filter: &AwaitingFilter,
        single_before: i64,
        pooled_before: i64,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<(Page<AwaitingTube>, i64), StoreError> {
        let overdue = overdue_sql("$4", "$5");
        let code = filter.code.as_ref().map(|c| format!("{}%", escape_like(&c.trim().to_uppercase())));
        let base = format!(
            "FROM sampling_tubes t JOIN sampling_rounds r ON r.id = t.round_id \
             WHERE t.result IS NULL AND t.members > 0 AND (CAST($1 AS BIGINT) IS NULL OR t.round_id = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR t.code LIKE $2 ESCAPE '\\') AND ($3 = 0 OR {overdue})"
        );
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {base}"))
            .bind(filter.round)
            .bind(code.as_deref())
            .bind(i64::from(filter.overdue_only))
            .bind(single_before)
            .bind(pooled_before)
            .fetch_one(self.pool())
            .await?;
        let (after_since, after_id) = after.unwrap_or((i64::MIN, i64::MIN));
        type Row = (i64, String, i64, String, i64, i64, i64, i64, String, i64);
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT t.id, t.code, t.round_id, r.name, t.pool_size, t.members, t.sealed, \
             COALESCE(t.sealed_at, t.opened_at) AS since, t.sampler, CASE WHEN {overdue} THEN 1 ELSE 0 END {base} \
             AND (COALESCE(t.sealed_at, t.opened_at) > $6 OR (COALESCE(t.sealed_at, t.opened_at) = $6 AND t.id > $7)) \
             ORDER BY since, t.id LIMIT $8"
        ))
        .bind(filter.round)
        .bind(code.as_deref())
        .bind(i64::from(filter.overdue_only))
        .bind(single_before)
        .bind(pooled_before)
        .bind(after_since)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .into_iter()
            .map(|(id, code, round, round_name, pool_size, members, sealed, since, sampler, overdue)| AwaitingTube {
                id,
                code,
                round,
                round_name,
                pool_size,
                members,
                sealed: sealed != 0,
                since,
                sampler,
                overdue: overdue != 0,
            })
            .collect();
        Ok((from_rows(items, limit, |t: &AwaitingTube| format!("{}:{}", t.since, t.id)), total))
    }

    /// The lab's figures: tubes awaiting a result, of which overdue (as in
    /// [`Store::awaiting_tubes`]), and results recorded since `day_start`.
    pub async fn lab_counts(
        &self,
        single_before: i64,
        pooled_before: i64,
        day_start: i64,
    ) -> Result<LabCounts, StoreError> {
        let overdue = overdue_sql("$1", "$2");
        let row: (i64, Option<i64>, Option<i64>) = sqlx::query_as(&format!(
            "SELECT COUNT(*), SUM(CASE WHEN {overdue} THEN 1 ELSE 0 END), \
             (SELECT COUNT(*) FROM sampling_tubes WHERE result_at >= $3) \
             FROM sampling_tubes t WHERE t.result IS NULL AND t.members > 0"
        ))
        .bind(single_before)
        .bind(pooled_before)
        .bind(day_start)
        .fetch_one(self.pool())
        .await?;
        Ok(LabCounts { awaiting: row.0, overdue: row.1.unwrap_or(0), recorded_today: row.2.unwrap_or(0) })
    }

    /// Confirmed cases (a positive single retest) of every round, newest round first; at most 1,000.
    pub async fn confirmed_positives(&self) -> Result<Vec<Positive>, StoreError> {
        let rows: Vec<(i64, Option<i64>, i64, String)> = sqlx::query_as(
            "SELECT x.resident_id, p.building_id, x.round_id, r.name FROM sampling_retests x \
             JOIN residents p ON p.id = x.resident_id JOIN sampling_rounds r ON r.id = x.round_id \
             WHERE x.state = 'confirmed' ORDER BY x.round_id DESC, x.resident_id LIMIT 1000",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(resident, building, round, round_name)| Positive { resident, building, round, round_name })
            .collect())
    }
}
