//! Logging in and out over the API, and who am I.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_store::audit::Change;
use frontline_store::{now_ms, Actor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::extract::ApiJson;
use crate::auth::{self, Auth};
use crate::error::{AppError, ErrorEnvelope, FieldError};
use crate::views::UserView;
use crate::AppState;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login name.
    #[schema(value_type = String)]
    pub username: Option<String>,
    /// Password.
    #[schema(value_type = String)]
    pub password: Option<String>,
}

/// A bearer token for `Authorization: Bearer …`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The token.
    pub token: String,
    /// When it expires (unix ms).
    pub expires_at: i64,
    /// The account.
    pub user: UserView,
}

/// Why a login failed, as recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    UnknownUser,
    WrongPassword,
    Disabled,
    RateLimited(auth::LimitScope),
}

impl Failure {
    const fn reason(self) -> &'static str {
        match self {
            Failure::UnknownUser => "unknown_user",
            Failure::WrongPassword => "wrong_password",
            Failure::Disabled => "disabled",
            Failure::RateLimited(_) => "rate_limited",
        }
    }
}

/// The longest attempted user name kept in the audit log.
const AUDITED_NAME_CHARS: usize = 64;

/// Records a failed login: the name tried, the address, the reason; never the password.
async fn audit_failure(
    state: &AppState,
    username: &str,
    user_id: Option<i64>,
    ip: Option<IpAddr>,
    failure: Failure,
) -> Result<(), AppError> {
    let name: String = username.chars().take(AUDITED_NAME_CHARS).collect();
    let mut detail = json!({"username": name, "reason": failure.reason()});
    if let Failure::RateLimited(scope) = failure {
        detail["limit"] = json!(scope.code());
    }
    let actor = Actor { user_id: None, name, ip: ip.map(|i| i.to_string()) };
    let change = Change {
        action: "auth.login_failed",
        entity: "user",
        entity_id: user_id.map(|id| id.to_string()),
        before: None,
        after: Some(detail),
    };
    state.store().record_access(&actor, change).await?;
    Ok(())
}

/// Checks credentials under the rate limit; the shared core of the API and the login page.
/// Every failure is audited.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<frontline_store::accounts::User, AppError> {
    let limits = auth::LoginLimits::from_config(state.config());
    let attempt = match state.limiter().begin(&limits, username, ip, Instant::now()) {
        Ok(a) => a,
        Err(refused) => {
            audit_failure(state, username, None, ip, Failure::RateLimited(refused.scope)).await?;
            return Err(AppError::TooManyRequests { retry_after: refused.retry_after });
        }
    };
    let found = match state.store().user_for_login(username).await {
        Ok(found) => found,
        Err(e) => {
            // No password was checked: the attempt does not count.
            state.limiter().abandoned(&limits, attempt);
            return Err(e.into());
        }
    };
    let failure = match &found {
        Some((user, hash)) if !user.disabled => {
            if auth::verify_password(password.to_string(), hash.clone()).await {
                None
            } else {
                Some(Failure::WrongPassword)
            }
        }
        other => {
            // Spend the same time as a real check, so timing does not tell which names exist.
            let _ = auth::verify_password(password.to_string(), DUMMY_HASH.to_string()).await;
            Some(if other.is_some() { Failure::Disabled } else { Failure::UnknownUser })
        }
    };
    match (found, failure) {
        (Some((user, _)), None) => {
            state.limiter().succeeded(attempt);
            Ok(user)
        }
        (found, failure) => {
            state.limiter().failed(&limits, attempt, Instant::now());
            let failure = failure.unwrap_or(Failure::UnknownUser);
            audit_failure(state, username, found.map(|(u, _)| u.id), ip, failure).await?;
            Err(AppError::BadCredentials)
        }
    }
}

const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$F3kTe8hBfJCFQE9d6nDvl8vwSVzdSdJVhylGPmaHs3M";

/// Exchanges a user name and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn login(
    State(state): State<AppState>,
    auth::ClientIp(ip): auth::ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    let mut missing = vec![];
    let username = req.username.unwrap_or_default();
    let password = req.password.unwrap_or_default();
    if username.trim().is_empty() {
        missing.push(FieldError::new("username", "required"));
    }
    if password.is_empty() {
        missing.push(FieldError::new("password", "required"));
    }
    if !missing.is_empty() {
        return Err(AppError::Invalid(missing));
    }
    let user = authenticate(&state, username.trim(), &password, ip).await?;
    let token = auth::random_token()?;
    let csrf = auth::random_token()?;
    let expires_at = now_ms() + state.config().api_token_hours * 3_600_000;
    state.store().create_session(user.id, &auth::token_hash(&token), "api", &csrf, expires_at).await?;
    tracing::info!(user.name = %user.username, "api login");
    Ok(Json(LoginResponse { token, expires_at, user: user.into() }))
}

/// Ends the session or token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorEnvelope)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, AppError> {
    let hash = auth::token_hash(&auth.token);
    state.sessions().remove(&auth.token);
    state.store().delete_session(&hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account behind this request.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorEnvelope)))]
pub async fn get_me(auth: Auth) -> Json<UserView> {
    Json(std::sync::Arc::unwrap_or_clone(auth.user).into())
}
