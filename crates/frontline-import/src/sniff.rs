//! Sniffing: what kind of file the bytes are, from magic bytes and text heuristics.
//!
//! Only the first [`WINDOW`] bytes decide whether a file is text at all, so 100 MB of random
//! bytes is refused in microseconds. A text file's encoding is then chosen from the whole
//! body (a fast UTF-8 validity scan); its delimiter from the first records of the window.

use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE};

use crate::ole::{self, OleKind};
use crate::{zipguard, DecodeError, Format};

/// How many bytes of a file decide whether it is text.
pub(crate) const WINDOW: usize = 64 * 1024;

/// The delimiters a CSV may use, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// The text encodings a CSV may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enc {
    /// UTF-8 without a byte order mark.
    Utf8,
    /// UTF-8 after a byte order mark.
    Utf8Bom,
    /// GB18030, a superset of GBK and GB2312.
    Gb18030,
    /// UTF-16 little endian after a byte order mark (Excel's "Unicode text").
    Utf16Le,
    /// UTF-16 big endian after a byte order mark.
    Utf16Be,
}

impl Enc {
    /// The name reported in [`Format::Csv`].
    pub(crate) fn label(self) -> &'static str {
        match self {
            Enc::Utf8 => "UTF-8",
            Enc::Utf8Bom => "UTF-8 with BOM",
            Enc::Gb18030 => "GB18030",
            Enc::Utf16Le => "UTF-16LE",
            Enc::Utf16Be => "UTF-16BE",
        }
    }

    /// The decoder needed, if the body is not UTF-8 already.
    pub(crate) fn decoder(self) -> Option<&'static Encoding> {
        match self {
            Enc::Utf8 | Enc::Utf8Bom => None,
            Enc::Gb18030 => Some(GB18030),
            Enc::Utf16Le => Some(UTF_16LE),
            Enc::Utf16Be => Some(UTF_16BE),
        }
    }

    /// The length of the byte order mark that precedes the body.
    fn bom_len(self) -> usize {
        match self {
            Enc::Utf8Bom => 3,
            Enc::Utf16Le | Enc::Utf16Be => 2,
            Enc::Utf8 | Enc::Gb18030 => 0,
        }
    }
}

/// What sniffing found out about a delimited text file.
pub(crate) struct TextSniff {
    /// The encoding of the body.
    pub(crate) enc: Enc,
    /// Where the body starts (after the byte order mark).
    pub(crate) body_start: usize,
    /// The delimiter.
    pub(crate) delimiter: u8,
    /// The first [`WINDOW`] bytes of the body, decoded.
    pub(crate) window: String,
}

/// What kind of file the bytes are.
pub(crate) enum Sniffed {
    /// Delimited text.
    Text(TextSniff),
    /// An XLSX workbook (zip container with `xl/workbook.xml`).
    Xlsx,
    /// An OLE2 compound file that may hold an XLS workbook.
    Xls,
}

impl Sniffed {
    /// The public description.
    pub(crate) fn format(&self) -> Format {
        match self {
            Sniffed::Text(t) => Format::Csv { encoding: t.enc.label(), delimiter: t.delimiter },
            Sniffed::Xlsx => Format::Xlsx,
            Sniffed::Xls => Format::Xls,
        }
    }
}

/// Sniffs the format from the bytes (never from the file name alone; the name is a hint for CSV vs TSV only).
///
/// Looks at magic bytes and the first 64 KiB; for a zip container, at its central directory.
pub fn sniff(bytes: &[u8], file_name: Option<&str>) -> Result<Format, DecodeError> {
    sniff_inner(bytes, file_name).map(|s| s.format())
}

/// [`sniff`], keeping what the decoder needs.
pub(crate) fn sniff_inner(bytes: &[u8], file_name: Option<&str>) -> Result<Sniffed, DecodeError> {
    // Stops at the first non-whitespace byte, so this is cheap for anything but blank files.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") || bytes.starts_with(b"PK\x07\x08") {
        return zipguard::classify(bytes).map(|()| Sniffed::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return match ole::inspect(bytes)? {
            OleKind::Workbook => Ok(Sniffed::Xls),
            OleKind::Encrypted => {
                Err(DecodeError::corrupt("the workbook is password-protected; save it without a password"))
            }
            OleKind::Other => Err(DecodeError::NotASpreadsheet),
        };
    }
    if has_binary_magic(bytes) {
        return Err(DecodeError::NotASpreadsheet);
    }
    sniff_text(bytes, file_name).map(Sniffed::Text)
}

