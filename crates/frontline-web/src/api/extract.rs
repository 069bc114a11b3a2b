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
            Err(_) => Err(body_error::<T>(&bytes)),
        }
    }
}

/// Why a JSON body that failed to parse failed, read again with path
/// tracking: 400 when it is not JSON at all, else 422 naming the field
/// (`scans[0].round`) and, for a wrong type, what it should be — in the
/// catalogue's words, not the parser's.
fn body_error<T: DeserializeOwned>(bytes: &[u8]) -> AppError {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => match de.end() {
            Ok(()) => return AppError::BadRequest { detail: "unreadable JSON body".into() },
            Err(e) => return AppError::BadRequest { detail: e.to_string() },
        },
        Err(e) => e,
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    if !inner.is_data() {
        return AppError::BadRequest { detail: inner.to_string() };
    }
    let text = inner.to_string();
    let message = text.rfind(" at line ").map_or(text.as_str(), |i| &text[..i]);
    let within = |name: &str| if path == "." { name.to_string() } else { format!("{path}.{name}") };
    let field = if path == "." { "body".to_string() } else { path.clone() };
    let error = if let Some(name) = quoted(message.strip_prefix("missing field ")) {
        FieldError::new(&within(name), "required")
    } else if let Some(name) = quoted(message.strip_prefix("unknown field ")) {
        FieldError::new(&within(name), "unknown")
    } else if message.starts_with("unknown variant ") {
        FieldError::new(&field, "unknown")
    } else {
        match message.rsplit_once(", expected ").map(|(_, e)| expected_kind(e)) {
            Some(Some(kind)) => FieldError::keyed(&field, "type", format!("error.field.type_{kind}"), vec![]),
            _ => FieldError::keyed(&field, "type", "error.field.type".into(), vec![("detail", message.to_string())]),
        }
    };
    AppError::Invalid(vec![error])
}

/// The name between backticks at the start of `rest` (serde's `` `round` ``).
fn quoted(rest: Option<&str>) -> Option<&str> {
    rest?.strip_prefix('`')?.split('`').next()
}

/// What serde expected, as one of the catalogue's kinds of value.
fn expected_kind(expected: &str) -> Option<&'static str> {
    let e = expected.trim();
    let integer = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize"];
    if integer.contains(&e) || e.contains("integer") {
        Some("integer")
    } else if e == "f64" || e == "f32" || e.contains("number") || e.contains("float") {
        Some("number")
    } else if e == "a string" || e.contains("char") {
        Some("text")
    } else if e == "a boolean" {
        Some("bool")
    } else if e.contains("sequence") {
        Some("list")
    } else if e.starts_with("struct ") || e == "a map" {
        Some("object")
    } else {
        None
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
    use super::{body_error, json_content_type};
    use crate::error::AppError;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Scan {
        key: String,
        round: i64,
        at: Option<i64>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Batch {
        scans: Vec<Scan>,
        label: Option<String>,
    }

    /// (field, code, message key) of a body's one field error.
    fn field_error(body: &str) -> (String, String, String) {
        match body_error::<Batch>(body.as_bytes()) {
            AppError::Invalid(fields) if fields.len() == 1 => {
                (fields[0].field.clone(), fields[0].code.clone(), fields[0].key.clone())
            }
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_body_that_fails_names_the_field_and_what_it_should_be() {
        let f = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            field_error(r#"{"scans":[{"key":"k","round":1},{"key":"k","round":"7"}]}"#),
            f("scans[1].round", "type", "error.field.type_integer")
        );
        assert_eq!(field_error(r#"{"scans":[{"key":"k"}]}"#), f("scans[0].round", "required", "error.field.required"));
        assert_eq!(field_error(r#"{"label":"x"}"#), f("scans", "required", "error.field.required"));
        assert_eq!(field_error(r#"{"scans":{}}"#), f("scans", "type", "error.field.type_list"));
        assert_eq!(field_error(r#"{"scans":[],"label":5}"#), f("label", "type", "error.field.type_text"));
        assert_eq!(field_error(r#""x""#), f("body", "type", "error.field.type_object"));
        for not_json in ["{\"scans\":[", "scans", "{\"scans\":[]} x"] {
            assert!(matches!(body_error::<Batch>(not_json.as_bytes()), AppError::BadRequest { .. }), "{not_json}");
        }
    }

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
