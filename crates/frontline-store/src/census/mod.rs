//! Census rounds (人员摸排): importing a sheet as a round, reconciling it with
//! the round before, base numbers (底数), and likely duplicates to review.
//!
//! The caller decodes the file into rows of cell texts and finds the header
//! (see `frontline_domain::census`); this module normalises, matches and
//! commits them in one transaction, keeping every raw row for traceability.

mod base;
mod departures;
mod import;
mod leavers;
mod matching;
mod outcome;
mod places;
mod prepare;
mod reconcile;
mod repeats;
mod review;
mod scope;

pub use base::{BaseNumbers, BaseRow};
pub use departures::{Confirmation, Departure, PRESENT};
pub use import::{ImportOptions, ImportOutcome, ImportSummary, RowBatches, RowIssue};
pub use reconcile::{ReconcileCounts, ReconcilePerson, Reconciliation};
pub use repeats::{Conflict, DuplicateRow};
pub(crate) use review::MERGE;
pub use review::{Merge, Review};
pub use scope::Scope;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;

/// A committed census round.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Round {
    /// The round's id.
    pub id: i64,
    /// The compound it covers.
    pub compound_id: i64,
    /// The compound's name.
    pub compound: String,
    /// The round's name (`第二轮`).
    pub name: String,
    /// The imported file's name.
    pub file_name: String,
    /// Who committed it.
    pub committed_by: String,
    /// When (unix ms).
    pub created_at: i64,
    /// The import summary.
    pub summary: serde_json::Value,
    /// What it reconciles against: `compound` (every building) or `buildings` (those its sheet covers).
    pub scope: String,
    /// Who confirmed it (the people it reports gone left the base numbers then).
    pub confirmed_by: Option<String>,
    /// When (unix ms).
    pub confirmed_at: Option<i64>,
}

const ROUND_SELECT: &str = "SELECT r.id, r.compound_id, c.name AS compound, r.name, r.file_name, r.committed_by, \
    r.created_at, r.summary, r.scope, r.confirmed_by, r.confirmed_at FROM census_rounds r JOIN compounds c ON c.id = r.compound_id";

fn round(row: &AnyRow) -> Result<Round, sqlx::Error> {
    let summary: String = row.try_get("summary")?;
    Ok(Round {
        id: row.try_get("id")?,
        compound_id: row.try_get("compound_id")?,
        compound: row.try_get("compound")?,
        name: row.try_get("name")?,
        file_name: row.try_get("file_name")?,
        committed_by: row.try_get("committed_by")?,
        created_at: row.try_get("created_at")?,
        summary: serde_json::from_str(&summary).unwrap_or(serde_json::Value::Null),
        scope: row.try_get("scope")?,
        confirmed_by: row.try_get("confirmed_by")?,
        confirmed_at: row.try_get("confirmed_at")?,
    })
}

/// One raw row of a round, as it arrived.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraceRow {
    /// The round.
    pub round_id: i64,
    /// The round's name.
    pub round: String,
    /// The file it came from.
    pub file_name: String,
    /// The row's number in the file.
    pub row_number: i64,
    /// What it did: `created`, `matched`, `duplicate`.
    pub outcome: String,
    /// The original cell values.
    pub raw: Vec<String>,
}

impl Store {
    /// Every round, newest first.
    pub async fn list_rounds(&self) -> Result<Vec<Round>, StoreError> {
        let rows = sqlx::query(&format!("{ROUND_SELECT} ORDER BY r.id DESC")).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(round).collect::<Result<_, _>>()?)
    }

    /// One round.
    pub async fn get_round(&self, id: i64) -> Result<Round, StoreError> {
        let row = sqlx::query(&format!("{ROUND_SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(round(&row)?)
    }

    /// The round of the same compound committed just before `id`, if any.
    pub async fn previous_round(&self, id: i64) -> Result<Option<Round>, StoreError> {
        let row = sqlx::query(&format!(
            "{ROUND_SELECT} WHERE r.compound_id = (SELECT compound_id FROM census_rounds WHERE id = $1) AND r.id < $1 \
             ORDER BY r.id DESC LIMIT 1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(round).transpose()?)
    }

    /// The raw census rows that made or changed a resident, oldest first (有章可循).
    pub async fn resident_trace(&self, resident: i64) -> Result<Vec<TraceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT cr.round_id, r.name, r.file_name, cr.row_number, cr.outcome, cr.raw FROM census_rows cr \
             JOIN census_rounds r ON r.id = cr.round_id WHERE cr.resident_id = $1 ORDER BY cr.round_id, cr.row_number",
        )
        .bind(resident)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let raw: String = r.try_get("raw")?;
                Ok(TraceRow {
                    round_id: r.try_get("round_id")?,
                    round: r.try_get("name")?,
                    file_name: r.try_get("file_name")?,
                    row_number: r.try_get("row_number")?,
                    outcome: r.try_get("outcome")?,
                    raw: serde_json::from_str(&raw).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The column mapping saved for a source (header text → field code).
    pub async fn census_mapping(&self, source: &str) -> Result<Vec<(String, String)>, StoreError> {
        let m: Option<String> = sqlx::query_scalar("SELECT mapping FROM census_mappings WHERE source = $1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        Ok(m.and_then(|m| serde_json::from_str(&m).ok()).unwrap_or_default())
    }

    /// Saves a column mapping for a source, for the next file from it.
    pub async fn save_census_mapping(&self, source: &str, mapping: &[(String, String)]) -> Result<(), StoreError> {
        let json = serde_json::to_string(mapping).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO census_mappings (source, mapping, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (source) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at",
        )
        .bind(source)
        .bind(json)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keeps an uploaded file until it is previewed and confirmed; returns its token.
    pub async fn store_upload(&self, token: &str, file_name: &str, content: &[u8], by: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO census_uploads (token, file_name, content, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token)
        .bind(file_name)
        .bind(content.to_vec())
        .bind(by)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        // Uploads older than a day were abandoned.
        sqlx::query("DELETE FROM census_uploads WHERE created_at < $1")
            .bind(now_ms() - 86_400_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An uploaded file: (file name, content).
    pub async fn get_upload(&self, token: &str) -> Result<(String, Vec<u8>), StoreError> {
        let row: Option<(String, Vec<u8>)> =
            sqlx::query_as("SELECT file_name, content FROM census_uploads WHERE token = $1")
                .bind(token)
                .fetch_optional(&self.pool)
                .await?;
        row.ok_or(StoreError::NotFound)
    }

    /// Forgets an uploaded file once committed.
    pub async fn delete_upload(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM census_uploads WHERE token = $1").bind(token).execute(&self.pool).await?;
        Ok(())
    }
}

impl Store {
    /// The refusals and warnings recorded with a round's rows, in row order.
    pub async fn round_issues(&self, round: i64) -> Result<Vec<RowIssue>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT issues FROM census_rows WHERE round_id = $1 AND issues IS NOT NULL ORDER BY row_number",
        )
        .bind(round)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (json,) in rows {
            let issues: Vec<RowIssue> = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.extend(issues);
        }
        Ok(out)
    }
}
