//! One error type for the web layer, rendered once: as the JSON envelope under
//! `/api/`, as the HTML error page elsewhere, in the request's language.
//!
//! Handlers return [`AppError`]; its `IntoResponse` only sets the status and
//! parks the error in a response extension. The [`RenderErrorsLayer`],
//! which knows the request's path and language, writes the body. 5xx causes
//! are logged here, once, and never sent to the client.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use frontline_domain::i18n::{catalogue, Lang};
use frontline_store::StoreError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use tower_http::catch_panic::{CatchPanic, ResponseForPanic, ResponseFuture as CatchPanicFuture};
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name, as in the request (`id_number`).
    pub field: String,
    /// A stable code (`bad_check_character`).
    pub code: String,
    /// The catalogue key of the message.
    pub key: String,
    /// The message's parameters.
    pub params: Vec<(&'static str, String)>,
}

impl FieldError {
    /// A field error whose message is `error.field.<code>` in the catalogue.
    pub fn new(field: &str, code: &str) -> FieldError {
        FieldError {
            field: field.to_string(),
            code: code.to_string(),
            key: format!("error.field.{code}"),
            params: vec![],
        }
    }

    /// A field error with its own catalogue key and parameters.
    pub fn keyed(field: &str, code: &str, key: String, params: Vec<(&'static str, String)>) -> FieldError {
        FieldError { field: field.to_string(), code: code.to_string(), key, params }
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid session or token (401).
    #[error("unauthenticated")]
    Unauthenticated,
    /// Wrong user name or password (401).
    #[error("bad credentials")]
    BadCredentials,
    /// The account may not do this (403).
    #[error("forbidden")]
    Forbidden,
    /// The form's CSRF token is missing or wrong (403).
    #[error("bad csrf token")]
    Csrf,
    /// No such thing (404).
    #[error("not found")]
    NotFound,
    /// The method is not allowed on this route (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The input is invalid (422), field by field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The request could not be read at all (400): malformed JSON, a bad query.
    #[error("bad request: {detail}")]
    BadRequest {
        /// A safe, specific description (from the extractor).
        detail: String,
    },
    /// The write conflicts with existing data (409).
    #[error("conflict")]
    Conflict(Vec<FieldError>),
    /// The body is larger than allowed (413).
    #[error("payload too large")]
    TooLarge,
    /// Too many attempts (429).
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The request cannot be served now (503), for the reason given; the
    /// answer says when to try again.
    #[error("unavailable: {}", .0.code())]
    Unavailable(Unavailability),
    /// Anything else (500); the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why a request cannot be served now (503). Each reason has its own code in
/// the envelope (and so its own message) and its own `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailability {
    /// The server is saturated (the scan queue is full, or another writer
    /// held the database too long).
    Busy,
    /// The scan writer is down, restarting after a failure; a phone keeps its queue meanwhile.
    WriterDown,
    /// The scan writer has stopped for good: the server is shutting down.
    WriterStopped,
    /// The database cannot be reached.
    DatabaseDown,
}

impl Unavailability {
    /// The stable code in the envelope.
    pub const fn code(self) -> &'static str {
        match self {
            Unavailability::Busy => "unavailable",
            Unavailability::WriterDown => "writer_unavailable",
            Unavailability::WriterStopped => "writer_stopped",
            Unavailability::DatabaseDown => "database_unavailable",
        }
    }

    /// Seconds to wait before trying again.
    pub const fn retry_after(self) -> u64 {
        match self {
            Unavailability::Busy => 1,
            Unavailability::WriterDown => 2,
            Unavailability::WriterStopped | Unavailability::DatabaseDown => 5,
        }
    }
}

impl AppError {
    /// A single invalid field.
    pub fn field(field: &str, code: &str) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, code)])
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the envelope.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Invalid(_) => "invalid",
            AppError::BadRequest { .. } => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge => "payload_too_large",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(why) => why.code(),
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict { constraint } => {
                let field = match constraint.as_str() {
                    "residents_id_number_key" => "id_number",
                    "users_username_key" => "username",
                    "working_groups_code_key" => "code",
                    _ => "",
                };
                AppError::Conflict(vec![FieldError::new(field, "taken")])
            }
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                AppError::Unavailable(Unavailability::DatabaseDown)
            }
            StoreError::MergeRefused { code, names } => AppError::Conflict(vec![FieldError::keyed(
                "review",
                code,
                format!("census.merge.{code}"),
                vec![("names", names.join(", "))],
            )]),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The error parked in a response until [`RenderErrorsLayer`] writes it.
