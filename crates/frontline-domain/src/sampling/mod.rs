//! Sampling rounds (核酸采样): the pure rules behind pooled tubes at the door, lab results,
//! abnormal-tube retests, coverage and the missed list (补采).
//!
//! Nothing here does I/O. The store and the web layer call these rules:
//! - [`TubeCode`] parses a tube's barcode and refuses a resident's code scanned into the tube field;
//! - [`SamplingRules`] holds the allowed pool sizes and turnaround times (configuration);
//! - [`expected_tests_per_person`], [`best_pool_size`] and [`pool_advice`] give Dorfman's
//!   pool-size advice from a round's observed abnormal rate;
//! - [`PersonStatus`] and [`apply`] are the state machine of one person in one round;
//! - [`Coverage`] is the should-test / sampled / missed arithmetic;
//! - [`check_add_member`] and [`ScanRefusal`] decide whether a scan may bind a person to a tube.
//!
//! Every code emitted here has a text in `messages_sampling.toml` beside `Cargo.toml`.

mod codes;
mod correction;
mod coverage;
mod pooling;
mod rules;
mod status;
mod tube;

pub use codes::{ExemptReason, LabResult, LabResultError, MissReason, RetestResult};
pub use correction::{check_reason, plan as correction_plan, CorrectionError, CorrectionPlan, MAX_REASON_CHARS};
pub use coverage::Coverage;
pub use pooling::{
    best_pool_size, expected_tests_per_person, pool_advice, positive_pool_probability, PoolAdvice, ADVICE_MAX_K,
    MAX_SCAN_K,
};
pub use rules::{PoolSizeError, RulesError, SamplingRules, MAX_POOL_SIZE};
pub use status::{apply, Event, PersonStatus, TransitionError};
pub use tube::{check_add_member, scan_key, ScanRefusal, TubeAction, TubeCode, TubeCodeError, TubeState};

#[cfg(test)]
mod messages_tests;
