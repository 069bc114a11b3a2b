//! Reading delimited text: streaming records from the csv crate, decoding GB18030 on the fly.
//!
//! Rows are passed on one at a time with reused buffers, so a million-row file never has its
//! rows in memory. Blank lines, which the csv crate skips, are restored from its line numbers
//! so row numbers stay those a spreadsheet shows.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding};

use crate::emit::{cut_chars, Emitter};
use crate::sniff::{first_record_width, Enc, TextSniff};
use crate::{DecodeError, Limits};

/// Reads every record of a sniffed text file into `emit`.
pub(crate) fn read_csv<F>(
    bytes: &[u8],
    t: &TextSniff,
    limits: &Limits,
    emit: &mut Emitter<F>,
) -> Result<(), DecodeError>
where
    F: FnMut(usize, &[String]) -> std::ops::ControlFlow<()>,
{
    // A first row of 10,000 columns is refused before anything is parsed.
    let width = first_record_width(&t.window, t.delimiter);
    if width > limits.max_columns {
        return Err(DecodeError::TooManyColumns { columns: width, limit: limits.max_columns, row: 1 });
    }
    let body = bytes.get(t.body_start..).unwrap_or_default();
    let terminator = if !t.window.contains('\n') && t.window.contains('\r') { b'\r' } else { b'\n' };
    let ends = ends_with_newline(body, t.enc, terminator);
    match t.enc.decoder() {
        None => parse(body, ends, terminator, t.delimiter, limits, emit),
        Some(encoding) => parse(DecodingReader::new(encoding, body), ends, terminator, t.delimiter, limits, emit),
    }
}

/// Parses records from `src` and passes them on.
///
/// The csv crate skips empty lines; they are restored from its line counter: the lines a
/// record consumed, less its terminator and the line breaks inside its quoted fields, are
/// the blank lines before it. Whether a record had a terminator is known by reading one
/// record ahead (only the last one may lack it: `ends_with_newline` says).
///
/// The terminator is `\n` alone (a `\r` before it is cut from the last field), because with
/// the csv crate's CRLF mode the line counter lags behind by one after `\r`; a `\r\n` blank
/// line then comes as a record with one empty field, which is a blank row too. Files with
/// `\r` alone (classic Mac) use `\r` as terminator; their empty lines are not restored.
fn parse<R: Read, F>(
    src: R,
    ends_with_newline: bool,
    terminator: u8,
    delimiter: u8,
    limits: &Limits,
    emit: &mut Emitter<F>,
) -> Result<(), DecodeError>
where
    F: FnMut(usize, &[String]) -> std::ops::ControlFlow<()>,
{
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(terminator))
        .buffer_capacity(1 << 16)
        .from_reader(src);
    let mut read = |record: &mut csv::ByteRecord| -> Result<(bool, u64), DecodeError> {
        match reader.read_byte_record(record) {
            Ok(more) => Ok((more, reader.position().line())),
            Err(e) => Err(DecodeError::corrupt(format!("the text could not be read: {e}"))),
        }
    };
    let (mut current, mut next) = (csv::ByteRecord::new(), csv::ByteRecord::new());
    let mut cells: Vec<String> = Vec::new();
    let mut line_before: u64 = 1;
    let (mut have, mut line_after) = read(&mut current)?;
    while have {
        let (have_next, line_after_next) = read(&mut next)?;
        let embedded = current.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
        let terminated = u64::from(have_next || ends_with_newline);
        let blanks = line_after.saturating_sub(line_before).saturating_sub(embedded + terminated);
        emit.blank_rows(usize::try_from(blanks).unwrap_or(usize::MAX))?;
        let row = emit.rows() + 1;
        let n = fill_cells(&current, &mut cells, limits, row, terminator == b'\n')?;
        emit.row(&cells[..n])?;
        if emit.stopped() {
            break;
        }
        std::mem::swap(&mut current, &mut next);
        (line_before, line_after, have) = (line_after, line_after_next, have_next);
    }
    Ok(())
}

