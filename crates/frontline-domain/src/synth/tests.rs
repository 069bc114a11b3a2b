//! Tests of the synthetic district.

use std::collections::HashSet;

use super::*;
use crate::ids::IdNumberError;

fn today() -> Date {
    Date::new(2022, 6, 20).unwrap_or(Date::from_days_since_epoch(19_163))
}

fn opts(residents: usize, seed: u64) -> SynthOptions {
    SynthOptions { residents, seed, today: today() }
}

/// Every person of the plan, in order.
fn everyone(o: &SynthOptions, p: &Plan) -> Vec<PersonPlan> {
    let mut ids = IdAllocator::new();
    p.households().enumerate().flat_map(|(i, h)| people(o, i as u64, h.size, &mut ids)).collect()
}

#[test]
fn default_size_matches_the_brief() {
    let o = opts(DEFAULT_RESIDENTS, 0);
    let p = plan(&o);
    assert_eq!(p.district, "漳州开发区");
    assert!(p.community.ends_with("社区"));
    assert_eq!(p.compounds.len(), 3);
    assert!((50..=70).contains(&p.building_count()), "{} buildings", p.building_count());
    let households = p.households().count();
    assert!((10_000..=14_000).contains(&households), "{households} households");
    assert_eq!(p.households().map(|h| h.size as usize).sum::<usize>(), DEFAULT_RESIDENTS);
    assert!(p.households().all(|h| (1..=6).contains(&h.size)));
    for b in p.compounds.iter().flat_map(|c| &c.buildings) {
        assert!((6..=33).contains(&b.floors), "{} floors", b.floors);
        assert!((1..=4).contains(&b.units.len()));
        for u in &b.units {
            for h in &u.households {
                assert!((1..=b.floors).contains(&h.floor));
                assert!(h.room.starts_with(&h.floor.to_string()) && h.room.len() == h.floor.to_string().len() + 2);
            }
        }
    }
}

#[test]
fn sizes_sum_exactly_for_many_resident_counts_and_seeds() {
    for (residents, seed) in [(1, 0), (2, 1), (3, 2), (7, 3), (13, 4), (99, 5), (1_000, 6), (2_000, 7), (4_321, 8)] {
        let p = plan(&opts(residents, seed));
        let sum: u64 = p.households().map(|h| u64::from(h.size)).sum();
        assert_eq!(sum, residents as u64, "residents {residents}");
        assert!(p.households().all(|h| (1..=6).contains(&h.size)));
        assert!(!p.compounds.is_empty() && p.compounds.len() <= 3);
    }
}

#[test]
fn tiny_districts_work() {
    let p = plan(&opts(0, 0));
    assert!(p.compounds.is_empty());
    assert_eq!(p.households().count(), 0);
    let o = opts(1, 0);
    let p = plan(&o);
    assert_eq!(p.compounds.len(), 1);
    assert_eq!(p.building_count(), 1);
    let h: Vec<_> = p.households().collect();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].size, 1);
    let mut ids = IdAllocator::new();
    assert_eq!(people(&o, 0, 1, &mut ids).len(), 1);
    assert!(people(&o, 1, 0, &mut ids).is_empty());
    assert_eq!(people(&o, 2, 9, &mut ids).len(), 9);
    assert_eq!(people(&o, 3, u32::MAX, &mut ids).len(), MAX_HOUSEHOLD_SIZE as usize);
}

#[test]
fn building_counts_stay_in_range_across_seeds() {
    for seed in 0..20 {
        let p = plan(&opts(DEFAULT_RESIDENTS, seed));
        assert!((50..=70).contains(&p.building_count()), "seed {seed}: {}", p.building_count());
    }
}

#[test]
fn same_seed_same_district_other_seed_other_district() {
    let a = opts(2_000, 7);
    let (pa, pb) = (plan(&a), plan(&a));
    assert_eq!(pa, pb);
    assert_eq!(everyone(&a, &pa), everyone(&a, &pb));
    let c = opts(2_000, 8);
    let pc = plan(&c);
    assert_ne!(pa, pc);
    assert_ne!(everyone(&a, &pa), everyone(&c, &pc));
    // A household's people do not depend on the households generated before it.
    let mut fresh = IdAllocator::new();
    let alone = people(&a, 100, 4, &mut fresh);
    let mut ids = IdAllocator::new();
    let _ = people(&a, 5, 3, &mut ids);
    assert_eq!(people(&a, 100, 4, &mut ids), alone);
}

