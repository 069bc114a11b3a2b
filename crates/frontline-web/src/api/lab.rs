//! The lab's side of sampling: results per tube (posted, or a lab's sheet
//! imported) and single retests at home.

use axum::extract::State;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::ids::SamplingCode;
use frontline_domain::sampling::{LabResult, RetestResult, TubeCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::ApiJson;
use crate::api::sampling::MAX_BATCH;
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
    /// The result sent: `negative`, `abnormal` or `invalid`.
    pub result: String,
    /// `recorded`, `unknown_tube`, `already_recorded` (the same result again) or
    /// `conflicting_result` (the tube has another result; nothing changed).
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
    for (i, r) in batch.results.iter().enumerate() {
        let tube = TubeCode::parse(&r.tube);
        let result = LabResult::from_code(r.result.trim()).or_else(|| LabResult::parse(&r.result).ok());
        if tube.is_err() {
            errors.push(FieldError::new(&format!("results[{i}].tube"), "unknown"));
        }
        if result.is_none() {
            errors.push(FieldError::new(&format!("results[{i}].result"), "unknown"));
        }
        if let (Ok(t), Some(l)) = (tube, result) {
            parsed.push((t, l));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let hours = state.config().rules.sampling.retest_deadline_hours;
    let statuses = state.store().record_lab_results(&auth.actor(), &parsed, hours).await?;
    Ok(Json(
        parsed
            .iter()
            .zip(statuses)
            .map(|((t, r), s)| ResultOutcome {
                tube: t.as_str().to_string(),
                result: r.code().to_string(),
                status: s.to_string(),
            })
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

/// What happened to one retest result.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetestOutcome {
    /// The resident's sampling code, as sent.
    pub resident_code: String,
    /// The retest's new state: `cleared`, `confirmed` or `pending`; `no_retest_due`
    /// when none was pending.
    pub status: &'static str,
    /// The person's name, as the reader may see it (masked for the lab).
    pub name: Option<String>,
}

/// Records single-tube retest results: negative releases the person, positive
/// confirms a case. Every line is checked before any is written, and all are
/// written in one transaction: a batch with a bad line writes nothing.
#[utoipa::path(post, path = "/api/v1/sampling/retests", tag = "sampling", request_body = RetestBatch,
    responses((status = 200, body = Vec<RetestOutcome>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create_retest_results(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(batch): ApiJson<RetestBatch>,
) -> Result<Json<Vec<RetestOutcome>>, AppError> {
    auth.require(Perm::LabResults)?;
    if batch.results.len() > MAX_BATCH {
        return Err(AppError::field("results", "too_long"));
    }
    let lines: Vec<(&str, &str)> =
        batch.results.iter().map(|r| (r.resident_code.as_str(), r.result.as_str())).collect();
    let statuses =
        record_retests(&state, &auth, batch.round, &lines, |i, field| format!("results[{i}].{field}")).await?;
    let codes: Vec<&str> = lines.iter().map(|(code, _)| *code).collect();
    let names = crate::api::lab_tubes::person_names(&state, &auth, &codes).await?;
    Ok(Json(
        batch
            .results
            .iter()
            .zip(statuses)
            .zip(names)
            .map(|((r, status), name)| RetestOutcome { resident_code: r.resident_code.clone(), status, name })
            .collect(),
    ))
}

/// Records one person's single-tube retest result (its code, or a lab's word for
/// it) in a round: the retest's new state (`cleared`, `confirmed`, `pending`), or
/// `no_retest_due` when none was pending. The lab's page uses it.
pub(crate) async fn record_retest_result(
    state: &AppState,
    auth: &Auth,
    round: i64,
    resident_code: &str,
    result: &str,
) -> Result<&'static str, AppError> {
    let statuses = record_retests(state, auth, round, &[(resident_code, result)], |_, field| field.to_string()).await?;
    Ok(statuses.first().copied().unwrap_or("no_retest_due"))
}

/// Checks every (resident code, result) line — each error named by
/// `field(line, name)` — and only when all are sound records them in one
/// transaction. An unknown round is [`AppError::NotFound`].
async fn record_retests(
    state: &AppState,
    auth: &Auth,
    round: i64,
    lines: &[(&str, &str)],
    field: impl Fn(usize, &str) -> String,
) -> Result<Vec<&'static str>, AppError> {
    let key = state.code_key();
    let mut errors = Vec::new();
    let mut parsed = Vec::with_capacity(lines.len());
    for (i, (code, result)) in lines.iter().enumerate() {
        let result = RetestResult::from_code(result.trim()).or_else(|| RetestResult::parse(result).ok());
        if result.is_none() {
            errors.push(FieldError::new(&field(i, "result"), "unknown"));
        }
        let resident = SamplingCode::parse(code.trim()).ok().map(|c| c.decode(key));
        if resident.is_none() {
            errors.push(FieldError::new(&field(i, "resident_code"), "unknown"));
        }
        parsed.push((resident, result));
    }
    let ids: Vec<i64> = parsed.iter().filter_map(|(r, _)| *r).collect();
    let known: std::collections::HashSet<i64> = state.store().existing_residents(&ids).await?.into_iter().collect();
    for (i, (resident, _)) in parsed.iter().enumerate() {
        if resident.is_some_and(|r| !known.contains(&r)) {
            errors.push(FieldError::new(&field(i, "resident_code"), "not_found"));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let checked: Vec<(i64, RetestResult)> =
        parsed.into_iter().filter_map(|(resident, result)| Some((resident?, result?))).collect();
    Ok(state.store().record_retests(&auth.actor(), round, &checked).await?)
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
    /// Their codes.
    pub unknown_tubes: Vec<String>,
    /// Tubes recorded abnormal (their members now wait for a retest), by code.
    pub abnormal: Vec<String>,
    /// Tubes recorded invalid (their members are back on the missed list), by code.
    pub invalid: Vec<String>,
    /// Tubes that already had this result.
    pub already_recorded: u64,
    /// Tubes that already had a different result (left unchanged), by code.
    pub conflicting: Vec<String>,
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
    let hours = state.config().rules.sampling.retest_deadline_hours;
    for chunk in parsed.chunks(MAX_BATCH) {
        let statuses = state.store().record_lab_results(&auth.actor(), chunk, hours).await?;
        for ((tube, result), s) in chunk.iter().zip(statuses) {
            match s {
                "recorded" => {
                    out.recorded += 1;
                    match result {
                        LabResult::Abnormal => out.abnormal.push(tube.as_str().to_string()),
                        LabResult::Invalid => out.invalid.push(tube.as_str().to_string()),
                        LabResult::Negative => {}
                    }
                }
                "unknown_tube" => {
                    out.unknown_tube += 1;
                    out.unknown_tubes.push(tube.as_str().to_string());
                }
                "conflicting_result" => out.conflicting.push(tube.as_str().to_string()),
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
