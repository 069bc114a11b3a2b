//! Unique ID numbers across a synthetic district.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::date::Date;
use crate::ids::{IdNumber, Sex};
use crate::rng::mix;

/// How many days a birth date may move back when every sequence of a day is taken.
const MAX_DAY_SHIFTS: i64 = 36_500;

/// Hands out ID numbers that are unique across the whole district.
///
/// It remembers every (region, birth date, sequence) handed out; on a
/// collision it moves to the next free sequence of the right sex parity, and
/// when a whole day is taken, to the day before.
#[derive(Clone, Debug, Default)]
pub struct IdAllocator {
    used: HashSet<u64, BuildHasherDefault<KeyHasher>>,
}

impl IdAllocator {
    /// An allocator that has handed out nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of ID numbers handed out.
    pub fn len(&self) -> usize {
        self.used.len()
    }

    /// Whether nothing has been handed out yet.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// A fresh ID number for `region` (6 digits), `birth` and `sex`, trying sequence `hint` first.
    ///
    /// The sequence is kept odd for men and even for women, and `000` is never
    /// used. The birth date moves back a day only if all 500 (or 499) sequences
    /// of the day are taken. A `region` that is not 6 ASCII digits is replaced
    /// by `350681`.
    pub fn allocate(&mut self, region: &str, birth: Date, sex: Sex, hint: u16) -> IdNumber {
        let region = if region.len() == 6 && region.bytes().all(|b| b.is_ascii_digit()) { region } else { "350681" };
        let region_num = region.bytes().fold(0_u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        let parity = match sex {
            Sex::Male => 1,
            Sex::Female => 0,
        };
        let start = ((hint % 1000) & !1) | parity;
        let mut day = birth;
        for _ in 0..MAX_DAY_SHIFTS {
            let days = day.days_since_epoch();
            for k in 0..500_u16 {
                let seq = (start + 2 * k) % 1000;
                if seq == 0 {
                    continue;
                }
                if self.used.insert(pack(region_num, days, seq)) {
                    return IdNumber::from_parts(region, day, seq);
                }
            }
            day = day.add_days(-1);
        }
        // Unreachable in practice (tens of millions of numbers per region).
        IdNumber::from_parts(region, birth, start.max(1))
    }
}

/// Packs (region, day, sequence) into one key: 20 + 24 + 10 bits.
fn pack(region: u64, days: i64, seq: u16) -> u64 {
    let day_bits = (days.wrapping_add(1 << 23) as u64) & 0xFF_FFFF;
    (region << 34) | (day_bits << 10) | u64::from(seq)
}

/// A fast hasher for the already well-spread `u64` keys (std's SipHash is slower).
#[derive(Clone, Copy, Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> Date {
        Date::new(y, m, d).unwrap_or(Date::from_days_since_epoch(0))
    }

    #[test]
    fn collisions_move_to_the_next_sequence_of_the_same_parity() {
        let mut ids = IdAllocator::new();
        let b = day(1985, 6, 1);
        let a = ids.allocate("350602", b, Sex::Male, 37);
        let c = ids.allocate("350602", b, Sex::Male, 37);
        assert_eq!(&a.as_str()[14..17], "037");
        assert_eq!(&c.as_str()[14..17], "039");
        let f = ids.allocate("350602", b, Sex::Female, 37);
        assert_eq!(&f.as_str()[14..17], "036");
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn a_full_day_moves_back_a_day_and_bad_regions_are_replaced() {
        let mut ids = IdAllocator::new();
        let b = day(2000, 1, 1);
        let all: HashSet<String> =
            (0..499).map(|i| ids.allocate("350203", b, Sex::Female, i * 7).as_str().to_string()).collect();
        assert_eq!(all.len(), 499);
        assert!(all.iter().all(|id| &id[6..14] == "20000101" && &id[14..17] != "000"));
        let last = ids.allocate("350203", b, Sex::Female, 0);
        assert_eq!(last.birth_date(), day(1999, 12, 31));
        assert!(ids.allocate("x", b, Sex::Male, 1).as_str().starts_with("350681"));
        assert!(IdNumber::parse(last.as_str()).is_ok());
    }
}
