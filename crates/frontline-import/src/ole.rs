//! A guard for OLE2 compound files (XLS) checked before calamine reads them.
//!
//! calamine trusts a compound file's sector chains and a workbook's declared sizes: a tiny
//! hostile file with a looping chain makes it allocate without end, and a cell at column
//! 65,535 makes it allocate a dense grid of billions of cells — failures that abort the
//! process rather than return an error. So the container is walked here first, every chain
//! must end within the file, and the `Workbook` stream's records must keep to the format's
//! bounds (256 columns, 65,536 rows). It also tells workbooks from Word files and from
//! password-protected XLSX (which are compound files too).

use crate::DecodeError;

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// Sector ids at or above this are markers, not sectors.
const MAX_REGULAR: u32 = 0xFFFF_FFFA;
/// Streams shorter than this live in the mini stream.
const MINI_CUTOFF: usize = 4096;
const MINI_SECTOR: usize = 64;

/// What a compound file holds.
pub(crate) enum OleKind {
    /// An XLS workbook that is safe to hand to calamine.
    Workbook,
    /// A password-protected (encrypted) XLSX.
    Encrypted,
    /// Some other compound file (Word, PowerPoint, Outlook…).
    Other,
}

fn corrupt(what: &str) -> DecodeError {
    DecodeError::corrupt(format!("the XLS file is damaged: {what}"))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A compound file's sectors and allocation table.
struct Container<'a> {
    bytes: &'a [u8],
    size: usize,
    /// The highest sector id calamine accepts (`len / size`).
    max_id: usize,
    fat: Vec<u32>,
}

impl<'a> Container<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() < 512 {
            return Err(corrupt("the header is truncated"));
        }
        let size = match u16_at(bytes, 30) {
            Some(9) => 512,
            Some(12) => 4096,
            _ => return Err(corrupt("bad sector size")),
        };
        if u16_at(bytes, 32) != Some(6) {
            return Err(corrupt("bad mini sector size"));
        }
        let max_id = bytes.len() / size;
        let mut c = Container { bytes, size, max_id, fat: Vec::new() };
        let mut difat: Vec<u32> = (76..512).step_by(4).filter_map(|at| u32_at(bytes, at)).collect();
        let mut next = u32_at(bytes, 68).unwrap_or(END_OF_CHAIN);
        let mut steps = 0;
        while next < MAX_REGULAR {
            steps += 1;
            if steps > max_id + 1 {
                return Err(corrupt("the allocation table's chain loops"));
            }
            let sector = c.sector(next)?;
            difat.extend((0..sector.len() / 4).filter_map(|i| u32_at(sector, i * 4)));
            next = difat.pop().unwrap_or(END_OF_CHAIN);
        }
        let mut fat = Vec::new();
        for id in difat.into_iter().filter(|&id| id < MAX_REGULAR) {
            let sector = c.sector(id)?;
            fat.extend((0..sector.len() / 4).filter_map(|i| u32_at(sector, i * 4)));
        }
        c.fat = fat;
        Ok(c)
    }

    /// A sector's bytes (the last one may be short, as calamine allows).
    fn sector(&self, id: u32) -> Result<&'a [u8], DecodeError> {
        let id = id as usize;
        if id > self.max_id {
            return Err(corrupt("a sector lies beyond the end of the file"));
        }
        let start = (id + 1).saturating_mul(self.size).min(self.bytes.len());
        let end = start.saturating_add(self.size).min(self.bytes.len());
        Ok(&self.bytes[start..end])
    }

    /// Follows a chain the way calamine does (until the end mark or `len` bytes), refusing loops.
    fn chain(&self, start: u32, len: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0;
        while id != END_OF_CHAIN {
            steps += 1;
            if steps > self.max_id + 1 {
                return Err(corrupt("a sector chain loops"));
            }
            let sector = self.sector(id)?;
            let take = sector.len().min(len - out.len());
            out.extend_from_slice(&sector[..take]);
            if out.len() >= len {
                break;
            }
            id = *self.fat.get(id as usize).ok_or_else(|| corrupt("a sector chain leaves the table"))?;
        }
        Ok(out)
    }
}

/// One directory entry: name, start sector, length.
struct Entry {
    name: String,
    start: u32,
    len: usize,
}

