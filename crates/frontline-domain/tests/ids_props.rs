//! Property tests of ID numbers, sampling codes and dates.

use frontline_domain::date::Date;
use frontline_domain::ids::{check_char, IdNumber, PassportNumber, Phone, SamplingCode};
use frontline_domain::regions::all_regions;
use proptest::prelude::*;
use proptest::sample::select;

/// Any code from the region table.
fn region() -> impl Strategy<Value = &'static str> {
    select(all_regions().map(|(code, _)| code).collect::<Vec<_>>())
}

/// Any date from `from` to `to` inclusive.
fn date_between(from: Date, to: Date) -> impl Strategy<Value = Date> {
    (from.days_since_epoch()..=to.days_since_epoch()).prop_map(Date::from_days_since_epoch)
}

/// Any birth date 1900..=2025.
fn birth() -> impl Strategy<Value = Date> {
    date_between(ymd(1900, 1, 1), ymd(2025, 12, 31))
}

fn ymd(y: i32, m: u32, d: u32) -> Date {
    Date::new(y, m, d).expect("valid date")
}

/// A valid ID number from the table's regions.
fn valid_id() -> impl Strategy<Value = IdNumber> {
    (region(), birth(), 0u16..1000).prop_map(|(r, b, s)| IdNumber::from_parts(r, b, s))
}

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

proptest! {
    #[test]
    fn from_parts_round_trips(region in region(), birth in birth(), seq in 0u16..1000) {
        let id = IdNumber::from_parts(region, birth, seq);
        prop_assert_eq!(id.as_str().len(), 18);
        prop_assert_eq!(id.region(), region);
        prop_assert_eq!(id.birth_date(), birth);
        let parsed = IdNumber::parse(id.as_str()).expect("a valid number parses");
        prop_assert_eq!(&parsed.id, &id);
        prop_assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        prop_assert_eq!(check_char(&id.as_str().as_bytes()[..17]), id.as_str().chars().last());
    }

    #[test]
    fn fifteen_digit_form_converts_back(region in region(),
        birth in date_between(ymd(1900, 1, 1), ymd(1999, 12, 31)), seq in 0u16..1000) {
        let id = IdNumber::from_parts(region, birth, seq);
        let s = id.as_str();
        let old = format!("{}{}", &s[..6], &s[8..17]);
        let parsed = IdNumber::parse(&old).expect("the old form parses");
        prop_assert_eq!(parsed.id, id);
        prop_assert_eq!(parsed.warnings.len(), 1);
    }

    #[test]
    fn any_single_substitution_is_refused(id in valid_id(), pos in 0usize..18, new in 0u8..11) {
        let mut bytes = id.as_str().as_bytes().to_vec();
        let replacement = if new == 10 { b'X' } else { b'0' + new };
        prop_assume!(bytes[pos] != replacement);
        bytes[pos] = replacement;
        let changed = String::from_utf8(bytes).expect("ascii");
        prop_assert!(IdNumber::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn adjacent_swaps_are_refused(id in valid_id(), pos in 0usize..16) {
        let mut bytes = id.as_str().as_bytes().to_vec();
        prop_assume!(bytes[pos] != bytes[pos + 1]);
        bytes.swap(pos, pos + 1);
        let changed = String::from_utf8(bytes).expect("ascii");
        prop_assert!(IdNumber::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn sampling_codes_round_trip(id in 1i64..(1 << 40), key in any::<u64>()) {
        let code = SamplingCode::encode(id, key);
        prop_assert_eq!(code.decode(key), id);
        let parsed = SamplingCode::parse(code.as_str()).expect("own codes parse");
        prop_assert_eq!(parsed.decode(key), id);
        let lower = SamplingCode::parse(&code.as_str().to_lowercase()).expect("lowercase parses");
        prop_assert_eq!(lower, code);
    }

    #[test]
    fn sampling_code_single_change_is_caught(id in 1i64..(1 << 40), key in any::<u64>(),
        pos in 0usize..10, new in select(CROCKFORD.to_vec())) {
        let code = SamplingCode::encode(id, key);
        let mut bytes = code.as_str().as_bytes().to_vec();
        prop_assume!(bytes[pos] != new);
        bytes[pos] = new;
        let changed = String::from_utf8(bytes).expect("ascii");
        match SamplingCode::parse(&changed) {
            Err(_) => {}
            Ok(other) => prop_assert_ne!(other.decode(key), id),
        }
        // Stronger: the check character catches every single substitution.
        prop_assert!(SamplingCode::parse(&changed).is_err(), "{} accepted", changed);
    }

    #[test]
    fn day_counts_round_trip(days in -100_000_000i64..100_000_000) {
        let date = Date::from_days_since_epoch(days);
        prop_assert_eq!(date.days_since_epoch(), days);
        prop_assert_eq!(date.add_days(1).days_since_epoch(), days + 1);
        prop_assert!(date < date.add_days(1));
    }

    #[test]
    fn dates_round_trip(y in -10_000i32..10_000, m in 1u32..=12, d in 1u32..=31) {
        if let Some(date) = Date::new(y, m, d) {
            prop_assert_eq!(Date::from_days_since_epoch(date.days_since_epoch()), date);
            if (0..=9999).contains(&y) {
                prop_assert_eq!(Date::parse_iso(&date.to_string()), Some(date));
            }
        }
    }

    #[test]
    fn parsers_never_panic(raw in any::<String>()) {
        let _ = IdNumber::parse(&raw);
        let _ = Phone::parse(&raw);
        let _ = PassportNumber::parse(&raw);
        let _ = SamplingCode::parse(&raw);
    }

    #[test]
    fn parsers_never_panic_on_likely_input(raw in "[0-9xXeE.+ ０-９ｘＸ'-]{0,24}") {
        let _ = IdNumber::parse(&raw);
        let _ = Phone::parse(&raw);
        let _ = PassportNumber::parse(&raw);
        let _ = SamplingCode::parse(&raw);
    }
}
