//! Property tests of sampling: Dorfman pooling, tube codes, the person state machine and coverage.

use frontline_domain::sampling::{
    apply, best_pool_size, check_add_member, expected_tests_per_person, pool_advice, Coverage, Event, ExemptReason,
    LabResult, MissReason, PersonStatus, RetestResult, SamplingRules, TubeAction, TubeCode, TubeState,
};
use proptest::prelude::*;
use proptest::sample::select;

/// A prevalence in [0, 1).
fn prevalence() -> impl Strategy<Value = f64> {
    prop_oneof![0.0..1.0f64, 0.0..0.05f64, select(vec![0.0, 1e-12, 1e-6, 0.0001, 0.001, 0.01, 0.3, 0.999_999])]
}

/// A valid tube code from a small set, so that events often name the same tube.
fn tube() -> impl Strategy<Value = TubeCode> {
    select(vec!["TUBE000001", "TUBE000002", "2206130001234"]).prop_map(|s| TubeCode::parse(s).expect("valid tube code"))
}

/// Any event.
fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        tube().prop_map(Event::Scanned),
        select(LabResult::ALL.to_vec()).prop_map(Event::TubeResult),
        tube().prop_map(Event::RetestScanned),
        select(RetestResult::ALL.to_vec()).prop_map(Event::RetestResult),
        select(MissReason::ALL.to_vec()).prop_map(Event::MarkMissed),
        select(ExemptReason::ALL.to_vec()).prop_map(Event::Exempt),
    ]
}

/// The true argmin of E(k, p) over 1..=max_k, ties to the smaller k, by brute force.
fn brute_force_best(p: f64, max_k: u32) -> u32 {
    let mut best = (1, expected_tests_per_person(1, p));
    for k in 2..=max_k {
        let e = expected_tests_per_person(k, p);
        if e < best.1 {
            best = (k, e);
        }
    }
    best.0
}

