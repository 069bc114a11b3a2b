//! Buildings, households and zone levels.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::places::ZoneLevel;
use frontline_store::now_ms;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope, FieldError};
use crate::views::{BuildingList, BuildingView, HouseholdList, HouseholdView, ZoneDecisionView};
use crate::AppState;

/// Filters of the building list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BuildingQuery {
    /// Only buildings of this compound.
    pub compound: Option<i64>,
    /// Rows per page (1–500).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub after: Option<String>,
}

/// Lists buildings with their household and resident counts and zone level.
#[utoipa::path(get, path = "/api/v1/buildings", tag = "places", params(BuildingQuery),
    responses((status = 200, body = BuildingList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_buildings(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<BuildingQuery>,
) -> Result<Json<BuildingList>, AppError> {
    auth.require(Perm::ViewPlaces)?;
    let (limit, after) = PageQuery { limit: q.limit, after: q.after }.parse()?;
    let page = state.store().list_buildings(q.compound, after, limit).await?;
    Ok(Json(BuildingList::from_page(page)))
}

/// One building.
#[utoipa::path(get, path = "/api/v1/buildings/{id}", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, body = BuildingView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_building(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BuildingView>, AppError> {
    auth.require(Perm::ViewPlaces)?;
    Ok(Json(state.store().get_building(id).await?.summary.into()))
}

/// Every zone-level decision of a building, newest first.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/zones", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ZoneDecisionView>), (status = 404, body = ErrorEnvelope)))]
pub async fn list_zone_decisions(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ZoneDecisionView>>, AppError> {
    auth.require(Perm::ViewPlaces)?;
    state.store().get_building(id).await?;
    let history = state.store().zone_history(id).await?;
    Ok(Json(history.into_iter().map(Into::into).collect()))
}

/// A zone-level decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZoneRequest {
    /// `sealed`, `controlled` or `precaution`.
    #[schema(value_type = String)]
    pub level: Option<String>,
    /// Why (required: every decision records its reason).
    #[schema(value_type = String)]
    pub reason: Option<String>,
    /// From when (unix ms); now when absent.
    pub effective_from: Option<i64>,
}

/// Parses a zone request into its level, reason and start.
pub fn parse_zone(req: ZoneRequest) -> Result<(ZoneLevel, String, i64), AppError> {
    let mut errors = vec![];
    let level = match req.level.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("level", "required"));
            None
        }
        Some(l) => ZoneLevel::from_code(l).or_else(|| {
            errors.push(FieldError::new("level", "unknown"));
            None
        }),
    };
    let reason = req.reason.as_deref().map(str::trim).unwrap_or("").to_string();
    if reason.is_empty() {
        errors.push(FieldError::new("reason", "required"));
    } else if reason.chars().count() > 500 {
        errors.push(FieldError::new("reason", "too_long"));
    }
    match level {
        Some(level) if errors.is_empty() => Ok((level, reason, req.effective_from.unwrap_or_else(now_ms))),
        _ => Err(AppError::Invalid(errors)),
    }
}

/// Records a zone-level decision for a building; earlier decisions stay in the history.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/zones", tag = "places", params(("id" = i64, Path)),
    request_body = ZoneRequest,
    responses((status = 201, body = ZoneDecisionView), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_zone_decision(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ZoneRequest>,
) -> Result<(StatusCode, Json<ZoneDecisionView>), AppError> {
    auth.require(Perm::EditPlaces)?;
    state.store().get_building(id).await?;
    let (level, reason, from) = parse_zone(req)?;
    let decision = state.store().set_zone(&auth.actor(), id, level, from, &reason).await?;
    Ok((StatusCode::CREATED, Json(decision.into())))
}

/// Filters of the household list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Only households of this building.
    pub building: Option<i64>,
    /// Rows per page (1–500).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub after: Option<String>,
}

/// Lists households.
#[utoipa::path(get, path = "/api/v1/households", tag = "places", params(HouseholdQuery),
    responses((status = 200, body = HouseholdList), (status = 403, body = ErrorEnvelope)))]
pub async fn list_households(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<HouseholdQuery>,
) -> Result<Json<HouseholdList>, AppError> {
    auth.require(Perm::ViewPlaces)?;
    let (limit, after) = PageQuery { limit: q.limit, after: q.after }.parse()?;
    let page = state.store().list_households(q.building, after, limit).await?;
    Ok(Json(HouseholdList::from_page(page)))
}

/// One household.
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, body = HouseholdView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_household(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HouseholdView>, AppError> {
    auth.require(Perm::ViewPlaces)?;
    Ok(Json(state.store().get_household(id).await?.into()))
}
