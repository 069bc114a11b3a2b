//! Reading the audit log (commander and deputies). No route edits or deletes it.

use axum::extract::State;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_store::audit::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope};
use crate::views::AuditList;
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
    auth.require(Perm::ViewAudit)?;
    let (limit, after) = PageQuery { limit: q.limit, after: q.after.clone() }.parse()?;
    let page = state.store().list_audit(&q.filter(), after, limit).await?;
    Ok(Json(AuditList::from_page(page)))
}
