//! What an import is asked to do and what it answers: its options, its counts,
//! and its report row by row (the CLI's `--json` and the API's summary).

use std::collections::BTreeMap;

use frontline_domain::census::CensusRules;
use frontline_domain::date::Date;
use serde::Serialize;

use super::repeats::DuplicateRow;
use super::scope::Scope;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The round's name (unique per compound).
    pub round: String,
    /// The compound the sheet covers (created when new).
    pub compound: String,
    /// The file's name, kept with the round.
    pub file_name: String,
    /// Where the sheet comes from (its column mapping is saved under this).
    pub source: String,
    /// Check and count everything, write nothing.
    pub dry_run: bool,
    /// Commit the valid rows even when some were refused.
    pub accept_valid: bool,
    /// The date ages are computed against.
    pub today: Date,
    /// Rules that differ by city.
    pub rules: CensusRules,
    /// What the round is reconciled within; `None`: the sheet's buildings when
    /// other buildings of the compound hold residents, else the compound.
    pub scope: Option<Scope>,
}

/// The import's counts: the object the CLI prints with `--json` and the API returns.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
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
    /// The round's scope: `compound` or `buildings`.
    pub scope: String,
    /// The buildings the sheet covers, by name.
    pub sheet_buildings: Vec<String>,
    /// The compound's other buildings holding residents (outside a `buildings` scope).
    pub buildings_outside: u64,
    /// Residents who had left (a confirmed round found them gone) and are back in this sheet.
    pub residents_returned: u64,
    /// People of the rounds before, within the scope, with no row at all: they leave the
    /// base numbers when the round is committed.
    pub gone: u64,
    /// People without a valid row tied to exactly one refused row (ID number destroyed by a
    /// number cell): present, ID number to check.
    pub to_check: u64,
    /// People a refused row tied to several may stand for: never counted as gone.
    pub unresolved: u64,
    /// People who left the base numbers with this round (or would, for a dry run).
    pub departed: u64,
    /// Every row not written because an earlier row had the same document, in row order.
    pub duplicate_rows: Vec<DuplicateRow>,
}

/// One problem of one row, for the validation report.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RowIssue {
    /// The row's number in the file.
    pub row_number: usize,
    /// The field of the column (`id_number`), when known.
    pub column: Option<String>,
    /// The column's 0-based index.
    pub column_index: Option<usize>,
    /// The cell's original value.
    pub value: String,
    /// The reason's code.
    pub code: String,
    /// The reason's parameters.
    pub params: Vec<(String, String)>,
    /// Whether the row was refused (else: a warning, the person kept).
    pub refused: bool,
    /// The name the row gives, as written (empty when it has none).
    #[serde(default)]
    pub name: String,
    /// The row's address cells, as written.
    #[serde(default)]
    pub address: String,
}

/// The summary and the report of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    /// Counts.
    pub summary: ImportSummary,
    /// Every refusal and warning, by row.
    pub issues: Vec<RowIssue>,
}
