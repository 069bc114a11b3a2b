//! Identifiers parsed at the boundary: resident ID numbers (GB 11643), mobile numbers, passport numbers, sampling codes.
//!
//! Every parser first runs [`normalise`], which repairs what spreadsheets and
//! phone keyboards do to such values (full-width characters, spaces, dashes,
//! a leading apostrophe), then accepts the value as a type or refuses it with
//! a specific reason. Damage that cannot be repaired without guessing, such as
//! an ID number that went through a floating-point spreadsheet cell, is
//! refused, never "fixed".

use std::fmt;

use crate::date::Date;
use crate::regions::region_known;

#[path = "ids_phone.rs"]
mod phone;
#[path = "ids_sampling.rs"]
mod sampling;
pub use phone::{Phone, PhoneError};
pub use sampling::{SamplingCode, SamplingCodeError};

/// A resident's sex, as encoded in the ID number's sequence digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Male (odd sequence digit).
    Male,
    /// Female (even sequence digit).
    Female,
}

impl Sex {
    /// The stable code: "male" or "female".
    pub const fn code(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// The sex for a code produced by [`Sex::code`]; `None` for anything else.
    pub fn from_code(s: &str) -> Option<Sex> {
        match s {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// The weights of ISO 7064 MOD 11-2 for the first 17 digits of an ID number.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check characters indexed by the weighted sum modulo 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Birth years before this are refused as impossible.
const MIN_BIRTH_YEAR: i32 = 1850;

/// The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits;
/// `None` unless `first17` is exactly 17 ASCII digits.
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    Some(char::from(CHECK_CHARS[(sum % 11) as usize]))
}

/// Normalises typed or pasted identifier input: full-width forms become ASCII,
/// and all whitespace, dashes, apostrophes and quotes are dropped (letters keep their case).
pub fn normalise(raw: &str) -> String {
    raw.chars()
        .map(fold_width)
        .filter(|&c| !(c.is_whitespace() || is_invisible(c) || is_dash(c) || is_quote(c)))
        .collect()
}

/// [`normalise`], then ASCII letters uppercased. Input that is already plain
/// ASCII letters and digits (what barcode scanners and the field pages send)
/// has nothing to normalise and is only uppercased: one allocation, not three.
pub fn normalise_upper(raw: &str) -> String {
    if raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        raw.to_ascii_uppercase()
    } else {
        let mut s = normalise(raw);
        s.make_ascii_uppercase();
        s
    }
}

/// Maps the full-width forms U+FF01–U+FF5E to ASCII, as NFKC does.
fn fold_width(c: char) -> char {
    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
        char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
    } else {
        c
    }
}

/// Zero-width characters that spreadsheets and chat apps leave behind.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Hyphens, dashes and minus signs.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{30FC}')
}

/// Apostrophes and quotation marks (a leading apostrophe forces text in a spreadsheet).
fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '"' | '`' | '\u{00B4}' | '\u{2018}'..='\u{201F}' | '\u{2032}' | '\u{2033}')
}

/// A resident ID number (GB 11643-1999): 18 ASCII characters, a valid check character
/// (uppercase `X` for ten) and a possible birth date.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

/// An accepted ID number with the warnings raised while parsing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedId {
    /// The number, in its 18-character form.
    pub id: IdNumber,
    /// Things worth showing to the person who entered it; none of them refuses the number.
    pub warnings: Vec<IdWarning>,
}

/// A reason to look twice at an accepted ID number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdWarning {
    /// The address code is not in the GB/T 2260 table (current or retired).
    UnknownRegion {
        /// The 6-digit address code.
        code: String,
    },
    /// The number was written in the old 15-digit form and was converted to 18 digits.
    ConvertedFrom15 {
        /// The 15 digits as written (after normalisation).
        original: String,
    },
}

impl IdWarning {
    /// The stable code: "unknown_region" or "converted_from_15".
    pub fn code(&self) -> &'static str {
        match self {
            IdWarning::UnknownRegion { .. } => "unknown_region",
            IdWarning::ConvertedFrom15 { .. } => "converted_from_15",
        }
    }

    /// The parameters for a translated message: `code` or `original`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            IdWarning::UnknownRegion { code } => vec![("code", code.clone())],
            IdWarning::ConvertedFrom15 { original } => vec![("original", original.clone())],
        }
    }
}

