//! Coded values of sampling: lab results, retest results, and the reasons a person is missed or exempt.

use serde::{Deserialize, Serialize};

/// Defines `ALL`, `code()` and `from_code()` for a fieldless enum from (variant, code) pairs.
macro_rules! coded {
    ($ty:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable snake_case code, used in the API, the database and the catalogue.
            pub const fn code(self) -> &'static str {
                match self {
                    $($ty::$variant => $code),+
                }
            }

            /// The value for a code produced by `code()`; `None` for anything else.
            pub fn from_code(code: &str) -> Option<$ty> {
                match code {
                    $($code => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

/// The result of a (pooled or single) tube as the lab reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabResult {
    /// 阴性: every member is cleared.
    Negative,
    /// 异常 / 混管阳性: every member must stay put and be retested singly at home.
    Abnormal,
    /// 无效: the tube was invalid, lost or broken; its members go back on the missed list.
    Invalid,
}

coded!(LabResult {
    Negative => "negative",
    Abnormal => "abnormal",
    Invalid => "invalid",
});

/// The result of a single-tube retest at home.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetestResult {
    /// 阴性: the person is released.
    Negative,
    /// 阳性: a case; reporting and closed-loop transfer start.
    Positive,
    /// 无效: the retest must be taken again.
    Invalid,
}

coded!(RetestResult {
    Negative => "negative",
    Positive => "positive",
    Invalid => "invalid",
});

impl RetestResult {
    /// A home retest's single tube, reported by the lab like any tube: an
    /// abnormal single tube is a positive retest.
    pub const fn of_single_tube(result: LabResult) -> RetestResult {
        match result {
            LabResult::Negative => RetestResult::Negative,
            LabResult::Abnormal => RetestResult::Positive,
            LabResult::Invalid => RetestResult::Invalid,
        }
    }
}

/// A result cell that is none of the known words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabResultError {
    /// Not a known word for negative, abnormal or invalid.
    #[error("unknown lab result '{raw}'; expected negative, abnormal or invalid")]
    UnknownResult {
        /// The cell as written (trimmed, at most 40 characters).
        raw: String,
    },
}

impl LabResultError {
    /// The stable code: "unknown_result".
    pub fn code(&self) -> &'static str {
        match self {
            LabResultError::UnknownResult { .. } => "unknown_result",
        }
    }

    /// The parameters for a translated message: `raw`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            LabResultError::UnknownResult { raw } => vec![("raw", raw.clone())],
        }
    }
}

/// Folds full-width forms and dashes to ASCII, drops whitespace and lowercases ASCII letters.
fn fold(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
            _ => c,
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The result named by one folded word of a lab sheet.
fn word(s: &str) -> Option<LabResult> {
    match s {
        "阴性" | "阴" | "未检出" | "negative" | "neg" | "-" | "n" => Some(LabResult::Negative),
        "异常" | "阳性" | "阳" | "混管阳性" | "混管异常" | "abnormal" | "positive" | "pos" | "+" | "p" => {
            Some(LabResult::Abnormal)
        }
        "无效" | "作废" | "invalid" | "lost" | "丢失" | "损坏" => Some(LabResult::Invalid),
        _ => None,
    }
}

impl LabResult {
    /// Parses a result cell of a lab sheet, in Chinese or English, or a sign.
    ///
    /// Negative: 阴性, 阴, 未检出, negative, neg, -, N. Abnormal: 异常, 阳性, 阳, 混管阳性,
    /// 混管异常, abnormal, positive, pos, +, P. Invalid: 无效, 作废, invalid, lost, 丢失, 损坏.
    /// Case, whitespace and full-width forms do not matter, and a word followed by a sign
    /// or word of the same meaning in brackets ("阴性(-)", "阳性（+）") is accepted.
    pub fn parse(raw: &str) -> Result<LabResult, LabResultError> {
        let s = fold(raw);
        if let Some(r) = word(&s) {
            return Ok(r);
        }
        let bracketed = s.strip_suffix(')').and_then(|rest| rest.split_once('(')).and_then(|(head, inner)| {
            match (word(head), word(inner)) {
                (Some(a), Some(b)) if a == b => Some(a),
                _ => None,
            }
        });
        bracketed.ok_or_else(|| LabResultError::UnknownResult { raw: raw.trim().chars().take(40).collect() })
    }
}

impl RetestResult {
    /// Parses a retest result cell with the words of [`LabResult::parse`] (abnormal words mean positive).
    pub fn parse(raw: &str) -> Result<RetestResult, LabResultError> {
        LabResult::parse(raw).map(RetestResult::from_lab)
    }

    /// The retest result of a single tube's lab result: abnormal means positive.
    pub const fn from_lab(result: LabResult) -> RetestResult {
        match result {
            LabResult::Negative => RetestResult::Negative,
            LabResult::Abnormal => RetestResult::Positive,
            LabResult::Invalid => RetestResult::Invalid,
        }
    }
}

/// Why an expected person was not sampled; such people go on the missed list (补采名单).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissReason {
    /// 外出: away from home (but not exempt).
    Away,
    /// 卧床: bedridden; needs a sampler at the bedside.
    Bedridden,
    /// 拒绝: refused.
    Refused,
    /// 已转运: already transferred.
    Transferred,
    /// 住院: in hospital.
    Hospitalised,
    /// 试管无效: the tube was invalid or lost; set by a lab result, never by hand.
    TubeInvalid,
    /// 不在家: nobody answered the door.
    NotHome,
}

