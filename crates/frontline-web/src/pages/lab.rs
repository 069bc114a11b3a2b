//! The lab's pages: tubes awaiting a result (with one tube's result entered
//! by hand), corrections of results recorded in error and the people they
//! moved, the person named in a retest's confirmation, and the confirmed-case
//! alert shown on the overview, building and resident pages.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::i18n::Lang;
use frontline_domain::privacy::{Disclosure, Reach, ResidentField};
use frontline_domain::sampling::LabResult;
use frontline_store::residents::Resident;
use minijinja::context;
use serde::Deserialize;

use super::{page, page_ctx};
use crate::api::extract::ApiQuery;
use crate::api::lab_tubes::{self, TubesQuery};
use crate::auth::Auth;
use crate::error::{AppError, FieldError};
use crate::i18n::ReqLang;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/lab/tubes", get(list_tubes).post(create_result))
        .route("/lab/corrections", get(list_corrections).post(create_correction))
}

/// The form errors of a failed submission, as the page shows them: the
/// field's name (`field`) and the message's catalogue key (`key`).
fn form_errors(e: AppError) -> Result<Vec<minijinja::Value>, AppError> {
    match e {
        AppError::Invalid(errors) => {
            Ok(errors.into_iter().map(|f: FieldError| context! { field => f.field, key => f.key }).collect())
        }
        other => Err(other),
    }
}

fn result_codes() -> Vec<&'static str> {
    LabResult::ALL.iter().map(|r| r.code()).collect()
}

/// The tubes page, with the hand-entry form's input, errors and outcome.
async fn tubes_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    q: &TubesQuery,
    entry: minijinja::Value,
) -> Result<Response, AppError> {
    let tubes = lab_tubes::awaiting_tubes(state, q).await?;
    let rounds = state.store().list_sampling_rounds().await?;
    let mut query = Vec::new();
    if let Some(r) = q.round {
        query.push(format!("round={r}"));
    }
    if q.overdue_only() {
        query.push("overdue=1".to_string());
    }
    if let Some(l) = q.limit {
        query.push(format!("limit={l}"));
    }
    if let Some(c) = q.code.as_deref().filter(|c| !c.is_empty()) {
        query.push(format!("code={}", percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)));
    }
    let rules = &state.config().rules.sampling;
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/lab/tubes", "nav.lab"),
        ..context! {
            tubes => tubes, rounds => rounds, round => q.round, overdue => q.overdue_only(),
            code => q.code.clone().unwrap_or_default(), query => query.join("&"), entry => entry,
            results => result_codes(), single_hours => rules.result_due_hours(1), pooled_hours => rules.result_due_hours(2),
            can_correct => auth.can(Perm::CorrectLabResults),
        }
    };
    page("lab_tubes.html", ctx)
}

/// Tubes awaiting a result, oldest first, overdue ones flagged; filterable and paged.
async fn list_tubes(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<TubesQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::LabResults)?;
    let entry = context! { tube => "", result => "", errors => Vec::<minijinja::Value>::new(), done => () };
    tubes_page(&state, &auth, lang, &q, entry).await
}

#[derive(Deserialize)]
struct EntryForm {
    csrf: String,
    tube: String,
    #[serde(default)]
    result: String,
}

/// One tube's result typed in by hand; on an error the form comes back with
/// what was typed and the message beside the field.
async fn create_result(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    Form(f): Form<EntryForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::LabResults)?;
    let entry = match lab_tubes::record_one_result(&state, &auth, &f.tube, &f.result).await {
        Ok((status, result)) => {
            let done = context! { tube => f.tube.trim().to_uppercase(), result => result.code(), status => status };
            context! { tube => "", result => "", errors => Vec::<minijinja::Value>::new(), done => done }
        }
        Err(e) => context! { tube => f.tube, result => f.result, errors => form_errors(e)?, done => () },
    };
    let res = tubes_page(&state, &auth, lang, &TubesQuery::default(), entry).await?;
    Ok(res)
}

