//! Writing XLSX reports: bold frozen header, text cells kept as text, CJK-aware column widths.
//!
//! ID numbers and phones must be passed as [`Cell::Text`]: they are written as text cells with
//! the text number format (`@`), so Excel neither rounds them to 15 digits nor shows them in
//! scientific notation, and editing them keeps them text.

use rust_xlsxwriter::{Format, Workbook, Worksheet};

use crate::WriteError;

/// Rows in an XLSX sheet.
const MAX_ROWS: usize = 1_048_576;
/// Columns in an XLSX sheet.
const MAX_COLUMNS: usize = 16_384;
/// Characters in an XLSX cell.
const MAX_CELL_CHARS: usize = 32_767;
/// Rows looked at to size the columns.
const WIDTH_SAMPLE: usize = 1_000;

/// One cell of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text, written as a text cell (use it for ID numbers and phones). Longer than 32,767 characters: cut.
    Text(String),
    /// An integer, written as a number; beyond ±2^53 (not exact as a number) written as text.
    Int(i64),
    /// A number; NaN and infinities are written as an empty cell.
    Float(f64),
    /// Nothing.
    Empty,
}

/// One sheet of a report: a header row and data rows.
#[derive(Clone, Debug, PartialEq)]
pub struct SheetOut {
    /// The sheet's name; characters Excel forbids are replaced, and it is cut to 31 characters.
    pub name: String,
    /// The header row, written bold and frozen.
    pub header: Vec<String>,
    /// The data rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Writes the sheets as an XLSX file in memory (a workbook always has at least one sheet).
pub fn write_xlsx(sheets: &[SheetOut]) -> Result<Vec<u8>, WriteError> {
    let mut book = Workbook::new();
    let mut names = Vec::new();
    for sheet in sheets {
        let width = sheet.rows.iter().map(Vec::len).chain([sheet.header.len()]).max().unwrap_or(0);
        if width > MAX_COLUMNS {
            return Err(WriteError::TooManyColumns { sheet: sheet.name.clone(), columns: width });
        }
        if sheet.rows.len() >= MAX_ROWS {
            return Err(WriteError::TooManyRows { sheet: sheet.name.clone(), rows: sheet.rows.len() });
        }
        let name = sheet_name(&sheet.name, &mut names);
        let mut w = SheetWriter::new(book.add_worksheet(), &name, None, &sheet.header)?;
        for row in &sheet.rows {
            w.push(row)?;
        }
        w.finish()?;
    }
    if sheets.is_empty() {
        book.add_worksheet();
    }
    Ok(book.save_to_buffer()?)
}

/// A sheet name Excel accepts, unique among `taken` (compared case-insensitively).
pub(crate) fn sheet_name(wanted: &str, taken: &mut Vec<String>) -> String {
    let cleaned: String = wanted
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_matches('\'').trim();
    let mut base: String = cleaned.chars().take(31).collect();
    if base.is_empty() {
        base = format!("Sheet{}", taken.len() + 1);
    }
    if base.eq_ignore_ascii_case("history") {
        base.push('_');
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.to_lowercase() == name.to_lowercase()) {
        let suffix = format!(" ({n})");
        let keep = 31 - suffix.chars().count();
        name = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// The display width of a text: CJK and full-width characters count double.
pub(crate) fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let wide = matches!(c as u32,
                0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Writes rows into one worksheet, keeping track of column widths.
pub(crate) struct SheetWriter<'a> {
    ws: &'a mut Worksheet,
    name: String,
    text: Format,
    row: u32,
    widths: Vec<usize>,
    sampled: usize,
}

impl<'a> SheetWriter<'a> {
    /// Names the sheet and writes the optional title (merged across the header) and the header.
    pub(crate) fn new(
        ws: &'a mut Worksheet,
        name: &str,
        title: Option<&str>,
        header: &[String],
    ) -> Result<Self, WriteError> {
        ws.set_name(name)?;
        let bold = Format::new().set_bold();
        let mut row = 0;
        if let Some(title) = title {
            let last = header.len().saturating_sub(1).min(MAX_COLUMNS - 1) as u16;
            if last > 0 {
                ws.merge_range(0, 0, 0, last, title, &bold)?;
            } else {
                ws.write_string_with_format(0, 0, title, &bold)?;
            }
            row = 1;
        }
        let mut widths = Vec::new();
        for (c, h) in header.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, cut(h), &bold)?;
            widths.push(display_width(h));
        }
        ws.set_freeze_panes(row + 1, 0)?;
        let text = Format::new().set_num_format("@");
        Ok(SheetWriter { ws, name: name.to_string(), text, row: row + 1, widths, sampled: 0 })
    }

    /// Writes the next data row (an empty slice leaves a blank row).
    pub(crate) fn push(&mut self, cells: &[Cell]) -> Result<(), WriteError> {
        if self.row as usize >= MAX_ROWS {
            return Err(WriteError::TooManyRows { sheet: self.name.clone(), rows: self.row as usize });
        }
        if cells.len() > MAX_COLUMNS {
            return Err(WriteError::TooManyColumns { sheet: self.name.clone(), columns: cells.len() });
        }
        let sample = self.sampled < WIDTH_SAMPLE;
        self.sampled += 1;
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            let shown = match cell {
                Cell::Text(s) => {
                    self.ws.write_string_with_format(self.row, col, cut(s), &self.text)?;
                    sample.then(|| display_width(s))
                }
                Cell::Int(i) if i.unsigned_abs() <= 1 << 53 => {
                    self.ws.write_number(self.row, col, *i as f64)?;
                    sample.then(|| i.to_string().len())
                }
                Cell::Int(i) => {
                    self.ws.write_string_with_format(self.row, col, i.to_string(), &self.text)?;
                    sample.then(|| i.to_string().len())
                }
                Cell::Float(f) if f.is_finite() => {
                    self.ws.write_number(self.row, col, *f)?;
                    sample.then(|| f.to_string().len().min(12))
                }
                Cell::Float(_) | Cell::Empty => None,
            };
            if let Some(w) = shown {
                if self.widths.len() <= c {
                    self.widths.resize(c + 1, 0);
                }
                self.widths[c] = self.widths[c].max(w);
            }
        }
        self.row += 1;
        Ok(())
    }

    /// Sets the column widths.
    pub(crate) fn finish(self) -> Result<(), WriteError> {
        for (c, w) in self.widths.iter().enumerate() {
            let width = (*w + 2).clamp(6, 60);
            self.ws.set_column_width(c as u16, width as f64)?;
        }
        Ok(())
    }
}

/// A text cut to what an XLSX cell holds.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_made_acceptable_and_unique() {
        let mut taken = Vec::new();
        assert_eq!(sheet_name("拒绝的行", &mut taken), "拒绝的行");
        assert_eq!(sheet_name("拒绝的行", &mut taken), "拒绝的行 (2)");
        assert_eq!(sheet_name("a/b[c]", &mut taken), "a_b_c_");
        assert_eq!(sheet_name("", &mut taken), "Sheet4");
        assert_eq!(sheet_name(&"x".repeat(40), &mut taken).chars().count(), 31);
        assert_eq!(sheet_name(&"x".repeat(40), &mut taken), format!("{} (2)", "x".repeat(27)));
    }

    #[test]
    fn cjk_counts_double() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("身份证号码"), 10);
        assert_eq!(display_width("３号楼"), 6);
    }
}
