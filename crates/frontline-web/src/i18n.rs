//! The request's language: the `lang` cookie (set by the switch) wins, then
//! `Accept-Language`, then Chinese.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum_extra::extract::CookieJar;
use frontline_domain::i18n::Lang;

/// The name of the cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "frontline_lang";

/// The language to answer in.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    if let Some(lang) = CookieJar::from_headers(headers).get(LANG_COOKIE).and_then(|c| Lang::from_code(c.value())) {
        return lang;
    }
    headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::Zh, Lang::from_accept_language)
}

/// Extractor for the request's language.
#[derive(Debug, Clone, Copy)]
pub struct ReqLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqLang(request_lang(&parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookie_beats_accept_language() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"));
        assert_eq!(request_lang(&h), Lang::En);
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; frontline_lang=zh"));
        assert_eq!(request_lang(&h), Lang::Zh);
        assert_eq!(request_lang(&HeaderMap::new()), Lang::Zh);
    }
}
