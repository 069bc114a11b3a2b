//! Reads that pages make many of at once, on both backends: one building's
//! coverage against the round's missed list and counts, and the list reads
//! (residents, building names, rounds) against their one-at-a-time versions.

use std::collections::BTreeMap;

use frontline_domain::date::Date;
use frontline_domain::people::SpecialNeeds;
use frontline_domain::sampling::{LabResult, TubeCode};
use frontline_domain::synth::SynthOptions;
use frontline_store::residents::{Document, NewResident, Resident};
use frontline_store::sampling::{MissedFilter, NewRound, SamplingRound, Scan, ScanWriter, TeamAssignment};
use frontline_store::testing::TestDb;
use frontline_store::{conformance, Actor, Store};

/// A synthetic district of `residents`; the ids of its buildings.
async fn seeded(store: &Store, residents: usize) -> Vec<i64> {
    let opts = SynthOptions { residents, seed: 5, today: Date::new(2022, 6, 13).expect("date") };
    store.seed_synthetic(&Actor::system("test"), &opts).await.expect("seed");
    store.list_buildings(None, None, 500).await.expect("buildings").items.iter().map(|b| b.id).collect()
}

async fn new_round(store: &Store, name: &str, buildings: Vec<i64>, teams: Vec<TeamAssignment>) -> SamplingRound {
    let round =
        NewRound { name: name.into(), pool_size: 5, mode: "door_to_door".into(), deadline: None, buildings, teams };
    store.create_sampling_round(&Actor::system("test"), &round).await.expect("round")
}

/// Every resident, by id.
async fn everyone(store: &Store) -> Vec<Resident> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_residents(&Default::default(), after, 500).await.expect("residents");
        out.extend(page.items);
        match page.next {
            Some(n) => after = n.parse().ok(),
            None => return out,
        }
    }
}

/// Binds `residents` in round `round`, three to a tube named `prefix` and a number.
async fn sample(store: &Store, round: i64, prefix: &str, residents: &[i64]) {
    let writer = ScanWriter::spawn(store.clone(), 100);
    let scans: Vec<Scan> = residents
        .iter()
        .enumerate()
        .map(|(i, r)| Scan {
            key: format!("{prefix}-{round}-{i}"),
            round,
            tube: format!("{prefix}{:04}", i / 3),
            resident: Some(*r),
            refusal: None,
            at: 1_000 + i64::try_from(i).unwrap_or(0),
        })
        .collect();
    let answered = writer.submit("sampler".into(), scans).await.expect("written");
    assert!(answered.iter().all(|s| *s == "accepted"), "{answered:?}");
}

