//! OpenAPI schemas of the store's and the domain's types that API handlers
//! return as they are. The store and the domain know nothing of OpenAPI; these
//! mirror their serialised form field for field (the OpenAPI test checks real
//! answers against them) and are never built: handlers keep returning the
//! store's types, so answers stay byte for byte what they were. They derive
//! `Serialize` only so that utoipa may read `#[serde(flatten)]`.

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// An import's counts: the object `frontline import census --json` prints.
#[derive(serde::Serialize, ToSchema)]
pub struct ImportSummary {
    /// Data rows read below the header.
    pub rows_read: u64,
    /// Blank rows and totals rows skipped.
    pub rows_skipped: u64,
    /// Residents created by this round.
    pub residents_created: u64,
    /// Residents found again.
    pub residents_matched: u64,
    /// Rows naming a person already named earlier in the file.
    pub duplicates_in_file: u64,
    /// Refused rows by reason.
    pub refused: BTreeMap<String, u64>,
    /// Warnings by reason (the people were kept).
    pub warnings: BTreeMap<String, u64>,
    /// Whether the round was written.
    pub committed: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The round's id, when committed.
    pub round_id: Option<i64>,
    /// Households created by this round.
    pub households_created: u64,
    /// Residents who moved to another household.
    pub residents_moved: u64,
    /// Pairs of residents to review as likely the same person.
    pub likely_duplicates: u64,
    /// The round's scope: `compound` or `buildings` (those the sheet covers).
    pub scope: String,
    /// The buildings the sheet covers, by name.
    pub sheet_buildings: Vec<String>,
    /// The compound's other buildings holding residents (outside a `buildings` scope).
    pub buildings_outside: u64,
    /// Residents who had left and are back in this sheet.
    pub residents_returned: u64,
    /// People of the rounds before, within the scope, with no row at all: they leave the
    /// base numbers when the round is committed (confirmed).
    pub gone: u64,
    /// People without a valid row tied to exactly one refused row: present, ID number to check.
    pub to_check: u64,
    /// People a refused row tied to several may stand for: never counted as gone.
    pub unresolved: u64,
    /// People who left the base numbers with this round (or would, for a dry run).
    pub departed: u64,
    /// Every row not written because an earlier row had the same document, in row order.
    pub duplicate_rows: Vec<DuplicateRow>,
}

/// A row not written because an earlier row of the file had the same document.
#[derive(serde::Serialize, ToSchema)]
pub struct DuplicateRow {
    /// The row's number in the file.
    pub row: u64,
    /// The earlier row with the same document.
    pub same_as_row: u64,
    /// Whether the two rows name different people (held for review as a conflict).
    pub conflict: bool,
}

/// One problem of one row, for the validation report.
#[derive(serde::Serialize, ToSchema)]
pub struct RowIssue {
    /// The row's number in the file.
    pub row_number: u64,
    /// The field of the column (`id_number`), when known.
    pub column: Option<String>,
    /// The column's 0-based index.
    pub column_index: Option<u64>,
    /// The cell's original value.
    pub value: String,
    /// The reason's code.
    pub code: String,
    /// The reason's parameters: (name, value) pairs.
    pub params: Vec<(String, String)>,
    /// Whether the row was refused (else: a warning, the person kept).
    pub refused: bool,
    /// The name the row gives, as written.
    pub name: String,
    /// The row's address cells, as written.
    pub address: String,
}

/// A committed census round.
#[derive(serde::Serialize, ToSchema)]
pub struct CensusRound {
    /// The round's id.
    pub id: i64,
    /// The compound it covers.
    pub compound_id: i64,
    /// The compound's name.
    pub compound: String,
    /// The round's name (`第二轮`).
    pub name: String,
    /// The imported file's name.
    pub file_name: String,
    /// Who committed it.
    pub committed_by: String,
    /// When (unix ms).
    pub created_at: i64,
    /// The import's summary (null if it could not be read back).
    pub summary: Option<ImportSummary>,
    /// What it is reconciled within: `compound` or `buildings` (those its sheet covers).
    pub scope: String,
    /// Who confirmed it: the people it reports gone left the base numbers then.
    pub confirmed_by: Option<String>,
    /// When (unix ms).
    pub confirmed_at: Option<i64>,
}

