//! Sampling codes (核酸码): a keyed, checkable, opaque encoding of a resident's numeric id.
//!
//! The resident id (40 bits) goes through a 4-round Feistel network keyed by a
//! per-installation secret, so consecutive ids give unrelated codes and a code
//! reveals nothing without the key. The 40 bits are written as 8 Crockford
//! base32 characters after an "R", followed by one check character: the
//! weighted sum of the 8 values in GF(32) with weights α⁸ … α¹ (α a primitive
//! element). Every value of the 9-symbol word then has a distinct non-zero
//! weight, so any single changed character and any swap of two adjacent
//! different characters (check character included) is detected.

use std::fmt;

use super::normalise_upper;

/// Bits of a resident id.
const ID_BITS: u32 = 40;
/// Bits of each Feistel half.
const HALF_BITS: u32 = ID_BITS / 2;
/// Mask of one half.
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
/// Mask of a whole id.
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// Crockford base32 symbols, by value.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The prefix that marks a sampling code.
const PREFIX: u8 = b'R';
/// Data characters after the prefix.
const DATA_LEN: usize = 8;
/// Total length: prefix, data, check.
const CODE_LEN: usize = 1 + DATA_LEN + 1;

/// A resident's sampling code (核酸码): printed as a QR code, reveals nothing of the ID number.
///
/// "R" + 8 Crockford base32 characters + 1 check character, e.g. "R7K3QZ2M9S".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SamplingCode(String);

/// Why a sampling code was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SamplingCodeError {
    /// Not "R" followed by 9 Crockford base32 characters.
    #[error("this is not a sampling code: it must be R followed by 9 letters and digits")]
    Malformed,
    /// The check character does not match: a character was misread or mistyped.
    #[error("the sampling code's check character does not match; a character was misread or mistyped")]
    BadCheck,
}

impl SamplingCodeError {
    /// The stable code of the error: "malformed" or "bad_check".
    pub fn code(&self) -> &'static str {
        match self {
            SamplingCodeError::Malformed => "malformed",
            SamplingCodeError::BadCheck => "bad_check",
        }
    }
}

/// SplitMix64's finaliser: a strong 64-bit mixing function.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The four round keys derived from the installation secret.
fn round_keys(key: u64) -> [u64; 4] {
    let mut state = key;
    std::array::from_fn(|_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(state)
    })
}

/// The Feistel round function: 20 bits from a 20-bit half and a round key.
fn round(half: u64, round_key: u64) -> u64 {
    mix64(half ^ round_key) & HALF_MASK
}

/// The keyed permutation of 40-bit values.
fn permute(x: u64, key: u64) -> u64 {
    let (mut left, mut right) = ((x >> HALF_BITS) & HALF_MASK, x & HALF_MASK);
    for k in round_keys(key) {
        let next = left ^ round(right, k);
        left = right;
        right = next;
    }
    (left << HALF_BITS) | right
}

/// The inverse of [`permute`].
fn unpermute(y: u64, key: u64) -> u64 {
    let (mut left, mut right) = ((y >> HALF_BITS) & HALF_MASK, y & HALF_MASK);
    for k in round_keys(key).into_iter().rev() {
        let prev = right ^ round(left, k);
        right = left;
        left = prev;
    }
    (left << HALF_BITS) | right
}

/// Multiplies by α in GF(32) = GF(2)[x] / (x⁵ + x² + 1).
fn times_alpha(v: u8) -> u8 {
    let shifted = v << 1;
    if shifted & 0x20 != 0 {
        shifted ^ 0x25
    } else {
        shifted
    }
}

/// The check value of 8 data values (each < 32): Σ α^(8-i) · v_i in GF(32).
fn check_value(values: &[u8]) -> u8 {
    times_alpha(values.iter().fold(0, |acc, &v| times_alpha(acc) ^ v))
}

