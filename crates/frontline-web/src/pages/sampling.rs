//! Sampling pages: the sampler's phone page (scan a tube, then its members,
//! with who is still missing on each floor), the printable missed list
//! (补采名单) and the lab's pages; rounds themselves are in [`rounds`].

mod rounds;

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::ids::SamplingCode;
use frontline_domain::sampling::{scan_key, MissReason, RetestResult};
use frontline_store::now_ms;
use frontline_store::sampling::Scan;
use minijinja::context;
use serde::Deserialize;

use super::{page, page_ctx, write_failed, xlsx};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::sampling::MissedQuery;
use crate::auth::{self, Auth};
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sampling/rounds/{id}/scan", get(get_scan_page).post(create_scan))
        .route("/sampling/rounds/{id}/seal", axum::routing::post(create_seal))
        .route("/sampling/rounds/{id}/missed", get(list_missed).post(create_missed_reason))
        .route("/sampling/rounds/{id}/missed.xlsx", get(get_missed_export))
        .route("/sampling/results", get(get_results_page))
        .route("/sampling/retests", axum::routing::post(create_retest))
        .merge(rounds::router())
}

#[derive(Debug, Deserialize)]
struct ScanPageQuery {
    building: Option<i64>,
    tube: Option<String>,
    status: Option<String>,
    /// The resident just bound (shown by name, with the tube's count).
    who: Option<i64>,
    /// The tube just sealed.
    sealed: Option<String>,
}