/// Magic numbers of common non-spreadsheet files that could otherwise pass as text.
fn has_binary_magic(bytes: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        b"%PDF-",
        b"\x89PNG",
        b"\xFF\xD8\xFF",
        b"GIF87a",
        b"GIF89a",
        b"\x1F\x8B",
        b"7z\xBC\xAF\x27\x1C",
        b"Rar!\x1A\x07",
        b"\x7FELF",
        b"{\\rtf",
        b"RIFF",
        b"II*\x00",
        b"MM\x00*",
        b"\xFD7zXZ\x00",
        b"\x28\xB5\x2F\xFD",
        b"SQLite format 3\x00",
    ];
    if MAGICS.iter().any(|m| bytes.starts_with(m)) || bytes.get(4..8) == Some(b"ftyp") {
        return true;
    }
    // HTML and XML (web pages, SpreadsheetML 2003) are not read as spreadsheets.
    let head: Vec<u8> = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take(256)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    head.starts_with(b"<?xml")
        || head.starts_with(b"<!doctype")
        || head.starts_with(b"<html")
        || head.starts_with(b"<table")
}

/// Detects the encoding and delimiter of a text file, refusing binary garbage.
fn sniff_text(bytes: &[u8], file_name: Option<&str>) -> Result<TextSniff, DecodeError> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        Some(Enc::Utf8Bom)
    } else if bytes.starts_with(b"\xFF\xFE") {
        Some(Enc::Utf16Le)
    } else if bytes.starts_with(b"\xFE\xFF") {
        Some(Enc::Utf16Be)
    } else {
        None
    };
    let enc = match bom {
        Some(enc) => enc,
        None => {
            // Judge the window first, so garbage is refused before the whole file is scanned.
            let head = &bytes[..bytes.len().min(WINDOW)];
            let first = if window_is_utf8(bytes) || looks_utf8(head) { Enc::Utf8 } else { Enc::Gb18030 };
            check_garbage(&decode_window(bytes, first).0)?;
            if first == Enc::Utf8 && !looks_utf8(bytes) {
                Enc::Gb18030
            } else {
                first
            }
        }
    };
    let body_start = enc.bom_len();
    let body = bytes.get(body_start..).unwrap_or_default();
    let (window, complete) = decode_window(body, enc);
    check_garbage(&window)?;
    if complete && window.trim().is_empty() {
        return Err(DecodeError::Empty);
    }
    let delimiter = sniff_delimiter(&window, complete, file_name);
    Ok(TextSniff { enc, body_start, delimiter, window })
}

/// Whether the first window is valid UTF-8 (a sequence cut by the window's end is fine).
fn window_is_utf8(bytes: &[u8]) -> bool {
    let cut = bytes.len().min(WINDOW);
    match std::str::from_utf8(&bytes[..cut]) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && cut < bytes.len(),
    }
}

/// Whether the whole body reads as UTF-8: valid, or with rare damage among many multi-byte characters.
fn looks_utf8(body: &[u8]) -> bool {
    let (mut invalid, mut multibyte) = (0usize, 0usize);
    for chunk in body.utf8_chunks() {
        multibyte += chunk.valid().bytes().filter(|&b| b >= 0xC0).count();
        if !chunk.invalid().is_empty() {
            invalid += 1;
            if invalid > 64 && invalid.saturating_mul(20) > multibyte {
                return false;
            }
        }
    }
    invalid == 0 || multibyte >= invalid.saturating_mul(20)
}

/// Decodes the first [`WINDOW`] bytes of `body`; the flag says whether that was all of it.
pub(crate) fn decode_window(body: &[u8], enc: Enc) -> (String, bool) {
    let complete = body.len() <= WINDOW;
    let mut cut = body.len().min(WINDOW);
    match enc.decoder() {
        None => {
            // Back off to a character boundary so a cut character is not counted as damage.
            let mut back = 0;
            while !complete && back < 3 && cut > 0 && (body[cut] & 0xC0) == 0x80 {
                cut -= 1;
                back += 1;
            }
            (String::from_utf8_lossy(&body[..cut]).into_owned(), complete)
        }
        Some(encoding) => {
            let mut decoder = encoding.new_decoder_without_bom_handling();
            let mut out = String::with_capacity(decoder.max_utf8_buffer_length(cut).unwrap_or(cut * 3));
            let _ = decoder.decode_to_string(&body[..cut], &mut out, complete);
            (out, complete)
        }
    }
}

/// Refuses text that is mostly not text: control characters, replacement characters, private use.
fn check_garbage(text: &str) -> Result<(), DecodeError> {
    let (mut total, mut garbage, mut nul) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        total += 1;
        let bad = match c {
            '\t' | '\n' | '\r' => false,
            '\0' => {
                nul += 1;
                true
            }
            c if c.is_control() => true,
            '\u{FFFD}' | '\u{E000}'..='\u{F8FF}' => true,
            _ => false,
        };
        garbage += usize::from(bad);
    }
    if nul >= 8 || garbage.saturating_mul(100) > total {
        return Err(DecodeError::NotASpreadsheet);
    }
    Ok(())
}

