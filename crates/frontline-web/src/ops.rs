//! Operations endpoints: `/healthz` (the process is up) and `/readyz` (the database answers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::AppState;

/// The health-check routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(get_healthz)).route("/readyz", get(get_readyz))
}

/// The process is up.
async fn get_healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database is reachable.
async fn get_readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.store().backend().name();
    match state.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready", "database": backend}))),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "database": backend})))
        }
    }
}
