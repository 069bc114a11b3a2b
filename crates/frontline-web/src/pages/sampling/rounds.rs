//! Sampling rounds' pages: the list and the form that starts a round (buildings
//! chosen all, none or by compound, with or without script), a round's
//! coverage with its tubes and pool-size advice, closing it after a
//! confirmation, one building's coverage, and the printable code sheets.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::date::parse_local_datetime;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::ids::SamplingCode;
use frontline_domain::sampling::{pool_advice, PoolAdvice};
use frontline_store::now_ms;
use frontline_store::places::BuildingSummary;
use frontline_store::residents::Resident;
use futures_util::stream::{self, Stream};
use minijinja::context;
use serde::Deserialize;

use super::super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::sampling::{check_teams, TeamInput};
use crate::auth::Auth;
use crate::error::{AppError, FieldError};
use crate::i18n::ReqLang;
use crate::rounds::{check_round, start_round, RoundRequest};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sampling", get(list_rounds).post(create_round))
        .route("/sampling/rounds/{id}", get(get_round))
        .route("/sampling/rounds/{id}/teams", post(update_teams))
        .route("/sampling/rounds/{id}/close", get(get_close).post(create_close))
        .route("/sampling/rounds/{id}/buildings/{building}", get(get_building))
        .route("/sampling/rounds/{id}/coverage/stream", get(get_coverage_stream))
        .route("/sampling/codes", get(list_codes))
}

/// The new-round form as typed: kept whole when it fails or when a selection
/// button (all, none, a compound) sends it back.
#[derive(Debug, Default)]
struct RoundForm {
    name: String,
    pool_size: String,
    mode: String,
    deadline: String,
    ticked: HashSet<i64>,
    /// What was typed in each building's team field, ticked or not.
    teams: HashMap<i64, String>,
}

impl RoundForm {
    fn read(form: &[(String, String)]) -> RoundForm {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        RoundForm {
            name: get("name"),
            pool_size: get("pool_size"),
            mode: get("mode"),
            deadline: get("deadline"),
            ticked: form.iter().filter(|(k, _)| k == "building").filter_map(|(_, v)| v.trim().parse().ok()).collect(),
            teams: form
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("team_")?.parse().ok()?, v.clone())))
                .filter(|(_, v): &(i64, String)| !v.is_empty())
                .collect(),
        }
    }

    /// The teams that count: typed (not blank) for a ticked building. A blank
    /// field assigns nothing, and an unticked building's field is not sent on.
    fn team_inputs(&self) -> Vec<TeamInput> {
        let mut teams: Vec<TeamInput> = self
            .teams
            .iter()
            .filter(|(b, t)| self.ticked.contains(b) && !t.trim().is_empty())
            .map(|(b, t)| TeamInput { building: *b, team: Some(t.clone()) })
            .collect();
        teams.sort_by_key(|t| t.building);
        teams
    }

    /// Applies a selection button: `all`, `none`, `compound:<id>` or `uncompound:<id>`.
    fn select(&mut self, choice: &str, buildings: &[BuildingSummary]) {
        let of = |prefix: &str| choice.strip_prefix(prefix).and_then(|c| c.parse::<i64>().ok());
        let in_compound = |c: i64| buildings.iter().filter(move |b| b.compound_id == c).map(|b| b.id);
        if choice == "all" {
            self.ticked = buildings.iter().map(|b| b.id).collect();
        } else if choice == "none" {
            self.ticked.clear();
        } else if let Some(c) = of("compound:") {
            self.ticked.extend(in_compound(c));
        } else if let Some(c) = of("uncompound:") {
            for b in in_compound(c) {
                self.ticked.remove(&b);
            }
        }
    }
}

/// Rounds, and the form to start one (every building ticked to begin with).
async fn list_rounds(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    let buildings = state.store().list_buildings(None, None, 500).await?.items;
    let rules = &state.config().rules.sampling;
    let form = RoundForm {
        pool_size: rules.default_pool_size.to_string(),
        mode: "door_to_door".into(),
        ticked: buildings.iter().map(|b| b.id).collect(),
        ..RoundForm::default()
    };
    rounds_page(&state, &auth, lang, &buildings, &form, &[], StatusCode::OK).await
}

