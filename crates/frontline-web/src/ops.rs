//! Operations endpoints: `/healthz` (the process is up) and `/readyz` (the
//! database answers and the scan writer runs).

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

/// The database is reachable and the scan writer is up: 200, else 503 with
/// what is down.
async fn get_readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.store().backend().name();
    let database = match state.store().ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            false
        }
    };
    let writer = state.scans().is_up();
    let body = json!({
        "status": if database && writer { "ready" } else { "unavailable" },
        "database": backend,
        "database_up": database,
        "scan_writer_up": writer,
    });
    let status = if database && writer { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}
