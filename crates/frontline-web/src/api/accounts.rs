//! Working groups and accounts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_domain::access::{Perm, Role};
use frontline_domain::passwords::{check_password, PasswordProblem, MIN_DISTINCT_CHARS, MIN_PASSWORD_CHARS};
use frontline_domain::places::clean_name;
use frontline_store::accounts::{Group, NewUser};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::extract::{ApiJson, ApiPath};
use crate::auth::{self, Auth};
use crate::error::{AppError, ErrorEnvelope, FieldError};
use crate::views::{GroupView, UserView};
use crate::AppState;

/// Lists the working groups.
#[utoipa::path(get, path = "/api/v1/groups", tag = "accounts",
    responses((status = 200, body = Vec<GroupView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_groups(State(state): State<AppState>, auth: Auth) -> Result<Json<Vec<GroupView>>, AppError> {
    auth.require(Perm::ViewGroups)?;
    Ok(Json(state.store().list_groups().await?.into_iter().map(Into::into).collect()))
}

/// A working group to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewGroupInput {
    /// A stable code: up to 40 letters, digits or `_`.
    #[schema(value_type = String)]
    pub code: Option<String>,
    /// Chinese name.
    #[schema(value_type = String)]
    pub name: Option<String>,
    /// English name (default: the Chinese name).
    pub name_en: Option<String>,
    /// Duty.
    pub duty: Option<String>,
    /// Display order (default 100).
    pub sort: Option<i64>,
}

impl From<NewGroupInput> for GroupInput {
    fn from(g: NewGroupInput) -> Self {
        GroupInput { code: g.code, name: g.name, name_en: g.name_en, duty: g.duty, sort: g.sort }
    }
}

/// Changes to a working group (absent fields stay as they are), or, from the
/// groups page, a group to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct GroupInput {
    /// A stable code; only on creation (a change ignores it).
    #[schema(ignore)]
    pub code: Option<String>,
    /// Chinese name.
    pub name: Option<String>,
    /// English name.
    pub name_en: Option<String>,
    /// Duty.
    pub duty: Option<String>,
    /// Display order.
    pub sort: Option<i64>,
}

/// Merges input over an existing group (or a blank one) and validates it.
pub fn parse_group(input: GroupInput, base: Option<Group>) -> Result<Group, AppError> {
    let creating = base.is_none();
    let mut g = base.unwrap_or(Group {
        id: 0,
        code: String::new(),
        name: String::new(),
        name_en: String::new(),
        duty: String::new(),
        sort: 100,
        leader_id: None,
    });
    let mut errors = vec![];
    if creating {
        let code = input.code.unwrap_or_default().trim().to_string();
        if code.is_empty() {
            errors.push(FieldError::new("code", "required"));
        } else if code.len() > 40 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            errors.push(FieldError::new("code", "unknown"));
        }
        g.code = code;
    }
    if let Some(name) = input.name {
        match clean_name(&name) {
            Some(n) => g.name = n,
            None => errors.push(FieldError::new("name", "required")),
        }
    } else if creating {
        errors.push(FieldError::new("name", "required"));
    }
    if let Some(n) = input.name_en {
        g.name_en = n.trim().chars().take(100).collect();
    }
    if g.name_en.is_empty() {
        g.name_en.clone_from(&g.name);
    }
    if let Some(d) = input.duty {
        if d.chars().count() > 1000 {
            errors.push(FieldError::new("duty", "too_long"));
        }
        g.duty = d.trim().to_string();
    }
    if let Some(s) = input.sort {
        g.sort = s;
    }
    if errors.is_empty() {
        Ok(g)
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Creates a working group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "accounts", request_body = NewGroupInput,
    responses((status = 201, body = GroupView), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<NewGroupInput>,
) -> Result<(StatusCode, Json<GroupView>), AppError> {
    auth.require(Perm::ManageGroups)?;
    let g = parse_group(input.into(), None)?;
    let created = state.store().create_group(&auth.actor(), &g).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Renames a working group or changes its duty or order.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = GroupInput,
    responses((status = 200, body = GroupView), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn update_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<GroupInput>,
) -> Result<Json<GroupView>, AppError> {
    auth.require(Perm::ManageGroups)?;
    let base = state.store().get_group(id).await?;
    let g = parse_group(input, Some(base))?;
    Ok(Json(state.store().update_group(&auth.actor(), &g).await?.into()))
}

/// Lists accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_users(State(state): State<AppState>, auth: Auth) -> Result<Json<Vec<UserView>>, AppError> {
    auth.require(Perm::ManageUsers)?;
    Ok(Json(state.store().list_users().await?.into_iter().map(Into::into).collect()))
}

/// An account to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UserInput {
    /// Login name: 3–40 letters, digits, `_`, `.` or `-`.
    #[schema(value_type = String)]
    pub username: Option<String>,
    /// Display name (default: the login name).
    pub display_name: Option<String>,
    /// Password: at least 10 characters, 5 of them different, not a common
    /// password, not containing the login name.
    #[schema(value_type = String)]
    pub password: Option<String>,
    /// Role code.
    #[schema(value_type = String)]
    pub role: Option<String>,
    /// Working group id.
    pub group_id: Option<i64>,
}