/// The sampler's page: the tube being filled, the member field, and who is still missing by floor.
async fn get_scan_page(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ScanPageQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::Scan)?;
    let mut round = state.store().get_sampling_round(id).await?;
    // A volunteer sweeps the buildings of their team's assignment only (the
    // chosen building is one of these, so the door-to-door list stays within it).
    if let Some(reach) = crate::privacy::reach(&state, &auth).await? {
        round.buildings.retain(|b| reach.contains(b));
    }
    let building = q.building.filter(|b| round.buildings.contains(b)).or_else(|| round.buildings.first().copied());
    let mut floors: BTreeMap<i64, Vec<minijinja::Value>> = BTreeMap::new();
    let mut building_names = Vec::new();
    let mut bound_name = None;
    let names: HashMap<i64, String> = state.store().building_names(&round.buildings).await?.into_iter().collect();
    for b in &round.buildings {
        let name = names.get(b).ok_or(frontline_store::StoreError::NotFound)?;
        building_names.push(context! { id => b, name => name });
    }
    if let Some(b) = building {
        let sampled: HashMap<i64, String> = state.store().sampled_in_building(id, b).await?.into_iter().collect();
        let households = state.store().building_households(b).await?;
        let residents = state.store().building_residents(b).await?;
        // What the sweep already learnt about who is still missing (bedridden, refused…).
        let only_here = frontline_store::sampling::MissedFilter { building: Some(b), team: None };
        let reasons: HashMap<i64, String> = state
            .store()
            .sampling_missed(id, &only_here)
            .await?
            .into_iter()
            .filter_map(|m| Some((m.resident_id, m.reason?)))
            .collect();
        let mut by_household: HashMap<i64, Vec<_>> = HashMap::new();
        for r in residents {
            if let Some(h) = r.household_id {
                by_household.entry(h).or_default().push(r);
            }
        }
        for h in households {
            let people: Vec<minijinja::Value> = by_household
                .remove(&h.id)
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    if q.who == Some(r.id) {
                        bound_name = Some(r.name.clone());
                    }
                    // No code is shown: a person is bound by scanning the code they hold
                    // (or their ID number's tail and name), never one read off this screen.
                    context! { name => r.name, tube => sampled.get(&r.id), reason => reasons.get(&r.id) }
                })
                .collect();
            if !people.is_empty() {
                floors
                    .entry(h.floor.unwrap_or(0))
                    .or_default()
                    .push(context! { room => format!("{} {}", h.unit, h.room), people => people });
            }
        }
    }
    let floors: Vec<minijinja::Value> =
        floors.into_iter().rev().map(|(f, hs)| context! { floor => f, households => hs }).collect();
    // Only statuses the catalogue knows are shown (the address bar can say anything).
    let status = q.status.filter(|s| catalogue().has(&format!("sampling.scan_status.{s}")));
    let bound = match (status.as_deref(), bound_name, q.tube.as_deref()) {
        (Some("accepted"), Some(name), Some(tube)) => match state.store().get_tube(tube).await {
            Ok(t) => Some(context! { name => name, n => t.members }),
            Err(frontline_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/sampling/rounds/{id}/scan"), "nav.sampling"),
        ..context! {
            round => round, building => building, buildings => building_names, floors => floors,
            tube => q.tube.unwrap_or_default(), status => status, bound => bound, sealed => q.sealed,
            key => next_scan_key()?,
        }
    };
    page("sampling_scan.html", ctx)
}

/// A fresh key for the next scan sent from this page: time-ordered, see [`scan_key`].
fn next_scan_key() -> Result<String, AppError> {
    Ok(scan_key(now_ms(), u64::from_le_bytes(auth::random_bytes()?)))
}

#[derive(Debug, Deserialize)]
struct ScanForm {
    csrf: String,
    key: String,
    building: Option<i64>,
    tube: String,
    code: String,
}

/// One scan from the sampler's page (the form carries its own idempotency key).
async fn create_scan(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<ScanForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::Scan)?;
    let (resident, refusal) = match SamplingCode::parse(&f.code) {
        Ok(code) => {
            let rid = code.decode(state.code_key());
            let known = state.store().existing_residents(&[rid]).await?;
            (known.first().copied(), None)
        }
        Err(_) => match lookup_by_tail_and_name(&state, &auth, f.building, &f.code).await? {
            TailLookup::Found(rid) => (Some(rid), None),
            TailLookup::NoOne => (None, Some("tail_not_found")),
            TailLookup::NotTyped => (None, Some("malformed_code")),
        },
    };
    let scan = Scan { key: f.key.clone(), round: id, tube: f.tube.clone(), resident, refusal, at: now_ms() };
    let status = crate::api::sampling::submit_scans(&state, &auth, vec![scan]).await?.pop().unwrap_or_default();
    let building = f.building.map(|b| b.to_string()).unwrap_or_default();
    let enc = crate::error::percent_encode;
    let who = resident.filter(|_| status == "accepted").map(|r| format!("&who={r}")).unwrap_or_default();
    Ok(Redirect::to(&format!(
        "/sampling/rounds/{id}/scan?building={building}&tube={}&status={}{who}",
        enc(&f.tube),
        enc(status)
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct SealForm {
    csrf: String,
    building: Option<i64>,
    tube: String,
}

/// The sampler closes the tube early; the page comes back ready for a new tube.
async fn create_seal(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<SealForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::Scan)?;
    crate::api::sampling::check_may_seal(&state, &auth, &f.tube).await?;
    let tube = state.store().seal_tube(&auth.actor(), &f.tube, Some(id)).await?;
    let building = f.building.map(|b| b.to_string()).unwrap_or_default();
    let sealed = crate::error::percent_encode(&tube.code);
    Ok(Redirect::to(&format!("/sampling/rounds/{id}/scan?building={building}&sealed={sealed}")).into_response())
}

/// For someone without a code: "1234 陈建国" — the ID number's last characters and the name,
/// within the building being swept (and the scanner's reach). Only an exact,
/// single match counts, so it tells nothing that the name and tail did not.
async fn lookup_by_tail_and_name(
    state: &AppState,
    auth: &Auth,
    building: Option<i64>,
    typed: &str,
) -> Result<TailLookup, AppError> {
    let mut parts = typed.split_whitespace();
    let (Some(tail), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(TailLookup::NotTyped);
    };
    let tail = tail.to_ascii_uppercase();
    if !(4..=6).contains(&tail.len()) || !tail.chars().all(|c| c.is_ascii_digit() || c == 'X') {
        return Ok(TailLookup::NotTyped);
    }
    if building.is_none() {
        return Ok(TailLookup::NoOne);
    }
    let filter = frontline_store::residents::ResidentFilter {
        building,
        household: None,
        query: Some(tail.clone()),
        within: crate::privacy::reach(state, auth).await?,
        tails: frontline_store::residents::Tails { phone: false, id: true },
    };
    let found: Vec<i64> = state
        .store()
        .list_residents(&filter, None, 20)
        .await?
        .items
        .into_iter()
        .filter(|r| r.name == name && r.id_number.as_deref().is_some_and(|n| n.ends_with(&tail)))
        .map(|r| r.id)
        .collect();
    Ok(match found[..] {
        [one] => TailLookup::Found(one),
        _ => TailLookup::NoOne,
    })
}

/// What an ID-number tail and a name typed in the member field found.
enum TailLookup {
    /// Not a tail and a name at all (a mis-scanned code, say).
    NotTyped,
    /// Nobody in the building, or more than one person, matches both.
    NoOne,
    /// The one person matching both.
    Found(i64),
}

/// The missed list (补采名单), by building and floor, printable.
async fn list_missed(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MissedQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    missed_page(&state, &auth, lang, id, q.filter(), None).await
}

/// The missed list's page; `refused` is a row whose reason was not noted, and why.
async fn missed_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    id: i64,
    filter: frontline_store::sampling::MissedFilter,
    refused: Option<(i64, String)>,
) -> Result<Response, AppError> {
    let round = state.store().get_sampling_round(id).await?;
    let missed = crate::privacy::missed_list(state, auth, id, filter.clone()).await?;
    // One section per building, in list order, with its team.
    let buildings: Vec<minijinja::Value> = {
        let mut seen = HashSet::new();
        missed
            .iter()
            .filter(|m| seen.insert(m.building_id))
            .map(|m| context! { id => m.building_id, name => format!("{} {}", m.compound, m.building), team => m.team })
            .collect()
    };
    let teams: Vec<String> = {
        let mut t: Vec<String> = round.teams.iter().filter_map(|t| t.team.clone()).collect();
        t.sort();
        t.dedup();
        t
    };
    let query = missed_query(&filter);
    // The sweep notes reasons on one building's or one team's part of the list
    // (the district's whole list would carry a form per person).
    let can_note = auth.can(Perm::Scan) && (filter.building.is_some() || filter.team.is_some());
    let reasons: Vec<&str> =
        MissReason::ALL.iter().filter(|r| **r != MissReason::TubeInvalid).map(|r| r.code()).collect();
    let (refused, refusal) = refused.unzip();
    let ctx = context! {
        ..page_ctx(state, auth, lang, &format!("/sampling/rounds/{id}/missed"), "nav.sampling"),
        ..context! {
            round => round, missed => missed, buildings => buildings, teams => teams, team => filter.team,
            building => filter.building, query => query, can_note => can_note, reasons => reasons,
            refused => refused, refusal => refusal,
        }
    };
    let mut res = page("sampling_missed.html", ctx)?;
    if refused.is_some() {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The missed list's filter as a query string (`?team=…` or `?building=…`, or nothing).
fn missed_query(filter: &frontline_store::sampling::MissedFilter) -> String {
    match (&filter.team, filter.building) {
        (Some(t), _) => format!("?team={}", crate::error::percent_encode(t)),
        (None, Some(b)) => format!("?building={b}"),
        (None, None) => String::new(),
    }
}

#[derive(Debug, Deserialize)]
struct MissedReasonForm {
    csrf: String,
    resident: i64,
    /// Absent until the sweep chooses one: nothing is chosen for them.
    reason: Option<String>,
    team: Option<String>,
    building: Option<i64>,
}

/// The sweep notes why someone on the list was not sampled; back to the same part of the list.
async fn create_missed_reason(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<MissedReasonForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::Scan)?;
    state.store().get_sampling_round(id).await?;
    let filter =
        frontline_store::sampling::MissedFilter { building: f.building, team: f.team.filter(|t| !t.trim().is_empty()) };
    // Nothing chosen (a stray tap on the button): the list again, the row
    // saying what is missing, and nothing written.
    let Some(chosen) = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
        let why = catalogue().text(lang, "sampling.error.missed.reason_required").to_string();
        return missed_page(&state, &auth, lang, id, filter, Some((f.resident, why))).await;
    };
    let reason = MissReason::from_code(chosen).ok_or_else(|| AppError::field("reason", "unknown"))?;
    crate::api::sampling::note_missed_reason(&state, &auth, id, f.resident, reason).await?;
    let query = missed_query(&filter);
    Ok(Redirect::to(&format!("/sampling/rounds/{id}/missed{query}#r{}", f.resident)).into_response())
}

/// The lab's page: upload a result sheet.
async fn get_results_page(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
) -> Result<Response, AppError> {
    auth.require(Perm::LabResults)?;
    results_page(&state, &auth, lang, None, None).await
}

/// The lab's page, with what the last sheet or retest did.
async fn results_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    outcome: Option<minijinja::Value>,
    retest: Option<minijinja::Value>,
) -> Result<Response, AppError> {
    let rounds: Vec<_> =
        state.store().list_sampling_rounds().await?.into_iter().filter(|r| r.status == "open").collect();
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/sampling/results", "nav.lab"),
        ..context! { outcome => outcome, retest => retest, rounds => rounds, retest_results => RetestResult::ALL.iter().map(|r| r.code()).collect::<Vec<_>>() }
    };
    page("sampling_results.html", ctx)
}