/// The value of a Crockford symbol (uppercase input), reading O as 0 and I, L as 1.
fn symbol_value(c: u8) -> Option<u8> {
    let c = match c {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// The data and check values of a normalised, uppercased code, the check verified.
fn symbol_values(b: &[u8]) -> Result<[u8; DATA_LEN + 1], SamplingCodeError> {
    if b.len() != CODE_LEN || b[0] != PREFIX {
        return Err(SamplingCodeError::Malformed);
    }
    let mut values = [0u8; DATA_LEN + 1];
    for (v, &c) in values.iter_mut().zip(&b[1..]) {
        *v = symbol_value(c).ok_or(SamplingCodeError::Malformed)?;
    }
    if check_value(&values[..DATA_LEN]) != values[DATA_LEN] {
        return Err(SamplingCodeError::BadCheck);
    }
    Ok(values)
}

impl SamplingCode {
    /// The code of resident `resident_id` (1..2^40; other values are reduced to their low 40 bits)
    /// under the installation secret `key`.
    pub fn encode(resident_id: i64, key: u64) -> SamplingCode {
        let y = permute(resident_id as u64 & ID_MASK, key);
        let values: [u8; DATA_LEN] = std::array::from_fn(|i| ((y >> (5 * (DATA_LEN - 1 - i))) & 0x1F) as u8);
        let mut s = String::with_capacity(CODE_LEN);
        s.push(char::from(PREFIX));
        s.extend(values.iter().map(|&v| char::from(ALPHABET[usize::from(v)])));
        s.push(char::from(ALPHABET[usize::from(check_value(&values))]));
        SamplingCode(s)
    }

    /// Parses a scanned or typed code: normalised, case-insensitive, O/I/L read as 0/1/1.
    pub fn parse(raw: &str) -> Result<SamplingCode, SamplingCodeError> {
        let values = symbol_values(normalise_upper(raw).as_bytes())?;
        let mut canonical = String::with_capacity(CODE_LEN);
        canonical.push(char::from(PREFIX));
        canonical.extend(values.iter().map(|&v| char::from(ALPHABET[usize::from(v)])));
        Ok(SamplingCode(canonical))
    }

    /// Whether `normalised` (already normalised and uppercased) reads as a
    /// sampling code, check symbol included; allocates nothing.
    pub fn is_code(normalised: &str) -> bool {
        symbol_values(normalised.as_bytes()).is_ok()
    }

    /// The resident id under the installation secret `key` (the inverse of [`SamplingCode::encode`]).
    ///
    /// A wrong key gives some other number in 0..2^40, which the caller will not find.
    pub fn decode(&self, key: u64) -> i64 {
        let y = self.0.as_bytes()[1..=DATA_LEN]
            .iter()
            .fold(0u64, |acc, &c| (acc << 5) | u64::from(symbol_value(c).unwrap_or(0)));
        // At most 40 bits, so it fits an i64.
        unpermute(y, key) as i64
    }

    /// The canonical code, e.g. "R7K3QZ2M9S".
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SamplingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for SamplingCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SamplingCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SamplingCode, D::Error> {
        let s = String::deserialize(deserializer)?;
        SamplingCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for key in [0, 1, 0xDEAD_BEEF, u64::MAX] {
            for id in [1i64, 2, 3, 1000, 123_456_789, (1 << 40) - 1] {
                let code = SamplingCode::encode(id, key);
                assert_eq!(code.as_str().len(), CODE_LEN);
                assert!(code.as_str().starts_with('R'));
                assert_eq!(code.decode(key), id);
                assert_eq!(SamplingCode::parse(code.as_str()), Ok(code));
            }
        }
    }

    #[test]
    fn consecutive_ids_look_unrelated() {
        let a = SamplingCode::encode(1, 42);
        let b = SamplingCode::encode(2, 42);
        let same = a.as_str().bytes().zip(b.as_str().bytes()).filter(|(x, y)| x == y).count();
        assert!(same <= 4, "{a} vs {b}");
        assert_ne!(SamplingCode::encode(1, 43), a);
    }

    #[test]
    fn parse_is_lenient_about_case_and_confusables() {
        let code = SamplingCode::encode(77, 9);
        let lower = code.as_str().to_ascii_lowercase();
        assert_eq!(SamplingCode::parse(&lower), Ok(code.clone()));
        let spaced = format!(" {} {} ", &code.as_str()[..5], &code.as_str()[5..]);
        assert_eq!(SamplingCode::parse(&spaced), Ok(code.clone()));
        let confusable = code.as_str().replace('0', "O").replace('1', "l");
        assert_eq!(SamplingCode::parse(&confusable), Ok(code));
    }

    #[test]
    fn parse_refuses_bad_input() {
        assert!(SamplingCode::parse("R7K3QZ2M9S").is_ok()); // the documented example
        assert_eq!(SamplingCode::parse("R7K3QZ2M9X"), Err(SamplingCodeError::BadCheck));
        assert_eq!(SamplingCode::parse(""), Err(SamplingCodeError::Malformed));
        assert_eq!(SamplingCode::parse("X7K3QZ2M9X"), Err(SamplingCodeError::Malformed));
        assert_eq!(SamplingCode::parse("R7K3QZ2M9"), Err(SamplingCodeError::Malformed));
        assert_eq!(SamplingCode::parse("R7K3QZ2MUX"), Err(SamplingCodeError::Malformed));
        let code = SamplingCode::encode(5, 5);
        let mut bad = code.as_str().as_bytes().to_vec();
        bad[9] = if bad[9] == b'0' { b'2' } else { b'0' };
        let bad = String::from_utf8(bad).expect("ascii");
        assert_eq!(SamplingCode::parse(&bad), Err(SamplingCodeError::BadCheck));
        assert_eq!(SamplingCodeError::BadCheck.code(), "bad_check");
        assert_eq!(SamplingCodeError::Malformed.code(), "malformed");
    }

    #[test]
    fn serde_as_string() {
        let code = SamplingCode::encode(12, 34);
        let json = serde_json::to_string(&code).unwrap_or_default();
        assert_eq!(json, format!("\"{code}\""));
        assert_eq!(serde_json::from_str::<SamplingCode>(&json).ok(), Some(code));
        assert!(serde_json::from_str::<SamplingCode>("\"R123\"").is_err());
    }

    #[test]
    fn adjacent_swaps_are_detected() {
        let code = SamplingCode::encode(987_654, 31337);
        let b = code.as_str().as_bytes();
        for i in 1..CODE_LEN - 1 {
            if b[i] == b[i + 1] {
                continue;
            }
            let mut swapped = b.to_vec();
            swapped.swap(i, i + 1);
            let swapped = String::from_utf8(swapped).expect("ascii");
            assert_eq!(SamplingCode::parse(&swapped), Err(SamplingCodeError::BadCheck), "{i}");
        }
    }
}