/// One raw row of a census round, as it arrived.
#[derive(serde::Serialize, ToSchema)]
pub struct TraceRow {
    /// The round.
    pub round_id: i64,
    /// The round's name.
    pub round: String,
    /// The file it came from.
    pub file_name: String,
    /// The row's number in the file.
    pub row_number: i64,
    /// What it did: `created`, `matched`, `duplicate`.
    pub outcome: String,
    /// The original cell values.
    pub raw: Vec<String>,
}

/// A pair of residents that are likely the same person.
#[derive(serde::Serialize, ToSchema)]
pub struct Review {
    /// The review's id.
    pub id: i64,
    /// Why: `name_phone`.
    pub kind: String,
    /// One resident.
    pub resident_a: i64,
    /// The other.
    pub resident_b: i64,
    /// `open`, `merged` or `kept_apart`.
    pub status: String,
    /// Who decided.
    pub decided_by: Option<String>,
}

/// A row holding an earlier row's document under another name, held for review.
#[derive(serde::Serialize, ToSchema)]
pub struct Conflict {
    /// The conflict's id.
    pub id: i64,
    /// The round whose file held both rows.
    pub round_id: i64,
    /// The round's name.
    pub round: String,
    /// The row not written.
    pub row_number: i64,
    /// The earlier row whose document it repeats.
    pub same_as_row: i64,
    /// The resident the earlier row made or matched.
    pub resident_id: Option<i64>,
    /// The name the row gives.
    pub name: String,
    /// The row's address cells, as written.
    pub address: String,
    /// `open` or `resolved`.
    pub status: String,
    /// Who resolved it.
    pub decided_by: Option<String>,
}

/// A merge of two residents, undoable.
#[derive(serde::Serialize, ToSchema)]
pub struct Merge {
    /// The merge's id.
    pub id: i64,
    /// The resident kept.
    pub kept_id: i64,
    /// The resident merged into it (deleted, kept in the snapshot).
    pub merged_id: i64,
    /// Who merged.
    pub merged_by: String,
    /// When (unix ms).
    pub merged_at: i64,
    /// Who undid it, if undone.
    pub undone_by: Option<String>,
}

/// Reconciliation counts for one building (or the whole compound).
#[derive(serde::Serialize, ToSchema)]
pub struct ReconcileCounts {
    /// The building's id (null for totals, or people without a building).
    pub building_id: Option<i64>,
    /// The building's name.
    pub building: String,
    /// In both rounds.
    pub still_present: u64,
    /// In the previous round only, with no row at all in this one (within its scope).
    pub gone: u64,
    /// In this round only.
    pub new: u64,
    /// In both, in another household.
    pub moved: u64,
    /// In both, with another phone number.
    pub phone_changed: u64,
    /// Without a valid row, but tied to exactly one refused row (ID number destroyed by a
    /// number cell; same name and surviving digits): present, ID number to check.
    pub to_check: u64,
    /// Without a valid row, and one of several people a refused row may stand for.
    pub unresolved: u64,
}

/// One person who is gone, new, moved, or changed phone.
#[derive(serde::Serialize, ToSchema)]
pub struct ReconcilePerson {
    /// `gone`, `new`, `moved`, `phone_changed`, `to_check` or `unresolved`.
    pub change: String,
    /// The resident.
    pub resident_id: i64,
    /// The name.
    pub name: String,
    /// The building they are counted under.
    pub building: String,
    /// The household before (`3号楼 1单元 1302`), for moves and the gone.
    pub before: Option<String>,
    /// The household now, for moves and the new.
    pub after: Option<String>,
    /// The phone before, for phone changes.
    pub old_phone: Option<String>,
    /// The phone now, for phone changes.
    pub new_phone: Option<String>,
    /// The refused row (its number in the file) standing for them, for those to check or unresolved.
    pub row_number: Option<i64>,
    /// For the gone of a confirmed round: `moved_out`, `away`, `deceased`, `transferred`,
    /// or `restored` once brought back.
    pub state: Option<String>,
}

