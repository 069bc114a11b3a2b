//! What merging two residents carries from the merged one to the kept one, and
//! what undoing the merge puts back.
//!
//! Every capability whose tables point at residents registers one [`Mover`] in
//! [`MOVERS`]: its tables, each with its rule for two rows where only one may
//! be, and (rarely) an adjustment of its own, such as a counter to keep right.
//! A merge first asks every mover whether it may go ahead, then carries their
//! rows in the same transaction and keeps a [`Record`] of what it did in the
//! merge's snapshot; undoing the merge reads the record back. A table that
//! points at residents and is missing here makes merges fail on its foreign key.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::{AnyConnection, Row};

use crate::error::StoreError;

/// Every capability's mover, in the order a merge carries them (an undo goes backwards).
pub(crate) static MOVERS: &[&Mover] = &[&crate::census::MERGE, &crate::sampling::MERGE];

/// The two residents of a merge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair {
    /// The resident kept.
    pub(crate) kept: i64,
    /// The resident merged into it, deleted by the merge.
    pub(crate) merged: i64,
}

/// What one capability's tables need carried.
pub(crate) struct Mover {
    /// The capability, naming its adjustment in the record.
    pub(crate) capability: &'static str,
    /// Its tables that point at residents.
    pub(crate) tables: &'static [Carried],
    /// Anything else that must follow the rows.
    pub(crate) adjust: Option<Adjust>,
}

/// A table pointing at residents.
pub(crate) struct Carried {
    /// The table.
    pub(crate) table: &'static str,
    /// Its column holding the resident's id.
    pub(crate) column: &'static str,
    /// How many rows a resident may have, and what happens when both have one where only one may be.
    pub(crate) rows: Rows,
}

/// How a table's rows belong to residents.
pub(crate) enum Rows {
    /// Rows with their own `id`, any number per resident (census rows, addresses): all of them move.
    Many,
    /// At most one row per resident and value of `per` (one per sampling round).
    OnePer {
        /// The column that, with the resident's, is unique.
        per: &'static str,
        /// When both residents have a row for the same value.
        on_both: OnBoth,
    },
}

/// What happens when both residents have a row where only one may be.
pub(crate) enum OnBoth {
    /// The merge is refused, and nothing changes: the two rows say different
    /// things and nobody can tell which one is right.
    Refuse {
        /// Why, a stable code ([`StoreError::MergeRefused`]).
        code: &'static str,
        /// The table whose `id` and `name` name the `per` values, for the refusal.
        named_by: &'static str,
    },
    /// The kept resident's row stays; the merged one's is deleted, its columns
    /// kept in the record so that undo puts it back.
    KeepKept {
        /// Every column but the resident's.
        columns: &'static [Col],
    },
}

/// A column of a row kept whole in the record.
pub(crate) enum Col {
    /// An integer column.
    Int(&'static str),
    /// A text column.
    Text(&'static str),
}

/// An adjustment of a capability's own, beside its rows.
pub(crate) struct Adjust {
    /// Runs before the rows move (they still point at the merged resident);
    /// returns what `undo` needs.
    pub(crate) merge: for<'c> fn(&'c mut AnyConnection, Pair) -> BoxFuture<'c, Result<Value, StoreError>>,
    /// Runs after the rows moved back, with what `merge` returned.
    pub(crate) undo: for<'c> fn(&'c mut AnyConnection, Pair, Value) -> BoxFuture<'c, Result<(), StoreError>>,
}

/// What a merge did, kept in its snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Per table.
    pub(crate) tables: BTreeMap<String, TableRecord>,
    /// Per capability, what its adjustment returned.
    #[serde(default)]
    pub(crate) adjusted: BTreeMap<String, Value>,
}

/// What a merge did to one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct TableRecord {
    /// The rows moved to the kept resident: their `id`, or their `per` value.
    pub(crate) moved: Vec<i64>,
    /// The merged resident's rows deleted in favour of the kept one's, column by column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) dropped: Vec<Map<String, Value>>,
}

impl Record {
    /// The record of a merge made before movers existed: census rows and addresses by id.
    pub(crate) fn legacy(snapshot: &Value) -> Record {
        let ids = |key: &str| -> Vec<i64> {
            snapshot[key].as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default()
        };
        let mut tables = BTreeMap::new();
        tables.insert("census_rows".to_string(), TableRecord { moved: ids("census_rows"), dropped: vec![] });
        tables.insert("resident_addresses".to_string(), TableRecord { moved: ids("addresses"), dropped: vec![] });
        Record { tables, adjusted: BTreeMap::new() }
    }

    /// For the audit log: how many rows of each table moved, and the rows dropped.
    pub(crate) fn summary(&self) -> Value {
        let moved: Map<String, Value> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.moved.is_empty())
            .map(|(name, t)| (name.clone(), json!(t.moved.len())))
            .collect();
        let dropped: Map<String, Value> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.dropped.is_empty())
            .map(|(name, t)| (name.clone(), json!(t.dropped)))
            .collect();
        json!({"moved": moved, "dropped": dropped})
    }
}

