//! Mobile numbers of mainland China, as typed or pasted into a form or spreadsheet.

use std::fmt;

use super::normalise;

/// A mainland China mobile number: 11 ASCII digits starting 13–19.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Why a mobile number was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing was entered.
    #[error("the mobile number is empty")]
    Empty,
    /// A character other than a digit (after an optional +86 / 0086 prefix).
    #[error("the mobile number contains '{found}'; only digits are allowed")]
    BadCharacter {
        /// The first offending character.
        found: char,
    },
    /// Not 11 digits (after removing the country code).
    #[error("the mobile number has {len} digits; it must have 11")]
    BadLength {
        /// The number of characters left after removing the country code.
        len: usize,
    },
    /// 11 digits, but not starting 13–19: not a mobile number.
    #[error("the number does not start with 13 to 19, so it is not a mobile number")]
    BadPrefix,
    /// A 13-digit IoT (machine) number starting 140–144, not a personal phone.
    #[error("the number is a 13-digit IoT (machine) number, not a personal mobile number")]
    IotNumber,
}

impl PhoneError {
    /// The stable code of the error, for translations and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::Empty => "empty",
            PhoneError::BadCharacter { .. } => "bad_character",
            PhoneError::BadLength { .. } => "bad_length",
            PhoneError::BadPrefix => "bad_prefix",
            PhoneError::IotNumber => "iot_number",
        }
    }

    /// The parameters for a translated message, e.g. `[("len", "12")]`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            PhoneError::BadCharacter { found } => vec![("found", found.to_string())],
            PhoneError::BadLength { len } => vec![("len", len.to_string())],
            PhoneError::Empty | PhoneError::BadPrefix | PhoneError::IotNumber => Vec::new(),
        }
    }
}

impl Phone {
    /// Parses a mobile number, accepting a +86 / 0086 / 86 country code and spreadsheet damage.
    pub fn parse(raw: &str) -> Result<Phone, PhoneError> {
        let mut s = normalise(raw);
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        // A number cell written out as "13800138000.0" is still exact (< 2^53).
        if let Some(int) = s.strip_suffix(".0") {
            if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) {
                s = int.to_string();
            }
        }
        let all_digits = s.bytes().all(|b| b.is_ascii_digit());
        let digits = if let Some(rest) = s.strip_prefix("+86") {
            rest
        } else if let Some(rest) = s.strip_prefix("0086") {
            rest
        } else if all_digits && s.len() == 13 && s.starts_with("86") {
            &s[2..]
        } else {
            &s
        };
        if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::BadCharacter { found: c });
        }
        let b = digits.as_bytes();
        if b.len() == 13 && b[..2] == *b"14" && (b'0'..=b'4').contains(&b[2]) {
            return Err(PhoneError::IotNumber);
        }
        if b.len() != 11 {
            return Err(PhoneError::BadLength { len: b.len() });
        }
        if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(PhoneError::BadPrefix);
        }
        Ok(Phone(digits.to_string()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with the middle hidden: "138****5678".
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }

    /// The last `n` digits (all of them when `n` >= 11).
    pub fn tail(&self, n: usize) -> &str {
        &self.0[self.0.len().saturating_sub(n)..]
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Phone, D::Error> {
        let s = String::deserialize(deserializer)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}
