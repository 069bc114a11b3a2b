//! Property tests of the census rules: nothing panics on any input, and canonical forms read back.

use frontline_domain::census::{
    building_name, detect_header, field_for_header, ids_one_edit_apart, normalise_row, parse_address, parse_birth_date,
    parse_building, parse_floor, parse_room, parse_unit, unit_name, CensusRules, Field, HeaderMap, RawRow, RowOutcome,
};
use frontline_domain::date::Date;
use proptest::prelude::*;
use proptest::sample::select;

fn today() -> Date {
    Date::new(2022, 4, 1).unwrap_or(Date::from_days_since_epoch(0))
}

/// Fragments that census cells are made of, to reach deep paths more often than random text does.
const FRAGMENTS: &[&str] = &[
    "张三",
    "3",
    "号楼",
    "栋",
    "#",
    "单元",
    "-",
    "1302",
    "室",
    "十二",
    "合计",
    "无",
    "是",
    "否",
    "外出",
    "3.50602E+17",
    "350602198704123516",
    "11010519491231002X",
    "E12345678",
    "13800138000",
    "+86",
    "１",
    "　",
    " ",
    "护照",
    "身份证",
    "1990-01-02",
    "年",
    "月",
    "日",
    "/",
    "√",
    "(",
    ")",
    "\u{200B}",
    "x",
    "海月花园",
    "0",
    ".0",
    "：",
];

/// A cell: arbitrary text, or a concatenation of census fragments.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), prop::collection::vec(select(FRAGMENTS), 0..6).prop_map(|v| v.concat()),]
}

/// A header map with arbitrary (possibly out-of-range) columns.
fn header_map() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec((0usize..40, select(Field::ALL.to_vec())), 0..30).prop_map(|columns| HeaderMap {
        columns,
        header_row: 0,
        duplicates: Vec::new(),
    })
}

/// The standard header row of a census sheet.
fn standard_map() -> HeaderMap {
    let headers: Vec<String> = [
        "序号",
        "姓名",
        "证件类型",
        "身份证号",
        "手机号",
        "楼栋",
        "单元",
        "房号",
        "住址",
        "出生日期",
        "性别",
        "是否在家",
        "透析",
        "备注",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    detect_header(&[headers], 1).unwrap_or_default()
}

proptest! {
    #[test]
    fn normalise_row_never_panics(map in header_map(), cells in prop::collection::vec(cell(), 0..40)) {
        let _ = normalise_row(&map, RawRow { row_number: 1, cells: &cells }, today(), &CensusRules::default());
        let _ = normalise_row(&standard_map(), RawRow { row_number: 1, cells: &cells }, today(), &CensusRules::default());
    }

    #[test]
    fn refusals_and_people_carry_their_issues(cells in prop::collection::vec(cell(), 0..16)) {
        match normalise_row(&standard_map(), RawRow { row_number: 1, cells: &cells }, today(), &CensusRules::default()) {
            RowOutcome::Refused(issues) => {
                prop_assert!(!issues.is_empty());
                prop_assert!(issues[0].is_refusal());
                prop_assert!(issues[1..].iter().all(|i| !i.is_refusal()));
            }
            RowOutcome::Person(_, issues) => prop_assert!(issues.iter().all(|i| !i.is_refusal())),
            RowOutcome::Blank | RowOutcome::Total => {}
        }
    }

    #[test]
    fn parsers_never_panic(s in cell()) {
        let _ = parse_address(&s);
        let _ = parse_building(&s);
        let _ = parse_unit(&s);
        let _ = parse_room(&s);
        let _ = parse_floor(&s);
        let _ = parse_birth_date(&s, today());
        let _ = field_for_header(&s);
        let _ = ids_one_edit_apart(&s, "11010519491231002X");
    }

    #[test]
    fn detect_header_never_panics(rows in prop::collection::vec(prop::collection::vec(cell(), 0..12), 0..8)) {
        let _ = detect_header(&rows, 5);
    }

    #[test]
    fn building_forms_read_back(n in 1u32..=999) {
        prop_assert_eq!(parse_building(&format!("{n}号楼")), Some(n));
        prop_assert_eq!(parse_building(&format!("{n}栋")), Some(n));
        prop_assert_eq!(parse_building(&format!("{n}#")), Some(n));
        prop_assert_eq!(parse_building(&format!("{n}")), Some(n));
        prop_assert_eq!(parse_building(&building_name(n)), Some(n));
        prop_assert_eq!(parse_unit(&unit_name(n)), Some(n));
    }

    #[test]
    fn full_addresses_read_back(b in 1u32..=999, u in 1u32..=9, floor in 1u32..=99, door in 1u32..=99) {
        let room = format!("{floor}{door:02}");
        let a = parse_address(&format!("{}{}{room}室", building_name(b), unit_name(u)));
        prop_assert_eq!(a.as_ref().map(|a| (a.building, a.unit)), Some((b, Some(u))));
        prop_assert_eq!(a.and_then(|a| a.room).map(|r| (r.floor, r.text)), Some((Some(floor), room.clone())));
        let d = parse_address(&format!("{b}-{u}-{room}"));
        prop_assert_eq!(d.map(|a| (a.building, a.unit)), Some((b, Some(u))));
    }

    #[test]
    fn one_substitution_is_one_edit(pos in 0usize..18, digit in 0u8..10) {
        let a = "11010519491231002X";
        let mut b = a.as_bytes().to_vec();
        b[pos] = b'0' + digit;
        let b = String::from_utf8(b).unwrap_or_default();
        prop_assert_eq!(ids_one_edit_apart(a, &b), a != b);
        prop_assert_eq!(ids_one_edit_apart(&b, a), a != b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn ten_thousand_cells_and_huge_strings(fill in cell(), huge in cell(), at in 0usize..10_000) {
        let mut cells = vec![fill; 10_000];
        cells[at] = huge.repeat(200_000 / huge.len().max(1)).chars().take(200_000).collect();
        let map = standard_map();
        let _ = normalise_row(&map, RawRow { row_number: 1, cells: &cells }, today(), &CensusRules::default());
        let columns: Vec<(usize, Field)> = (0..10_000).map(|i| (i, Field::ALL[i % Field::ALL.len()])).collect();
        let wide = HeaderMap { columns, header_row: 0, duplicates: Vec::new() };
        let _ = normalise_row(&wide, RawRow { row_number: 1, cells: &cells }, today(), &CensusRules::default());
        let _ = detect_header(&[cells.clone(), cells], 2);
    }

    #[test]
    fn huge_single_values(huge in cell()) {
        let big: String = huge.repeat(1 + 1_000_000 / huge.len().max(1));
        let _ = parse_address(&big);
        let _ = parse_building(&big);
        let _ = parse_room(&big);
        let _ = field_for_header(&big);
        let cells: Vec<String> = vec![big.clone(); 14];
        let _ = normalise_row(&standard_map(), RawRow { row_number: 1, cells: &cells }, today(), &CensusRules::default());
    }
}
