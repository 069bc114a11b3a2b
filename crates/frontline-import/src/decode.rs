//! The entry points: decode a whole file into rows, or stream its rows to a function.

use std::ops::ControlFlow;

use crate::emit::Emitter;
use crate::sniff::{sniff_inner, Sniffed};
use crate::{csv_read, xlsx_read, DecodeError, Format, Limits};

/// A decoded sheet: every row as raw cell texts (not trimmed; the census rules trim).
///
/// `rows[i]` is the row a spreadsheet shows as number `i + 1`; rows may have different
/// lengths, and blank rows are kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Sheet {
    /// What the file was.
    pub format: Format,
    /// The worksheet read (XLSX/XLS); `None` for CSV.
    pub sheet_name: Option<String>,
    /// The rows, in order.
    pub rows: Vec<Vec<String>>,
}

/// Decodes a whole file (CSV, XLSX or XLS, sniffed from the bytes) into rows.
///
/// The file name is only a hint for CSV vs TSV. Errors: see [`DecodeError`].
pub fn decode(bytes: &[u8], file_name: Option<&str>, limits: &Limits) -> Result<Sheet, DecodeError> {
    let mut rows = Vec::new();
    let (format, sheet_name) = run(bytes, file_name, limits, |_, cells| {
        rows.push(cells.to_vec());
        ControlFlow::Continue(())
    })?;
    Ok(Sheet { format, sheet_name, rows })
}

/// Streams a file's rows to `f(row_number, cells)`, 1-based, without holding the rows in memory.
///
/// Meant for big CSVs: the rows of a CSV are never collected (an XLSX is read cell by cell
/// and passed on row by row). `f` may return `ControlFlow::Break(())` to stop early, which is
/// not an error. On an error (for example [`DecodeError::TooManyRows`] or a damaged record
/// late in the file), rows already passed to `f` must be discarded by the caller; leading
/// blank rows are held back, so a file with no non-blank row gives [`DecodeError::Empty`]
/// without calling `f` (unless it starts with more than 10,000 blank rows).
pub fn for_each_row(
    bytes: &[u8],
    file_name: Option<&str>,
    limits: &Limits,
    f: impl FnMut(usize, &[String]) -> ControlFlow<()>,
) -> Result<Format, DecodeError> {
    run(bytes, file_name, limits, f).map(|(format, _)| format)
}

/// Sniffs and reads, returning the format and the worksheet's name.
fn run<F>(bytes: &[u8], file_name: Option<&str>, limits: &Limits, f: F) -> Result<(Format, Option<String>), DecodeError>
where
    F: FnMut(usize, &[String]) -> ControlFlow<()>,
{
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(DecodeError::TooLarge { bytes: size, limit: limits.max_bytes });
    }
    let sniffed = sniff_inner(bytes, file_name)?;
    let format = sniffed.format();
    let mut emit = Emitter::new(f, limits);
    let sheet_name = match &sniffed {
        Sniffed::Text(t) => {
            csv_read::read_csv(bytes, t, limits, &mut emit)?;
            None
        }
        Sniffed::Xlsx => Some(xlsx_read::read_xlsx(bytes, limits, &mut emit)?),
        Sniffed::Xls => Some(xlsx_read::read_xls(bytes, limits, &mut emit)?),
    };
    emit.finish()?;
    Ok((format, sheet_name))
}
