//! Forms that fail validation are shown again, not replaced by an error page.
//!
//! How a page handler uses it:
//! 1. run the same parsing and service call as before;
//! 2. on `Err(e)`, call [`FormErrors::of`] with the request's language and the
//!    form's `(field, label key)` pairs: for an invalid or conflicting input it
//!    gives the messages field by field (any other error is returned as is);
//! 3. render the page again with the status [`FormErrors::status`], the
//!    person's input (as typed) and `form_errors => errors` in the context.
//!
//! In the template, `{{ error_summary() }}` (once, above the form) lists the
//! problems with links to the fields, `{{ field_error("name") }}` (beside the
//! field) prints the field's message, and `{{ invalid("name") }}` (inside the
//! input tag) marks it `aria-invalid` and points at the message. The functions
//! read `form_errors` from the context and print nothing when it is absent,
//! so a page without errors needs no variable. A field's element id is
//! `f-<name>`, its message's `f-<name>-error`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use frontline_domain::i18n::{catalogue, Lang};
use minijinja::value::Value;
use minijinja::State;
use serde::Serialize;

use crate::error::AppError;

/// A failed form's messages, by field, in the page's language.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FormErrors {
    /// Field name → message.
    fields: BTreeMap<String, String>,
    /// The summary, in the form's order: (field, "label: message").
    summary: Vec<(String, String)>,
    /// 422 for invalid input, 409 for a conflict.
    #[serde(skip)]
    status: u16,
}

impl FormErrors {
    /// The field messages of an invalid or conflicting input; any other error
    /// comes back unchanged. `labels` names each field (catalogue keys), in
    /// the form's order; a field not listed is shown under the form's first
    /// field, so that no message is lost.
    pub fn of(lang: Lang, err: AppError, labels: &[(&str, &str)]) -> Result<FormErrors, AppError> {
        let (fields, status) = match err {
            AppError::Invalid(f) => (f, StatusCode::UNPROCESSABLE_ENTITY),
            AppError::Conflict(f) => (f, StatusCode::CONFLICT),
            other => return Err(other),
        };
        let cat = catalogue();
        let mut out = FormErrors { status: status.as_u16(), ..FormErrors::default() };
        for f in &fields {
            let message = cat.format(lang, &f.key, &f.params);
            let (field, label) = labels
                .iter()
                .find(|(name, _)| *name == f.field)
                .or_else(|| labels.first())
                .map_or((f.field.as_str(), None), |(name, label)| (*name, Some(*label)));
            let line = match label {
                Some(key) => format!("{}: {message}", cat.text(lang, key)),
                None => message.clone(),
            };
            out.summary.push((field.to_string(), line));
            let entry = out.fields.entry(field.to_string()).or_default();
            if !entry.is_empty() {
                entry.push_str("; ");
            }
            entry.push_str(&message);
        }
        out.summary.sort_by_key(|(field, _)| labels.iter().position(|(name, _)| name == field));
        Ok(out)
    }

    /// The status to answer the re-shown form with.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// The message of `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

fn errors_of(state: &State) -> Option<Value> {
    state.lookup("form_errors").filter(|v| !v.is_none() && !v.is_undefined())
}

fn message_of(state: &State, name: &str) -> Option<String> {
    let fields = errors_of(state)?.get_attr("fields").ok()?;
    let message = fields.get_item(&Value::from(name)).ok()?;
    (!message.is_undefined() && !message.is_none()).then(|| message.to_string())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `field_error("name")`: the field's message, or nothing.
pub fn field_error(state: &State, name: &str) -> Value {
    match message_of(state, name) {
        Some(m) => Value::from_safe_string(format!(
            "<span class=\"field-error\" id=\"f-{}-error\">{}</span>",
            escape(name),
            escape(&m)
        )),
        None => Value::from(""),
    }
}

/// `invalid("name")`: the attributes that mark a wrong field, or nothing.
pub fn invalid(state: &State, name: &str) -> Value {
    match message_of(state, name) {
        Some(_) => {
            Value::from_safe_string(format!(" aria-invalid=\"true\" aria-describedby=\"f-{}-error\"", escape(name)))
        }
        None => Value::from(""),
    }
}

/// `error_summary()`: the problems of the form, linked to their fields, or nothing.
pub fn error_summary(state: &State) -> Value {
    let Some(errors) = errors_of(state) else { return Value::from("") };
    let Ok(summary) = errors.get_attr("summary") else { return Value::from("") };
    let Ok(items) = summary.try_iter() else { return Value::from("") };
    let lang = state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::from_code)).unwrap_or(Lang::Zh);
    let mut html = format!(
        "<div class=\"error-box error-summary\" role=\"alert\" tabindex=\"-1\"><p><strong>{}</strong></p><ul>",
        escape(catalogue().text(lang, "form.summary"))
    );
    let mut any = false;
    for item in items {
        let field = item.get_item(&Value::from(0)).map(|v| v.to_string()).unwrap_or_default();
        let line = item.get_item(&Value::from(1)).map(|v| v.to_string()).unwrap_or_default();
        html.push_str(&format!("<li><a href=\"#f-{}\">{}</a></li>", escape(&field), escape(&line)));
        any = true;
    }
    html.push_str("</ul></div>");
    if any {
        Value::from_safe_string(html)
    } else {
        Value::from("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    #[test]
    fn messages_go_to_their_fields_and_others_pass_through() {
        let err = AppError::Invalid(vec![FieldError::new("reason", "required"), FieldError::new("odd", "unknown")]);
        let errors = FormErrors::of(Lang::En, err, &[("level", "buildings.zone"), ("reason", "building.reason")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(errors.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors.get("reason"), Some(catalogue().text(Lang::En, "error.field.required")));
        // A field the form does not list lands on its first field.
        assert_eq!(errors.get("level"), Some(catalogue().text(Lang::En, "error.field.unknown")));
        assert!(FormErrors::of(Lang::En, AppError::Forbidden, &[]).is_err());
    }
}