proptest! {
    #[test]
    fn expected_tests_are_positive_and_bounded(k in 1u32..200, p in prevalence()) {
        let e = expected_tests_per_person(k, p);
        prop_assert!(e > 0.0, "E({k}, {p}) = {e}");
        prop_assert!(e <= 1.0 + 1.0 / f64::from(k), "E({k}, {p}) = {e}");
        prop_assert!(e >= 1.0 / f64::from(k) || k == 1);
        // Pooling pays (E ≤ 1) exactly while (1−p)^k ≥ 1/k, up to rounding.
        let naive = (1.0 - p).powf(f64::from(k));
        if k >= 2 && naive > 1.0 / f64::from(k) + 1e-9 {
            prop_assert!(e <= 1.0);
        }
    }

    #[test]
    fn the_best_pool_size_needs_at_most_one_test_per_person(p in prevalence(), max_k in 1u32..200) {
        let k = best_pool_size(p, max_k);
        let e = expected_tests_per_person(k, p);
        prop_assert!((1..=max_k).contains(&k));
        prop_assert!(e > 0.0 && e <= 1.0, "E({k}, {p}) = {e}");
    }

    #[test]
    fn best_pool_size_is_the_brute_force_minimum(p in prevalence(), max_k in 1u32..300) {
        prop_assert_eq!(best_pool_size(p, max_k), brute_force_best(p, max_k));
    }

    #[test]
    fn expected_tests_never_panic(k in any::<u32>(), p in any::<f64>()) {
        let e = expected_tests_per_person(k, p);
        prop_assert!(e.is_finite() && e > 0.0);
        let _ = best_pool_size(p, k % 2000);
    }

    #[test]
    fn pool_advice_is_sane(a in any::<u64>(), n in any::<u64>(), m in any::<u64>()) {
        let advice = pool_advice(a, n, m, &SamplingRules::default());
        prop_assert!((0.0..=1.0).contains(&advice.prevalence));
        prop_assert_eq!(advice.table.len(), 30);
        prop_assert!((1..=30).contains(&advice.recommended));
        prop_assert!([1, 5, 10, 20].contains(&advice.recommended_allowed));
    }

    #[test]
    fn more_abnormal_tubes_never_lower_the_estimate(a in 0u64..1000, n in 1u64..1000, k in 1u64..30) {
        let rules = SamplingRules::default();
        let a = a.min(n);
        let lower = pool_advice(a, n, n * k, &rules).prevalence;
        let higher = pool_advice((a + 1).min(n), n, n * k, &rules).prevalence;
        prop_assert!(higher >= lower);
    }

    #[test]
    fn tube_code_parse_never_panics_and_round_trips(raw in any::<String>()) {
        if let Ok(code) = TubeCode::parse(&raw) {
            let s = code.as_str();
            prop_assert!((6..=32).contains(&s.len()));
            prop_assert!(s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
            prop_assert_eq!(TubeCode::parse(s), Ok(code.clone()));
        }
    }

    #[test]
    fn tube_codes_of_the_right_shape_parse(s in "[A-Za-z0-9]{6,32}") {
        // Only a resident's sampling code of the same shape is refused.
        match TubeCode::parse(&s) {
            Ok(code) => prop_assert_eq!(code.as_str(), s.to_ascii_uppercase()),
            Err(e) => prop_assert_eq!(e.code(), "is_resident_code"),
        }
    }

    #[test]
    fn the_state_machine_never_panics_and_stays_consistent(events in prop::collection::vec(event(), 0..40)) {
        let mut status = PersonStatus::Expected;
        let mut confirmed = false;
        for e in &events {
            match apply(&status, e) {
                Ok(next) => {
                    // A legal step never leaves "sampled at least once" once it was reached,
                    // except that an invalid tube puts the person back on the missed list.
                    if status.counts_as_sampled() && !next.counts_as_sampled() {
                        prop_assert_eq!(e, &Event::TubeResult(LabResult::Invalid));
                    }
                    status = next;
                }
                Err(err) => prop_assert!(!err.code().is_empty()),
            }
            confirmed |= status == PersonStatus::Confirmed;
            prop_assert!(!confirmed || status == PersonStatus::Confirmed);
            prop_assert!(PersonStatus::CODES.contains(&status.code()));
            let c = Coverage::of([&status]);
            prop_assert_eq!(c.expected + c.exempt, 1);
            prop_assert_eq!(c.missed() == 1, status.needs_sampling());
        }
    }

    #[test]
    fn replaying_a_legal_scan_changes_nothing(events in prop::collection::vec(event(), 0..20), t in tube()) {
        let mut status = PersonStatus::Expected;
        for e in &events {
            if let Ok(next) = apply(&status, e) {
                status = next;
            }
        }
        for e in [Event::Scanned(t.clone()), Event::RetestScanned(t)] {
            if let Ok(once) = apply(&status, &e) {
                prop_assert_eq!(apply(&once, &e), Ok(once.clone()));
            }
        }
    }

    #[test]
    fn a_tube_takes_exactly_its_pool_size(pool_size in 1u32..30, round in any::<i64>()) {
        let mut tube = None;
        let mut admitted = 0u32;
        for _ in 0..pool_size + 3 {
            match check_add_member(tube.as_ref(), round, pool_size) {
                Ok(action) => {
                    admitted += 1;
                    let t = tube.get_or_insert(TubeState { round, pool_size, members: 0, sealed: false });
                    prop_assert_eq!(matches!(action, TubeAction::Open { .. }), admitted == 1);
                    t.members += 1;
                    t.sealed = action.now_full();
                }
                Err(refusal) => prop_assert_eq!(refusal.code(), "tube_full"),
            }
        }
        prop_assert_eq!(admitted, pool_size);
    }

    #[test]
    fn coverage_merge_is_additive(a in prop::array::uniform3(0u64..1_000_000), b in prop::array::uniform3(0u64..1_000_000)) {
        let x = Coverage { expected: a[0], sampled: a[1].min(a[0]), exempt: a[2] };
        let y = Coverage { expected: b[0], sampled: b[1].min(b[0]), exempt: b[2] };
        let z = x.merge(y);
        prop_assert_eq!(z, y.merge(x));
        prop_assert_eq!(z.missed(), x.missed() + y.missed());
        prop_assert!((0.0..=1.0).contains(&z.ratio()));
    }
}
