//! The JSON API under `/api/v1`. Every route is registered here through
//! utoipa-axum, so the OpenAPI document at `/api/v1/openapi.json` lists
//! exactly the routes the router serves.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod census;
pub mod extract;
pub mod groups;
pub mod lab;
pub mod lab_tubes;
pub mod places;
pub mod residents;
pub mod sampling;
pub mod schemas;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppError;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Frontline API", description = "Front-line command of an area under lockdown (前线指挥)."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(crate::error::ErrorEnvelope))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API route, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(get_openapi))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::get_me))
        .routes(routes!(places::list_buildings))
        .routes(routes!(places::get_building))
        .routes(routes!(places::list_zone_decisions, places::create_zone_decision))
        .routes(routes!(places::list_households))
        .routes(routes!(places::get_household))
        .routes(routes!(residents::list_residents, residents::create_resident))
        .routes(routes!(residents::get_resident, residents::update_resident))
        .routes(routes!(audit::list_audit))
        .routes(routes!(accounts::list_groups, accounts::create_group))
        .routes(routes!(accounts::update_group))
        .routes(routes!(groups::list_members))
        .routes(routes!(groups::add_member, groups::remove_member))
        .routes(routes!(groups::set_leader))
        .routes(routes!(accounts::list_users, accounts::create_user))
        .routes(routes!(accounts::set_team))
        .routes(routes!(census::list_rounds))
        .routes(routes!(census::get_round))
        .routes(routes!(census::get_reconciliation))
        .routes(routes!(census::confirm_round))
        .routes(routes!(census::set_departure))
        .routes(routes!(census::restore_resident))
        .routes(routes!(census::get_base_numbers))
        .routes(routes!(census::list_reviews))
        .routes(routes!(census::merge_review))
        .routes(routes!(census::keep_apart))
        .routes(routes!(census::list_conflicts))
        .routes(routes!(census::resolve_conflict))
        .routes(routes!(census::list_merges))
        .routes(routes!(census::undo_merge))
        .routes(routes!(census::get_resident_trace))
        .routes(routes!(sampling::list_sampling_rounds, sampling::create_round))
        .routes(routes!(sampling::get_sampling_round))
        .routes(routes!(sampling::update_teams))
        .routes(routes!(sampling::get_building_coverage))
        .routes(routes!(sampling::create_scans))
        .routes(routes!(sampling::get_coverage))
        .routes(routes!(sampling::list_missed, sampling::note_missed))
        .routes(routes!(lab::create_results))
        .routes(routes!(sampling::create_exemption))
        .routes(routes!(sampling::get_advice))
        .routes(routes!(lab::create_retest_results))
        .routes(routes!(sampling::close_round))
        .routes(routes!(sampling::seal_tube))
        .routes(routes!(lab_tubes::list_awaiting_tubes))
        .routes(routes!(lab_tubes::create_correction))
        .routes(routes!(lab_tubes::list_corrections))
}

/// Routes that take whole files: their own, larger body limit.
pub fn upload_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(census::create_import)).routes(routes!(lab::create_results_import))
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI document", body = schemas::OpenApiDocument)))]
async fn get_openapi() -> Response {
    match OPENAPI.get() {
        Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc.clone()).into_response(),
        None => AppError::NotFound.into_response(),
    }
}

/// The OpenAPI document, serialised once when the router is built: the same
/// for every router of the process, since it is made from the code.
static OPENAPI: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Keeps the document [`get_openapi`] serves.
pub(crate) fn set_openapi(doc: &utoipa::openapi::OpenApi) {
    if OPENAPI.get().is_none() {
        if let Ok(json) = serde_json::to_string(doc) {
            let _ = OPENAPI.set(json);
        }
    }
}
