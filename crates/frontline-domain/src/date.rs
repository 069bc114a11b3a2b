//! Calendar dates without a time zone library.
//!
//! A [`Date`] is a day of the proleptic Gregorian calendar. Conversions to and
//! from a day count use Howard Hinnant's `days_from_civil` / `civil_from_days`
//! algorithms; the instant-to-date conversion takes the UTC offset explicitly,
//! so this module needs no time zone database and does no I/O.

use std::fmt;

/// Milliseconds in a day.
const MS_PER_DAY: i64 = 86_400_000;

/// Day counts are clamped to this magnitude (about 2.7 million years either
/// side of 1970), so every day count maps to a year that fits an `i32`.
const MAX_ABS_DAYS: i64 = 1_000_000_000;

/// A calendar date (year, month, day) with no time and no time zone.
///
/// Ordering is chronological.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Whether `y` is a leap year of the Gregorian calendar.
pub fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The number of days in month `m` (1–12) of year `y`; 0 for a month outside 1–12.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date `year-month-day`, or `None` when no such day exists (e.g. 2022-02-29, month 13).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Both fit in a u8: month <= 12 and day <= 31 were checked above.
        Some(Date { year, month: month as u8, day: day as u8 })
    }

    /// The year (may be zero or negative for the proleptic calendar).
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day); `None` otherwise.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits_value(&b[0..4])?;
        let month = digits_value(&b[5..7])?;
        let day = digits_value(&b[8..10])?;
        Date::new(i32::try_from(year).ok()?, month, day)
    }

    /// The date `days` days after 1970-01-01 (negative: before it).
    ///
    /// Day counts beyond about ±2.7 million years are clamped.
    pub fn from_days_since_epoch(days: i64) -> Date {
        // Howard Hinnant, civil_from_days.
        let z = days.clamp(-MAX_ABS_DAYS, MAX_ABS_DAYS) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // [0, 146096]
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
        let mp = (5 * doy + 2) / 153; // [0, 11]
        let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
        let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            // The clamp above keeps the year well inside i32.
            year: year as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    /// The number of days from 1970-01-01 to this date (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant, days_from_civil.
        let m = i64::from(self.month);
        let d = i64::from(self.day);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400); // [0, 399]
        let mp = if m > 2 { m - 3 } else { m + 9 }; // [0, 11]
        let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
        era * 146_097 + doe - 719_468
    }

    /// The local calendar date at the instant `ms` (milliseconds since the Unix epoch)
    /// in a zone `utc_offset_minutes` ahead of UTC (China: +480).
    pub fn from_unix_ms(ms: i64, utc_offset_minutes: i32) -> Date {
        let local = ms.saturating_add(i64::from(utc_offset_minutes) * 60_000);
        Date::from_days_since_epoch(local.div_euclid(MS_PER_DAY))
    }

    /// Full years completed from this (birth) date to `on` (rounded down, so negative when `on` is earlier).
    ///
    /// Someone born on 29 February completes a year on 1 March in common years
    /// (and on 29 February in leap years).
    pub fn age_on(self, on: Date) -> i32 {
        let years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years - 1
        } else {
            years
        }
    }

    /// The date `days` days later (earlier when negative).
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch().saturating_add(days))
    }
}

/// Parses a local `YYYY-MM-DDTHH:MM` (an HTML `datetime-local` value; a space
/// may stand for the `T`, and `:SS` may follow) in a zone `utc_offset_minutes`
/// ahead of UTC, as milliseconds since the Unix epoch; `None` when malformed.
pub fn parse_local_datetime(s: &str, utc_offset_minutes: i32) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if !(b.len() == 16 || b.len() == 19) || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
        return None;
    }
    let date = Date::parse_iso(&s[..10])?;
    let hour = i64::from(digits_value(&b[11..13])?);
    let minute = i64::from(digits_value(&b[14..16])?);
    let second = if b.len() == 19 {
        if b[16] != b':' {
            return None;
        }
        i64::from(digits_value(&b[17..19])?)
    } else {
        0
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let local = date.days_since_epoch() * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1_000;
    Some(local - i64::from(utc_offset_minutes) * 60_000)
}

