//! The sampler's phone page: the tube being filled (with its fill, "7/10"),
//! the member field, and who is still missing in one unit, floor by floor
//! from the floor the sampler starts at, with their special needs. A tube
//! that fills up is cleared from the form at once: the next scan needs a new
//! tube. In retest mode (复核单采) each person goes into a single tube of their
//! own. The form works without JavaScript; `scan.js` sends it in the
//! background and answers with sound and colour.

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use frontline_domain::access::Perm;
use frontline_domain::date::Date;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::ids::SamplingCode;
use frontline_domain::people::SpecialNeed;
use frontline_domain::sampling::scan_key;
use frontline_store::now_ms;
use frontline_store::sampling::{Scan, ScanOutcome, TubeFill};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::super::{page, page_ctx};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::auth::{self, Auth};
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct ScanPageQuery {
    building: Option<i64>,
    /// The unit swept (its id); the building's first unit by default.
    unit: Option<i64>,
    /// The floor the sweep starts at; floors are listed upwards from it.
    from: Option<i64>,
    tube: Option<String>,
    status: Option<String>,
    /// The resident just bound (shown by name, with the tube's count).
    who: Option<i64>,
    /// The tube just sealed early.
    sealed: Option<String>,
    /// The tube the last scan filled up: the next person needs a new one.
    full: Option<String>,
    /// Retest mode (复核单采): `1`.
    retest: Option<u8>,
}

/// The sampler's page.
pub(super) async fn get_scan_page(
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
    let names: HashMap<i64, String> = state.store().building_names(&round.buildings).await?.into_iter().collect();
    let mut building_names = Vec::new();
    for b in &round.buildings {
        let name = names.get(b).ok_or(frontline_store::StoreError::NotFound)?;
        building_names.push(context! { id => b, name => name });
    }
    let mut sweep = Sweep::default();
    if let Some(b) = building {
        sweep = read_sweep(&state, id, b, &q).await?;
    }
    // Only statuses the catalogue knows are shown (the address bar can say anything).
    let status = q.status.filter(|s| catalogue().has(&format!("sampling.scan_status.{s}")));
    let bound = match (status.as_deref(), &sweep.bound_name) {
        (Some("accepted"), Some(name)) => Some(context! { name => name }),
        _ => None,
    };
    // A tube that filled up (or was refused as full or sealed) leaves the form:
    // the next person goes into a new tube.
    let tube = q.tube.filter(|_| q.full.is_none()).unwrap_or_default();
    let fill = fill_of(&state, id, &tube, round.pool_size).await?;
    let retest = q.retest == Some(1);
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, &format!("/sampling/rounds/{id}/scan"), "nav.sampling"),
        ..context! {
            round => round, building => building, buildings => building_names, floors => sweep.floors,
            units => sweep.units, unit => sweep.unit, floor_choices => sweep.floor_choices, from => sweep.from,
            tube => tube, fill => fill, status => status, bound => bound, sealed => q.sealed, full => q.full,
            retest => retest, key => next_scan_key()?,
        }
    };
    page("sampling_scan.html", ctx)
}

/// What the page lists of one building: its units, the chosen one's floors
/// from the starting floor upwards, and the name of the person just bound.
#[derive(Default)]
struct Sweep {
    units: Vec<minijinja::Value>,
    unit: Option<i64>,
    floor_choices: Vec<i64>,
    from: Option<i64>,
    floors: Vec<minijinja::Value>,
    bound_name: Option<String>,
}

