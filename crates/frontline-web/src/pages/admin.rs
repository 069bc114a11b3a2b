//! Pages for the command: the audit log and the working groups.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::date::Date;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::accounts::{parse_group, GroupInput};
use crate::api::audit::AuditQuery;
use crate::api::extract::{ApiPath, ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::{percent_encode, AppError, FieldError};
use crate::forms::FormErrors;
use crate::i18n::ReqLang;
use crate::views::GroupView;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list_audit))
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", post(update_group))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct AuditPageQuery {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
    after: Option<String>,
    reveal: Option<String>,
}

#[derive(Serialize)]
struct AuditRow {
    at: i64,
    actor: String,
    action: String,
    entity: String,
    entity_id: Option<String>,
    ip: Option<String>,
    change: String,
}

fn day_start_ms(raw: Option<&str>, field: &str, offset_minutes: i32) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Date::parse_iso(s)
            .map(|d| Some(d.days_since_epoch() * 86_400_000 - i64::from(offset_minutes) * 60_000))
            .ok_or_else(|| AppError::Invalid(vec![FieldError::new(field, "bad_date")])),
    }
}

/// The audit log with filters (commander and deputies), personal data masked;
/// `?reveal=1` unmasks it for roles allowed to, and records the read.
async fn list_audit(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<AuditPageQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewAudit)?;
    let reveal = matches!(q.reveal.as_deref(), Some("1" | "true"));
    let offset = state.config().rules.utc_offset_minutes;
    let from = day_start_ms(q.from_date.as_deref(), "from_date", offset)?;
    let to = day_start_ms(q.to_date.as_deref(), "to_date", offset)?.map(|t| t + 86_400_000);
    let filter = AuditQuery {
        actor: q.actor.clone(),
        action: q.action.clone(),
        entity: q.entity.clone(),
        from,
        to,
        ..Default::default()
    }
    .filter();
    let (_, after) = PageQuery { limit: None, after: q.after.clone() }.parse()?;
    let (items, next) = crate::api::audit::read_audit(&state, &auth, &filter, after, 100, reveal).await?;
    let rows: Vec<AuditRow> = items
        .into_iter()
        .map(|e| AuditRow {
            at: e.at,
            change: match (&e.before, &e.after) {
                (None, None) => String::new(),
                (b, a) => serde_json::json!({"before": b, "after": a}).to_string(),
            },
            actor: e.actor,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            ip: e.ip,
        })
        .collect();
    let next_href = next.as_ref().map(|n| {
        let next_q = AuditPageQuery { after: Some(n.clone()), ..q.clone() };
        format!("/audit?{}", audit_query_string(&next_q))
    });
    let reveal_href = (!reveal && auth.can(Perm::RevealPersonalData)).then(|| {
        let reveal_q = AuditPageQuery { reveal: Some("1".into()), ..q.clone() };
        format!("/audit?{}", audit_query_string(&reveal_q))
    });
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/audit", "nav.audit"),
        ..context! { entries => rows, next => next, next_href => next_href, revealed => reveal,
            reveal_href => reveal_href, f => context! {
            actor => q_or_empty(&q.actor), action => q_or_empty(&q.action), entity => q_or_empty(&q.entity),
            from_date => q_or_empty(&q.from_date), to_date => q_or_empty(&q.to_date),
        } }
    };
    page("audit.html", ctx)
}

fn q_or_empty(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Encodes the audit filters back into a query string.
fn audit_query_string(q: &AuditPageQuery) -> String {
    let pairs = [
        ("actor", &q.actor),
        ("action", &q.action),
        ("entity", &q.entity),
        ("from_date", &q.from_date),
        ("to_date", &q.to_date),
        ("after", &q.after),
        ("reveal", &q.reveal),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", percent_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// The working groups; editable by those who manage them.
async fn list_groups(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    groups_page(&state, &auth, lang, None).await
}

/// A group form that failed: which group (none for the new-group form), the
/// input as typed, and the messages.
struct GroupFailure {
    id: Option<i64>,
    input: GroupFormValues,
    errors: FormErrors,
}

/// A group form's fields as typed, to show them again.
#[derive(Debug, Clone, Default, Serialize)]
struct GroupFormValues {
    code: String,
    name: String,
    name_en: String,
    duty: String,
    sort: String,
}

/// The fields of the group forms, in their order, with their labels.
const GROUP_FIELDS: &[(&str, &str)] = &[
    ("code", "groups.code"),
    ("name", "groups.name"),
    ("name_en", "groups.name_en"),
    ("duty", "groups.duty"),
    ("sort", "groups.sort"),
];

async fn groups_page(
    state: &AppState,
    auth: &Auth,
    lang: frontline_domain::i18n::Lang,
    failed: Option<GroupFailure>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewGroups)?;
    let groups: Vec<GroupView> = state.store().list_groups().await?.into_iter().map(Into::into).collect();
    let status = failed.as_ref().map(|f| f.errors.status());
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/groups", "nav.groups"),
        ..context! {
            groups => groups,
            can_manage => auth.can(Perm::ManageGroups),
            failed_id => failed.as_ref().and_then(|f| f.id),
            failed_new => failed.as_ref().is_some_and(|f| f.id.is_none()),
            kept => failed.as_ref().map(|f| f.input.clone()),
            form_errors => failed.map(|f| f.errors),
        }
    };
    let mut res = page("groups.html", ctx)?;
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
struct GroupForm {
    csrf: String,
    code: Option<String>,
    name: Option<String>,
    name_en: Option<String>,
    duty: Option<String>,
    sort: Option<String>,
}

impl GroupForm {
    fn values(&self) -> GroupFormValues {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        GroupFormValues {
            code: text(&self.code),
            name: text(&self.name),
            name_en: text(&self.name_en),
            duty: text(&self.duty),
            sort: text(&self.sort),
        }
    }

    fn input(self) -> Result<GroupInput, AppError> {
        let sort = match self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| AppError::field("sort", "unknown"))?),
        };
        Ok(GroupInput { code: self.code, name: self.name, name_en: self.name_en, duty: self.duty, sort })
    }
}

/// Creates a working group from the form; a wrong input shows the page
/// again with the form as typed.
async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    form: Result<Form<GroupForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let values = form.values();
    let written = async {
        let g = parse_group(form.input()?, None)?;
        state.store().create_group(&auth.actor(), &g).await?;
        Ok::<_, AppError>(())
    }
    .await;
    match written {
        Ok(()) => Ok(Redirect::to("/groups").into_response()),
        Err(e) => {
            let errors = FormErrors::of(lang, e, GROUP_FIELDS)?;
            groups_page(&state, &auth, lang, Some(GroupFailure { id: None, input: values, errors })).await
        }
    }
}

/// Saves a working group from the form; a wrong input shows the page again
/// with that group's form as typed.
async fn update_group(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<GroupForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let base = state.store().get_group(id).await?;
    let values = form.values();
    let written = async {
        let g = parse_group(form.input()?, Some(base))?;
        state.store().update_group(&auth.actor(), &g).await?;
        Ok::<_, AppError>(())
    }
    .await;
    match written {
        Ok(()) => Ok(Redirect::to("/groups").into_response()),
        Err(e) => {
            let errors = FormErrors::of(lang, e, &GROUP_FIELDS[1..])?;
            groups_page(&state, &auth, lang, Some(GroupFailure { id: Some(id), input: values, errors })).await
        }
    }
}
