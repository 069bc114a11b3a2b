//! Sampling over the API: rounds, scans (single or batched, idempotent by key),
//! coverage, the missed list, and lab results.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::ids::SamplingCode;
use frontline_store::now_ms;
use frontline_store::sampling::{
    BuildingDetail, Coverage, Missed, MissedFilter, SamplingRound, Scan, ScanOutcome, Submitter, TeamAssignment,
    TubeFill,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::api::schemas;
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope, FieldError, Unavailability};
use crate::AppState;

/// The most scans one request may carry (an offline phone's queue).
pub const MAX_BATCH: usize = 5_000;

/// The longest idempotency key a scan may carry, in bytes.
const MAX_KEY_BYTES: usize = 100;

/// How far ahead of the server's clock a scan's time may be (a phone set a few
/// minutes fast is normal; a day ahead is a wrong date).
const MAX_CLOCK_AHEAD_MS: i64 = 86_400_000;

/// A round to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoundInput {
    /// Its name.
    #[schema(value_type = String)]
    pub name: Option<String>,
    /// People per tube: one of the allowed sizes (1, 5, 10, 20 by default).
    pub pool_size: Option<u32>,
    /// `door_to_door` (default) or `fixed_point`.
    pub mode: Option<String>,
    /// Deadline (unix ms).
    pub deadline: Option<i64>,
    /// The buildings in scope (at least one).
    #[schema(value_type = Vec<i64>, min_items = 1)]
    pub buildings: Option<Vec<i64>>,
    /// Teams assigned to buildings of the scope.
    pub teams: Option<Vec<TeamInput>>,
}

/// A team assigned to a building (`team` null or empty clears it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TeamInput {
    /// The building (in the round's scope).
    pub building: i64,
    /// The team's name.
    pub team: Option<String>,
}

/// Teams for a round's buildings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TeamsInput {
    /// One per building to change.
    pub teams: Vec<TeamInput>,
}

/// Checks team assignments against a scope; names are cleaned, empty ones clear.
pub fn check_teams(input: Vec<TeamInput>, scope: &[i64]) -> Result<Vec<TeamAssignment>, AppError> {
    crate::rounds::check_teams(&input, scope).map_err(|e| AppError::Invalid(vec![e]))
}

/// The created round's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The id.
    pub id: i64,
}

/// Creates a sampling round over buildings. A name that another round of one
/// of its compounds already carries is refused (409, field `name`).
#[utoipa::path(post, path = "/api/v1/sampling/rounds", tag = "sampling", request_body = RoundInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create_round(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<RoundInput>,
) -> Result<(StatusCode, Json<Created>), AppError> {
    auth.require(Perm::ManageSampling)?;
    let req = crate::rounds::RoundRequest {
        name: input.name,
        pool_size: input.pool_size,
        mode: input.mode,
        deadline: input.deadline,
        buildings: input.buildings.unwrap_or_default(),
        teams: input.teams.unwrap_or_default(),
    };
    let round = crate::rounds::start_round(&state, &auth, &req).await?;
    Ok((StatusCode::CREATED, Json(Created { id: round.id })))
}

/// One scan: a resident's code bound to a tube.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScanInput {
    /// The client's idempotency key. A replay writes nothing and answers as the
    /// first scan did: `duplicate` if it was accepted, else the same refusal;
    /// at most 100 characters. Keys that sort by the time they were made (UUIDv7, or
    /// the sampler page's milliseconds in hex then a random part) are stored by
    /// appending; random ones land all over the keys table.
    pub key: String,
    /// The round's id.
    pub round: i64,
    /// The tube's barcode.
    pub tube: String,
    /// The resident's sampling code (核酸码).
    pub resident_code: String,
    /// When it was scanned (unix ms; default now).
    pub at: Option<i64>,
    /// A home retest (复核单采): the person, a member of an abnormal pool
    /// waiting for a retest, goes into `tube`, a new single tube of their own
    /// (pool size 1, sealed at once), which the lab then reports by its code.
    /// Refused with `already_in_tube` for someone whose pool was not abnormal,
    /// `no_retest_due` for someone in no tube, `retest_already_taken` when
    /// their retest is in another tube, `retest_tube_in_use` for a tube
    /// already in use. Default false.
    #[serde(default)]
    pub retest: bool,
}

