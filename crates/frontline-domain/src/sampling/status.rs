//! The state of one person in one sampling round, and the events that move it.
//!
//! | from | event | to |
//! |---|---|---|
//! | Expected, Missed, Exempt | Scanned(tube) | Sampled { tube } (for Missed: 补采) |
//! | Sampled | TubeResult(negative) | Cleared |
//! | Sampled | TubeResult(abnormal) | RetestPending (stay put) |
//! | Sampled | TubeResult(invalid) | Missed { tube_invalid } (back on the missed list) |
//! | RetestPending | RetestScanned(tube) | RetestSampled { tube } |
//! | RetestPending, RetestSampled | RetestResult(negative) | Cleared |
//! | RetestPending, RetestSampled | RetestResult(positive) | Confirmed |
//! | RetestPending, RetestSampled | RetestResult(invalid) | RetestPending (retest again) |
//! | Expected, Missed, Exempt | MarkMissed(reason) | Missed { reason } |
//! | Expected, Missed, Exempt | Exempt(reason) | Exempt { reason } |
//!
//! A single retest's result may reach the lab's page before, or without, a
//! scan of its tube: the lab reports a single tube against the person it was
//! taken from (the home visit labels it with the person's code), so a result
//! applies to someone waiting for a retest as to someone whose retest tube
//! was scanned.
//!
//! Replaying the scan that produced `Sampled` or `RetestSampled` (same tube) changes nothing.
//! Every other pair of state and event is refused with a specific [`TransitionError`].

use serde::{Deserialize, Serialize};

use super::codes::{ExemptReason, LabResult, MissReason, RetestResult};
use super::tube::TubeCode;

/// Where one person stands in one round.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PersonStatus {
    /// 应检: expected (from the census), not yet sampled.
    Expected,
    /// 已采: bound to a tube, waiting for its result.
    Sampled {
        /// The tube the person is in.
        tube: TubeCode,
    },
    /// 阴性: the person's tube (or single retest) was negative.
    Cleared,
    /// 待复核: member of an abnormal pool: stays put and waits for a single retest at home.
    RetestPending,
    /// 复核已采: the single retest was taken, waiting for its result.
    RetestSampled {
        /// The single retest tube.
        tube: TubeCode,
    },
    /// 阳性: positive on the single retest; reporting and closed-loop transfer start.
    Confirmed,
    /// 漏采: expected but not sampled, with a reason; on the missed list (补采名单).
    Missed {
        /// Why.
        reason: MissReason,
    },
    /// 免采: not expected in this round, with a reason.
    Exempt {
        /// Why.
        reason: ExemptReason,
    },
}

impl PersonStatus {
    /// The codes of [`PersonStatus::code`], in declaration order.
    pub const CODES: [&'static str; 8] =
        ["expected", "sampled", "cleared", "retest_pending", "retest_sampled", "confirmed", "missed", "exempt"];

    /// The stable code of the state, e.g. "retest_pending".
    pub const fn code(&self) -> &'static str {
        match self {
            PersonStatus::Expected => "expected",
            PersonStatus::Sampled { .. } => "sampled",
            PersonStatus::Cleared => "cleared",
            PersonStatus::RetestPending => "retest_pending",
            PersonStatus::RetestSampled { .. } => "retest_sampled",
            PersonStatus::Confirmed => "confirmed",
            PersonStatus::Missed { .. } => "missed",
            PersonStatus::Exempt { .. } => "exempt",
        }
    }

    /// Whether the person counts as sampled in coverage (sampled once, whatever came after).
    pub const fn counts_as_sampled(&self) -> bool {
        matches!(
            self,
            PersonStatus::Sampled { .. }
                | PersonStatus::Cleared
                | PersonStatus::RetestPending
                | PersonStatus::RetestSampled { .. }
                | PersonStatus::Confirmed
        )
    }

    /// Whether the person is on the missed list (补采名单): expected or missed, not yet sampled.
    pub const fn needs_sampling(&self) -> bool {
        matches!(self, PersonStatus::Expected | PersonStatus::Missed { .. })
    }

    /// Whether the person waits for a single retest at home.
    pub const fn needs_retest(&self) -> bool {
        matches!(self, PersonStatus::RetestPending)
    }

    /// Whether the person is exempt from this round.
    pub const fn is_exempt(&self) -> bool {
        matches!(self, PersonStatus::Exempt { .. })
    }

    /// The tube whose result is awaited, if any.
    pub const fn tube(&self) -> Option<&TubeCode> {
        match self {
            PersonStatus::Sampled { tube } | PersonStatus::RetestSampled { tube } => Some(tube),
            _ => None,
        }
    }
}

/// Something that happens to a person during a round.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The person was scanned into a (pooled or single) tube of the round.
    Scanned(TubeCode),
    /// The lab reported the result of the person's tube.
    TubeResult(LabResult),
    /// The single retest at home was taken into this tube.
    RetestScanned(TubeCode),
    /// The lab reported the single retest's result.
    RetestResult(RetestResult),
    /// A sampler recorded why the person could not be sampled.
    MarkMissed(MissReason),
    /// The person was exempted from the round.
    Exempt(ExemptReason),
}

impl Event {
    /// The stable code of the event kind, e.g. "tube_result".
    pub const fn code(&self) -> &'static str {
        match self {
            Event::Scanned(_) => "scanned",
            Event::TubeResult(_) => "tube_result",
            Event::RetestScanned(_) => "retest_scanned",
            Event::RetestResult(_) => "retest_result",
            Event::MarkMissed(_) => "mark_missed",
            Event::Exempt(_) => "exempt",
        }
    }
}

