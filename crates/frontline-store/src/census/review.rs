//! Likely duplicates (same name and phone, different documents) for a person
//! to merge or keep apart. Merges carry every capability's rows (see
//! `crate::merge`), are audited and can be undone.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::audit::{self, Actor, Change};
use crate::db::Store;
use crate::error::StoreError;
use crate::merge::{self, Carried, Mover, Pair, Record, Rows};
use crate::now_ms;

/// What a merge carries of the census and the register: the merged resident's
/// census rows (so both trace to the kept one), address history, and earlier
/// merges into them (so undoing those still finds their rows, now the kept
/// resident's). All have their own ids: nothing can be in the way.
pub(crate) const MERGE: Mover = Mover {
    capability: "census",
    tables: &[
        Carried { table: "census_rows", column: "resident_id", rows: Rows::Many },
        Carried { table: "resident_addresses", column: "resident_id", rows: Rows::Many },
        Carried { table: "resident_merges", column: "kept_id", rows: Rows::Many },
        Carried { table: "resident_departures", column: "resident_id", rows: Rows::Many },
        Carried { table: "census_conflicts", column: "resident_id", rows: Rows::Many },
    ],
    adjust: None,
};

/// A pair of residents to look at.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Review {
    /// The review's id.
    pub id: i64,
    /// Why: `name_phone`.
    pub kind: String,
    /// One resident.
    pub resident_a: i64,
    /// The other.
    pub resident_b: i64,
    /// `open`, `merged` or `kept_apart`.
    pub status: String,
    /// Who decided.
    pub decided_by: Option<String>,
}

/// A merge, undoable.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Merge {
    /// The merge's id.
    pub id: i64,
    /// The resident kept.
    pub kept_id: i64,
    /// The resident merged into it (deleted, kept in the snapshot).
    pub merged_id: i64,
    /// Who merged.
    pub merged_by: String,
    /// When (unix ms).
    pub merged_at: i64,
    /// Who undid it, if undone.
    pub undone_by: Option<String>,
}

const RESIDENT_COLUMNS: [&str; 15] = [
    "id",
    "household_id",
    "building_id",
    "name",
    "doc_kind",
    "id_number",
    "id_rev",
    "birth_date",
    "sex",
    "phone",
    "phone_rev",
    "needs",
    "away",
    "created_at",
    "updated_at",
];

fn review(row: &AnyRow) -> Result<Review, sqlx::Error> {
    Ok(Review {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        resident_a: row.try_get("resident_a")?,
        resident_b: row.try_get("resident_b")?,
        status: row.try_get("status")?,
        decided_by: row.try_get("decided_by")?,
    })
}

