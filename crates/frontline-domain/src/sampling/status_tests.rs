//! Unit tests of the person state machine: every state against every kind of event.

use super::*;

fn tube(s: &str) -> TubeCode {
    TubeCode::parse(s).expect("valid tube code")
}

/// One state of each kind; the sampled ones in tubes T1 (pooled) and T2 (retest).
fn states() -> Vec<PersonStatus> {
    vec![
        PersonStatus::Expected,
        PersonStatus::Sampled { tube: tube("TUBE000001") },
        PersonStatus::Cleared,
        PersonStatus::RetestPending,
        PersonStatus::RetestSampled { tube: tube("TUBE000002") },
        PersonStatus::Confirmed,
        PersonStatus::Missed { reason: MissReason::NotHome },
        PersonStatus::Exempt { reason: ExemptReason::Infant },
    ]
}

/// One event of each kind, with the same and a different tube where a tube is involved.
fn events() -> Vec<Event> {
    vec![
        Event::Scanned(tube("TUBE000001")),
        Event::Scanned(tube("TUBE000003")),
        Event::TubeResult(LabResult::Negative),
        Event::TubeResult(LabResult::Abnormal),
        Event::TubeResult(LabResult::Invalid),
        Event::RetestScanned(tube("TUBE000002")),
        Event::RetestScanned(tube("TUBE000003")),
        Event::RetestResult(RetestResult::Negative),
        Event::RetestResult(RetestResult::Positive),
        Event::RetestResult(RetestResult::Invalid),
        Event::MarkMissed(MissReason::Refused),
        Event::MarkMissed(MissReason::TubeInvalid),
        Event::Exempt(ExemptReason::Away),
    ]
}

/// The outcome as a short string: the new state's code (with its tube or reason), or "!" and the error code.
fn outcome(status: &PersonStatus, event: &Event) -> String {
    match apply(status, event) {
        Ok(PersonStatus::Sampled { tube }) | Ok(PersonStatus::RetestSampled { tube }) => tube.as_str()[8..].to_string(),
        Ok(PersonStatus::Missed { reason }) => format!("missed:{}", reason.code()),
        Ok(PersonStatus::Exempt { reason }) => format!("exempt:{}", reason.code()),
        Ok(s) => s.code().to_string(),
        Err(e) => format!("!{}", e.code()),
    }
}

#[test]
fn the_full_transition_table() {
    // Columns follow `events()`; "01" etc. are the tube of a (retest) sampled state.
    let expected: [[&str; 13]; 8] = [
        // Expected
        [
            "01",
            "03",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!no_retest_due",
            "!no_retest_due",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "missed:refused",
            "!reserved_reason",
            "exempt:away",
        ],
        // Sampled in 01
        [
            "01",
            "!already_in_tube",
            "cleared",
            "retest_pending",
            "missed:tube_invalid",
            "!no_retest_due",
            "!no_retest_due",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!already_sampled",
            "!reserved_reason",
            "!already_sampled",
        ],
        // Cleared
        [
            "!already_sampled",
            "!already_sampled",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!no_retest_due",
            "!no_retest_due",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!already_sampled",
            "!reserved_reason",
            "!already_sampled",
        ],
        // RetestPending
        [
            "!retest_required",
            "!retest_required",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "02",
            "03",
            "cleared",
            "confirmed",
            "retest_pending",
            "!already_sampled",
            "!reserved_reason",
            "!already_sampled",
        ],
        // RetestSampled in 02
        [
            "!retest_required",
            "!retest_required",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "02",
            "!retest_already_taken",
            "cleared",
            "confirmed",
            "retest_pending",
            "!already_sampled",
            "!reserved_reason",
            "!already_sampled",
        ],
        // Confirmed
        ["!already_confirmed"; 13],
        // Missed (not home)
        [
            "01",
            "03",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!no_retest_due",
            "!no_retest_due",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "missed:refused",
            "!reserved_reason",
            "exempt:away",
        ],
        // Exempt (infant)
        [
            "01",
            "03",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!not_awaiting_result",
            "!no_retest_due",
            "!no_retest_due",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "!not_awaiting_retest_result",
            "missed:refused",
            "!reserved_reason",
            "exempt:away",
        ],
    ];
    for (status, row) in states().iter().zip(expected) {
        for (event, want) in events().iter().zip(row) {
            assert_eq!(outcome(status, event), want, "{status:?} + {event:?}");
        }
    }
}