/// Refuses the merge when a mover says so; writes nothing.
pub(crate) async fn check(conn: &mut AnyConnection, pair: Pair) -> Result<(), StoreError> {
    for t in MOVERS.iter().flat_map(|m| m.tables) {
        let Rows::OnePer { per, on_both: OnBoth::Refuse { code, named_by } } = &t.rows else { continue };
        let (table, col) = (t.table, t.column);
        let names: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT n.name FROM {table} m JOIN {table} k ON k.{per} = m.{per} AND k.{col} = $1 \
             JOIN {named_by} n ON n.id = m.{per} WHERE m.{col} = $2 ORDER BY n.id"
        ))
        .bind(pair.kept)
        .bind(pair.merged)
        .fetch_all(&mut *conn)
        .await?;
        if !names.is_empty() {
            return Err(StoreError::MergeRefused { code, names });
        }
    }
    Ok(())
}

/// Carries every mover's rows from the merged resident to the kept one (after [`check`]).
pub(crate) async fn carry(conn: &mut AnyConnection, pair: Pair) -> Result<Record, StoreError> {
    let mut record = Record::default();
    for mover in MOVERS {
        if let Some(adjust) = &mover.adjust {
            let done = (adjust.merge)(&mut *conn, pair).await?;
            record.adjusted.insert(mover.capability.to_string(), done);
        }
        for t in mover.tables {
            let done = carry_table(conn, t, pair).await?;
            record.tables.insert(t.table.to_string(), done);
        }
    }
    Ok(record)
}

async fn carry_table(conn: &mut AnyConnection, t: &Carried, pair: Pair) -> Result<TableRecord, StoreError> {
    let (table, col) = (t.table, t.column);
    let mut dropped = Vec::new();
    let key = match &t.rows {
        Rows::Many => "id",
        Rows::OnePer { per, on_both } => {
            if let OnBoth::KeepKept { columns } = on_both {
                let both =
                    format!("FROM {table} WHERE {col} = $1 AND {per} IN (SELECT {per} FROM {table} WHERE {col} = $2)");
                let names: Vec<&str> = columns.iter().map(Col::name).collect();
                let rows = sqlx::query(&format!("SELECT {} {both}", names.join(", ")))
                    .bind(pair.merged)
                    .bind(pair.kept)
                    .fetch_all(&mut *conn)
                    .await?;
                for row in &rows {
                    let mut map = Map::new();
                    for c in *columns {
                        let v = match c {
                            Col::Int(n) => json!(row.try_get::<Option<i64>, _>(*n)?),
                            Col::Text(n) => json!(row.try_get::<Option<String>, _>(*n)?),
                        };
                        map.insert(c.name().to_string(), v);
                    }
                    dropped.push(map);
                }
                sqlx::query(&format!("DELETE {both}")).bind(pair.merged).bind(pair.kept).execute(&mut *conn).await?;
            }
            per
        }
    };
    let moved: Vec<i64> = sqlx::query_scalar(&format!("SELECT {key} FROM {table} WHERE {col} = $1 ORDER BY {key}"))
        .bind(pair.merged)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query(&format!("UPDATE {table} SET {col} = $1 WHERE {col} = $2"))
        .bind(pair.kept)
        .bind(pair.merged)
        .execute(&mut *conn)
        .await?;
    Ok(TableRecord { moved, dropped })
}

/// Puts back what [`carry`] did (the merged resident exists again): moved rows
/// that still point at the kept resident go back, dropped rows are inserted
/// again, then each adjustment is undone. Movers and tables missing from an
/// older record are left alone.
pub(crate) async fn restore(conn: &mut AnyConnection, pair: Pair, record: &Record) -> Result<(), StoreError> {
    for mover in MOVERS.iter().rev() {
        for t in mover.tables.iter().rev() {
            if let Some(done) = record.tables.get(t.table) {
                restore_table(conn, t, pair, done).await?;
            }
        }
        if let (Some(adjust), Some(done)) = (&mover.adjust, record.adjusted.get(mover.capability)) {
            (adjust.undo)(&mut *conn, pair, done.clone()).await?;
        }
    }
    Ok(())
}

async fn restore_table(
    conn: &mut AnyConnection,
    t: &Carried,
    pair: Pair,
    done: &TableRecord,
) -> Result<(), StoreError> {
    let (table, col) = (t.table, t.column);
    let key = match &t.rows {
        Rows::Many => "id",
        Rows::OnePer { per, .. } => per,
    };
    let back = format!("UPDATE {table} SET {col} = $1 WHERE {col} = $2 AND {key} = $3");
    for k in &done.moved {
        sqlx::query(&back).bind(pair.merged).bind(pair.kept).bind(*k).execute(&mut *conn).await?;
    }
    if let Rows::OnePer { on_both: OnBoth::KeepKept { columns }, .. } = &t.rows {
        let names: Vec<&str> = columns.iter().map(Col::name).collect();
        let params: Vec<String> = (2..=columns.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!("INSERT INTO {table} ({col}, {}) VALUES ($1, {})", names.join(", "), params.join(", "));
        for row in &done.dropped {
            let mut insert = sqlx::query(&sql).bind(pair.merged);
            for c in *columns {
                insert = match c {
                    Col::Int(n) => insert.bind(row.get(*n).and_then(Value::as_i64)),
                    Col::Text(n) => insert.bind(row.get(*n).and_then(Value::as_str).map(str::to_string)),
                };
            }
            insert.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

impl Col {
    fn name(&self) -> &'static str {
        match self {
            Col::Int(n) | Col::Text(n) => n,
        }
    }
}
