//! Places: district → community → compound → building → unit → household, and
//! the zone level (封控区 / 管控区 / 防范区) of each building.

use serde::{Deserialize, Serialize};

/// A building's zone level. Names are configurable; these are the 2022 national ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneLevel {
    /// 封控区 — sealed: nobody leaves home, every service comes to the door.
    Sealed,
    /// 管控区 — controlled: nobody leaves the area.
    Controlled,
    /// 防范区 — precaution: social controls.
    Precaution,
}

impl ZoneLevel {
    /// Every level, strictest first.
    pub const ALL: [ZoneLevel; 3] = [ZoneLevel::Sealed, ZoneLevel::Controlled, ZoneLevel::Precaution];

    /// Stable snake_case code.
    pub const fn code(self) -> &'static str {
        match self {
            ZoneLevel::Sealed => "sealed",
            ZoneLevel::Controlled => "controlled",
            ZoneLevel::Precaution => "precaution",
        }
    }

    /// Parses a code produced by [`ZoneLevel::code`].
    pub fn from_code(code: &str) -> Option<ZoneLevel> {
        ZoneLevel::ALL.into_iter().find(|z| z.code() == code)
    }
}

/// A place's display name must be non-empty, trimmed and at most this long.
pub const MAX_NAME_CHARS: usize = 100;

/// Trims a name and checks its length; `None` when it is empty or too long.
pub fn clean_name(raw: &str) -> Option<String> {
    let t = raw.trim();
    let n = t.chars().count();
    (n > 0 && n <= MAX_NAME_CHARS && !t.chars().any(char::is_control)).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_codes_round_trip() {
        for z in ZoneLevel::ALL {
            assert_eq!(ZoneLevel::from_code(z.code()), Some(z));
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  张三 ").as_deref(), Some("张三"));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name(&"长".repeat(101)), None);
        assert_eq!(clean_name("a\u{0}b"), None);
    }
}
