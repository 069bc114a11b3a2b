//! Logging in and out over the API, and who am I.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_store::now_ms;
use serde::{Deserialize, Serialize};
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

/// Checks credentials under the rate limit; the shared core of the API and the login page.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<frontline_store::accounts::User, AppError> {
    let account_key = format!("u:{username}");
    let mut keys = vec![account_key.clone()];
    if let Some(ip) = ip {
        keys.push(format!("ip:{ip}"));
    }
    if let Some(retry_after) = state.limiter().blocked(&keys, state.config().login_failures_per_minute) {
        return Err(AppError::TooManyRequests { retry_after });
    }
    let found = state.store().user_for_login(username).await?;
    let ok = match &found {
        Some((user, hash)) if !user.disabled => auth::verify_password(password.to_string(), hash.clone()).await,
        _ => {
            // Spend the same time as a real check, so timing does not tell which names exist.
            let _ = auth::verify_password(password.to_string(), DUMMY_HASH.to_string()).await;
            false
        }
    };
    match found {
        Some((user, _)) if ok => {
            state.limiter().succeeded(&account_key);
            Ok(user)
        }
        _ => {
            state.limiter().failed(&keys);
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
