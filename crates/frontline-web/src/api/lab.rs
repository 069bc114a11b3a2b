//! The lab's side of sampling: results per tube (posted, or a lab's sheet
//! imported) and single retests at home.

use axum::extract::State;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::sampling::{LabResult, SamplingRules, TubeCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::ApiJson;
use crate::api::sampling::{resident_from_code, MAX_BATCH};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope, FieldError};
use crate::AppState;

/// One tube's result.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResultInput {
    /// The tube's barcode.
    pub tube: String,
    /// `negative`, `abnormal` or `invalid`.
    pub result: String,
}

/// Lab results.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResultBatch {
    /// One per tube.
    pub results: Vec<ResultInput>,
}

/// What happened to each result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOutcome {
    /// The tube.
    pub tube: String,
    /// `recorded`, `unknown_tube` or `already_recorded`.
    pub status: String,
}

/// Posts lab results per tube (lab accounts): abnormal tubes open retests, invalid ones put members back on the missed list.
#[utoipa::path(post, path = "/api/v1/sampling/results", tag = "sampling", request_body = ResultBatch,
    responses((status = 200, body = Vec<ResultOutcome>), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_results(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(batch): ApiJson<ResultBatch>,
) -> Result<Json<Vec<ResultOutcome>>, AppError> {
    auth.require(Perm::LabResults)?;
    if batch.results.len() > MAX_BATCH {
        return Err(AppError::field("results", "too_long"));
    }
    let mut parsed = Vec::with_capacity(batch.results.len());
    let mut errors = vec![];
    for r in &batch.results {
        match (
            TubeCode::parse(&r.tube),
            LabResult::from_code(r.result.trim()).or_else(|| LabResult::parse(&r.result).ok()),
        ) {
            (Ok(t), Some(l)) => parsed.push((t, l)),
            (Err(_), _) => errors.push(FieldError::new("tube", "unknown")),
            (_, None) => errors.push(FieldError::new("result", "unknown")),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let rules = SamplingRules::default();
    let statuses = state.store().record_lab_results(&auth.actor(), &parsed, rules.retest_deadline_hours).await?;
    Ok(Json(
        parsed
            .iter()
            .zip(statuses)
            .map(|((t, _), s)| ResultOutcome { tube: t.as_str().to_string(), status: s.to_string() })
            .collect(),
    ))
}

/// One single-tube retest result.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RetestInput {
    /// The resident's sampling code.
    pub resident_code: String,
    /// `negative`, `positive` or `invalid`.
    pub result: String,
}

/// Retest results of a round.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RetestBatch {
    /// The round.
    pub round: i64,
    /// One per resident.
    pub results: Vec<RetestInput>,
}

/// Records single-tube retest results: negative releases the person, positive confirms a case.
#[utoipa::path(post, path = "/api/v1/sampling/retests", tag = "sampling", request_body = RetestBatch,
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_retest_results(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(batch): ApiJson<RetestBatch>,
) -> Result<Json<Vec<serde_json::Value>>, AppError> {
    auth.require(Perm::LabResults)?;
    let mut out = Vec::new();
    for r in &batch.results {
        let status = record_retest_result(&state, &auth, batch.round, &r.resident_code, &r.result).await?;
        out.push(serde_json::json!({"resident_code": r.resident_code, "status": status}));
    }
    Ok(Json(out))
}

/// Records one person's single-tube retest result (its code, or a lab's word for
/// it) in a round: the retest's new state (`cleared`, `confirmed`, `pending`), or
/// `no_retest_due` when none was pending. The API and the lab's page share it.
pub(crate) async fn record_retest_result(
    state: &AppState,
    auth: &Auth,
    round: i64,
    resident_code: &str,
    result: &str,
) -> Result<&'static str, AppError> {
    let result = frontline_domain::sampling::RetestResult::from_code(result.trim())
        .or_else(|| frontline_domain::sampling::RetestResult::parse(result).ok())
        .ok_or_else(|| AppError::field("result", "unknown"))?;
    let resident = resident_from_code(state, resident_code.trim()).await?;
    match state.store().record_retest(&auth.actor(), round, resident, result.code()).await {
        Ok(s) => Ok(s),
        Err(frontline_store::StoreError::NotFound) => Ok("no_retest_due"),
        Err(e) => Err(e.into()),
    }
}

