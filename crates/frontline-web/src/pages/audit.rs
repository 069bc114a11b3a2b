//! The audit log page: who (by display name) did what (in words) to which
//! object (named), when (local time), with filters as menus. Personal data in
//! the recorded changes stays masked unless revealed (`crate::redact`).

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use frontline_domain::access::Perm;
use frontline_domain::date::Date;
use frontline_domain::i18n::{catalogue, Lang};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::audit::AuditQuery;
use crate::api::extract::{ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::{percent_encode, AppError, FieldError};
use crate::i18n::ReqLang;
use crate::views::AuditView;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list_audit))
}

/// Every action the log records, in menu order; each has `audit.act.<code>`
/// (dots as underscores) in the catalogue. An action not listed is shown by its code.
pub const ACTIONS: &[&str] = &[
    "resident.reveal",
    "census.reveal",
    "reveal",
    "resident.create",
    "resident.update",
    "resident.merge",
    "resident.unmerge",
    "census.import",
    "census.keep_apart",
    "census.confirm",
    "census.conflict_resolved",
    "resident.departure_state",
    "resident.restore",
    "sampling.round.create",
    "sampling.round.teams",
    "sampling.round.close",
    "sampling.scan_batch",
    "sampling.tube.seal",
    "sampling.result",
    "sampling.result_correction",
    "sampling.retest",
    "sampling.missed",
    "sampling.exempt",
    "sampling.codes.print",
    "building.zone",
    "compound.create",
    "building.create",
    "unit.create",
    "household.create",
    "district.seed",
    "group.create",
    "group.update",
    "group.leader",
    "user.create",
    "user.group",
    "user.team",
    "user.disable",
    "user.enable",
    "user.reset_password",
    "auth.login_failed",
];

/// Every kind of object, in menu order; each has `audit.kind.<code>`.
pub const KINDS: &[&str] = &[
    "resident",
    "household",
    "building",
    "unit",
    "compound",
    "district",
    "census_round",
    "census_review",
    "census_conflict",
    "sampling_round",
    "sampling_tube",
    "group",
    "user",
    "audit_log",
];

fn action_key(action: &str) -> String {
    format!("audit.act.{}", action.replace('.', "_"))
}

/// An action in words (its code when the catalogue has no words for it).
pub fn action_words(lang: Lang, action: &str) -> String {
    let key = action_key(action);
    let cat = catalogue();
    if cat.has(&key) {
        cat.text(lang, &key).to_string()
    } else {
        action.to_string()
    }
}

