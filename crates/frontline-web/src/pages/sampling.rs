//! Sampling pages: rounds, live coverage, the sampler's phone page (scan a
//! tube, then its members, with who is still missing on each floor), and the
//! printable missed list (补采名单).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::date::parse_local_datetime;
use frontline_domain::i18n::Lang;
use frontline_domain::ids::SamplingCode;
use frontline_domain::sampling::RetestResult;
use frontline_store::now_ms;
use frontline_store::residents::Resident;
use frontline_store::sampling::NewRound;
use futures_util::stream::{self, Stream};
use minijinja::context;
use serde::Deserialize;

use super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::sampling::{check_teams, TeamInput};
use crate::auth::Auth;
use crate::error::{AppError, FieldError};
use crate::i18n::ReqLang;
use crate::AppState;

mod missed;
mod scan;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sampling", get(list_rounds).post(create_round))
        .route("/sampling/rounds/{id}", get(get_round))
        .route("/sampling/rounds/{id}/teams", axum::routing::post(update_teams))
        .route("/sampling/rounds/{id}/buildings/{building}", get(get_building))
        .route("/sampling/rounds/{id}/coverage/stream", get(get_coverage_stream))
        .route("/sampling/rounds/{id}/scan", get(scan::get_scan_page).post(scan::create_scan))
        .route("/sampling/rounds/{id}/seal", axum::routing::post(scan::create_seal))
        .route("/sampling/rounds/{id}/missed", get(missed::list_missed).post(missed::create_missed_reason))
        .route("/sampling/rounds/{id}/missed.xlsx", get(missed::get_missed_export))
        .route("/sampling/codes", get(list_codes))
        .route("/sampling/results", get(get_results_page))
        .route("/sampling/retests", axum::routing::post(create_retest))
}

/// Rounds, and the form to start one.
async fn list_rounds(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    let rounds = state.store().list_sampling_rounds().await?;
    let buildings = state.store().list_buildings(None, None, 500).await?.items;
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/sampling", "nav.sampling"),
        ..context! { rounds => rounds, buildings => buildings, pool_sizes => state.config().rules.sampling.allowed_sizes(), default_pool_size => state.config().rules.sampling.default_pool_size, can_manage => auth.can(Perm::ManageSampling),
            can_print_codes => auth.can(Perm::EditResidents) }
    };
    page("sampling.html", ctx)
}

/// Starts a round from the form (`building` repeated for each building in scope).
async fn create_round(
    State(state): State<AppState>,
    auth: Auth,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    auth.check_csrf(&get("csrf").unwrap_or_default())?;
    auth.require(Perm::ManageSampling)?;
    let name = get("name")
        .as_deref()
        .and_then(frontline_domain::places::clean_name)
        .ok_or_else(|| AppError::field("name", "required"))?;
    let rules = &state.config().rules.sampling;
    let pool_size: u32 = get("pool_size").and_then(|p| p.parse().ok()).unwrap_or(rules.default_pool_size);
    if rules.check_pool_size(pool_size).is_err() {
        return Err(AppError::field("pool_size", "unknown"));
    }
    let mode = get("mode").unwrap_or_else(|| "door_to_door".into());
    if mode != "door_to_door" && mode != "fixed_point" {
        return Err(AppError::field("mode", "unknown"));
    }
    let deadline = match get("deadline").filter(|d| !d.trim().is_empty()) {
        None => None,
        Some(d) => Some(
            parse_local_datetime(&d, state.config().rules.utc_offset_minutes)
                .ok_or_else(|| AppError::field("deadline", "invalid"))?,
        ),
    };
    let buildings: Vec<i64> =
        form.iter().filter(|(k, _)| k == "building").filter_map(|(_, v)| v.parse().ok()).collect();
    if buildings.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new("buildings", "required")]));
    }
    let teams = check_teams(team_fields(&form), &buildings)?;
    let round = state
        .store()
        .create_sampling_round(&auth.actor(), &NewRound { name, pool_size, mode, deadline, buildings, teams })
        .await?;
    Ok(Redirect::to(&format!("/sampling/rounds/{}", round.id)).into_response())
}

