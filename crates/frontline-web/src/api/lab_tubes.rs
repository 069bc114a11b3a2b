//! The lab's working list and corrections: tubes awaiting a result (overdue
//! past their turnaround), one tube's result entered by hand, a result
//! corrected with a reason, and the people a correction moved, named as the
//! reader may see them. Pages and API share these services.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::ids::SamplingCode;
use frontline_domain::privacy::{Disclosure, Reach, ResidentField};
use frontline_domain::sampling::{check_reason, CorrectionError, LabResult, TubeCode};
use frontline_store::now_ms;
use frontline_store::residents::Resident;
use frontline_store::sampling::{AwaitingFilter, AwaitingTube, CorrectError, Correction, LabCounts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope, FieldError};
use crate::AppState;

/// The filter of the awaiting tubes' list.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TubesQuery {
    /// Only this round's tubes.
    pub round: Option<i64>,
    /// `1` (or `true`): only overdue tubes.
    pub overdue: Option<String>,
    /// Codes starting with this.
    pub code: Option<String>,
    /// The cursor of the previous page (`next`).
    pub after: Option<String>,
    /// Page size (default 50).
    pub limit: Option<i64>,
}

impl TubesQuery {
    /// Whether only overdue tubes are asked for.
    pub fn overdue_only(&self) -> bool {
        matches!(self.overdue.as_deref(), Some("1" | "true" | "on"))
    }
}

/// A tube awaiting its result.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwaitingTubeView {
    /// Its id.
    pub id: i64,
    /// Its barcode.
    pub code: String,
    /// Its round.
    pub round: i64,
    /// The round's name.
    pub round_name: String,
    /// Its pool size (1: a single tube).
    pub pool_size: i64,
    /// People in it.
    pub members: i64,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Sealed at (or opened at, if never sealed), unix ms.
    pub since: i64,
    /// Who opened it.
    pub sampler: String,
    /// Whether its result is past due.
    pub overdue: bool,
}

impl From<AwaitingTube> for AwaitingTubeView {
    fn from(t: AwaitingTube) -> Self {
        AwaitingTubeView {
            id: t.id,
            code: t.code,
            round: t.round,
            round_name: t.round_name,
            pool_size: t.pool_size,
            members: t.members,
            sealed: t.sealed,
            since: t.since,
            sampler: t.sampler,
            overdue: t.overdue,
        }
    }
}

/// A page of tubes awaiting a result.
#[derive(Debug, Serialize, ToSchema)]
pub struct TubesPage {
    /// Tubes, oldest first.
    pub items: Vec<AwaitingTubeView>,
    /// The cursor of the next page.
    pub next: Option<String>,
    /// How many tubes match in all.
    pub total: i64,
}

/// The cut-offs (unix ms) before which single and pooled tubes are overdue, by the configured turnaround.
pub(crate) fn overdue_cutoffs(state: &AppState) -> (i64, i64) {
    let rules = &state.config().rules.sampling;
    let now = now_ms();
    let before = |k: u32| now - i64::from(rules.result_due_hours(k)) * 3_600_000;
    (before(1), before(2))
}

/// Tubes awaiting a result, as the lab lists them.
pub(crate) async fn awaiting_tubes(state: &AppState, q: &TubesQuery) -> Result<TubesPage, AppError> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => {
            let parsed = a.split_once(':').and_then(|(s, i)| Some((s.parse::<i64>().ok()?, i.parse::<i64>().ok()?)));
            Some(parsed.ok_or_else(|| AppError::field("after", "invalid"))?)
        }
    };
    let filter = AwaitingFilter {
        round: q.round,
        overdue_only: q.overdue_only(),
        code: q.code.clone().filter(|c| !c.trim().is_empty()),
    };
    let (single, pooled) = overdue_cutoffs(state);
    let limit = frontline_store::page::clamp_limit(q.limit);
    let (page, total) = state.store().awaiting_tubes(&filter, single, pooled, after, limit).await?;
    Ok(TubesPage { items: page.items.into_iter().map(Into::into).collect(), next: page.next, total })
}

/// The lab's figures for its home page; `day_start` is the start of the local day (unix ms).
pub(crate) async fn lab_counts(state: &AppState, day_start: i64) -> Result<LabCounts, AppError> {
    let (single, pooled) = overdue_cutoffs(state);
    Ok(state.store().lab_counts(single, pooled, day_start).await?)
}