/// Chooses the delimiter whose count per record is the most consistent, then the largest.
fn sniff_delimiter(window: &str, complete: bool, file_name: Option<&str>) -> u8 {
    let name = file_name.unwrap_or_default().to_ascii_lowercase();
    let prefer = if name.ends_with(".tsv") || name.ends_with(".tab") || name.ends_with(".txt") { b'\t' } else { b',' };
    let mut best: Option<(usize, usize, u8)> = None;
    for d in DELIMITERS {
        let counts = record_counts(window, complete, d);
        let Some((mode, freq)) = mode_of(&counts) else { continue };
        let better = match best {
            None => true,
            Some((bf, bm, bd)) => (freq, mode) > (bf, bm) || (freq == bf && d == prefer && bd != prefer),
        };
        if better {
            best = Some((freq, mode, d));
        }
    }
    best.map_or(prefer, |(_, _, d)| d)
}

/// The most frequent non-zero delimiter count and how often it occurs.
fn mode_of(counts: &[usize]) -> Option<(usize, usize)> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    for group in sorted.chunk_by(|a, b| a == b) {
        let (value, freq) = (group[0], group.len());
        if value > 0 && best.is_none_or(|(bv, bf)| (freq, value) > (bf, bv)) {
            best = Some((value, freq));
        }
    }
    best
}

/// Delimiter counts of the first non-blank records (quote-aware, like the CSV reader).
fn record_counts(window: &str, complete: bool, delimiter: u8) -> Vec<usize> {
    let mut out = Vec::new();
    let mut scan = RecordScan::new(window.as_bytes(), delimiter);
    while out.len() < 100 {
        match scan.next_record() {
            Some(r) if r.complete || complete => {
                if r.nonblank {
                    out.push(r.delimiters);
                }
            }
            _ => break,
        }
    }
    out
}

/// The number of fields up to the last non-empty one in the first record (at least, if cut).
pub(crate) fn first_record_width(window: &str, delimiter: u8) -> usize {
    RecordScan::new(window.as_bytes(), delimiter).next_record().map_or(0, |r| r.width)
}

/// One record as seen by [`RecordScan`].
struct ScannedRecord {
    /// Delimiters outside quotes.
    delimiters: usize,
    /// Fields up to the last non-empty one.
    width: usize,
    /// Whether any field has a non-whitespace character.
    nonblank: bool,
    /// Whether the record ended with a line break (not the end of the text).
    complete: bool,
}

/// A minimal quote-aware record scanner, enough to count delimiters.
struct RecordScan<'a> {
    text: &'a [u8],
    pos: usize,
    delimiter: u8,
}

impl<'a> RecordScan<'a> {
    fn new(text: &'a [u8], delimiter: u8) -> Self {
        RecordScan { text, pos: 0, delimiter }
    }

    fn next_record(&mut self) -> Option<ScannedRecord> {
        if self.pos >= self.text.len() {
            return None;
        }
        let mut r = ScannedRecord { delimiters: 0, width: 0, nonblank: false, complete: false };
        let (mut field_start, mut in_quotes, mut field_nonempty) = (true, false, false);
        while let Some(&b) = self.text.get(self.pos) {
            self.pos += 1;
            if in_quotes {
                if b == b'"' {
                    if self.text.get(self.pos) == Some(&b'"') {
                        self.pos += 1;
                    } else {
                        in_quotes = false;
                    }
                }
                field_nonempty = true;
                continue;
            }
            match b {
                b'"' if field_start => {
                    in_quotes = true;
                    field_start = false;
                }
                b'\n' | b'\r' => {
                    if b == b'\r' && self.text.get(self.pos) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    r.complete = true;
                    break;
                }
                d if d == self.delimiter => {
                    r.delimiters += 1;
                    if field_nonempty {
                        r.width = r.delimiters;
                    }
                    field_start = true;
                    field_nonempty = false;
                }
                _ => {
                    field_start = false;
                    if !b.is_ascii_whitespace() {
                        field_nonempty = true;
                        r.nonblank = true;
                    }
                }
            }
        }
        if field_nonempty {
            r.width = r.delimiters + 1;
            r.nonblank = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_found_with_quotes_and_titles() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n", true, None), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n\"x,y\"\t2\t3\n", true, None), b'\t');
        assert_eq!(sniff_delimiter("标题,,\na;b;c\n1;2;3\n4;5;6\n", true, None), b';');
        assert_eq!(sniff_delimiter("a|b\n1|2\n", true, None), b'|');
        assert_eq!(sniff_delimiter("only\none\n", true, Some("x.tsv")), b'\t');
        assert_eq!(sniff_delimiter("a,b\tc\n", true, Some("x.tsv")), b'\t');
    }

    #[test]
    fn first_record_width_ignores_trailing_empty_fields() {
        assert_eq!(first_record_width("a,b,,,\n1,2", b','), 2);
        assert_eq!(first_record_width("\"a,\"\"b\",c\n", b','), 2);
        assert_eq!(first_record_width(",,,\n", b','), 0);
    }

    #[test]
    fn rare_damage_keeps_utf8_and_gbk_is_not_utf8() {
        let mut text = "张三,李四\n".repeat(50).into_bytes();
        text.push(0xE5);
        assert!(looks_utf8(&text));
        let text = "张三,李四\n".repeat(50);
        let (gbk, _, _) = GB18030.encode(&text);
        assert!(!looks_utf8(&gbk));
    }
}