/// Whether the decoded text ends with the terminator, judged from the raw bytes.
fn ends_with_newline(body: &[u8], enc: Enc, terminator: u8) -> bool {
    let nl = |b: u8| b == terminator;
    match enc {
        Enc::Utf16Le => matches!(body, [.., b, 0] if nl(*b)),
        Enc::Utf16Be => matches!(body, [.., 0, b] if nl(*b)),
        _ => body.last().is_some_and(|&b| nl(b)),
    }
}

/// Copies a record's fields into reused strings; returns how many cells the row has.
///
/// Empty fields beyond the column limit are dropped; a non-empty one is an error.
fn fill_cells(
    record: &csv::ByteRecord,
    cells: &mut Vec<String>,
    limits: &Limits,
    row: usize,
    cut_cr: bool,
) -> Result<usize, DecodeError> {
    let mut n = 0;
    let last = record.len().saturating_sub(1);
    for (i, field) in record.iter().enumerate() {
        let field = match field {
            [rest @ .., b'\r'] if cut_cr && i == last => rest,
            _ => field,
        };
        if n >= limits.max_columns {
            if !field.is_empty() {
                return Err(DecodeError::TooManyColumns { columns: record.len(), limit: limits.max_columns, row });
            }
            continue;
        }
        if n == cells.len() {
            cells.push(String::new());
        }
        let cell = &mut cells[n];
        cell.clear();
        match std::str::from_utf8(field) {
            Ok(s) => cell.push_str(s),
            Err(_) => cell.push_str(&String::from_utf8_lossy(field)),
        }
        unwrap_excel_text(cell);
        cut_chars(cell, limits.max_cell_chars);
        n += 1;
    }
    Ok(n)
}

/// Unwraps a cell a spreadsheet exported as `="00123"` (text kept with its leading zeros) to `00123`.
pub(crate) fn unwrap_excel_text(cell: &mut String) {
    if cell.len() < 3 || !cell.starts_with("=\"") || !cell.ends_with('"') {
        return;
    }
    let inner = &cell[2..cell.len() - 1];
    // Inside, a quote must be doubled; anything else is a real formula, left alone.
    let mut chars = inner.chars();
    let mut out = String::with_capacity(inner.len());
    while let Some(c) = chars.next() {
        if c == '"' && chars.next() != Some('"') {
            return;
        }
        out.push(c);
    }
    *cell = out;
}

/// Decodes GB18030 or UTF-16 to UTF-8 while the csv reader pulls bytes.
struct DecodingReader<'a> {
    decoder: Decoder,
    input: &'a [u8],
    buf: Vec<u8>,
    start: usize,
    end: usize,
    finished: bool,
}

impl<'a> DecodingReader<'a> {
    fn new(encoding: &'static Encoding, input: &'a [u8]) -> Self {
        DecodingReader {
            decoder: encoding.new_decoder_without_bom_handling(),
            input,
            buf: vec![0; 1 << 16],
            start: 0,
            end: 0,
            finished: false,
        }
    }
}

impl Read for DecodingReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.start == self.end {
            if self.finished {
                return Ok(0);
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(self.input, &mut self.buf, true);
            self.input = self.input.get(read..).unwrap_or_default();
            self.start = 0;
            self.end = written;
            if result == CoderResult::InputEmpty {
                self.finished = true;
            }
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_text_cells_are_unwrapped() {
        let cases = [
            ("=\"00123\"", "00123"),
            ("=\"\"", ""),
            ("=\"a\"\"b\"", "a\"b"),
            ("=SUM(A1)", "=SUM(A1)"),
            ("=\"a\"&\"b\"", "=\"a\"&\"b\""),
            ("00123", "00123"),
        ];
        for (raw, want) in cases {
            let mut s = raw.to_string();
            unwrap_excel_text(&mut s);
            assert_eq!(s, want, "{raw}");
        }
    }

    #[test]
    fn the_decoding_reader_streams_gb18030() {
        let text = "姓名,电话\n张三,1\n".repeat(10_000);
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        let mut out = String::new();
        DecodingReader::new(encoding_rs::GB18030, &gbk).read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
    }
}