/// The corrections page: the list the sampling group works from, and for
/// the lab's lead and command the form to correct a result.
async fn corrections_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    form: minijinja::Value,
    done: Option<lab_tubes::CorrectionView>,
    round: Option<i64>,
) -> Result<Response, AppError> {
    let list = lab_tubes::corrections(state, auth, round).await?;
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/lab/corrections", if auth.can(Perm::LabResults) { "nav.lab" } else { "nav.sampling" }),
        ..context! {
            corrections => list, form => form, done => done, results => result_codes(),
            can_correct => auth.can(Perm::CorrectLabResults),
        }
    };
    page("lab_corrections.html", ctx)
}

#[derive(Deserialize, Default)]
struct CorrectionsQuery {
    tube: Option<String>,
    round: Option<i64>,
}

/// Corrections, newest first, with the people each moved.
async fn list_corrections(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<CorrectionsQuery>,
) -> Result<Response, AppError> {
    let form = context! { tube => q.tube.unwrap_or_default(), result => "", reason => "", errors => Vec::<minijinja::Value>::new() };
    corrections_page(&state, &auth, lang, form, None, q.round).await
}

#[derive(Deserialize)]
struct CorrectionForm {
    csrf: String,
    tube: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    reason: String,
}

/// Corrects a result; on an error the form keeps what was typed.
async fn create_correction(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    Form(f): Form<CorrectionForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::CorrectLabResults)?;
    match lab_tubes::correct_result(&state, &auth, &f.tube, &f.result, &f.reason).await {
        Ok(done) => {
            let form = context! { tube => "", result => "", reason => "", errors => Vec::<minijinja::Value>::new() };
            corrections_page(&state, &auth, lang, form, Some(done), None).await
        }
        Err(e) => {
            let errors = match e {
                AppError::NotFound => vec![context! { field => "tube", key => "lab.error.unknown_tube" }],
                other => form_errors(other)?,
            };
            let form = context! { tube => f.tube, result => f.result, reason => f.reason, errors => errors };
            corrections_page(&state, &auth, lang, form, None, None).await
        }
    }
}

/// The name of the person a retest's code belongs to, as the reader may see
/// it (masked for the lab), for the confirmation after their result.
pub(super) async fn retest_person(state: &AppState, auth: &Auth, code: &str) -> Result<Option<String>, AppError> {
    Ok(lab_tubes::person_names(state, auth, &[code]).await?.pop().flatten())
}

/// Whether `auth`'s role is told about confirmed cases: command, group leads
/// and staff everywhere, volunteers in their team's buildings; not the
/// checkpoint, nor the lab (it reported them).
fn told_of_positives(auth: &Auth) -> bool {
    auth.can(Perm::ViewSampling)
}

/// The confirmed cases `auth` is told about, within `building` or for
/// `resident` when given: each with the name (as the reader sees it), the
/// address, building and round.
pub(super) async fn positive_alerts(
    state: &AppState,
    auth: &Auth,
    building: Option<i64>,
    resident: Option<i64>,
) -> Result<Vec<minijinja::Value>, AppError> {
    if !told_of_positives(auth) {
        return Ok(vec![]);
    }
    let within = match auth.user.role.reach() {
        Reach::District => None,
        _ => Some(crate::privacy::reach(state, auth).await?.unwrap_or_default()),
    };
    let cases: Vec<_> = state
        .store()
        .confirmed_positives()
        .await?
        .into_iter()
        .filter(|p| building.is_none_or(|b| p.building == Some(b)))
        .filter(|p| resident.is_none_or(|r| p.resident == r))
        .filter(|p| within.as_ref().is_none_or(|w| p.building.is_some_and(|b| w.contains(&b))))
        .collect();
    let ids: Vec<i64> = cases.iter().map(|p| p.resident).collect();
    let people: HashMap<i64, Resident> =
        state.store().get_residents(&ids).await?.into_iter().map(|r| (r.id, r)).collect();
    let who = Disclosure::masked(auth.user.role);
    Ok(cases
        .into_iter()
        .filter_map(|p| {
            let r = people.get(&p.resident)?;
            let address = who
                .shows(ResidentField::Address)
                .then(|| r.address.as_ref().map(|a| format!("{} {} {} {}", a.compound, a.building, a.unit, a.room)))
                .flatten();
            Some(context! {
                resident => p.resident, name => who.person_name(&r.name), address => address,
                building => p.building, round => p.round, round_name => p.round_name,
            })
        })
        .collect())
}
