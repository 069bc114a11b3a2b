//! Sampling rules that differ by city: allowed pool sizes and turnaround times.

use serde::{Deserialize, Serialize};

/// The largest pool size a configuration may allow.
pub const MAX_POOL_SIZE: u32 = 100;

/// Pool sizes and deadlines of sampling, with the national defaults (DOMAIN.md §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingRules {
    /// Allowed pool sizes (1 = single tube); default 1, 5, 10 and 20.
    pub pool_sizes: Vec<u32>,
    /// The pool size of a new round unless chosen otherwise; default 10 (10-in-1).
    pub default_pool_size: u32,
    /// Hours within which a single-tube retest result is due; default 6.
    pub retest_deadline_hours: u32,
    /// Hours within which a pooled tube's result is due; default 24.
    pub pooled_turnaround_hours: u32,
}

impl Default for SamplingRules {
    fn default() -> Self {
        SamplingRules {
            pool_sizes: vec![1, 5, 10, 20],
            default_pool_size: 10,
            retest_deadline_hours: 6,
            pooled_turnaround_hours: 24,
        }
    }
}

/// A pool size that the rules do not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolSizeError {
    /// The size is not one of the configured sizes.
    #[error("a pool of {size} is not allowed; allowed sizes are {}", list(allowed))]
    NotAllowed {
        /// The size asked for.
        size: u32,
        /// The allowed sizes, ascending.
        allowed: Vec<u32>,
    },
}

impl PoolSizeError {
    /// The stable code: "not_allowed".
    pub fn code(&self) -> &'static str {
        match self {
            PoolSizeError::NotAllowed { .. } => "not_allowed",
        }
    }

    /// The parameters for a translated message: `size` and `allowed` ("1, 5, 10, 20").
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            PoolSizeError::NotAllowed { size, allowed } => {
                vec![("size", size.to_string()), ("allowed", list(allowed))]
            }
        }
    }
}

/// A configuration of the rules that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// `pool_sizes` is empty.
    #[error("no pool size is allowed")]
    NoPoolSizes,
    /// A pool size is 0 or above [`MAX_POOL_SIZE`].
    #[error("pool size {size} is out of range 1 to {MAX_POOL_SIZE}")]
    PoolSizeOutOfRange {
        /// The size configured.
        size: u32,
    },
    /// `default_pool_size` is not among `pool_sizes`.
    #[error("the default pool size {size} is not among the allowed sizes")]
    DefaultNotAllowed {
        /// The default configured.
        size: u32,
    },
    /// A deadline of zero hours.
    #[error("{field} must be at least one hour")]
    ZeroHours {
        /// The field's name.
        field: &'static str,
    },
}

impl RulesError {
    /// The stable code, e.g. "default_not_allowed".
    pub fn code(&self) -> &'static str {
        match self {
            RulesError::NoPoolSizes => "no_pool_sizes",
            RulesError::PoolSizeOutOfRange { .. } => "pool_size_out_of_range",
            RulesError::DefaultNotAllowed { .. } => "default_not_allowed",
            RulesError::ZeroHours { .. } => "zero_hours",
        }
    }

    /// The parameters for a translated message: `size`, `max` or `field`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            RulesError::NoPoolSizes => Vec::new(),
            RulesError::PoolSizeOutOfRange { size } => {
                vec![("size", size.to_string()), ("max", MAX_POOL_SIZE.to_string())]
            }
            RulesError::DefaultNotAllowed { size } => vec![("size", size.to_string())],
            RulesError::ZeroHours { field } => vec![("field", (*field).to_string())],
        }
    }
}

