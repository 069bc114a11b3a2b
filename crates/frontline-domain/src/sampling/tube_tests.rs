//! Unit tests of tube codes and of adding members to tubes.

use super::*;

#[test]
fn parses_supplier_codes() {
    let nines = "9".repeat(32);
    for (raw, canonical) in [
        ("ZZ2206130001234", "ZZ2206130001234"),
        ("2206130001234", "2206130001234"),
        ("zz2206130001234", "ZZ2206130001234"),
        (" ZZ-220613-0001234 ", "ZZ2206130001234"),
        ("ＺＺ２２０６１３０００１２３４", "ZZ2206130001234"),
        ("'2206130001234", "2206130001234"),
        ("ABC123", "ABC123"),
        (nines.as_str(), nines.as_str()),
    ] {
        let code = TubeCode::parse(raw).expect(raw);
        assert_eq!(code.as_str(), canonical);
        assert_eq!(code.to_string(), canonical);
        assert_eq!(TubeCode::parse(code.as_str()), Ok(code));
    }
}

#[test]
fn refuses_bad_codes() {
    assert_eq!(TubeCode::parse(""), Err(TubeCodeError::Empty));
    assert_eq!(TubeCode::parse(" - "), Err(TubeCodeError::Empty));
    assert_eq!(TubeCode::parse("ZZ22061.3"), Err(TubeCodeError::BadCharacter { position: 8, found: '.' }));
    assert_eq!(TubeCode::parse("管2206130001"), Err(TubeCodeError::BadCharacter { position: 1, found: '管' }));
    assert_eq!(TubeCode::parse("12345"), Err(TubeCodeError::BadLength { len: 5 }));
    assert_eq!(TubeCode::parse(&"1".repeat(33)), Err(TubeCodeError::BadLength { len: 33 }));
    // Spreadsheet damage is refused, not repaired.
    assert_eq!(TubeCode::parse("2.20613E+12").map_err(|e| e.code()), Err("bad_character"));
}

#[test]
fn refuses_a_resident_code_in_the_tube_field() {
    let resident = SamplingCode::encode(42, 7);
    assert_eq!(TubeCode::parse(resident.as_str()), Err(TubeCodeError::IsResidentCode));
    assert_eq!(TubeCode::parse(&resident.as_str().to_ascii_lowercase()), Err(TubeCodeError::IsResidentCode));
    let (head, tail) = resident.as_str().split_at(4);
    assert_eq!(TubeCode::parse(&format!(" {head}-{}", tail.to_ascii_lowercase())), Err(TubeCodeError::IsResidentCode));
    // Same shape, wrong check character: not a resident code, a tube code.
    let mut other = resident.as_str().to_string();
    let last = if other.ends_with('0') { "2" } else { "0" };
    other.replace_range(9.., last);
    assert!(SamplingCode::parse(&other).is_err());
    assert!(TubeCode::parse(&other).is_ok());
}

#[test]
fn error_codes_and_params() {
    let cases = [
        (TubeCodeError::Empty, "empty", vec![]),
        (
            TubeCodeError::BadCharacter { position: 3, found: '#' },
            "bad_character",
            vec![("position", "3".to_string()), ("found", "#".to_string())],
        ),
        (TubeCodeError::BadLength { len: 40 }, "bad_length", vec![("len", "40".to_string())]),
        (TubeCodeError::IsResidentCode, "is_resident_code", vec![]),
    ];
    for (err, code, params) in cases {
        assert_eq!(err.code(), code);
        assert_eq!(err.params(), params);
    }
}

#[test]
fn serde_as_string() {
    let code = TubeCode::parse("ZZ2206130001234").expect("valid");
    let json = serde_json::to_string(&code).unwrap_or_default();
    assert_eq!(json, "\"ZZ2206130001234\"");
    assert_eq!(serde_json::from_str::<TubeCode>(&json).ok(), Some(code));
    assert!(serde_json::from_str::<TubeCode>("\"12\"").is_err());
}