/// The resident's row as JSON, column by column (to restore it exactly).
async fn snapshot(conn: &mut AnyConnection, id: i64) -> Result<Value, StoreError> {
    let row = sqlx::query(&format!("SELECT {} FROM residents WHERE id = $1", RESIDENT_COLUMNS.join(", ")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut map = serde_json::Map::new();
    for col in RESIDENT_COLUMNS {
        let v: Value = match col {
            "id" | "household_id" | "building_id" | "needs" | "away" | "created_at" | "updated_at" => {
                json!(row.try_get::<Option<i64>, _>(col)?)
            }
            _ => json!(row.try_get::<Option<String>, _>(col)?),
        };
        map.insert(col.to_string(), v);
    }
    Ok(Value::Object(map))
}

impl Store {
    /// Reviews, open ones first.
    pub async fn list_reviews(&self, status: Option<&str>) -> Result<Vec<Review>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, resident_a, resident_b, status, decided_by FROM census_reviews \
             WHERE ($1 IS NULL OR status = $1) ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, id LIMIT 1000",
        )
        .bind(status)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(review).collect::<Result<_, _>>()?)
    }

    /// Marks a pair as two different people.
    pub async fn keep_apart(&self, actor: &Actor, review_id: i64) -> Result<(), StoreError> {
        let change = Change {
            action: "census.keep_apart",
            entity: "census_review",
            entity_id: Some(review_id.to_string()),
            before: None,
            after: None,
        };
        self.decide_open(actor, ("census_reviews", "kept_apart"), review_id, change).await
    }

    /// Settles one open item of `table` (a likely duplicate, a conflicting row):
    /// sets its `status` and who decided when, and audits `change`, in one
    /// transaction; an item that is not open is not found.
    pub(super) async fn decide_open(
        &self,
        actor: &Actor,
        (table, status): (&'static str, &'static str),
        id: i64,
        change: Change<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE {table} SET status = '{status}', decided_by = $1, decided_at = $2 WHERE id = $3 AND status = 'open'"
        );
        let n = sqlx::query(&sql).bind(&actor.name).bind(now_ms()).bind(id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Merges the other resident of an open review into `keep`: every row
    /// pointing at them moves to `keep` (each capability's rules in
    /// `crate::merge`), and the merged row is kept in a snapshot.
    /// [`StoreError::MergeRefused`] when their records cannot be merged (both
    /// sampled in the same round); nothing changes then.
    pub async fn merge_review(&self, actor: &Actor, review_id: i64, keep: i64) -> Result<Merge, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The merge reads, then moves rows the scan writer also writes.
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        let row = sqlx::query(
            "SELECT id, kind, resident_a, resident_b, status, decided_by FROM census_reviews WHERE id = $1",
        )
        .bind(review_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let r = review(&row)?;
        if r.status != "open" || (keep != r.resident_a && keep != r.resident_b) {
            return Err(StoreError::Conflict { constraint: "census_reviews_status".into() });
        }
        let merged = if keep == r.resident_a { r.resident_b } else { r.resident_a };
        let gone = snapshot(&mut tx, merged).await?;
        let kept_before = snapshot(&mut tx, keep).await?;
        let pair = Pair { kept: keep, merged };
        merge::check(&mut tx, pair).await?;
        let carried = merge::carry(&mut tx, pair).await?;
        let needs = gone["needs"].as_i64().unwrap_or(0) | kept_before["needs"].as_i64().unwrap_or(0);
        sqlx::query("UPDATE residents SET needs = $1, updated_at = $2 WHERE id = $3")
            .bind(needs)
            .bind(now_ms())
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM residents WHERE id = $1").bind(merged).execute(&mut *tx).await?;
        let summary = carried.summary();
        let carried = serde_json::to_value(&carried).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let snap = json!({"merged": gone, "kept_before": kept_before, "carried": carried, "review": review_id});
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO resident_merges (kept_id, merged_id, snapshot, merged_by, merged_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(keep)
        .bind(merged)
        .bind(snap.to_string())
        .bind(&actor.name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE census_reviews SET status = 'merged', decided_by = $1, decided_at = $2 WHERE id = $3")
            .bind(&actor.name)
            .bind(now)
            .bind(review_id)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            action: "resident.merge",
            entity: "resident",
            entity_id: Some(keep.to_string()),
            before: Some(json!({"kept": kept_before, "merged": gone})),
            after: Some(json!({"kept_id": keep, "merge_id": id, "carried": summary})),
        };
        audit::record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(Merge {
            id,
            kept_id: keep,
            merged_id: merged,
            merged_by: actor.name.clone(),
            merged_at: now,
            undone_by: None,
        })
    }

    /// Every merge, newest first.
    pub async fn list_merges(&self) -> Result<Vec<Merge>, StoreError> {
        let rows = sqlx::query("SELECT id, kept_id, merged_id, merged_by, merged_at, undone_by FROM resident_merges ORDER BY id DESC LIMIT 1000")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Merge {
                    id: r.try_get("id")?,
                    kept_id: r.try_get("kept_id")?,
                    merged_id: r.try_get("merged_id")?,
                    merged_by: r.try_get("merged_by")?,
                    merged_at: r.try_get("merged_at")?,
                    undone_by: r.try_get("undone_by")?,
                })
            })
            .collect()
    }

    /// Undoes a merge: the merged resident comes back with their id, and every
    /// row the merge carried (or dropped) is theirs again.
    pub async fn undo_merge(&self, actor: &Actor, merge_id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::db::take_write_lock(&mut tx, self.backend()).await?;
        let row: Option<(i64, i64, String, Option<String>)> =
            sqlx::query_as("SELECT kept_id, merged_id, snapshot, undone_by FROM resident_merges WHERE id = $1")
                .bind(merge_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (kept, merged, snap, undone) = row.ok_or(StoreError::NotFound)?;
        if undone.is_some() {
            return Err(StoreError::Conflict { constraint: "resident_merges_undone".into() });
        }
        let snap: Value = serde_json::from_str(&snap).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let gone = &snap["merged"];
        let placeholders: Vec<String> = (1..=RESIDENT_COLUMNS.len()).map(|i| format!("${i}")).collect();
        let sql =
            format!("INSERT INTO residents ({}) VALUES ({})", RESIDENT_COLUMNS.join(", "), placeholders.join(", "));
        let mut insert = sqlx::query(&sql);
        for col in RESIDENT_COLUMNS {
            insert = match col {
                "id" | "household_id" | "building_id" | "needs" | "away" | "created_at" | "updated_at" => {
                    insert.bind(gone[col].as_i64())
                }
                _ => insert.bind(gone[col].as_str().map(str::to_string)),
            };
        }
        insert.execute(&mut *tx).await?;
        let record: Record = match snap.get("carried") {
            Some(c) => serde_json::from_value(c.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            None => Record::legacy(&snap),
        };
        merge::restore(&mut tx, Pair { kept, merged }, &record).await?;
        sqlx::query("UPDATE residents SET needs = $1 WHERE id = $2")
            .bind(snap["kept_before"]["needs"].as_i64())
            .bind(kept)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE resident_merges SET undone_by = $1, undone_at = $2 WHERE id = $3")
            .bind(&actor.name)
            .bind(now_ms())
            .bind(merge_id)
            .execute(&mut *tx)
            .await?;
        if let Some(review_id) = snap["review"].as_i64() {
            sqlx::query(
                "UPDATE census_reviews SET status = 'open', decided_by = NULL, decided_at = NULL WHERE id = $1",
            )
            .bind(review_id)
            .execute(&mut *tx)
            .await?;
        }
        let change = Change {
            action: "resident.unmerge",
            entity: "resident",
            entity_id: Some(merged.to_string()),
            before: Some(json!({"kept_id": kept, "merge_id": merge_id, "carried": record.summary()})),
            after: Some(gone.clone()),
        };
        audit::record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }
}