/// The value of a run of ASCII digits, or `None` when any byte is not a digit.
fn digits_value(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        struct DateVisitor;
        impl serde::de::Visitor<'_> for DateVisitor {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date written YYYY-MM-DD")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Date, E> {
                Date::parse_iso(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &"a date written YYYY-MM-DD"))
            }
        }
        deserializer.deserialize_str(DateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::new(y, m, day).expect("valid test date")
    }

    #[test]
    fn local_datetimes_are_read_in_the_configured_zone() {
        // 2022-04-01 00:30 in China (UTC+8) is 2022-03-31T16:30:00Z.
        let ms = parse_local_datetime("2022-04-01T00:30", 480).expect("parses");
        assert_eq!(Date::from_unix_ms(ms, 0), d(2022, 3, 31));
        assert_eq!(ms.rem_euclid(MS_PER_DAY), (16 * 60 + 30) * 60_000);
        assert_eq!(parse_local_datetime("2022-04-01 00:30:15", 480), Some(ms + 15_000));
        assert_eq!(parse_local_datetime("2022-04-01T00:30", 0), Some(ms + 480 * 60_000));
        for bad in [
            "",
            "2022-04-01",
            "2022-04-01T24:00",
            "2022-04-01T10:60",
            "2022-02-30T10:00",
            "2022-04-01T1:00",
            "2022-04-01T10:00:0x",
        ] {
            assert_eq!(parse_local_datetime(bad, 480), None, "{bad}");
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap_year(2000));
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2022));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    #[test]
    fn new_refuses_impossible_dates() {
        assert!(Date::new(2022, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2022, 13, 1).is_none());
        assert!(Date::new(2022, 0, 1).is_none());
        assert!(Date::new(2022, 4, 31).is_none());
        assert!(Date::new(2022, 4, 0).is_none());
    }

    #[test]
    fn epoch_conversions() {
        assert_eq!(Date::from_days_since_epoch(0), d(1970, 1, 1));
        assert_eq!(d(1970, 1, 1).days_since_epoch(), 0);
        assert_eq!(d(2000, 3, 1).days_since_epoch(), 11_017);
        assert_eq!(d(1969, 12, 31).days_since_epoch(), -1);
        assert_eq!(Date::from_days_since_epoch(19_083), d(2022, 4, 1));
        assert_eq!(d(2022, 2, 28).add_days(1), d(2022, 3, 1));
        assert_eq!(d(2024, 2, 28).add_days(1), d(2024, 2, 29));
        assert_eq!(d(2024, 1, 1).add_days(-1), d(2023, 12, 31));
    }

    #[test]
    fn extreme_day_counts_do_not_panic() {
        let _ = Date::from_days_since_epoch(i64::MAX);
        let _ = Date::from_days_since_epoch(i64::MIN);
        let _ = d(2022, 1, 1).add_days(i64::MAX);
        let _ = Date::from_unix_ms(i64::MIN, -720);
    }

    #[test]
    fn unix_ms_in_a_zone() {
        // 2022-03-31T16:30:00Z is 2022-04-01 00:30 in China (UTC+8).
        let ms = d(2022, 3, 31).days_since_epoch() * MS_PER_DAY + (16 * 60 + 30) * 60_000;
        assert_eq!(Date::from_unix_ms(ms, 0), d(2022, 3, 31));
        assert_eq!(Date::from_unix_ms(ms, 480), d(2022, 4, 1));
        assert_eq!(Date::from_unix_ms(-1, 0), d(1969, 12, 31));
    }

    #[test]
    fn ages() {
        let b = d(1987, 4, 12);
        assert_eq!(b.age_on(d(2022, 4, 11)), 34);
        assert_eq!(b.age_on(d(2022, 4, 12)), 35);
        assert_eq!(b.age_on(b), 0);
        assert_eq!(b.age_on(d(1987, 4, 11)), -1);
        let leap = d(2000, 2, 29);
        assert_eq!(leap.age_on(d(2023, 2, 28)), 22);
        assert_eq!(leap.age_on(d(2023, 3, 1)), 23);
        assert_eq!(leap.age_on(d(2024, 2, 29)), 24);
    }

    #[test]
    fn iso_format_and_parse() {
        assert_eq!(d(1949, 12, 31).to_string(), "1949-12-31");
        assert_eq!(d(5, 1, 2).to_string(), "0005-01-02");
        assert_eq!(Date::parse_iso("1987-04-12"), Some(d(1987, 4, 12)));
        for bad in ["1987-4-12", "1987-04-12 ", "1987/04/12", "2022-02-29", "1987-13-01", "+987-04-12", ""] {
            assert_eq!(Date::parse_iso(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn serde_as_iso_string() {
        let date = d(2022, 4, 1);
        assert_eq!(serde_json::to_string(&date).ok(), Some("\"2022-04-01\"".to_string()));
        assert_eq!(serde_json::from_str::<Date>("\"2022-04-01\"").ok(), Some(date));
        assert!(serde_json::from_str::<Date>("\"2022-02-29\"").is_err());
        assert!(serde_json::from_str::<Date>("\"2022-4-1\"").is_err());
        assert!(serde_json::from_str::<Date>("20220401").is_err());
    }

    #[test]
    fn ordering_is_chronological() {
        assert!(d(2021, 12, 31) < d(2022, 1, 1));
        assert!(d(2022, 1, 31) < d(2022, 2, 1));
    }
}
