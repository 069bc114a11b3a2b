//! Census rounds (人员摸排): the pure rules for reading volunteers' sheets of who lives where.
//!
//! No I/O and no file decoding: the importer hands over rows of cell texts, and this module
//! finds the header row ([`detect_header`]), maps columns to [`Field`]s by synonyms in Chinese
//! and English (or by a mapping saved per source, [`apply_mapping`]), reads address parts
//! ([`parse_address`], [`parse_building`], …), and turns each data row into a
//! [`CensusPerson`], a refusal, a blank row or a totals row ([`normalise_row`]).
//!
//! A row is refused only when its person cannot be identified safely. Every [`Issue`] carries
//! the column and the original value, and a stable code whose message, in Chinese and English,
//! is `census.issue.<code>` in `messages_census.toml`.
//!
//! Refusal codes (the row is not imported):
//! - `id_invalid_check` — the ID number's check character does not match (params `expected`, `found`);
//! - `id_impossible_date` — the ID number's birth date is impossible (param `raw`);
//! - `id_bad_length` — not 18 (or 15) characters (param `len`);
//! - `id_bad_character` — a character that cannot be in an ID number (params `position`, `found`);
//! - `id_precision_lost` — the number went through a spreadsheet number cell (`3.50602E+17`,
//!   or digits ending in zeros that fail the check): re-enter it, it is never matched by guess;
//! - `passport_invalid` — the document kind says passport but the number has no passport shape;
//! - `no_identity` — no ID number, no passport and no name.
//!
//! Warning codes (the person is kept, without the bad field):
//! - `name_missing` — a valid document but no name;
//! - `name_invalid` — the name cell cannot be a name (too long, control characters);
//! - `phone_invalid` — not a mobile number (param `reason`: a [`crate::ids::PhoneError`] code);
//! - `address_unreadable` — a building, unit, room, floor, compound or address cell could not be read;
//! - `id_unknown_region` — the address code is not in the region table (param `code`);
//! - `id_converted_from_15` — an old 15-digit number, converted to 18 (param `original`);
//! - `birth_date_invalid` — the birth date cell is not a whole, past date;
//! - `sex_invalid` — the sex cell is neither male nor female.

mod address;
mod damaged;
mod dupes;
mod field;
mod header;
mod row;
mod text;

#[cfg(test)]
mod tests_address;
#[cfg(test)]
mod tests_header;
#[cfg(test)]
mod tests_row;

pub use address::{
    building_name, parse_address, parse_building, parse_floor, parse_number, parse_room, parse_unit, unit_name,
    Address, Room,
};
pub use damaged::{census_name, surviving_id_prefix, REGION_DIGITS, SURVIVING_DIGITS};
pub use dupes::{duplicate_key_name_phone, ids_one_edit_apart, name_key, names_conflict};
pub use field::{field_for_header, normalise_header, Field, HEADER_SYNONYMS, REQUIRED_FIELDS, WEAK_SYNONYMS};
pub use header::{apply_mapping, detect_header, detect_header_with, HeaderError, HeaderMap};
pub use row::{normalise_row, row_label};
pub use text::parse_birth_date;

use crate::date::Date;
use crate::ids::{IdNumber, PassportNumber, Phone, Sex};
use crate::people::SpecialNeeds;

/// Why a resident left the base numbers (a confirmed round found no row of
/// theirs): the first is the default; each can be changed per person.
pub const DEPARTURE_STATES: &[&str] = &["moved_out", "away", "deceased", "transferred"];

/// Codes of issues that refuse a row.
pub const REFUSAL_CODES: &[&str] = &[
    "id_invalid_check",
    "id_impossible_date",
    "id_bad_length",
    "id_bad_character",
    "id_precision_lost",
    "passport_invalid",
    "no_identity",
];

/// Codes of issues that keep the person and drop or flag one field.
pub const WARNING_CODES: &[&str] = &[
    "name_missing",
    "name_invalid",
    "phone_invalid",
    "address_unreadable",
    "id_unknown_region",
    "id_converted_from_15",
    "birth_date_invalid",
    "sex_invalid",
];

/// Rules of a census that differ by city.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CensusRules {
    /// People this old or older (full years, from the birth date) are flagged [`crate::people::SpecialNeed::Elderly`].
    pub elderly_age: i32,
}

impl Default for CensusRules {
    fn default() -> Self {
        CensusRules { elderly_age: 80 }
    }
}

/// One data row of a sheet, as cell texts.
#[derive(Clone, Copy, Debug)]
pub struct RawRow<'a> {
    /// The row's number in the file, for the report (not used by the rules).
    pub row_number: usize,
    /// The cells, by column index (missing trailing cells are blank).
    pub cells: &'a [String],
}

/// The identity document of a census person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", content = "number", rename_all = "snake_case")]
pub enum Doc {
    /// A resident ID number (GB 11643).
    CnId(IdNumber),
    /// A passport or other travel document.
    Passport(PassportNumber),
    /// No document: matched later by name + birth date + household, or held for review.
    None,
}

/// A person read from one census row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CensusPerson {
    /// The cleaned name; empty when the row had a valid document but no name (warned `name_missing`).
    pub name: String,
    /// The identity document.
    pub document: Doc,
    /// The mobile number, when valid.
    pub phone: Option<Phone>,
    /// The building number.
    pub building: Option<u32>,
    /// The unit number.
    pub unit: Option<u32>,
    /// The room.
    pub room: Option<Room>,
    /// The compound name, from a compound column or an address prefix.
    pub compound: Option<String>,
    /// Sex: from the ID number when there is one, else from the sex column.
    pub sex: Option<Sex>,
    /// Birth date: from the ID number when there is one, else from the birth date column.
    pub birth_date: Option<Date>,
    /// Special needs from the need columns, plus Elderly derived from the birth date.
    pub needs: SpecialNeeds,
    /// Away from home (外出) according to the status or away column.
    pub away: bool,
    /// The ID number was written in the old 15-digit form and converted.
    pub converted_from_15: bool,
    /// Relation to the head of household (与户主关系), as written.
    pub relation: Option<String>,
    /// The note (备注), as written (cut to 2,000 characters).
    pub note: Option<String>,
}

/// Something to report about one cell (or the row) of a census sheet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    /// The field of the column concerned, if any.
    pub column: Option<Field>,
    /// The 0-based index of the column concerned, if any.
    pub column_index: Option<usize>,
    /// The cell's original value (empty when the cell is missing).
    pub value: String,
    /// The stable code: one of [`REFUSAL_CODES`] or [`WARNING_CODES`].
    pub code: &'static str,
    /// Parameters of the message.
    pub params: Vec<(&'static str, String)>,
}

impl Issue {
    /// Whether this issue refuses the row.
    pub fn is_refusal(&self) -> bool {
        REFUSAL_CODES.contains(&self.code)
    }

    /// The catalogue key of the message: `census.issue.<code>`.
    pub fn message_key(&self) -> String {
        format!("census.issue.{}", self.code)
    }
}

/// What one data row turned out to be.
// Rows are produced and consumed one at a time, so the size of `Person` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    /// Every cell blank (or only a serial number outside the mapped columns): skipped and counted.
    Blank,
    /// A totals row (合计, 总计, 小计…): skipped and counted.
    Total,
    /// The person cannot be identified safely; the refusal comes first, then any warnings.
    Refused(Vec<Issue>),
    /// A person, with warnings about fields that were dropped or flagged.
    Person(CensusPerson, Vec<Issue>),
}
