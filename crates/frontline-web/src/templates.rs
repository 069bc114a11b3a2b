//! Server-rendered pages: minijinja templates embedded in the binary. Every
//! visible text comes from the catalogue through `t("key")` (a test enforces it).

use std::sync::OnceLock;

use axum::http::StatusCode;
use frontline_domain::date::Date;
use frontline_domain::i18n::{catalogue, Lang};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State, UndefinedBehavior};

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
    ("census.html", include_str!("../templates/census.html")),
    ("census_preview.html", include_str!("../templates/census_preview.html")),
    ("census_round.html", include_str!("../templates/census_round.html")),
    ("census_base.html", include_str!("../templates/census_base.html")),
    ("census_reviews.html", include_str!("../templates/census_reviews.html")),
    ("sampling.html", include_str!("../templates/sampling.html")),
    ("sampling_round.html", include_str!("../templates/sampling_round.html")),
    ("sampling_scan.html", include_str!("../templates/sampling_scan.html")),
    ("sampling_missed.html", include_str!("../templates/sampling_missed.html")),
    ("sampling_building.html", include_str!("../templates/sampling_building.html")),
    ("sampling_codes.html", include_str!("../templates/sampling_codes.html")),
    ("sampling_results.html", include_str!("../templates/sampling_results.html")),
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