/// Lists tubes awaiting a result (oldest first), overdue ones flagged.
#[utoipa::path(get, path = "/api/v1/lab/tubes", tag = "sampling", params(TubesQuery),
    responses((status = 200, body = TubesPage), (status = 403, body = ErrorEnvelope)))]
pub async fn list_awaiting_tubes(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<TubesQuery>,
) -> Result<Json<TubesPage>, AppError> {
    auth.require(Perm::LabResults)?;
    Ok(Json(awaiting_tubes(&state, &q).await?))
}

/// Records one tube's result typed in by hand: the tube's status
/// (`recorded`, `already_recorded`, `conflicting_result`) and the result read. A code that does
/// not read, an unknown tube or an unknown result is a field error.
pub(crate) async fn record_one_result(
    state: &AppState,
    auth: &Auth,
    tube: &str,
    result: &str,
) -> Result<(&'static str, LabResult), AppError> {
    let mut errors = Vec::new();
    let code = TubeCode::parse(tube.trim());
    if let Err(e) = &code {
        errors.push(FieldError::keyed("tube", e.code(), format!("sampling.error.tube_code.{}", e.code()), vec![]));
    }
    let result = LabResult::from_code(result.trim()).or_else(|| LabResult::parse(result).ok());
    if result.is_none() {
        errors.push(FieldError::keyed("result", "required", "lab.error.result_required".into(), vec![]));
    }
    let (Ok(code), Some(result)) = (code, result) else { return Err(AppError::Invalid(errors)) };
    let hours = state.config().rules.sampling.retest_deadline_hours;
    let status = state.store().record_lab_results(&auth.actor(), &[(code, result)], hours).await?;
    match status.first().copied() {
        Some("unknown_tube") | None => Err(AppError::Invalid(vec![FieldError::keyed(
            "tube",
            "unknown_tube",
            "lab.error.unknown_tube".into(),
            vec![],
        )])),
        Some(s) => Ok((s, result)),
    }
}

/// The names of the people whose sampling codes are `codes`, as `auth` may
/// see them (masked for the lab), in order; `None` for a code nobody has.
pub(crate) async fn person_names(
    state: &AppState,
    auth: &Auth,
    codes: &[&str],
) -> Result<Vec<Option<String>>, AppError> {
    let ids: Vec<Option<i64>> =
        codes.iter().map(|c| SamplingCode::parse(c.trim()).ok().map(|c| c.decode(state.code_key()))).collect();
    let known: Vec<i64> = ids.iter().flatten().copied().collect();
    let people: HashMap<i64, Resident> =
        state.store().get_residents(&known).await?.into_iter().map(|r| (r.id, r)).collect();
    let who = Disclosure::masked(auth.user.role);
    Ok(ids.into_iter().map(|id| id.and_then(|i| people.get(&i)).map(|r| who.person_name(&r.name))).collect())
}

/// A correction: the tube's right result, and why.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CorrectionInput {
    /// `negative`, `abnormal` or `invalid`.
    pub result: String,
    /// Why the recorded result was wrong (required).
    pub reason: String,
}

/// One person a correction moved, as the reader may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffectedPerson {
    /// The resident's id.
    pub resident: i64,
    /// The name (masked for a reader who does not see names).
    pub name: String,
    /// Compound, building, unit and room, for readers who see addresses.
    pub address: Option<String>,
    /// `released`, `retest_due`, `back_to_missed`, `sampled_again` or `retest_done`.
    pub effect: String,
}

/// A correction, with the people it moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionView {
    /// Its id.
    pub id: i64,
    /// The round.
    pub round: i64,
    /// The tube.
    pub tube: String,
    /// The result it had.
    pub before: String,
    /// The result it has now.
    pub after: String,
    /// Why.
    pub reason: String,
    /// Who corrected it.
    pub by: String,
    /// When (unix ms).
    pub at: i64,
    /// The people moved.
    pub affected: Vec<AffectedPerson>,
}