fn kind_words(lang: Lang, kind: &str) -> String {
    let key = format!("audit.kind.{kind}");
    let cat = catalogue();
    if cat.has(&key) {
        cat.text(lang, &key).to_string()
    } else {
        kind.to_string()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct AuditPageQuery {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
    after: Option<String>,
    reveal: Option<String>,
}

#[derive(Serialize)]
struct AuditRow {
    at: i64,
    actor: String,
    what: String,
    ip: Option<String>,
    change: String,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

fn day_start_ms(raw: Option<&str>, field: &str, offset_minutes: i32) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Date::parse_iso(s)
            .map(|d| Some(d.days_since_epoch() * 86_400_000 - i64::from(offset_minutes) * 60_000))
            .ok_or_else(|| AppError::Invalid(vec![FieldError::new(field, "bad_date")])),
    }
}

/// Names for the objects of a page of entries, by (kind, id), in a fixed
/// number of queries whatever the page holds.
async fn object_names(
    state: &AppState,
    lang: Lang,
    entries: &[AuditView],
) -> Result<HashMap<(String, String), String>, AppError> {
    let ids = |kind: &str| -> Vec<i64> {
        let set: HashSet<i64> = entries
            .iter()
            .filter(|e| e.entity == kind)
            .filter_map(|e| e.entity_id.as_deref().and_then(|i| i.parse().ok()))
            .collect();
        set.into_iter().collect()
    };
    let store = state.store();
    let mut names: HashMap<(String, String), String> = HashMap::new();
    let mut put = |kind: &str, id: i64, name: String| {
        names.insert((kind.to_string(), id.to_string()), name);
    };
    let residents = ids("resident");
    if !residents.is_empty() {
        for r in store.get_residents(&residents).await? {
            let name = match &r.address {
                Some(a) => format!("{}（{} {} {} {}）", r.name, a.compound, a.building, a.unit, a.room),
                None => r.name.clone(),
            };
            put("resident", r.id, name);
        }
    }
    if entries.iter().any(|e| e.entity == "user") {
        for u in store.list_users().await? {
            put("user", u.id, u.display_name);
        }
    }
    if entries.iter().any(|e| e.entity == "group") {
        for g in store.list_groups().await? {
            put("group", g.id, if lang == Lang::En { g.name_en } else { g.name });
        }
    }
    let buildings = ids("building");
    if !buildings.is_empty() {
        for (id, name) in store.building_names(&buildings).await? {
            put("building", id, name);
        }
    }
    if entries.iter().any(|e| e.entity == "sampling_round") {
        for r in store.list_sampling_rounds().await? {
            put("sampling_round", r.id, r.name);
        }
    }
    if entries.iter().any(|e| e.entity == "census_round") {
        for r in store.list_rounds().await? {
            put("census_round", r.id, r.name);
        }
    }
    Ok(names)
}

/// The name an entry's own record gives its object (a compound's or unit's
/// `name`, a tube's `code` or `tube`, a household's `room`), as masked as the rest.
fn recorded_name(e: &AuditView) -> Option<String> {
    let record = e.after.as_ref().or(e.before.as_ref())?;
    ["name", "code", "tube", "room"].iter().find_map(|k| record.get(*k).and_then(|v| v.as_str()).map(str::to_string))
}

/// "查看完整个人信息：张三（书香苑 3号楼 1单元 1302）": the action and its object in words.
fn sentence(lang: Lang, e: &AuditView, names: &HashMap<(String, String), String>) -> String {
    let cat = catalogue();
    let kind = kind_words(lang, &e.entity);
    let object = match &e.entity_id {
        Some(id) => match names.get(&(e.entity.clone(), id.clone())).cloned().or_else(|| recorded_name(e)) {
            Some(name) => name,
            None => cat.format(lang, "audit.ui.object_id", &[("kind", kind), ("id", id.clone())]),
        },
        None => kind,
    };
    cat.format(lang, "audit.ui.sentence", &[("action", action_words(lang, &e.action)), ("object", object)])
}

/// The audit log with filters (commander and deputies), personal data masked;
/// `?reveal=1` unmasks it for roles allowed to, and records the read.
async fn list_audit(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<AuditPageQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewAudit)?;
    let reveal = matches!(q.reveal.as_deref(), Some("1" | "true"));
    let offset = state.config().rules.utc_offset_minutes;
    let from = day_start_ms(q.from_date.as_deref(), "from_date", offset)?;
    let to = day_start_ms(q.to_date.as_deref(), "to_date", offset)?.map(|t| t + 86_400_000);
    let filter = AuditQuery {
        actor: q.actor.clone(),
        action: q.action.clone(),
        entity: q.entity.clone(),
        from,
        to,
        ..Default::default()
    }
    .filter();
    let (_, after) = PageQuery { limit: None, after: q.after.clone() }.parse()?;
    let (items, next) = crate::api::audit::read_audit(&state, &auth, &filter, after, 100, reveal).await?;
    let users = state.store().list_users().await?;
    let display: HashMap<i64, &str> = users.iter().map(|u| (u.id, u.display_name.as_str())).collect();
    let names = object_names(&state, lang, &items).await?;
    let cat = catalogue();
    let rows: Vec<AuditRow> = items
        .iter()
        .map(|e| AuditRow {
            at: e.at,
            actor: match e.actor_id.and_then(|id| display.get(&id)) {
                Some(name) => (*name).to_string(),
                None => cat.format(lang, "audit.ui.system", &[("name", e.actor.clone())]),
            },
            what: sentence(lang, e, &names),
            ip: e.ip.clone(),
            change: match (&e.before, &e.after) {
                (None, None) => String::new(),
                (b, a) => {
                    serde_json::to_string_pretty(&serde_json::json!({"before": b, "after": a})).unwrap_or_default()
                }
            },
        })
        .collect();
    let next_href = next.as_ref().map(|n| {
        let next_q = AuditPageQuery { after: Some(n.clone()), ..q.clone() };
        format!("/audit?{}", audit_query_string(&next_q))
    });
    let reveal_href = (!reveal && auth.can(Perm::RevealPersonalData)).then(|| {
        let reveal_q = AuditPageQuery { reveal: Some("1".into()), ..q.clone() };
        format!("/audit?{}", audit_query_string(&reveal_q))
    });
    let actors: Vec<Choice> =
        users.iter().map(|u| Choice { value: u.username.clone(), label: u.display_name.clone() }).collect();
    let actions: Vec<Choice> =
        ACTIONS.iter().map(|a| Choice { value: (*a).to_string(), label: action_words(lang, a) }).collect();
    let kinds: Vec<Choice> =
        KINDS.iter().map(|k| Choice { value: (*k).to_string(), label: kind_words(lang, k) }).collect();
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/audit", "nav.audit"),
        ..context! { entries => rows, next => next, next_href => next_href, revealed => reveal,
            reveal_href => reveal_href, actors => actors, actions => actions, kinds => kinds,
            f => context! {
                actor => q_or_empty(&q.actor), action => q_or_empty(&q.action), entity => q_or_empty(&q.entity),
                from_date => q_or_empty(&q.from_date), to_date => q_or_empty(&q.to_date),
            } }
    };
    page("audit.html", ctx)
}

fn q_or_empty(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Encodes the audit filters back into a query string.
fn audit_query_string(q: &AuditPageQuery) -> String {
    let pairs = [
        ("actor", &q.actor),
        ("action", &q.action),
        ("entity", &q.entity),
        ("from_date", &q.from_date),
        ("to_date", &q.to_date),
        ("after", &q.after),
        ("reveal", &q.reveal),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", percent_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `action: "…"` and `entity: "…"` the store and the web record is
    /// listed here, so that the log never shows a bare code for it.
    #[test]
    fn every_recorded_action_and_kind_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![root.join("frontline-store/src"), root.join("frontline-web/src")];
        let mut seen = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("source dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.ends_with("pages/audit.rs") {
                    continue; // this test's own words
                }
                let source = std::fs::read_to_string(&path).expect("source");
                for (marker, list) in [("action: \"", ACTIONS), ("entity: \"", KINDS)] {
                    for piece in source.split(marker).skip(1) {
                        let code = piece.split('"').next().unwrap_or_default();
                        seen += 1;
                        assert!(
                            list.contains(&code),
                            "{} records {code:?}, not listed in the audit page",
                            path.display()
                        );
                    }
                }
            }
        }
        assert!(seen > 20, "found only {seen} recorded actions: the scan looks in the wrong place");
    }

    #[test]
    fn every_listed_action_and_kind_has_words_in_both_languages() {
        let cat = catalogue();
        for a in ACTIONS {
            assert!(cat.has(&action_key(a)), "{a}");
        }
        for k in KINDS {
            assert!(cat.has(&format!("audit.kind.{k}")), "{k}");
        }
    }
}