#[derive(Clone, Debug)]
struct Pending {
    code: &'static str,
    fields: Vec<FieldError>,
    detail: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(e) = &self {
            tracing::error!(error.chain = format!("{e:#}"), "request failed");
        }
        let mut res = status.into_response();
        let retry_after = match &self {
            AppError::TooManyRequests { retry_after } => Some(*retry_after),
            AppError::Unavailable(why) => Some(why.retry_after()),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        let code = self.code();
        let (fields, detail) = match self {
            AppError::Invalid(f) | AppError::Conflict(f) => (f, None),
            AppError::BadRequest { detail } => (vec![], Some(detail)),
            _ => (vec![], None),
        };
        res.extensions_mut().insert(Pending { code, fields, detail });
        res
    }
}

/// The JSON error envelope: `{"error":{"code","message","fields":[…]}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The body of the error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code (`invalid`, `not_found`, …).
    pub code: String,
    /// A message for people, in the request's language.
    pub message: String,
    /// Field by field, for `invalid` and `conflict`.
    pub fields: Vec<FieldErrorBody>,
}

/// One field of the error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The field's name.
    pub field: String,
    /// A stable code.
    pub code: String,
    /// A message for people.
    pub message: String,
}

fn envelope(p: &Pending, lang: Lang) -> ErrorEnvelope {
    let cat = catalogue();
    let mut message = cat.text(lang, &format!("error.{}", p.code)).to_string();
    if let Some(detail) = &p.detail {
        message = format!("{message}: {detail}");
    }
    ErrorEnvelope {
        error: ErrorBody {
            code: p.code.to_string(),
            message,
            fields: p
                .fields
                .iter()
                .map(|f| FieldErrorBody {
                    field: f.field.clone(),
                    code: f.code.clone(),
                    message: cat.format(lang, &f.key, &f.params),
                })
                .collect(),
        },
    }
}

/// Where the [`crate::auth::Auth`] extractor leaves the signed-in account of a
/// page request, so that an error page rendered after the handler failed keeps
/// the header, the menu and the user. The error layer puts an empty slot in
/// every page request's extensions; a browser session found fills it (with
/// the account and the district's UTC offset: the menu is built only when an
/// error page needs it).
#[derive(Clone, Debug, Default)]
pub struct AccountSlot(std::sync::Arc<std::sync::Mutex<Option<(crate::auth::Auth, i32)>>>);

impl AccountSlot {
    /// Records the page's account.
    pub fn fill(&self, auth: &crate::auth::Auth, utc_offset: i32) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((auth.clone(), utc_offset));
        }
    }

    fn take(&self) -> Option<crate::templates::Shell> {
        let (auth, offset) = self.0.lock().ok().and_then(|mut s| s.take())?;
        Some(crate::pages::shell(&auth, offset))
    }
}

/// What rendering an error needs to know of the request, read before the
/// handler consumes it.
struct Asked {
    is_api: bool,
    lang: Lang,
    /// Where a page visitor comes back to after logging in (pages only: API calls never redirect).
    here: Option<String>,
    /// Where the error page's language switch leads back to.
    back: Option<String>,
    /// The signed-in account, once the handler's extractor has found it (pages only).
    account: Option<AccountSlot>,
}