/// A batch of scans (an offline phone sends its whole queue).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScanBatch {
    /// The scans, in order (at least one).
    #[schema(min_items = 1)]
    pub scans: Vec<ScanInput>,
}

/// The outcome of one scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    /// The scan's key.
    pub key: String,
    /// `accepted`, `duplicate` (a replayed key of the same account whose scan was
    /// accepted, or a person scanned again into the same tube), or a refusal code
    /// (`unknown_code`, `out_of_scope`, `outside_assignment` (a building the
    /// account is not assigned to), `tube_full`, …; a replayed key repeats its refusal).
    /// Keys are the account's own: another account's key never makes a scan a replay.
    pub status: &'static str,
    /// The tube's fill after the scan (when the tube is one of the round's):
    /// what the sampler's page shows as "7/10", and `sealed` once nobody
    /// more goes in (full, or sealed early): the next person needs a new tube.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tube: Option<TubeFillView>,
}

/// How full a tube is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct TubeFillView {
    /// People in it.
    pub members: i64,
    /// How many it takes.
    pub pool_size: i64,
    /// Whether it is sealed: full, or closed early.
    pub sealed: bool,
}

impl From<TubeFill> for TubeFillView {
    fn from(f: TubeFill) -> TubeFillView {
        TubeFillView { members: f.members, pool_size: f.pool_size, sealed: f.sealed }
    }
}

/// The outcomes, in the batch's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResults {
    /// One per scan.
    pub results: Vec<ScanResult>,
}

/// Records scans; the answer comes once they are durable.
#[utoipa::path(post, path = "/api/v1/sampling/scans", tag = "sampling", request_body = ScanBatch,
    responses((status = 200, body = ScanResults), (status = 403, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_scans(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(batch): ApiJson<ScanBatch>,
) -> Result<Json<ScanResults>, AppError> {
    auth.require(Perm::Scan)?;
    if batch.scans.is_empty() {
        return Err(AppError::field("scans", "required"));
    }
    if batch.scans.len() > MAX_BATCH {
        return Err(AppError::Invalid(vec![FieldError::keyed(
            "scans",
            "too_many",
            "sampling.api.too_many".into(),
            vec![("max", MAX_BATCH.to_string())],
        )]));
    }
    let now = now_ms();
    let mut errors = Vec::new();
    for (i, s) in batch.scans.iter().enumerate() {
        if s.key.trim().is_empty() {
            errors.push(FieldError::new(&format!("scans[{i}].key"), "required"));
        } else if s.key.len() > MAX_KEY_BYTES {
            errors.push(FieldError::new(&format!("scans[{i}].key"), "too_long"));
        }
        // A phone's clock may lag, and its queue may be hours old, but a scan
        // cannot predate 1970 or come from tomorrow.
        if s.at.is_some_and(|at| at <= 0 || at > now + MAX_CLOCK_AHEAD_MS) {
            errors.push(FieldError::new(&format!("scans[{i}].at"), "invalid"));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let key = state.code_key();
    // The answer repeats each key; the scans themselves move to the writer.
    let mut keys = Vec::with_capacity(batch.scans.len());
    let scans: Vec<(Scan, bool)> = batch
        .scans
        .into_iter()
        .map(|s| {
            let (resident, refusal) = match SamplingCode::parse(&s.resident_code) {
                Ok(code) => (Some(code.decode(key)), None),
                // Unknown residents are found by the writer's own lookup (answered `unknown_code`).
                Err(_) => (None, Some("malformed_code")),
            };
            let scan_key = if s.key.trim().len() == s.key.len() { s.key } else { s.key.trim().to_string() };
            keys.push(scan_key.clone());
            let scan = Scan { key: scan_key, round: s.round, tube: s.tube, resident, refusal, at: s.at.unwrap_or(now) };
            (scan, s.retest)
        })
        .collect();
    let outcomes = submit_scan_outcomes(&state, &auth, scans).await?;
    Ok(Json(ScanResults {
        results: keys
            .into_iter()
            .zip(outcomes)
            .map(|(key, o)| ScanResult { key, status: o.status, tube: o.tube.map(Into::into) })
            .collect(),
    }))
}

/// Coverage of a round, per building.
#[utoipa::path(get, path = "/api/v1/sampling/rounds/{id}/coverage", tag = "sampling", params(("id" = i64, Path)),
    responses((status = 200, body = schemas::Coverage), (status = 404, body = ErrorEnvelope)))]
pub async fn get_coverage(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Coverage>, AppError> {
    auth.require(Perm::ViewSampling)?;
    Ok(Json(state.store().sampling_coverage(id).await?))
}

/// Which part of the missed list.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MissedQuery {
    /// Only this building.
    pub building: Option<i64>,
    /// Only this team's buildings.
    pub team: Option<String>,
}

impl MissedQuery {
    /// As the store's filter (an empty team means every team).
    pub fn filter(self) -> MissedFilter {
        MissedFilter { building: self.building, team: self.team.filter(|t| !t.trim().is_empty()) }
    }
}

/// The missed list (补采名单) of a round, by address; `?building=` or `?team=` for one part of it.
/// A volunteer gets their own team's part.
#[utoipa::path(get, path = "/api/v1/sampling/rounds/{id}/missed", tag = "sampling", params(("id" = i64, Path), MissedQuery),
    responses((status = 200, body = Vec<schemas::Missed>), (status = 404, body = ErrorEnvelope)))]