/// `team_{building}` fields of a form; non-empty ones assign, empty ones clear.
fn team_fields(form: &[(String, String)]) -> Vec<TeamInput> {
    form.iter()
        .filter_map(|(k, v)| {
            let building = k.strip_prefix("team_")?.parse().ok()?;
            Some(TeamInput { building, team: Some(v.clone()) })
        })
        .collect()
}

/// Assigns teams to the round's buildings from the round page's form.
async fn update_teams(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let csrf = form.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    auth.check_csrf(csrf)?;
    auth.require(Perm::ManageSampling)?;
    let round = state.store().get_sampling_round(id).await?;
    let teams = check_teams(team_fields(&form), &round.buildings)?;
    state.store().assign_sampling_teams(&auth.actor(), id, &teams).await?;
    Ok(Redirect::to(&format!("/sampling/rounds/{id}")).into_response())
}

/// Time to (or past) a deadline, in whole hours and minutes: `(overdue, hours, minutes)`.
fn time_left(deadline: i64, now: i64) -> (bool, i64, i64) {
    let mins = (deadline - now) / 60_000;
    let overdue = deadline < now;
    let m = mins.abs();
    (overdue, m / 60, m % 60)
}

/// One building's coverage by unit and household.
async fn get_building(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath((id, building)): ApiPath<(i64, i64)>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    let round = state.store().get_sampling_round(id).await?;
    let detail = state.store().building_coverage_detail(id, building).await?;
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/sampling/rounds/{id}/buildings/{building}"), "nav.sampling"),
        ..context! { round => round, detail => detail, can_scan => auth.can(Perm::Scan) }
    };
    page("sampling_building.html", ctx)
}

/// A round's coverage, updating live.
async fn get_round(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    let round = state.store().get_sampling_round(id).await?;
    let coverage = state.store().sampling_coverage(id).await?;
    // Retests at home, due soonest first; their buildings are flagged in the table.
    let pending: Vec<_> = state.store().pending_retests(id).await?.into_iter().take(500).collect();
    // Tubes past their result deadline: transport or the lab is late, or a tube is lost.
    let rules = &state.config().rules.sampling;
    let now = now_ms();
    let hours = |k: u32| now - i64::from(rules.result_due_hours(k)) * 3_600_000;
    let overdue = state.store().overdue_tubes(id, hours(1), hours(2), 200).await?;
    // Confirmed cases stay on the page (the commander's first question), listed apart.
    let confirmed: Vec<_> = state.store().confirmed_cases(id).await?.into_iter().take(500).collect();
    // Everyone listed, read at once.
    let ids: Vec<i64> = pending.iter().chain(&confirmed).map(|(resident, _, _)| *resident).collect();
    let people: HashMap<i64, Resident> =
        state.store().get_residents(&ids).await?.into_iter().map(|r| (r.id, r)).collect();
    let mut retests = Vec::new();
    let mut flagged: HashSet<i64> = HashSet::new();
    for (resident, tube, due) in pending {
        let (row, building) = retest_row(&people, resident, tube, due)?;
        flagged.extend(building);
        retests.push(row);
    }
    let confirmed = confirmed
        .into_iter()
        .map(|(resident, tube, due)| Ok(retest_row(&people, resident, tube, due)?.0))
        .collect::<Result<Vec<_>, AppError>>()?;
    let due = round.deadline.map(|d| {
        let (overdue, h, m) = time_left(d, now_ms());
        context! { at => d, overdue => overdue, h => h, m => m }
    });
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/sampling/rounds/{id}"), "nav.sampling"),
        ..context! {
            round => round, coverage => coverage, can_scan => auth.can(Perm::Scan), retests => retests,
            confirmed => confirmed, overdue => overdue,
            flagged => flagged.into_iter().collect::<Vec<_>>(), due => due, can_manage => auth.can(Perm::ManageSampling),
        }
    };
    page("sampling_round.html", ctx)
}

