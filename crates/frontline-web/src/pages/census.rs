//! Census pages: upload → preview (dry run, report, column mapping) → commit,
//! rounds with their reconciliation, base numbers, and likely duplicates.

use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::census::{apply_mapping, Field, REQUIRED_FIELDS};
use frontline_domain::i18n::Lang;
use frontline_import::Limits;
use minijinja::context;
use serde::Deserialize;

use super::{page, page_ctx, write_failed, xlsx};
use crate::api::census::{age_cutoffs, import_error, import_options, import_scope};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::auth::{self, Auth};
use crate::census::{
    base_xlsx, disclose_issues, disclose_reconciliation, disclose_rows, reconcile_xlsx, report_xlsx, run_import,
    ImportError,
};
use crate::error::{percent_encode, AppError};
use crate::forms::FormErrors;
use crate::i18n::ReqLang;
use crate::privacy;
use crate::AppState;
use frontline_domain::privacy::Disclosure;

mod round;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(round::router())
        .route("/census", get(list_rounds))
        .route("/census/uploads/{token}", get(get_preview))
        .route("/census/uploads/{token}/report.xlsx", get(get_preview_report))
        .route("/census/uploads/{token}/mapping", post(create_mapping))
        .route("/census/uploads/{token}/commit", post(create_commit))
        .route("/census/rounds/{id}/report.xlsx", get(get_round_report))
        .route("/census/rounds/{id}/reconcile.xlsx", get(get_reconcile_export))
        .route("/census/base", get(get_base))
        .route("/census/base.xlsx", get(get_base_export))
        .route("/census/reviews", get(list_reviews))
        .route("/census/reviews/{id}/merge", post(create_merge))
        .route("/census/reviews/{id}/keep-apart", post(create_keep_apart))
        .route("/census/merges/{id}/undo", post(create_undo))
        .route("/census/conflicts/{id}/resolve", post(create_resolve))
}

/// The upload route, under the larger body limit.
pub(super) fn upload_router() -> Router<AppState> {
    Router::new().route("/census/upload", post(create_upload))
}

/// Rounds and the upload form.
async fn list_rounds(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    auth.require(Perm::ViewCensus)?;
    let rounds = state.store().list_rounds().await?;
    let compounds: Vec<String> = {
        let mut names: Vec<String> =
            state.store().list_buildings(None, None, 500).await?.items.into_iter().map(|b| b.compound).collect();
        names.dedup();
        names
    };
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/census", "nav.census"),
        ..context! { rounds => rounds, compounds => compounds, can_import => auth.can(Perm::ImportCensus), can_review => auth.can(Perm::ReviewCensus) }
    };
    page("census.html", ctx)
}

/// Receives the file (multipart) and goes to its preview.
async fn create_upload(State(state): State<AppState>, auth: Auth, mut form: Multipart) -> Result<Response, AppError> {
    auth.require(Perm::ImportCensus)?;
    let mut fields = std::collections::HashMap::new();
    let mut file: Option<(String, Bytes)> = None;
    while let Some(field) = form.next_field().await.map_err(|e| multipart_error(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload.csv").to_string();
            let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
            file = Some((file_name, bytes));
        } else {
            let value = field.text().await.map_err(|e| multipart_error(&e))?;
            fields.insert(name, value);
        }
    }
    auth.check_csrf(fields.get("csrf").map_or("", String::as_str))?;
    let (file_name, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| AppError::field("file", "required"))?;
    let opts = import_options(
        &state,
        fields.remove("round"),
        fields.remove("compound"),
        Some(file_name.clone()),
        fields.remove("source"),
        true,
        false,
    )?;
    let token = auth::random_token()?;
    state.store().store_upload(&token, &file_name, &bytes, &auth.user.username).await?;
    let q = format!(
        "round={}&compound={}&source={}",
        percent_encode(&opts.round),
        percent_encode(&opts.compound),
        percent_encode(&opts.source)
    );
    Ok(Redirect::to(&format!("/census/uploads/{token}?{q}")).into_response())
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest { detail: e.body_text() }
    }
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    round: Option<String>,
    compound: Option<String>,
    source: Option<String>,
    scope: Option<String>,
}

