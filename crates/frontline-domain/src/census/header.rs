//! Finding the header row of a census sheet (below title rows and merged cells) and mapping its columns to fields.

use super::field::{field_for_header, is_weak_header, normalise_header, Field};
use super::text::is_blank;

/// Which column holds which field, and where the header row is.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HeaderMap {
    /// (0-based column index, field), one per field, in column order.
    pub columns: Vec<(usize, Field)>,
    /// The 0-based index of the header row among the rows scanned; data starts below it.
    pub header_row: usize,
    /// Further columns naming a field already mapped (kept first, these are ignored), in column order.
    pub duplicates: Vec<(usize, Field)>,
}

impl HeaderMap {
    /// The column holding `field`, if any.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns.iter().find(|&&(_, f)| f == field).map(|&(i, _)| i)
    }

    /// The field of column `index`, if it is mapped.
    pub fn field_at(&self, index: usize) -> Option<Field> {
        self.columns.iter().find(|&&(i, _)| i == index).map(|&(_, f)| f)
    }

    /// Whether a name or ID number column is mapped.
    pub fn has_identity(&self) -> bool {
        self.column(Field::Name).is_some() || self.column(Field::IdNumber).is_some()
    }

    /// The [`super::REQUIRED_FIELDS`] no column is mapped to, in their order.
    pub fn missing_required(&self) -> Vec<Field> {
        super::REQUIRED_FIELDS.into_iter().filter(|&f| self.column(f).is_none()).collect()
    }

    /// The mapping as (header text, field) pairs to save for the source and pass to [`apply_mapping`] next time.
    pub fn to_saved(&self, headers: &[String]) -> Vec<(String, Field)> {
        self.columns
            .iter()
            .filter_map(|&(i, f)| headers.get(i).map(|h| (h.trim().to_string(), f)))
            .filter(|(h, _)| !h.is_empty())
            .collect()
    }
}

/// Why no header row could be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The rows scanned hold nothing.
    #[error("the sheet is empty")]
    Empty,
    /// No row has a recognisable ID number or name column (with at least one other known column).
    #[error("no recognisable ID number or name column was found; map the columns by hand")]
    NoIdentityColumn,
}

impl HeaderError {
    /// The stable code: "empty" or "no_identity_column" (catalogue key `census.header.<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            HeaderError::Empty => "empty",
            HeaderError::NoIdentityColumn => "no_identity_column",
        }
    }
}

/// A saved mapping with its header texts normalised once.
struct Saved(Vec<(String, Field)>);

impl Saved {
    fn new(saved: &[(String, Field)]) -> Saved {
        Saved(saved.iter().map(|(h, f)| (normalise_header(h), *f)).filter(|(h, _)| !h.is_empty()).collect())
    }

    /// The saved field for a header cell.
    fn get(&self, raw: &str) -> Option<Field> {
        if self.0.is_empty() {
            return None;
        }
        let n = normalise_header(raw);
        self.0.iter().find(|(h, _)| *h == n).map(|&(_, f)| f)
    }
}

/// Maps one header row: a saved mapping first, then the synonyms; for a field named twice the
/// first strong name wins (see [`super::field::WEAK_SYNONYMS`]), the rest are duplicates.
fn map_headers(headers: &[String], saved: &Saved, header_row: usize) -> HeaderMap {
    // (column, field, strong)
    let mut candidates: Vec<(usize, Field, bool)> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if is_blank(h) {
            continue;
        }
        if let Some(f) = saved.get(h) {
            candidates.push((i, f, true));
        } else if let Some(f) = field_for_header(h) {
            candidates.push((i, f, !is_weak_header(h)));
        }
    }
    let mut map = HeaderMap { header_row, ..HeaderMap::default() };
    for &(i, f, strong) in &candidates {
        if map.column(f).is_some() {
            continue;
        }
        let winner =
            if strong { i } else { candidates.iter().find(|&&(_, g, s)| g == f && s).map_or(i, |&(j, _, _)| j) };
        map.columns.push((winner, f));
    }
    map.columns.sort_unstable_by_key(|&(i, _)| i);
    map.duplicates =
        candidates.iter().filter(|&&(i, f, _)| map.column(f) != Some(i)).map(|&(i, f, _)| (i, f)).collect();
    map
}

/// Whether a mapped row qualifies as the header: two known fields, one of them a name or ID number.
fn qualifies(map: &HeaderMap) -> bool {
    map.columns.len() >= 2 && map.has_identity()
}

/// Finds the header row among the first `max_scan` rows (skipping title rows, merged
/// cells seen as a row with one non-empty cell, and blank rows) and maps its columns.
pub fn detect_header(rows: &[Vec<String>], max_scan: usize) -> Result<HeaderMap, HeaderError> {
    detect_header_with(rows, max_scan, &[])
}

/// Like [`detect_header`], with a mapping (header text → field) saved for this source taking precedence over the synonyms.
pub fn detect_header_with(
    rows: &[Vec<String>],
    max_scan: usize,
    saved: &[(String, Field)],
) -> Result<HeaderMap, HeaderError> {
    let saved = Saved::new(saved);
    let mut any = false;
    for (r, row) in rows.iter().take(max_scan).enumerate() {
        let filled = row.iter().filter(|c| !is_blank(c)).take(2).count();
        any |= filled > 0;
        if filled < 2 {
            continue;
        }
        let map = map_headers(row, &saved, r);
        if qualifies(&map) {
            return Ok(map);
        }
    }
    Err(if any { HeaderError::NoIdentityColumn } else { HeaderError::Empty })
}

/// Maps a known header row (index `header_row`) with a saved mapping (header text → field),
/// falling back to the synonyms for headers the mapping does not name.
pub fn apply_mapping(
    headers: &[String],
    header_row: usize,
    saved: &[(String, Field)],
) -> Result<HeaderMap, HeaderError> {
    if headers.iter().all(|h| is_blank(h)) {
        return Err(HeaderError::Empty);
    }
    let map = map_headers(headers, &Saved::new(saved), header_row);
    if map.has_identity() {
        Ok(map)
    } else {
        Err(HeaderError::NoIdentityColumn)
    }
}
