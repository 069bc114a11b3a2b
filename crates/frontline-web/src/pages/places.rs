//! Pages for places: the buildings list, a building's units,
//! households and residents, and its zone level.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::places::ZoneLevel;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery, PageQuery};
use crate::api::places::{parse_zone, ZoneRequest};
use crate::auth::Auth;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::i18n::ReqLang;
use crate::views::{today, BuildingView, ResidentView, ZoneDecisionView};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/buildings", get(list_buildings))
        .route("/buildings/{id}", get(get_building))
        .route("/buildings/{id}/zone", post(create_zone_decision))
}

/// The buildings with their counts and zone levels.
async fn list_buildings(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewPlaces)?;
    let (_, after) = q.parse()?;
    let p = state.store().list_buildings(None, after, 200).await?;
    let buildings: Vec<BuildingView> = p.items.into_iter().map(Into::into).collect();
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/buildings", "nav.buildings"),
        ..context! { buildings => buildings, next => p.next }
    };
    page("buildings.html", ctx)
}

#[derive(Serialize)]
struct HouseholdBlock {
    room: String,
    people: Vec<ResidentView>,
}

#[derive(Serialize)]
struct UnitBlock {
    name: String,
    households: Vec<HouseholdBlock>,
}

/// A building: units → households → residents (masked), and its zone history.
async fn get_building(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    building_page(&state, &auth, lang, id, None).await
}

/// The zone form as the person filled it in, and what was wrong with it.
struct ZoneFailure {
    level: String,
    reason: String,
    errors: FormErrors,
}

/// The building page; with `failed`, its zone form shown again with the
/// input kept and the messages beside the fields.
async fn building_page(
    state: &AppState,
    auth: &Auth,
    lang: frontline_domain::i18n::Lang,
    id: i64,
    failed: Option<ZoneFailure>,
) -> Result<Response, AppError> {
    let state = state.clone();
    auth.require(Perm::ViewPlaces)?;
    let building = state.store().get_building(id).await?;
    // A fixed number of queries whatever the building's size.
    let units = state.store().list_units(id).await?;
    let households = state.store().building_households(id).await?;
    // Residents only for readers whose work reaches the building.
    let reaches = auth.can(Perm::ViewResidents) && crate::privacy::require_reach(&state, auth, Some(id)).await.is_ok();
    let residents = if reaches { state.store().building_residents(id).await? } else { vec![] };
    let who = frontline_domain::privacy::Disclosure::masked(auth.user.role);
    let zones = state.store().zone_history(id).await?;
    let rules = &state.config().rules;
    let day = today(rules);
    let mut by_household: HashMap<i64, Vec<ResidentView>> = HashMap::new();
    for r in residents {
        if let Some(h) = r.household_id {
            by_household.entry(h).or_default().push(ResidentView::new(r, who, state.code_key(), rules, day));
        }
    }
    let blocks: Vec<UnitBlock> = units
        .iter()
        .map(|u| UnitBlock {
            name: u.name.clone(),
            households: households
                .iter()
                .filter(|h| h.unit_id == u.id)
                .map(|h| HouseholdBlock {
                    room: h.room.clone(),
                    people: by_household.remove(&h.id).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let zones: Vec<ZoneDecisionView> = zones.into_iter().map(Into::into).collect();
    let positives = super::lab::positive_alerts(&state, auth, Some(id), None).await?;
    let status = failed.as_ref().map(|f| f.errors.status());
    let ctx = context! {
        ..page_ctx(&state, auth, lang, &format!("/buildings/{id}"), "nav.buildings"),
        ..context! {
            building => BuildingView::from(building.summary),
            units => blocks,
            zones => zones,
            can_edit_zone => auth.can(Perm::EditPlaces),
            zone_levels => ZoneLevel::ALL.iter().map(|z| z.code()).collect::<Vec<_>>(),
            positives => positives,
            zone_form => context! {
                level => failed.as_ref().map(|f| f.level.clone()),
                reason => failed.as_ref().map_or_else(String::new, |f| f.reason.clone()),
            },
            form_errors => failed.map(|f| f.errors),
        }
    };
    let mut res = page("building.html", ctx)?;
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
struct ZoneForm {
    csrf: String,
    level: Option<String>,
    reason: Option<String>,
}

/// Records a zone-level decision from the building page; a wrong input shows
/// the page again with the form as filled in.
async fn create_zone_decision(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<ZoneForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::EditPlaces)?;
    state.store().get_building(id).await?;
    let kept = (form.level.clone().unwrap_or_default(), form.reason.clone().unwrap_or_default());
    let written = async {
        let (level, reason, from) =
            parse_zone(ZoneRequest { level: form.level, reason: form.reason, effective_from: None })?;
        state.store().set_zone(&auth.actor(), id, level, from, &reason).await?;
        Ok::<_, AppError>(())
    }
    .await;
    match written {
        Ok(()) => Ok(axum::response::IntoResponse::into_response(Redirect::to(&format!("/buildings/{id}")))),
        Err(e) => {
            let errors = FormErrors::of(lang, e, &[("level", "building.zone_set"), ("reason", "building.reason")])?;
            let failed = ZoneFailure { level: kept.0, reason: kept.1, errors };
            building_page(&state, &auth, lang, id, Some(failed)).await
        }
    }
}