async fn dry_run(
    state: &AppState,
    auth: &Auth,
    token: &str,
    q: &UploadQuery,
    accept_valid: bool,
    dry: bool,
) -> Result<(String, Result<frontline_store::census::ImportOutcome, ImportError>), AppError> {
    let (file_name, content) = state.store().get_upload(token).await?;
    let mut opts = import_options(
        state,
        q.round.clone(),
        q.compound.clone(),
        Some(file_name.clone()),
        q.source.clone(),
        dry,
        accept_valid,
    )?;
    opts.scope = import_scope(q.scope.as_deref())?;
    let outcome =
        run_import(state.store(), &auth.actor(), Bytes::from(content), opts, Limits::default(), &|_| {}).await;
    Ok((file_name, outcome))
}

fn query_string(q: &UploadQuery) -> String {
    let enc = |v: &Option<String>| percent_encode(v.as_deref().unwrap_or(""));
    let mut out = format!("round={}&compound={}&source={}", enc(&q.round), enc(&q.compound), enc(&q.source));
    if let Some(scope) = q.scope.as_deref().filter(|s| !s.is_empty()) {
        out.push_str(&format!("&scope={}", percent_encode(scope)));
    }
    out
}

/// The preview: a dry run's counts and report, or the column mapping when the header is unknown.
async fn get_preview(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(token): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ImportCensus)?;
    let (file_name, outcome) = dry_run(&state, &auth, &token, &q, false, true).await?;
    let base = context! {
        token => token, file_name => file_name, query => query_string(&q),
        round => q.round.clone().unwrap_or_default(), compound => q.compound.clone().unwrap_or_default(), source => q.source.clone().unwrap_or_default(),
    };
    let who = Disclosure::masked(auth.user.role);
    let ctx = match outcome {
        Ok(mut o) => {
            disclose_issues(&mut o.issues, who);
            let issues: Vec<_> = o.issues.iter().take(500).map(|i| issue_view(i, lang)).collect();
            let conflicts = o.summary.duplicate_rows.iter().filter(|d| d.conflict).count();
            context! {
                ..page_ctx(&state, &auth, lang, "/census", "nav.census"),
                ..context! { ..base, ..context! { header_error => (), summary => o.summary, conflicts => conflicts, issues => issues, more_issues => o.issues.len().saturating_sub(500) } }
            }
        }
        Err(ImportError::Header { code, sample, found, missing }) => {
            let preset = Mapping {
                header_row: found.as_ref().map_or(0, |h| h.header_row),
                columns: found
                    .map(|h| h.columns.iter().map(|&(i, f)| (i, f.code().to_string())).collect())
                    .unwrap_or_default(),
            };
            let form = MappingForm { code, sample, preset, missing, error: false };
            context! {
                ..page_ctx(&state, &auth, lang, "/census", "nav.census"),
                ..context! { ..base, ..form.context(who) }
            }
        }
        Err(e) => return Err(import_error(e, lang)),
    };
    page("census_preview.html", ctx)
}

/// Columns chosen for fields: the header row and (column, field code) pairs.
struct Mapping {
    header_row: usize,
    columns: Vec<(usize, String)>,
}

/// The column mapping step: the sheet's first rows, the mapping so far, and what is still missing.
struct MappingForm {
    code: &'static str,
    sample: Vec<Vec<String>>,
    preset: Mapping,
    missing: Vec<Field>,
    /// The user's choice left a required field unmapped.
    error: bool,
}

