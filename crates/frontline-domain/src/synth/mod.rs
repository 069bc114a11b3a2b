//! A deterministic synthetic development-zone district (漳州开发区) for the demo and the benchmarks.
//!
//! [`plan`] lays out compounds, buildings (with footprints), units and
//! households; [`people`] fills one household with a family. Everything is
//! derived from [`SynthOptions::seed`] through [`SplitMix64`], so the same
//! options always give the same district, and a household's people depend
//! only on the seed and the household's index (they can be generated in
//! parallel or streamed), apart from the rare ID-number collisions that
//! [`IdAllocator`] resolves in the order households are fed to it.

mod alloc;
mod family;
mod layout;
mod names;
#[cfg(test)]
mod tests;

pub use alloc::IdAllocator;

use crate::date::Date;
use crate::ids::{IdNumber, Phone, Sex};
use crate::people::{SpecialNeed, SpecialNeeds};
use crate::rng::SplitMix64;

use family::{Member, Role};
use layout::Layout;

/// The district's name.
pub const DISTRICT: &str = "漳州开发区";

/// The name of the census round the seeded register stands as in each
/// compound: the people seeded are those the first round found, so the next
/// round's sheet is reconciled with them.
pub const FIRST_ROUND: &str = "首轮摸排";

/// Residents of the default demo district.
pub const DEFAULT_RESIDENTS: usize = 30_000;

/// Households larger than this are cut to this size by [`people`].
pub const MAX_HOUSEHOLD_SIZE: u32 = 64;

/// Fewer households than this left over after a building are given to that building.
const SCRAP: u64 = 40;

/// Stream of the plan's generator (forked from the seed).
const PLAN_STREAM: u64 = 1;
/// Salt of the people generators (each household forks its own stream).
const PEOPLE_SALT: u64 = 0x5EED_0F9E_0F1E;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthOptions {
    /// Number of residents; household sizes add up to exactly this.
    pub residents: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// The day ages are counted to.
    pub today: Date,
}

impl SynthOptions {
    /// The demo district: [`DEFAULT_RESIDENTS`] residents, seed 0, ages as of `today`.
    pub fn demo(today: Date) -> SynthOptions {
        SynthOptions { residents: DEFAULT_RESIDENTS, seed: 0, today }
    }
}

/// The whole district: community, compounds, buildings, units, households.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// District name (漳州开发区).
    pub district: String,
    /// Community (社区) name.
    pub community: String,
    /// Residential compounds (小区), side by side.
    pub compounds: Vec<CompoundPlan>,
}

/// A residential compound (小区).
#[derive(Clone, Debug, PartialEq)]
pub struct CompoundPlan {
    /// Display name, e.g. "招商·海月花园".
    pub name: String,
    /// Buildings, numbered from 1.
    pub buildings: Vec<BuildingPlan>,
}

/// A residential building.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildingPlan {
    /// Number within the compound, from 1.
    pub number: u32,
    /// Display name, e.g. "3号楼".
    pub name: String,
    /// Floors above ground (6 to 33).
    pub floors: u32,
    /// Outline: a closed ring of `[lon, lat]` (first == last), counter-clockwise.
    pub footprint: Vec<[f64; 2]>,
    /// Units (单元), numbered from 1.
    pub units: Vec<UnitPlan>,
}

/// A unit (单元) of a building: one entrance and staircase.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitPlan {
    /// Number within the building, from 1.
    pub number: u32,
    /// Display name, e.g. "1单元".
    pub name: String,
    /// Occupied flats, by floor then door.
    pub households: Vec<HouseholdPlan>,
}

/// An occupied flat.
#[derive(Clone, Debug, PartialEq)]
pub struct HouseholdPlan {
    /// Floor, from 1.
    pub floor: u32,
    /// Room number: floor then two-digit door ("1302" = floor 13, door 02).
    pub room: String,
    /// People living there (pass to [`people`]).
    pub size: u32,
}

/// A resident as generated: sex and birth date are encoded in the ID number.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonPlan {
    /// Full name, surname first.
    pub name: String,
    /// Unique resident ID number.
    pub id_number: IdNumber,
    /// Mobile number, if any (children and many of the very old have none).
    pub phone: Option<Phone>,
    /// Explicit needs only; `Elderly` and `Infant` are derived from the birth date elsewhere.
    pub needs: SpecialNeeds,
}

impl Plan {
    /// Every household in plan order (compounds, buildings, units, households); the
    /// position in this iterator is the `household_index` of [`people`].
    pub fn households(&self) -> impl Iterator<Item = &HouseholdPlan> + '_ {
        self.compounds.iter().flat_map(|c| &c.buildings).flat_map(|b| &b.units).flat_map(|u| &u.households)
    }

    /// Number of buildings in all compounds.
    pub fn building_count(&self) -> usize {
        self.compounds.iter().map(|c| c.buildings.len()).sum()
    }
}