impl Asked {
    fn of(req: &mut Request) -> Asked {
        let is_api = req.uri().path().starts_with("/api/");
        let account = (!is_api).then(|| {
            let slot = AccountSlot::default();
            req.extensions_mut().insert(slot.clone());
            slot
        });
        let here =
            (!is_api).then(|| req.uri().path_and_query().map_or_else(|| "/".to_string(), |p| p.as_str().to_string()));
        // The language switch of an error page comes back to the same page,
        // unless it answered a form (a GET there would not show it again).
        let back = if req.method() == axum::http::Method::GET { here.clone() } else { None };
        Asked { is_api, lang: crate::i18n::request_lang(req.headers()), here, back, account }
    }
}

/// The application's outermost layer. It writes parked errors (and bare
/// 404/405/413 from the router or the body limit) as the JSON envelope or the
/// HTML page, and answers a handler's panic with the rendered 500. Every
/// answer leaves it with the security headers of [`crate::headers`].
///
/// Panics are caught by tower-http's [`CatchPanic`], inside this layer so
/// that its 500 is rendered like any other error. The layer itself is a plain
/// service rather than `middleware::from_fn`, which would box the inner
/// service and its future on every request.
///
/// Being outermost, it also sets the request body limit that routes without
/// one of their own get ([`RenderErrorsLayer::with_body_limit`]); routes that
/// take uploads set a larger one inside, which takes precedence.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderErrorsLayer {
    body_limit: Option<usize>,
}

impl RenderErrorsLayer {
    /// The layer, with `bytes` as every request's default body limit.
    pub fn with_body_limit(bytes: usize) -> RenderErrorsLayer {
        RenderErrorsLayer { body_limit: Some(bytes) }
    }
}

impl<S> tower::Layer<S> for RenderErrorsLayer {
    type Service = RenderErrors<S>;

    fn layer(&self, inner: S) -> RenderErrors<S> {
        RenderErrors { inner: CatchPanic::custom(inner, PanicTo500), body_limit: self.body_limit }
    }
}

/// The service of [`RenderErrorsLayer`].
#[derive(Debug, Clone)]
pub struct RenderErrors<S> {
    inner: CatchPanic<S, PanicTo500>,
    body_limit: Option<usize>,
}

/// Turns a caught panic into [`AppError::Internal`]: logged with the panic's
/// message, rendered by [`RenderErrors`] as the 500 of the request's kind.
#[derive(Debug, Clone, Copy)]
pub struct PanicTo500;

impl ResponseForPanic for PanicTo500 {
    type ResponseBody = axum::body::Body;

    fn response_for_panic(&mut self, err: Box<dyn std::any::Any + Send + 'static>) -> Response {
        let message = err
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| err.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        AppError::Internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
    }
}

