//! Dorfman pooling (Dorfman 1943, Ann. Math. Stat. 14:436): expected tests per person and pool-size advice.
//!
//! With pools of k people at prevalence p, every pool is tested once and every member of a
//! positive pool once more: E(k, p) = 1/k + 1 − (1−p)^k tests per person (k ≥ 2), and exactly
//! 1 for single tubes. In the field a positive pool also costs a door-to-door visit for each
//! of its k members, so the advice is a guide, not an order.

use super::rules::SamplingRules;

/// The largest pool size of the advice table (k = 1…30).
pub const ADVICE_MAX_K: u32 = 30;

/// [`best_pool_size`] never looks beyond this size, whatever `max_k` it is given.
pub const MAX_SCAN_K: u32 = 10_000;

/// A prevalence read into [0, 1]; NaN (unknown) is read as 1, the conservative worst case.
fn clamp_prevalence(p: f64) -> f64 {
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// The probability 1 − (1−p)^k that a pool of k is positive (computed without cancellation).
///
/// `p` is clamped into [0, 1] (NaN is read as 1); k = 0 gives 0.
pub fn positive_pool_probability(k: u32, p: f64) -> f64 {
    let p = clamp_prevalence(p);
    if k == 0 || p == 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    -(f64::from(k) * (-p).ln_1p()).exp_m1()
}

/// Dorfman's expected tests per person: 1/k + 1 − (1−p)^k for k ≥ 2, exactly 1 for k ≤ 1.
///
/// `p` is clamped into [0, 1] (NaN is read as 1). The result lies in (0, 1 + 1/k]; it is
/// below 1 (pooling pays) only while (1−p)^k > 1/k.
pub fn expected_tests_per_person(k: u32, p: f64) -> f64 {
    if k <= 1 {
        return 1.0;
    }
    1.0 / f64::from(k) + positive_pool_probability(k, p)
}

/// The pool size in 1..=`max_k` with the fewest expected tests per person (ties: the smaller).
///
/// Values are compared unrounded. `max_k` is read as at least 1 and at most [`MAX_SCAN_K`].
/// The scan stops early once 1 − (1−p)^k alone reaches the best value so far, since
/// E(j) > 1 − (1−p)^j ≥ 1 − (1−p)^k for every j ≥ k.
pub fn best_pool_size(p: f64, max_k: u32) -> u32 {
    let max_k = max_k.clamp(1, MAX_SCAN_K);
    let (mut best_k, mut best_e) = (1, expected_tests_per_person(1, p));
    for k in 2..=max_k {
        let positive = positive_pool_probability(k, p);
        let e = 1.0 / f64::from(k) + positive;
        if e < best_e {
            (best_k, best_e) = (k, e);
        }
        if positive >= best_e {
            break;
        }
    }
    best_k
}

/// Pool-size advice for a round, from its observed abnormal-tube rate.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PoolAdvice {
    /// The estimated per-person prevalence p (0 when there is no data yet).
    pub prevalence: f64,
    /// (k, expected tests per person) for k = 1…[`ADVICE_MAX_K`].
    pub table: Vec<(u32, f64)>,
    /// The best k in 1…[`ADVICE_MAX_K`] at that prevalence.
    pub recommended: u32,
    /// The best k among the allowed pool sizes.
    pub recommended_allowed: u32,
    /// The observed fraction of abnormal tubes q (with the zero correction, see [`pool_advice`]).
    pub abnormal_rate: f64,
    /// The mean number of people per tube, people / tubes (at least 1).
    pub mean_pool_size: f64,
    /// Whether any tube had a result; without one the advice is the round's default size.
    pub has_data: bool,
}

/// Advice from a round's results: `abnormal_tubes` of `tubes` (tubes with a negative or abnormal
/// result; invalid tubes left out) were abnormal, and those tubes held `people` people.
///
/// The estimator: with k̄ = people / tubes (at least 1) the mean pool size and q the fraction
/// of abnormal tubes, a pool of k̄ is negative with probability (1−p)^k̄ = 1 − q, so
/// p = 1 − (1−q)^(1/k̄). When no tube was abnormal, q = 0 would give p = 0 and advise ever
/// larger pools, so half an abnormal tube is assumed instead: q = 0.5 / (tubes + 1), a
/// continuity correction that shrinks as more tubes are tested (1,000 tubes of 10 give
/// p ≈ 0.005 %). Counts of abnormal tubes above `tubes` are read as `tubes`.
/// With no tube (`tubes` or `people` 0) there is no data: the prevalence is 0 and both
/// recommendations are the rules' default pool size.
pub fn pool_advice(abnormal_tubes: u64, tubes: u64, people: u64, rules: &SamplingRules) -> PoolAdvice {
    let has_data = tubes > 0 && people > 0;
    // Counts are far below 2^53, where u64 → f64 is exact.
    let n = tubes as f64;
    let mean_pool_size = if has_data { (people as f64 / n).max(1.0) } else { 1.0 };
    let a = abnormal_tubes.min(tubes);
    let abnormal_rate = if !has_data {
        0.0
    } else if a == 0 {
        0.5 / (n + 1.0)
    } else {
        a as f64 / n
    };
    let prevalence = if abnormal_rate >= 1.0 { 1.0 } else { -((-abnormal_rate).ln_1p() / mean_pool_size).exp_m1() };
    let table = (1..=ADVICE_MAX_K).map(|k| (k, expected_tests_per_person(k, prevalence))).collect();
    let fallback = rules.default_pool_size.max(1);
    let (recommended, recommended_allowed) = if has_data {
        (best_pool_size(prevalence, ADVICE_MAX_K), best_allowed(prevalence, rules).unwrap_or(fallback))
    } else {
        (fallback, fallback)
    };
    PoolAdvice { prevalence, table, recommended, recommended_allowed, abnormal_rate, mean_pool_size, has_data }
}

/// The allowed size with the fewest expected tests per person (ties: the smaller); `None` if none is allowed.
fn best_allowed(p: f64, rules: &SamplingRules) -> Option<u32> {
    let mut best: Option<(u32, f64)> = None;
    for k in rules.allowed_sizes().into_iter().filter(|&k| k >= 1) {
        let e = expected_tests_per_person(k, p);
        if best.is_none_or(|(_, b)| e < b) {
            best = Some((k, e));
        }
    }
    best.map(|(k, _)| k)
}

#[cfg(test)]
#[path = "pooling_tests.rs"]
mod tests;
