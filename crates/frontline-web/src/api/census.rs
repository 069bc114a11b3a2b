//! Census rounds over the API: import a sheet (raw body), rounds, reconciliation,
//! base numbers, likely duplicates and merges, and a resident's trace.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::census::CensusRules;
use frontline_domain::i18n::Lang;
use frontline_domain::privacy::Disclosure;
use frontline_import::Limits;
use frontline_store::census::{ImportOptions, ImportOutcome, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::api::residents::RevealQuery;
use crate::api::schemas;
use crate::auth::Auth;
use crate::census::{disclose_issues, disclose_reconciliation, disclose_rows, run_import, ImportError};
use crate::error::{AppError, ErrorEnvelope, FieldError};
use crate::i18n::ReqLang;
use crate::privacy;
use crate::views::today;
use crate::AppState;

/// How to import the body.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The round's name (unique per compound).
    pub round: Option<String>,
    /// The compound the sheet covers (created when new).
    pub compound: Option<String>,
    /// The file's name (kept with the round; `.csv`, `.xlsx` or `.xls`).
    pub file_name: Option<String>,
    /// Where the sheet comes from; its column mapping is saved under this (default: the compound).
    pub source: Option<String>,
    /// Check and count, write nothing.
    pub dry_run: Option<bool>,
    /// Commit the valid rows even when some are refused.
    pub accept_valid: Option<bool>,
    /// What the round is reconciled within: `compound` (every building) or `buildings`
    /// (those the sheet covers). Default: the sheet's buildings when other buildings of
    /// the compound hold residents, else the compound.
    pub scope: Option<String>,
}

/// Builds import options from form or query fields, or says which are missing.
pub fn import_options(
    state: &AppState,
    round: Option<String>,
    compound: Option<String>,
    file_name: Option<String>,
    source: Option<String>,
    dry_run: bool,
    accept_valid: bool,
) -> Result<ImportOptions, AppError> {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let mut errors = vec![];
    let round = clean(round).and_then(|r| frontline_domain::places::clean_name(&r));
    if round.is_none() {
        errors.push(FieldError::new("round", "required"));
    }
    let compound = clean(compound).and_then(|c| frontline_domain::places::clean_name(&c));
    if compound.is_none() {
        errors.push(FieldError::new("compound", "required"));
    }
    let (Some(round), Some(compound)) = (round, compound) else {
        return Err(AppError::Invalid(errors));
    };
    let rules = &state.config().rules;
    Ok(ImportOptions {
        source: clean(source).unwrap_or_else(|| compound.clone()),
        file_name: clean(file_name).unwrap_or_else(|| "upload.csv".into()),
        round,
        compound,
        dry_run,
        accept_valid,
        today: today(rules),
        rules: CensusRules { elderly_age: rules.elderly_age },
        scope: None,
    })
}

/// The scope asked for: `compound`, `buildings`, or nothing (or `auto`) for the one detected.
pub fn import_scope(scope: Option<&str>) -> Result<Option<Scope>, AppError> {
    match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("auto") => Ok(None),
        Some(code) => Scope::from_code(code).map(Some).ok_or_else(|| AppError::field("scope", "invalid")),
    }
}

/// Maps an import failure to the envelope.
pub fn import_error(e: ImportError, lang: Lang) -> AppError {
    match e {
        ImportError::Decode(d) => AppError::Invalid(vec![FieldError::keyed(
            "file",
            d.code(),
            format!("census.decode.{}", d.code()),
            d.params(),
        )]),
        ImportError::Header { code, missing, .. } => {
            let fields = missing.iter().map(|f| f.code()).collect::<Vec<_>>().join(",");
            let params = if missing.is_empty() { vec![] } else { vec![("fields", fields)] };
            AppError::Invalid(vec![FieldError::keyed("file", code, format!("census.header.{code}"), params)])
        }
        ImportError::Store(frontline_store::StoreError::Conflict { .. }) => {
            AppError::Conflict(vec![FieldError::keyed(
                "round",
                "round_exists",
                "census.decode.round_exists".into(),
                vec![],
            )])
        }
        other => AppError::Internal(anyhow::anyhow!("census import: {}", other.message(lang))),
    }
}

/// The import's summary (the same object as `frontline import census --json`) and its report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Counts: `rows_read`, `rows_skipped`, `residents_created`, `residents_matched`,
    /// `duplicates_in_file`, `refused` and `warnings` by reason, `committed`, `round_id`, …
    #[serde(flatten)]
    #[schema(value_type = schemas::ImportSummary)]
    pub summary: Value,
    /// Every refusal and warning, by row.
    #[schema(value_type = Vec<schemas::RowIssue>)]
    pub issues: Vec<Value>,
}

/// The summary and the report, each cell's original value masked for the reader.
fn result(mut outcome: ImportOutcome, who: Disclosure) -> ImportResult {
    disclose_issues(&mut outcome.issues, who);
    ImportResult { summary: json!(outcome.summary), issues: outcome.issues.iter().map(|i| json!(i)).collect() }
}

