//! Reading XLSX and XLS workbooks with calamine into cell texts.
//!
//! XLSX sheets are streamed cell by cell (calamine's cell reader), so a sheet that declares
//! a huge range costs only the cells it has, and the row and column limits stop it early.
//! XLS (BIFF) files are parsed whole by calamine when opened; their size is bounded by the
//! format (65,536 rows × 256 columns) and by [`crate::Limits::max_bytes`].
//!
//! The sheet read is the first visible worksheet with a non-blank cell (all worksheets when
//! none is visible). calamine is guarded against panics on damaged files: a panic inside it
//! becomes [`DecodeError::Corrupt`].

use std::io::Cursor;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{Data, DataRef, ExcelDateTime, Range, Reader, SheetType, SheetVisible, Xls, XlsError, Xlsx, XlsxError};

use crate::emit::{cut_chars, Emitter};
use crate::{zipguard, DecodeError, Limits};

/// Runs calamine code, turning a panic on damaged input into an error.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, DecodeError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| DecodeError::corrupt("the workbook's data is damaged"))
}

/// The sheets to try, in order.
fn candidate_sheets(meta: &[calamine::Sheet]) -> Vec<String> {
    let worksheets: Vec<&calamine::Sheet> = meta.iter().filter(|s| s.typ == SheetType::WorkSheet).collect();
    let visible: Vec<String> =
        worksheets.iter().filter(|s| s.visible == SheetVisible::Visible).map(|s| s.name.clone()).collect();
    if visible.is_empty() {
        worksheets.iter().map(|s| s.name.clone()).collect()
    } else {
        visible
    }
}

fn xlsx_error(e: XlsxError) -> DecodeError {
    let text = e.to_string();
    if zipguard::is_overflow_message(&text) {
        return DecodeError::ZipBomb;
    }
    match e {
        XlsxError::Password => DecodeError::corrupt("the workbook is password-protected; save it without a password"),
        _ => DecodeError::corrupt(text),
    }
}

fn xls_error(e: XlsError) -> DecodeError {
    let text = e.to_string();
    match e {
        // A Word or PowerPoint file: a compound file without a workbook stream.
        XlsError::Cfb(_) if text.contains("Cannot find") && text.contains("stream") => DecodeError::NotASpreadsheet,
        XlsError::Password => DecodeError::corrupt("the workbook is password-protected; save it without a password"),
        _ => DecodeError::corrupt(text),
    }
}

/// Reads the first non-blank visible worksheet of an XLSX; returns its name.
pub(crate) fn read_xlsx<F>(bytes: &[u8], limits: &Limits, emit: &mut Emitter<F>) -> Result<String, DecodeError>
where
    F: FnMut(usize, &[String]) -> ControlFlow<()>,
{
    zipguard::check_bomb(bytes, limits)?;
    let mut book: Xlsx<_> = guarded(|| Xlsx::new(Cursor::new(bytes)))?.map_err(xlsx_error)?;
    let names = candidate_sheets(book.sheets_metadata());
    let first = names.first().cloned().ok_or(DecodeError::NoSheet)?;
    for name in names {
        read_xlsx_sheet(&mut book, &name, limits, emit)?;
        if emit.has_content() || emit.stopped() || !emit.restart() {
            return Ok(name);
        }
    }
    Ok(first)
}

/// Streams one XLSX worksheet, cell by cell, into rows.
fn read_xlsx_sheet<F>(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    limits: &Limits,
    emit: &mut Emitter<F>,
) -> Result<(), DecodeError>
where
    F: FnMut(usize, &[String]) -> ControlFlow<()>,
{
    let mut reader = guarded(|| book.worksheet_cells_reader(name))?.map_err(xlsx_error)?;
    let mut cells: Vec<String> = Vec::new();
    let mut current: Option<u32> = None;
    while let Some(cell) = guarded(|| reader.next_cell())?.map_err(xlsx_error)? {
        let (r, c) = cell.get_position();
        let mut text = render_ref(cell.get_value());
        if text.is_empty() {
            continue;
        }
        if current != Some(r) {
            let gap = match current {
                Some(cur) if r < cur => return Err(DecodeError::corrupt("the worksheet's rows are out of order")),
                Some(cur) => {
                    emit.row(&cells)?;
                    cells.clear();
                    r - cur - 1
                }
                None => r,
            };
            let gap = gap as usize;
            emit.reserve(gap.saturating_add(1))?;
            emit.blank_rows(gap)?;
            if emit.stopped() {
                return Ok(());
            }
            current = Some(r);
        }
        let c = c as usize;
        if c >= limits.max_columns {
            return Err(DecodeError::TooManyColumns { columns: c + 1, limit: limits.max_columns, row: r as usize + 1 });
        }
        if cells.len() <= c {
            cells.resize(c + 1, String::new());
        }
        cut_chars(&mut text, limits.max_cell_chars);
        cells[c] = text;
    }
    if current.is_some() {
        emit.row(&cells)?;
    }
    Ok(())
}