impl MappingForm {
    fn context(mut self, who: Disclosure) -> minijinja::Value {
        disclose_rows(&mut self.sample, who);
        let fields: Vec<(String, String)> =
            Field::ALL.iter().map(|f| (f.code().to_string(), f.message_key())).collect();
        let width = self.sample.iter().map(Vec::len).max().unwrap_or(0).min(60);
        let chosen: Vec<String> = (0..width)
            .map(|i| self.preset.columns.iter().find(|(c, _)| *c == i).map(|(_, f)| f.clone()).unwrap_or_default())
            .collect();
        let missing: Vec<String> = self.missing.iter().map(|f| f.message_key()).collect();
        context! {
            header_error => format!("census.header.{}", self.code), sample => self.sample, width => width, fields => fields,
            chosen => chosen, chosen_row => self.preset.header_row, missing => missing, mapping_error => self.error,
        }
    }
}

fn issue_view(i: &frontline_store::census::RowIssue, lang: Lang) -> minijinja::Value {
    let cat = frontline_domain::i18n::catalogue();
    let params: Vec<(&str, String)> = i.params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    context! {
        row => i.row_number,
        column => i.column.as_ref().map(|c| cat.text(lang, &format!("census.field.{c}")).to_string()).unwrap_or_default(),
        value => i.value,
        name => i.name,
        address => i.address,
        refused => i.refused,
        duplicate => i.code.starts_with("duplicate_"),
        reason => cat.format(lang, &format!("census.issue.{}", i.code), &params),
    }
}

/// The preview's report as XLSX.
async fn get_preview_report(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(token): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ImportCensus)?;
    let (_, outcome) = dry_run(&state, &auth, &token, &q, false, true).await?;
    let mut outcome = outcome.map_err(|e| import_error(e, lang))?;
    disclose_issues(&mut outcome.issues, Disclosure::masked(auth.user.role));
    Ok(xlsx("census-report.xlsx", report_xlsx(&outcome.issues).map_err(write_failed)?))
}

/// Saves the user's column choices for the source, then previews again.
async fn create_mapping(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(token): ApiPath<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    auth.check_csrf(&get("csrf").unwrap_or_default())?;
    auth.require(Perm::ImportCensus)?;
    let q = UploadQuery { round: get("round"), compound: get("compound"), source: get("source"), scope: get("scope") };
    let header_row: usize = get("header_row").and_then(|h| h.parse().ok()).unwrap_or(0);
    let (file_name, content) = state.store().get_upload(&token).await?;
    let name = file_name.clone();
    let sheet =
        tokio::task::spawn_blocking(move || frontline_import::decode(&content, Some(&name), &Limits::default()))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("decode task: {e}")))?
            .map_err(|e| import_error(ImportError::Decode(e), Lang::Zh))?;
    let headers = sheet.rows.get(header_row).cloned().unwrap_or_default();
    let mut mapping = Vec::new();
    let mut chosen = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(code) = get(&format!("col_{i}")).filter(|c| Field::from_code(c).is_some()) {
            chosen.push((i, code.clone()));
            if !h.trim().is_empty() {
                mapping.push((h.trim().to_string(), code));
            }
        }
    }
    // The header as the import will read it: these choices first, the synonyms for the rest.
    let fields: Vec<(String, Field)> =
        mapping.iter().filter_map(|(h, c)| Field::from_code(c).map(|f| (h.clone(), f))).collect();
    let missing = match apply_mapping(&headers, header_row, &fields) {
        Ok(h) => h.missing_required(),
        Err(_) => REQUIRED_FIELDS.to_vec(),
    };
    if !missing.is_empty() {
        // Back to the form with the user's choices and the fields still missing.
        let form = MappingForm {
            code: "missing_required",
            sample: sheet.rows.into_iter().take(12).collect(),
            preset: Mapping { header_row, columns: chosen },
            missing,
            error: true,
        };
        let ctx = context! {
            ..page_ctx(&state, &auth, lang, "/census", "nav.census"),
            ..context! {
                token => token, file_name => file_name, query => query_string(&q),
                round => q.round.clone().unwrap_or_default(), compound => q.compound.clone().unwrap_or_default(), source => q.source.clone().unwrap_or_default(),
            },
            ..form.context(Disclosure::masked(auth.user.role))
        };
        let page = page("census_preview.html", ctx)?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let source =
        import_options(&state, q.round.clone(), q.compound.clone(), None, q.source.clone(), true, false)?.source;
    state.store().save_census_mapping(&source, &mapping).await?;
    Ok(Redirect::to(&format!("/census/uploads/{token}?{}", query_string(&q))).into_response())
}

