//! Unit tests of `ids`: ID numbers, mobile numbers, passport numbers.

use super::*;

fn d(y: i32, m: u32, day: u32) -> Date {
    Date::new(y, m, day).expect("valid test date")
}

/// 17 digits plus their correct check character.
fn with_check(first17: &str) -> String {
    let c = check_char(first17.as_bytes()).expect("17 digits");
    format!("{first17}{c}")
}

fn ok(raw: &str) -> ParsedId {
    IdNumber::parse(raw).unwrap_or_else(|e| panic!("{raw:?} refused: {e}"))
}

fn err(raw: &str) -> IdNumberError {
    match IdNumber::parse(raw) {
        Ok(p) => panic!("{raw:?} accepted as {}", p.id),
        Err(e) => e,
    }
}

#[test]
fn worked_examples() {
    assert_eq!(check_char(b"11010519491231002"), Some('X'));
    assert_eq!(check_char(b"33010619870412351"), Some('6'));
    let a = ok("11010519491231002X");
    assert_eq!(a.id.as_str(), "11010519491231002X");
    assert_eq!(a.id.sex(), Sex::Female);
    assert_eq!(a.id.birth_date(), d(1949, 12, 31));
    assert_eq!(a.id.region(), "110105");
    assert!(a.warnings.is_empty());
    let b = ok("330106198704123516");
    assert_eq!(b.id.sex(), Sex::Male);
    assert_eq!(b.id.birth_date(), d(1987, 4, 12));
    assert!(b.warnings.is_empty());
}

#[test]
fn check_char_needs_17_digits() {
    assert_eq!(check_char(b"1101051949123100"), None);
    assert_eq!(check_char(b"110105194912310021"), None);
    assert_eq!(check_char(b"1101051949123100A"), None);
}

#[test]
fn spreadsheet_damage_is_normalised() {
    let want = "11010519491231002X";
    for raw in [
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        " 110105 19491231 002X ",
        "110105-19491231-002X",
        "110105–19491231—002X",
        "110105－19491231－002X",
        "'11010519491231002X",
        "‘11010519491231002X’",
        "\u{3000}110105\u{a0}19491231002X\t",
        "\u{feff}11010519491231002X",
    ] {
        assert_eq!(ok(raw).id.as_str(), want, "{raw:?}");
    }
}

#[test]
fn fifteen_digits_convert_to_eighteen() {
    let full = IdNumber::from_parts("350602", d(1985, 6, 15), 123);
    let s = full.as_str();
    let old = format!("{}{}{}", &s[..6], &s[8..14], &s[14..17]);
    assert_eq!(old.len(), 15);
    let parsed = ok(&old);
    assert_eq!(parsed.id, full);
    assert_eq!(parsed.warnings, vec![IdWarning::ConvertedFrom15 { original: old.clone() }]);
    assert_eq!(parsed.warnings[0].code(), "converted_from_15");
    // An exact spreadsheet number with ".0" is still the same 15 digits.
    assert_eq!(ok(&format!("{old}.0")).id, full);
    // The old form has no check character, so X is not allowed.
    assert_eq!(err("35060285061512X"), IdNumberError::BadCharacter { position: 15, found: 'X' });
    assert_eq!(err("350602850230123"), IdNumberError::ImpossibleBirthDate { raw: "850230".into() });
}

#[test]
fn wrong_check_character_names_both() {
    let e = err("110105194912310023");
    assert_eq!(e, IdNumberError::BadCheckCharacter { expected: 'X', found: '3' });
    assert_eq!(e.code(), "bad_check_character");
    assert_eq!(e.params(), vec![("expected", "X".to_string()), ("found", "3".to_string())]);
    let msg = e.to_string();
    assert!(msg.contains("'3'") && msg.contains("'X'"), "{msg}");
    assert_eq!(err("330106198704123510"), IdNumberError::BadCheckCharacter { expected: '6', found: '0' });
    assert_eq!(err("33010619870412351X"), IdNumberError::BadCheckCharacter { expected: '6', found: 'X' });
}

#[test]
fn birth_dates() {
    let e = err(&with_check("35060220220229123"));
    assert_eq!(e, IdNumberError::ImpossibleBirthDate { raw: "20220229".into() });
    assert_eq!(e.code(), "impossible_birth_date");
    assert_eq!(e.params(), vec![("raw", "20220229".to_string())]);
    assert_eq!(ok(&with_check("35060220000229123")).id.birth_date(), d(2000, 2, 29));
    assert_eq!(err(&with_check("35060219901301123")), IdNumberError::ImpossibleBirthDate { raw: "19901301".into() });
    assert_eq!(err(&with_check("35060218491231123")), IdNumberError::ImpossibleBirthDate { raw: "18491231".into() });
    assert!(IdNumber::parse(&with_check("35060218500101123")).is_ok());
    // The future is the caller's business.
    assert_eq!(ok(&with_check("35060221000101123")).id.birth_date(), d(2100, 1, 1));
}