/// A census round compared with the one before.
#[derive(serde::Serialize, ToSchema)]
pub struct Reconciliation {
    /// This round.
    pub round: CensusRound,
    /// The round before, if any (the first round has everyone new).
    pub previous: Option<CensusRound>,
    /// Totals over the compound.
    pub totals: ReconcileCounts,
    /// Per building, by name.
    pub buildings: Vec<ReconcileCounts>,
    /// Everyone who is not simply still present.
    pub people: Vec<ReconcilePerson>,
    /// `compound` or `buildings`.
    pub scope: String,
    /// The buildings compared, by name.
    pub scope_buildings: Vec<String>,
}

/// What confirming a round did.
#[derive(serde::Serialize, ToSchema)]
pub struct Confirmation {
    /// The round.
    pub round_id: i64,
    /// People who left the base numbers.
    pub departed: u64,
    /// People reported gone but named by a later round (or already departed), left in place.
    pub kept: u64,
}

/// A resident's departure: why they left the base numbers.
#[derive(serde::Serialize, ToSchema)]
pub struct Departure {
    /// The departure's id.
    pub id: i64,
    /// The resident.
    pub resident_id: i64,
    /// The round whose confirmation recorded it.
    pub round_id: Option<i64>,
    /// `moved_out`, `away`, `deceased` or `transferred`.
    pub state: String,
    /// Who confirmed.
    pub departed_by: String,
    /// When (unix ms).
    pub departed_at: i64,
    /// Who restored the person.
    pub restored_by: Option<String>,
    /// When (unix ms).
    pub restored_at: Option<i64>,
}

/// Base numbers of one building, compound or the district.
#[derive(serde::Serialize, ToSchema)]
pub struct BaseRow {
    /// The compound's id (null for the district).
    pub compound_id: Option<i64>,
    /// The compound's name.
    pub compound: String,
    /// The building's id (null for compound and district rows).
    pub building_id: Option<i64>,
    /// The building's name.
    pub building: String,
    /// Residents.
    pub residents: i64,
    /// Households with at least one resident.
    pub households: i64,
    /// Residents away (外出) according to the latest round.
    pub away: i64,
    /// Residents with each special need, in display order: (need code, count) pairs.
    pub needs: Vec<(String, i64)>,
    /// The latest census round of the compound: its name.
    pub round: Option<String>,
    /// …and when it was committed (unix ms).
    pub round_at: Option<i64>,
}

/// Base numbers (底数) at every level.
#[derive(serde::Serialize, ToSchema)]
pub struct BaseNumbers {
    /// Per building, by compound then building.
    pub buildings: Vec<BaseRow>,
    /// Per compound.
    pub compounds: Vec<BaseRow>,
    /// The whole district (residents without an address included).
    pub district: BaseRow,
}

/// A team assigned to a building of a sampling round.
#[derive(serde::Serialize, ToSchema)]
pub struct TeamAssignment {
    /// The building.
    pub building: i64,
    /// The team's name.
    pub team: Option<String>,
}

/// A sampling round.
#[derive(serde::Serialize, ToSchema)]
pub struct SamplingRound {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Default people per tube.
    pub pool_size: i64,
    /// `door_to_door` or `fixed_point`.
    pub mode: String,
    /// Deadline (unix ms).
    pub deadline: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    /// The buildings in scope.
    pub buildings: Vec<i64>,
    /// The teams assigned to buildings (buildings without a team are left out).
    pub teams: Vec<TeamAssignment>,
}

/// Coverage of a sampling round for one building.
#[derive(serde::Serialize, ToSchema)]
pub struct BuildingCoverage {
    /// The building.
    pub building: i64,
    /// Its name.
    pub name: String,
    /// Its compound.
    pub compound: i64,
    /// The compound's name (building names repeat from one compound to the next).
    pub compound_name: String,
    /// The team assigned to it in this round.
    pub team: Option<String>,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
}

/// Coverage of a sampling round for one compound.
#[derive(serde::Serialize, ToSchema)]
pub struct CompoundCoverage {
    /// The compound.
    pub compound: i64,
    /// Its name.
    pub name: String,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
}