#[derive(Debug, Deserialize)]
struct CommitForm {
    csrf: String,
    round: Option<String>,
    compound: Option<String>,
    source: Option<String>,
    accept_valid: Option<String>,
    scope: Option<String>,
}

/// Commits the previewed file as a round.
async fn create_commit(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(token): ApiPath<String>,
    Form(form): Form<CommitForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ImportCensus)?;
    let q = UploadQuery { round: form.round, compound: form.compound, source: form.source, scope: form.scope };
    let accept = form.accept_valid.is_some();
    let (_, outcome) = dry_run(&state, &auth, &token, &q, accept, false).await?;
    let outcome = outcome.map_err(|e| import_error(e, lang))?;
    match outcome.summary.round_id {
        Some(id) => {
            state.store().delete_upload(&token).await?;
            Ok(Redirect::to(&format!("/census/rounds/{id}")).into_response())
        }
        None => Ok(Redirect::to(&format!("/census/uploads/{token}?{}", query_string(&q))).into_response()),
    }
}

async fn get_round_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RevealParam>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewCensus)?;
    state.store().get_round(id).await?;
    let who =
        privacy::disclosure(&state, &auth, q.revealed(), "census.reveal", "census_round", Some(id.to_string())).await?;
    let mut issues = state.store().round_issues(id).await?;
    disclose_issues(&mut issues, who);
    Ok(xlsx(&format!("census-round-{id}-report.xlsx"), report_xlsx(&issues).map_err(write_failed)?))
}

async fn get_reconcile_export(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RevealParam>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewCensus)?;
    let rec = state.store().reconcile(id).await?;
    let who =
        privacy::disclosure(&state, &auth, q.revealed(), "census.reveal", "census_round", Some(id.to_string())).await?;
    let rec = disclose_reconciliation(rec, who);
    Ok(xlsx(&format!("census-round-{id}-reconcile.xlsx"), reconcile_xlsx(&rec, lang).map_err(write_failed)?))
}

/// Base numbers (底数) per building, compound and district.
async fn get_base(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    auth.require(Perm::ViewCensus)?;
    let (elderly, infant) = age_cutoffs(&state);
    let base = state.store().base_numbers(&elderly, &infant).await?;
    let need_codes: Vec<&str> = frontline_domain::people::SpecialNeed::ALL.iter().map(|n| n.code()).collect();
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/census/base", "nav.census"),
        ..context! { base => base, need_codes => need_codes }
    };
    page("census_base.html", ctx)
}

async fn get_base_export(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewCensus)?;
    let (elderly, infant) = age_cutoffs(&state);
    let base = state.store().base_numbers(&elderly, &infant).await?;
    let offset = state.config().rules.utc_offset_minutes;
    let day = |ms: i64| frontline_domain::date::Date::from_unix_ms(ms, offset).to_string();
    Ok(xlsx("base-numbers.xlsx", base_xlsx(&base, lang, day).map_err(write_failed)?))
}

/// Likely duplicates and merges.
async fn list_reviews(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    reviews_page(&state, &auth, lang, None).await
}

/// Which review decision was refused, and why: the message is shown beside
/// that pair (`Review`) or that merge (`Merge`).
enum Refused {
    Review(i64, FormErrors),
    Merge(i64, FormErrors),
}

