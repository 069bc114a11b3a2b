//! Tests of row normalisation: blank and totals rows, every refusal and warning, needs, status.

use super::*;
use crate::ids::check_char;
use crate::people::SpecialNeed;

const HEADERS: [&str; 18] = [
    "序号",
    "姓名",
    "证件类型",
    "身份证号",
    "手机号",
    "楼栋",
    "单元",
    "房号",
    "性别",
    "出生日期",
    "是否在家",
    "是否独居老人",
    "孕妇",
    "透析",
    "慢性病",
    "备注",
    "住址",
    "与户主关系",
];
const NAME: usize = 1;
const KIND: usize = 2;
const ID: usize = 3;
const PHONE: usize = 4;
const BUILDING: usize = 5;
const UNIT: usize = 6;
const ROOM: usize = 7;
const SEX: usize = 8;
const BIRTH: usize = 9;
const HOME: usize = 10;
const ALONE: usize = 11;
const PREGNANT: usize = 12;
const DIALYSIS: usize = 13;
const CHRONIC: usize = 14;
const NOTE: usize = 15;
const ADDRESS: usize = 16;

fn today() -> Date {
    Date::new(2022, 4, 1).unwrap_or(Date::from_days_since_epoch(0))
}

fn map() -> HeaderMap {
    let headers: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    detect_header(&[headers], 1).unwrap_or_default()
}

/// A valid ID number for a birth date (region 350602, 芗城区).
fn id(y: i32, m: u32, d: u32, seq: u16) -> String {
    IdNumber::from_parts("350602", Date::new(y, m, d).unwrap_or(today()), seq).as_str().to_string()
}

/// A row with a name, a valid ID and an address, changed by `set`.
fn cells(set: &[(usize, &str)]) -> Vec<String> {
    let mut row = vec![String::new(); HEADERS.len()];
    row[0] = "1".into();
    row[NAME] = "张三".into();
    row[ID] = id(1987, 4, 12, 351);
    row[PHONE] = "13800138000".into();
    row[BUILDING] = "3号楼".into();
    row[UNIT] = "1单元".into();
    row[ROOM] = "1302".into();
    for &(i, v) in set {
        row[i] = v.to_string();
    }
    row
}

fn run_rules(row: &[String], rules: &CensusRules) -> RowOutcome {
    normalise_row(&map(), RawRow { row_number: 7, cells: row }, today(), rules)
}

fn run(row: &[String]) -> RowOutcome {
    run_rules(row, &CensusRules::default())
}

fn accepted(row: &[String]) -> (CensusPerson, Vec<Issue>) {
    match run(row) {
        RowOutcome::Person(p, w) => (p, w),
        other => panic!("expected a person, got {other:?}"),
    }
}

fn codes(issues: &[Issue]) -> Vec<&'static str> {
    issues.iter().map(|i| i.code).collect()
}

/// Asserts the row is refused with `code` first, pointing at column `col` holding `value`.
fn assert_refused(row: &[String], code: &str, col: usize) {
    match run(row) {
        RowOutcome::Refused(issues) => {
            let first = &issues[0];
            assert_eq!(first.code, code, "{issues:?}");
            assert!(first.is_refusal());
            assert_eq!(first.column_index, Some(col));
            assert_eq!(first.column, map().field_at(col));
            assert_eq!(first.value, row[col]);
        }
        other => panic!("expected {code}, got {other:?}"),
    }
}

/// Asserts the row is accepted with exactly the warning `code`, pointing at column `col`.
fn assert_warned(row: &[String], code: &str, col: usize) -> CensusPerson {
    let (p, w) = accepted(row);
    assert_eq!(codes(&w), vec![code], "{w:?}");
    assert!(!w[0].is_refusal());
    assert_eq!(w[0].column_index, Some(col));
    assert_eq!(w[0].column, map().field_at(col));
    assert_eq!(w[0].value, row[col]);
    p
}

