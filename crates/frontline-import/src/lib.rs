//! The file layer of census imports (人员摸排): uploaded bytes in, rows of cell texts out.
//!
//! Volunteers' spreadsheets arrive as CSV (UTF-8, UTF-8 with BOM, GB18030/GBK, UTF-16 with
//! BOM — detected, never asked), XLSX or XLS. [`decode`] and [`for_each_row`] turn them into
//! rows of raw cell texts; the census rules (header synonyms, normalisation) live in
//! `frontline_domain::census` and work on those rows. Hostile files are refused with a
//! [`DecodeError`] whose [`code`](DecodeError::code) is stable, within the [`Limits`].
//!
//! The contract of the cell texts:
//! - Row numbers are 1-based as a spreadsheet shows them; blank rows are kept (as rows whose
//!   cells are all empty or whitespace) so numbers match what the user sees.
//! - Cell text is raw: not trimmed (the census rules trim). Cells longer than
//!   [`Limits::max_cell_chars`] characters are cut to that length.
//! - CSV cells written by spreadsheets as `="00123"` (to keep leading zeros) are unwrapped to
//!   `00123`.
//! - XLSX/XLS numbers: integers below 10^15 are written without a fraction (a phone
//!   `13800138000` stored as a number gives `"13800138000"`); any number whose magnitude is
//!   10^15 or more is written in shortest scientific form with an explicit sign, like
//!   `"3.50602199001011E+17"`, because such a number cannot hold an 18-digit ID exactly.
//!   **Downstream treats a cell containing `E+` as an ID whose precision was lost.**
//!   Other numbers use the shortest text that reads back to the same float (`"0.5"`).
//! - Date-formatted cells give `YYYY-MM-DD` (`YYYY-MM-DD HH:MM:SS` when there is a time of
//!   day, `HH:MM:SS` for a time alone), booleans `TRUE`/`FALSE`, error cells (`#N/A`) an empty
//!   string. A merged cell's value is in its top-left cell only.
//!
//! [`write_xlsx`] writes reports (IDs and phones as text), and [`generate`] makes messy census
//! files and hostile files for tests and benchmarks.

mod csv_read;
mod decode;
mod emit;
mod error;
pub mod generate;
mod ole;
mod sniff;
mod write;
mod xlsx_read;
mod zipguard;

pub use decode::{decode, for_each_row, Sheet};
pub use error::{DecodeError, WriteError};
pub use sniff::sniff;
pub use write::{write_xlsx, Cell, SheetOut};

/// Limits that keep a hostile file from eating the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes (default 200 MiB).
    pub max_bytes: u64,
    /// Most columns up to the last non-empty cell of any row (default 500).
    pub max_columns: usize,
    /// Most rows, blank rows included (default 5,000,000).
    pub max_rows: usize,
    /// Longest cell, in characters; longer cells are cut (default 2,000).
    pub max_cell_chars: usize,
    /// Largest total declared uncompressed size of an XLSX's entries (default 1 GiB).
    pub max_uncompressed_bytes: u64,
    /// Highest compression ratio of an XLSX entry larger than 10 MiB (default 200).
    pub max_compression_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 200 * 1024 * 1024,
            max_columns: 500,
            max_rows: 5_000_000,
            max_cell_chars: 2_000,
            max_uncompressed_bytes: 1024 * 1024 * 1024,
            max_compression_ratio: 200,
        }
    }
}

/// The kind of file found by [`sniff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Format {
    /// Delimited text.
    Csv {
        /// The detected encoding: "UTF-8", "UTF-8 with BOM", "GB18030", "UTF-16LE" or "UTF-16BE".
        encoding: &'static str,
        /// The detected delimiter: `,`, `\t`, `;` or `|`.
        delimiter: u8,
    },
    /// Office Open XML workbook (Excel 2007 and later, WPS).
    Xlsx,
    /// Binary Excel 97–2003 workbook.
    Xls,
}

impl Format {
    /// A short stable name: "csv", "xlsx" or "xls".
    pub fn name(&self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
        }
    }
}
