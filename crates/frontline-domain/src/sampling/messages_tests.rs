//! Every code the sampling module emits has a text in both languages in `messages_sampling.toml`,
//! with exactly the parameters the code carries.
//!
//! Once the catalogue owner merges that file into `messages.toml`, point [`SOURCE`] at it.

use std::collections::BTreeSet;

use super::*;
use crate::i18n::{Catalogue, Lang};

/// The sampling messages, before they are merged into the main catalogue.
const SOURCE: &str = include_str!("../../messages_sampling.toml");

fn catalogue() -> Catalogue {
    let cat = Catalogue::parse(SOURCE);
    assert!(cat.problems().is_empty(), "{:#?}", cat.problems());
    cat
}

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string())).collect()
}

/// Checks that `key` exists and that both texts hold exactly the placeholders `params`.
fn check(cat: &Catalogue, key: &str, params: &[(&str, String)]) {
    assert!(cat.has(key), "missing message {key}");
    let want: BTreeSet<String> = params.iter().map(|(n, _)| (*n).to_string()).collect();
    for lang in Lang::ALL {
        assert_eq!(placeholders(cat.text(lang, key)), want, "{key} in {lang:?}");
    }
}

#[test]
fn every_value_code_has_a_message() {
    let cat = catalogue();
    let mut keys = Vec::new();
    keys.extend(LabResult::ALL.iter().map(|r| format!("sampling.result.{}", r.code())));
    keys.extend(RetestResult::ALL.iter().map(|r| format!("sampling.retest_result.{}", r.code())));
    keys.extend(PersonStatus::CODES.iter().map(|c| format!("sampling.status.{c}")));
    keys.extend(MissReason::ALL.iter().map(|r| format!("sampling.miss_reason.{}", r.code())));
    keys.extend(ExemptReason::ALL.iter().map(|r| format!("sampling.exempt_reason.{}", r.code())));
    keys.extend(ScanRefusal::ALL.iter().map(|r| format!("sampling.refusal.{}", r.code())));
    let tube = TubeCode::parse("ZZ2206130001234").expect("valid");
    for event in [
        Event::Scanned(tube.clone()),
        Event::TubeResult(LabResult::Negative),
        Event::RetestScanned(tube),
        Event::RetestResult(RetestResult::Negative),
        Event::MarkMissed(MissReason::Away),
        Event::Exempt(ExemptReason::Away),
    ] {
        keys.push(format!("sampling.event.{}", event.code()));
    }
    for key in &keys {
        check(&cat, key, &[]);
    }
}

#[test]
fn every_error_has_a_message_with_its_parameters() {
    let cat = catalogue();
    let tube = TubeCode::parse("ZZ2206130001234").expect("valid");
    let transitions = [
        TransitionError::AlreadyInTube { tube: tube.clone() },
        TransitionError::AlreadySampled,
        TransitionError::AlreadyConfirmed,
        TransitionError::RetestRequired,
        TransitionError::NoRetestDue,
        TransitionError::RetestAlreadyTaken { tube },
        TransitionError::NotAwaitingResult,
        TransitionError::NotAwaitingRetestResult,
        TransitionError::ReservedReason { reason: MissReason::TubeInvalid },
    ];
    for e in &transitions {
        check(&cat, &format!("sampling.transition.{}", e.code()), &e.params());
    }
    for e in [
        TubeCodeError::Empty,
        TubeCodeError::BadCharacter { position: 1, found: '#' },
        TubeCodeError::BadLength { len: 3 },
        TubeCodeError::IsResidentCode,
    ] {
        check(&cat, &format!("sampling.error.tube_code.{}", e.code()), &e.params());
    }
    let e = PoolSizeError::NotAllowed { size: 7, allowed: vec![1, 10] };
    check(&cat, &format!("sampling.error.pool_size.{}", e.code()), &e.params());
    let e = LabResultError::UnknownResult { raw: "?".into() };
    check(&cat, &format!("sampling.error.lab_result.{}", e.code()), &e.params());
    for e in [
        RulesError::NoPoolSizes,
        RulesError::PoolSizeOutOfRange { size: 0 },
        RulesError::DefaultNotAllowed { size: 7 },
        RulesError::ZeroHours { field: "retest_deadline_hours" },
    ] {
        check(&cat, &format!("sampling.error.rules.{}", e.code()), &e.params());
    }
}

#[test]
fn advice_labels_exist() {
    let cat = catalogue();
    for label in [
        "title",
        "abnormal_rate",
        "mean_pool_size",
        "prevalence",
        "pool_size",
        "expected_tests",
        "recommended",
        "recommended_allowed",
        "no_data",
        "estimator",
        "door_visits",
    ] {
        check(&cat, &format!("sampling.advice.{label}"), &[]);
    }
    let observed = [("tubes", String::new()), ("abnormal", String::new()), ("people", String::new())];
    check(&cat, "sampling.advice.observed", &observed);
}

#[test]
fn keys_do_not_clash_with_the_main_catalogue() {
    let main = crate::i18n::catalogue();
    let ours = catalogue();
    for key in ours.keys() {
        if main.has(key) {
            for lang in Lang::ALL {
                assert_eq!(main.text(lang, key), ours.text(lang, key), "{key} differs after a merge");
            }
        }
    }
    assert!(ours.keys().all(|k| k.starts_with("sampling.")));
}
