//! Frontline's HTTP layer: the JSON API under `/api/v1`, the server-rendered
//! pages, authentication, CSRF, the error envelope, the i18n switch and the
//! embedded assets. Each capability has one module under [`api`] and one under
//! [`pages`]; [`router`] composes them.

pub mod api;
pub mod assets;
pub mod auth;
pub mod census;
pub mod config;
pub mod error;
pub mod forms;
pub mod groups;
pub mod headers;
pub mod i18n;
pub mod login_limit;
pub mod ops;
pub mod pages;
pub mod privacy;
pub mod redact;
pub mod rounds;
pub mod server;
pub mod templates;
pub mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use frontline_store::Store;
use tower_http::trace::TraceLayer;

pub use config::WebConfig;
pub use error::AppError;
pub use server::serve;

/// Shared state of every handler: the store, the configuration, the login limiter.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    config: WebConfig,
    limiter: auth::LoginLimiter,
    code_key: u64,
    scans: frontline_store::sampling::ScanWriter,
    sessions: auth::SessionCache,
    number_searches: privacy::NumberSearches,
}

impl AppState {
    /// Builds the state; reads (or creates) the installation's sampling-code key.
    pub async fn new(store: Store, config: WebConfig) -> anyhow::Result<AppState> {
        let mut fresh = [0u8; 8];
        getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let key = store.setting_or_init("sampling_code_key", &u64::from_le_bytes(fresh).to_string()).await?;
        let code_key = key.parse().map_err(|_| anyhow::anyhow!("setting sampling_code_key is not a number"))?;
        let scans = frontline_store::sampling::ScanWriter::spawn(store.clone(), 1_024);
        Ok(AppState(Arc::new(Inner {
            store,
            config,
            limiter: auth::LoginLimiter::default(),
            code_key,
            scans,
            sessions: auth::SessionCache::default(),
            number_searches: privacy::NumberSearches::default(),
        })))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The configuration.
    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }

    /// The failed-login limiter.
    pub fn limiter(&self) -> &auth::LoginLimiter {
        &self.0.limiter
    }

    /// Recently looked-up sessions.
    pub fn sessions(&self) -> &auth::SessionCache {
        &self.0.sessions
    }

    /// Searches by number, counted per account.
    pub fn number_searches(&self) -> &privacy::NumberSearches {
        &self.0.number_searches
    }

    /// The scan writer (group commit).
    pub fn scans(&self) -> &frontline_store::sampling::ScanWriter {
        &self.0.scans
    }

    /// The key of the sampling-code permutation.
    pub fn code_key(&self) -> u64 {
        self.0.code_key
    }
}

/// The application as served: the router inside the error renderer.
pub type App = error::RenderErrors<Router>;

/// The whole application: API, OpenAPI document, pages, health checks, assets.
///
/// The error renderer (which also sets the default body limit) wraps the
/// router once, rather than each route through `Router::layer`: a route layer
/// is one more boxed service cloned and called on every request.
pub fn router(state: AppState) -> App {
    let body_limit = state.config().body_limit_bytes;
    let upload_limit = state.config().upload_limit_bytes;
    // Every request gets `body_limit` from the edge (below); only the upload
    // routes set their own, larger one.
    let (api, openapi) =
        api::router().merge(api::upload_router().layer(DefaultBodyLimit::max(upload_limit))).split_for_parts();
    api::set_openapi(&openapi);
    let app = Router::new()
        .merge(api)
        .merge(pages::router())
        .merge(pages::upload_router().layer(DefaultBodyLimit::max(upload_limit)))
        .merge(ops::router())
        .merge(assets::router())
        // A signed-in visitor's 404 keeps their header and menu: looking the
        // session up fills the error page's account slot.
        .fallback(|_: Result<auth::Auth, AppError>| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed });
    // Request spans and their events are DEBUG: when the log filter cannot show
    // them, the layer would only cost every request its clock reads and wrappers.
    let app = if tracing::level_filters::LevelFilter::current() >= tracing::Level::DEBUG {
        app.layer(TraceLayer::new_for_http())
    } else {
        app
    };
    tower::Layer::layer(&error::RenderErrorsLayer::with_body_limit(body_limit), app.with_state(state))
}
