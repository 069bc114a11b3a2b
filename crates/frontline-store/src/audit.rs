//! The audit log: who did what, when, to which entity, with before and after.
//!
//! Writes record their entry inside their own transaction ([`record`]); views
//! and exports of unmasked personal data record theirs with [`Store::record_access`].
//! The table is append-only: triggers refuse UPDATE and DELETE on both backends.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;
use crate::page::{self, Page};

/// Who is acting: an account, or the system itself (the demo seeder, the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account's id; `None` for the system.
    pub user_id: Option<i64>,
    /// The account's user name, or a name for the system actor (`cli`, `demo`).
    pub name: String,
    /// The client's address, when acting over HTTP.
    pub ip: Option<String>,
}

impl Actor {
    /// The system acting on its own (CLI commands, the demo seeder).
    pub fn system(name: &str) -> Actor {
        Actor { user_id: None, name: name.to_string(), ip: None }
    }
}

/// One change or access to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// What happened, `entity.verb` style: `resident.create`, `resident.reveal`.
    pub action: &'a str,
    /// The kind of entity: `resident`, `building`, `user`.
    pub entity: &'a str,
    /// The entity's id, when it has one.
    pub entity_id: Option<String>,
    /// The entity before the change.
    pub before: Option<Value>,
    /// The entity after the change.
    pub after: Option<Value>,
}

/// Records `change` on `conn`, which should be the transaction making the change.
pub async fn record(conn: &mut AnyConnection, actor: &Actor, change: Change<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, ip, action, entity, entity_id, before_json, after_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(now_ms())
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(actor.ip.as_deref())
    .bind(change.action)
    .bind(change.entity)
    .bind(change.entity_id)
    .bind(change.before.map(|v| v.to_string()))
    .bind(change.after.map(|v| v.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// One entry of the audit log, as read back.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// The entry's id (also its position: ids only grow).
    pub id: i64,
    /// When, in unix milliseconds.
    pub at: i64,
    /// The acting account's id.
    pub actor_id: Option<i64>,
    /// The acting account's name.
    pub actor: String,
    /// The client's address.
    pub ip: Option<String>,
    /// What happened.
    pub action: String,
    /// The kind of entity.
    pub entity: String,
    /// The entity's id.
    pub entity_id: Option<String>,
    /// The entity before.
    pub before: Option<Value>,
    /// The entity after.
    pub after: Option<Value>,
}

/// Filters for reading the log; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor (account name).
    pub actor: Option<String>,
    /// Only actions starting with this prefix (`resident.` or `resident.reveal`).
    pub action: Option<String>,
    /// Only this kind of entity.
    pub entity: Option<String>,
    /// Only this entity id (with `entity`).
    pub entity_id: Option<String>,
    /// Only entries at or after this time (unix ms).
    pub from: Option<i64>,
    /// Only entries before this time (unix ms).
    pub to: Option<i64>,
}

fn entry(row: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor_id: row.try_get("actor_id")?,
        actor: row.try_get("actor")?,
        ip: row.try_get("ip")?,
        action: row.try_get("action")?,
        entity: row.try_get("entity")?,
        entity_id: row.try_get("entity_id")?,
        before: json(row.try_get("before_json")?),
        after: json(row.try_get("after_json")?),
    })
}

impl Store {
    /// Records an access that changes nothing (a view or export of unmasked personal data).
    pub async fn record_access(&self, actor: &Actor, change: Change<'_>) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        record(&mut conn, actor, change).await
    }

    /// Reads the log newest first, `after` being the last id of the previous page.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let action_prefix = filter.action.as_ref().map(|a| format!("{}%", escape_like(a)));
        let rows = sqlx::query(
            "SELECT id, at, actor_id, actor, ip, action, entity, entity_id, before_json, after_json \
             FROM audit_log \
             WHERE ($1 IS NULL OR id < $1) \
               AND ($2 IS NULL OR actor = $2) \
               AND ($3 IS NULL OR action LIKE $3 ESCAPE '\\') \
               AND ($4 IS NULL OR entity = $4) \
               AND ($5 IS NULL OR entity_id = $5) \
               AND ($6 IS NULL OR at >= $6) \
               AND ($7 IS NULL OR at < $7) \
             ORDER BY id DESC LIMIT $8",
        )
        .bind(after)
        .bind(filter.actor.as_deref())
        .bind(action_prefix)
        .bind(filter.entity.as_deref())
        .bind(filter.entity_id.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        Ok(page::from_rows(items, limit, |e| e.id.to_string()))
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
