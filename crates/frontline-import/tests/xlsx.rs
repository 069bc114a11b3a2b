//! Writing reports and reading workbooks back: numbers, dates, sheets, limits, damage.

use std::io::{Cursor, Write};

use frontline_import::generate::{lying_size_xlsx, zip_bomb_xlsx};
use frontline_import::{decode, sniff, write_xlsx, Cell, DecodeError, Format, Limits, SheetOut};

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn sheet(name: &str, header: &[&str], rows: Vec<Vec<Cell>>) -> SheetOut {
    SheetOut { name: name.into(), header: header.iter().map(|h| (*h).to_string()).collect(), rows }
}

fn one_row(cells: Vec<Cell>) -> Vec<String> {
    let bytes = write_xlsx(&[sheet("s", &["a"], vec![cells])]).unwrap();
    decode(&bytes, None, &Limits::default()).unwrap().rows.swap_remove(1)
}

#[test]
fn written_reports_read_back_the_same() {
    let rows = vec![
        vec![text("张三"), text("350602199001011234"), text("013800138000"), Cell::Int(3), Cell::Float(0.5)],
        vec![text(" 李四 "), text("11010119800101123X"), Cell::Empty, Cell::Int(-7), Cell::Float(f64::NAN)],
        vec![],
        vec![text("=1+1"), text("多\n行"), text("tab\there")],
    ];
    let reasons = sheet("拒绝的行", &["姓名", "身份证号码", "联系电话", "楼栋", "比例"], rows);
    let second = sheet("拒绝的行", &["x"], vec![vec![text("second sheet")]]);
    let bytes = write_xlsx(&[reasons, second]).unwrap();
    assert_eq!(sniff(&bytes, Some("report.csv")).unwrap(), Format::Xlsx);
    let got = decode(&bytes, None, &Limits::default()).unwrap();
    assert_eq!(got.format, Format::Xlsx);
    assert_eq!(got.sheet_name.as_deref(), Some("拒绝的行"));
    let want: Vec<Vec<&str>> = vec![
        vec!["姓名", "身份证号码", "联系电话", "楼栋", "比例"],
        vec!["张三", "350602199001011234", "013800138000", "3", "0.5"],
        vec![" 李四 ", "11010119800101123X", "", "-7"],
        vec![],
        vec!["=1+1", "多\n行", "tab\there"],
    ];
    assert_eq!(got.rows, want);
}

#[test]
fn an_id_stored_as_a_number_reads_as_precision_lost() {
    let row = one_row(vec![Cell::Float(350_602_199_001_011_234.0), Cell::Float(350_602_199_001_011_000.0)]);
    assert!(row[0].contains("E+"), "{row:?}");
    assert_eq!(row[1], "3.50602199001011E+17");
    // Too large to be exact as a number: written as text, read back exactly.
    assert_eq!(one_row(vec![Cell::Int(350_602_199_001_011_234)])[0], "350602199001011234");
}

#[test]
fn a_phone_stored_as_a_number_reads_as_digits() {
    let row = one_row(vec![Cell::Float(13_800_138_000.0), Cell::Int(13_800_138_000), Cell::Float(3.0)]);
    assert_eq!(row, ["13800138000", "13800138000", "3"]);
}

/// A workbook written with rust_xlsxwriter directly, for cell kinds reports never write.
fn custom(build: impl FnOnce(&mut rust_xlsxwriter::Workbook)) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    build(&mut book);
    book.save_to_buffer().unwrap()
}

#[test]
fn dates_booleans_and_offsets_are_rendered() {
    let bytes = custom(|book| {
        let ws = book.add_worksheet();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let stamp = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm");
        ws.write_number_with_format(4, 2, 44_652.0, &date).unwrap();
        ws.write_number_with_format(4, 3, 44_652.75, &stamp).unwrap();
        ws.write_boolean(5, 3, true).unwrap();
        ws.write_boolean(5, 4, false).unwrap();
    });
    let rows = decode(&bytes, None, &Limits::default()).unwrap().rows;
    assert_eq!(rows.len(), 6);
    assert!(rows[..4].iter().all(Vec::is_empty));
    assert_eq!(rows[4], ["", "", "2022-04-01", "2022-04-01 18:00:00"]);
    assert_eq!(rows[5], ["", "", "", "TRUE", "FALSE"]);
}

#[test]
fn empty_first_and_hidden_sheets_are_skipped() {
    let bytes = custom(|book| {
        book.add_worksheet().set_name("空").unwrap();
        let hidden = book.add_worksheet();
        hidden.set_name("下拉选项").unwrap();
        hidden.write_string(0, 0, "是").unwrap();
        hidden.set_hidden(true);
        let data = book.add_worksheet();
        data.set_name("名单").unwrap();
        data.write_string(0, 0, "姓名").unwrap();
    });
    let got = decode(&bytes, None, &Limits::default()).unwrap();
    assert_eq!(got.sheet_name.as_deref(), Some("名单"));
    assert_eq!(got.rows, vec![vec!["姓名".to_string()]]);

    let nothing = write_xlsx(&[]).unwrap();
    assert!(matches!(decode(&nothing, None, &Limits::default()), Err(DecodeError::Empty)));
}

