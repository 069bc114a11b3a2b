//! Server-rendered pages. Each capability has its module; this one holds the
//! shared page context (navigation, user, CSRF token), login, logout and the
//! language switch.

mod admin;
mod audit;
mod census;
mod home;
mod lab;
mod places;
mod residents;
mod sampling;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use frontline_domain::access::Perm;
use frontline_domain::i18n::Lang;
use frontline_store::now_ms;
use minijinja::{context, Value};
use percent_encoding::{percent_decode_str, utf8_percent_encode, CONTROLS};
use serde::Deserialize;

use crate::api::extract::ApiPath;
use crate::auth::{self, Auth, ClientIp, SESSION_COOKIE};
use crate::error::AppError;
use crate::i18n::{ReqLang, LANG_COOKIE};
use crate::templates::{render, NavItem, Shell, ShellUser};
use crate::AppState;

/// Every page route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(get_login).post(post_login))
        .route("/logout", post(post_logout))
        .route("/lang/{code}", get(get_lang))
        .merge(home::router())
        .merge(lab::router())
        .merge(places::router())
        .merge(residents::router())
        .merge(admin::router())
        .merge(audit::router())
        .merge(census::router())
        .merge(sampling::router())
}

/// Page routes that take whole files.
pub fn upload_router() -> Router<AppState> {
    census::upload_router().merge(sampling::upload_router())
}

/// The capabilities, in menu order: (catalogue key, page, permission to see
/// it). Only what is built is listed: the menu never offers "coming soon".
const NAV: &[(&str, &str, Option<Perm>)] = &[
    ("nav.home", "/", None),
    ("nav.buildings", "/buildings", Some(Perm::ViewPlaces)),
    ("nav.residents", "/residents", Some(Perm::ViewResidents)),
    ("nav.census", "/census", Some(Perm::ViewCensus)),
    ("nav.sampling", "/sampling", Some(Perm::ViewSampling)),
    ("nav.lab", "/sampling/results", Some(Perm::LabResults)),
    ("nav.groups", "/groups", Some(Perm::ViewGroups)),
    ("nav.audit", "/audit", Some(Perm::ViewAudit)),
];

/// The menu of `auth`'s role: only the pages it can use.
fn nav(auth: &Auth, active: &str) -> Vec<NavItem> {
    NAV.iter()
        .filter(|(_, _, perm)| perm.is_none_or(|p| auth.can(p)))
        .map(|(key, href, _)| NavItem { key, href, active: *key == active })
        .collect()
}

/// The header and menu of a signed-in page (also given to its error page).
pub(crate) fn shell(auth: &Auth, utc_offset: i32) -> Shell {
    Shell {
        user: ShellUser {
            display_name: auth.user.display_name.clone(),
            role: auth.user.role.code(),
            username: auth.user.username.clone(),
        },
        csrf: auth.session.csrf.clone(),
        nav: nav(auth, ""),
        utc_offset,
    }
}

/// The context every signed-in page starts from.
fn page_ctx(state: &AppState, auth: &Auth, lang: Lang, path: &str, active: &str) -> Value {
    context! {
        lang => lang.code(),
        html_lang => lang.html_lang(),
        path => path,
        csrf => auth.session.csrf,
        utc_offset => state.config().rules.utc_offset_minutes,
        user => context! { display_name => auth.user.display_name, role => auth.user.role.code(), username => auth.user.username },
        nav => nav(auth, active),
    }
}

/// Renders a page template into a response.
fn page(name: &str, ctx: Value) -> Result<Response, AppError> {
    let html = render(name, ctx).map_err(|e| AppError::Internal(anyhow::anyhow!("template {name}: {e:#}")))?;
    Ok(Html(html).into_response())
}

/// An XLSX download.
pub(super) fn xlsx(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

pub(super) fn write_failed(e: frontline_import::WriteError) -> AppError {
    AppError::Internal(anyhow::anyhow!("xlsx: {e}"))
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> Result<HeaderValue, AppError> {
    let secure = if state.config().secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie header: {e}")))
}

/// Where to send the browser after login or a language switch: `next` if it is
/// a path on this site, else `/`. The one place that decides it.
///
/// A path starts with a single `/` followed by neither `/` nor `\` (either
/// would name another host: `//evil.example`, `/\evil.example`), and holds no
/// backslash, control character or whitespace, before or after percent-decoding: browsers
/// drop tabs and newlines from a URL (`/\t/evil.example` becomes
/// `//evil.example`), and a newline cannot be sent in `Location` at all. A
/// string that starts with `/` has no scheme. Characters beyond ASCII are
/// percent-encoded so the header is plain ASCII.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    fn local(path: &str) -> bool {
        let mut chars = path.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !path.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    }
    match next {
        Some(n) if local(n) && local(&percent_decode_str(n).decode_utf8_lossy()) => {
            utf8_percent_encode(n, CONTROLS).to_string()
        }
        _ => "/".to_string(),
    }
}

