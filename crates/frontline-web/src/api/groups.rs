//! Working-group members and leaders (the `crate::groups` service).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_domain::access::Perm;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::extract::{ApiJson, ApiPath};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope};
use crate::groups;
use crate::views::{GroupView, UserView};
use crate::AppState;

/// A group's members, by display name.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "accounts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn list_members(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<UserView>>, AppError> {
    auth.require(Perm::ViewGroups)?;
    let (_, members) = groups::members(state.store(), id).await?;
    Ok(Json(members.into_iter().map(Into::into).collect()))
}

/// Adds an account to a group (an account is in one group at most: this
/// moves it, and it stops leading the group it leaves). Audited.
#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{username}", tag = "accounts",
    params(("id" = i64, Path), ("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, username)): ApiPath<(i64, String)>,
) -> Result<Json<UserView>, AppError> {
    auth.require(Perm::ManageGroups)?;
    let user = groups::add_member(state.store(), &auth.actor(), id, &username).await?;
    state.sessions().forget_user(user.id);
    Ok(Json(user.into()))
}

/// Removes an account from a group (and from leading it). Audited.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{username}", tag = "accounts",
    params(("id" = i64, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, username)): ApiPath<(i64, String)>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ManageGroups)?;
    let user = groups::remove_member(state.store(), &auth.actor(), id, &username).await?;
    state.sessions().forget_user(user.id);
    Ok(StatusCode::NO_CONTENT)
}

/// A group's leader.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LeaderInput {
    /// The leader's user name, a member of the group; null or empty: no leader.
    pub username: Option<String>,
}

/// Sets a group's leader, one of its members. Audited.
#[utoipa::path(put, path = "/api/v1/groups/{id}/leader", tag = "accounts", params(("id" = i64, Path)),
    request_body = LeaderInput,
    responses((status = 200, body = GroupView), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn set_leader(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LeaderInput>,
) -> Result<Json<GroupView>, AppError> {
    auth.require(Perm::ManageGroups)?;
    let group = groups::set_leader(state.store(), &auth.actor(), id, input.username.as_deref()).await?;
    Ok(Json(group.into()))
}
