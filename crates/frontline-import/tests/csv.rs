//! Decoding delimited text: encodings, delimiters, blank rows, limits, streaming.

use std::ops::ControlFlow;

use frontline_import::{decode, for_each_row, sniff, DecodeError, Format, Limits};

const TEXT: &str = "姓名,身份证号码,联系电话,楼栋\r\n张三,350602199001011234,13800138000,3号楼\r\n李四,\"11010119800101123X\",,\"5,6栋\"\r\n";

fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    decode(bytes, None, &Limits::default()).expect("decodes").rows
}

fn encoding_of(bytes: &[u8]) -> &'static str {
    match sniff(bytes, None).expect("sniffs") {
        Format::Csv { encoding, .. } => encoding,
        other => panic!("not CSV: {other:?}"),
    }
}

#[test]
fn utf8_bom_and_gb18030_give_the_same_rows() {
    let utf8 = TEXT.as_bytes().to_vec();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(TEXT.as_bytes());
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(TEXT);
    assert!(!unmappable);
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(TEXT.encode_utf16().flat_map(u16::to_le_bytes));

    assert_eq!(encoding_of(&utf8), "UTF-8");
    assert_eq!(encoding_of(&bom), "UTF-8 with BOM");
    assert_eq!(encoding_of(&gbk), "GB18030");
    assert_eq!(encoding_of(&utf16), "UTF-16LE");

    let want = rows(&utf8);
    assert_eq!(want.len(), 3);
    assert_eq!(want[0], ["姓名", "身份证号码", "联系电话", "楼栋"]);
    assert_eq!(want[2], ["李四", "11010119800101123X", "", "5,6栋"]);
    assert_eq!(rows(&bom), want);
    assert_eq!(rows(&gbk), want);
    assert_eq!(rows(&utf16), want);
}

#[test]
fn a_gbk_file_with_only_ascii_at_the_start_is_still_gb18030() {
    let mut text = String::from("name,id\r\n");
    for i in 0..10_000 {
        text.push_str(&format!("p{i},350602199001011234\r\n"));
    }
    text.push_str("王五,350602199001011234\r\n");
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    assert!(gbk.len() > 64 * 1024);
    let sheet = decode(&gbk, None, &Limits::default()).unwrap();
    assert_eq!(sheet.format, Format::Csv { encoding: "GB18030", delimiter: b',' });
    assert_eq!(sheet.rows.last().unwrap()[0], "王五");
}

#[test]
fn delimiters_are_sniffed() {
    let tsv = "姓名\t身份证号码\t地址\n张三\t350602199001011234\t3栋,2单元\n";
    let sheet = decode(tsv.as_bytes(), Some("名单.csv"), &Limits::default()).unwrap();
    assert_eq!(sheet.format, Format::Csv { encoding: "UTF-8", delimiter: b'\t' });
    assert_eq!(sheet.rows[1], ["张三", "350602199001011234", "3栋,2单元"]);
    let semi = "a;b;c\n1;2;3\n";
    assert_eq!(rows(semi.as_bytes())[1], ["1", "2", "3"]);
    let pipe = "a|b\n1|2\n";
    assert_eq!(rows(pipe.as_bytes())[1], ["1", "2"]);
    // A one-column file named .txt is read as tab-separated (one column either way).
    let one = "张三\n李四\n";
    assert_eq!(sniff(one.as_bytes(), Some("x.txt")).unwrap(), Format::Csv { encoding: "UTF-8", delimiter: b'\t' });
}

#[test]
fn blank_lines_keep_row_numbers_and_cells_stay_raw() {
    let text = "\r\n标题,,\r\n\r\n姓名,电话\r\n 张三 ,=\"013800138000\"\r\n,,\r\n\"多\r\n行\",x\r\n\r\n王五,1";
    let got = rows(text.as_bytes());
    let want: Vec<Vec<&str>> = vec![
        vec![""],
        vec!["标题", "", ""],
        vec![""],
        vec!["姓名", "电话"],
        vec![" 张三 ", "013800138000"],
        vec!["", "", ""],
        vec!["多\r\n行", "x"],
        vec![""],
        vec!["王五", "1"],
    ];
    assert_eq!(got, want);
    // With LF line ends, an empty line is a row without cells.
    let lf = rows(b"a\n\n\nb\n");
    assert_eq!(lf, vec![vec!["a".to_string()], vec![], vec![], vec!["b".to_string()]]);
}

