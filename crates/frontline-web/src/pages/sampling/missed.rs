//! The missed list (补采名单): by building and floor, printable and as XLSX,
//! with the household's phone (masked) for the staff who may see phones, and
//! the sweep's form to note why someone was not sampled.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use frontline_domain::access::Perm;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::privacy::{Disclosure, ResidentField};
use frontline_domain::sampling::MissReason;
use minijinja::context;
use serde::Deserialize;

use super::super::{page, page_ctx, write_failed, xlsx};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::sampling::MissedQuery;
use crate::auth::Auth;
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::AppState;

/// The missed list (补采名单), by building and floor, printable.
pub(super) async fn list_missed(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MissedQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    missed_page(&state, &auth, lang, id, q.filter(), None).await
}

/// The missed list's page; `refused` is a row whose reason was not noted, and why.
async fn missed_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    id: i64,
    filter: frontline_store::sampling::MissedFilter,
    refused: Option<(i64, String)>,
) -> Result<Response, AppError> {
    let round = state.store().get_sampling_round(id).await?;
    let missed = crate::privacy::missed_list(state, auth, id, filter.clone()).await?;
    // One section per building, in list order, with its team.
    let buildings: Vec<minijinja::Value> = {
        let mut seen = HashSet::new();
        missed
            .iter()
            .filter(|m| seen.insert(m.building_id))
            .map(|m| context! { id => m.building_id, name => format!("{} {}", m.compound, m.building), team => m.team })
            .collect()
    };
    let teams: Vec<String> = {
        let mut t: Vec<String> = round.teams.iter().filter_map(|t| t.team.clone()).collect();
        t.sort();
        t.dedup();
        t
    };
    let query = missed_query(&filter);
    // The sweep notes reasons on one building's or one team's part of the list
    // (the district's whole list would carry a form per person).
    let can_note = auth.can(Perm::Scan) && (filter.building.is_some() || filter.team.is_some());
    let reasons: Vec<&str> =
        MissReason::ALL.iter().filter(|r| **r != MissReason::TubeInvalid).map(|r| r.code()).collect();
    let (refused, refusal) = refused.unzip();
    let ctx = context! {
        ..page_ctx(state, auth, lang, &format!("/sampling/rounds/{id}/missed"), "nav.sampling"),
        ..context! {
            round => round, missed => missed, buildings => buildings, teams => teams, team => filter.team,
            building => filter.building, query => query, can_note => can_note, reasons => reasons,
            show_phone => Disclosure::masked(auth.user.role).shows(ResidentField::Phone),
            refused => refused, refusal => refusal,
        }
    };
    let mut res = page("sampling_missed.html", ctx)?;
    if refused.is_some() {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The missed list's filter as a query string (`?team=…` or `?building=…`, or nothing).
fn missed_query(filter: &frontline_store::sampling::MissedFilter) -> String {
    match (&filter.team, filter.building) {
        (Some(t), _) => format!("?team={}", crate::error::percent_encode(t)),
        (None, Some(b)) => format!("?building={b}"),
        (None, None) => String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct MissedReasonForm {
    csrf: String,
    resident: i64,
    /// Absent until the sweep chooses one: nothing is chosen for them.
    reason: Option<String>,
    team: Option<String>,
    building: Option<i64>,
}

/// The sweep notes why someone on the list was not sampled; back to the same part of the list.
pub(super) async fn create_missed_reason(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<MissedReasonForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::Scan)?;
    state.store().get_sampling_round(id).await?;
    let filter =
        frontline_store::sampling::MissedFilter { building: f.building, team: f.team.filter(|t| !t.trim().is_empty()) };
    // Nothing chosen (a stray tap on the button): the list again, the row
    // saying what is missing, and nothing written.
    let Some(chosen) = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
        let why = catalogue().text(lang, "sampling.error.missed.reason_required").to_string();
        return missed_page(&state, &auth, lang, id, filter, Some((f.resident, why))).await;
    };
    let reason = MissReason::from_code(chosen).ok_or_else(|| AppError::field("reason", "unknown"))?;
    crate::api::sampling::note_missed_reason(&state, &auth, id, f.resident, reason).await?;
    let query = missed_query(&filter);
    Ok(Redirect::to(&format!("/sampling/rounds/{id}/missed{query}#r{}", f.resident)).into_response())
}

/// The missed list as XLSX, by building, unit and room.
pub(super) async fn get_missed_export(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MissedQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    state.store().get_sampling_round(id).await?;
    let missed = crate::privacy::missed_list(&state, &auth, id, q.filter()).await?;
    let cat = frontline_domain::i18n::catalogue();
    let mut header = [
        "sampling.ui.team",
        "buildings.compound",
        "buildings.building",
        "building.unit",
        "building.floor",
        "building.room",
        "residents.name",
        "sampling.ui.miss_reason",
    ]
    .map(|k| cat.text(lang, k).to_string())
    .to_vec();
    // The phone column, masked, for the readers whose view has phones (as on the page).
    let show_phone = Disclosure::masked(auth.user.role).shows(ResidentField::Phone);
    if show_phone {
        header.push(cat.text(lang, "sampling.ui.phone").to_string());
    }
    let rows = missed
        .into_iter()
        .map(|m| {
            let floor = m.floor.map(|f| f.to_string()).unwrap_or_default();
            let reason =
                m.reason.map(|r| cat.text(lang, &format!("sampling.miss_reason.{r}")).to_string()).unwrap_or_default();
            let mut row =
                vec![m.team.unwrap_or_default(), m.compound, m.building, m.unit, floor, m.room, m.name, reason];
            if show_phone {
                row.push(m.phone.unwrap_or_default());
            }
            row.into_iter().map(frontline_import::Cell::Text).collect()
        })
        .collect();
    let bytes = frontline_import::write_xlsx(&[frontline_import::SheetOut {
        name: cat.text(lang, "sampling.ui.missed_list").to_string(),
        header,
        rows,
    }])
    .map_err(write_failed)?;
    Ok(xlsx(&format!("missed-round-{id}.xlsx"), bytes))
}