/// Sizes written "1, 5, 10, 20".
fn list(sizes: &[u32]) -> String {
    sizes.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

impl SamplingRules {
    /// Checks a configuration: sizes in 1..=[`MAX_POOL_SIZE`], the default among them, deadlines ≥ 1 h.
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.pool_sizes.is_empty() {
            return Err(RulesError::NoPoolSizes);
        }
        if let Some(&size) = self.pool_sizes.iter().find(|&&k| k == 0 || k > MAX_POOL_SIZE) {
            return Err(RulesError::PoolSizeOutOfRange { size });
        }
        if !self.pool_sizes.contains(&self.default_pool_size) {
            return Err(RulesError::DefaultNotAllowed { size: self.default_pool_size });
        }
        if self.retest_deadline_hours == 0 {
            return Err(RulesError::ZeroHours { field: "retest_deadline_hours" });
        }
        if self.pooled_turnaround_hours == 0 {
            return Err(RulesError::ZeroHours { field: "pooled_turnaround_hours" });
        }
        Ok(())
    }

    /// The allowed pool sizes, ascending and without repeats.
    pub fn allowed_sizes(&self) -> Vec<u32> {
        let mut sizes = self.pool_sizes.clone();
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    /// Accepts `k` when it is one of the allowed pool sizes.
    pub fn check_pool_size(&self, k: u32) -> Result<u32, PoolSizeError> {
        if self.pool_sizes.contains(&k) {
            Ok(k)
        } else {
            Err(PoolSizeError::NotAllowed { size: k, allowed: self.allowed_sizes() })
        }
    }

    /// Hours within which a tube of `pool_size` should have its result: the retest deadline
    /// for a single tube, the pooled turnaround otherwise.
    pub fn result_due_hours(&self, pool_size: u32) -> u32 {
        if pool_size <= 1 {
            self.retest_deadline_hours
        } else {
            self.pooled_turnaround_hours
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_domain() {
        let r = SamplingRules::default();
        assert_eq!(r.pool_sizes, vec![1, 5, 10, 20]);
        assert_eq!(r.default_pool_size, 10);
        assert_eq!(r.retest_deadline_hours, 6);
        assert_eq!(r.pooled_turnaround_hours, 24);
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(r.result_due_hours(1), 6);
        assert_eq!(r.result_due_hours(0), 6);
        assert_eq!(r.result_due_hours(10), 24);
    }

    #[test]
    fn check_pool_size_accepts_only_configured_sizes() {
        let r = SamplingRules::default();
        for k in [1, 5, 10, 20] {
            assert_eq!(r.check_pool_size(k), Ok(k));
        }
        for k in [0, 2, 3, 15, 30, u32::MAX] {
            let err = r.check_pool_size(k).unwrap_err();
            assert_eq!(err.code(), "not_allowed");
            assert_eq!(err.params(), vec![("size", k.to_string()), ("allowed", "1, 5, 10, 20".into())]);
        }
        let custom = SamplingRules { pool_sizes: vec![20, 1, 3, 3], default_pool_size: 3, ..SamplingRules::default() };
        assert_eq!(custom.check_pool_size(3), Ok(3));
        assert_eq!(custom.allowed_sizes(), vec![1, 3, 20]);
        assert!(custom.check_pool_size(10).is_err());
    }

    #[test]
    fn deserialises_with_defaults_and_refuses_unknown_fields() {
        let r: SamplingRules = toml::from_str("pool_sizes = [1, 5, 10]").expect("valid");
        assert_eq!(r.pool_sizes, vec![1, 5, 10]);
        assert_eq!(r.default_pool_size, 10);
        assert_eq!(r.retest_deadline_hours, 6);
        let r: SamplingRules = toml::from_str("").expect("empty is the default");
        assert_eq!(r, SamplingRules::default());
        assert!(toml::from_str::<SamplingRules>("pool_size = 10").is_err());
        let json = serde_json::to_string(&SamplingRules::default()).unwrap_or_default();
        let back: SamplingRules = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, SamplingRules::default());
    }

    #[test]
    fn validate_refuses_unusable_configurations() {
        let base = SamplingRules::default();
        let with = |f: &dyn Fn(&mut SamplingRules)| {
            let mut r = base.clone();
            f(&mut r);
            r.validate()
        };
        assert_eq!(with(&|r| r.pool_sizes.clear()), Err(RulesError::NoPoolSizes));
        assert_eq!(with(&|r| r.pool_sizes.push(0)), Err(RulesError::PoolSizeOutOfRange { size: 0 }));
        assert_eq!(with(&|r| r.pool_sizes.push(101)), Err(RulesError::PoolSizeOutOfRange { size: 101 }));
        assert_eq!(with(&|r| r.default_pool_size = 7), Err(RulesError::DefaultNotAllowed { size: 7 }));
        assert_eq!(
            with(&|r| r.retest_deadline_hours = 0),
            Err(RulesError::ZeroHours { field: "retest_deadline_hours" })
        );
        assert_eq!(
            with(&|r| r.pooled_turnaround_hours = 0),
            Err(RulesError::ZeroHours { field: "pooled_turnaround_hours" })
        );
        let codes: Vec<_> = [
            RulesError::NoPoolSizes,
            RulesError::PoolSizeOutOfRange { size: 0 },
            RulesError::DefaultNotAllowed { size: 7 },
            RulesError::ZeroHours { field: "x" },
        ]
        .iter()
        .map(RulesError::code)
        .collect();
        assert_eq!(codes, ["no_pool_sizes", "pool_size_out_of_range", "default_not_allowed", "zero_hours"]);
    }
}
