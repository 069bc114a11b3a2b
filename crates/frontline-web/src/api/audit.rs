//! Reading the audit log (commander and deputies). No route edits or deletes it.
//! Personal data inside the entries is masked unless the reader may reveal it
//! and asks to; such a read is itself recorded.

use axum::extract::State;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_store::audit::{AuditFilter, Change};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::api::extract::{ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope};
use crate::views::{AuditList, AuditView};
use crate::AppState;

/// Filters of the audit log, combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this account (user name).
    pub actor: Option<String>,
    /// Only actions starting with this (`resident.` or `resident.reveal`).
    pub action: Option<String>,
    /// Only this kind of entity (`resident`, `building`, `user`).
    pub entity: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// From this time (unix ms).
    pub from: Option<i64>,
    /// Before this time (unix ms).
    pub to: Option<i64>,
    /// Rows per page (1–500).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub after: Option<String>,
    /// `true` shows ID numbers, phones and birth dates in before and after
    /// unmasked: only for roles that may reveal personal data (403 otherwise),
    /// and the read is recorded in the log (action `reveal`, entity `audit_log`).
    pub reveal: Option<bool>,
}

impl AuditQuery {
    /// The store filter, with empty strings meaning "any".
    pub fn filter(&self) -> AuditFilter {
        let some = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        AuditFilter {
            actor: some(&self.actor),
            action: some(&self.action),
            entity: some(&self.entity),
            entity_id: some(&self.entity_id),
            from: self.from,
            to: self.to,
        }
    }
}

/// Reads the audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_audit(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, AppError> {
    let (limit, after) = PageQuery { limit: q.limit, after: q.after.clone() }.parse()?;
    let (items, next) = read_audit(&state, &auth, &q.filter(), after, limit, q.reveal.unwrap_or(false)).await?;
    Ok(Json(AuditList { items, next }))
}

/// One page of the log for the API or the page: masked, or (for roles that
/// may reveal personal data) unmasked with the read recorded, naming the
/// entries shown. Entries and the next page's cursor.
pub async fn read_audit(
    state: &AppState,
    auth: &Auth,
    filter: &AuditFilter,
    after: Option<i64>,
    limit: i64,
    reveal: bool,
) -> Result<(Vec<AuditView>, Option<String>), AppError> {
    auth.require(Perm::ViewAudit)?;
    if reveal {
        auth.require(Perm::RevealPersonalData)?;
    }
    let page = state.store().list_audit(filter, after, limit).await?;
    if reveal {
        let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
        let change = Change {
            action: "reveal",
            entity: "audit_log",
            entity_id: None,
            before: None,
            after: Some(json!({"entries": ids})),
        };
        state.store().record_access(&auth.actor(), change).await?;
    }
    let items = page.items.into_iter().map(|e| AuditView::new(e, reveal)).collect();
    Ok((items, page.next))
}