async fn read_sweep(state: &AppState, round: i64, b: i64, q: &ScanPageQuery) -> Result<Sweep, AppError> {
    let sampled: HashMap<i64, String> = state.store().sampled_in_building(round, b).await?.into_iter().collect();
    let households = state.store().building_households(b).await?;
    let residents = state.store().building_residents(b).await?;
    // What the sweep already learnt about who is still missing (bedridden, refused…).
    let only_here = frontline_store::sampling::MissedFilter { building: Some(b), team: None };
    let reasons: HashMap<i64, String> = state
        .store()
        .sampling_missed(round, &only_here)
        .await?
        .into_iter()
        .filter_map(|m| Some((m.resident_id, m.reason?)))
        .collect();
    // Members of an abnormal pool whose single retest is still to be taken.
    let retest_due: std::collections::HashSet<i64> = state.store().retests_to_take(round).await?.into_iter().collect();
    let mut units: Vec<(i64, String)> = Vec::new();
    for h in &households {
        if !units.iter().any(|(u, _)| *u == h.unit_id) {
            units.push((h.unit_id, h.unit.clone()));
        }
    }
    let unit = q.unit.filter(|u| units.iter().any(|(id, _)| id == u)).or_else(|| units.first().map(|(id, _)| *id));
    let households: Vec<_> = households.into_iter().filter(|h| Some(h.unit_id) == unit).collect();
    let floor_choices: Vec<i64> =
        households.iter().map(|h| h.floor.unwrap_or(0)).collect::<BTreeSet<_>>().into_iter().collect();
    let from = q.from.filter(|f| floor_choices.contains(f)).or_else(|| floor_choices.first().copied());
    let rules = &state.config().rules;
    let today = crate::views::today(rules);
    let mut by_household: HashMap<i64, Vec<_>> = HashMap::new();
    for r in residents {
        if let Some(h) = r.household_id {
            by_household.entry(h).or_default().push(r);
        }
    }
    let mut bound_name = None;
    let mut floors: std::collections::BTreeMap<i64, Vec<minijinja::Value>> = std::collections::BTreeMap::new();
    for h in households {
        let floor = h.floor.unwrap_or(0);
        let people = by_household.remove(&h.id).unwrap_or_default();
        if let Some(r) = people.iter().find(|r| q.who == Some(r.id)) {
            bound_name = Some(r.name.clone());
        }
        if people.is_empty() || from.is_some_and(|f| floor < f) {
            continue;
        }
        let people: Vec<minijinja::Value> = people
            .into_iter()
            .map(|r| {
                let birth = r.birth_date.as_deref().and_then(Date::parse_iso);
                let needs = crate::views::needs_with_derived(r.needs, birth, today, rules);
                let bedridden = needs.contains(SpecialNeed::Bedridden);
                let needs: Vec<&str> = SpecialNeed::ALL
                    .into_iter()
                    .filter(|n| needs.contains(*n) && *n != SpecialNeed::Bedridden)
                    .map(SpecialNeed::code)
                    .collect();
                // No code is shown: a person is bound by scanning the code they hold
                // (or their ID number's tail and name), never one read off this screen.
                context! {
                    id => r.id, name => r.name, tube => sampled.get(&r.id), reason => reasons.get(&r.id),
                    bedridden => bedridden, needs => needs, retest_due => retest_due.contains(&r.id),
                }
            })
            .collect();
        floors.entry(floor).or_default().push(context! { room => h.room, people => people });
    }
    // Upwards from the starting floor: the order the sampler climbs the stairs.
    let floors = floors.into_iter().map(|(f, hs)| context! { floor => f, households => hs }).collect();
    let units = units.into_iter().map(|(id, name)| context! { id => id, name => name }).collect();
    Ok(Sweep { units, unit, floor_choices, from, floors, bound_name })
}

/// A tube's fill for the page: its own when it exists in this round, else
/// empty with the round's pool size (it opens with the first scan).
async fn fill_of(state: &AppState, round: i64, tube: &str, pool_size: i64) -> Result<Option<TubeFill>, AppError> {
    let Ok(code) = frontline_domain::sampling::TubeCode::parse(tube) else { return Ok(None) };
    match state.store().get_tube(code.as_str()).await {
        Ok(t) if t.round == round => {
            Ok(Some(TubeFill { members: t.members, pool_size: t.pool_size, sealed: t.sealed }))
        }
        Ok(_) => Ok(None),
        Err(frontline_store::StoreError::NotFound) => Ok(Some(TubeFill { members: 0, pool_size, sealed: false })),
        Err(e) => Err(e.into()),
    }
}

/// A fresh key for the next scan sent from this page: time-ordered, see [`scan_key`].
fn next_scan_key() -> Result<String, AppError> {
    Ok(scan_key(now_ms(), u64::from_le_bytes(auth::random_bytes()?)))
}

#[derive(Debug, Deserialize)]
pub(super) struct ScanForm {
    csrf: String,
    key: String,
    building: Option<i64>,
    unit: Option<i64>,
    from: Option<i64>,
    tube: String,
    code: String,
    /// `1` in retest mode.
    retest: Option<u8>,
}