#[test]
fn row_numbers_passed_to_the_function_are_consecutive_from_one() {
    let text = "\n\n姓名\n张三\n\n李四\n";
    let mut seen = Vec::new();
    let format = for_each_row(text.as_bytes(), None, &Limits::default(), |n, cells| {
        seen.push((n, cells.join("|")));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(format.name(), "csv");
    let numbers: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    assert_eq!(seen[2].1, "姓名");
    assert_eq!(seen[5].1, "李四");
}

#[test]
fn the_function_can_stop_early() {
    let text = "a\nb\nc\nd\n";
    let mut count = 0;
    for_each_row(text.as_bytes(), None, &Limits::default(), |n, _| {
        count += 1;
        if n == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(count, 2);
}

#[test]
fn empty_and_blank_files_are_empty() {
    let limits = Limits::default();
    for bytes in
        [&b""[..], b"   \r\n\t\n", b"\xEF\xBB\xBF", b"\xEF\xBB\xBF\r\n", b",,,\r\n,,\r\n", "\u{3000}\n".as_bytes()]
    {
        let mut called = false;
        let err = for_each_row(bytes, None, &limits, |_, _| {
            called = true;
            ControlFlow::Continue(())
        })
        .unwrap_err();
        assert!(matches!(err, DecodeError::Empty), "{bytes:?}: {err:?}");
        assert_eq!(err.code(), "empty");
        assert!(!called, "{bytes:?}: no row should reach the caller");
    }
}

#[test]
fn ten_thousand_columns_are_refused_at_the_first_row() {
    let wide = frontline_import::generate::wide_csv(10_000);
    let err = decode(&wide, None, &Limits::default()).unwrap_err();
    match err {
        DecodeError::TooManyColumns { columns, limit, row } => {
            assert!(columns > 500);
            assert_eq!((limit, row), (500, 1));
        }
        other => panic!("{other:?}"),
    }
    // A wide row later in the file is refused too, with its number.
    let mut text = "a,b\n".repeat(3);
    text.push_str(&"x,".repeat(600));
    text.push('\n');
    let err = decode(text.as_bytes(), None, &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::TooManyColumns { row: 4, .. }), "{err:?}");
    assert_eq!(err.params()[2], ("row", "4".to_string()));
}

#[test]
fn trailing_empty_cells_beyond_the_column_limit_are_dropped() {
    let limits = Limits { max_columns: 3, ..Limits::default() };
    let text = format!("a,b,c{}\n1,2\n", ",".repeat(50));
    let sheet = decode(text.as_bytes(), None, &limits).unwrap();
    assert_eq!(sheet.rows[0], ["a", "b", "c"]);
}

#[test]
fn row_and_size_limits_are_enforced() {
    let limits = Limits { max_rows: 3, ..Limits::default() };
    let err = decode(b"a\nb\nc\nd\n", None, &limits).unwrap_err();
    assert!(matches!(err, DecodeError::TooManyRows { limit: 3 }), "{err:?}");
    assert!(decode(b"a\nb\nc\n", None, &limits).is_ok());

    let limits = Limits { max_bytes: 10, ..Limits::default() };
    let err = decode(b"aaaaaaaaaaaaaaaaa\n", None, &limits).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { bytes: 18, limit: 10 }), "{err:?}");
    assert_eq!(err.params(), [("bytes", "18".to_string()), ("limit", "10".to_string())]);
}

#[test]
fn long_cells_are_cut_on_a_character_boundary() {
    let limits = Limits { max_cell_chars: 4, ..Limits::default() };
    let sheet = decode("张三李四王五,ab\n".as_bytes(), None, &limits).unwrap();
    assert_eq!(sheet.rows[0], ["张三李四", "ab"]);
}

#[test]
fn damaged_utf8_stays_utf8_and_an_unclosed_quote_does_not_hang() {
    let mut bytes = "姓名,电话\n张三,1\n".repeat(20).into_bytes();
    bytes.extend_from_slice(b"\xE5\x8C\n");
    let sheet = decode(&bytes, None, &Limits::default()).unwrap();
    assert_eq!(sheet.format, Format::Csv { encoding: "UTF-8", delimiter: b',' });
    assert_eq!(sheet.rows.last().unwrap()[0], "\u{FFFD}");

    let sheet = decode(b"a,\"b\nc,d\n", None, &Limits::default()).unwrap();
    assert_eq!(sheet.rows, vec![vec!["a".to_string(), "b\nc,d\n".to_string()]]);
}
