//! People: residents' special needs (特殊群体) and the validation of a new resident.

use serde::{Deserialize, Serialize};

/// One kind of special need (特殊需求). Stored as a bit in [`SpecialNeeds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialNeed {
    /// 独居 — lives alone.
    LivingAlone,
    /// 孕妇 — pregnant.
    Pregnant,
    /// 透析 — on dialysis.
    Dialysis,
    /// 化疗 — on chemotherapy.
    Chemotherapy,
    /// 残疾 — disabled.
    Disabled,
    /// 卧床 — bedridden.
    Bedridden,
    /// 慢病用药 — needs chronic medication.
    ChronicMedication,
    /// 婴幼儿 — infant (also derived from the birth date).
    Infant,
    /// 高龄 — very old (also derived from the birth date, threshold in config).
    Elderly,
}

impl SpecialNeed {
    /// Every kind, in display order.
    pub const ALL: [SpecialNeed; 9] = [
        SpecialNeed::Elderly,
        SpecialNeed::LivingAlone,
        SpecialNeed::Pregnant,
        SpecialNeed::Dialysis,
        SpecialNeed::Chemotherapy,
        SpecialNeed::Disabled,
        SpecialNeed::Bedridden,
        SpecialNeed::ChronicMedication,
        SpecialNeed::Infant,
    ];

    /// The bit this need occupies in the stored mask.
    pub const fn bit(self) -> i64 {
        1 << (self as u32)
    }

    /// Stable snake_case code, used in the API, the database and the catalogue.
    pub const fn code(self) -> &'static str {
        match self {
            SpecialNeed::LivingAlone => "living_alone",
            SpecialNeed::Pregnant => "pregnant",
            SpecialNeed::Dialysis => "dialysis",
            SpecialNeed::Chemotherapy => "chemotherapy",
            SpecialNeed::Disabled => "disabled",
            SpecialNeed::Bedridden => "bedridden",
            SpecialNeed::ChronicMedication => "chronic_medication",
            SpecialNeed::Infant => "infant",
            SpecialNeed::Elderly => "elderly",
        }
    }

    /// Parses a code produced by [`SpecialNeed::code`].
    pub fn from_code(code: &str) -> Option<SpecialNeed> {
        SpecialNeed::ALL.into_iter().find(|n| n.code() == code)
    }
}

/// A set of special needs, stored as a bit mask in one integer column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SpecialNeeds(i64);

impl SpecialNeeds {
    /// The empty set.
    pub const NONE: SpecialNeeds = SpecialNeeds(0);

    /// Rebuilds a set from its stored mask; unknown bits are dropped.
    pub fn from_bits(bits: i64) -> SpecialNeeds {
        let known = SpecialNeed::ALL.iter().fold(0, |acc, n| acc | n.bit());
        SpecialNeeds(bits & known)
    }

    /// The stored mask.
    pub const fn bits(self) -> i64 {
        self.0
    }

    /// Whether the set holds `need`.
    pub const fn contains(self, need: SpecialNeed) -> bool {
        self.0 & need.bit() != 0
    }

    /// Adds `need`.
    pub fn insert(&mut self, need: SpecialNeed) {
        self.0 |= need.bit();
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The needs in display order.
    pub fn iter(self) -> impl Iterator<Item = SpecialNeed> {
        SpecialNeed::ALL.into_iter().filter(move |n| self.contains(*n))
    }
}

impl FromIterator<SpecialNeed> for SpecialNeeds {
    fn from_iter<T: IntoIterator<Item = SpecialNeed>>(iter: T) -> Self {
        let mut set = SpecialNeeds::NONE;
        for n in iter {
            set.insert(n);
        }
        set
    }
}

impl Serialize for SpecialNeeds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for SpecialNeeds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<SpecialNeed>::deserialize(d)?;
        Ok(list.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_distinct_and_round_trip() {
        let all: SpecialNeeds = SpecialNeed::ALL.into_iter().collect();
        assert_eq!(all.iter().count(), SpecialNeed::ALL.len());
        assert_eq!(SpecialNeeds::from_bits(all.bits()), all);
        for n in SpecialNeed::ALL {
            assert_eq!(SpecialNeed::from_code(n.code()), Some(n));
        }
    }

    #[test]
    fn unknown_bits_are_dropped() {
        assert!(SpecialNeeds::from_bits(1 << 40).is_empty());
    }

    #[test]
    fn serialises_as_codes() {
        let s: SpecialNeeds = [SpecialNeed::Dialysis, SpecialNeed::Elderly].into_iter().collect();
        assert_eq!(serde_json::to_string(&s).unwrap_or_default(), r#"["elderly","dialysis"]"#);
    }
}