#[test]
fn lengths_and_characters() {
    assert_eq!(err(""), IdNumberError::Empty);
    assert_eq!(err("  - '"), IdNumberError::Empty);
    assert_eq!(err("33010619870412351"), IdNumberError::BadLength { len: 17 });
    assert_eq!(err("3301061987041235161"), IdNumberError::BadLength { len: 19 });
    assert_eq!(IdNumberError::BadLength { len: 17 }.params(), vec![("len", "17".to_string())]);
    let e = err("3506021990a1011234");
    assert_eq!(e, IdNumberError::BadCharacter { position: 11, found: 'A' });
    assert_eq!(e.params(), vec![("position", "11".to_string()), ("found", "A".to_string())]);
    assert_eq!(err("张三"), IdNumberError::BadCharacter { position: 1, found: '张' });
    assert_eq!(err("3301061987X4123516"), IdNumberError::BadCharacter { position: 11, found: 'X' });
}

#[test]
fn precision_lost() {
    for raw in [
        "3.50602E+17",
        "3.50602e17",
        "3.50602199001011E+17",
        "350602199001011000.0",
        "350602199001011234.0",
        "３．５０６０２Ｅ＋１７",
    ] {
        assert_eq!(err(raw), IdNumberError::PrecisionLost, "{raw:?}");
    }
    // An 18-digit value rounded by a float: trailing zeros and a failing check.
    let rounded = "350602199001011000";
    assert_ne!(check_char(&rounded.as_bytes()[..17]), Some('0'));
    assert_eq!(err(rounded), IdNumberError::PrecisionLost);
    assert_eq!(IdNumberError::PrecisionLost.code(), "precision_lost");
    assert!(IdNumberError::PrecisionLost.params().is_empty());
}

#[test]
fn unknown_region_is_only_a_warning() {
    let id = IdNumber::from_parts("999999", d(1990, 1, 1), 7);
    let parsed = ok(id.as_str());
    assert_eq!(parsed.id, id);
    assert_eq!(parsed.warnings, vec![IdWarning::UnknownRegion { code: "999999".into() }]);
    assert_eq!(parsed.warnings[0].code(), "unknown_region");
}

#[test]
fn accessors_and_masking() {
    // Find a date whose number ends in "1234" (sequence 123, check 4).
    let id = (0..366)
        .map(|i| d(1990, 1, 1).add_days(i))
        .map(|b| IdNumber::from_parts("350602", b, 123))
        .find(|id| id.as_str().ends_with("1234"))
        .expect("some day of 1990 has check character 4");
    assert_eq!(id.masked(), "350602********1234");
    assert_eq!(id.tail(4), "1234");
    assert_eq!(id.tail(100), id.as_str());
    assert_eq!(id.tail(0), "");
    assert_eq!(id.to_string(), id.as_str());
    assert_eq!(id.sex(), Sex::Male);
    assert_eq!(IdNumber::from_parts("350602", d(1990, 1, 1), 124).sex(), Sex::Female);
    assert_eq!(IdNumber::from_parts("350602", d(1990, 1, 1), 1124).as_str()[14..17], *"124");
}

#[test]
#[should_panic(expected = "6 ASCII digits")]
fn from_parts_panics_on_bad_region() {
    let _ = IdNumber::from_parts("35060", d(1990, 1, 1), 1);
}

#[test]
fn sex_codes() {
    assert_eq!(Sex::Male.code(), "male");
    assert_eq!(Sex::Female.code(), "female");
    assert_eq!(Sex::from_code("female"), Some(Sex::Female));
    assert_eq!(Sex::from_code("Male"), None);
}

