//! Server-rendered pages: minijinja templates embedded in the binary. Every
//! visible text comes from the catalogue through `t("key")` (a test enforces it).

use std::sync::OnceLock;

use axum::http::StatusCode;
use frontline_domain::date::Date;
use frontline_domain::i18n::{catalogue, Lang};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State, UndefinedBehavior};

use serde::Serialize;

use crate::error::ErrorBody;

/// One entry of the menu: a page the account can use.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// The catalogue key of its name.
    pub key: &'static str,
    /// The page.
    pub href: &'static str,
    /// Whether it is the page shown.
    pub active: bool,
}

/// The signed-in account as every page's header and menu show it.
#[derive(Debug, Clone, Serialize)]
pub struct Shell {
    /// `display_name`, `role` (code) and `username`.
    pub user: ShellUser,
    /// The session's CSRF token (the logout form).
    pub csrf: String,
    /// The menu.
    pub nav: Vec<NavItem>,
    /// The district's offset from UTC, in minutes.
    pub utc_offset: i32,
}

/// The account in the header.
#[derive(Debug, Clone, Serialize)]
pub struct ShellUser {
    /// The name people know.
    pub display_name: String,
    /// The role's code.
    pub role: &'static str,
    /// The login name.
    pub username: String,
}

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
    ("census_scope.html", include_str!("../templates/census_scope.html")),
    ("census_base.html", include_str!("../templates/census_base.html")),
    ("census_reviews.html", include_str!("../templates/census_reviews.html")),
    ("sampling.html", include_str!("../templates/sampling.html")),
    ("sampling_round.html", include_str!("../templates/sampling_round.html")),
    ("sampling_close.html", include_str!("../templates/sampling_close.html")),
    ("sampling_scan.html", include_str!("../templates/sampling_scan.html")),
    ("sampling_missed.html", include_str!("../templates/sampling_missed.html")),
    ("sampling_building.html", include_str!("../templates/sampling_building.html")),
    ("sampling_codes.html", include_str!("../templates/sampling_codes.html")),
    ("sampling_results.html", include_str!("../templates/sampling_results.html")),
    ("lab_tubes.html", include_str!("../templates/lab_tubes.html")),
    ("lab_corrections.html", include_str!("../templates/lab_corrections.html")),
    ("lab_alert.html", include_str!("../templates/lab_alert.html")),
    ("lab_home.html", include_str!("../templates/lab_home.html")),
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
        // Named apart from any page's own `now`, which would hide it.
        env.add_function("print_time", frontline_store::now_ms);
        env.add_function("field_error", crate::forms::field_error);
        env.add_function("invalid", crate::forms::invalid);
        env.add_function("error_summary", crate::forms::error_summary);
        env.add_filter("datetime", datetime);
        env.add_filter("num", num);
        env
    })
}

/// Renders a template; a rendering failure is logged and becomes a plain error.
pub fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