pub async fn list_missed(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MissedQuery>,
) -> Result<Json<Vec<Missed>>, AppError> {
    auth.require(Perm::ViewSampling)?;
    Ok(Json(crate::privacy::missed_list(&state, &auth, id, q.filter()).await?))
}

/// Recent rounds, newest first.
#[utoipa::path(get, path = "/api/v1/sampling/rounds", tag = "sampling",
    responses((status = 200, body = Vec<schemas::SamplingRound>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_sampling_rounds(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<SamplingRound>>, AppError> {
    auth.require(Perm::ViewSampling)?;
    Ok(Json(state.store().list_sampling_rounds().await?))
}

/// One round: name, pool size, mode, deadline, status, scope and teams.
#[utoipa::path(get, path = "/api/v1/sampling/rounds/{id}", tag = "sampling", params(("id" = i64, Path)),
    responses((status = 200, body = schemas::SamplingRound), (status = 404, body = ErrorEnvelope)))]
pub async fn get_sampling_round(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SamplingRound>, AppError> {
    auth.require(Perm::ViewSampling)?;
    Ok(Json(state.store().get_sampling_round(id).await?))
}

/// Assigns (or clears) teams of a round's buildings; answers the round.
#[utoipa::path(put, path = "/api/v1/sampling/rounds/{id}/teams", tag = "sampling", params(("id" = i64, Path)),
    request_body = TeamsInput,
    responses((status = 200, body = schemas::SamplingRound), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn update_teams(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TeamsInput>,
) -> Result<Json<SamplingRound>, AppError> {
    auth.require(Perm::ManageSampling)?;
    let round = state.store().get_sampling_round(id).await?;
    let teams = check_teams(input.teams, &round.buildings)?;
    Ok(Json(state.store().assign_sampling_teams(&auth.actor(), id, &teams).await?))
}

/// One building's coverage in a round, per unit and household.
#[utoipa::path(get, path = "/api/v1/sampling/rounds/{id}/buildings/{building}/coverage", tag = "sampling",
    params(("id" = i64, Path), ("building" = i64, Path)),
    responses((status = 200, body = schemas::BuildingDetail), (status = 404, body = ErrorEnvelope)))]
pub async fn get_building_coverage(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, building)): ApiPath<(i64, i64)>,
) -> Result<Json<BuildingDetail>, AppError> {
    auth.require(Perm::ViewSampling)?;
    Ok(Json(state.store().building_coverage_detail(id, building).await?))
}

/// Why someone on the missed list has not been sampled yet.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MissedInput {
    /// The resident's sampling code.
    pub resident_code: String,
    /// `bedridden`, `refused`, `not_home`, `away`, `transferred` or `hospitalised`.
    pub reason: String,
}

