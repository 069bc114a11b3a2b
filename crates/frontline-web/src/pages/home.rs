//! The home page, by role: what the reader works on next, alerts first, and
//! nothing empty. Command, group leads and staff see confirmed cases, the
//! district's counts, open rounds and recent corrections; a volunteer their
//! team's buildings and missed lists; the lab its tubes awaiting a result;
//! the checkpoint the buildings under a zone level.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use frontline_domain::access::Perm;
use frontline_domain::places::ZoneLevel;
use frontline_domain::privacy::Reach;
use frontline_store::now_ms;
use minijinja::context;
use serde::Serialize;

use super::{page, page_ctx};
use crate::auth::Auth;
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(get_home))
}

#[derive(Serialize)]
struct NeedCount {
    code: &'static str,
    count: i64,
}

/// A volunteer's own work: their team, its buildings and, per open round, the
/// team's part of the missed list.
#[derive(Serialize)]
struct TeamWork {
    team: Option<String>,
    buildings: Vec<(i64, String)>,
    rounds: Vec<(i64, String)>,
}

async fn team_work(state: &AppState, auth: &Auth) -> Result<TeamWork, AppError> {
    let ids = crate::privacy::reach(state, auth).await?.unwrap_or_default();
    let buildings = state.store().building_names(&ids).await?;
    let team = auth.user.team.clone();
    let rounds = match &team {
        None => vec![],
        Some(t) => state
            .store()
            .list_sampling_rounds()
            .await?
            .into_iter()
            .filter(|r| r.status == "open" && r.teams.iter().any(|a| a.team.as_ref() == Some(t)))
            .map(|r| (r.id, r.name))
            .collect(),
    };
    Ok(TeamWork { team, buildings, rounds })
}

/// The start of the district's current day, unix ms.
fn day_start(state: &AppState) -> i64 {
    let offset = i64::from(state.config().rules.utc_offset_minutes) * 60_000;
    let local = now_ms() + offset;
    local - local.rem_euclid(86_400_000) - offset
}

/// The buildings under a zone level (strictest first), for the checkpoint:
/// (id, compound, name, zone code).
async fn zoned_buildings(state: &AppState) -> Result<Vec<minijinja::Value>, AppError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = state.store().list_buildings(None, after, 500).await?;
        for b in &page.items {
            if let Some(z) = b.zone.filter(|z| *z != ZoneLevel::Precaution) {
                let rank = ZoneLevel::ALL.iter().position(|l| *l == z).unwrap_or(0);
                out.push((rank, context! { id => b.id, compound => b.compound, name => b.name, zone => z.code() }));
            }
        }
        match page.next.and_then(|n| n.parse::<i64>().ok()) {
            Some(n) if out.len() < 2_000 => after = Some(n),
            _ => break,
        }
    }
    out.sort_by_key(|(rank, _)| *rank);
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// The home page for the reader's role.
async fn get_home(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    let reach = auth.user.role.reach();
    let positives = super::lab::positive_alerts(&state, &auth, None, None).await?;
    let work = if reach == Reach::Assignment { Some(team_work(&state, &auth).await?) } else { None };
    let (overview, district) = if auth.can(Perm::ViewPlaces) && reach == Reach::District {
        let (elderly_by, infant_after) = crate::api::census::age_cutoffs(&state);
        let o = state.store().overview(&elderly_by, &infant_after).await?;
        (Some(o), state.store().district_name().await?)
    } else {
        (None, None)
    };
    let needs: Vec<NeedCount> = overview
        .as_ref()
        .map(|o| o.needs.iter().filter(|(_, c)| *c > 0).map(|(n, c)| NeedCount { code: n.code(), count: *c }).collect())
        .unwrap_or_default();
    let rounds = if auth.can(Perm::ViewSampling) && reach == Reach::District {
        let mut open = Vec::new();
        for r in state.store().list_sampling_rounds().await?.into_iter().filter(|r| r.status == "open") {
            let c = state.store().sampling_coverage(r.id).await?;
            open.push(context! { id => r.id, name => r.name, expected => c.expected, sampled => c.sampled, missed => c.missed });
        }
        open
    } else {
        vec![]
    };
    let corrections = if auth.can(Perm::ViewSampling) {
        let recent = crate::api::lab_tubes::corrections(&state, &auth, None).await?;
        let since = now_ms() - 7 * 86_400_000;
        recent.into_iter().filter(|c| c.at >= since && !c.affected.is_empty()).take(5).collect()
    } else {
        vec![]
    };
    // The lab's own figures lead its page; command reads overdue tubes on the round page.
    let lab = if auth.user.role == frontline_domain::access::Role::Lab {
        Some(crate::api::lab_tubes::lab_counts(&state, day_start(&state)).await?)
    } else {
        None
    };
    // Command reads tubes past their turnaround as an alert.
    let overdue_alert = if lab.is_none() && auth.can(Perm::LabResults) {
        let counts = crate::api::lab_tubes::lab_counts(&state, day_start(&state)).await?;
        (counts.overdue > 0).then_some(counts.overdue)
    } else {
        None
    };
    let zoned = if auth.user.role == frontline_domain::access::Role::Checkpoint {
        Some(zoned_buildings(&state).await?)
    } else {
        None
    };
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/", "nav.home"),
        ..context! {
            overview => overview.map(|o| context! { compounds => o.compounds, buildings => o.buildings, households => o.households, residents => o.residents }),
            needs => needs,
            district => district.filter(|d| !d.trim().is_empty()),
            work => work,
            positives => positives,
            rounds => rounds,
            corrections => corrections,
            lab => lab,
            overdue_alert => overdue_alert,
            zoned => zoned,
            can_correct => auth.can(Perm::CorrectLabResults),
        }
    };
    page("home.html", ctx)
}