/// `n | num`: an integer with thousands separators (`33028` → `33,028`), as
/// both languages write counts. Anything that is not an integer is shown as is.
fn num(value: Value) -> String {
    match i64::try_from(value.clone()) {
        Ok(n) => group_thousands(n),
        Err(_) => value.to_string(),
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How a template treats a variable its context lacks. Debug builds (the
/// tests) fail on any use of one, so a handler that forgets a variable or a
/// template that misspells one is caught; release builds render it as empty
/// rather than failing a page in front of a user.
const UNDEFINED: UndefinedBehavior =
    if cfg!(debug_assertions) { UndefinedBehavior::Strict } else { UndefinedBehavior::Chainable };

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(UNDEFINED);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env.add_function("t", t);
        env.add_filter("datetime", datetime);
        env.add_filter("num", num);
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
        // No request here: no account, and the language switch leads home.
        user => (),
        path => "/",
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
    fn counts_carry_thousands_separators() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(12_000), "12,000");
        assert_eq!(group_thousands(33_028), "33,028");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
        assert_eq!(num(Value::from("n/a")), "n/a");
        assert_eq!(num(Value::from(1_042)), "1,042");
    }

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
        let ctx = minijinja::context! { lang => "zh", html_lang => "zh-CN", status => 404, code => "x", message => "m", fields => Vec::<Value>::new(), nav => Vec::<Value>::new(), user => (), path => "/" };
        if let Err(e) = render("error.html", ctx) {
            panic!("{e:#}");
        }
        let html = render_error(Lang::Zh, StatusCode::NOT_FOUND, &body);
        assert!(html.contains("找不到"), "{html}");
        assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    }

    /// A variable the context lacks fails the page in debug builds (the
    /// tests), however the template uses it: printed, tested, looped over or
    /// looked into. Release builds render it as empty.
    #[test]
    fn an_undefined_variable_fails_the_render_in_debug_builds() {
        let ctx = minijinja::context! { user => minijinja::context! { name => "x" }, nothing => () };
        for source in [
            "{{ missing }}",
            "{% if missing %}x{% endif %}",
            "{% for m in missing %}{{ m }}{% endfor %}",
            "{{ user.missing }}",
            "{{ missing.name }}",
        ] {
            let rendered = env().render_str(source, &ctx);
            assert_eq!(rendered.is_err(), cfg!(debug_assertions), "{source}: {rendered:?}");
        }
        // A variable given as none is defined: optional parts are passed, not left out.
        assert_eq!(env().render_str("{% if nothing %}x{% endif %}{{ user.name }}", &ctx).expect("renders"), "x");
        // The same holds for the real templates: the error page without the
        // `user` its header tests.
        let ctx = minijinja::context! { lang => "zh", html_lang => "zh-CN", path => "/", status => 404, message => "m", fields => Vec::<Value>::new(), nav => Vec::<Value>::new() };
        assert_eq!(render("error.html", ctx).is_err(), cfg!(debug_assertions));
    }

    /// Removes `{# … #}`, `{% … %}` and `{{ … }}`, returning the template's literal text.
    fn literal_text(source: &str) -> String {
        let mut out = String::new();
        let mut rest = source;
        while let Some(start) = rest.find('{') {
            let close = match rest[start..].chars().nth(1) {
                Some('{') => "}}",
                Some('%') => "%}",
                Some('#') => "#}",
                _ => {
                    out.push_str(&rest[..=start]);
                    rest = &rest[start + 1..];
                    continue;
                }
            };
            out.push_str(&rest[..start]);
            out.push(' ');
            match rest[start..].find(close) {
                Some(end) => rest = &rest[start + end + 2..],
                None => panic!("unclosed tag in template"),
            }
        }
        out.push_str(rest);
        out
    }

    /// Text a person sees: text between tags (scripts excluded), and the visible attributes.
    fn visible_text(html: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let mut without_scripts = String::new();
        let mut rest = html;
        while let Some(start) = rest.find("<script") {
            without_scripts.push_str(&rest[..start]);
            rest = rest[start..].find("</script>").map_or("", |end| &rest[start + end + 9..]);
        }
        without_scripts.push_str(rest);
        let mut rest = without_scripts.as_str();
        while let Some(lt) = rest.find('<') {
            seen.push(rest[..lt].to_string());
            let gt = rest[lt..].find('>').map_or(rest.len(), |g| lt + g);
            let tag = &rest[lt..gt];
            for attr in ["placeholder=", "title=", "alt=", "aria-label=", "value="] {
                // An option's value is sent, not shown.
                if attr == "value=" && tag.starts_with("<option") {
                    continue;
                }
                let mut t = tag;
                while let Some(i) = t.find(attr) {
                    let after = &t[i + attr.len()..];
                    let quote = after.chars().next().unwrap_or('"');
                    let inner = &after[1..];
                    let end = inner.find(quote).unwrap_or(inner.len());
                    seen.push(inner[..end].to_string());
                    t = &inner[end..];
                }
            }
            rest = if gt < rest.len() { &rest[gt + 1..] } else { "" };
        }
        seen.push(rest.to_string());
        seen
    }

    #[test]
    fn templates_print_no_text_outside_the_catalogue() {
        for (name, source) in TEMPLATES {
            let literal = literal_text(source);
            // The page's JavaScript-free markup only: drop entity references.
            for text in visible_text(&literal) {
                let cleaned = text.replace("&amp;", "").replace("&nbsp;", "");
                let letters: String = cleaned.chars().filter(|c| c.is_alphabetic()).collect();
                assert!(letters.is_empty(), "{name} prints literal text {:?}; use t(\"…\")", text.trim());
            }
        }
    }

    #[test]
    fn the_checker_catches_literal_text() {
        let bad = "<p>Hello {{ t('x') }}</p><input placeholder=\"搜索\">";
        let texts = visible_text(&literal_text(bad));
        assert!(texts.iter().any(|t| t.contains("Hello")));
        assert!(texts.iter().any(|t| t.contains("搜索")));
        let good = "<p>{{ t('x') }} · ({{ n }})</p><input placeholder=\"{{ t('y') }}\">";
        assert!(visible_text(&literal_text(good)).iter().all(|t| !t.chars().any(char::is_alphabetic)));
    }

    /// Every literal key in `t("…")` calls, and the prefixes of computed ones (`t("zone." ~ z)`).
    fn keys_used(source: &str) -> (Vec<String>, Vec<String>) {
        let mut keys = Vec::new();
        let mut prefixes = Vec::new();
        for quote in ['"', '\''] {
            let open = format!("t({quote}");
            let mut rest = source;
            while let Some(i) = rest.find(&open) {
                let after = &rest[i + open.len()..];
                let end = after.find(quote).unwrap_or(after.len());
                let key = after[..end].to_string();
                let tail = after[end + 1..].trim_start();
                if tail.starts_with('~') {
                    prefixes.push(key);
                } else {
                    keys.push(key);
                }
                rest = &after[end..];
            }
        }
        (keys, prefixes)
    }

    #[test]
    fn every_key_a_template_uses_exists_in_both_languages() {
        let cat = catalogue();
        assert!(cat.problems().is_empty(), "{:?}", cat.problems());
        let mut used = 0;
        for (name, source) in TEMPLATES {
            let (keys, prefixes) = keys_used(source);
            for key in keys {
                assert!(cat.has(&key), "{name} uses missing key {key}");
                used += 1;
            }
            for prefix in prefixes {
                assert!(cat.keys().any(|k| k.starts_with(&prefix)), "{name} uses missing key family {prefix}…");
            }
        }
        assert!(used > 50, "the key scanner found too few keys ({used})");
    }

    #[test]
    fn computed_key_families_are_complete() {
        use frontline_domain::access::Role;
        use frontline_domain::people::SpecialNeed;
        use frontline_domain::places::ZoneLevel;
        let cat = catalogue();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(Role::ALL.iter().map(|r| format!("role.{}", r.code())));
        keys.extend(ZoneLevel::ALL.iter().map(|z| format!("zone.{}", z.code())));
        keys.extend(SpecialNeed::ALL.iter().map(|n| format!("need.{}", n.code())));
        keys.extend(
            ["sex.male", "sex.female", "doc_kind.cn_id", "doc_kind.passport", "doc_kind.none"].map(String::from),
        );
        for code in [
            "unauthenticated",
            "bad_credentials",
            "forbidden",
            "csrf",
            "not_found",
            "method_not_allowed",
            "invalid",
            "bad_request",
            "conflict",
            "payload_too_large",
            "too_many_requests",
            "unavailable",
            "internal",
        ] {
            keys.push(format!("error.{code}"));
        }
        // Every status a scan can be answered with is shown on the sampler's page.
        keys.extend(
            frontline_domain::sampling::ScanRefusal::ALL
                .iter()
                .map(|r| r.code())
                .chain(frontline_store::sampling::OTHER_SCAN_STATUSES)
                .map(|s| format!("sampling.scan_status.{s}")),
        );
        for key in keys {
            assert!(cat.has(&key), "missing {key}");
        }
    }

    /// Every field-error code written in the source (`FieldError::new(field,
    /// "code")`, `AppError::field(field, "code")`) has its message
    /// `error.field.<code>`: an API answer never shows a raw key.
    #[test]
    fn field_error_codes_have_messages() {
        fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(&path).expect("source"));
                }
            }
        }
        let mut files = Vec::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let cat = catalogue();
        let mut checked = 0;
        for text in &files {
            for marker in ["FieldError::new(", "AppError::field("] {
                for (at, _) in text.match_indices(marker) {
                    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                    if text[line_start..at].contains("//") {
                        continue; // a comment
                    }
                    let call = &text[at + marker.len()..];
                    let mut depth = 0;
                    let end = call
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += i32::from(c == '(') - i32::from(c == ')');
                            depth < 0
                        })
                        .map_or(call.len(), |(i, _)| i);
                    let call = &call[..end];
                    // The code is the call's last string literal (the field may be one too, or computed).
                    let Some(code) = call.rsplit('"').nth(1) else { continue };
                    if call.trim_end().ends_with('"')
                        && !code.is_empty()
                        && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    {
                        assert!(cat.has(&format!("error.field.{code}")), "no message for field error code {code:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 30, "the scanner found too few field errors ({checked})");
    }
}