#[test]
fn phones() {
    for raw in [
        "13800138000",
        "+8613800138000",
        "+86 138-0013-8000",
        "0086 138 0013 8000",
        "8613800138000",
        "１３８００１３８０００",
        "＋８６ １３８－００１３－８０００",
        "'13800138000",
        "13800138000.0",
    ] {
        let p = Phone::parse(raw).unwrap_or_else(|e| panic!("{raw:?} refused: {e}"));
        assert_eq!(p.as_str(), "13800138000", "{raw:?}");
    }
    let p = Phone::parse("13812345678").expect("valid");
    assert_eq!(p.masked(), "138****5678");
    assert_eq!(p.tail(4), "5678");
    assert_eq!(p.to_string(), "13812345678");
    assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
    assert_eq!(Phone::parse(" - "), Err(PhoneError::Empty));
    assert_eq!(Phone::parse("138001380000"), Err(PhoneError::BadLength { len: 12 }));
    assert_eq!(Phone::parse("1380013800"), Err(PhoneError::BadLength { len: 10 }));
    assert_eq!(Phone::parse("+86"), Err(PhoneError::BadLength { len: 0 }));
    assert_eq!(Phone::parse("12800138000"), Err(PhoneError::BadPrefix));
    assert_eq!(Phone::parse("23800138000"), Err(PhoneError::BadPrefix));
    assert_eq!(Phone::parse("1440012345678"), Err(PhoneError::IotNumber));
    assert_eq!(Phone::parse("+86 1440 0123 45678"), Err(PhoneError::IotNumber));
    assert_eq!(Phone::parse("1450012345678"), Err(PhoneError::BadLength { len: 13 }));
    assert_eq!(Phone::parse("138o0138000"), Err(PhoneError::BadCharacter { found: 'o' }));
    assert_eq!(Phone::parse("1.38001E+10"), Err(PhoneError::BadCharacter { found: '.' }));
    let e = PhoneError::BadLength { len: 12 };
    assert_eq!((e.code(), e.params()), ("bad_length", vec![("len", "12".to_string())]));
    assert_eq!(PhoneError::IotNumber.code(), "iot_number");
    assert_eq!(PhoneError::BadPrefix.code(), "bad_prefix");
    assert_eq!(PhoneError::BadCharacter { found: 'o' }.params(), vec![("found", "o".to_string())]);
}

#[test]
fn passports() {
    let p = PassportNumber::parse(" e1234 5678 ").expect("valid");
    assert_eq!(p.as_str(), "E12345678");
    assert_eq!(p.masked(), "E1*****78");
    assert!(PassportNumber::parse("ＧＡ１２３４５６").is_some());
    assert!(PassportNumber::parse("ABCDEF").is_none());
    assert!(PassportNumber::parse("A123").is_none());
    assert!(PassportNumber::parse("A12345678901234567890").is_none());
    assert!(PassportNumber::parse("E1234/5678").is_none());
    assert!(PassportNumber::parse("").is_none());
}

#[test]
fn normalise_keeps_what_it_does_not_know() {
    assert_eq!(normalise(" ab-ＣＤ’１２\u{3000}"), "abCD12");
    assert_eq!(normalise("＋８６"), "+86");
    assert_eq!(normalise("3.5E+17"), "3.5E+17");
    assert_eq!(normalise("张三"), "张三");
}

proptest::proptest! {
    /// The fast path for plain letters and digits changes nothing.
    #[test]
    fn normalise_upper_is_normalise_then_uppercase(
        raw in "[a-zA-Z0-9 ＡｂＣ１２３\\-–’'\"\u{200B}\u{3000}张三+.]{0,24}"
    ) {
        proptest::prop_assert_eq!(normalise_upper(&raw), normalise(&raw).to_ascii_uppercase());
    }
}

#[test]
fn serde_as_strings() {
    let id = ok("11010519491231002x").id;
    assert_eq!(serde_json::to_string(&id).ok(), Some("\"11010519491231002X\"".to_string()));
    assert_eq!(serde_json::from_str::<IdNumber>("\"11010519491231002x\"").ok(), Some(id));
    assert!(serde_json::from_str::<IdNumber>("\"110105194912310023\"").is_err());
    let phone = Phone::parse("13800138000").expect("valid");
    assert_eq!(serde_json::to_string(&phone).ok(), Some("\"13800138000\"".to_string()));
    assert_eq!(serde_json::from_str::<Phone>("\"+86 13800138000\"").ok(), Some(phone));
    assert!(serde_json::from_str::<Phone>("\"12800138000\"").is_err());
    let passport = PassportNumber::parse("E12345678").expect("valid");
    assert_eq!(serde_json::to_string(&passport).ok(), Some("\"E12345678\"".to_string()));
    assert_eq!(serde_json::from_str::<PassportNumber>("\"E12345678\"").ok(), Some(passport));
    assert_eq!(serde_json::to_string(&Sex::Female).ok(), Some("\"female\"".to_string()));
}
