//! Rows repeating an earlier row's document: each is reported (which row it
//! repeats, its person and address), and when the two rows name different
//! people the row is a conflict held for review rather than a silent duplicate.

use frontline_domain::census::{name_key, row_label};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::import::{Ctx, RowIssue};
use crate::audit::{Actor, Change};
use crate::db::Store;
use crate::error::StoreError;

/// A row not written because an earlier row of the file had the same document.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct DuplicateRow {
    /// The row's number in the file.
    pub row: usize,
    /// The earlier row with the same document.
    pub same_as_row: usize,
    /// The two rows name different people: a conflict held for review
    /// (`census_conflicts`), not a silent duplicate.
    pub conflict: bool,
}

/// The first row naming a document, to tell the rows after it which row they repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct First {
    pub(super) resident: i64,
    pub(super) row: usize,
    /// A hash of the row's name (see [`name_hash`]), 0 for no name.
    pub(super) name: u64,
}

/// A name's hash for telling two rows' names apart without keeping the names:
/// spacing, width and case do not count; 0 for no name.
pub(super) fn name_hash(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let key = name_key(name);
    if key.is_empty() {
        return 0;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish().max(1)
}

/// Reports a row that repeats an earlier row's document: in the summary, as a
/// line of the report naming its person and address, and — when the names
/// differ — as a conflict to review. Returns the row's issues JSON with the line added.
pub(super) async fn report_repeat(
    conn: &mut AnyConnection,
    ctx: &mut Ctx,
    dup: DuplicateRow,
    raw: &str,
    issues: Option<String>,
    resident: Option<i64>,
) -> Result<Option<String>, StoreError> {
    let cells: Vec<String> = serde_json::from_str(raw).unwrap_or_default();
    let (name, address) = row_label(&ctx.header, &cells);
    let line = RowIssue {
        row_number: dup.row,
        column: None,
        column_index: None,
        value: String::new(),
        code: if dup.conflict { "duplicate_conflict" } else { "duplicate_row" }.to_string(),
        params: vec![("row".to_string(), dup.same_as_row.to_string())],
        refused: false,
        name: name.clone(),
        address: address.clone(),
    };
    if dup.conflict {
        sqlx::query(
            "INSERT INTO census_conflicts (round_id, row_number, same_as_row, resident_id, name, address, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
        )
        .bind(ctx.round_id)
        .bind(i64::try_from(dup.row).unwrap_or(i64::MAX))
        .bind(i64::try_from(dup.same_as_row).unwrap_or(i64::MAX))
        .bind(resident)
        .bind(&name)
        .bind(&address)
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
    }
    let mut all: Vec<RowIssue> = issues.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    all.push(line.clone());
    ctx.issues.push(line);
    ctx.summary.duplicate_rows.push(dup);
    Ok(serde_json::to_string(&all).ok())
}

/// A row holding an earlier row's document under another name, for a person to look at.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Conflict {
    /// The conflict's id.
    pub id: i64,
    /// The round whose file held both rows.
    pub round_id: i64,
    /// The round's name.
    pub round: String,
    /// The row not written.
    pub row_number: i64,
    /// The earlier row whose document it repeats.
    pub same_as_row: i64,
    /// The resident the earlier row made or matched (the document's holder).
    pub resident_id: Option<i64>,
    /// The name the row gives.
    pub name: String,
    /// The row's address cells, as written.
    pub address: String,
    /// `open` or `resolved`.
    pub status: String,
    /// Who resolved it.
    pub decided_by: Option<String>,
}

impl Store {
    /// Conflicting rows, open ones first, of one round or of every round.
    pub async fn list_conflicts(&self, round: Option<i64>) -> Result<Vec<Conflict>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.round_id, r.name AS round, c.row_number, c.same_as_row, c.resident_id, c.name, c.address, \
             c.status, c.decided_by FROM census_conflicts c JOIN census_rounds r ON r.id = c.round_id \
             WHERE ($1 IS NULL OR c.round_id = $1) \
             ORDER BY CASE WHEN c.status = 'open' THEN 0 ELSE 1 END, c.round_id DESC, c.row_number LIMIT 1000",
        )
        .bind(round)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Conflict {
                    id: r.try_get("id")?,
                    round_id: r.try_get("round_id")?,
                    round: r.try_get("round")?,
                    row_number: r.try_get("row_number")?,
                    same_as_row: r.try_get("same_as_row")?,
                    resident_id: r.try_get("resident_id")?,
                    name: r.try_get("name")?,
                    address: r.try_get("address")?,
                    status: r.try_get("status")?,
                    decided_by: r.try_get("decided_by")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Marks a conflict as looked at and settled (the register corrected by hand, or the row was wrong).
    pub async fn resolve_conflict(&self, actor: &Actor, id: i64) -> Result<(), StoreError> {
        let change = Change {
            action: "census.conflict_resolved",
            entity: "census_conflict",
            entity_id: Some(id.to_string()),
            before: None,
            after: None,
        };
        self.decide_open(actor, ("census_conflicts", "resolved"), id, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::name_hash;

    #[test]
    fn name_hashes_ignore_spacing_and_tell_names_apart() {
        assert_eq!(name_hash(""), 0);
        assert_eq!(name_hash(" "), 0);
        assert_eq!(name_hash("蔡 敏"), name_hash("蔡敏"));
        assert_ne!(name_hash("洪华"), name_hash("蔡敏"));
        assert_ne!(name_hash("洪华"), 0);
    }
}