/// The list of rounds and the new-round form, with the form's errors by field.
async fn rounds_page(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    buildings: &[BuildingSummary],
    form: &RoundForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<Response, AppError> {
    let rounds = state.store().list_sampling_rounds().await?;
    let mut compounds: Vec<(i64, String, Vec<minijinja::Value>)> = Vec::new();
    for b in buildings {
        if compounds.last().is_none_or(|(c, _, _)| *c != b.compound_id) {
            compounds.push((b.compound_id, b.compound.clone(), Vec::new()));
        }
        if let Some((_, _, list)) = compounds.last_mut() {
            let team = form.teams.get(&b.id).cloned().unwrap_or_default();
            list.push(context! { id => b.id, name => b.name, ticked => form.ticked.contains(&b.id), team => team });
        }
    }
    let compounds: Vec<minijinja::Value> = compounds
        .into_iter()
        .map(|(id, name, buildings)| {
            let all = buildings.len();
            context! { id => id, name => name, buildings => buildings, count => all }
        })
        .collect();
    let cat = catalogue();
    let messages: Vec<minijinja::Value> =
        errors.iter().map(|e| context! { field => e.field, message => cat.format(lang, &e.key, &e.params) }).collect();
    // One message per field, beside it (teams are typed beside the buildings).
    let beside = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field || (field == "buildings" && e.field == "teams"))
            .map(|e| cat.format(lang, &e.key, &e.params))
    };
    let by_field = context! {
        name => beside("name"), pool_size => beside("pool_size"), mode => beside("mode"),
        deadline => beside("deadline"), buildings => beside("buildings"),
    };
    let rules = &state.config().rules.sampling;
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/sampling", "nav.sampling"),
        ..context! {
            rounds => rounds, compounds => compounds, pool_sizes => rules.allowed_sizes(),
            can_manage => auth.can(Perm::ManageSampling), can_print_codes => auth.can(Perm::EditResidents),
            form => context! {
                name => form.name, pool_size => form.pool_size, mode => form.mode, deadline => form.deadline,
                selected => form.ticked.iter().filter(|b| buildings.iter().any(|x| x.id == **b)).count(),
            },
            errors => messages, error => by_field,
        }
    };
    let mut res = page("sampling.html", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

/// Starts a round from the form (`building` repeated for each ticked building,
/// `team_<building>` beside each). A selection button sends the form back with
/// its ticks changed and nothing else touched; a refused form comes back whole,
/// each message beside its field.
async fn create_round(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    auth.check_csrf(csrf)?;
    auth.require(Perm::ManageSampling)?;
    let buildings = state.store().list_buildings(None, None, 500).await?.items;
    let mut form = RoundForm::read(&fields);
    if let Some((_, choice)) = fields.iter().find(|(k, _)| k == "select") {
        form.select(choice, &buildings);
        return rounds_page(&state, &auth, lang, &buildings, &form, &[], StatusCode::OK).await;
    }
    let mut errors = Vec::new();
    let pool_size = match form.pool_size.trim() {
        "" => None,
        p => match p.parse::<u32>() {
            Ok(k) => Some(k),
            Err(_) => {
                errors.push(FieldError::new("pool_size", "unknown"));
                None
            }
        },
    };
    let deadline = match form.deadline.trim() {
        "" => None,
        d => {
            let at = parse_local_datetime(d, state.config().rules.utc_offset_minutes);
            if at.is_none() {
                errors.push(FieldError::new("deadline", "invalid"));
            }
            at
        }
    };
    let mut ticked: Vec<i64> = form.ticked.iter().copied().collect();
    ticked.sort_unstable();
    let req = RoundRequest {
        name: Some(form.name.clone()),
        pool_size,
        mode: Some(form.mode.clone()).filter(|m| !m.is_empty()),
        deadline,
        buildings: ticked,
        teams: form.team_inputs(),
    };
    // An unreadable pool size or deadline is left out of the request, so the
    // checks below never report those fields twice.
    errors.extend(check_round(&state, &req).await?);
    if !errors.is_empty() {
        return rounds_page(&state, &auth, lang, &buildings, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match start_round(&state, &auth, &req).await {
        Ok(round) => Ok(Redirect::to(&format!("/sampling/rounds/{}", round.id)).into_response()),
        Err(AppError::Invalid(errors) | AppError::Conflict(errors)) => {
            rounds_page(&state, &auth, lang, &buildings, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

/// `team_{building}` fields of the round page's form; non-empty ones assign, empty ones clear.
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

/// A share as a percentage for people: `0.05` → `5`, `0.00005` → `0.005`
/// (two significant digits below 1 %, none above 10 %).
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 10.0 || p == 0.0 {
        format!("{p:.0}")
    } else if p >= 1.0 {
        format!("{p:.1}")
    } else {
        let digits = (-p.log10()).ceil().clamp(1.0, 6.0) as usize + 1;
        format!("{p:.digits$}")
    }
}

/// The pool-size advice as the round page shows it: the observed figures, and
/// the expected tests per person for each allowed size and for the best size
/// of all, the best allowed one and the round's own marked.
fn advice_view(advice: &PoolAdvice, counts: (i64, i64, i64), allowed: &[u32], current: i64) -> minijinja::Value {
    let (abnormal, tubes, people) = counts;
    let sizes: Vec<minijinja::Value> = advice
        .table
        .iter()
        .filter(|(k, _)| allowed.contains(k) || *k == advice.recommended || i64::from(*k) == current)
        .map(|(k, e)| {
            context! {
                k => k, tests => format!("{e:.3}"), best => *k == advice.recommended_allowed,
                current => i64::from(*k) == current,
            }
        })
        .collect();
    context! {
        has_data => advice.has_data, recommended => advice.recommended, recommended_allowed => advice.recommended_allowed,
        prevalence => percent(advice.prevalence), abnormal_rate => percent(advice.abnormal_rate),
        mean_pool_size => format!("{:.1}", advice.mean_pool_size), abnormal => abnormal, tubes => tubes, people => people,
        sizes => sizes,
    }
}

/// A round's coverage (updating live) by compound and building, its tubes, and
/// the pool-size advice from its results so far.
async fn get_round(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    auth.require(Perm::ViewSampling)?;
    let round = state.store().get_sampling_round(id).await?;
    let coverage = state.store().sampling_coverage(id).await?;
    let tubes = state.store().tube_counts(id).await?;
    let rules = &state.config().rules.sampling;
    let (abnormal, tested, people) = state.store().tube_statistics(id).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let advice = pool_advice(n(abnormal), n(tested), n(people), rules);
    let advice = advice_view(&advice, (abnormal, tested, people), &rules.allowed_sizes(), round.pool_size);
    // Retests at home, due soonest first; their buildings are flagged in the table.
    let pending: Vec<_> = state.store().pending_retests(id).await?.into_iter().take(500).collect();
    // Tubes past their result deadline: transport or the lab is late, or a tube is lost.
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
        let (overdue, h, m) = time_left(d, now);
        context! { at => d, overdue => overdue, h => h, m => m }
    });
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/sampling/rounds/{id}"), "nav.sampling"),
        ..context! {
            round => round, coverage => coverage, tubes => tubes, advice => advice, can_scan => auth.can(Perm::Scan),
            retests => retests, confirmed => confirmed, overdue => overdue,
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

/// The confirmation before closing a round: what closing it does, by name and numbers.
async fn get_close(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, AppError> {
    auth.require(Perm::ManageSampling)?;
    let round = state.store().get_sampling_round(id).await?;
    let coverage = state.store().sampling_coverage(id).await?;
    let tubes = state.store().tube_counts(id).await?;
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/sampling/rounds/{id}/close"), "nav.sampling"),
        ..context! { round => round, missed => coverage.missed, open_tubes => tubes.open }
    };
    page("sampling_close.html", ctx)
}

#[derive(Debug, Deserialize)]
struct CloseForm {
    csrf: String,
}

/// Closes a round from its confirmation page; back to the round.
async fn create_close(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<CloseForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::ManageSampling)?;
    crate::rounds::close_round(&state, &auth, id).await?;
    Ok(Redirect::to(&format!("/sampling/rounds/{id}")).into_response())
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
/// without smartphones, several households to a row, with the time and the
/// account of the printing. A code binds its holder to a tube, so printing a
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
    let mut scope = None;
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
                // Each slip is cut out and handed over alone: it names the whole address.
                let label = format!("{} {} {} {}", h.compound, building.summary.name, h.unit, h.room);
                households.push(context! { label => label, people => people });
            }
        }
        scope = Some(format!("{} {}", building.summary.compound, building.summary.name));
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
        ..context! { buildings => buildings, building => q.building, households => households, scope => scope }
    };
    page("sampling_codes.html", ctx)
}
