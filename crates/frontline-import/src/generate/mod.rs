//! Messy census files (人员摸排表) for tests and benchmarks, and hostile files.
//!
//! [`census_csv`] and [`census_xlsx`] write the same rows for the same [`CensusFileSpec`]:
//! an optional title row, the header `姓名,身份证号码,联系电话,楼栋,单元,房号,是否独居老人,在家情况`,
//! then one row per resident. With `messy`, they inject what volunteers' sheets really hold —
//! full-width digits, spaces, dashes and apostrophes in IDs, a lowercase x, old 15-digit IDs,
//! IDs whose precision a number cell lost (`3.50602E+17`; a number cell in XLSX), phones one
//! digit short, blank rows, exact duplicate rows, one duplicate ID number under another name, a
//! 合计 totals row at the end, and buildings
//! written `3号楼`/`3栋`/`3#`/`3` — and count them in [`GeneratedStats`] so tests can check an
//! importer's counts. Everything is deterministic for a seed.
//!
//! The people are those of the synthetic district the demo seeds (`frontline_domain::synth`):
//! [`district_sheet`] gives one compound of it exactly as `frontline demo` seeds it, with some
//! people moved out, some newcomers and some names mistyped, to import as a later round.

mod district;
mod hostile;
mod rows;

use std::io::{self, Write};

use encoding_rs::GB18030;

use crate::write::SheetWriter;
use crate::{Cell, WriteError};
pub use district::{district_sheet, DistrictSheet, SYNTH_TODAY};
pub use hostile::{lying_size_xlsx, random_bytes, wide_csv, zip_bomb_xlsx};
use rows::{Kind, Row, RowGen};

/// The header row of generated census files.
pub const HEADER: [&str; 8] = ["姓名", "身份证号码", "联系电话", "楼栋", "单元", "房号", "是否独居老人", "在家情况"];

/// The title row written above the header when asked.
pub const TITLE: &str = "芗城区东铺头街道人员摸排登记表（第一轮）";

/// The byte encoding of a generated CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutEncoding {
    /// UTF-8 without a byte order mark.
    #[default]
    Utf8,
    /// UTF-8 with a byte order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// GB18030 (what Excel on a Chinese Windows saves as "CSV").
    Gb18030,
}

/// One resident as the caller wants them written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentRow {
    /// The name.
    pub name: String,
    /// The 18-character ID number (mess is only injected into well-formed ones).
    pub id_number: String,
    /// The mobile number, if any.
    pub phone: Option<String>,
    /// The building number.
    pub building: u32,
    /// The unit number.
    pub unit: u32,
    /// The room, e.g. "1203".
    pub room: String,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CensusFileSpec {
    /// How many resident rows (before injected duplicates, blank and totals rows).
    pub rows: usize,
    /// The seed; the same spec always gives the same bytes.
    pub seed: u64,
    /// The CSV's encoding (ignored by [`census_xlsx`]).
    pub encoding: OutEncoding,
    /// Whether a title row comes above the header (merged across the columns in XLSX).
    pub title_row: bool,
    /// Whether to inject the mess listed in the module documentation.
    pub messy: bool,
    /// Residents to write first; rows beyond them are synthetic (IDs unique, valid, known regions).
    /// Stats assume these have distinct ID numbers.
    pub residents: Vec<ResidentRow>,
}

/// What was written and injected, so tests can check an importer's counts against it.
///
/// `total_rows = title (0 or 1) + header (1) + data_rows + blank_rows + totals_rows`: the number
/// of rows [`crate::decode`] returns for the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GeneratedStats {
    /// Rows with a resident, duplicates included.
    pub data_rows: usize,
    /// Blank rows (all cells empty).
    pub blank_rows: usize,
    /// Every row of the file.
    pub total_rows: usize,
    /// Repeats of an earlier clean row's ID number: exact repeats, and the conflicts below.
    pub duplicates: usize,
    /// Repeats of an earlier row's ID number under another name (one in a messy file of
    /// a few hundred rows or more): counted in `duplicates` too.
    pub conflicts: usize,
    /// IDs written as `3.50602E+17` (or a number cell in XLSX): to be refused as precision lost.
    pub precision_lost: usize,
    /// Phones one digit short: to be warned about.
    pub bad_phones: usize,
    /// IDs in the old 15-digit form: to be converted and flagged.
    pub fifteen_digit: usize,
    /// 合计 rows (one in a messy file).
    pub totals_rows: usize,
}

/// `n` synthetic residents, deterministic for the seed (what the generator uses past `residents`):
/// the people of the synthetic district of `n` residents, ages as of [`SYNTH_TODAY`].
pub fn synthetic_residents(n: usize, seed: u64) -> Vec<ResidentRow> {
    let mut synth = district::DistrictStream::new(n, seed);
    std::iter::from_fn(|| synth.next_resident()).take(n).collect()
}

