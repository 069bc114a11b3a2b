//! Static assets embedded in the binary: nothing is fetched at run time.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

/// (path under `/assets/`, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../assets/app.css")),
    ("vendor/htmx/htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../assets/vendor/htmx/htmx.min.js")),
    ("vendor/htmx/LICENSE", "text/plain; charset=utf-8", include_bytes!("../assets/vendor/htmx/LICENSE")),
    ("vendor/jsqr/jsQR.js", "text/javascript; charset=utf-8", include_bytes!("../assets/vendor/jsqr/jsQR.js")),
    ("vendor/jsqr/LICENSE", "text/plain; charset=utf-8", include_bytes!("../assets/vendor/jsqr/LICENSE")),
    ("scan.js", "text/javascript; charset=utf-8", include_bytes!("../assets/scan.js")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("coverage.js", "text/javascript; charset=utf-8", include_bytes!("../assets/coverage.js")),
];

/// The `/assets/*` route.
pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{*path}", get(get_asset))
}

async fn get_asset(axum::extract::Path(path): axum::extract::Path<String>) -> impl IntoResponse {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, mime, bytes)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "public, max-age=3600")], *bytes)
                .into_response()
        }
        None => crate::AppError::NotFound.into_response(),
    }
}