/// The reviews page; with `refused`, the message of a refused decision beside its row.
async fn reviews_page(
    state: &AppState,
    auth: &Auth,
    lang: frontline_domain::i18n::Lang,
    refused: Option<Refused>,
) -> Result<Response, AppError> {
    let state = state.clone();
    auth.require(Perm::ViewCensus)?;
    let reviews = state.store().list_reviews(None).await?;
    let brief = |x: Option<frontline_store::residents::Resident>| {
        x.map(|x| context! { id => x.id, name => x.name, id_number => x.id_number.map(|n| crate::views::mask_document(&x.doc_kind, &n)), address => x.address.map(|a| format!("{} {} {}", a.building, a.unit, a.room)) })
    };
    let mut pairs = Vec::new();
    for r in reviews.iter().take(200) {
        let a = state.store().get_resident(r.resident_a).await.ok();
        let b = state.store().get_resident(r.resident_b).await.ok();
        pairs.push(context! { review => r, a => brief(a), b => brief(b) });
    }
    let mut conflicts = Vec::new();
    for c in state.store().list_conflicts(None).await?.into_iter().take(200) {
        let holder = match c.resident_id {
            Some(id) => state.store().get_resident(id).await.ok(),
            None => None,
        };
        conflicts.push(context! { conflict => c, holder => brief(holder) });
    }
    let merges = state.store().list_merges().await?;
    let (failed_review, failed_merge, errors) = match refused {
        None => (None, None, None),
        Some(Refused::Review(id, e)) => (Some(id), None, Some(e)),
        Some(Refused::Merge(id, e)) => (None, Some(id), Some(e)),
    };
    let status = errors.as_ref().map(FormErrors::status);
    let ctx = context! {
        ..page_ctx(&state, auth, lang, "/census/reviews", "nav.census"),
        ..context! { pairs => pairs, conflicts => conflicts, merges => merges, can_review => auth.can(Perm::ReviewCensus),
            failed_review => failed_review, failed_merge => failed_merge, form_errors => errors }
    };
    let mut res = page("census_reviews.html", ctx)?;
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    Ok(res)
}

/// After a review decision: back to the list, or the list with the refusal beside the row.
async fn decided(
    state: &AppState,
    auth: &Auth,
    lang: frontline_domain::i18n::Lang,
    outcome: Result<(), AppError>,
    refused: impl FnOnce(FormErrors) -> Refused,
) -> Result<Response, AppError> {
    match outcome {
        Ok(()) => Ok(Redirect::to("/census/reviews").into_response()),
        Err(e) => {
            let errors = FormErrors::of(lang, e, &[("review", "census.ui.pair")])?;
            reviews_page(state, auth, lang, Some(refused(errors))).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct MergeForm {
    csrf: String,
    keep: i64,
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn create_merge(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<MergeForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ReviewCensus)?;
    let outcome = state.store().merge_review(&auth.actor(), id, f.keep).await.map(drop).map_err(AppError::from);
    decided(&state, &auth, lang, outcome, |e| Refused::Review(id, e)).await
}

async fn create_keep_apart(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ReviewCensus)?;
    let outcome = state.store().keep_apart(&auth.actor(), id).await.map(drop).map_err(AppError::from);
    decided(&state, &auth, lang, outcome, |e| Refused::Review(id, e)).await
}

/// Marks a conflicting row as checked.
async fn create_resolve(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ReviewCensus)?;
    state.store().resolve_conflict(&auth.actor(), id).await?;
    Ok(Redirect::to("/census/reviews#conflicts").into_response())
}

async fn create_undo(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ReviewCensus)?;
    let outcome = state.store().undo_merge(&auth.actor(), id).await.map(drop).map_err(AppError::from);
    decided(&state, &auth, lang, outcome, |e| Refused::Merge(id, e)).await
}

/// `?reveal=1` on an export: unmasked, for roles that may reveal, audited.
#[derive(Debug, Deserialize)]
struct RevealParam {
    reveal: Option<String>,
}

impl RevealParam {
    fn revealed(&self) -> bool {
        matches!(self.reveal.as_deref(), Some("1" | "true"))
    }
}