#[test]
fn a_clean_row() {
    let (p, w) = accepted(&cells(&[(NOTE, " 租户 "), (17, "户主")]));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(p.name, "张三");
    assert!(matches!(&p.document, Doc::CnId(i) if i.as_str() == id(1987, 4, 12, 351)));
    assert_eq!(p.phone.as_ref().map(|p| p.as_str()), Some("13800138000"));
    assert_eq!((p.building, p.unit), (Some(3), Some(1)));
    assert_eq!(p.room, Some(Room { floor: Some(13), text: "1302".into() }));
    assert_eq!(p.sex, Some(crate::ids::Sex::Male));
    assert_eq!(p.birth_date, Date::new(1987, 4, 12));
    assert!(p.needs.is_empty());
    assert!(!p.away && !p.converted_from_15);
    assert_eq!(p.note.as_deref(), Some("租户"));
    assert_eq!(p.relation.as_deref(), Some("户主"));
}

#[test]
fn blank_rows_are_skipped() {
    let blank = vec![" ".to_string(), "\u{3000}".into(), "\t".into(), String::new()];
    assert_eq!(run(&blank), RowOutcome::Blank);
    assert_eq!(run(&[]), RowOutcome::Blank);
    // Only the serial number, outside the mapped columns.
    assert_eq!(run(&["12".to_string(), " ".into()]), RowOutcome::Blank);
}

#[test]
fn totals_rows_are_skipped() {
    let mut first = vec![String::new(); HEADERS.len()];
    first[0] = "合计".into();
    first[ALONE] = "3".into();
    assert_eq!(run(&first), RowOutcome::Total);
    let mut middle = vec![String::new(); HEADERS.len()];
    middle[PHONE] = "总 计：120人".into();
    assert_eq!(run(&middle), RowOutcome::Total);
    let mut label = vec![String::new(); HEADERS.len()];
    label[0] = "本页".into();
    label[ALONE] = "3".into();
    label[PREGNANT] = "1".into();
    assert_eq!(run(&label), RowOutcome::Total);
    let mut in_name = vec![String::new(); HEADERS.len()];
    in_name[NAME] = "人数".into();
    in_name[ID] = "35".into();
    assert_eq!(run(&in_name), RowOutcome::Total);
    // A person with only numbers beside the name is not a total.
    let mut person = vec![String::new(); HEADERS.len()];
    person[NAME] = "李四".into();
    person[BUILDING] = "3".into();
    person[ROOM] = "502".into();
    assert!(matches!(run(&person), RowOutcome::Person(..)));
    // 合计 in the note does not make a total.
    assert!(matches!(run(&cells(&[(NOTE, "已计入合计")])), RowOutcome::Person(..)));
}

#[test]
fn id_refusals() {
    let good = id(1987, 4, 12, 351);
    let wrong_check = format!("{}{}", &good[..17], if good.ends_with('1') { '2' } else { '1' });
    assert_refused(&cells(&[(ID, &wrong_check)]), "id_invalid_check", ID);
    let first17 = "35060220220229123";
    let impossible = format!("{first17}{}", check_char(first17.as_bytes()).unwrap_or('0'));
    assert_refused(&cells(&[(ID, &impossible)]), "id_impossible_date", ID);
    assert_refused(&cells(&[(ID, "35060219870412351")]), "id_bad_length", ID);
    assert_refused(&cells(&[(ID, "3506021987041235#1")]), "id_bad_character", ID);
    // One stray letter in an 18-character number is a typo, not a passport.
    assert_refused(&cells(&[(ID, "35060219870412O351")]), "id_bad_character", ID);
}

#[test]
fn precision_lost_is_refused_never_guessed() {
    assert_refused(&cells(&[(ID, "3.50602E+17")]), "id_precision_lost", ID);
    assert_refused(&cells(&[(ID, "350602199001011000")]), "id_precision_lost", ID);
}