/// Imports a census sheet sent as the request body (CSV in UTF-8 or GB18030, XLSX or XLS).
/// 201 when committed; 200 for a dry run or when refused rows kept it from committing.
#[utoipa::path(post, path = "/api/v1/census/imports", tag = "census", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ImportResult), (status = 200, body = ImportResult),
              (status = 409, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_import(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportResult>), AppError> {
    auth.require(Perm::ImportCensus)?;
    let scope = import_scope(q.scope.as_deref())?;
    let mut opts = import_options(
        &state,
        q.round,
        q.compound,
        q.file_name,
        q.source,
        q.dry_run.unwrap_or(false),
        q.accept_valid.unwrap_or(false),
    )?;
    opts.scope = scope;
    let outcome = run_import(state.store(), &auth.actor(), body, opts, Limits::default(), &|_| {})
        .await
        .map_err(|e| import_error(e, lang))?;
    let status = if outcome.summary.committed { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(result(outcome, Disclosure::masked(auth.user.role)))))
}

/// Census rounds, newest first.
#[utoipa::path(get, path = "/api/v1/census/rounds", tag = "census",
    responses((status = 200, body = Vec<schemas::CensusRound>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_rounds(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    Ok(Json(json!(state.store().list_rounds().await?)))
}

/// One round with its summary.
#[utoipa::path(get, path = "/api/v1/census/rounds/{id}", tag = "census", params(("id" = i64, Path)),
    responses((status = 200, body = schemas::CensusRound), (status = 404, body = ErrorEnvelope)))]
pub async fn get_round(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    Ok(Json(json!(state.store().get_round(id).await?)))
}

/// A round reconciled with the one before it: still present, gone, new, moved, changed phone — per building.
/// Phones are masked unless `?reveal=true` (the permission, audited).
#[utoipa::path(get, path = "/api/v1/census/rounds/{id}/reconcile", tag = "census", params(("id" = i64, Path), RevealQuery),
    responses((status = 200, body = schemas::Reconciliation), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_reconciliation(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    let rec = state.store().reconcile(id).await?;
    let reveal = q.reveal.unwrap_or(false);
    let who = privacy::disclosure(&state, &auth, reveal, "census.reveal", "census_round", Some(id.to_string())).await?;
    Ok(Json(json!(disclose_reconciliation(rec, who))))
}

/// Confirms a round committed before rounds were confirmed on import (an
/// import confirms its round as it commits; 409 for those): the people it
/// reports gone (no row at all, within its scope) leave the base numbers and
/// sampling rounds' expected counts, as `moved_out`; never those a refused row
/// may stand for, nor people a later round names. Audited; once per round.
#[utoipa::path(post, path = "/api/v1/census/rounds/{id}/confirm", tag = "census", params(("id" = i64, Path)),
    responses((status = 200, body = schemas::Confirmation), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn confirm_round(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ImportCensus)?;
    let done = state.store().confirm_round(&auth.actor(), id).await.map_err(confirm_error)?;
    Ok(Json(json!(done)))
}

/// A second confirmation is a conflict on the round's status.
pub fn confirm_error(e: frontline_store::StoreError) -> AppError {
    match e {
        frontline_store::StoreError::Conflict { .. } => AppError::Conflict(vec![FieldError::keyed(
            "round",
            "confirmed",
            "census.recon.already_confirmed".into(),
            vec![],
        )]),
        other => other.into(),
    }
}

/// Why a departed resident left.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DepartureRequest {
    /// `moved_out`, `away`, `deceased` or `transferred`.
    #[schema(value_type = String)]
    pub state: Option<String>,
}

/// The departure state named by `state`, or the field error.
pub fn departure_state(state: Option<&str>) -> Result<&'static str, AppError> {
    let state = state.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| AppError::field("state", "required"))?;
    frontline_domain::census::DEPARTURE_STATES
        .iter()
        .find(|s| **s == state)
        .copied()
        .ok_or_else(|| AppError::field("state", "invalid"))
}

/// Changes why a resident who left the base numbers left (audited).
#[utoipa::path(put, path = "/api/v1/residents/{id}/departure", tag = "census", params(("id" = i64, Path)),
    request_body = DepartureRequest,
    responses((status = 200, body = schemas::Departure), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn set_departure(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<DepartureRequest>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ReviewCensus)?;
    let code = departure_state(req.state.as_deref())?;
    let d = state.store().set_departure_state(&auth.actor(), id, code).await?;
    Ok(Json(json!(d)))
}