/// Why an ID number was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing was entered.
    #[error("the ID number is empty")]
    Empty,
    /// Not 18 (or 15, the old form) characters after removing spaces and dashes.
    #[error("the ID number has {len} characters; it must have 18 (or 15 in the old form)")]
    BadLength {
        /// The number of characters after normalisation.
        len: usize,
    },
    /// A character other than a digit (or a final X).
    #[error("character {position} of the ID number is '{found}', which is not allowed there")]
    BadCharacter {
        /// 1-based position in the normalised string.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The check character does not match the other 17 digits: a typing mistake.
    #[error("the ID number's check character is '{found}' but its other digits require '{expected}'; a digit was probably mistyped")]
    BadCheckCharacter {
        /// The check character the first 17 digits call for.
        expected: char,
        /// The check character as written.
        found: char,
    },
    /// The birth date digits are not a possible date (or are before 1850).
    #[error("the birth date in the ID number, {raw}, is not a possible date")]
    ImpossibleBirthDate {
        /// The 8 (or, in the old form, 6) date digits as written.
        raw: String,
    },
    /// The number was stored as a spreadsheet number and its last digits were lost.
    #[error("the ID number was stored as a number in a spreadsheet and its last digits were lost; format the column as text and enter the number again")]
    PrecisionLost,
}

impl IdNumberError {
    /// The stable code of the error, for translations and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            IdNumberError::Empty => "empty",
            IdNumberError::BadLength { .. } => "bad_length",
            IdNumberError::BadCharacter { .. } => "bad_character",
            IdNumberError::BadCheckCharacter { .. } => "bad_check_character",
            IdNumberError::ImpossibleBirthDate { .. } => "impossible_birth_date",
            IdNumberError::PrecisionLost => "precision_lost",
        }
    }

    /// The parameters for a translated message, e.g. `[("len", "17")]`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            IdNumberError::Empty | IdNumberError::PrecisionLost => Vec::new(),
            IdNumberError::BadLength { len } => vec![("len", len.to_string())],
            IdNumberError::BadCharacter { position, found } => {
                vec![("position", position.to_string()), ("found", found.to_string())]
            }
            IdNumberError::BadCheckCharacter { expected, found } => {
                vec![("expected", expected.to_string()), ("found", found.to_string())]
            }
            IdNumberError::ImpossibleBirthDate { raw } => vec![("raw", raw.clone())],
        }
    }
}

/// What a spreadsheet number looks like once written out as text.
enum Numeric<'a> {
    /// Not a number with a decimal point or exponent.
    No,
    /// An integer of at most 15 digits followed by a zero fraction: stored exactly.
    Exact(&'a str),
    /// A float that cannot hold an 18-digit number.
    Lossy,
}

/// Recognises `digits[.digits][E[+]digits]` with a decimal point or an exponent (input uppercased).
fn spreadsheet_number(s: &str) -> Numeric<'_> {
    let (mantissa, exponent) = match s.split_once('E') {
        Some((m, e)) => (m, Some(e.strip_prefix('+').unwrap_or(e))),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let shaped = !int.is_empty()
        && digits(int)
        && frac.is_none_or(digits)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e));
    if !shaped || (frac.is_none() && exponent.is_none()) {
        return Numeric::No;
    }
    match (frac, exponent) {
        (Some(f), None) if int.len() <= 15 && f.bytes().all(|b| b == b'0') => Numeric::Exact(int),
        _ => Numeric::Lossy,
    }
}

impl IdNumber {
    /// Parses an ID number as typed or pasted: normalises it, converts the old 15-digit
    /// form, checks the check character and birth date, and warns on an unknown address code.
    pub fn parse(raw: &str) -> Result<ParsedId, IdNumberError> {
        let mut s = normalise_upper(raw);
        if s.is_empty() {
            return Err(IdNumberError::Empty);
        }
        match spreadsheet_number(&s) {
            Numeric::No => {}
            Numeric::Exact(int) => s = int.to_string(),
            Numeric::Lossy => return Err(IdNumberError::PrecisionLost),
        }
        if let Some((i, c)) = s.chars().enumerate().find(|&(_, c)| !c.is_ascii_digit() && c != 'X') {
            return Err(IdNumberError::BadCharacter { position: i + 1, found: c });
        }
        // Only ASCII digits and X remain, so byte length = character count.
        let len = s.len();
        if len != 15 && len != 18 {
            return Err(IdNumberError::BadLength { len });
        }
        // X is only allowed as the check character of the 18-character form.
        let check_pos = if len == 18 { 17 } else { usize::MAX };
        if let Some(i) = s.bytes().enumerate().position(|(i, b)| b == b'X' && i != check_pos) {
            return Err(IdNumberError::BadCharacter { position: i + 1, found: 'X' });
        }
        let mut warnings = Vec::new();
        let full = if len == 15 {
            let birth = birth_from(&format!("19{}", &s[6..12]))
                .ok_or_else(|| IdNumberError::ImpossibleBirthDate { raw: s[6..12].to_string() })?;
            let seq = s[12..15].bytes().fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
            warnings.push(IdWarning::ConvertedFrom15 { original: s.clone() });
            IdNumber::from_parts(&s[..6], birth, seq).0
        } else {
            let found = char::from(s.as_bytes()[17]);
            let expected = check_char(&s.as_bytes()[..17]).unwrap_or('?');
            if found != expected {
                if found != 'X' && s.ends_with("00") {
                    // An 18-digit value is far above 2^53: a float keeps ~16 digits.
                    return Err(IdNumberError::PrecisionLost);
                }
                return Err(IdNumberError::BadCheckCharacter { expected, found });
            }
            if birth_from(&s[6..14]).is_none() {
                return Err(IdNumberError::ImpossibleBirthDate { raw: s[6..14].to_string() });
            }
            s
        };
        let id = IdNumber(full);
        if !region_known(id.region()) {
            warnings.insert(0, IdWarning::UnknownRegion { code: id.region().to_string() });
        }
        Ok(ParsedId { id, warnings })
    }

