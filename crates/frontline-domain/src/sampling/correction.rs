//! Correcting a tube's result recorded in error: what must follow for the
//! tube's members, so that retests, releases and the missed list match the
//! corrected result as if it had been recorded in the first place.
//!
//! | before | after | members |
//! |---|---|---|
//! | abnormal | negative | retests not yet done are cancelled: released |
//! | abnormal | invalid | retests not yet done are cancelled; back on the missed list |
//! | negative | abnormal | a single retest at home is due for each |
//! | negative | invalid | back on the missed list |
//! | invalid | negative | counted as sampled again (if not sampled anew since) |
//! | invalid | abnormal | counted as sampled again, and a single retest is due |
//!
//! A retest already answered (negative or positive) is a result of its own
//! and is never undone by correcting the pool's result: that member was
//! tested, and neither goes back on the missed list nor is retested.

use super::codes::LabResult;

/// What a correction does to the members of the corrected tube.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorrectionPlan {
    /// Cancel members' retests that have no result yet.
    pub cancel_retests: bool,
    /// Open a single retest at home for each member.
    pub open_retests: bool,
    /// Put members back on the missed list (the tube no longer counts).
    pub invalidate_members: bool,
    /// Count members as sampled again (the tube counts after all).
    pub restore_members: bool,
}

/// Why a result cannot be corrected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionError {
    /// The tube has no result yet: record one, there is nothing to correct.
    #[error("this tube has no result yet; record its result instead")]
    NoResult,
    /// The corrected result is the one recorded.
    #[error("the tube already has this result")]
    SameResult,
    /// No reason was given.
    #[error("a correction needs a reason")]
    ReasonRequired,
}

impl CorrectionError {
    /// The stable code, e.g. "same_result".
    pub const fn code(self) -> &'static str {
        match self {
            CorrectionError::NoResult => "no_result",
            CorrectionError::SameResult => "same_result",
            CorrectionError::ReasonRequired => "reason_required",
        }
    }
}

/// The longest reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Checks a correction's reason: trimmed, not empty, at most [`MAX_REASON_CHARS`].
pub fn check_reason(reason: &str) -> Result<String, CorrectionError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CorrectionError::ReasonRequired);
    }
    Ok(reason.chars().take(MAX_REASON_CHARS).collect())
}

/// What correcting `before` to `after` does to the tube's members.
pub fn plan(before: Option<LabResult>, after: LabResult) -> Result<CorrectionPlan, CorrectionError> {
    use LabResult::{Abnormal, Invalid};
    let before = before.ok_or(CorrectionError::NoResult)?;
    if before == after {
        return Err(CorrectionError::SameResult);
    }
    Ok(CorrectionPlan {
        cancel_retests: before == Abnormal,
        open_retests: after == Abnormal,
        invalidate_members: after == Invalid,
        restore_members: before == Invalid && after != Invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use LabResult::{Abnormal, Invalid, Negative};

    #[test]
    fn every_correction_has_its_plan() {
        let p = plan(Some(Abnormal), Negative).expect("plan");
        assert!(p.cancel_retests && !p.open_retests && !p.invalidate_members && !p.restore_members);
        let p = plan(Some(Abnormal), Invalid).expect("plan");
        assert!(p.cancel_retests && p.invalidate_members && !p.restore_members);
        let p = plan(Some(Negative), Abnormal).expect("plan");
        assert!(p.open_retests && !p.cancel_retests && !p.invalidate_members && !p.restore_members);
        let p = plan(Some(Negative), Invalid).expect("plan");
        assert!(p.invalidate_members && !p.open_retests && !p.cancel_retests);
        let p = plan(Some(Invalid), Negative).expect("plan");
        assert!(p.restore_members && !p.open_retests && !p.invalidate_members);
        let p = plan(Some(Invalid), Abnormal).expect("plan");
        assert!(p.restore_members && p.open_retests);
    }

    #[test]
    fn nothing_to_correct_is_refused() {
        assert_eq!(plan(None, Negative), Err(CorrectionError::NoResult));
        assert_eq!(plan(Some(Negative), Negative), Err(CorrectionError::SameResult));
        assert_eq!(check_reason("  "), Err(CorrectionError::ReasonRequired));
        assert_eq!(check_reason(" 录入错误 ").as_deref(), Ok("录入错误"));
    }
}
