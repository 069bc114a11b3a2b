//! Coverage of a round: should-test against sampled, for any group of people.

use serde::{Deserialize, Serialize};

use super::status::PersonStatus;

/// Coverage counts of a group (a household, building, compound or the whole round).
///
/// `expected` is the should-test number: the census minus the exempt, who are counted
/// apart in `exempt`. An exempt person who is sampled after all counts as expected and sampled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Coverage {
    /// People who should be tested (应检).
    pub expected: u64,
    /// Of those, people sampled at least once (已采).
    pub sampled: u64,
    /// People exempt from the round (免采), not in `expected`.
    pub exempt: u64,
}

impl Coverage {
    /// The coverage of a group of people in the given states.
    pub fn of<'a>(statuses: impl IntoIterator<Item = &'a PersonStatus>) -> Coverage {
        let mut c = Coverage::default();
        for s in statuses {
            c.count(s);
        }
        c
    }

    /// Counts one more person in the given state.
    pub fn count(&mut self, status: &PersonStatus) {
        if status.is_exempt() {
            self.exempt = self.exempt.saturating_add(1);
        } else {
            self.expected = self.expected.saturating_add(1);
            if status.counts_as_sampled() {
                self.sampled = self.sampled.saturating_add(1);
            }
        }
    }

    /// People still to be sampled (the missed list): expected − sampled, never below 0.
    pub const fn missed(&self) -> u64 {
        self.expected.saturating_sub(self.sampled)
    }

    /// Sampled / expected in 0..=1; 1 when nobody is expected (nothing left to do).
    pub fn ratio(&self) -> f64 {
        if self.expected == 0 {
            return 1.0;
        }
        // Both counts are far below 2^53, where u64 → f64 is exact.
        (self.sampled as f64 / self.expected as f64).clamp(0.0, 1.0)
    }

    /// The coverage of two disjoint groups together (e.g. buildings into a compound).
    pub const fn merge(self, other: Coverage) -> Coverage {
        Coverage {
            expected: self.expected.saturating_add(other.expected),
            sampled: self.sampled.saturating_add(other.sampled),
            exempt: self.exempt.saturating_add(other.exempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::{ExemptReason, MissReason, TubeCode};

    #[test]
    fn edge_cases() {
        let none = Coverage::default();
        assert_eq!((none.missed(), none.ratio()), (0, 1.0));
        let all_exempt = Coverage { expected: 0, sampled: 0, exempt: 5 };
        assert_eq!(all_exempt.ratio(), 1.0);
        let half = Coverage { expected: 10, sampled: 5, exempt: 1 };
        assert_eq!((half.missed(), half.ratio()), (5, 0.5));
        let odd = Coverage { expected: 3, sampled: 7, exempt: 0 };
        assert_eq!((odd.missed(), odd.ratio()), (0, 1.0));
        let nobody = Coverage { expected: 4, sampled: 0, exempt: 0 };
        assert_eq!((nobody.missed(), nobody.ratio()), (4, 0.0));
        let big = Coverage { expected: u64::MAX, sampled: u64::MAX, exempt: u64::MAX };
        assert_eq!(big.merge(big), big);
        assert_eq!(big.ratio(), 1.0);
    }

    #[test]
    fn merge_adds_disjoint_groups() {
        let a = Coverage { expected: 10, sampled: 4, exempt: 1 };
        let b = Coverage { expected: 5, sampled: 5, exempt: 0 };
        assert_eq!(a.merge(b), Coverage { expected: 15, sampled: 9, exempt: 1 });
        assert_eq!(a.merge(b), b.merge(a));
        assert_eq!(a.merge(Coverage::default()), a);
        assert_eq!(a.merge(b).missed(), a.missed() + b.missed());
    }

    #[test]
    fn counts_states() {
        let tube = TubeCode::parse("ZZ2206130001234").expect("valid");
        let people = [
            PersonStatus::Expected,
            PersonStatus::Sampled { tube: tube.clone() },
            PersonStatus::Cleared,
            PersonStatus::RetestPending,
            PersonStatus::RetestSampled { tube },
            PersonStatus::Confirmed,
            PersonStatus::Missed { reason: MissReason::Refused },
            PersonStatus::Exempt { reason: ExemptReason::Hospitalised },
        ];
        let c = Coverage::of(&people);
        assert_eq!(c, Coverage { expected: 7, sampled: 5, exempt: 1 });
        assert_eq!(c.missed(), 2);
        assert_eq!(c.missed(), people.iter().filter(|s| s.needs_sampling()).count() as u64);
    }

    #[test]
    fn serialises_its_counts() {
        let c = Coverage { expected: 3, sampled: 2, exempt: 1 };
        let json = serde_json::to_string(&c).unwrap_or_default();
        assert_eq!(json, r#"{"expected":3,"sampled":2,"exempt":1}"#);
    }
}
