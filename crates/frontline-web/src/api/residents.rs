//! Residents: list, search, read (masked, or revealed and audited), create, update.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use frontline_domain::access::Perm;
use frontline_domain::date::Date;
use frontline_domain::i18n::{catalogue, Lang};
use frontline_domain::ids::{IdNumber, PassportNumber, Phone, Sex};
use frontline_domain::people::{SpecialNeed, SpecialNeeds};
use frontline_domain::places::clean_name;
use frontline_domain::privacy::Disclosure;
use frontline_store::residents::{Document, NewResident, ResidentPatch};
use frontline_store::StoreError;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::{AppError, ErrorEnvelope, FieldError, FieldErrorBody};
use crate::i18n::ReqLang;
use crate::privacy;
use crate::views::{today, ResidentList, ResidentView};
use crate::AppState;

/// Filters of the resident list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentQuery {
    /// Only residents of this building.
    pub building: Option<i64>,
    /// Only residents of this household.
    pub household: Option<i64>,
    /// Search: a name or its start, an address like `3-1-1302`, a phone's last 4
    /// digits or an ID number's last 4 to 6 characters (roles that see them).
    pub q: Option<String>,
    /// Rows per page (1–500).
    pub limit: Option<i64>,
    /// The previous page's `next`.
    pub after: Option<String>,
}