/// Notes why a resident was not sampled (the sweep's finding): they stay on the
/// missed list, with the reason, so the re-sampling plan knows who needs a
/// bedside visit and whom to persuade. An exemption they had is lifted.
#[utoipa::path(post, path = "/api/v1/sampling/rounds/{id}/missed", tag = "sampling", params(("id" = i64, Path)),
    request_body = MissedInput,
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn note_missed(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MissedInput>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::Scan)?;
    state.store().get_sampling_round(id).await?;
    let reason = frontline_domain::sampling::MissReason::from_code(input.reason.trim())
        .ok_or_else(|| AppError::field("reason", "unknown"))?;
    let resident = resident_from_code(&state, &input.resident_code).await?;
    note_missed_reason(&state, &auth, id, resident, reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a missed person's reason, each refusal as its field error (the API
/// and the missed list's page share it).
pub(crate) async fn note_missed_reason(
    state: &AppState,
    auth: &Auth,
    round: i64,
    resident: i64,
    reason: frontline_domain::sampling::MissReason,
) -> Result<(), AppError> {
    use frontline_store::sampling::MissNote;
    // A volunteer notes people of their team's buildings only; for them, the
    // others are outside the round's part they work on.
    if let Some(reach) = crate::privacy::reach(state, auth).await? {
        let building = state.store().get_resident(resident).await?.building_id;
        if !building.is_some_and(|b| reach.contains(&b)) {
            return Err(AppError::field("resident_code", "out_of_scope"));
        }
    }
    match state.store().note_missed(&auth.actor(), round, resident, reason).await? {
        MissNote::Noted => Ok(()),
        MissNote::OutOfScope => Err(AppError::field("resident_code", "out_of_scope")),
        MissNote::AlreadySampled => Err(AppError::field("resident_code", "already_sampled")),
        MissNote::Reserved => Err(AppError::field("reason", "reserved")),
    }
}

/// Who is exempt, and why.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExemptionInput {
    /// The resident's sampling code.
    pub resident_code: String,
    /// `away`, `hospitalised`, `transferred`, `infant` or `other`.
    pub reason: String,
}

/// Exempts a resident from a round (they leave the should-test count and the missed list).
#[utoipa::path(post, path = "/api/v1/sampling/rounds/{id}/exemptions", tag = "sampling", params(("id" = i64, Path)),
    request_body = ExemptionInput,
    responses((status = 204, description = "Exempt"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_exemption(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ExemptionInput>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ManageSampling)?;
    state.store().get_sampling_round(id).await?;
    let reason = frontline_domain::sampling::ExemptReason::from_code(input.reason.trim())
        .ok_or_else(|| AppError::field("reason", "unknown"))?;
    let resident = resident_from_code(&state, &input.resident_code).await?;
    if !state.store().in_round_scope(id, resident).await? {
        return Err(AppError::field("resident_code", "out_of_scope"));
    }
    state.store().exempt_from_round(&auth.actor(), id, resident, reason.code()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn resident_from_code(state: &AppState, code: &str) -> Result<i64, AppError> {
    let code = SamplingCode::parse(code).map_err(|_| AppError::field("resident_code", "unknown"))?;
    let id = code.decode(state.code_key());
    state
        .store()
        .existing_residents(&[id])
        .await?
        .first()
        .copied()
        .ok_or_else(|| AppError::field("resident_code", "not_found"))
}

/// Pool-size advice from the round's observed abnormal-tube rate: Dorfman's expected tests per person for k = 1…30.
#[utoipa::path(get, path = "/api/v1/sampling/rounds/{id}/advice", tag = "sampling", params(("id" = i64, Path)),
    responses((status = 200, body = schemas::PoolAdvice), (status = 404, body = ErrorEnvelope)))]
pub async fn get_advice(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<frontline_domain::sampling::PoolAdvice>, AppError> {
    auth.require(Perm::ViewSampling)?;
    state.store().get_sampling_round(id).await?;
    let (abnormal, tubes, people) = state.store().tube_statistics(id).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Json(frontline_domain::sampling::pool_advice(n(abnormal), n(tubes), n(people), &state.config().rules.sampling)))
}

/// Hands scans to the writer as the signed-in account (the batch is audited
/// under it, its keys are its own); answers once they are committed.
pub async fn submit_scans(state: &AppState, auth: &Auth, scans: Vec<Scan>) -> Result<Vec<&'static str>, AppError> {
    let scans = scans.into_iter().map(|s| (s, false)).collect();
    Ok(submit_scan_outcomes(state, auth, scans).await?.into_iter().map(|o| o.status).collect())
}

