//! Sampling pages: the sampler's phone page (scan a tube, then its members,
//! with who is still missing on each floor), the printable missed list
//! (补采名单) and the lab's pages; rounds themselves are in [`rounds`].

mod missed;
mod rounds;
mod scan;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::i18n::Lang;
use frontline_domain::sampling::RetestResult;
use minijinja::context;
use serde::Deserialize;

use super::{page, page_ctx};
use crate::auth::Auth;
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sampling/rounds/{id}/scan", get(scan::get_scan_page).post(scan::create_scan))
        .route("/sampling/rounds/{id}/seal", axum::routing::post(scan::create_seal))
        .route("/sampling/rounds/{id}/missed", get(missed::list_missed).post(missed::create_missed_reason))
        .route("/sampling/rounds/{id}/missed.xlsx", get(missed::get_missed_export))
        .route("/sampling/results", get(get_results_page))
        .route("/sampling/retests", axum::routing::post(create_retest))
        .merge(rounds::router())
}

/// The lab's page: upload a result sheet.
async fn get_results_page(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
) -> Result<Response, AppError> {
    auth.require(Perm::LabResults)?;
    results_page(&state, &auth, lang, None, None).await
}

/// The lab's page, with what the last sheet or retest did.
async fn results_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    outcome: Option<minijinja::Value>,
    retest: Option<minijinja::Value>,
) -> Result<Response, AppError> {
    let rounds: Vec<_> =
        state.store().list_sampling_rounds().await?.into_iter().filter(|r| r.status == "open").collect();
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/sampling/results", "nav.lab"),
        ..context! { outcome => outcome, retest => retest, rounds => rounds, retest_results => RetestResult::ALL.iter().map(|r| r.code()).collect::<Vec<_>>(),
            can_correct => auth.can(Perm::CorrectLabResults) }
    };
    page("sampling_results.html", ctx)
}

#[derive(Deserialize)]
struct RetestForm {
    csrf: String,
    round: i64,
    code: String,
    result: String,
}

/// A single-tube retest's result, typed in by the lab: negative releases the
/// person, positive confirms a case, invalid keeps the retest due.
async fn create_retest(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    Form(f): Form<RetestForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::LabResults)?;
    let status = crate::api::lab::record_retest_result(&state, &auth, f.round, &f.code, &f.result).await?;
    let name = super::lab::retest_person(&state, &auth, &f.code).await?;
    let retest = context! { status => status, code => f.code.trim(), round => f.round, name => name };
    results_page(&state, &auth, lang, None, Some(retest)).await
}

/// Receives a lab's result sheet from the upload form.
async fn create_results_upload(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    mut form: axum::extract::Multipart,
) -> Result<Response, AppError> {
    auth.require(Perm::LabResults)?;
    let mut csrf = String::new();
    let mut file: Option<(String, axum::body::Bytes)> = None;
    while let Some(field) = form.next_field().await.map_err(|e| AppError::BadRequest { detail: e.body_text() })? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| AppError::BadRequest { detail: e.body_text() })?,
            Some("file") => {
                let name = field.file_name().unwrap_or("results.csv").to_string();
                file = Some((name, field.bytes().await.map_err(|e| AppError::BadRequest { detail: e.body_text() })?));
            }
            _ => {}
        }
    }
    auth.check_csrf(&csrf)?;
    let (name, bytes) = file.ok_or_else(|| AppError::field("file", "required"))?;
    let outcome = crate::api::lab::import_lab_sheet(&state, &auth, bytes, &name).await?;
    results_page(&state, &auth, lang, Some(minijinja::Value::from_serialize(&outcome)), None).await
}

/// The lab's upload route, under the larger body limit.
pub(super) fn upload_router() -> Router<AppState> {
    Router::new().route("/sampling/results", axum::routing::post(create_results_upload))
}
