//! GB/T 2260 administrative division codes, for the ID number's address-code warning.
//!
//! The table (in `regions_data.rs`) holds current and retired county-level
//! codes and prefecture-level codes, because an ID number keeps the address
//! code it was issued with long after the county is merged or renamed. A code
//! missing from the table is never an error, only a warning on the ID number.

#[path = "regions_data.rs"]
mod data;

use data::REGIONS;

/// Finds the table index of a 6-digit code.
fn lookup(code: &str) -> Option<usize> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    REGIONS.binary_search_by(|(c, _)| (*c).cmp(code)).ok()
}

/// Whether `code` (6 ASCII digits) is a known county- or prefecture-level code, current or retired.
pub fn region_known(code: &str) -> bool {
    lookup(code).is_some()
}

/// The full name of a known code, e.g. "福建省漳州市芗城区" for "350602".
pub fn region_name(code: &str) -> Option<&'static str> {
    lookup(code).map(|i| REGIONS[i].1)
}

/// Every known code with its full name, sorted by code (for generators and tests).
pub fn all_regions() -> impl ExactSizeIterator<Item = (&'static str, &'static str)> + Clone {
    REGIONS.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        assert!(REGIONS.len() > 3_000);
        for pair in REGIONS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} !< {}", pair[0].0, pair[1].0);
        }
        for (code, name) in REGIONS {
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            assert!(!code.ends_with("0000") || matches!(*code, "810000" | "820000" | "830000"));
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn zhangzhou_current_and_retired() {
        for code in [
            "350602", "350603", "350604", "350605", "350622", "350623", "350624", "350625", "350626", "350627",
            "350628", "350629", "350681",
        ] {
            assert!(region_known(code), "{code}");
        }
        assert_eq!(region_name("350602"), Some("福建省漳州市芗城区"));
        assert_eq!(region_name("350681"), Some("福建省漳州市龙海市"));
        assert_eq!(region_name("350605"), Some("福建省漳州市长泰区"));
    }

    #[test]
    fn other_known_codes() {
        assert_eq!(region_name("110105"), Some("北京市朝阳区"));
        assert!(region_known("110103")); // 崇文区, retired 2010
        assert!(region_known("330106"));
        assert!(region_known("441900")); // 东莞市, no county level
        assert!(region_known("830000"));
    }

    #[test]
    fn unknown_and_malformed_codes() {
        for code in ["999999", "350699", "110000", "", "35060", "3506021", "35060a", "３５０６０２"] {
            assert!(!region_known(code), "{code}");
            assert_eq!(region_name(code), None);
        }
    }

    #[test]
    fn all_regions_matches_table() {
        assert_eq!(all_regions().len(), REGIONS.len());
        assert!(all_regions().all(|(c, _)| region_known(c)));
    }
}