/// Writes a census CSV to `out` and says what it holds.
///
/// Lines end with CRLF as Excel writes them; cells are quoted only when they must be.
/// Output is produced in 64 KiB chunks, so `out` needs no buffering of its own.
pub fn census_csv(spec: &CensusFileSpec, out: &mut impl Write) -> io::Result<GeneratedStats> {
    let mut sink = ChunkSink::new(out, spec.encoding);
    if spec.encoding == OutEncoding::Utf8Bom {
        sink.chunk.push('\u{FEFF}');
    }
    if spec.title_row {
        sink.chunk.push_str(TITLE);
        sink.chunk.push_str(&",".repeat(HEADER.len() - 1));
        sink.chunk.push_str("\r\n");
    }
    sink.chunk.push_str(&HEADER.join(","));
    sink.chunk.push_str("\r\n");
    let mut gen = RowGen::new(spec);
    let mut row = Row::default();
    while let Some(kind) = gen.next_row(&mut row) {
        match kind {
            Kind::Blank => sink.chunk.push_str(",,,,,,,"),
            Kind::Data | Kind::Totals => {
                for (i, cell) in row.cells.iter().enumerate() {
                    if i > 0 {
                        sink.chunk.push(',');
                    }
                    push_csv_field(&mut sink.chunk, cell);
                }
            }
        }
        sink.chunk.push_str("\r\n");
        sink.maybe_flush()?;
    }
    sink.flush()?;
    Ok(gen.stats)
}

/// Writes the same rows as [`census_csv`] as an XLSX workbook (stats: call `census_csv` with `io::sink()`).
///
/// With `messy`, precision-lost IDs and a fifth of the phones are number cells, plain building,
/// unit and room numbers are number cells, and blank rows are rows without cells.
pub fn census_xlsx(spec: &CensusFileSpec) -> Result<Vec<u8>, WriteError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    fix_creation_date(&mut book)?;
    let header: Vec<String> = HEADER.iter().map(|h| (*h).to_string()).collect();
    let title = spec.title_row.then_some(TITLE);
    let mut sheet = SheetWriter::new(book.add_worksheet(), "人员摸排", title, &header)?;
    let mut gen = RowGen::new(spec);
    let mut row = Row::default();
    let mut cells: Vec<Cell> = Vec::with_capacity(HEADER.len());
    while let Some(kind) = gen.next_row(&mut row) {
        cells.clear();
        if kind != Kind::Blank {
            for (i, text) in row.cells.iter().enumerate() {
                cells.push(xlsx_cell(i, text, &row, spec.messy));
            }
        }
        sheet.push(&cells)?;
    }
    sheet.finish()?;
    Ok(book.save_to_buffer()?)
}

/// Pins the workbook's creation date (2022-04-01) so the same spec gives the same bytes.
pub(crate) fn fix_creation_date(book: &mut rust_xlsxwriter::Workbook) -> Result<(), WriteError> {
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2022, 4, 1)?;
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&date));
    Ok(())
}

/// The XLSX cell for column `i` of a generated row.
fn xlsx_cell(i: usize, text: &str, row: &Row, messy: bool) -> Cell {
    match (i, row.id_float) {
        (1, Some(v)) => return Cell::Float(v),
        _ if text.is_empty() => return Cell::Empty,
        _ => {}
    }
    let numeric = match i {
        2 => row.phone_numeric,
        3..=5 => messy,
        _ => false,
    };
    match text.parse::<i64>() {
        Ok(n) if numeric && !text.starts_with('0') => Cell::Int(n),
        _ => Cell::Text(text.to_string()),
    }
}

/// Appends a CSV field, quoted when it holds a delimiter, a quote or a line break.
fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Collects text in chunks and writes each chunk encoded.
struct ChunkSink<'a, W: Write> {
    out: &'a mut W,
    encoding: OutEncoding,
    chunk: String,
    encoded: Vec<u8>,
    encoder: encoding_rs::Encoder,
}

impl<'a, W: Write> ChunkSink<'a, W> {
    const CHUNK: usize = 64 * 1024;

    fn new(out: &'a mut W, encoding: OutEncoding) -> Self {
        ChunkSink {
            out,
            encoding,
            chunk: String::with_capacity(Self::CHUNK + 1024),
            encoded: Vec::new(),
            encoder: GB18030.new_encoder(),
        }
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.chunk.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.encoding {
            OutEncoding::Utf8 | OutEncoding::Utf8Bom => self.out.write_all(self.chunk.as_bytes())?,
            OutEncoding::Gb18030 => {
                self.encoded.clear();
                let need = self.encoder.max_buffer_length_from_utf8_without_replacement(self.chunk.len());
                self.encoded.reserve(need.unwrap_or(self.chunk.len() * 4));
                // GB18030 encodes every character, so nothing is left unmappable.
                let _ = self.encoder.encode_from_utf8_to_vec_without_replacement(&self.chunk, &mut self.encoded, false);
                self.out.write_all(&self.encoded)?;
            }
        }
        self.chunk.clear();
        Ok(())
    }
}
