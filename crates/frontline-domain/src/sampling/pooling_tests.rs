//! Unit tests of Dorfman pooling and pool advice.

use super::*;

/// DOMAIN.md §2, "Dorfman pooling": p, best k (k ≤ 100), E(best), E(10), E(20), to 4 decimals.
/// This is the specification, copied from the domain document, not computed here.
const DOMAIN_TABLE: [(f64, u32, &str, &str, &str); 6] = [
    (0.0001, 100, "0.0200", "0.1010", "0.0520"),
    (0.001, 32, "0.0628", "0.1100", "0.0698"),
    (0.005, 15, "0.1391", "0.1489", "0.1454"),
    (0.01, 11, "0.1956", "0.1956", "0.2321"),
    (0.02, 8, "0.2742", "0.2829", "0.3824"),
    (0.05, 5, "0.4262", "0.5013", "0.6915"),
];

#[test]
fn reproduces_the_domain_table_to_four_decimals() {
    for (p, best, e_best, e10, e20) in DOMAIN_TABLE {
        let k = best_pool_size(p, 100);
        assert_eq!(k, best, "best k at p = {p}");
        assert_eq!(format!("{:.4}", expected_tests_per_person(k, p)), e_best, "p = {p}");
        assert_eq!(format!("{:.4}", expected_tests_per_person(10, p)), e10, "p = {p}");
        assert_eq!(format!("{:.4}", expected_tests_per_person(20, p)), e20, "p = {p}");
    }
}

#[test]
fn at_one_percent_eleven_beats_ten_unrounded() {
    let (e10, e11) = (expected_tests_per_person(10, 0.01), expected_tests_per_person(11, 0.01));
    assert_eq!(format!("{e10:.4}"), format!("{e11:.4}"));
    assert!(e11 < e10, "{e11} < {e10}");
    assert_eq!(best_pool_size(0.01, 10), 10);
    assert_eq!(best_pool_size(0.01, 11), 11);
    assert_eq!(best_pool_size(0.01, 30), 11);
}

#[test]
fn formula_matches_the_naive_expression() {
    for p in [0.0f64, 1e-6, 0.0001, 0.01, 0.3, 0.9] {
        for k in 2..=50u32 {
            let naive = 1.0 / f64::from(k) + 1.0 - (1.0 - p).powi(k as i32);
            let e = expected_tests_per_person(k, p);
            assert!((e - naive).abs() < 1e-12, "k={k} p={p}: {e} vs {naive}");
        }
    }
}

#[test]
fn edge_values() {
    assert_eq!(expected_tests_per_person(0, 0.3), 1.0);
    assert_eq!(expected_tests_per_person(1, 0.3), 1.0);
    assert_eq!(expected_tests_per_person(4, 0.0), 0.25);
    assert_eq!(expected_tests_per_person(4, 1.0), 1.25);
    assert_eq!(expected_tests_per_person(4, 2.0), 1.25);
    assert_eq!(expected_tests_per_person(4, -1.0), 0.25);
    assert_eq!(expected_tests_per_person(4, f64::NAN), 1.25);
    assert_eq!(expected_tests_per_person(u32::MAX, 0.5), 1.0 + 1.0 / f64::from(u32::MAX));
    assert_eq!(positive_pool_probability(0, 0.5), 0.0);
    assert_eq!(best_pool_size(0.0, 20), 20);
    assert_eq!(best_pool_size(0.0, 0), 1);
    assert_eq!(best_pool_size(0.5, 30), 1);
    assert_eq!(best_pool_size(1.0, 30), 1);
    assert_eq!(best_pool_size(f64::NAN, 30), 1);
    assert_eq!(best_pool_size(0.0, u32::MAX), MAX_SCAN_K);
    assert_eq!(best_pool_size(1e-300, u32::MAX), MAX_SCAN_K);
    // Dorfman's cut-off: pooling stops paying near p ≈ 0.31.
    assert_eq!(best_pool_size(0.30, 30), 3);
    assert_eq!(best_pool_size(0.32, 30), 1);
}

#[test]
fn advice_with_no_abnormal_tube_uses_half_a_tube() {
    let rules = SamplingRules::default();
    let advice = pool_advice(0, 1000, 10_000, &rules);
    assert!(advice.has_data);
    assert_eq!(advice.mean_pool_size, 10.0);
    assert!((advice.abnormal_rate - 0.5 / 1001.0).abs() < 1e-15);
    let expected_p = 1.0 - (1.0 - 0.5 / 1001.0f64).powf(0.1);
    assert!((advice.prevalence - expected_p).abs() < 1e-15);
    assert!(advice.prevalence > 0.0 && advice.prevalence < 0.0001);
    assert_eq!(advice.table.len(), 30);
    assert_eq!(advice.table[0], (1, 1.0));
    assert_eq!(advice.table[29].0, 30);
    assert_eq!(advice.recommended, 30);
    assert_eq!(advice.recommended_allowed, 20);
    // More negative tubes, a lower estimate.
    assert!(pool_advice(0, 100_000, 1_000_000, &rules).prevalence < advice.prevalence);
}

#[test]
fn advice_with_abnormal_tubes_inverts_the_pool_rate() {
    let rules = SamplingRules::default();
    // 1% per person in pools of 10: q = 1 − 0.99^10 ≈ 9.56 %.
    let advice = pool_advice(956, 10_000, 100_000, &rules);
    assert!((advice.prevalence - 0.01).abs() < 2e-5, "{}", advice.prevalence);
    assert_eq!(advice.recommended, 11);
    assert_eq!(advice.recommended_allowed, 10);
    for (k, e) in &advice.table {
        assert_eq!(*e, expected_tests_per_person(*k, advice.prevalence));
    }
    // 5% per person in pools of 5: q = 1 − 0.95^5 ≈ 22.6 %.
    let advice = pool_advice(226, 1000, 5000, &rules);
    assert!((advice.prevalence - 0.05).abs() < 1e-4, "{}", advice.prevalence);
    assert_eq!(advice.recommended, 5);
    assert_eq!(advice.recommended_allowed, 5);
    // Single tubes: the abnormal rate is the prevalence.
    let advice = pool_advice(40, 100, 100, &rules);
    assert!((advice.prevalence - 0.4).abs() < 1e-12);
    assert_eq!(advice.recommended, 1);
    assert_eq!(advice.recommended_allowed, 1);
}

#[test]
fn advice_handles_odd_counts() {
    let rules = SamplingRules::default();
    let none = pool_advice(0, 0, 0, &rules);
    assert!(!none.has_data);
    assert_eq!(none.prevalence, 0.0);
    assert_eq!((none.recommended, none.recommended_allowed), (10, 10));
    assert_eq!(none.table.len(), 30);
    let all = pool_advice(50, 10, 100, &rules);
    assert_eq!(all.abnormal_rate, 1.0);
    assert_eq!(all.prevalence, 1.0);
    assert_eq!((all.recommended, all.recommended_allowed), (1, 1));
    let fewer_people = pool_advice(1, 10, 3, &rules);
    assert_eq!(fewer_people.mean_pool_size, 1.0);
    assert!((fewer_people.prevalence - 0.1).abs() < 1e-12);
    let huge = pool_advice(u64::MAX, u64::MAX, u64::MAX, &rules);
    assert!(huge.prevalence.is_finite());
    let empty_rules = SamplingRules { pool_sizes: Vec::new(), default_pool_size: 0, ..SamplingRules::default() };
    assert_eq!(pool_advice(1, 100, 1000, &empty_rules).recommended_allowed, 1);
}
