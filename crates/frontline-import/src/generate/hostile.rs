//! Hostile files for tests: a zip bomb, an XLSX whose sizes lie, random bytes, a very wide CSV.

use frontline_domain::rng::SplitMix64;

use super::fix_creation_date;
use crate::write::SheetWriter;
use crate::{Cell, WriteError};

/// The worksheet entry patched by the zip helpers.
const SHEET_ENTRY: &[u8] = b"xl/worksheets/sheet1.xml";

/// A small valid-looking XLSX whose `sheet1.xml` declares 2 GiB uncompressed.
///
/// Compressing 2 GiB of zeros for real takes far longer than a test may (seconds in release,
/// a minute in debug), so the workbook is written normally and its declared size is then
/// patched in the central directory and the local header; the compressed data stays tiny, so
/// both the declared total (> 1 GiB) and the ratio (millions to one) give it away.
pub fn zip_bomb_xlsx() -> Vec<u8> {
    let base = small_workbook(1);
    patch_declared_size(&base, SHEET_ENTRY, 0x8000_0000).unwrap_or(base)
}

/// An XLSX whose `sheet1.xml` declares 1 KiB but really expands to about 2 MiB (sizes can lie).
pub fn lying_size_xlsx() -> Vec<u8> {
    let base = small_workbook(20_000);
    patch_declared_size(&base, SHEET_ENTRY, 1024).unwrap_or(base)
}

/// `len` pseudo-random bytes, the same for the same seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A CSV with a header of `columns` names (`c1,c2,…`) and one data row as wide.
pub fn wide_csv(columns: usize) -> Vec<u8> {
    let mut out = String::with_capacity(columns * 14);
    for row in 0..2 {
        for c in 1..=columns {
            if c > 1 {
                out.push(',');
            }
            if row == 0 {
                out.push('c');
            }
            out.push_str(&c.to_string());
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// A workbook with one sheet of `rows` rows of two cells (the same bytes every time).
fn small_workbook(rows: usize) -> Vec<u8> {
    let build = || -> Result<Vec<u8>, WriteError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        fix_creation_date(&mut book)?;
        let header = ["姓名".to_string(), "身份证号码".to_string()];
        let mut sheet = SheetWriter::new(book.add_worksheet(), "Sheet1", None, &header)?;
        for i in 0..rows {
            sheet.push(&[Cell::Text(format!("居民{i}")), Cell::Text("350602199001011234".into())])?;
        }
        sheet.finish()?;
        Ok(book.save_to_buffer()?)
    };
    build().unwrap_or_default()
}

fn read_u16(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2).map(|s| usize::from(u16::from_le_bytes([s[0], s[1]])))
}

fn read_u32(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

fn write_u32(b: &mut [u8], at: usize, v: u32) -> Option<()> {
    b.get_mut(at..at + 4)?.copy_from_slice(&v.to_le_bytes());
    Some(())
}

/// Rewrites the declared uncompressed size of one entry (central directory and local header).
fn patch_declared_size(zip: &[u8], entry: &[u8], size: u32) -> Option<Vec<u8>> {
    let mut out = zip.to_vec();
    let eocd = (0..out.len().saturating_sub(21)).rev().find(|&i| out[i..].starts_with(b"PK\x05\x06"))?;
    let count = read_u16(&out, eocd + 10)?;
    let mut at = read_u32(&out, eocd + 16)?;
    for _ in 0..count {
        if !out.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let name_len = read_u16(&out, at + 28)?;
        let extra_len = read_u16(&out, at + 30)?;
        let comment_len = read_u16(&out, at + 32)?;
        let local = read_u32(&out, at + 42)?;
        if out.get(at + 46..at + 46 + name_len)? == entry {
            write_u32(&mut out, at + 24, size)?;
            if out.get(local..)?.starts_with(b"PK\x03\x04") && read_u32(&out, local + 22)? != 0 {
                write_u32(&mut out, local + 22, size)?;
            }
            return Some(out);
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}