/// Tube and result columns of a lab's sheet, found by their headers.
fn lab_columns(header: &[String]) -> Option<(usize, usize)> {
    let norm = |h: &String| h.trim().to_lowercase().replace([' ', '_'], "");
    let tube = header.iter().position(|h| {
        let h = norm(h);
        ["试管编号", "试管条码", "管码", "条码", "样本编号", "样本条码", "tube", "tubecode", "barcode", "sample"]
            .iter()
            .any(|k| h == *k || h.contains(k))
    })?;
    let result = header.iter().position(|h| {
        let h = norm(h);
        ["检测结果", "结果", "result"].iter().any(|k| h == *k || h.contains(k))
    })?;
    Some((tube, result))
}

/// What a lab sheet held.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct LabImport {
    /// Results recorded.
    pub recorded: u64,
    /// Tubes not in any round.
    pub unknown_tube: u64,
    /// Tubes that already had a result.
    pub already_recorded: u64,
    /// Rows whose tube code or result could not be read: (row number, reason code).
    pub refused: Vec<(usize, String)>,
}

/// Reads a lab's result sheet (CSV/XLSX as labs send them: tube code, result) and records it.
pub async fn import_lab_sheet(
    state: &AppState,
    auth: &Auth,
    bytes: axum::body::Bytes,
    file_name: &str,
) -> Result<LabImport, AppError> {
    let name = file_name.to_string();
    let sheet = tokio::task::spawn_blocking(move || {
        frontline_import::decode(&bytes, Some(&name), &frontline_import::Limits::default())
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("decode task: {e}")))?
    .map_err(|e| {
        AppError::Invalid(vec![FieldError::keyed("file", e.code(), format!("census.decode.{}", e.code()), e.params())])
    })?;
    let (header_row, (tube_col, result_col)) =
        sheet.rows.iter().take(20).enumerate().find_map(|(i, r)| lab_columns(r).map(|c| (i, c))).ok_or_else(|| {
            AppError::Invalid(vec![FieldError::keyed(
                "file",
                "no_lab_columns",
                "sampling.api.no_lab_columns".into(),
                vec![],
            )])
        })?;
    let mut out = LabImport::default();
    let mut parsed = Vec::new();
    for (i, row) in sheet.rows.iter().enumerate().skip(header_row + 1) {
        let cell = |c: usize| row.get(c).map(|s| s.trim()).unwrap_or("");
        if cell(tube_col).is_empty() && cell(result_col).is_empty() {
            continue;
        }
        match (TubeCode::parse(cell(tube_col)), LabResult::parse(cell(result_col))) {
            (Ok(t), Ok(r)) => parsed.push((t, r)),
            (Err(e), _) => out.refused.push((i + 1, format!("tube_{}", e.code()))),
            (_, Err(e)) => out.refused.push((i + 1, e.code().to_string())),
        }
    }
    let rules = SamplingRules::default();
    for chunk in parsed.chunks(MAX_BATCH) {
        for s in state.store().record_lab_results(&auth.actor(), chunk, rules.retest_deadline_hours).await? {
            match s {
                "recorded" => out.recorded += 1,
                "unknown_tube" => out.unknown_tube += 1,
                _ => out.already_recorded += 1,
            }
        }
    }
    Ok(out)
}

/// Imports a lab's result sheet (request body: CSV, XLSX or XLS with a tube column and a result column).
#[utoipa::path(post, path = "/api/v1/sampling/results/import", tag = "sampling",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = LabImport), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_results_import(
    State(state): State<AppState>,
    auth: Auth,
    body: axum::body::Bytes,
) -> Result<Json<LabImport>, AppError> {
    auth.require(Perm::LabResults)?;
    Ok(Json(import_lab_sheet(&state, &auth, body, "results.csv").await?))
}