const LOGIN_CSRF_COOKIE: &str = "frontline_login_csrf";

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    next: &str,
    username: &str,
    failed: Option<&str>,
) -> Result<Response, AppError> {
    let login_csrf = auth::random_token()?;
    let ctx = context! {
        lang => lang.code(), html_lang => lang.html_lang(), path => "/login",
        login_csrf => login_csrf, next => next, username => username, failed => failed, user => (), nav => (),
    };
    let mut res = page("login.html", ctx)?;
    *res.status_mut() = status;
    res.headers_mut().append(header::SET_COOKIE, cookie_header(state, LOGIN_CSRF_COOKIE, &login_csrf, 3600)?);
    Ok(res)
}

/// The login form.
async fn get_login(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, AppError> {
    login_page(&state, lang, StatusCode::OK, &safe_next(q.next.as_deref()), "", None)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// Checks the form, starts a browser session, and goes where the user was headed.
async fn post_login(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    ClientIp(ip): ClientIp,
    cookies: CookieJar,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    let next = safe_next(form.next.as_deref());
    let expected = cookies.get(LOGIN_CSRF_COOKIE).map_or("", |c| c.value());
    if expected.is_empty() || !auth::same_token(expected, &form.csrf) {
        return Err(AppError::Csrf);
    }
    let user = match crate::api::auth::authenticate(&state, form.username.trim(), &form.password, ip).await {
        Ok(u) => u,
        Err(AppError::BadCredentials) => {
            return login_page(&state, lang, StatusCode::UNAUTHORIZED, &next, &form.username, Some("login.failed"))
        }
        Err(AppError::TooManyRequests { retry_after }) => {
            let mut res =
                login_page(&state, lang, StatusCode::TOO_MANY_REQUESTS, &next, &form.username, Some("login.too_many"))?;
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(res);
        }
        Err(e) => return Err(e),
    };
    let token = auth::random_token()?;
    let csrf = auth::random_token()?;
    let hours = state.config().session_hours;
    state
        .store()
        .create_session(user.id, &auth::token_hash(&token), "cookie", &csrf, now_ms() + hours * 3_600_000)
        .await?;
    tracing::info!(user.name = %user.username, "browser login");
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie_header(&state, SESSION_COOKIE, &token, hours * 3600)?);
    res.headers_mut().append(header::SET_COOKIE, cookie_header(&state, LOGIN_CSRF_COOKIE, "", 0)?);
    Ok(res)
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Ends the browser session.
async fn post_logout(
    State(state): State<AppState>,
    auth: Auth,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&form.csrf)?;
    let hash = auth::token_hash(&auth.token);
    state.sessions().remove(&auth.token);
    state.store().delete_session(&hash).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie_header(&state, SESSION_COOKIE, "", 0)?);
    Ok(res)
}

/// Switches the language and returns to the page.
async fn get_lang(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, AppError> {
    let lang = Lang::from_code(&code).ok_or(AppError::NotFound)?;
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie_header(&state, LANG_COOKIE, lang.code(), 365 * 86_400)?);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_redirects() {
        assert_eq!(safe_next(Some("/buildings/3")), "/buildings/3");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        // Browsers drop tabs and newlines: `/\t/evil` would be `//evil`.
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n")), "/");
        assert_eq!(safe_next(Some("/%09/evil.example")), "/", "encoded once more");
        assert_eq!(safe_next(Some("/%2F/evil.example")), "/");
        assert_eq!(safe_next(Some("/%5Cevil.example")), "/");
        assert_eq!(safe_next(Some("javascript:alert(1)")), "/");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(safe_next(Some("/ok?x=1")), "/ok?x=1");
        assert_eq!(safe_next(Some("/residents?q=张")), "/residents?q=%E5%BC%A0", "the header stays ASCII");
    }
}