impl<S> tower::Service<Request> for RenderErrors<S>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Rendered<CatchPanicFuture<S::Future, PanicTo500>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if let Some(bytes) = self.body_limit {
            axum::extract::DefaultBodyLimit::max(bytes).apply(&mut req);
        }
        let asked = Asked::of(&mut req);
        Rendered { inner: self.inner.call(req), asked: Some(asked) }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RenderErrors`]: the handler's (panics caught), then the
    /// rendering and the security headers ([`crate::headers`]).
    pub struct Rendered<F> {
        #[pin]
        inner: F,
        asked: Option<Asked>,
    }
}

impl<F, B> std::future::Future for Rendered<F>
where
    F: std::future::Future<Output = Result<axum::http::Response<B>, std::convert::Infallible>>,
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let res = match std::task::ready!(this.inner.poll(cx)) {
            Ok(res) => res.map(axum::body::Body::new),
            Err(never) => match never {},
        };
        let mut res = match this.asked.take() {
            Some(asked) => render(asked, res),
            None => res,
        };
        crate::headers::harden(res.headers_mut());
        std::task::Poll::Ready(Ok(res))
    }
}

/// Writes a parked error (or a bare 404/405/413/500) for the request `asked` about.
fn render(asked: Asked, mut res: Response) -> Response {
    let Asked { is_api, lang, here, back, account } = asked;
    let pending = match res.extensions_mut().remove::<Pending>() {
        Some(p) => p,
        None => {
            let code = match res.status() {
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
                StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                // An extractor's own rejection (a form that cannot be read).
                StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => "bad_request",
                StatusCode::UNPROCESSABLE_ENTITY => "invalid",
                StatusCode::INTERNAL_SERVER_ERROR => "internal",
                _ => return res,
            };
            if res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
            }) {
                return res;
            }
            Pending { code, fields: vec![], detail: None }
        }
    };
    if !is_api && pending.code == "unauthenticated" {
        // A page without a session goes to the login form, and comes back after.
        let target = format!("/login?next={}", percent_encode(here.as_deref().unwrap_or("/")));
        return axum::response::Redirect::to(&target).into_response();
    }
    let status = res.status();
    let env = envelope(&pending, lang);
    let mut out = if is_api {
        (status, axum::Json(env)).into_response()
    } else {
        let shell = account.as_ref().and_then(AccountSlot::take);
        let page = crate::templates::render_error(lang, status, &env.error, shell, back.as_deref().unwrap_or("/"));
        (status, axum::response::Html(page)).into_response()
    };
    for (name, value) in res.headers() {
        if name == header::RETRY_AFTER || name == header::LOCATION || name == header::SET_COOKIE {
            out.headers_mut().append(name, value.clone());
        }
    }
    out
}

impl From<FormRejection> for AppError {
    fn from(r: FormRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::TooLarge;
        }
        AppError::BadRequest { detail: r.body_text() }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest { detail: r.body_text() }
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        match r {
            PathRejection::FailedToDeserializePathParams(_) => AppError::NotFound,
            other => AppError::BadRequest { detail: other.body_text() },
        }
    }
}

/// What a query parameter's value keeps as is: unreserved characters and `/`
/// (so that a `next=` path stays readable).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// Percent-encodes a query parameter's value (UTF-8, everything but [`QUERY_VALUE`]).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt};

    async fn body(res: Response) -> String {
        let bytes = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn get_req(path: &str) -> Request {
        Request::get(path).header(header::ACCEPT_LANGUAGE, "en").body(Body::empty()).unwrap_or_default()
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_gets_the_rendered_500() {
        let app = axum::Router::new()
            .route("/api/v1/boom", get(boom))
            .route("/explode", get(boom))
            .route("/api/v1/gone", get(|| async { AppError::NotFound }))
            .layer(RenderErrorsLayer::default());
        let res = app.clone().oneshot(get_req("/api/v1/boom")).await.unwrap_or_default();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body(res).await).unwrap_or_default();
        assert_eq!(json["error"]["code"], "internal", "{json}");
        assert_eq!(json["error"]["message"], catalogue().text(Lang::En, "error.internal"), "{json}");
        // A page gets the HTML error page instead; the panic's message stays in the log.
        let res = app.clone().oneshot(get_req("/explode")).await.unwrap_or_default();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers()[header::CONTENT_TYPE].as_bytes().starts_with(b"text/html"));
        let page = body(res).await;
        assert!(page.contains(catalogue().text(Lang::En, "error.internal")) && !page.contains("boom"), "{page}");
        // A parked error, and the router's own 404, in the request's language.
        for path in ["/api/v1/gone", "/api/v1/nowhere"] {
            let res = app.clone().oneshot(get_req(path)).await.unwrap_or_default();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            let json: serde_json::Value = serde_json::from_str(&body(res).await).unwrap_or_default();
            assert_eq!(json["error"]["code"], "not_found", "{path}: {json}");
            let message = json["error"]["message"].as_str().unwrap_or_default();
            assert_eq!(message, catalogue().text(Lang::En, "error.not_found"), "{path}");
        }
    }

    #[tokio::test]
    async fn a_service_panicking_when_called_gets_the_rendered_500() {
        let service =
            tower::service_fn(|_: Request| -> std::future::Ready<Result<Response, std::convert::Infallible>> {
                panic!("at once")
            });
        let res = RenderErrorsLayer::default().layer(service).oneshot(get_req("/api/v1/x")).await.unwrap_or_default();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body(res).await).unwrap_or_default();
        assert_eq!(json["error"]["code"], "internal", "{json}");
    }
}
