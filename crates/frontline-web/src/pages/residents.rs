//! Pages for residents: search and the resident page (masked unless revealed).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use frontline_domain::access::Perm;
use frontline_store::residents::ResidentFilter;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery, PageQuery};
use crate::api::residents::read_resident;
use crate::auth::Auth;
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::views::{today, ResidentView};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/residents", get(list_residents)).route("/residents/{id}", get(get_resident))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    after: Option<String>,
}

/// Search by name, phone tail, ID tail or address.
async fn list_residents(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(sq): ApiQuery<SearchQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewResidents)?;
    let q = sq.q.unwrap_or_default();
    let (residents, next) = if q.trim().is_empty() {
        (vec![], None)
    } else {
        let (_, after) = PageQuery { limit: None, after: sq.after }.parse()?;
        let filter = ResidentFilter { query: Some(q.clone()), ..Default::default() };
        let p = state.store().list_residents(&filter, after, 50).await?;
        let rules = &state.config().rules;
        let day = today(rules);
        let views: Vec<ResidentView> =
            p.items.into_iter().map(|r| ResidentView::new(r, false, state.code_key(), rules, day)).collect();
        (views, p.next)
    };
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/residents", "nav.residents"),
        ..context! { q => q, residents => residents, next => next }
    };
    page("residents.html", ctx)
}

#[derive(Debug, Deserialize)]
struct RevealQuery {
    reveal: Option<String>,
}

#[derive(Serialize)]
struct HistoryRow {
    label: String,
    from: i64,
    to: Option<i64>,
}

/// One resident; `?reveal=1` shows full data to roles allowed to, and audits it.
async fn get_resident(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> Result<Response, AppError> {
    let reveal = matches!(q.reveal.as_deref(), Some("1" | "true"));
    let view = read_resident(&state, &auth, id, reveal).await?;
    let history = state.store().address_history(id).await?;
    let mut labels: HashMap<i64, String> = HashMap::new();
    for h in history.iter().filter_map(|(h, _, _)| *h) {
        if let std::collections::hash_map::Entry::Vacant(e) = labels.entry(h) {
            let hh = state.store().get_household(h).await?;
            e.insert(format!("{} {} {} {}", hh.compound, hh.building, hh.unit, hh.room));
        }
    }
    let rows: Vec<HistoryRow> = history
        .into_iter()
        .map(|(h, from, to)| HistoryRow {
            label: h.and_then(|h| labels.get(&h).cloned()).unwrap_or_default(),
            from,
            to,
        })
        .collect();
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/residents/{id}"), "nav.residents"),
        ..context! { r => view, history => rows, can_reveal => auth.can(Perm::RevealPersonalData) }
    };
    page("resident.html", ctx)
}