#[derive(Deserialize)]
struct RetestForm {
    csrf: String,
    round: i64,
    code: String,
    result: String,
}

/// A single-tube retest's result, typed in by the lab: negative releases the
/// person, positive confirms a case, invalid keeps the retest due.
async fn create_retest(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    Form(f): Form<RetestForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::LabResults)?;
    let status = crate::api::lab::record_retest_result(&state, &auth, f.round, &f.code, &f.result).await?;
    let retest = context! { status => status, code => f.code.trim(), round => f.round };
    results_page(&state, &auth, lang, None, Some(retest)).await
}

/// Receives a lab's result sheet from the upload form.
async fn create_results_upload(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    mut form: axum::extract::Multipart,
) -> Result<Response, AppError> {
    auth.require(Perm::LabResults)?;
    let mut csrf = String::new();
    let mut file: Option<(String, axum::body::Bytes)> = None;
    while let Some(field) = form.next_field().await.map_err(|e| AppError::BadRequest { detail: e.body_text() })? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| AppError::BadRequest { detail: e.body_text() })?,
            Some("file") => {
                let name = field.file_name().unwrap_or("results.csv").to_string();
                file = Some((name, field.bytes().await.map_err(|e| AppError::BadRequest { detail: e.body_text() })?));
            }
            _ => {}
        }
    }
    auth.check_csrf(&csrf)?;
    let (name, bytes) = file.ok_or_else(|| AppError::field("file", "required"))?;
    let outcome = crate::api::lab::import_lab_sheet(&state, &auth, bytes, &name).await?;
    results_page(&state, &auth, lang, Some(minijinja::Value::from_serialize(&outcome)), None).await
}