/// Checks a compound file and says what it holds.
pub(crate) fn inspect(bytes: &[u8]) -> Result<OleKind, DecodeError> {
    let c = Container::open(bytes)?;
    let large = c.size == 4096;
    let dir = c.chain(u32_at(bytes, 48).unwrap_or(END_OF_CHAIN), usize::MAX)?;
    let entries: Vec<Entry> = dir
        .chunks_exact(128)
        .map(|e| {
            let units: Vec<u16> = (0..32).filter_map(|i| u16_at(e, i * 2)).take_while(|&u| u != 0).collect();
            let len = if large {
                e.get(120..128).map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
            } else {
                u64::from(u32_at(e, 120).unwrap_or(0))
            };
            Entry {
                name: String::from_utf16_lossy(&units),
                start: u32_at(e, 116).unwrap_or(END_OF_CHAIN),
                len: usize::try_from(len).unwrap_or(usize::MAX),
            }
        })
        .collect();
    let Some(root) = entries.first() else { return Err(corrupt("the directory is empty")) };
    let find = |name: &str| entries.iter().find(|e| e.name.eq_ignore_ascii_case(name));
    let Some(book) = find("Workbook").or_else(|| find("Book")) else {
        return Ok(if find("EncryptedPackage").is_some() { OleKind::Encrypted } else { OleKind::Other });
    };
    // Every stream calamine may read at open must have a finite chain.
    let mini_fat_len = u32_at(bytes, 64).unwrap_or(0) as usize;
    let (mini_stream, mini_fat) = if mini_fat_len > 0 {
        let stream = c.chain(root.start, root.len)?;
        let fat_bytes = c.chain(u32_at(bytes, 60).unwrap_or(END_OF_CHAIN), mini_fat_len.saturating_mul(c.size))?;
        let fat: Vec<u32> = (0..fat_bytes.len() / 4).filter_map(|i| u32_at(&fat_bytes, i * 4)).collect();
        (stream, fat)
    } else {
        (Vec::new(), Vec::new())
    };
    let stream = if book.len < MINI_CUTOFF {
        mini_chain(&mini_stream, &mini_fat, book.start, book.len)?
    } else {
        c.chain(book.start, book.len)?
    };
    check_records(&stream)?;
    Ok(OleKind::Workbook)
}

/// A stream in the mini stream (under 4 KiB, so bounded even if its chain loops).
fn mini_chain(mini: &[u8], fat: &[u32], start: u32, len: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut id = start;
    while id != END_OF_CHAIN && out.len() < len {
        let at = (id as usize).saturating_mul(MINI_SECTOR);
        let sector = mini.get(at..at.saturating_add(MINI_SECTOR).min(mini.len())).unwrap_or_default();
        if sector.is_empty() {
            break;
        }
        out.extend_from_slice(&sector[..sector.len().min(len - out.len())]);
        id = *fat.get(id as usize).ok_or_else(|| corrupt("a mini sector chain leaves the table"))?;
    }
    Ok(out)
}

/// Refuses BIFF records whose positions or dimensions lie outside an XLS sheet.
fn check_records(stream: &[u8]) -> Result<(), DecodeError> {
    const COLS: u32 = 256;
    const ROWS: u32 = 65_536;
    let mut at = 0;
    while let (Some(typ), Some(len)) = (u16_at(stream, at), u16_at(stream, at + 2)) {
        let data = stream.get(at + 4..at + 4 + len as usize).unwrap_or_default();
        at += 4 + len as usize;
        let col = |offset: usize| u32::from(u16_at(data, offset).unwrap_or(0));
        let bad = match typ {
            // Number, Label, RString, BoolErr, Rk, LabelSst, Formula, Blank: row, column, …
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 | 0x0201 => col(2) >= COLS,
            // MulRk and MulBlank: row, first column, …, last column.
            0x00BD | 0x00BE => col(2) >= COLS || col(data.len().saturating_sub(2)) >= COLS,
            // Dimensions: first row, last row + 1, first column, last column + 1.
            0x0200 => {
                let (rf, rl, cl) = match data.len() {
                    10 => (col(0), col(2), col(6)),
                    14 | 16 => (u32_at(data, 0).unwrap_or(0), u32_at(data, 4).unwrap_or(0), col(10)),
                    _ => (0, 0, 0),
                };
                rl > ROWS || cl > COLS || (rl >= 1 && cl >= 1 && rl - 1 < rf)
            }
            _ => false,
        };
        if bad {
            return Err(corrupt("a cell or the sheet's dimensions lie outside an XLS sheet"));
        }
    }
    Ok(())
}
