//! Extractors whose rejections use the error envelope, and the shared list query.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{AppError, FieldError};

/// `Json<T>` with envelope rejections (400 malformed, 413 too large, 422 wrong types).
///
/// The body is read with plain `serde_json`; only a body that fails is read
/// again through axum's extractor, whose error names the path of the bad field.
/// That tracking wraps every value it reads and cost a sixth of the time of a
/// single scan's request; a good body does not need it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(AppError::BadRequest { detail: "Content-Type must be application/json".into() });
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest { detail: r.body_text() }
            }
        })?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(ApiJson(v)),
            Err(_) => axum::Json::<T>::from_bytes(&bytes).map(|axum::Json(v)| ApiJson(v)).map_err(AppError::from),
        }
    }
}

/// `application/json`, or any `application/…+json`, as axum's `Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    // Compared without lowercasing into a new string: this runs on every JSON request.
    let starts = |p: &str| essence.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    let ends = |p: &str| {
        essence.len().checked_sub(p.len()).and_then(|i| essence.get(i..)).is_some_and(|t| t.eq_ignore_ascii_case(p))
    };
    essence.eq_ignore_ascii_case("application/json") || (starts("application/") && ends("+json"))
}

#[cfg(test)]
mod tests {
    use super::json_content_type;

    fn with(value: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::CONTENT_TYPE, value.parse().expect("header value"));
        h
    }

    #[test]
    fn json_and_json_suffixed_types_are_json() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/vnd.api+json ",
            "APPLICATION/PROBLEM+JSON",
        ] {
            assert!(json_content_type(&with(yes)), "{yes}");
        }
        for no in [
            "text/json",
            "application/jsonx",
            "application/+jso",
            "text/plain+json",
            "application/x-www-form-urlencoded",
            "",
        ] {
            assert!(!json_content_type(&with(no)), "{no}");
        }
        assert!(!json_content_type(&axum::http::HeaderMap::new()));
    }
}

/// `Query<T>` with envelope rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// `Path<T>` with envelope rejections (a malformed id is a 404).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(v) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

/// Keyset pagination: `?limit=` (1–500, default 50) and `?after=` (the previous page's `next`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

impl PageQuery {
    /// The clamped limit and the parsed cursor, or a 422 naming `after`.
    pub fn parse(&self) -> Result<(i64, Option<i64>), AppError> {
        let after = frontline_store::page::parse_cursor(self.after.as_deref())
            .ok_or_else(|| AppError::Invalid(vec![FieldError::new("after", "bad_cursor")]))?;
        Ok((frontline_store::page::clamp_limit(self.limit), after))
    }
}