/// What the page's script gets back for one scan: the message to show, the
/// tube's fill, whether the tube is done (full or sealed: the tube field is
/// cleared), and the key for the next scan.
#[derive(Debug, Serialize)]
struct ScanAnswer {
    status: &'static str,
    /// The person bound (the page marks them in its list), with the tube.
    resident: Option<i64>,
    tube: Option<String>,
    ok: bool,
    message: String,
    fill: Option<String>,
    done: bool,
    key: String,
}

/// One scan from the sampler's page (the form carries its own idempotency
/// key). A browser without script is sent back to the page; the page's
/// script (`Accept: application/json`) gets a [`ScanAnswer`].
pub(super) async fn create_scan(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    headers: HeaderMap,
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
    let retest = f.retest == Some(1);
    let scan = Scan { key: f.key.clone(), round: id, tube: f.tube.clone(), resident, refusal, at: now_ms() };
    let outcome = crate::api::sampling::submit_scan_outcomes(&state, &auth, vec![(scan, retest)])
        .await?
        .pop()
        .unwrap_or(ScanOutcome { status: "internal", tube: None });
    let status = outcome.status;
    // The tube cannot take anyone more: full or sealed now, or refused as such.
    let done = outcome.tube.is_some_and(|t| t.sealed || t.members >= t.pool_size)
        || matches!(status, "tube_full" | "tube_sealed");
    let accepted = status == "accepted" || status == "duplicate";
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        let name = match resident.filter(|_| accepted) {
            Some(r) => Some(state.store().get_resident(r).await?.name),
            None => None,
        };
        let message = scan_message(lang, status, name.as_deref(), done && accepted);
        let fill = outcome.tube.filter(|_| !done).map(|t| format!("{}/{}", t.members, t.pool_size));
        let bound = resident.filter(|_| accepted);
        let tube = bound.map(|_| frontline_domain::sampling::TubeCode::parse(&f.tube).map(|c| c.to_string()));
        let tube = tube.and_then(Result::ok);
        let answer =
            ScanAnswer { status, resident: bound, tube, ok: accepted, message, fill, done, key: next_scan_key()? };
        return Ok(Json(answer).into_response());
    }
    let enc = crate::error::percent_encode;
    let mut to = format!("/sampling/rounds/{id}/scan?status={}", enc(status));
    for (name, value) in [("building", f.building), ("unit", f.unit), ("from", f.from)] {
        if let Some(v) = value {
            to.push_str(&format!("&{name}={v}"));
        }
    }
    if retest {
        to.push_str("&retest=1");
    }
    if done {
        to.push_str(&format!("&full={}", enc(&f.tube)));
    } else {
        to.push_str(&format!("&tube={}", enc(&f.tube)));
    }
    if let Some(r) = resident.filter(|_| accepted) {
        to.push_str(&format!("&who={r}"));
    }
    Ok(Redirect::to(&to).into_response())
}

/// The line the page shows after a scan (the same texts as the page without script).
fn scan_message(lang: Lang, status: &str, name: Option<&str>, full: bool) -> String {
    let cat = catalogue();
    let mut out = match name {
        Some(name) => cat.format(lang, "sampling.ui.bound_name", &[("name", name.to_string())]),
        None => cat.text(lang, &format!("sampling.scan_status.{status}")).to_string(),
    };
    if full {
        out.push(' ');
        out.push_str(cat.text(lang, "sampling.ui.tube_done"));
    }
    out
}

#[derive(Debug, Deserialize)]
pub(super) struct SealForm {
    csrf: String,
    building: Option<i64>,
    unit: Option<i64>,
    from: Option<i64>,
    tube: String,
}

/// The sampler closes the tube early; the page comes back ready for a new tube.
pub(super) async fn create_seal(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<SealForm>,
) -> Result<Response, AppError> {
    auth.check_csrf(&f.csrf)?;
    auth.require(Perm::Scan)?;
    crate::api::sampling::check_may_seal(&state, &auth, &f.tube).await?;
    let tube = state.store().seal_tube(&auth.actor(), &f.tube, Some(id)).await?;
    let sealed = crate::error::percent_encode(&tube.code);
    let mut to = format!("/sampling/rounds/{id}/scan?sealed={sealed}");
    for (name, value) in [("building", f.building), ("unit", f.unit), ("from", f.from)] {
        if let Some(v) = value {
            to.push_str(&format!("&{name}={v}"));
        }
    }
    Ok(Redirect::to(&to).into_response())
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