/// Hands scans to the store as the signed-in account, each with whether it is
/// a home retest: pooled scans go to the writer, retests to their own
/// transaction (pooled ones first); each scan's outcome, in the given order.
pub async fn submit_scan_outcomes(
    state: &AppState,
    auth: &Auth,
    scans: Vec<(Scan, bool)>,
) -> Result<Vec<ScanOutcome>, AppError> {
    let (mut pooled, mut retests, mut order) = (Vec::new(), Vec::new(), Vec::with_capacity(scans.len()));
    for (scan, retest) in scans {
        order.push(retest);
        if retest {
            retests.push(scan);
        } else {
            pooled.push(scan);
        }
    }
    let by = submitter(state, auth).await?;
    let pooled = if pooled.is_empty() { Vec::new() } else { write_pooled(state, by.clone(), pooled).await? };
    let retests = if retests.is_empty() { Vec::new() } else { state.store().bind_retests(&by, &retests).await? };
    let (mut pooled, mut retests) = (pooled.into_iter(), retests.into_iter());
    order
        .into_iter()
        .map(|retest| if retest { retests.next() } else { pooled.next() })
        .map(|o| o.ok_or_else(|| AppError::Internal(anyhow::anyhow!("a scan was not answered"))))
        .collect()
}

/// Who sends scans: the account, and the buildings it may scan in.
async fn submitter(state: &AppState, auth: &Auth) -> Result<Submitter, AppError> {
    // The buildings this account may scan in (`None`: anywhere in the round's
    // scope): a volunteer's team assignment. Scans of residents elsewhere are
    // refused one by one as `outside_assignment`, so codes copied from a desk
    // cannot raise another building's coverage.
    let buildings = crate::privacy::reach(state, auth).await?.map(|ids| ids.into_iter().collect());
    Ok(Submitter { actor: auth.actor(), buildings })
}

/// Pooled scans through the scan writer; answers once they are committed.
async fn write_pooled(state: &AppState, by: Submitter, scans: Vec<Scan>) -> Result<Vec<ScanOutcome>, AppError> {
    state.scans().submit_outcomes(by, scans).await.map_err(|e| match e {
        frontline_store::sampling::SubmitError::Busy => AppError::Unavailable(Unavailability::Busy),
        frontline_store::sampling::SubmitError::Unavailable => AppError::Unavailable(Unavailability::WriterDown),
        frontline_store::sampling::SubmitError::Stopped => AppError::Unavailable(Unavailability::WriterStopped),
        frontline_store::sampling::SubmitError::Failed(why) => AppError::Internal(anyhow::anyhow!(why)),
    })
}

/// Closes a round: later scans are refused with `round_closed`.
#[utoipa::path(post, path = "/api/v1/sampling/rounds/{id}/close", tag = "sampling", params(("id" = i64, Path)),
    responses((status = 204, description = "Closed"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn close_round(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    auth.require(Perm::ManageSampling)?;
    crate::rounds::close_round(&state, &auth, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Seals a tube before it is full (the sampler closes it early); later scans into
/// it are refused as `tube_sealed`. Sealing a sealed tube changes nothing.
#[utoipa::path(post, path = "/api/v1/sampling/tubes/{code}/seal", tag = "sampling", params(("code" = String, Path)),
    responses((status = 200, description = "The tube, sealed", body = schemas::TubeView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn seal_tube(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<frontline_store::sampling::TubeView>, AppError> {
    auth.require(Perm::Scan)?;
    check_may_seal(&state, &auth, &code).await?;
    Ok(Json(state.store().seal_tube(&auth.actor(), &code, None).await?))
}

/// Who may seal a tube early: the account that opened it, the leader of that
/// account's working group, and the commanders (commander, deputy). Anyone
/// else is refused (403): sealing cuts the tube off from further scans, and a
/// volunteer should not close another sampler's tube. A tube that does not
/// exist is `NotFound`. Tubes opened before accounts were recorded are
/// attributed by their sampler's user name.
pub(crate) async fn check_may_seal(state: &AppState, auth: &Auth, code: &str) -> Result<(), AppError> {
    use frontline_domain::access::Role;
    let code = frontline_domain::sampling::TubeCode::parse(code).map_err(|_| AppError::NotFound)?;
    let tube = state.store().get_tube(code.as_str()).await?;
    if matches!(auth.user.role, Role::Commander | Role::Deputy) {
        return Ok(());
    }
    let opener = match tube.opened_by {
        Some(id) => state.store().user_by_id(id).await.ok(),
        None => state.store().user_by_name(&tube.sampler).await.ok(),
    };
    let Some(opener) = opener else { return Err(AppError::Forbidden) };
    let own = opener.id == auth.user.id;
    let leads_their_group =
        auth.user.role == Role::GroupLead && auth.user.group_id.is_some() && auth.user.group_id == opener.group_id;
    if own || leads_their_group {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
