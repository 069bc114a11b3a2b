//! A census round's page: its reconciliation with the rounds before, its
//! changes filtered by kind and building, a page of 50 at a time, and the
//! confirmation that takes the people who left out of the base numbers —
//! with each departed person's state, and a way back.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::privacy::Disclosure;
use minijinja::context;
use serde::Deserialize;

use super::super::{page, page_ctx};
use crate::api::census::{confirm_error, departure_state};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::auth::Auth;
use crate::census::disclose_reconciliation;
use crate::error::{percent_encode, AppError};
use crate::i18n::ReqLang;
use crate::AppState;

/// Changes per page.
const PER_PAGE: usize = 50;

/// The kinds of change, in the order the filter offers them.
const KINDS: [&str; 6] = ["gone", "to_check", "unresolved", "new", "moved", "phone_changed"];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/census/rounds/{id}", get(get_round))
        .route("/census/rounds/{id}/confirm", post(create_confirmation))
        .route("/census/residents/{id}/departure", post(update_departure))
        .route("/census/residents/{id}/restore", post(create_restore))
}

#[derive(Debug, Deserialize)]
struct RoundQuery {
    kind: Option<String>,
    building: Option<String>,
    page: Option<usize>,
}

/// A round: its counts, its reconciliation, and its changes, filtered and paged.
async fn get_round(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RoundQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewCensus)?;
    let rec = disclose_reconciliation(state.store().reconcile(id).await?, Disclosure::masked(auth.user.role));
    let kind = q.kind.filter(|k| KINDS.contains(&k.as_str()));
    let building = q.building.filter(|b| rec.buildings.iter().any(|x| &x.building == b));
    let matching: Vec<_> = rec
        .people
        .iter()
        .filter(|p| kind.as_deref().is_none_or(|k| p.change == k))
        .filter(|p| building.as_deref().is_none_or(|b| p.building == b))
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let current = q.page.unwrap_or(1).clamp(1, pages);
    let people: Vec<_> = matching.into_iter().skip((current - 1) * PER_PAGE).take(PER_PAGE).collect();
    let mut filter = String::new();
    if let Some(k) = &kind {
        filter.push_str(&format!("&kind={}", percent_encode(k)));
    }
    if let Some(b) = &building {
        filter.push_str(&format!("&building={}", percent_encode(b)));
    }
    let kinds: Vec<_> = KINDS
        .iter()
        .map(|k| {
            let t = &rec.totals;
            let n = match *k {
                "gone" => t.gone,
                "to_check" => t.to_check,
                "unresolved" => t.unresolved,
                "new" => t.new,
                "moved" => t.moved,
                _ => t.phone_changed,
            };
            context! { code => k, n => n }
        })
        .collect();
    let confirmed = rec.round.confirmed_at.is_some();
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/census/rounds/{id}"), "nav.census"),
        ..context! {
            rec => rec, people => people, total => total, kinds => kinds, kind => kind, building => building,
            page => current, pages => pages, filter => filter, confirmed => confirmed,
            states => frontline_domain::census::DEPARTURE_STATES,
            can_reveal => auth.can(Perm::RevealPersonalData), can_confirm => auth.can(Perm::ImportCensus),
            can_review => auth.can(Perm::ReviewCensus),
        }
    };
    page("census_round.html", ctx)
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

/// Confirms the round: the people it reports gone leave the base numbers.
async fn create_confirmation(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ImportCensus)?;
    state.store().confirm_round(&auth.actor(), id).await.map_err(confirm_error)?;
    Ok(Redirect::to(&format!("/census/rounds/{id}?kind=gone")).into_response())
}

#[derive(Debug, Deserialize)]
struct DepartureForm {
    csrf: String,
    round: i64,
    state: Option<String>,
}

/// Changes why a person left, back to the round's list of the gone.
async fn update_departure(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<DepartureForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ReviewCensus)?;
    let code = departure_state(f.state.as_deref())?;
    state.store().set_departure_state(&auth.actor(), id, code).await?;
    Ok(Redirect::to(&format!("/census/rounds/{}?kind=gone", f.round)).into_response())
}

#[derive(Debug, Deserialize)]
struct RestoreForm {
    csrf: String,
    /// The round page the form was on; without it, back to the resident's page.
    round: Option<i64>,
}

/// Brings a person who left back into their household.
async fn create_restore(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<RestoreForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ReviewCensus)?;
    state.store().restore_resident(&auth.actor(), id).await?;
    let back = match f.round {
        Some(round) => format!("/census/rounds/{round}?kind=gone"),
        None => format!("/residents/{id}"),
    };
    Ok(Redirect::to(&back).into_response())
}