async fn one_buildings_coverage_agrees_with_the_round(db: TestDb) {
    let store = db.store.clone();
    let system = Actor::system("test");
    let buildings = seeded(&store, 2_000).await;
    assert!(buildings.len() >= 3, "several buildings: {buildings:?}");
    let teams = vec![TeamAssignment { building: buildings[1], team: Some("east".into()) }];
    let round = new_round(&store, "R", buildings.clone(), teams).await;
    let other = new_round(&store, "other", buildings.clone(), vec![]).await;

    // In every building: some sampled, one of them in a tube the lab voids, some
    // exempted, one exempted after being sampled; another round over the same
    // buildings samples and exempts others.
    let people = everyone(&store).await;
    let mut by_building: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in &people {
        if let Some(b) = r.building_id {
            by_building.entry(b).or_default().push(r.id);
        }
    }
    let (mut sampled, mut voided, mut exempted, mut in_other) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, ids) in by_building.values().enumerate() {
        let n = ids.len();
        assert!(n >= 20, "a building of {n}");
        // A different share of each building, so that no two count alike.
        sampled.extend(&ids[..(n / 3 + i).min(n - 8)]);
        voided.extend(&ids[n - 8..n - 5]);
        exempted.extend(&ids[n - 5..n - 2]);
        in_other.extend(&ids[n / 2..]);
    }
    sample(&store, round.id, "RA", &sampled).await;
    sample(&store, round.id, "RV", &voided).await;
    let void: Vec<(TubeCode, LabResult)> = (0..voided.len().div_ceil(3))
        .map(|t| (TubeCode::parse(&format!("RV{t:04}")).expect("code"), LabResult::Invalid))
        .collect();
    store.record_lab_results(&system, &void, 24).await.expect("lab");
    for r in &exempted {
        store.exempt_from_round(&system, round.id, *r, "away").await.expect("exempt");
    }
    // Sampled, then exempted all the same: expected and sampled.
    store.exempt_from_round(&system, round.id, sampled[0], "away").await.expect("exempt");
    sample(&store, other.id, "OT", &in_other).await;
    for r in &sampled[..5] {
        store.exempt_from_round(&system, other.id, *r, "away").await.expect("exempt");
    }

    let coverage = store.sampling_coverage(round.id).await.expect("coverage");
    assert_eq!(coverage.buildings.len(), buildings.len());
    let missed = store.sampling_missed(round.id, &MissedFilter::default()).await.expect("missed");
    assert_eq!(coverage.missed, i64::try_from(missed.len()).expect("n"));
    for whole in &coverage.buildings {
        let b = whole.building;
        let one = store.building_coverage(round.id, b).await.expect("one building");
        assert_eq!(&one, whole, "building {b} as the round's coverage has it");
        let detail = store.building_coverage_detail(round.id, b).await.expect("detail");
        assert_eq!(&detail.totals, whole);
        let here = store
            .sampling_missed(round.id, &MissedFilter { building: Some(b), team: None })
            .await
            .expect("missed here");
        assert_eq!(here.len(), missed.iter().filter(|m| m.building_id == b).count());
        assert_eq!(one.expected - one.sampled, i64::try_from(here.len()).expect("n"), "building {b}");
        // Units and households add up to the building, and each household's
        // missing are the missed list's people at its address.
        let mut units = (0, 0);
        let mut missing_by_room: BTreeMap<(String, Option<i64>, String), i64> = BTreeMap::new();
        for u in &detail.units {
            let sums = u.households.iter().fold((0, 0), |(e, s), h| (e + h.expected, s + h.sampled));
            assert_eq!(sums, (u.expected, u.sampled), "unit {}", u.unit);
            units = (units.0 + u.expected, units.1 + u.sampled);
            for h in &u.households {
                assert!(h.sampled <= h.expected, "household {}", h.household);
                if h.expected > h.sampled {
                    *missing_by_room.entry((u.name.clone(), h.floor, h.room.clone())).or_default() +=
                        h.expected - h.sampled;
                }
            }
        }
        assert_eq!(units, (one.expected, one.sampled), "building {b}");
        let mut listed: BTreeMap<(String, Option<i64>, String), i64> = BTreeMap::new();
        for m in &here {
            *listed.entry((m.unit.clone(), m.floor, m.room.clone())).or_default() += 1;
        }
        assert_eq!(missing_by_room, listed, "building {b}");
    }
    // The shares set up above, building by building.
    for (i, (b, ids)) in by_building.iter().enumerate() {
        let n = i64::try_from(ids.len()).expect("n");
        let one = store.building_coverage(round.id, *b).await.expect("one building");
        let bound = (n / 3 + i64::try_from(i).expect("i")).min(n - 8);
        let exempt_and_missed = 3;
        assert_eq!((one.expected, one.sampled), (n - exempt_and_missed, bound), "building {b}");
        assert_eq!(one.team.as_deref(), (*b == buildings[1]).then_some("east"));
    }
    // Outside the round's scope, or no such round: not found.
    let elsewhere = new_round(&store, "small", vec![buildings[0]], vec![]).await;
    assert!(matches!(
        store.building_coverage_detail(elsewhere.id, buildings[1]).await,
        Err(frontline_store::StoreError::NotFound)
    ));
    assert!(matches!(
        store.building_coverage(elsewhere.id + 100, buildings[0]).await,
        Err(frontline_store::StoreError::NotFound)
    ));
}