#[test]
fn limits_apply_to_workbooks() {
    let wide = custom(|book| {
        book.add_worksheet().write_string(2, 600, "far").unwrap();
    });
    let err = decode(&wide, None, &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::TooManyColumns { columns: 601, limit: 500, row: 3 }), "{err:?}");

    let deep = custom(|book| {
        book.add_worksheet().write_string(1_000_000, 0, "deep").unwrap();
    });
    let limits = Limits { max_rows: 1000, ..Limits::default() };
    assert!(matches!(decode(&deep, None, &limits), Err(DecodeError::TooManyRows { limit: 1000 })));
    assert_eq!(decode(&deep, None, &Limits::default()).unwrap().rows.len(), 1_000_001);

    let long = write_xlsx(&[sheet("s", &["h"], vec![vec![text(&"长".repeat(5000))]])]).unwrap();
    assert_eq!(decode(&long, None, &Limits::default()).unwrap().rows[1][0].chars().count(), 2000);
}

#[test]
fn zip_bombs_are_refused() {
    let bomb = zip_bomb_xlsx();
    assert!(bomb.len() < 64 * 1024, "the bomb is small: {} bytes", bomb.len());
    assert_eq!(sniff(&bomb, None).unwrap(), Format::Xlsx);
    let err = decode(&bomb, None, &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::ZipBomb), "{err:?}");
    assert_eq!(err.code(), "zip_bomb");

    // Sizes that lie are caught while reading.
    let liar = lying_size_xlsx();
    let err = decode(&liar, None, &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::ZipBomb), "{err:?}");

    // A plain report over a tiny budget.
    let report = write_xlsx(&[sheet("s", &["h"], vec![vec![text("x")]])]).unwrap();
    let limits = Limits { max_uncompressed_bytes: 1000, ..Limits::default() };
    assert!(matches!(decode(&report, None, &limits), Err(DecodeError::ZipBomb)));
}

#[test]
fn damaged_workbooks_are_corrupt() {
    let report = write_xlsx(&[sheet("s", &["姓名"], vec![vec![text("张三")]; 50])]).unwrap();
    for cut in [report.len() / 2, report.len() - 10, 100] {
        let err = decode(&report[..cut], None, &Limits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt { .. }), "cut at {cut}: {err:?}");
        assert_eq!(err.code(), "corrupt");
    }
    // Damage anywhere gives an answer, never a panic (an entry the reader skips may be harmless).
    for start in (0..report.len() - 64).step_by(97) {
        let mut flipped = report.clone();
        for b in &mut flipped[start..start + 64] {
            *b ^= 0x5A;
        }
        let _ = decode(&flipped, None, &Limits::default());
    }
}

#[test]
fn other_zip_and_office_files_are_not_spreadsheets() {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("[Content_Types].xml", options).unwrap();
        zip.write_all(b"<Types/>").unwrap();
        zip.start_file("word/document.xml", options).unwrap();
        zip.write_all(b"<w:document/>").unwrap();
        zip.finish().unwrap();
    }
    let docx = buf.into_inner();
    assert!(matches!(sniff(&docx, Some("a.xlsx")), Err(DecodeError::NotASpreadsheet)));
    assert!(matches!(decode(&docx, None, &Limits::default()), Err(DecodeError::NotASpreadsheet)));
}

/// A report whose shared-strings table announces `count` strings.
fn with_unique_count(count: &str) -> Vec<u8> {
    use std::io::Read;
    let report = write_xlsx(&[sheet("s", &["姓名"], vec![vec![text("张三")]])]).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(&report)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "xl/sharedStrings.xml" {
            let xml = String::from_utf8(data).unwrap();
            let start = xml.find("uniqueCount=\"").unwrap() + 13;
            let end = start + xml[start..].find('"').unwrap();
            data = format!("{}{count}{}", &xml[..start], &xml[end..]).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn an_absurd_shared_strings_count_is_refused_before_allocating() {
    let err = decode(&with_unique_count("100000000000"), None, &Limits::default()).unwrap_err();
    assert!(matches!(&err, DecodeError::Corrupt { detail } if detail.contains("shared strings")), "{err:?}");
    // A plausible count, even if wrong, is fine.
    assert_eq!(decode(&with_unique_count("3"), None, &Limits::default()).unwrap().rows[1], ["张三"]);
}

#[test]
fn hostile_workbooks_are_the_same_every_time() {
    assert_eq!(zip_bomb_xlsx(), zip_bomb_xlsx());
    assert_eq!(lying_size_xlsx(), lying_size_xlsx());
}
