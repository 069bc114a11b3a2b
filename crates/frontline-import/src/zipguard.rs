//! The zip container of an XLSX: is it a workbook, and would it expand too far (a zip bomb)?
//!
//! The central directory is read before the workbook is handed to calamine: the declared
//! uncompressed sizes must stay within [`Limits::max_uncompressed_bytes`] in total, and no entry
//! larger than 10 MiB may have a compression ratio above [`Limits::max_compression_ratio`].
//!
//! Declared sizes can lie. The zip crate (version 9) bounds every entry's actual output by its
//! declared uncompressed size when it is read (it fails with "larger than its declared
//! uncompressed size"), so a lying entry cannot expand past what was checked here; that failure
//! is reported as [`DecodeError::ZipBomb`] too.

use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use zip::ZipArchive;

use crate::{DecodeError, Limits};

/// Entries at most this large are never refused for their ratio (XML compresses well).
const RATIO_FLOOR: u64 = 10 * 1024 * 1024;

/// Reads the central directory, or says why it cannot be read.
fn open(bytes: &[u8]) -> Result<ZipArchive<Cursor<&[u8]>>, DecodeError> {
    match catch_unwind(AssertUnwindSafe(|| ZipArchive::new(Cursor::new(bytes)))) {
        Ok(Ok(archive)) => Ok(archive),
        Ok(Err(e)) => Err(DecodeError::corrupt(format!("the XLSX (zip) container is damaged or truncated: {e}"))),
        Err(_) => Err(DecodeError::corrupt("the XLSX (zip) container is damaged")),
    }
}

/// Whether a zip container is an XLSX workbook (it has `xl/workbook.xml`).
///
/// Other zip files (DOCX, ODS, XLSB, plain archives) are not spreadsheets this reader takes.
pub(crate) fn classify(bytes: &[u8]) -> Result<(), DecodeError> {
    let archive = open(bytes)?;
    let is_workbook =
        archive.file_names_raw().any(|n| n.strip_prefix(b"/").unwrap_or(n).eq_ignore_ascii_case(b"xl/workbook.xml"));
    if is_workbook {
        Ok(())
    } else {
        Err(DecodeError::NotASpreadsheet)
    }
}

/// Refuses an XLSX whose central directory declares too much data.
pub(crate) fn check_bomb(bytes: &[u8], limits: &Limits) -> Result<(), DecodeError> {
    let mut archive = open(bytes)?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_data(i) else {
            return Err(DecodeError::corrupt("an entry of the XLSX (zip) container is damaged"));
        };
        let (size, compressed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if total > limits.max_uncompressed_bytes {
            return Err(DecodeError::ZipBomb);
        }
        if size > RATIO_FLOOR && size / compressed.max(1) > limits.max_compression_ratio {
            return Err(DecodeError::ZipBomb);
        }
    }
    check_shared_strings(&mut archive)
}

/// Refuses a shared-strings table that announces more strings than its size can hold.
///
/// calamine reserves memory for the announced `uniqueCount` up front, so a tiny file
/// announcing 10^11 strings would make it ask for terabytes (an abort, not an error).
/// Each `<si><t/></si>` takes at least 13 bytes, so the count is bounded by the entry's size.
fn check_shared_strings(archive: &mut ZipArchive<Cursor<&[u8]>>) -> Result<(), DecodeError> {
    let wanted: Vec<usize> = (0..archive.len())
        .filter(|&i| {
            let name = archive.name_for_index(i).and_then(Result::ok);
            name.is_some_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        })
        .collect();
    for i in wanted {
        let mut head = Vec::new();
        let size = match archive.by_index(i) {
            Ok(mut entry) => {
                let size = entry.size();
                // A damaged entry is left for calamine to report.
                let _ = (&mut entry).take(8192).read_to_end(&mut head);
                size
            }
            Err(_) => continue,
        };
        if let Some(count) = unique_count(&head) {
            if count > size / 12 + 64 {
                return Err(DecodeError::corrupt("the shared strings table announces more strings than it holds"));
            }
        }
    }
    Ok(())
}

/// The `uniqueCount` attribute of the `<sst>` start tag, if readable as a number.
fn unique_count(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let tag_start = text.find("<sst")?;
    let tag = &text[tag_start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    let at = tag.find("uniqueCount")? + "uniqueCount".len();
    let rest = tag[at..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let digits: String = rest[quote.len_utf8()..].chars().take_while(char::is_ascii_digit).collect();
    // calamine parses the value as a machine integer; a longer number is ignored by both.
    digits.parse().ok()
}

/// Whether a reader's error text says an entry expanded past its declared size.
pub(crate) fn is_overflow_message(text: &str) -> bool {
    text.contains("larger than its declared uncompressed size")
}