/// Reads the first non-blank visible worksheet of an XLS; returns its name.
pub(crate) fn read_xls<F>(bytes: &[u8], limits: &Limits, emit: &mut Emitter<F>) -> Result<String, DecodeError>
where
    F: FnMut(usize, &[String]) -> ControlFlow<()>,
{
    let mut book: Xls<_> = guarded(|| Xls::new(Cursor::new(bytes)))?.map_err(xls_error)?;
    let names = candidate_sheets(book.sheets_metadata());
    let first = names.first().cloned().ok_or(DecodeError::NoSheet)?;
    for name in names {
        let range = guarded(|| book.worksheet_range(&name))?.map_err(xls_error)?;
        read_range(&range, limits, emit)?;
        if emit.has_content() || emit.stopped() || !emit.restart() {
            return Ok(name);
        }
    }
    Ok(first)
}

/// Passes on the rows of a dense range, padding the rows and columns before its start.
fn read_range<F>(range: &Range<Data>, limits: &Limits, emit: &mut Emitter<F>) -> Result<(), DecodeError>
where
    F: FnMut(usize, &[String]) -> ControlFlow<()>,
{
    let Some((r0, c0)) = range.start() else { return Ok(()) };
    let (r0, c0) = (r0 as usize, c0 as usize);
    emit.reserve(r0.saturating_add(range.height()))?;
    emit.blank_rows(r0)?;
    let mut cells: Vec<String> = Vec::new();
    for (i, row) in range.rows().enumerate() {
        if emit.stopped() {
            break;
        }
        cells.clear();
        cells.resize(c0, String::new());
        for (j, value) in row.iter().enumerate() {
            let mut text = render_data(value);
            if !text.is_empty() && c0 + j >= limits.max_columns {
                return Err(DecodeError::TooManyColumns {
                    columns: c0 + j + 1,
                    limit: limits.max_columns,
                    row: r0 + i + 1,
                });
            }
            cut_chars(&mut text, limits.max_cell_chars);
            cells.push(text);
        }
        let used = cells.iter().rposition(|c| !c.is_empty()).map_or(0, |p| p + 1);
        cells.truncate(used);
        emit.row(&cells)?;
    }
    Ok(())
}

/// The text of an XLSX cell value.
fn render_ref(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => render_float(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => render_bool(*b),
        DataRef::DateTime(dt) => render_datetime(dt),
        DataRef::DateTimeIso(s) => render_iso(s),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

/// The text of an XLS cell value.
fn render_data(value: &Data) -> String {
    match value {
        Data::Int(i) => i.to_string(),
        Data::Float(f) => render_float(*f),
        Data::String(s) => s.clone(),
        Data::Bool(b) => render_bool(*b),
        Data::DateTime(dt) => render_datetime(dt),
        Data::DateTimeIso(s) => render_iso(s),
        Data::DurationIso(s) => s.clone(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

fn render_bool(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_string()
}

/// The text of a numeric cell (see the crate documentation for the `E+` contract).
///
/// Integers below 10^15 print without a fraction; magnitudes of 10^15 or more print in
/// shortest scientific form with an explicit exponent sign (`3.50602199001011E+17`), since
/// a float that large cannot carry an 18-digit ID number exactly.
pub(crate) fn render_float(f: f64) -> String {
    if !f.is_finite() {
        return String::new();
    }
    if f.abs() >= 1e15 {
        let s = format!("{f:E}");
        return match s.split_once('E') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}E+{exp}"),
            _ => s,
        };
    }
    if f.fract() == 0.0 {
        // |f| < 10^15, so the conversion is exact.
        return format!("{}", f as i64);
    }
    format!("{f}")
}

/// The text of a date-formatted cell: `YYYY-MM-DD`, with ` HH:MM:SS` when there is a time.
fn render_datetime(dt: &ExcelDateTime) -> String {
    let v = dt.as_f64();
    if !v.is_finite() || v < 0.0 {
        return render_float(v);
    }
    if dt.is_duration() {
        let secs = (v * 86_400.0).round() as u64;
        return format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    }
    let dt = *dt;
    let Ok((y, mo, d, h, mi, s, _)) = catch_unwind(move || dt.to_ymd_hms_milli()) else {
        return render_float(v);
    };
    if v < 1.0 {
        format!("{h:02}:{mi:02}:{s:02}")
    } else if (h, mi, s) == (0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

/// An ISO 8601 date-time cell, with a midnight time dropped.
fn render_iso(s: &str) -> String {
    let s = s.strip_suffix("T00:00:00").unwrap_or(s);
    s.replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn floats_render_as_promised() {
        assert_eq!(render_float(13_800_138_000.0), "13800138000");
        assert_eq!(render_float(-5.0), "-5");
        assert_eq!(render_float(0.5), "0.5");
        assert_eq!(render_float(350_602_199_001_011_234.0), "3.5060219900101126E+17");
        assert_eq!(render_float(350_602_199_001_011_000.0), "3.50602199001011E+17");
        assert_eq!(render_float(1e15), "1E+15");
        assert_eq!(render_float(999_999_999_999_999.0), "999999999999999");
        assert_eq!(render_float(f64::NAN), "");
    }

    #[test]
    fn dates_render_as_iso() {
        let date = |v| render_datetime(&ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        assert_eq!(date(44_652.0), "2022-04-01");
        assert_eq!(date(44_652.5), "2022-04-01 12:00:00");
        assert_eq!(date(0.25), "06:00:00");
        assert_eq!(render_iso("2022-04-01T00:00:00"), "2022-04-01");
        assert_eq!(render_iso("2022-04-01T08:30:00"), "2022-04-01 08:30:00");
    }
}