#[test]
fn refusal_codes_are_stable() {
    let codes: Vec<_> = ScanRefusal::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            "unknown_code",
            "out_of_scope",
            "tube_sealed",
            "tube_other_round",
            "tube_reused",
            "tube_full",
            "already_in_tube",
            "round_closed",
            "malformed_code",
            "outside_assignment"
        ]
    );
    for r in ScanRefusal::ALL {
        assert_eq!(ScanRefusal::from_code(r.code()), Some(r));
    }
    assert_eq!(ScanRefusal::from_code("accepted"), None);
}

fn state(round: i64, pool_size: u32, members: u32, sealed: bool) -> TubeState {
    TubeState { round, pool_size, members, sealed }
}

#[test]
fn opening_and_filling_tubes() {
    assert_eq!(check_add_member(None, 7, 10), Ok(TubeAction::Open { now_full: false }));
    assert_eq!(check_add_member(None, 7, 1), Ok(TubeAction::Open { now_full: true }));
    assert_eq!(check_add_member(None, 7, 0), Ok(TubeAction::Open { now_full: true }));
    assert_eq!(check_add_member(Some(&state(7, 10, 1, false)), 7, 10), Ok(TubeAction::Add { now_full: false }));
    let ninth = check_add_member(Some(&state(7, 10, 9, false)), 7, 10);
    assert_eq!(ninth, Ok(TubeAction::Add { now_full: true }));
    assert!(ninth.is_ok_and(TubeAction::now_full));
    // The tube's own size counts, not the round's: a single tube in a 10-in-1 round.
    assert_eq!(check_add_member(Some(&state(7, 1, 1, false)), 7, 10), Err(ScanRefusal::TubeFull));
}

#[test]
fn refusals() {
    assert_eq!(check_add_member(Some(&state(7, 10, 10, true)), 7, 10), Err(ScanRefusal::TubeFull));
    assert_eq!(check_add_member(Some(&state(7, 10, 10, false)), 7, 10), Err(ScanRefusal::TubeFull));
    assert_eq!(check_add_member(Some(&state(7, 10, 4, true)), 7, 10), Err(ScanRefusal::TubeSealed));
    assert_eq!(check_add_member(Some(&state(6, 10, 4, false)), 7, 10), Err(ScanRefusal::TubeReusedFromEarlierRound));
    assert_eq!(check_add_member(Some(&state(8, 10, 4, false)), 7, 10), Err(ScanRefusal::TubeFromAnotherRound));
    // The round is checked before the tube's fill.
    assert_eq!(check_add_member(Some(&state(6, 10, 10, true)), 7, 10), Err(ScanRefusal::TubeReusedFromEarlierRound));
    assert_eq!(check_add_member(Some(&state(7, 0, 0, false)), 7, 10), Ok(TubeAction::Add { now_full: true }));
    assert_eq!(check_add_member(Some(&state(7, 0, 1, false)), 7, 10), Err(ScanRefusal::TubeFull));
    assert_eq!(
        check_add_member(Some(&state(7, u32::MAX, u32::MAX - 1, false)), 7, 10),
        Ok(TubeAction::Add { now_full: true })
    );
}

#[test]
fn scan_keys_sort_by_time() {
    use super::scan_key;
    // Later keys sort after earlier ones, across digit-count boundaries and whatever the random part.
    let times = [0_i64, 1, 15, 16, 255, 256, 1_669_766_400_000, 1_669_766_400_001, 0xffff_ffff_ffff];
    let keys: Vec<String> =
        times.iter().enumerate().map(|(i, t)| scan_key(*t, if i % 2 == 0 { u64::MAX } else { 0 })).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(keys.iter().all(|k| k.len() == keys[0].len()), "fixed width: {keys:?}");
    // The same millisecond: told apart by the random part.
    assert_ne!(scan_key(5, 1), scan_key(5, 2));
    // Out-of-range times are clamped rather than widening the key.
    assert_eq!(scan_key(-3, 7).len(), keys[0].len());
    assert_eq!(scan_key(i64::MAX, 7), scan_key(0xffff_ffff_ffff, 7));
}