/// A retest's row on the round page (who, where, which pooled tube, when it is
/// due), and the person's building; `people` holds the residents listed.
fn retest_row(
    people: &HashMap<i64, Resident>,
    resident: i64,
    tube: String,
    due: i64,
) -> Result<(minijinja::Value, Option<i64>), AppError> {
    let r = people.get(&resident).ok_or(frontline_store::StoreError::NotFound)?;
    let address =
        r.address.as_ref().map(|a| format!("{} {} {} {}", a.compound, a.building, a.unit, a.room)).unwrap_or_default();
    Ok((context! { resident => resident, name => r.name, address => address, tube => tube, due => due }, r.building_id))
}

/// Server-sent events: the round's coverage as JSON, whenever it changes (checked every 2 s).
async fn get_coverage_stream(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    auth.require(Perm::ViewSampling)?;
    state.store().get_sampling_round(id).await?;
    let stream = stream::unfold((state, String::new()), move |(state, last)| async move {
        loop {
            if let Ok(c) = state.store().sampling_coverage(id).await {
                let json = serde_json::to_string(&c).unwrap_or_default();
                if json != last {
                    return Some((Ok(Event::default().event("coverage").data(json.clone())), (state, json)));
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A resident's sampling code as an SVG QR code (no external fonts or images).
pub fn qr_svg(code: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(code.as_bytes(), qrcode::EcLevel::M) {
        Ok(qr) => qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(120, 120).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

#[derive(Debug, Deserialize)]
struct CodesQuery {
    building: Option<i64>,
}

/// Printable A4 sheets of residents' codes (核酸码) per household, for people
/// without smartphones. A code binds its holder to a tube, so printing a
/// building's sheets is for the staff who hand them out (who may edit
/// residents), and each printing is in the audit log.
async fn list_codes(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiQuery(q): ApiQuery<CodesQuery>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    auth.require(Perm::EditResidents)?;
    let buildings = state.store().list_buildings(None, None, 500).await?.items;
    let mut households = Vec::new();
    if let Some(b) = q.building {
        let building = state.store().get_building(b).await?;
        let residents = state.store().building_residents(b).await?;
        let mut by_household: BTreeMap<i64, Vec<minijinja::Value>> = BTreeMap::new();
        for r in residents {
            let code = SamplingCode::encode(r.id, state.code_key());
            let svg = minijinja::Value::from_safe_string(qr_svg(code.as_str()));
            by_household
                .entry(r.household_id.unwrap_or(0))
                .or_default()
                .push(context! { name => r.name, code => code.as_str(), svg => svg });
        }
        let printed: usize = by_household.values().map(Vec::len).sum();
        for h in state.store().building_households(b).await? {
            if let Some(people) = by_household.remove(&h.id) {
                households.push(context! { label => format!("{} {} {} {}", h.compound, building.summary.name, h.unit, h.room), people => people });
            }
        }
        let change = frontline_store::audit::Change {
            action: "sampling.codes.print",
            entity: "building",
            entity_id: Some(b.to_string()),
            before: None,
            after: Some(serde_json::json!({"residents": printed})),
        };
        state.store().record_access(&auth.actor(), change).await?;
    }
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/sampling/codes", "nav.sampling"),
        ..context! { buildings => buildings, building => q.building, households => households }
    };
    page("sampling_codes.html", ctx)
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
        ..context! { outcome => outcome, retest => retest, rounds => rounds, retest_results => RetestResult::ALL.iter().map(|r| r.code()).collect::<Vec<_>>(),
            can_correct => auth.can(Perm::CorrectLabResults) }
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
    let name = super::lab::retest_person(&state, &auth, &f.code).await?;
    let retest = context! { status => status, code => f.code.trim(), round => f.round, name => name };
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