/// The lab's upload route, under the larger body limit.
pub(super) fn upload_router() -> Router<AppState> {
    Router::new().route("/sampling/results", axum::routing::post(create_results_upload))
}

/// The missed list as XLSX, by building, unit and room.
async fn get_missed_export(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MissedQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    state.store().get_sampling_round(id).await?;
    let missed = crate::privacy::missed_list(&state, &auth, id, q.filter()).await?;
    let cat = frontline_domain::i18n::catalogue();
    let header = [
        "sampling.ui.team",
        "buildings.compound",
        "buildings.building",
        "building.unit",
        "building.floor",
        "building.room",
        "residents.name",
        "sampling.ui.miss_reason",
    ]
    .map(|k| cat.text(lang, k).to_string())
    .to_vec();
    let rows = missed
        .into_iter()
        .map(|m| {
            let floor = m.floor.map(|f| f.to_string()).unwrap_or_default();
            let reason =
                m.reason.map(|r| cat.text(lang, &format!("sampling.miss_reason.{r}")).to_string()).unwrap_or_default();
            [m.team.unwrap_or_default(), m.compound, m.building, m.unit, floor, m.room, m.name, reason]
                .map(frontline_import::Cell::Text)
                .to_vec()
        })
        .collect();
    let bytes = frontline_import::write_xlsx(&[frontline_import::SheetOut {
        name: cat.text(lang, "sampling.ui.missed_list").to_string(),
        header,
        rows,
    }])
    .map_err(write_failed)?;
    Ok(xlsx(&format!("missed-round-{id}.xlsx"), bytes))
}
