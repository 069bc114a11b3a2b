//! The headers every answer carries, whatever produced it (page, API, error,
//! asset, health check): set once, by the outermost layer
//! ([`crate::error::RenderErrors`]).

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};

/// Scripts and styles come only from this site's files (`/assets/…`), never
/// inline: injected markup cannot run. No plugins, no `<base>` elsewhere, forms
/// post only here, and no other site may frame the pages.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; \
                       base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers; `Cache-Control: no-store` unless the answer set
/// its own caching (the static assets do), so that pages and API answers with
/// people's data are never kept by a browser or a proxy.
pub fn harden(headers: &mut HeaderMap) {
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
}