    /// Builds the number for an address code, birth date and sequence, computing the check character.
    ///
    /// `seq` is taken modulo 1000 and the birth year modulo 10000. The result is only
    /// accepted by [`IdNumber::parse`] for birth years from 1850 on.
    ///
    /// # Panics
    /// When `region` is not exactly 6 ASCII digits.
    pub fn from_parts(region: &str, birth: Date, seq: u16) -> IdNumber {
        assert!(
            region.len() == 6 && region.bytes().all(|b| b.is_ascii_digit()),
            "IdNumber::from_parts: region must be 6 ASCII digits, got {region:?}"
        );
        let mut s = format!(
            "{region}{:04}{:02}{:02}{:03}",
            birth.year().rem_euclid(10_000),
            birth.month(),
            birth.day(),
            seq % 1000
        );
        // 17 ASCII digits by construction.
        let check = check_char(s.as_bytes()).unwrap_or('?');
        s.push(check);
        IdNumber(s)
    }

    /// The full 18-character number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit address code.
    pub fn region(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date encoded in the number (callers check it against today).
    pub fn birth_date(&self) -> Date {
        // Every constructor guarantees a valid date here; the fallback is unreachable.
        birth_from(&self.0[6..14]).unwrap_or(Date::from_days_since_epoch(0))
    }

    /// The sex encoded in the sequence digit (odd: male, even: female).
    pub fn sex(&self) -> Sex {
        if self.0.as_bytes()[16] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The number with the birth date and sequence hidden: "350602********1234".
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The last `n` characters (all of them when `n` >= 18).
    pub fn tail(&self, n: usize) -> &str {
        &self.0[self.0.len().saturating_sub(n)..]
    }
}

/// The date written as 8 ASCII digits YYYYMMDD, if possible and not before 1850.
fn birth_from(digits: &str) -> Option<Date> {
    let b = digits.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
    let year = i32::try_from(num(0..4)).ok()?;
    if year < MIN_BIRTH_YEAR {
        return None;
    }
    Date::new(year, num(4..6), num(6..8))
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for IdNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for IdNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IdNumber, D::Error> {
        let s = String::deserialize(deserializer)?;
        IdNumber::parse(&s).map(|p| p.id).map_err(serde::de::Error::custom)
    }
}

/// A passport or other non-Chinese travel document number: after normalise(), 5–20 chars of ASCII uppercase letters and digits, at least one digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PassportNumber(String);

impl PassportNumber {
    /// Parses a document number (letters are uppercased); `None` when it does not fit the shape.
    pub fn parse(raw: &str) -> Option<PassportNumber> {
        let s = normalise_upper(raw);
        let shaped = (5..=20).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && s.bytes().any(|b| b.is_ascii_digit());
        shaped.then_some(PassportNumber(s))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the first 2 and last 2 characters hidden: "E1*****78".
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!("{}{}{}", &self.0[..2], "*".repeat(n - 4), &self.0[n - 2..])
    }
}

impl fmt::Display for PassportNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for PassportNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PassportNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PassportNumber, D::Error> {
        let s = String::deserialize(deserializer)?;
        PassportNumber::parse(&s).ok_or_else(|| serde::de::Error::custom("not a passport or travel document number"))
    }
}

#[cfg(test)]
#[path = "ids_tests.rs"]
mod tests;
