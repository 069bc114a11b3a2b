//! Starting and closing sampling rounds (核酸采样轮次): the checks and writes
//! the API and the pages share, so a round is refused for the same reasons,
//! field by field, whichever way it was asked for.

use frontline_domain::places::clean_name;
use frontline_store::sampling::{NewRound, SamplingRound, TeamAssignment, ROUND_NAME_KEY};
use frontline_store::StoreError;

use crate::api::sampling::TeamInput;
use crate::auth::Auth;
use crate::error::{AppError, FieldError};
use crate::AppState;

/// A round as asked for, before any check.
#[derive(Debug, Clone, Default)]
pub struct RoundRequest {
    /// Its name (cleaned of stray spaces; required).
    pub name: Option<String>,
    /// People per tube (the rules' default when absent).
    pub pool_size: Option<u32>,
    /// `door_to_door` (default) or `fixed_point`.
    pub mode: Option<String>,
    /// The deadline (unix ms).
    pub deadline: Option<i64>,
    /// The buildings in scope (at least one).
    pub buildings: Vec<i64>,
    /// Teams for buildings of the scope.
    pub teams: Vec<TeamInput>,
}

/// A request that passed every check.
struct Checked {
    round: NewRound,
}

/// Every problem of a request, field by field (empty when it can be started,
/// a duplicate name aside: that one is known only inside the write).
pub async fn check_round(state: &AppState, req: &RoundRequest) -> Result<Vec<FieldError>, AppError> {
    Ok(checked(state, req).await?.err().unwrap_or_default())
}

async fn checked(state: &AppState, req: &RoundRequest) -> Result<Result<Checked, Vec<FieldError>>, AppError> {
    let rules = &state.config().rules.sampling;
    let mut errors = Vec::new();
    let name = req.name.as_deref().and_then(clean_name);
    if name.is_none() {
        errors.push(FieldError::new("name", "required"));
    }
    let pool_size = req.pool_size.unwrap_or(rules.default_pool_size);
    if rules.check_pool_size(pool_size).is_err() {
        errors.push(FieldError::new("pool_size", "unknown"));
    }
    let mode = req.mode.clone().unwrap_or_else(|| "door_to_door".into());
    if mode != "door_to_door" && mode != "fixed_point" {
        errors.push(FieldError::new("mode", "unknown"));
    }
    if req.deadline.is_some_and(|d| d <= 0) {
        errors.push(FieldError::new("deadline", "invalid"));
    }
    let mut buildings = req.buildings.clone();
    buildings.sort_unstable();
    buildings.dedup();
    if buildings.is_empty() {
        errors.push(FieldError::new("buildings", "required"));
    }
    let found = if buildings.is_empty() { Vec::new() } else { state.store().building_names(&buildings).await? };
    if found.len() != buildings.len() {
        errors.push(FieldError::new("buildings", "not_found"));
    }
    let teams = match check_teams(&req.teams, &buildings) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    match name {
        Some(name) if errors.is_empty() => {
            Ok(Ok(Checked { round: NewRound { name, pool_size, mode, deadline: req.deadline, buildings, teams } }))
        }
        _ => Ok(Err(errors)),
    }
}

/// Team assignments checked against a scope; names are cleaned, empty ones clear.
pub fn check_teams(input: &[TeamInput], scope: &[i64]) -> Result<Vec<TeamAssignment>, FieldError> {
    let mut out = Vec::with_capacity(input.len());
    for t in input {
        if !scope.contains(&t.building) {
            return Err(FieldError::new("teams", "out_of_scope"));
        }
        let raw = t.team.clone().unwrap_or_default();
        let team = clean_name(&raw);
        if team.is_none() && !raw.trim().is_empty() {
            return Err(FieldError::new("teams", "invalid"));
        }
        out.push(TeamAssignment { building: t.building, team });
    }
    Ok(out)
}

/// Starts a round: every check, then one transaction (the scope, its teams,
/// the audit entry). A name another round of one of its compounds already
/// carries is a conflict on `name`.
pub async fn start_round(state: &AppState, auth: &Auth, req: &RoundRequest) -> Result<SamplingRound, AppError> {
    let new = match checked(state, req).await? {
        Ok(c) => c.round,
        Err(errors) => return Err(AppError::Invalid(errors)),
    };
    match state.store().create_sampling_round(&auth.actor(), &new).await {
        Ok(round) => Ok(round),
        Err(StoreError::Conflict { constraint }) if constraint == ROUND_NAME_KEY => {
            Err(AppError::Conflict(vec![name_taken(&new.name)]))
        }
        Err(e) => Err(e.into()),
    }
}

/// The error for a name already used in one of the round's compounds.
pub fn name_taken(name: &str) -> FieldError {
    FieldError::keyed("name", "taken", "sampling.error.round.name_taken".into(), vec![("name", name.to_string())])
}

/// Closes a round: later scans are refused as `round_closed`, and whoever was
/// not sampled stays on its missed list. Closing a closed round changes nothing.
pub async fn close_round(state: &AppState, auth: &Auth, id: i64) -> Result<(), AppError> {
    Ok(state.store().close_sampling_round(&auth.actor(), id).await?)
}