/// Checks a login name: 3–40 ASCII letters, digits, `_`, `.` or `-`.
pub fn valid_username(name: &str) -> bool {
    (3..=40).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The field error for a password the rule refuses (`frontline_domain::passwords`).
pub fn password_error(problem: PasswordProblem) -> FieldError {
    let min = match problem {
        PasswordProblem::TooShort => vec![("min", MIN_PASSWORD_CHARS.to_string())],
        PasswordProblem::TooSimple => vec![("min", MIN_DISTINCT_CHARS.to_string())],
        PasswordProblem::Common | PasswordProblem::ContainsUsername => vec![],
    };
    FieldError::keyed("password", problem.code(), problem.message_key(), min)
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = UserInput,
    responses((status = 201, body = UserView), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<UserInput>,
) -> Result<(StatusCode, Json<UserView>), AppError> {
    auth.require(Perm::ManageUsers)?;
    let mut errors = vec![];
    let username = input.username.unwrap_or_default().trim().to_string();
    if !valid_username(&username) {
        errors.push(FieldError::new("username", if username.is_empty() { "required" } else { "unknown" }));
    }
    let password = input.password.unwrap_or_default();
    if let Err(problem) = check_password(&password, &username) {
        errors.push(password_error(problem));
    }
    let role = input.role.as_deref().and_then(Role::from_code);
    if role.is_none() {
        errors.push(FieldError::new("role", "unknown"));
    }
    let display_name = input.display_name.as_deref().and_then(clean_name).unwrap_or_else(|| username.clone());
    let (Some(role), true) = (role, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let password_hash = auth::hash_password(password).await?;
    let new = NewUser { username, display_name, password_hash, role, group_id: input.group_id };
    let user = state.store().create_user(&auth.actor(), &new).await.map_err(|e| match e {
        frontline_store::StoreError::MissingReference => AppError::field("group_id", "not_found"),
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// An account's team.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TeamInput {
    /// The team's name as rounds assign it to buildings (`一队`); null or empty: no team.
    pub team: Option<String>,
}

/// Puts an account in a team (小队): a volunteer's work, and what they may see
/// of residents, reaches the buildings that open rounds assign to the team.
/// For those who assign teams to buildings (group leads and command).
#[utoipa::path(put, path = "/api/v1/users/{username}/team", tag = "accounts", params(("username" = String, Path)),
    request_body = TeamInput,
    responses((status = 200, body = UserView), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn set_team(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(username): ApiPath<String>,
    ApiJson(input): ApiJson<TeamInput>,
) -> Result<Json<UserView>, AppError> {
    auth.require(Perm::ManageSampling)?;
    let team = input.team.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let team = match team {
        None => None,
        Some(t) => Some(clean_name(t).ok_or_else(|| AppError::field("team", "too_long"))?),
    };
    let user = state.store().set_user_team(&auth.actor(), &username, team.as_deref()).await?;
    state.sessions().forget_user(user.id);
    Ok(Json(user.into()))
}