#[test]
fn a_whole_round_with_an_abnormal_pool() {
    let steps = [
        (Event::Scanned(tube("ZZ2206130001234")), "sampled"),
        (Event::TubeResult(LabResult::Abnormal), "retest_pending"),
        (Event::RetestScanned(tube("ZZ2206130009999")), "retest_sampled"),
        (Event::RetestResult(RetestResult::Invalid), "retest_pending"),
        (Event::RetestScanned(tube("ZZ2206130010000")), "retest_sampled"),
        (Event::RetestResult(RetestResult::Negative), "cleared"),
    ];
    let mut s = PersonStatus::Expected;
    for (event, code) in steps {
        s = apply(&s, &event).expect("legal step");
        assert_eq!(s.code(), code);
    }
}

#[test]
fn an_invalid_tube_puts_the_person_back_on_the_missed_list() {
    let s = apply(&PersonStatus::Expected, &Event::Scanned(tube("123456789012"))).expect("scan");
    let s = apply(&s, &Event::TubeResult(LabResult::Invalid)).expect("invalid");
    assert_eq!(s, PersonStatus::Missed { reason: MissReason::TubeInvalid });
    assert!(s.needs_sampling());
    let s = apply(&s, &Event::Scanned(tube("123456789013"))).expect("补采");
    assert_eq!(s.tube().map(TubeCode::as_str), Some("123456789013"));
}

#[test]
fn predicates_and_codes() {
    let flags: Vec<(&str, bool, bool, bool, bool)> = states()
        .iter()
        .map(|s| (s.code(), s.counts_as_sampled(), s.needs_sampling(), s.needs_retest(), s.is_exempt()))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("expected", false, true, false, false),
            ("sampled", true, false, false, false),
            ("cleared", true, false, false, false),
            ("retest_pending", true, false, true, false),
            ("retest_sampled", true, false, false, false),
            ("confirmed", true, false, false, false),
            ("missed", false, true, false, false),
            ("exempt", false, false, false, true),
        ]
    );
    let codes: Vec<_> = states().iter().map(PersonStatus::code).collect();
    assert_eq!(codes, PersonStatus::CODES);
    let event_codes: Vec<_> = events().iter().map(Event::code).collect();
    assert_eq!(
        event_codes,
        [
            "scanned",
            "scanned",
            "tube_result",
            "tube_result",
            "tube_result",
            "retest_scanned",
            "retest_scanned",
            "retest_result",
            "retest_result",
            "retest_result",
            "mark_missed",
            "mark_missed",
            "exempt"
        ]
    );
}

#[test]
fn errors_carry_their_parameters() {
    let err = apply(&PersonStatus::Sampled { tube: tube("TUBE000001") }, &Event::Scanned(tube("TUBE000009")))
        .expect_err("other tube");
    assert_eq!(err, TransitionError::AlreadyInTube { tube: tube("TUBE000001") });
    assert_eq!(err.params(), vec![("tube", "TUBE000001".to_string())]);
    let err = apply(&PersonStatus::Expected, &Event::MarkMissed(MissReason::TubeInvalid)).expect_err("reserved");
    assert_eq!(err.params(), vec![("reason", "tube_invalid".to_string())]);
    assert!(TransitionError::AlreadySampled.params().is_empty());
}

#[test]
fn status_serialises_with_a_tag() {
    let s = PersonStatus::Sampled { tube: tube("ZZ2206130001234") };
    let json = serde_json::to_string(&s).unwrap_or_default();
    assert_eq!(json, r#"{"status":"sampled","tube":"ZZ2206130001234"}"#);
    assert_eq!(serde_json::from_str::<PersonStatus>(&json).ok(), Some(s));
    let m = PersonStatus::Missed { reason: MissReason::NotHome };
    let json = serde_json::to_string(&m).unwrap_or_default();
    assert_eq!(json, r#"{"status":"missed","reason":"not_home"}"#);
    assert_eq!(serde_json::to_string(&PersonStatus::Cleared).unwrap_or_default(), r#"{"status":"cleared"}"#);
}