/// Lays out the district for `opts.residents` residents (sizes sum to exactly that).
pub fn plan(opts: &SynthOptions) -> Plan {
    let mut rng = SplitMix64::new(opts.seed).fork(PLAN_STREAM);
    let community = rng.pick(names::COMMUNITIES).copied().unwrap_or("南滨社区").to_string();
    let residents = opts.residents as u64;
    if residents == 0 {
        return Plan { district: DISTRICT.to_string(), community, compounds: Vec::new() };
    }
    // Round(residents / 2.5), at least one household and at most one per resident.
    let households = (residents.saturating_mul(2).saturating_add(2) / 5).clamp(1, residents);
    let buildings_wanted = households.div_ceil(200);
    let n_compounds = if buildings_wanted <= 3 { buildings_wanted } else { (buildings_wanted / 20).max(3) };
    let compound_names = names::compound_names(&mut rng, n_compounds as usize);
    let style_offset = rng.below(layout::STYLES.len() as u64) as usize;

    // Buildings of each compound; the last one is cut to the households left
    // (`occupied` counts its flats in use, fewer than its capacity when tiny).
    let mut layouts: Vec<Vec<Layout>> = Vec::new();
    let mut last_occupied: Vec<u64> = Vec::new();
    for c in 0..n_compounds {
        let mut left = households / n_compounds + u64::from(c < households % n_compounds);
        let style = layout::STYLES[(c as usize + style_offset) % layout::STYLES.len()];
        let mut builder = layout::Builder::new(style);
        let mut list = Vec::new();
        let mut occupied = 0;
        while left > 0 {
            let mut l = builder.draw(&mut rng);
            // Rather than leave a scrap for a tiny last building, size this one to fit.
            let fitted = layout::fit(left);
            if l.capacity() + SCRAP > left && fitted.capacity() >= left {
                l = fitted;
            }
            occupied = l.capacity().min(left);
            left -= occupied;
            list.push(l);
        }
        layouts.push(list);
        last_occupied.push(occupied);
    }

    let sizes = household_sizes(&mut rng, households, residents);
    let footprints = layout::site(&layouts, &mut rng);

    let mut sizes = sizes.into_iter();
    let mut compounds = Vec::with_capacity(layouts.len());
    for (((name, list), rings), occupied) in compound_names.into_iter().zip(&layouts).zip(footprints).zip(last_occupied)
    {
        let mut buildings = Vec::with_capacity(list.len());
        for (i, (&l, footprint)) in list.iter().zip(rings).enumerate() {
            let in_use = if i + 1 == list.len() { occupied } else { l.capacity() };
            let units = units(l, in_use, &mut sizes);
            let number = i as u32 + 1;
            buildings
                .push(BuildingPlan { number, name: format!("{number}号楼"), floors: l.floors, footprint, units });
        }
        compounds.push(CompoundPlan { name, buildings });
    }
    Plan { district: DISTRICT.to_string(), community, compounds }
}

/// The units of a building of layout `l` with `in_use` flats occupied (spread evenly).
fn units(l: Layout, in_use: u64, sizes: &mut impl Iterator<Item = u32>) -> Vec<UnitPlan> {
    let capacity = l.capacity().max(1);
    let mut flat = 0_u64;
    (1..=l.units)
        .map(|number| {
            let mut households = Vec::new();
            for floor in 1..=l.floors {
                for door in 1..=l.doors {
                    // Exactly `in_use` of the `capacity` flats pass this test, evenly spaced.
                    let occupied = (flat * in_use) % capacity < in_use;
                    flat += 1;
                    if occupied {
                        let size = sizes.next().unwrap_or(1);
                        households.push(HouseholdPlan { floor, room: format!("{floor}{door:02}"), size });
                    }
                }
            }
            UnitPlan { number, name: format!("{number}单元"), households }
        })
        .collect()
}

