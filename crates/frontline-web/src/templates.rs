//! Server-rendered pages: minijinja templates embedded in the binary. Every
//! visible text comes from the catalogue through `t("key")` (a test enforces it).

use std::sync::OnceLock;

use axum::http::StatusCode;
use frontline_domain::date::Date;
use frontline_domain::i18n::{catalogue, Lang};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};

use crate::error::ErrorBody;

/// Every template, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("buildings.html", include_str!("../templates/buildings.html")),
    ("building.html", include_str!("../templates/building.html")),
    ("residents.html", include_str!("../templates/residents.html")),
    ("resident.html", include_str!("../templates/resident.html")),
    ("audit.html", include_str!("../templates/audit.html")),
    ("groups.html", include_str!("../templates/groups.html")),
    ("error.html", include_str!("../templates/error.html")),
];

fn lang_of(state: &State) -> Lang {
    state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::from_code)).unwrap_or(Lang::Zh)
}

/// `t("key", name=value…)`: the catalogue text in the page's language.
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let lang = lang_of(state);
    let mut params: Vec<(&str, String)> = Vec::new();
    for name in kwargs.args() {
        let v: Value = kwargs.get(name)?;
        params.push((name, v.to_string()));
    }
    Ok(catalogue().format(lang, key, &params))
}

/// `ms | datetime`: local date and time `YYYY-MM-DD HH:MM` (UTC+8 unless configured).
fn datetime(state: &State, ms: i64) -> String {
    let offset = state.lookup("utc_offset").and_then(|v| i64::try_from(v).ok()).unwrap_or(480);
    let local = ms + offset * 60_000;
    let date = Date::from_unix_ms(ms, i32::try_from(offset).unwrap_or(480));
    let mins = local.rem_euclid(86_400_000) / 60_000;
    format!("{date} {:02}:{:02}", mins / 60, mins % 60)
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env.add_function("t", t);
        env.add_filter("datetime", datetime);
        env
    })
}

/// Renders a template; a rendering failure is logged and becomes a plain error.
pub fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

/// The HTML error page (used by the error middleware; no account context).
pub fn render_error(lang: Lang, status: StatusCode, error: &ErrorBody) -> String {
    let ctx = minijinja::context! {
        lang => lang.code(),
        html_lang => lang.html_lang(),
        status => status.as_u16(),
        code => error.code,
        message => error.message,
        fields => error.fields.iter().map(|f| minijinja::context! { field => f.field, message => f.message }).collect::<Vec<_>>(),
        nav => Vec::<Value>::new(),
    };
    render("error.html", ctx).unwrap_or_else(|e| {
        tracing::error!(error = %e, "error page failed to render");
        format!("<!doctype html><title>{}</title><p>{}</p>", status.as_u16(), status.as_u16())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let env = env();
        for (name, _) in TEMPLATES {
            if let Err(e) = env.get_template(name) {
                panic!("{name}: {e:#}");
            }
        }
    }

    #[test]
    fn error_page_renders() {
        let body = ErrorBody { code: "not_found".into(), message: "找不到".into(), fields: vec![] };
        let ctx = minijinja::context! { lang => "zh", html_lang => "zh-CN", status => 404, code => "x", message => "m", fields => Vec::<Value>::new(), nav => Vec::<Value>::new() };
        if let Err(e) = render("error.html", ctx) {
            panic!("{e:#}");
        }
        let html = render_error(Lang::Zh, StatusCode::NOT_FOUND, &body);
        assert!(html.contains("找不到"), "{html}");
        assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    }
}
