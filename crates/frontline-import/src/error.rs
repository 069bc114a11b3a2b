//! Why a file could not be read or a report could not be written, with stable codes.

/// Why uploaded bytes could not be turned into rows.
///
/// [`DecodeError::code`] and [`DecodeError::params`] are stable, for translated messages and
/// API responses; the `Display` text is English, for logs.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes, only whitespace, or no row with a non-blank cell.
    #[error("the file is empty")]
    Empty,
    /// Random bytes, a PDF, an image, a Word file…: nothing a spreadsheet program saves.
    #[error("the file is not a spreadsheet (CSV, XLSX or XLS)")]
    NotASpreadsheet,
    /// More bytes than [`crate::Limits::max_bytes`].
    #[error("the file has {bytes} bytes; at most {limit} are accepted")]
    TooLarge {
        /// The file's size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A row whose last non-empty cell lies beyond [`crate::Limits::max_columns`].
    #[error("row {row} has {columns} columns; at most {limit} are accepted")]
    TooManyColumns {
        /// The columns found so far in that row (at least `limit + 1`).
        columns: usize,
        /// The limit.
        limit: usize,
        /// The 1-based row number.
        row: usize,
    },
    /// More rows than [`crate::Limits::max_rows`].
    #[error("the sheet has more than {limit} rows")]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// An XLSX whose content would expand beyond the limits.
    #[error("the XLSX file expands to more data than is accepted (a zip bomb?)")]
    ZipBomb,
    /// A damaged, truncated or password-protected XLSX/XLS.
    #[error("the workbook is damaged: {detail}")]
    Corrupt {
        /// What the reader found, in English.
        detail: String,
    },
    /// A workbook without any worksheet.
    #[error("the workbook has no worksheet")]
    NoSheet,
}

impl DecodeError {
    /// The stable code: "empty", "not_a_spreadsheet", "too_large", "too_many_columns",
    /// "too_many_rows", "zip_bomb", "corrupt" or "no_sheet".
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::NotASpreadsheet => "not_a_spreadsheet",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::TooManyColumns { .. } => "too_many_columns",
            DecodeError::TooManyRows { .. } => "too_many_rows",
            DecodeError::ZipBomb => "zip_bomb",
            DecodeError::Corrupt { .. } => "corrupt",
            DecodeError::NoSheet => "no_sheet",
        }
    }

    /// The parameters for a translated message, e.g. `[("columns", "10000"), ("limit", "500"), ("row", "1")]`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            DecodeError::TooLarge { bytes, limit } => vec![("bytes", bytes.to_string()), ("limit", limit.to_string())],
            DecodeError::TooManyColumns { columns, limit, row } => {
                vec![("columns", columns.to_string()), ("limit", limit.to_string()), ("row", row.to_string())]
            }
            DecodeError::TooManyRows { limit } => vec![("limit", limit.to_string())],
            DecodeError::Corrupt { detail } => vec![("detail", detail.clone())],
            DecodeError::Empty | DecodeError::NotASpreadsheet | DecodeError::ZipBomb | DecodeError::NoSheet => {
                Vec::new()
            }
        }
    }

    /// A `Corrupt` error with the given detail.
    pub(crate) fn corrupt(detail: impl Into<String>) -> DecodeError {
        DecodeError::Corrupt { detail: detail.into() }
    }
}

/// Why an XLSX report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// More rows than an XLSX sheet holds (1,048,576 including the header).
    #[error("sheet {sheet:?} has {rows} data rows; an XLSX sheet holds at most 1048575 below its header")]
    TooManyRows {
        /// The sheet's name.
        sheet: String,
        /// Its number of data rows.
        rows: usize,
    },
    /// More columns than an XLSX sheet holds (16,384).
    #[error("sheet {sheet:?} has {columns} columns; an XLSX sheet holds at most 16384")]
    TooManyColumns {
        /// The sheet's name.
        sheet: String,
        /// Its widest row's number of cells.
        columns: usize,
    },
    /// The XLSX writer failed.
    #[error("the XLSX writer failed: {0}")]
    Xlsx(String),
}

impl WriteError {
    /// The stable code: "too_many_rows", "too_many_columns" or "xlsx".
    pub fn code(&self) -> &'static str {
        match self {
            WriteError::TooManyRows { .. } => "too_many_rows",
            WriteError::TooManyColumns { .. } => "too_many_columns",
            WriteError::Xlsx(_) => "xlsx",
        }
    }
}

impl From<rust_xlsxwriter::XlsxError> for WriteError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        WriteError::Xlsx(e.to_string())
    }
}