coded!(MissReason {
    Away => "away",
    Bedridden => "bedridden",
    Refused => "refused",
    Transferred => "transferred",
    Hospitalised => "hospitalised",
    TubeInvalid => "tube_invalid",
    NotHome => "not_home",
});

/// Why a person is not expected to be sampled in a round (taken out of should-test).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptReason {
    /// 外出: away, outside the area.
    Away,
    /// 住院: in hospital.
    Hospitalised,
    /// 已转运: already transferred.
    Transferred,
    /// 婴幼儿: an infant.
    Infant,
    /// 其他: another reason, recorded in a note.
    Other,
}

coded!(ExemptReason {
    Away => "away",
    Hospitalised => "hospitalised",
    Transferred => "transferred",
    Infant => "infant",
    Other => "other",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in LabResult::ALL {
            assert_eq!(LabResult::from_code(r.code()), Some(*r));
            assert_eq!(LabResult::parse(r.code()), Ok(*r));
            let json = serde_json::to_string(r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.code()));
        }
        for r in RetestResult::ALL {
            assert_eq!(RetestResult::from_code(r.code()), Some(*r));
            assert_eq!(RetestResult::parse(r.code()), Ok(*r));
        }
        for r in MissReason::ALL {
            assert_eq!(MissReason::from_code(r.code()), Some(*r));
            let json = serde_json::to_string(r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.code()));
        }
        for r in ExemptReason::ALL {
            assert_eq!(ExemptReason::from_code(r.code()), Some(*r));
        }
        assert_eq!(LabResult::ALL.len(), 3);
        assert_eq!(MissReason::ALL.len(), 7);
        assert_eq!(ExemptReason::ALL.len(), 5);
        assert_eq!(LabResult::from_code("Negative"), None);
        assert_eq!(MissReason::from_code("infant"), None);
        assert_eq!(ExemptReason::from_code("refused"), None);
        assert_eq!(RetestResult::from_code("abnormal"), None);
    }

    #[test]
    fn parses_lab_sheet_words() {
        let cases = [
            (
                LabResult::Negative,
                &[
                    "阴性",
                    "阴",
                    "negative",
                    "NEG",
                    "-",
                    "N",
                    " 阴性 ",
                    "Negative",
                    "－",
                    "−",
                    "未检出",
                    "阴性(-)",
                    "阴性（－）",
                    "negative (neg)",
                ][..],
            ),
            (
                LabResult::Abnormal,
                &[
                    "异常",
                    "阳性",
                    "混管阳性",
                    "混管异常",
                    "abnormal",
                    "positive",
                    "POS",
                    "+",
                    "p",
                    "＋",
                    "阳性(+)",
                    "ABNORMAL",
                ][..],
            ),
            (LabResult::Invalid, &["无效", "作废", "invalid", "Lost", "丢失", "损坏", "无效(invalid)"][..]),
        ];
        for (expected, words) in cases {
            for w in words {
                assert_eq!(LabResult::parse(w), Ok(expected), "{w:?}");
            }
        }
    }

    #[test]
    fn refuses_unknown_words() {
        for w in ["", " ", "?", "阴性(+)", "negative(pos)", "(-)", "阴性(", "pending", "待检", "nn", "++", "阳性 阴性"]
        {
            let err = LabResult::parse(w).expect_err(w);
            assert_eq!(err.code(), "unknown_result");
            assert_eq!(err.params(), vec![("raw", w.trim().to_string())]);
        }
        let long = "x".repeat(100);
        let err = LabResult::parse(&long).expect_err("long");
        assert_eq!(err.params()[0].1.chars().count(), 40);
    }

    #[test]
    fn retest_words_read_abnormal_as_positive() {
        assert_eq!(RetestResult::parse("阳性"), Ok(RetestResult::Positive));
        assert_eq!(RetestResult::parse("abnormal"), Ok(RetestResult::Positive));
        assert_eq!(RetestResult::parse("阴性"), Ok(RetestResult::Negative));
        assert_eq!(RetestResult::parse("丢失"), Ok(RetestResult::Invalid));
        assert!(RetestResult::parse("maybe").is_err());
    }

    #[test]
    fn a_single_tube_abnormal_is_a_positive_retest() {
        assert_eq!(RetestResult::of_single_tube(LabResult::Negative), RetestResult::Negative);
        assert_eq!(RetestResult::of_single_tube(LabResult::Abnormal), RetestResult::Positive);
        assert_eq!(RetestResult::of_single_tube(LabResult::Invalid), RetestResult::Invalid);
    }
}
