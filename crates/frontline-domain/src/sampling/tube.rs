//! Tubes: the barcode parser, and whether a scan may add one more person to a tube.

use std::fmt;

use crate::ids::{normalise_upper, SamplingCode};

/// The shortest accepted tube barcode, in characters.
const MIN_LEN: usize = 6;
/// The longest accepted tube barcode, in characters.
const MAX_LEN: usize = 32;

/// A tube's barcode as printed by the supplier, e.g. "ZZ2206130001234" or "2206130001234".
///
/// Parsing runs [`normalise_upper`], so spaces, dashes and quotes are dropped: a code printed in
/// groups ("ZZ-220613-0001234") and the same code without them are one tube. Letters are
/// uppercased. What remains must be 6 to 32 ASCII letters and digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TubeCode(String);

/// Why a tube barcode was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TubeCodeError {
    /// Nothing was scanned or typed.
    #[error("the tube code is empty")]
    Empty,
    /// A character other than an ASCII letter or digit.
    #[error("character {position} of the tube code is '{found}'; only letters and digits are allowed")]
    BadCharacter {
        /// 1-based position in the normalised code.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Fewer than 6 or more than 32 characters.
    #[error("the tube code has {len} characters; it must have 6 to 32")]
    BadLength {
        /// The number of characters after normalisation.
        len: usize,
    },
    /// The value is a resident's sampling code: the person's code went into the tube field.
    #[error("this is a resident's sampling code, not a tube code; scan the tube's barcode first")]
    IsResidentCode,
}

impl TubeCodeError {
    /// The stable code: "empty", "bad_character", "bad_length" or "is_resident_code".
    pub fn code(&self) -> &'static str {
        match self {
            TubeCodeError::Empty => "empty",
            TubeCodeError::BadCharacter { .. } => "bad_character",
            TubeCodeError::BadLength { .. } => "bad_length",
            TubeCodeError::IsResidentCode => "is_resident_code",
        }
    }

    /// The parameters for a translated message: `position` and `found`, or `len`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            TubeCodeError::Empty | TubeCodeError::IsResidentCode => Vec::new(),
            TubeCodeError::BadCharacter { position, found } => {
                vec![("position", position.to_string()), ("found", found.to_string())]
            }
            TubeCodeError::BadLength { len } => vec![("len", len.to_string())],
        }
    }
}

impl TubeCode {
    /// Parses a scanned or typed tube barcode (normalised, uppercased, 6–32 letters and digits).
    ///
    /// A value that parses as a resident's [`SamplingCode`] is refused with
    /// [`TubeCodeError::IsResidentCode`], so a sampler who scans a person's QR code into the
    /// tube field is told at once. A supplier code that happens to have that shape ("R" + 9
    /// Crockford characters with a matching check character, about 1 in 32 of such shapes)
    /// is refused too; suppliers' codes do not use it.
    pub fn parse(raw: &str) -> Result<TubeCode, TubeCodeError> {
        let s = normalise_upper(raw);
        if s.is_empty() {
            return Err(TubeCodeError::Empty);
        }
        if let Some((i, c)) = s.chars().enumerate().find(|&(_, c)| !c.is_ascii_alphanumeric()) {
            return Err(TubeCodeError::BadCharacter { position: i + 1, found: c });
        }
        // Only ASCII remains, so byte length = character count.
        let len = s.len();
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(TubeCodeError::BadLength { len });
        }
        if SamplingCode::is_code(&s) {
            return Err(TubeCodeError::IsResidentCode);
        }
        Ok(TubeCode(s))
    }

    /// The canonical code: uppercase letters and digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TubeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for TubeCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TubeCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TubeCode, D::Error> {
        let s = String::deserialize(deserializer)?;
        TubeCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a scan was refused by the scan API; each has a stable snake_case code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanRefusal {
    /// The resident code is well formed but belongs to nobody.
    UnknownCode,
    /// The resident lives outside the round's scope (compounds and buildings).
    OutOfScope,
    /// The tube was sealed early by the sampler, before it was full.
    TubeSealed,
    /// The tube belongs to another (later or concurrent) round.
    TubeFromAnotherRound,
    /// The tube code was used in an earlier round: a duplicate or a reused barcode.
    TubeReusedFromEarlierRound,
    /// The tube already holds as many people as its pool size.
    TubeFull,
    /// The person is already in another tube of this round.
    AlreadyInAnotherTube,
    /// The round is closed to new scans.
    RoundClosed,
    /// The resident or tube code cannot be read.
    MalformedCode,
    /// The resident lives in a building the scanning account is not assigned to.
    OutsideAssignment,
}