#[test]
fn refusal_params_come_from_the_id_error() {
    match run(&cells(&[(ID, "35060219870412351")])) {
        RowOutcome::Refused(issues) => assert_eq!(issues[0].params, vec![("len", "17".to_string())]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn refused_rows_keep_their_warnings() {
    match run(&cells(&[(ID, "3.50602E+17"), (PHONE, "12345")])) {
        RowOutcome::Refused(issues) => assert_eq!(codes(&issues), vec!["id_precision_lost", "phone_invalid"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nobody_identifiable_is_refused() {
    assert_refused(&cells(&[(NAME, ""), (ID, "")]), "no_identity", NAME);
    assert_refused(&cells(&[(NAME, "无"), (ID, "/")]), "no_identity", NAME);
}

#[test]
fn passport_rows() {
    let (p, w) = accepted(&cells(&[(ID, "E12345678")]));
    assert!(w.is_empty(), "{w:?}");
    assert!(matches!(&p.document, Doc::Passport(n) if n.as_str() == "E12345678"));
    assert_eq!(p.birth_date, None);
    let (p, _) = accepted(&cells(&[(KIND, "护照"), (ID, "g 1234 5678")]));
    assert!(matches!(&p.document, Doc::Passport(n) if n.as_str() == "G12345678"));
    // Digits-only permit numbers are passports only when the kind says so.
    let (p, _) = accepted(&cells(&[(KIND, "台胞证"), (ID, "01234567")]));
    assert!(matches!(p.document, Doc::Passport(_)));
    assert_refused(&cells(&[(KIND, "护照"), (ID, "护照号丢失")]), "passport_invalid", ID);
}

#[test]
fn name_and_birth_date_without_document() {
    let (p, w) = accepted(&cells(&[(NAME, "王小宝"), (ID, ""), (BIRTH, "2021年3月5日"), (SEX, "女")]));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(p.document, Doc::None);
    assert_eq!(p.birth_date, Date::new(2021, 3, 5));
    assert_eq!(p.sex, Some(crate::ids::Sex::Female));
    // A name alone is enough to keep the person (matched later by name + household).
    let (p, _) = accepted(&cells(&[(ID, "无")]));
    assert_eq!((p.name.as_str(), &p.document), ("张三", &Doc::None));
}

#[test]
fn birth_date_forms() {
    for raw in ["1990-01-02", "1990/1/2", "1990.01.02", "19900102", "1990年1月2日", "1990-01-02 00:00:00", "32875"] {
        let (p, w) = accepted(&cells(&[(ID, ""), (BIRTH, raw)]));
        assert!(w.is_empty(), "{raw}: {w:?}");
        assert_eq!(p.birth_date, Date::new(1990, 1, 2), "{raw}");
    }
}

#[test]
fn warnings_keep_the_person() {
    let p = assert_warned(&cells(&[(PHONE, "1380013800")]), "phone_invalid", PHONE);
    assert_eq!(p.phone, None);
    let p = assert_warned(&cells(&[(BUILDING, "B3")]), "address_unreadable", BUILDING);
    assert_eq!((p.building, p.unit), (None, Some(1)));
    let p = assert_warned(&cells(&[(ROOM, "B1-01")]), "address_unreadable", ROOM);
    assert_eq!(p.room, None);
    assert_warned(&cells(&[(ADDRESS, "海月花园B座")]), "address_unreadable", ADDRESS);
    let p = assert_warned(&cells(&[(NAME, "")]), "name_missing", NAME);
    assert_eq!(p.name, "");
    assert_warned(&cells(&[(NAME, "张\u{1}三")]), "name_invalid", NAME);
    assert_warned(&cells(&[(ID, ""), (BIRTH, "1990-13-01")]), "birth_date_invalid", BIRTH);
    assert_warned(&cells(&[(ID, ""), (BIRTH, "2030-01-01")]), "birth_date_invalid", BIRTH);
    assert_warned(&cells(&[(ID, ""), (SEX, "X")]), "sex_invalid", SEX);
    let unknown = IdNumber::from_parts("990000", Date::new(1987, 4, 12).unwrap_or(today()), 351);
    assert_warned(&cells(&[(ID, unknown.as_str())]), "id_unknown_region", ID);
}

#[test]
fn phone_warning_says_why() {
    let (_, w) = accepted(&cells(&[(PHONE, "0596-1234567")]));
    assert_eq!(w[0].params, vec![("reason", "bad_prefix".to_string())]);
    let (p, w) = accepted(&cells(&[(PHONE, "+86 138 0013 8000 / 13900139000")]));
    assert!(w.is_empty());
    assert_eq!(p.phone.as_ref().map(|p| p.as_str()), Some("13800138000"));
    let (p, w) = accepted(&cells(&[(PHONE, "无")]));
    assert!(w.is_empty() && p.phone.is_none());
}

#[test]
fn fifteen_digit_id_is_converted_and_flagged() {
    let p = assert_warned(&cells(&[(ID, "350602870412351")]), "id_converted_from_15", ID);
    assert!(p.converted_from_15);
    assert!(matches!(&p.document, Doc::CnId(i) if i.as_str() == id(1987, 4, 12, 351)));
}

#[test]
fn combined_address_and_fallbacks() {
    let (p, w) = accepted(&cells(&[(BUILDING, ""), (UNIT, ""), (ROOM, ""), (ADDRESS, "海月花园5栋2单元601室")]));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!((p.compound.as_deref(), p.building, p.unit), (Some("海月花园"), Some(5), Some(2)));
    assert_eq!(p.room.map(|r| r.text), Some("601".to_string()));
    // 3-1-1302 typed into the room column.
    let (p, w) = accepted(&cells(&[(BUILDING, ""), (UNIT, ""), (ROOM, "3-1-1302")]));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!((p.building, p.unit), (Some(3), Some(1)));
    assert_eq!(p.room.map(|r| r.text), Some("1302".to_string()));
}

#[test]
fn yes_like_cells_set_needs() {
    for yes in ["是", "√", "✓", "Y", "yes", "1", "有", "TRUE", "高血压、糖尿病"] {
        let (p, _) = accepted(&cells(&[(CHRONIC, yes)]));
        assert!(p.needs.contains(SpecialNeed::ChronicMedication), "{yes}");
    }
    for no in ["", "否", "无", "N", "0", "×", "不是", "/"] {
        let (p, _) = accepted(&cells(&[(CHRONIC, no)]));
        assert!(p.needs.is_empty(), "{no:?}");
    }
    let (p, _) = accepted(&cells(&[(ALONE, "是"), (PREGNANT, "√"), (DIALYSIS, "有")]));
    let got: Vec<SpecialNeed> = p.needs.iter().collect();
    assert_eq!(got, vec![SpecialNeed::LivingAlone, SpecialNeed::Pregnant, SpecialNeed::Dialysis]);
}

#[test]
fn elderly_is_derived_from_the_birth_date() {
    let (p, _) = accepted(&cells(&[(ID, &id(1942, 4, 1, 12))]));
    assert!(p.needs.contains(SpecialNeed::Elderly));
    let (p, _) = accepted(&cells(&[(ID, &id(1942, 4, 2, 12))]));
    assert!(!p.needs.contains(SpecialNeed::Elderly));
    let rules = CensusRules { elderly_age: 60 };
    match run_rules(&cells(&[(ID, &id(1960, 1, 1, 12))]), &rules) {
        RowOutcome::Person(p, _) => assert!(p.needs.contains(SpecialNeed::Elderly)),
        other => panic!("{other:?}"),
    }
    let (p, _) = accepted(&cells(&[(ID, ""), (BIRTH, "1930-05-06")]));
    assert!(p.needs.contains(SpecialNeed::Elderly));
}

#[test]
fn away_from_status() {
    for (value, away) in [("外出", true), ("不在家", true), ("否", true), ("在家", false), ("是", false), ("", false)]
    {
        let (p, _) = accepted(&cells(&[(HOME, value)]));
        assert_eq!(p.away, away, "{value:?}");
    }
    let headers: Vec<String> = ["姓名", "是否外出"].iter().map(|h| h.to_string()).collect();
    let m = detect_header(&[headers], 1).unwrap_or_default();
    let row = vec!["张三".to_string(), "是".to_string()];
    match normalise_row(&m, RawRow { row_number: 2, cells: &row }, today(), &CensusRules::default()) {
        RowOutcome::Person(p, _) => assert!(p.away),
        other => panic!("{other:?}"),
    }
}

#[test]
fn short_and_huge_rows_do_not_panic() {
    let short = vec!["张三".to_string()];
    assert!(matches!(run(&short), RowOutcome::Refused(_)));
    let mut huge = cells(&[]);
    huge.resize(10_000, "x".repeat(10));
    huge[NAME] = "张".repeat(1_000_000);
    let _ = run(&huge);
}
