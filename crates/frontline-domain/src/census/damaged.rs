//! What survives of an ID number that a spreadsheet stored as a number: a
//! float keeps about 15 significant digits, so an 18-digit number loses its
//! last ones (`110105194912310023` becomes `1.10105194912310E+17` or
//! `110105194912310000`). The region and birth date — the first 14 digits —
//! survive a number cell; a sheet saved as CSV keeps only what the cell showed
//! (`3.50681E+17`: six significant digits), and the region — the first six —
//! survives that. With the name, they can tie such a row to one resident.

use super::text::{person_name, NameCell};
use crate::date::Date;
use crate::ids::normalise_upper;

/// The leading digits of an 18-digit ID number that identify region and birth date.
pub const SURVIVING_DIGITS: usize = 14;

/// The leading digits of an 18-digit ID number that identify the region.
pub const REGION_DIGITS: usize = 6;

/// The first [`SURVIVING_DIGITS`] digits of an ID number whose last digits a
/// spreadsheet destroyed, when they survived and look like a region and a
/// possible birth date; else its first [`REGION_DIGITS`] digits when at least
/// those survived (the last digit shown is rounded, but the seventh digit is a
/// birth year's first, 1 or 2: the region is never rounded up); `None`
/// otherwise (too few digits kept, or not a number).
pub fn surviving_id_prefix(raw: &str) -> Option<String> {
    let s = normalise_upper(raw);
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let kept: String = match s.split_once('E') {
        Some((mantissa, exponent)) => {
            let exponent: usize = exponent.strip_prefix('+').unwrap_or(exponent).parse().ok()?;
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            if !digits(int) || !(frac.is_empty() || digits(frac)) || int.starts_with('0') {
                return None;
            }
            // The number has int.len() + exponent digits: an ID number has 18.
            if int.len() + exponent != 18 {
                return None;
            }
            format!("{int}{frac}")
        }
        None => {
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            if !digits(int) || !(frac.is_empty() || digits(frac)) || int.len() != 18 {
                return None;
            }
            int.to_string()
        }
    };
    if kept.len() < REGION_DIGITS || kept.starts_with('0') {
        return None;
    }
    if kept.len() < SURVIVING_DIGITS {
        return Some(kept[..REGION_DIGITS].to_string());
    }
    let prefix = &kept[..SURVIVING_DIGITS];
    let num = |r: std::ops::Range<usize>| prefix[r].parse::<u32>().ok();
    let year = i32::try_from(num(6..10)?).ok()?;
    if year < 1850 {
        return None;
    }
    Date::new(year, num(10..12)?, num(12..14)?)?;
    Some(prefix.to_string())
}

/// A name cell as the census keeps names (spaces folded), to compare a refused
/// row's name with residents' names; `None` when it holds no name.
pub fn census_name(raw: &str) -> Option<String> {
    match person_name(raw) {
        NameCell::Name(n) => Some(n),
        NameCell::Missing | NameCell::Invalid => None,
    }
}

#[cfg(test)]
mod tests {
    use super::surviving_id_prefix;

    #[test]
    fn region_and_birth_date_survive_a_number_cell() {
        for raw in ["1.10105194912310E+17", "1.1010519491231E+17", "110105194912310000", "110105194912310000.0"] {
            assert_eq!(surviving_id_prefix(raw).as_deref(), Some("11010519491231"), "{raw}");
        }
    }

    #[test]
    fn a_cell_showing_six_digits_keeps_the_region() {
        for raw in ["1.10105E+17", "1.101052E+17", "1.1010519E+17", "1.101051949123E+17"] {
            assert_eq!(surviving_id_prefix(raw).as_deref(), Some("110105"), "{raw}");
        }
    }

    #[test]
    fn too_few_digits_or_no_date_tie_nothing() {
        for raw in ["1.1010E+17", "1.10105194912310E+16", "110105199913310000", "abc", "", "11010519491231"] {
            assert_eq!(surviving_id_prefix(raw), None, "{raw}");
        }
    }
}