/// Lists residents, personal data masked, within the reader's reach (a
/// volunteer: the buildings of their team's assignment). A search by number
/// takes a phone's last 4 digits or an ID number's last 4 to 6 characters,
/// for roles that see those numbers, and is rate-limited per account.
#[utoipa::path(get, path = "/api/v1/residents", tag = "residents", params(ResidentQuery),
    responses((status = 200, body = ResidentList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_residents(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ResidentQuery>,
) -> Result<Json<ResidentList>, AppError> {
    auth.require(Perm::ViewResidents)?;
    let (limit, after) = PageQuery { limit: q.limit, after: q.after }.parse()?;
    let within = privacy::reach(&state, &auth).await?;
    let filter = privacy::resident_filter(&state, &auth, within, q.building, q.household, q.q)?;
    let page = state.store().list_residents(&filter, after, limit).await?;
    let rules = &state.config().rules;
    let (day, who) = (today(rules), Disclosure::masked(auth.user.role));
    Ok(Json(ResidentList {
        items: page.items.into_iter().map(|r| ResidentView::new(r, who, state.code_key(), rules, day)).collect(),
        next: page.next,
    }))
}

/// Options for reading one resident.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    /// Show personal data (ID numbers, phones, raw census cells) unmasked
    /// (needs the permission; recorded in the audit log).
    pub reveal: Option<bool>,
}

/// One resident; `?reveal=true` unmasks personal data for roles allowed to see it, and audits the view.
#[utoipa::path(get, path = "/api/v1/residents/{id}", tag = "residents", params(("id" = i64, Path), RevealQuery),
    responses((status = 200, body = ResidentView), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_resident(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> Result<Json<ResidentView>, AppError> {
    Ok(Json(read_resident(&state, &auth, id, q.reveal.unwrap_or(false)).await?))
}

/// Reads one resident for the API or a page: within the reader's reach (404
/// outside it); revealing checks the permission and is audited.
pub async fn read_resident(state: &AppState, auth: &Auth, id: i64, reveal: bool) -> Result<ResidentView, AppError> {
    auth.require(Perm::ViewResidents)?;
    if reveal {
        auth.require(Perm::RevealPersonalData)?;
    }
    let r = state.store().get_resident(id).await?;
    privacy::require_reach(state, auth, r.building_id).await?;
    let who = privacy::disclosure(state, auth, reveal, "resident.reveal", "resident", Some(id.to_string())).await?;
    let rules = &state.config().rules;
    Ok(ResidentView::new(r, who, state.code_key(), rules, today(rules)))
}

fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A resident to create.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResidentInput {
    /// The name.
    #[schema(value_type = String)]
    pub name: Option<String>,
    /// `cn_id` (default), `passport` or `none`.
    pub doc_kind: Option<String>,
    /// The ID number (GB 11643, 18 or 15 digits) or passport number; required
    /// unless `doc_kind` is `none`.
    pub id_number: Option<String>,
    /// The mobile number.
    pub phone: Option<String>,
    /// The household's id.
    pub household: Option<i64>,
    /// Birth date `YYYY-MM-DD`, for people without a Chinese ID number.
    pub birth_date: Option<String>,
    /// `male` or `female`, for people without a Chinese ID number.
    pub sex: Option<String>,
    /// Special-needs codes (`living_alone`, `pregnant`, `dialysis`, …).
    pub special_needs: Option<Vec<String>>,
}

/// The fields of a resident to change: absent fields stay as they are;
/// `"phone": null` removes the phone.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResidentPatchInput {
    /// The name.
    pub name: Option<String>,
    /// `cn_id` (default), `passport` or `none`; changed together with `id_number`.
    pub doc_kind: Option<String>,
    /// The ID number (GB 11643, 18 or 15 digits) or passport number.
    pub id_number: Option<String>,
    /// The mobile number (null or empty removes it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// The household's id.
    pub household: Option<i64>,
    /// Special-needs codes (`living_alone`, `pregnant`, `dialysis`, …); replaces them all.
    pub special_needs: Option<Vec<String>>,
}

/// A created resident and the warnings its input raised.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedResident {
    /// The resident.
    #[serde(flatten)]
    pub resident: ResidentView,
    /// Accepted, but worth a look (an unknown region code, a converted 15-digit number).
    pub warnings: Vec<FieldErrorBody>,
}

/// The document and its warnings, or the field error.
fn parse_document(
    kind: &str,
    number: Option<&str>,
    errors: &mut Vec<FieldError>,
    warnings: &mut Vec<FieldError>,
) -> Option<Document> {
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    match (kind, number) {
        ("none", None) => Some(Document::None),
        ("none", Some(_)) => {
            errors.push(FieldError::new("doc_kind", "unknown"));
            None
        }
        ("cn_id" | "passport", None) => {
            errors.push(FieldError::new("id_number", "required"));
            None
        }
        ("cn_id", Some(n)) => match IdNumber::parse(n) {
            Ok(parsed) => {
                for w in &parsed.warnings {
                    warnings.push(FieldError::keyed(
                        "id_number",
                        w.code(),
                        format!("error.id_number.{}", w.code()),
                        w.params(),
                    ));
                }
                Some(Document::CnId(parsed.id))
            }
            Err(e) => {
                errors.push(FieldError::keyed(
                    "id_number",
                    e.code(),
                    format!("error.id_number.{}", e.code()),
                    e.params(),
                ));
                None
            }
        },
        ("passport", Some(n)) => PassportNumber::parse(n).map(Document::Passport).or_else(|| {
            errors.push(FieldError::new("id_number", "bad_passport"));
            None
        }),
        _ => {
            errors.push(FieldError::new("doc_kind", "unknown"));
            None
        }
    }
}

fn parse_phone(raw: &str, errors: &mut Vec<FieldError>) -> Option<Phone> {
    Phone::parse(raw)
        .map_err(|e| errors.push(FieldError::keyed("phone", e.code(), format!("error.phone.{}", e.code()), e.params())))
        .ok()
}

fn parse_needs(codes: &[String], errors: &mut Vec<FieldError>) -> SpecialNeeds {
    let mut needs = SpecialNeeds::NONE;
    for c in codes {
        match SpecialNeed::from_code(c) {
            // Age-derived needs are computed, never stored.
            Some(SpecialNeed::Elderly | SpecialNeed::Infant) => {}
            Some(n) => needs.insert(n),
            None => errors.push(FieldError::new("special_needs", "unknown")),
        }
    }
    needs
}

fn parse_name(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    match raw.map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("name", "required"));
            None
        }
        Some(n) => clean_name(n).or_else(|| {
            errors.push(FieldError::new("name", "too_long"));
            None
        }),
    }
}

/// Parses a new resident; every invalid field is reported at once.
pub fn parse_new(input: ResidentInput) -> Result<(NewResident, Vec<FieldError>), AppError> {
    let mut errors = vec![];
    let mut warnings = vec![];
    let name = parse_name(input.name.as_deref(), &mut errors);
    let kind = input.doc_kind.as_deref().unwrap_or("cn_id");
    let document = parse_document(kind, input.id_number.as_deref(), &mut errors, &mut warnings);
    let phone = match input.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => parse_phone(p, &mut errors),
    };
    let birth_date = match input.birth_date.as_deref() {
        None => None,
        Some(b) => match Date::parse_iso(b.trim()) {
            Some(d) => Some(d.to_string()),
            None => {
                errors.push(FieldError::new("birth_date", "bad_date"));
                None
            }
        },
    };
    let sex = match input.sex.as_deref() {
        None => None,
        Some(s) => match Sex::from_code(s) {
            Some(s) => Some(s.code().to_string()),
            None => {
                errors.push(FieldError::new("sex", "unknown"));
                None
            }
        },
    };
    let needs = parse_needs(input.special_needs.as_deref().unwrap_or(&[]), &mut errors);
    match (name, document) {
        (Some(name), Some(document)) if errors.is_empty() => {
            Ok((NewResident { name, document, birth_date, sex, phone, household_id: input.household, needs }, warnings))
        }
        _ => Err(AppError::Invalid(errors)),
    }
}