#[test]
fn ids_are_unique_valid_and_consistent() {
    let o = opts(DEFAULT_RESIDENTS, 0);
    let p = plan(&o);
    let mut ids = IdAllocator::new();
    let mut seen = HashSet::new();
    let mut phones = HashSet::new();
    let mut total = 0;
    let mut flagged = 0;
    let mut living_alone = 0;
    for (i, h) in p.households().enumerate() {
        let family = people(&o, i as u64, h.size, &mut ids);
        assert_eq!(family.len(), h.size as usize);
        for m in &family {
            total += 1;
            assert!(seen.insert(m.id_number.as_str().to_string()), "duplicate {}", m.id_number.as_str());
            let parsed = IdNumber::parse(m.id_number.as_str());
            assert!(!matches!(parsed, Err(IdNumberError::BadCheckCharacter { .. })));
            match parsed {
                // No warning either: every region code is a known one.
                Ok(parsed) => assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings),
                Err(e) => panic!("{} refused: {e:?}", m.id_number.as_str()),
            }
            let birth = m.id_number.birth_date();
            let age = birth.age_on(o.today);
            assert!((0..=96).contains(&age), "age {age}");
            assert!(!m.name.is_empty() && m.name.chars().count() <= 3, "{}", m.name);
            if let Some(phone) = &m.phone {
                assert_eq!(phone.as_str().len(), 11);
                assert!(age >= 16, "a {age}-year-old with a phone");
                phones.insert(phone.as_str().to_string());
            }
            assert!(!m.needs.contains(SpecialNeed::Elderly) && !m.needs.contains(SpecialNeed::Infant));
            if !m.needs.is_empty() {
                flagged += 1;
            }
            let alone_and_old = h.size == 1 && age >= 65;
            assert_eq!(m.needs.contains(SpecialNeed::LivingAlone), alone_and_old);
            living_alone += usize::from(alone_and_old);
            if m.needs.contains(SpecialNeed::Pregnant) {
                assert_eq!(m.id_number.sex(), Sex::Female);
                assert!((22..=40).contains(&age));
            }
        }
    }
    assert_eq!(total, DEFAULT_RESIDENTS);
    assert!(phones.len() * 10 > total * 7, "{} phones", phones.len());
    let pct = flagged as f64 * 100.0 / total as f64;
    assert!((3.0..=5.0).contains(&pct), "{pct:.2}% flagged");
    assert!(living_alone > 0);
    assert_eq!(ids.len(), total);
}

#[test]
fn sexes_and_ages_follow_the_family_roles() {
    let o = opts(2_000, 3);
    let today = o.today.days_since_epoch();
    let mut ids = IdAllocator::new();
    let (mut children, mut fathers_surname) = (0, 0);
    for i in 0..3_000_u64 {
        let size = (i % 6) as u32 + 1;
        let mut rng = SplitMix64::new(i);
        let members = family::compose(&mut rng, size, today);
        assert_eq!(members.len(), size as usize);
        let head = members[0];
        for m in &members {
            let p = person(&mut rng, m, o.today, 18_687, size == 1, &mut ids);
            // The sequence parity follows the sex; the birth date the role.
            assert_eq!(p.id_number.sex(), m.sex);
            let age = p.id_number.birth_date().age_on(o.today);
            let ok = match m.role {
                Role::Child => (0..=26).contains(&age),
                Role::Grandparent => (55..=96).contains(&age),
                Role::Head | Role::Spouse | Role::Alone | Role::Other => (20..=100).contains(&age),
            };
            assert!(ok, "{:?} aged {age}", m.role);
            if m.role == Role::Spouse {
                assert_eq!(m.sex, Sex::Female);
                assert_eq!(head.sex, Sex::Male);
            }
            if m.role == Role::Child && head.sex == Sex::Male {
                children += 1;
                fathers_surname += usize::from(m.surname == head.surname);
            }
        }
    }
    assert!(children > 1_000 && fathers_surname * 100 > children * 90, "{fathers_surname} of {children}");
}

#[test]
fn footprints_are_closed_and_do_not_overlap() {
    for residents in [2_000, DEFAULT_RESIDENTS] {
        let p = plan(&opts(residents, 11));
        let mut boxes = Vec::new();
        for c in &p.compounds {
            assert!(!c.name.is_empty());
            for b in &c.buildings {
                assert!(!b.name.is_empty() && b.name.ends_with("号楼"));
                assert_eq!(b.footprint.len(), 5);
                assert_eq!(b.footprint.first(), b.footprint.last());
                let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
                for &[lon, lat] in &b.footprint {
                    assert!((lon - 118.065).abs() < 0.1 && (lat - 24.425).abs() < 0.1);
                    assert_eq!((lon * 1e7).round() / 1e7, lon);
                    w = w.min(lon);
                    e = e.max(lon);
                    s = s.min(lat);
                    n = n.max(lat);
                }
                // 10 m to 70 m on each side.
                let dx = (e - w) * 111_320.0 * 24.425_f64.to_radians().cos();
                let dy = (n - s) * 111_320.0;
                assert!((10.0..=70.0).contains(&dx) && (10.0..=70.0).contains(&dy), "{dx} x {dy}");
                boxes.push((w, s, e, n));
                for u in &b.units {
                    assert!(!u.name.is_empty() && u.name.ends_with("单元"));
                    assert!(u.households.iter().all(|h| !h.room.is_empty()));
                }
            }
        }
        boxes.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                if b.0 >= a.2 {
                    break;
                }
                let apart = a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }
}

#[test]
fn compound_names_are_distinct_for_big_districts() {
    let mut rng = SplitMix64::new(1);
    let many = names::compound_names(&mut rng, 5_000);
    assert_eq!(many.len(), 5_000);
    assert_eq!(many.iter().collect::<HashSet<_>>().len(), 5_000);
    assert!(many.iter().all(|n| n.contains('·')));
}

#[test]
fn large_districts_scale() {
    // 200,000 residents: 80,000 households, about 400 buildings in 20 compounds.
    let p = plan(&opts(200_000, 2));
    assert_eq!(p.households().map(|h| u64::from(h.size)).sum::<u64>(), 200_000);
    assert!((300..=500).contains(&p.building_count()), "{}", p.building_count());
    assert_eq!(p.compounds.len(), 20);
    let names: HashSet<_> = p.compounds.iter().map(|c| &c.name).collect();
    assert_eq!(names.len(), 20);
}