impl ScanRefusal {
    /// Every refusal, in declaration order.
    pub const ALL: [ScanRefusal; 10] = [
        ScanRefusal::UnknownCode,
        ScanRefusal::OutOfScope,
        ScanRefusal::TubeSealed,
        ScanRefusal::TubeFromAnotherRound,
        ScanRefusal::TubeReusedFromEarlierRound,
        ScanRefusal::TubeFull,
        ScanRefusal::AlreadyInAnotherTube,
        ScanRefusal::RoundClosed,
        ScanRefusal::MalformedCode,
        ScanRefusal::OutsideAssignment,
    ];

    /// The stable code, e.g. "tube_sealed", used as a scan's `status` in the API.
    pub const fn code(self) -> &'static str {
        match self {
            ScanRefusal::UnknownCode => "unknown_code",
            ScanRefusal::OutOfScope => "out_of_scope",
            ScanRefusal::TubeSealed => "tube_sealed",
            ScanRefusal::TubeFromAnotherRound => "tube_other_round",
            ScanRefusal::TubeReusedFromEarlierRound => "tube_reused",
            ScanRefusal::TubeFull => "tube_full",
            ScanRefusal::AlreadyInAnotherTube => "already_in_tube",
            ScanRefusal::RoundClosed => "round_closed",
            ScanRefusal::MalformedCode => "malformed_code",
            ScanRefusal::OutsideAssignment => "outside_assignment",
        }
    }

    /// The refusal for a code produced by [`ScanRefusal::code`]; `None` for anything else.
    pub fn from_code(code: &str) -> Option<ScanRefusal> {
        ScanRefusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What the store knows of a tube when a member is scanned into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TubeState {
    /// The round the tube was opened in (round ids grow with time).
    pub round: i64,
    /// How many people the tube takes (1 for a single tube).
    pub pool_size: u32,
    /// How many people are in it now.
    pub members: u32,
    /// Whether it was sealed (when full, or closed early by the sampler).
    pub sealed: bool,
}

/// What to do with a tube to add the scanned person to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TubeAction {
    /// The tube is new: open it in this round with the round's pool size, this person its first member.
    Open {
        /// The tube is full with this member (a single tube): seal it in the same write.
        now_full: bool,
    },
    /// Add this person to the existing tube.
    Add {
        /// The tube reaches its pool size with this member: seal it in the same write.
        now_full: bool,
    },
}

impl TubeAction {
    /// Whether the tube must be sealed in the same write as this member.
    pub const fn now_full(self) -> bool {
        match self {
            TubeAction::Open { now_full } | TubeAction::Add { now_full } => now_full,
        }
    }
}

/// Decides whether one more person may go into `tube` (`None`: not seen before) during `round`.
///
/// The scan API seals a tube automatically in the write that fills it ([`TubeAction::now_full`]).
/// A further member is refused with [`ScanRefusal::TubeFull`] when the tube holds its pool size
/// (sealed or not), and with [`ScanRefusal::TubeSealed`] when the sampler closed it early.
/// A tube of another round is refused before either: [`ScanRefusal::TubeReusedFromEarlierRound`]
/// when its round id is smaller, [`ScanRefusal::TubeFromAnotherRound`] otherwise.
/// A pool size of 0 (bad data) is read as 1.
pub fn check_add_member(tube: Option<&TubeState>, round: i64, round_pool_size: u32) -> Result<TubeAction, ScanRefusal> {
    let Some(t) = tube else {
        return Ok(TubeAction::Open { now_full: round_pool_size <= 1 });
    };
    if t.round < round {
        return Err(ScanRefusal::TubeReusedFromEarlierRound);
    }
    if t.round != round {
        return Err(ScanRefusal::TubeFromAnotherRound);
    }
    let capacity = t.pool_size.max(1);
    if t.members >= capacity {
        return Err(ScanRefusal::TubeFull);
    }
    if t.sealed {
        return Err(ScanRefusal::TubeSealed);
    }
    Ok(TubeAction::Add { now_full: t.members.saturating_add(1) >= capacity })
}

/// An idempotency key for one scan, as Frontline's own sampler page makes them:
/// the time in milliseconds as 12 hexadecimal digits, then 64 random bits.
/// Keys sort by the time they were made, so the keys table is appended to at
/// its end, not split in the middle; keys made in the same millisecond differ
/// by their random part. (API clients are asked for the same: UUIDv7 or similar.)
pub fn scan_key(now_ms: i64, random: u64) -> String {
    // 12 hex digits hold every millisecond until the year 10889.
    format!("{:012x}-{random:016x}", now_ms.clamp(0, 0xffff_ffff_ffff))
}

#[cfg(test)]
#[path = "tube_tests.rs"]
mod tests;