/// Parses a patch; only present fields are checked.
pub fn parse_patch(input: ResidentPatchInput) -> Result<(ResidentPatch, Vec<FieldError>), AppError> {
    let mut errors = vec![];
    let mut warnings = vec![];
    let name = input.name.as_deref().and_then(|n| parse_name(Some(n), &mut errors));
    let document = match (&input.id_number, &input.doc_kind) {
        (None, None) => None,
        _ => parse_document(
            input.doc_kind.as_deref().unwrap_or("cn_id"),
            input.id_number.as_deref(),
            &mut errors,
            &mut warnings,
        ),
    };
    let phone = match input.phone {
        None => None,
        Some(None) => Some(None),
        Some(Some(p)) if p.trim().is_empty() => Some(None),
        Some(Some(p)) => parse_phone(&p, &mut errors).map(Some),
    };
    let needs = input.special_needs.as_deref().map(|n| parse_needs(n, &mut errors));
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok((ResidentPatch { name, document, phone, household_id: input.household, needs }, warnings))
}

fn write_error(e: StoreError) -> AppError {
    match e {
        StoreError::MissingReference => AppError::field("household", "not_found"),
        other => other.into(),
    }
}

fn warning_bodies(lang: Lang, warnings: &[FieldError]) -> Vec<FieldErrorBody> {
    let cat = catalogue();
    warnings
        .iter()
        .map(|w| FieldErrorBody {
            field: w.field.clone(),
            code: w.code.clone(),
            message: cat.format(lang, &w.key, &w.params),
        })
        .collect()
}

/// Creates a resident.
#[utoipa::path(post, path = "/api/v1/residents", tag = "residents", request_body = ResidentInput,
    responses((status = 201, body = CreatedResident), (status = 403, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_resident(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiJson(input): ApiJson<ResidentInput>,
) -> Result<(StatusCode, Json<CreatedResident>), AppError> {
    auth.require(Perm::EditResidents)?;
    let (new, warnings) = parse_new(input)?;
    let created = state.store().create_resident(&auth.actor(), &new).await.map_err(write_error)?;
    let rules = &state.config().rules;
    let who = Disclosure::masked(auth.user.role);
    let resident = ResidentView::new(created, who, state.code_key(), rules, today(rules));
    Ok((StatusCode::CREATED, Json(CreatedResident { resident, warnings: warning_bodies(lang, &warnings) })))
}

/// Changes a resident; a new household is recorded in the address history.
#[utoipa::path(patch, path = "/api/v1/residents/{id}", tag = "residents", params(("id" = i64, Path)),
    request_body = ResidentPatchInput,
    responses((status = 200, body = CreatedResident), (status = 404, body = ErrorEnvelope),
              (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn update_resident(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ResidentPatchInput>,
) -> Result<Json<CreatedResident>, AppError> {
    let (resident, warnings) = change_resident(&state, &auth, id, input).await?;
    Ok(Json(CreatedResident { resident, warnings: warning_bodies(lang, &warnings) }))
}

/// Changes a resident for the API or the resident page: the permission, the
/// reader's reach (404 outside it), every field checked before anything is
/// written, one audited transaction. The masked view and the input's warnings.
pub async fn change_resident(
    state: &AppState,
    auth: &Auth,
    id: i64,
    input: ResidentPatchInput,
) -> Result<(ResidentView, Vec<FieldError>), AppError> {
    auth.require(Perm::EditResidents)?;
    let current = state.store().get_resident(id).await?;
    privacy::require_reach(state, auth, current.building_id).await?;
    let (patch, warnings) = parse_patch(input)?;
    let updated = state.store().update_resident(&auth.actor(), id, &patch).await.map_err(write_error)?;
    let rules = &state.config().rules;
    let who = Disclosure::masked(auth.user.role);
    Ok((ResidentView::new(updated, who, state.code_key(), rules, today(rules)), warnings))
}