/// Coverage of a sampling round.
#[derive(serde::Serialize, ToSchema)]
pub struct Coverage {
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
    /// Expected but not sampled.
    pub missed: i64,
    /// Per compound.
    pub compounds: Vec<CompoundCoverage>,
    /// Per building.
    pub buildings: Vec<BuildingCoverage>,
}

/// Coverage of one household.
#[derive(serde::Serialize, ToSchema)]
pub struct HouseholdCoverage {
    /// The household.
    pub household: i64,
    /// Its floor.
    pub floor: Option<i64>,
    /// Its room.
    pub room: String,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
}

/// Coverage of one unit, with its households.
#[derive(serde::Serialize, ToSchema)]
pub struct UnitCoverage {
    /// The unit.
    pub unit: i64,
    /// Its name.
    pub name: String,
    /// Residents who should be tested.
    pub expected: i64,
    /// Residents bound to a valid tube.
    pub sampled: i64,
    /// Its households, by floor and room.
    pub households: Vec<HouseholdCoverage>,
}

/// One building's coverage down to its households: the building's totals and its units.
#[derive(serde::Serialize, ToSchema)]
pub struct BuildingDetail {
    /// The building's totals.
    #[serde(flatten)]
    pub totals: BuildingCoverage,
    /// Per unit and household.
    pub units: Vec<UnitCoverage>,
}

/// A resident still to be sampled.
#[derive(serde::Serialize, ToSchema)]
pub struct Missed {
    /// The resident.
    pub resident_id: i64,
    /// The name.
    pub name: String,
    /// The building's id.
    pub building_id: i64,
    /// The building's name.
    pub building: String,
    /// The compound's name.
    pub compound: String,
    /// The team assigned to the building.
    pub team: Option<String>,
    /// The unit's name.
    pub unit: String,
    /// The floor.
    pub floor: Option<i64>,
    /// The room.
    pub room: String,
    /// Why they are missed, when known: noted by the sweep (`bedridden`,
    /// `refused`, …), or `tube_invalid` when a lab voided their tube.
    pub reason: Option<String>,
    /// The household's phone, masked; only for readers whose view includes
    /// phones (office roles), otherwise null.
    pub phone: Option<String>,
}

/// A tube.
#[derive(serde::Serialize, ToSchema)]
pub struct TubeView {
    /// Its barcode.
    pub code: String,
    /// Its round.
    pub round: i64,
    /// How many people it takes (1 for a single tube).
    pub pool_size: i64,
    /// People bound to it.
    pub members: i64,
    /// Whether it is sealed.
    pub sealed: bool,
    /// Who opened it.
    pub sampler: String,
    /// The id of the account that opened it, when known.
    pub opened_by: Option<i64>,
    /// Its lab result, once recorded.
    pub result: Option<String>,
}

/// Pool-size advice for a round, from its observed abnormal-tube rate.
#[derive(serde::Serialize, ToSchema)]
pub struct PoolAdvice {
    /// The estimated per-person prevalence p (0 when there is no data yet).
    pub prevalence: f64,
    /// (k, expected tests per person) for k = 1…30.
    pub table: Vec<(u32, f64)>,
    /// The best k in 1…30 at that prevalence.
    pub recommended: u32,
    /// The best k among the allowed pool sizes.
    pub recommended_allowed: u32,
    /// The observed fraction of abnormal tubes q (with a zero correction).
    pub abnormal_rate: f64,
    /// The mean number of people per tube, people / tubes (at least 1).
    pub mean_pool_size: f64,
    /// Whether any tube had a result; without one the advice is the round's default size.
    pub has_data: bool,
}

/// An OpenAPI 3.1 document: this API's own description.
#[derive(serde::Serialize, ToSchema)]
pub struct OpenApiDocument {
    /// The OpenAPI version (`3.1.0`).
    pub openapi: String,
    /// The API's title, version and description.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub info: serde_json::Value,
    /// The operations, by path and method.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub paths: serde_json::Value,
    /// Schemas and security schemes.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub components: serde_json::Value,
}
