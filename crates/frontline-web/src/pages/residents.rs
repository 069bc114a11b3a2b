//! Pages for residents: search, and the resident page (masked unless
//! revealed) with household, sampling history, census rows and the edit form.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::people::SpecialNeed;
use frontline_domain::privacy::{Disclosure, ResidentField};
use frontline_store::residents::ResidentFilter;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery, PageQuery};
use crate::api::residents::{change_resident, read_resident, ResidentPatchInput};
use crate::auth::Auth;
use crate::census::disclose_rows;
use crate::error::{AppError, FieldError};
use crate::i18n::ReqLang;
use crate::privacy;
use crate::views::{today, ResidentView};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/residents", get(list_residents))
        .route("/residents/{id}", get(get_resident).post(post_resident))
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
    saved: Option<String>,
}

#[derive(Serialize)]
struct HistoryRow {
    label: String,
    from: i64,
    to: Option<i64>,
}

#[derive(Serialize)]
struct TraceLine {
    round_id: i64,
    round: String,
    file_name: String,
    row_number: i64,
    outcome: String,
    cells: String,
}

/// What the edit form shows: the resident's values, or what was typed.
#[derive(Debug, Default, Serialize)]
struct EditForm {
    name: String,
    phone: String,
    phone_remove: bool,
    needs: Vec<String>,
}

impl EditForm {
    /// From the posted pairs (checkboxes repeat their name).
    fn from_pairs(pairs: &[(String, String)]) -> (EditForm, String) {
        let mut form = EditForm::default();
        let mut csrf = String::new();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => csrf.clone_from(v),
                "name" => form.name.clone_from(v),
                "phone" => form.phone.clone_from(v),
                "phone_remove" => form.phone_remove = true,
                "needs" => form.needs.push(v.clone()),
                _ => {}
            }
        }
        (form, csrf)
    }

    fn input(&self) -> ResidentPatchInput {
        let phone = if self.phone_remove {
            Some(None)
        } else if self.phone.trim().is_empty() {
            None
        } else {
            Some(Some(self.phone.clone()))
        };
        ResidentPatchInput {
            name: Some(self.name.clone()),
            phone,
            special_needs: Some(self.needs.clone()),
            ..Default::default()
        }
    }
}

/// The needs a person can have recorded (very old and infant follow from the birth date).
fn recordable_needs() -> Vec<&'static str> {
    SpecialNeed::ALL
        .into_iter()
        .filter(|n| !matches!(n, SpecialNeed::Elderly | SpecialNeed::Infant))
        .map(SpecialNeed::code)
        .collect()
}

/// The resident page: facts, household members, sampling history, the
/// census rows behind the record, the address history and, for editors, the
/// edit form (`form` and `errors` after a failed save).
async fn resident_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    id: i64,
    reveal: bool,
    form: Option<(EditForm, Vec<FieldError>)>,
    saved: bool,
) -> Result<Response, AppError> {
    let view = read_resident(state, auth, id, reveal).await?;
    let who = if reveal {
        Disclosure::revealed(auth.user.role).ok_or(AppError::Forbidden)?
    } else {
        Disclosure::masked(auth.user.role)
    };
    let rules = &state.config().rules;
    let day = today(rules);
    let members: Vec<ResidentView> = match view.household {
        None => vec![],
        Some(h) => {
            let within = privacy::reach(state, auth).await?;
            let filter = ResidentFilter { household: Some(h), within, ..Default::default() };
            let page = state.store().list_residents(&filter, None, 50).await?;
            page.items
                .into_iter()
                .filter(|r| r.id != id)
                .map(|r| ResidentView::new(r, Disclosure::masked(auth.user.role), state.code_key(), rules, day))
                .collect()
        }
    };
    let sampling = if auth.can(Perm::ViewSampling) { Some(state.store().resident_sampling(id).await?) } else { None };
    let trace = if auth.can(Perm::ViewCensus) {
        let rows = state.store().resident_trace(id).await?;
        Some(
            rows.into_iter()
                .map(|mut t| {
                    disclose_rows(std::slice::from_mut(&mut t.raw), who);
                    TraceLine {
                        round_id: t.round_id,
                        round: t.round,
                        file_name: t.file_name,
                        row_number: t.row_number,
                        outcome: t.outcome,
                        cells: t.raw.iter().filter(|c| !c.trim().is_empty()).cloned().collect::<Vec<_>>().join(" · "),
                    }
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
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
    let positives = super::lab::positive_alerts(state, auth, None, Some(id)).await?;
    let can_edit = auth.can(Perm::EditResidents);
    let failed = form.is_some();
    let (form, errors) = form.unwrap_or_else(|| {
        let needs = view.special_needs.clone();
        (EditForm { name: view.name.clone(), phone: String::new(), phone_remove: false, needs }, vec![])
    });
    let cat = catalogue();
    let messages: Vec<(String, String)> =
        errors.iter().map(|e| (e.field.clone(), cat.format(lang, &e.key, &e.params))).collect();
    let message = |field: &str| messages.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone());
    let field_errors = context! {
        name => message("name"), phone => message("phone"), special_needs => message("special_needs"),
    };
    let errors: Vec<minijinja::Value> =
        messages.iter().map(|(field, message)| context! { field => field, message => message }).collect();
    let shows_phone = who.shows(ResidentField::Phone);
    let ctx = context! {
        ..page_ctx(state, auth, lang, &format!("/residents/{id}"), "nav.residents"),
        ..context! {
            r => view, history => rows, can_reveal => auth.can(Perm::RevealPersonalData),
            members => members, sampling => sampling, trace => trace, shows_phone => shows_phone,
            can_edit => can_edit, form => form, errors => errors, field_errors => field_errors, saved => saved,
            need_choices => recordable_needs(),
            departure => departure, can_review => auth.can(Perm::ReviewCensus), positives => positives,
        }
    };
    let mut res = page("resident.html", ctx)?;
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
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
    resident_page(&state, &auth, lang, id, reveal, None, q.saved.is_some()).await
}

/// Saves the edit form: every field checked first and nothing written on an
/// error (the form comes back with what was typed and each message beside
/// its field); the change is audited.
async fn post_resident(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(pairs) = form?;
    let (form, csrf) = EditForm::from_pairs(&pairs);
    auth.check_csrf(&csrf)?;
    match change_resident(&state, &auth, id, form.input()).await {
        Ok(_) => Ok(Redirect::to(&format!("/residents/{id}?saved=1")).into_response()),
        Err(AppError::Invalid(errors)) => {
            resident_page(&state, &auth, lang, id, false, Some((form, errors)), false).await
        }
        Err(e) => Err(e),
    }
}