async fn residents_by_id_are_read_as_one_at_a_time(db: TestDb) {
    let store = db.store.clone();
    seeded(&store, 2_300).await;
    // Someone without an address, too.
    let homeless = store
        .create_resident(
            &Actor::system("test"),
            &NewResident {
                name: "无址".into(),
                document: Document::None,
                birth_date: None,
                sex: None,
                phone: None,
                household_id: None,
                needs: SpecialNeeds::default(),
            },
        )
        .await
        .expect("resident");
    let people = everyone(&store).await;
    assert!(people.len() > 2_000, "more than two chunks");
    // Asked in any order, with repeats and an id that names no one.
    let mut ids: Vec<i64> = people.iter().rev().map(|r| r.id).collect();
    ids.push(people[7].id);
    ids.push(homeless.id + 1_000_000);
    let read = store.get_residents(&ids).await.expect("residents");
    let mut one_by_one = Vec::new();
    for r in &people {
        one_by_one.push(store.get_resident(r.id).await.expect("resident"));
    }
    assert_eq!(read, one_by_one);
    assert!(read.iter().any(|r| r.id == homeless.id && r.address.is_none()));
    assert!(store.get_residents(&[]).await.expect("none").is_empty());
}

async fn building_names_are_read_as_one_at_a_time(db: TestDb) {
    let store = db.store.clone();
    let buildings = seeded(&store, 1_500).await;
    let mut asked: Vec<i64> = buildings.iter().rev().copied().collect();
    asked.push(buildings[0]);
    asked.push(buildings.iter().max().expect("a building") + 1_000);
    let names = store.building_names(&asked).await.expect("names");
    let mut one_by_one = Vec::new();
    for b in &buildings {
        one_by_one.push((*b, store.get_building(*b).await.expect("building").summary.name));
    }
    assert_eq!(names, one_by_one);
    assert!(store.building_names(&[]).await.expect("none").is_empty());
}

async fn the_rounds_list_is_each_round_as_read_alone(db: TestDb) {
    let store = db.store.clone();
    assert!(store.list_sampling_rounds().await.expect("rounds").is_empty());
    let buildings = seeded(&store, 1_500).await;
    let system = Actor::system("test");
    let first = new_round(&store, "first", buildings.clone(), vec![]).await;
    let teams = vec![
        TeamAssignment { building: buildings[0], team: Some("north".into()) },
        TeamAssignment { building: buildings[2], team: Some("south".into()) },
    ];
    let second = new_round(&store, "second", buildings[..3].to_vec(), teams).await;
    let empty = new_round(&store, "empty", vec![], vec![]).await;
    let last = new_round(&store, "last", vec![buildings[1]], vec![]).await;
    store
        .assign_sampling_teams(
            &system,
            first.id,
            &[TeamAssignment { building: buildings[1], team: Some("west".into()) }],
        )
        .await
        .expect("teams");
    store.close_sampling_round(&system, second.id).await.expect("close");

    let listed = store.list_sampling_rounds().await.expect("rounds");
    let mut alone = Vec::new();
    for id in [last.id, empty.id, second.id, first.id] {
        alone.push(store.get_sampling_round(id).await.expect("round"));
    }
    assert_eq!(listed, alone);
    assert_eq!(listed[1].buildings, Vec::<i64>::new());
    assert_eq!(listed[2].teams.len(), 2);
    assert_eq!(listed[2].status, "closed");
    assert_eq!(listed[3].teams, vec![TeamAssignment { building: buildings[1], team: Some("west".into()) }]);
}

conformance!(
    one_buildings_coverage_agrees_with_the_round,
    residents_by_id_are_read_as_one_at_a_time,
    building_names_are_read_as_one_at_a_time,
    the_rounds_list_is_each_round_as_read_alone,
);