/// Why an event cannot happen to a person in their current state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Scanned into a tube while already in another tube of this round.
    #[error("this person is already in tube {tube} of this round")]
    AlreadyInTube {
        /// The tube the person is in.
        tube: TubeCode,
    },
    /// Already sampled in this round: cannot be scanned again, marked missed or exempted.
    #[error("this person has already been sampled in this round")]
    AlreadySampled,
    /// Confirmed positive: the round's events no longer apply.
    #[error("this person is a confirmed case; nothing more can be recorded in this round")]
    AlreadyConfirmed,
    /// A member of an abnormal pool must be retested in a single tube, not pooled again.
    #[error("this person must be retested singly at home, not put in a pooled tube")]
    RetestRequired,
    /// A retest was scanned for someone whose pool was not abnormal.
    #[error("no retest is due for this person")]
    NoRetestDue,
    /// A second, different retest tube while the first one's result is awaited.
    #[error("this person's retest is already in tube {tube}")]
    RetestAlreadyTaken {
        /// The retest tube already taken.
        tube: TubeCode,
    },
    /// A tube result for someone not waiting for one.
    #[error("this person is not waiting for a tube result")]
    NotAwaitingResult,
    /// A retest result for someone whose retest was not taken.
    #[error("this person is not waiting for a retest result")]
    NotAwaitingRetestResult,
    /// A miss reason that only the system sets (tube_invalid comes from a lab result).
    #[error("the reason {} is set by the lab result, not by hand", reason.code())]
    ReservedReason {
        /// The reason given.
        reason: MissReason,
    },
}

impl TransitionError {
    /// The stable code, e.g. "already_in_tube".
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::AlreadyInTube { .. } => "already_in_tube",
            TransitionError::AlreadySampled => "already_sampled",
            TransitionError::AlreadyConfirmed => "already_confirmed",
            TransitionError::RetestRequired => "retest_required",
            TransitionError::NoRetestDue => "no_retest_due",
            TransitionError::RetestAlreadyTaken { .. } => "retest_already_taken",
            TransitionError::NotAwaitingResult => "not_awaiting_result",
            TransitionError::NotAwaitingRetestResult => "not_awaiting_retest_result",
            TransitionError::ReservedReason { .. } => "reserved_reason",
        }
    }

    /// The parameters for a translated message: `tube` or `reason`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            TransitionError::AlreadyInTube { tube } | TransitionError::RetestAlreadyTaken { tube } => {
                vec![("tube", tube.as_str().to_string())]
            }
            TransitionError::ReservedReason { reason } => {
                vec![("reason", reason.code().to_string())]
            }
            _ => Vec::new(),
        }
    }
}

/// The state after `event` happens to a person in `status`, or why it cannot happen.
///
/// A tube result of `invalid` puts the person on the missed list with reason `tube_invalid`;
/// an invalid retest leaves them waiting for another retest. A missed or exempt person can be
/// scanned (补采) and can be given another reason; someone already sampled cannot be marked
/// missed or exempt. Nothing moves a confirmed case.
pub fn apply(status: &PersonStatus, event: &Event) -> Result<PersonStatus, TransitionError> {
    use PersonStatus as S;
    let unsampled = status.needs_sampling() || status.is_exempt();
    if *status == S::Confirmed {
        return Err(TransitionError::AlreadyConfirmed);
    }
    match event {
        Event::Scanned(tube) => match status {
            _ if unsampled => Ok(S::Sampled { tube: tube.clone() }),
            S::Sampled { tube: current } if current == tube => Ok(status.clone()),
            S::Sampled { tube: current } => Err(TransitionError::AlreadyInTube { tube: current.clone() }),
            S::RetestPending | S::RetestSampled { .. } => Err(TransitionError::RetestRequired),
            _ => Err(TransitionError::AlreadySampled),
        },
        Event::TubeResult(result) => match (status, result) {
            (S::Sampled { .. }, LabResult::Negative) => Ok(S::Cleared),
            (S::Sampled { .. }, LabResult::Abnormal) => Ok(S::RetestPending),
            (S::Sampled { .. }, LabResult::Invalid) => Ok(S::Missed { reason: MissReason::TubeInvalid }),
            _ => Err(TransitionError::NotAwaitingResult),
        },
        Event::RetestScanned(tube) => match status {
            S::RetestPending => Ok(S::RetestSampled { tube: tube.clone() }),
            S::RetestSampled { tube: current } if current == tube => Ok(status.clone()),
            S::RetestSampled { tube: current } => Err(TransitionError::RetestAlreadyTaken { tube: current.clone() }),
            _ => Err(TransitionError::NoRetestDue),
        },
        Event::RetestResult(result) => match (status, result) {
            (S::RetestPending | S::RetestSampled { .. }, RetestResult::Negative) => Ok(S::Cleared),
            (S::RetestPending | S::RetestSampled { .. }, RetestResult::Positive) => Ok(S::Confirmed),
            (S::RetestPending | S::RetestSampled { .. }, RetestResult::Invalid) => Ok(S::RetestPending),
            _ => Err(TransitionError::NotAwaitingRetestResult),
        },
        Event::MarkMissed(MissReason::TubeInvalid) => {
            Err(TransitionError::ReservedReason { reason: MissReason::TubeInvalid })
        }
        Event::MarkMissed(reason) if unsampled => Ok(S::Missed { reason: *reason }),
        Event::Exempt(reason) if unsampled => Ok(S::Exempt { reason: *reason }),
        Event::MarkMissed(_) | Event::Exempt(_) => Err(TransitionError::AlreadySampled),
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
