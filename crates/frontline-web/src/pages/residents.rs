//! Pages for residents: search and the resident page (masked unless revealed).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use frontline_domain::access::Perm;
use frontline_domain::i18n::catalogue;
use frontline_domain::privacy::Disclosure;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery, PageQuery};
use crate::api::residents::read_resident;
use crate::auth::Auth;
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::privacy;
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
    let who = Disclosure::masked(auth.user.role);
    let reach = privacy::reach(&state, &auth).await?;
    let mut error = None;
    let (residents, next) = if q.trim().is_empty() {
        (vec![], None)
    } else {
        let (_, after) = PageQuery { limit: None, after: sq.after }.parse()?;
        match privacy::resident_filter(&state, &auth, reach.clone(), None, None, Some(q.clone())) {
            Ok(filter) => {
                let p = state.store().list_residents(&filter, after, 50).await?;
                let rules = &state.config().rules;
                let day = today(rules);
                let views: Vec<ResidentView> =
                    p.items.into_iter().map(|r| ResidentView::new(r, who, state.code_key(), rules, day)).collect();
                (views, p.next)
            }
            // The search box keeps its text and says what a number search takes.
            Err(AppError::Invalid(errors)) => {
                error = errors.first().map(|e| catalogue().format(lang, &e.key, &e.params));
                (vec![], None)
            }
            Err(e) => return Err(e),
        }
    };
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/residents", "nav.residents"),
        ..context! {
            q => q, residents => residents, next => next, error => error,
            scoped => reach.is_some(), no_assignment => reach.as_ref().is_some_and(Vec::is_empty),
            numbers => who.may_search_phone_tail() || who.may_search_id_tail(),
        }
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
    let departure = state.store().open_departure(id).await?;
    let positives = super::lab::positive_alerts(&state, &auth, None, Some(id)).await?;
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/residents/{id}"), "nav.residents"),
        ..context! {
            r => view, history => rows, can_reveal => auth.can(Perm::RevealPersonalData),
            departure => departure, can_review => auth.can(Perm::ReviewCensus), positives => positives,
        }
    };
    page("resident.html", ctx)
}