/// Brings a resident who left back into the household they left (audited).
#[utoipa::path(post, path = "/api/v1/residents/{id}/restore", tag = "census", params(("id" = i64, Path)),
    responses((status = 204, description = "Restored"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn restore_resident(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ReviewCensus)?;
    state.store().restore_resident(&auth.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `YYYY-MM-DD` cut-offs of the needs derived from age, today.
pub fn age_cutoffs(state: &AppState) -> (String, String) {
    let rules = &state.config().rules;
    let day = today(rules);
    let back = |years: i32| {
        frontline_domain::date::Date::new(day.year() - years, day.month(), day.day().min(28))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    (back(rules.elderly_age), back(rules.infant_age_below))
}

/// Base numbers (底数) per building, compound and the district.
#[utoipa::path(get, path = "/api/v1/census/base", tag = "census",
    responses((status = 200, body = schemas::BaseNumbers), (status = 403, body = ErrorEnvelope)))]
pub async fn get_base_numbers(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    let (elderly, infant) = age_cutoffs(&state);
    Ok(Json(json!(state.store().base_numbers(&elderly, &infant).await?)))
}

/// Filter of reviews.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `open`, `merged` or `kept_apart`.
    pub status: Option<String>,
}

/// Likely duplicates to merge or keep apart.
#[utoipa::path(get, path = "/api/v1/census/reviews", tag = "census", params(ReviewQuery),
    responses((status = 200, body = Vec<schemas::Review>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_reviews(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    Ok(Json(json!(state.store().list_reviews(q.status.as_deref()).await?)))
}

/// Which resident of the pair to keep.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The resident kept; the other is merged into it.
    #[schema(value_type = i64)]
    pub keep: Option<i64>,
}

/// Merges a likely duplicate (audited; undoable).
#[utoipa::path(post, path = "/api/v1/census/reviews/{id}/merge", tag = "census", params(("id" = i64, Path)), request_body = MergeRequest,
    responses((status = 200, body = schemas::Merge), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn merge_review(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ReviewCensus)?;
    let keep = req.keep.ok_or_else(|| AppError::field("keep", "required"))?;
    let merge = state.store().merge_review(&auth.actor(), id, keep).await.map_err(review_error)?;
    Ok(Json(json!(merge)))
}

fn review_error(e: frontline_store::StoreError) -> AppError {
    match e {
        frontline_store::StoreError::Conflict { .. } => AppError::Conflict(vec![FieldError::new("status", "taken")]),
        other => other.into(),
    }
}

/// Marks a likely duplicate as two different people.
#[utoipa::path(post, path = "/api/v1/census/reviews/{id}/keep-apart", tag = "census", params(("id" = i64, Path)),
    responses((status = 204, description = "Kept apart"), (status = 404, body = ErrorEnvelope)))]
pub async fn keep_apart(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ReviewCensus)?;
    state.store().keep_apart(&auth.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which conflicts to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// Only this round's.
    pub round: Option<i64>,
}

/// Rows that repeated an earlier row's document under another name, open ones first.
#[utoipa::path(get, path = "/api/v1/census/conflicts", tag = "census", params(ConflictQuery),
    responses((status = 200, body = Vec<schemas::Conflict>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_conflicts(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ConflictQuery>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    Ok(Json(json!(state.store().list_conflicts(q.round).await?)))
}

/// Marks a conflict as checked (audited).
#[utoipa::path(post, path = "/api/v1/census/conflicts/{id}/resolve", tag = "census", params(("id" = i64, Path)),
    responses((status = 204, description = "Checked"), (status = 404, body = ErrorEnvelope)))]
pub async fn resolve_conflict(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ReviewCensus)?;
    state.store().resolve_conflict(&auth.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merges, newest first.
#[utoipa::path(get, path = "/api/v1/census/merges", tag = "census",
    responses((status = 200, body = Vec<schemas::Merge>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_merges(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    Ok(Json(json!(state.store().list_merges().await?)))
}

/// Undoes a merge: the merged resident returns with their rows and history.
#[utoipa::path(post, path = "/api/v1/census/merges/{id}/undo", tag = "census", params(("id" = i64, Path)),
    responses((status = 204, description = "Undone"), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn undo_merge(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ReviewCensus)?;
    state.store().undo_merge(&auth.actor(), id).await.map_err(review_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The census rows that made or changed a resident (有章可循), as they
/// arrived: numbers and dates in the cells are masked unless `?reveal=true`
/// (the permission, audited).
#[utoipa::path(get, path = "/api/v1/residents/{id}/trace", tag = "census", params(("id" = i64, Path), RevealQuery),
    responses((status = 200, body = Vec<schemas::TraceRow>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_resident_trace(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> Result<Json<Value>, AppError> {
    auth.require(Perm::ViewCensus)?;
    let r = state.store().get_resident(id).await?;
    privacy::require_reach(&state, &auth, r.building_id).await?;
    let reveal = q.reveal.unwrap_or(false);
    let who = privacy::disclosure(&state, &auth, reveal, "resident.reveal", "resident", Some(id.to_string())).await?;
    let mut rows = state.store().resident_trace(id).await?;
    for row in &mut rows {
        disclose_rows(std::slice::from_mut(&mut row.raw), who);
    }
    Ok(Json(json!(rows)))
}