/// Household sizes (1 to 6, mean about 2.5) summing to exactly `residents`.
fn household_sizes(rng: &mut SplitMix64, households: u64, residents: u64) -> Vec<u32> {
    // Weights of sizes 1..=6 (2020 census-like, a Zone of young workers and families).
    const WEIGHTS: [u32; 6] = [25, 30, 24, 14, 5, 2];
    let mut sizes: Vec<u32> = (0..households).map(|_| rng.weighted(&WEIGHTS) as u32 + 1).collect();
    let n = sizes.len();
    if n == 0 {
        return sizes;
    }
    let mut sum: u64 = sizes.iter().map(|&s| u64::from(s)).sum();
    // Visit households in a scrambled order (a stride coprime to n) to nudge sizes by one.
    let stride = [7_919_u64, 7_927, 7_933, 1].into_iter().find(|&p| names::gcd(p, n as u64) == 1).unwrap_or(1) as usize;
    let start = rng.below(n as u64) as usize;
    let mut stuck = 0;
    let mut k = 0_usize;
    while sum != residents && stuck <= n {
        let i = (start + k.wrapping_mul(stride) % n) % n;
        k = (k + 1) % n;
        let Some(s) = sizes.get_mut(i) else { break };
        if sum < residents && *s < 6 {
            *s += 1;
            sum += 1;
            stuck = 0;
        } else if sum > residents && *s > 1 {
            *s -= 1;
            sum -= 1;
            stuck = 0;
        } else {
            stuck += 1;
        }
    }
    sizes
}

/// The people of household number `household_index` (0-based, in plan order), `size` of them.
///
/// Deterministic from (`opts.seed`, `household_index`, `size`, `opts.today`);
/// `ids` makes ID numbers unique across every household fed to it. The
/// householder comes first. `size` above [`MAX_HOUSEHOLD_SIZE`] is cut to it.
pub fn people(opts: &SynthOptions, household_index: u64, size: u32, ids: &mut IdAllocator) -> Vec<PersonPlan> {
    let size = size.min(MAX_HOUSEHOLD_SIZE);
    let mut rng = SplitMix64::new(opts.seed ^ PEOPLE_SALT).fork(household_index);
    let today = opts.today.days_since_epoch();
    let reform = Date::new(2021, 3, 1).map_or(18_687, Date::days_since_epoch);
    let members = family::compose(&mut rng, size, today);
    let alone = members.len() == 1;
    members.iter().map(|m| person(&mut rng, m, opts.today, reform, alone, ids)).collect()
}

/// Draws the name, ID number, phone and needs of one member.
fn person(
    rng: &mut SplitMix64,
    m: &Member,
    today: Date,
    reform: i64,
    alone: bool,
    ids: &mut IdAllocator,
) -> PersonPlan {
    let birth = Date::from_days_since_epoch(m.birth_days);
    let age = birth.age_on(today);
    let region = names::region_code(m.region, m.birth_days, reform);
    let hint = rng.below(1000) as u16;
    let id_number = ids.allocate(region, birth, m.sex, hint);
    let name = names::full_name(rng, m.surname, birth.year(), m.sex);
    let p_phone = match age {
        ..=15 => 0.0,
        16..=17 => 0.6,
        18..=64 => 0.97,
        65..=74 => 0.85,
        _ => 0.4,
    };
    let phone = if rng.chance(p_phone) {
        let mut digits = [0_u8; 11];
        names::phone_digits(rng, &mut digits);
        std::str::from_utf8(&digits).ok().and_then(|s| Phone::parse(s).ok())
    } else {
        None
    };
    PersonPlan { name, id_number, phone, needs: needs(rng, m, age, alone) }
}

/// Explicit special needs of a member aged `age` (never `Elderly` or `Infant`).
fn needs(rng: &mut SplitMix64, m: &Member, age: i32, alone: bool) -> SpecialNeeds {
    let mut needs = SpecialNeeds::NONE;
    if alone && age >= 65 {
        needs.insert(SpecialNeed::LivingAlone);
    }
    let mut maybe = |rng: &mut SplitMix64, need: SpecialNeed, p: f64| {
        if rng.chance(p) {
            needs.insert(need);
        }
    };
    if m.sex == Sex::Female && m.role == Role::Spouse && (22..=40).contains(&age) {
        maybe(rng, SpecialNeed::Pregnant, 0.03);
    }
    let (dialysis, chemo, disabled, bedridden, chronic) = match age {
        ..=17 => (0.0, 0.0003, 0.003, 0.0003, 0.0005),
        18..=39 => (0.0005, 0.0008, 0.005, 0.0003, 0.003),
        40..=59 => (0.0015, 0.003, 0.008, 0.001, 0.015),
        60..=74 => (0.003, 0.005, 0.012, 0.008, 0.045),
        _ => (0.003, 0.004, 0.02, 0.05, 0.06),
    };
    maybe(rng, SpecialNeed::Dialysis, dialysis);
    maybe(rng, SpecialNeed::Chemotherapy, chemo);
    maybe(rng, SpecialNeed::Disabled, disabled);
    maybe(rng, SpecialNeed::Bedridden, bedridden);
    maybe(rng, SpecialNeed::ChronicMedication, chronic);
    needs
}