/// The HTML error page (used by the error middleware), inside the page frame:
/// with the header and menu of the signed-in account when there is one
/// (`shell`), and a language switch that leads back to `path`.
pub fn render_error(lang: Lang, status: StatusCode, error: &ErrorBody, shell: Option<Shell>, path: &str) -> String {
    let fields =
        error.fields.iter().map(|f| minijinja::context! { field => f.field, message => f.message }).collect::<Vec<_>>();
    let ctx = minijinja::context! {
        lang => lang.code(),
        html_lang => lang.html_lang(),
        status => status.as_u16(),
        code => error.code,
        message => error.message,
        fields => fields,
        path => path,
        nav => shell.as_ref().map(|s| s.nav.clone()).unwrap_or_default(),
        user => shell.as_ref().map(|s| Value::from_serialize(&s.user)),
        csrf => shell.as_ref().map(|s| s.csrf.clone()),
        utc_offset => shell.as_ref().map_or(480, |s| s.utc_offset),
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

    /// The frame of a signed-in page, for rendering templates in tests.
    fn signed_in(extra: Value) -> Value {
        minijinja::context! {
            lang => "zh", html_lang => "zh-CN", path => "/", csrf => "t", utc_offset => 480,
            user => minijinja::context! { display_name => "值班员甲", role => "commander", username => "a" },
            nav => vec![NavItem { key: "nav.home", href: "/", active: true }],
            ..extra
        }
    }

    #[test]
    fn pages_group_their_counts_and_print_their_time_and_user() {
        let building = minijinja::context! {
            id => 1, compound => "兴古湾·书香苑", name => "3号楼", floors => 33, households => 1_042,
            residents => 33_028, zone => (),
        };
        let html = render("buildings.html", signed_in(minijinja::context! { buildings => vec![building], next => () }))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(html.contains(">1,042<") && html.contains(">33,028<"), "{html}");
        let ctx = minijinja::context! {
            overview => minijinja::context! { compounds => 3, buildings => 59, households => 12_000, residents => 33_028 },
            needs => vec![minijinja::context! { code => "elderly", count => 2_500 }],
            district => "兴古街道", work => (),
            // The parts other roles see, given as none, as the home page gives them.
            positives => Vec::<Value>::new(), corrections => Vec::<Value>::new(), lab => (), overdue_alert => (), zoned => (),
            can_correct => false,
            rounds => vec![minijinja::context! { id => 1, name => "第一轮", expected => 33_028, sampled => 31_719, missed => 1_309 }],
        };
        let html = render("home.html", signed_in(ctx)).unwrap_or_else(|e| panic!("{e:#}"));
        for n in ["12,000", "33,028", "2,500", "31,719", "1,309"] {
            assert!(html.contains(&format!(">{n}<")), "{n} in {html}");
        }
        // The print-only footer: when, and by whom.
        let footer = &html[html.find("class=\"print-only printed\"").expect("print footer")..];
        assert!(footer.contains("值班员甲"), "{footer}");
        let year = frontline_domain::date::Date::from_unix_ms(frontline_store::now_ms(), 480).to_string();
        assert!(footer.contains(&year[..8]), "no print time: {footer}");
    }

    /// A page may pass its own `now` (the code sheets do); the print footer's
    /// time is not hidden by it.
    #[test]
    fn a_pages_own_now_leaves_the_print_time() {
        let html = render("home.html", signed_in(minijinja::context! {
            now => 0, overview => (), needs => Vec::<Value>::new(), district => (), work => (),
            positives => Vec::<Value>::new(), corrections => Vec::<Value>::new(), lab => (), overdue_alert => (), zoned => (),
            can_correct => false, rounds => Vec::<Value>::new(),
        }))
        .unwrap_or_else(|e| panic!("{e:#}"));
        let footer = &html[html.find("class=\"print-only printed\"").expect("print footer")..];
        let today = frontline_domain::date::Date::from_unix_ms(frontline_store::now_ms(), 480).to_string();
        assert!(footer.contains(&today[..8]), "no print time: {footer}");
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
        let html = render_error(Lang::Zh, StatusCode::NOT_FOUND, &body, None, "/");
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
                // An option's, a button's, a radio's, a tick box's or a hidden
                // field's value is sent, not shown.
                if attr == "value=" && (tag.starts_with("<option") || tag.starts_with("<button") || sent_not_shown(tag))
                {
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

    /// An input whose value the browser sends without showing it.
    fn sent_not_shown(tag: &str) -> bool {
        tag.starts_with("<input")
            && ["type=\"radio\"", "type=\"checkbox\"", "type=\"hidden\""].iter().any(|t| tag.contains(t))
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

    /// The opening tags of `name` (`<td …>`) in a template, `{{ … }}` and `{% … %}` inside them skipped.
    fn opening_tags<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
        let open = format!("<{name}");
        let mut tags = Vec::new();
        let mut from = 0;
        while let Some(i) = source[from..].find(&open) {
            let start = from + i;
            let after = source[start + open.len()..].chars().next();
            from = start + open.len();
            if !matches!(after, Some(' ' | '>' | '\n')) {
                continue; // `<tdx`, `<thead`
            }
            let bytes = source.as_bytes();
            let mut j = start + open.len();
            while j < source.len() && bytes[j] != b'>' {
                if bytes[j] == b'{' && matches!(bytes.get(j + 1), Some(b'{' | b'%')) {
                    let close = if bytes[j + 1] == b'{' { "}}" } else { "%}" };
                    j += source[j..].find(close).map_or(source.len() - j, |e| e + 2);
                } else {
                    j += 1;
                }
            }
            tags.push(&source[start..j.min(source.len())]);
            from = j.min(source.len());
        }
        tags
    }

    /// On a phone a table's rows are cards whose cells name their column:
    /// every data cell of every template carries `data-label` (a cell that
    /// spans the row, such as "none yet", needs none).
    #[test]
    fn every_table_cell_carries_a_label() {
        let mut cells = 0;
        for (name, source) in TEMPLATES {
            for tag in opening_tags(source, "td") {
                cells += 1;
                assert!(
                    tag.contains("data-label=") || tag.contains("colspan="),
                    "{name}: a table cell without data-label: {tag}"
                );
            }
        }
        assert!(cells > 60, "the scanner found too few cells ({cells})");
        // The scanner sees through template tags and skips other elements.
        let tags = opening_tags("<thead><td class=\"{{ 'a' if x > 1 }}\">x</td><td>", "td");
        assert_eq!(tags, vec!["<td class=\"{{ 'a' if x > 1 }}\"", "<td"]);
    }

    #[test]
    fn the_checker_catches_literal_text() {
        let bad = "<p>Hello {{ t('x') }}</p><input placeholder=\"搜索\">";
        let texts = visible_text(&literal_text(bad));
        assert!(texts.iter().any(|t| t.contains("Hello")));
        assert!(texts.iter().any(|t| t.contains("搜索")));
        // A text field's value is shown; a radio's is only sent.
        let shown = "<input name=\"q\" value=\"buildings\">";
        assert!(visible_text(&literal_text(shown)).iter().any(|t| t.contains("buildings")));
        let good = "<p>{{ t('x') }} · ({{ n }})</p><input placeholder=\"{{ t('y') }}\"><input type=\"radio\" name=\"scope\" value=\"buildings\">";
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
