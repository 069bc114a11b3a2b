//! XLS (BIFF8 in an OLE2 compound file): reading a minimal workbook, and refusing hostile ones.
//!
//! The workbooks are built here, record by record, so nothing is checked in.

use std::time::{Duration, Instant};

use frontline_import::{decode, sniff, DecodeError, Format, Limits};

const FREE: u32 = 0xFFFF_FFFF;
const END: u32 = 0xFFFF_FFFE;

fn record(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(body);
}

fn bof(kind: u16) -> Vec<u8> {
    let mut b = vec![0x00, 0x06];
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&[0; 12]);
    b
}

/// One cell of the test sheet.
enum Xc {
    Text(&'static str),
    Number(f64),
}

/// A BIFF8 `Workbook` stream with one visible sheet; `dims` overrides the Dimensions record.
fn workbook_stream(name: &str, cells: &[(u16, u16, Xc)], dims: Option<[u32; 3]>) -> Vec<u8> {
    let mut sheet = Vec::new();
    record(&mut sheet, 0x0809, &bof(0x0010));
    let [rf, rl, cl] = dims.unwrap_or([0, 100, 10]);
    let mut d = rf.to_le_bytes().to_vec();
    d.extend_from_slice(&rl.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&(cl as u16).to_le_bytes());
    d.extend_from_slice(&[0, 0]);
    record(&mut sheet, 0x0200, &d);
    for (row, col, cell) in cells {
        let mut body = row.to_le_bytes().to_vec();
        body.extend_from_slice(&col.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        match cell {
            Xc::Text(s) => {
                let units: Vec<u16> = s.encode_utf16().collect();
                body.extend_from_slice(&(units.len() as u16).to_le_bytes());
                body.push(1);
                body.extend(units.iter().flat_map(|u| u.to_le_bytes()));
                record(&mut sheet, 0x0204, &body);
            }
            Xc::Number(v) => {
                body.extend_from_slice(&v.to_le_bytes());
                record(&mut sheet, 0x0203, &body);
            }
        }
    }
    record(&mut sheet, 0x000A, &[]);

    let units: Vec<u16> = name.encode_utf16().collect();
    let mut globals = Vec::new();
    record(&mut globals, 0x0809, &bof(0x0005));
    let boundsheet_len = 4 + 8 + units.len() * 2;
    let sheet_pos = (globals.len() + boundsheet_len + 4) as u32;
    let mut bs = sheet_pos.to_le_bytes().to_vec();
    bs.extend_from_slice(&[0, 0, units.len() as u8, 1]);
    bs.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    record(&mut globals, 0x0085, &bs);
    record(&mut globals, 0x000A, &[]);
    globals.extend_from_slice(&sheet);
    // Past the mini-stream cutoff, so the stream lives in regular sectors.
    globals.resize(globals.len().max(4096).next_multiple_of(512), 0);
    globals
}

fn dir_entry(name: &str, kind: u8, child: u32, start: u32, len: u32) -> Vec<u8> {
    let mut e = vec![0u8; 128];
    let units: Vec<u8> = name.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect();
    e[..units.len()].copy_from_slice(&units);
    e[64..66].copy_from_slice(&(units.len() as u16).to_le_bytes());
    e[66] = kind;
    e[67] = 1;
    e[68..72].copy_from_slice(&FREE.to_le_bytes());
    e[72..76].copy_from_slice(&FREE.to_le_bytes());
    e[76..80].copy_from_slice(&child.to_le_bytes());
    e[116..120].copy_from_slice(&start.to_le_bytes());
    e[120..124].copy_from_slice(&len.to_le_bytes());
    e
}

/// A compound file (512-byte sectors: FAT, directory, then the stream) holding `stream` as `name`.
fn compound(name: &str, stream: &[u8], dir_loops: bool) -> Vec<u8> {
    let n = stream.len().div_ceil(512) as u32;
    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    header[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
    header[26..28].copy_from_slice(&3u16.to_le_bytes());
    header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    header[30..32].copy_from_slice(&9u16.to_le_bytes());
    header[32..34].copy_from_slice(&6u16.to_le_bytes());
    header[44..48].copy_from_slice(&1u32.to_le_bytes());
    header[48..52].copy_from_slice(&1u32.to_le_bytes());
    header[56..60].copy_from_slice(&4096u32.to_le_bytes());
    header[60..64].copy_from_slice(&END.to_le_bytes());
    header[68..72].copy_from_slice(&END.to_le_bytes());
    for (i, chunk) in header[76..].chunks_mut(4).enumerate() {
        chunk.copy_from_slice(&(if i == 0 { 0 } else { FREE }).to_le_bytes());
    }
    let mut fat = vec![0xFFFF_FFFDu32, if dir_loops { 1 } else { END }];
    fat.extend((0..n).map(|i| if i + 1 == n { END } else { 3 + i }));
    fat.resize(128, FREE);
    let mut out = header;
    out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
    out.extend(dir_entry("Root Entry", 5, 1, END, 0));
    out.extend(dir_entry(name, 2, FREE, 2, stream.len() as u32));
    out.extend(dir_entry("", 0, FREE, 0, 0));
    out.extend(dir_entry("", 0, FREE, 0, 0));
    out.extend_from_slice(stream);
    out
}

fn census_cells() -> Vec<(u16, u16, Xc)> {
    vec![
        (0, 0, Xc::Text("姓名")),
        (0, 1, Xc::Text("身份证号码")),
        (0, 2, Xc::Text("联系电话")),
        (1, 0, Xc::Text("张三")),
        (1, 1, Xc::Number(350_602_199_001_011_234.0)),
        (1, 2, Xc::Number(13_800_138_000.0)),
        (3, 1, Xc::Text("350602199001011234")),
    ]
}

#[test]
fn a_minimal_xls_reads_like_a_spreadsheet() {
    let bytes = compound("Workbook", &workbook_stream("人员", &census_cells(), None), false);
    assert_eq!(sniff(&bytes, Some("a.csv")).unwrap(), Format::Xls);
    let sheet = decode(&bytes, None, &Limits::default()).unwrap();
    assert_eq!(sheet.format, Format::Xls);
    assert_eq!(sheet.sheet_name.as_deref(), Some("人员"));
    let want: Vec<Vec<&str>> = vec![
        vec!["姓名", "身份证号码", "联系电话"],
        vec!["张三", "3.5060219900101126E+17", "13800138000"],
        vec![],
        vec!["", "350602199001011234"],
    ];
    assert_eq!(sheet.rows, want);
}

#[test]
fn a_word_file_is_not_a_spreadsheet() {
    let bytes = compound("WordDocument", &[0u8; 4096], false);
    assert!(matches!(decode(&bytes, None, &Limits::default()), Err(DecodeError::NotASpreadsheet)));
    let encrypted = compound("EncryptedPackage", &[0u8; 4096], false);
    let err = decode(&encrypted, None, &Limits::default()).unwrap_err();
    assert!(matches!(&err, DecodeError::Corrupt { detail } if detail.contains("password")), "{err:?}");
}

#[test]
fn hostile_xls_files_are_refused_quickly() {
    let started = Instant::now();
    let looping = compound("Workbook", &workbook_stream("s", &census_cells(), None), true);
    let far_column = compound("Workbook", &workbook_stream("s", &[(0, 65_535, Xc::Text("x"))], None), false);
    let huge_dims = compound("Workbook", &workbook_stream("s", &census_cells(), Some([0, u32::MAX, 10])), false);
    let upside_down = compound("Workbook", &workbook_stream("s", &census_cells(), Some([500, 10, 10])), false);
    for (what, bytes) in [("loop", looping), ("column", far_column), ("dims", huge_dims), ("upside", upside_down)] {
        let err = decode(&bytes, None, &Limits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt { .. }), "{what}: {err:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn damaged_xls_files_never_panic() {
    let good = compound("Workbook", &workbook_stream("s", &census_cells(), None), false);
    for cut in (0..good.len()).step_by(61) {
        let _ = decode(&good[..cut], None, &Limits::default());
    }
    for at in (0..good.len()).step_by(7) {
        for value in [0x00, 0xFF, 0x7F] {
            let mut bad = good.clone();
            bad[at] = value;
            let _ = decode(&bad, None, &Limits::default());
        }
    }
}