/// Corrections as `auth` may see them: people named per their disclosure,
/// a volunteer's limited to their team's buildings.
pub(crate) async fn correction_views(
    state: &AppState,
    auth: &Auth,
    corrections: Vec<Correction>,
) -> Result<Vec<CorrectionView>, AppError> {
    let who = Disclosure::masked(auth.user.role);
    let within = if who.role().reach() == Reach::Assignment { crate::privacy::reach(state, auth).await? } else { None };
    let ids: Vec<i64> = corrections.iter().flat_map(|c| c.affected.iter().map(|a| a.resident)).collect();
    let people: HashMap<i64, Resident> =
        state.store().get_residents(&ids).await?.into_iter().map(|r| (r.id, r)).collect();
    Ok(corrections
        .into_iter()
        .map(|c| {
            let affected = c
                .affected
                .into_iter()
                .filter_map(|a| {
                    let r = people.get(&a.resident)?;
                    if let Some(w) = &within {
                        if !r.building_id.is_some_and(|b| w.contains(&b)) {
                            return None;
                        }
                    }
                    let address = who
                        .shows(ResidentField::Address)
                        .then(|| {
                            r.address.as_ref().map(|a| format!("{} {} {} {}", a.compound, a.building, a.unit, a.room))
                        })
                        .flatten();
                    Some(AffectedPerson {
                        resident: a.resident,
                        name: who.person_name(&r.name),
                        address,
                        effect: a.effect,
                    })
                })
                .collect();
            CorrectionView {
                id: c.id,
                round: c.round,
                tube: c.tube,
                before: c.before,
                after: c.after,
                reason: c.reason,
                by: c.by,
                at: c.at,
                affected,
            }
        })
        // A volunteer sees the corrections that moved someone in their buildings.
        .filter(|v| within.is_none() || !v.affected.is_empty())
        .collect())
}

/// Corrects tube `tube`'s result (the lab's lead or command): field errors
/// on `result` and `reason`; an unknown tube is [`AppError::NotFound`].
pub(crate) async fn correct_result(
    state: &AppState,
    auth: &Auth,
    tube: &str,
    result: &str,
    reason: &str,
) -> Result<CorrectionView, AppError> {
    auth.require(Perm::CorrectLabResults)?;
    let mut errors = Vec::new();
    let after = LabResult::from_code(result.trim()).or_else(|| LabResult::parse(result).ok());
    if after.is_none() {
        errors.push(FieldError::keyed("result", "required", "lab.error.result_required".into(), vec![]));
    }
    let reason = check_reason(reason).map_err(|e| errors.push(refusal_field(e))).ok();
    let code = TubeCode::parse(tube.trim()).map_err(|_| AppError::NotFound)?;
    let (Some(after), Some(reason)) = (after, reason) else { return Err(AppError::Invalid(errors)) };
    let hours = state.config().rules.sampling.retest_deadline_hours;
    let done =
        state.store().correct_tube_result(&auth.actor(), &code, after, &reason, hours).await.map_err(|e| match e {
            CorrectError::Refused(r) => AppError::Invalid(vec![refusal_field(r)]),
            CorrectError::Store(s) => s.into(),
        })?;
    Ok(correction_views(state, auth, vec![done]).await?.remove(0))
}

fn refusal_field(e: CorrectionError) -> FieldError {
    let field = if e == CorrectionError::ReasonRequired { "reason" } else { "result" };
    FieldError::keyed(field, e.code(), format!("lab.error.{}", e.code()), vec![])
}

/// Corrects a tube's result recorded in error, with a reason: retests not yet
/// done follow (cancelled or opened), members leave or rejoin the missed list;
/// audited before and after. Lab lead and command only.
#[utoipa::path(post, path = "/api/v1/lab/tubes/{code}/correction", tag = "sampling", request_body = CorrectionInput,
    params(("code" = String, Path, description = "The tube's barcode")),
    responses((status = 200, body = CorrectionView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create_correction(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<Json<CorrectionView>, AppError> {
    Ok(Json(correct_result(&state, &auth, &code, &input.result, &input.reason).await?))
}

/// The filter of the corrections' list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CorrectionsQuery {
    /// Only this round's.
    pub round: Option<i64>,
}

/// Corrections as the reader may list them: the sampling group, the lab and command.
pub(crate) async fn corrections(
    state: &AppState,
    auth: &Auth,
    round: Option<i64>,
) -> Result<Vec<CorrectionView>, AppError> {
    if !(auth.can(Perm::ViewSampling) || auth.can(Perm::LabResults)) {
        return Err(AppError::Forbidden);
    }
    let list = state.store().list_corrections(round, 200).await?;
    correction_views(state, auth, list).await
}

/// Lists corrected results, newest first, with the people each moved.
#[utoipa::path(get, path = "/api/v1/lab/corrections", tag = "sampling", params(CorrectionsQuery),
    responses((status = 200, body = Vec<CorrectionView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_corrections(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CorrectionsQuery>,
) -> Result<Json<Vec<CorrectionView>>, AppError> {
    Ok(Json(corrections(&state, &auth, q.round).await?))
}
