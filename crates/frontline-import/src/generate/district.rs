//! Census rows drawn from the synthetic district the demo seeds
//! (`frontline_domain::synth`): the same plan, the same households in the same
//! order, the same people. [`DistrictStream`] walks the whole district (the
//! rows of a generated file past the caller's residents); [`district_sheet`]
//! writes one compound as a later round would see it — a few people moved
//! out, a few newcomers, a few names mistyped.

use std::collections::VecDeque;

use frontline_domain::date::Date;
use frontline_domain::rng::SplitMix64;
use frontline_domain::synth::{self, IdAllocator, Plan, SynthOptions};

use super::ResidentRow;

/// The day the ages of a synthetic district without a date are counted to.
pub const SYNTH_TODAY: (i32, u32, u32) = (2022, 4, 1);

/// The synthetic district of `opts`, resident by resident in plan order.
///
/// Buildings are numbered across the whole district (the first compound's
/// buildings, then the next one's…), so that a file of the whole district
/// imported as one compound puts no two families in one flat.
pub(crate) struct DistrictStream {
    opts: SynthOptions,
    plan: Plan,
    ids: IdAllocator,
    /// (compound, building, unit, household) of the next household.
    at: (usize, usize, usize, usize),
    /// Buildings of the compounds before the current one.
    buildings_before: u32,
    household_index: u64,
    ready: VecDeque<ResidentRow>,
}

impl DistrictStream {
    /// A district of `residents` people for `seed`, ages counted to [`SYNTH_TODAY`].
    pub(crate) fn new(residents: usize, seed: u64) -> DistrictStream {
        let (y, m, d) = SYNTH_TODAY;
        let today = Date::new(y, m, d).unwrap_or_else(|| Date::from_days_since_epoch(19_083));
        let opts = SynthOptions { residents: residents.max(1), seed, today };
        DistrictStream {
            plan: synth::plan(&opts),
            opts,
            ids: IdAllocator::new(),
            at: (0, 0, 0, 0),
            buildings_before: 0,
            household_index: 0,
            ready: VecDeque::new(),
        }
    }

    /// The next resident; `None` once the district is exhausted.
    pub(crate) fn next_resident(&mut self) -> Option<ResidentRow> {
        while self.ready.is_empty() {
            let (c, b, u, h) = self.at;
            let compound = self.plan.compounds.get(c)?;
            let Some(building) = compound.buildings.get(b) else {
                self.buildings_before += u32::try_from(compound.buildings.len()).unwrap_or(u32::MAX);
                self.at = (c + 1, 0, 0, 0);
                continue;
            };
            let Some(unit) = building.units.get(u) else {
                self.at = (c, b + 1, 0, 0);
                continue;
            };
            let Some(household) = unit.households.get(h) else {
                self.at = (c, b, u + 1, 0);
                continue;
            };
            self.at = (c, b, u, h + 1);
            let people = synth::people(&self.opts, self.household_index, household.size, &mut self.ids);
            self.household_index += 1;
            let number = self.buildings_before + building.number;
            self.ready.extend(people.into_iter().map(|p| row_of(p, number, unit.number, &household.room)));
        }
        self.ready.pop_front()
    }
}

fn row_of(p: synth::PersonPlan, building: u32, unit: u32, room: &str) -> ResidentRow {
    ResidentRow {
        name: p.name,
        id_number: p.id_number.as_str().to_string(),
        phone: p.phone.map(|ph| ph.as_str().to_string()),
        building,
        unit,
        room: room.to_string(),
    }
}

/// One compound of a synthetic district as a census sheet sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistrictSheet {
    /// The compound's name (pass it to `import census --compound`).
    pub compound: String,
    /// The rows' people, in plan order, newcomers at the end of their building.
    pub residents: Vec<ResidentRow>,
    /// Residents of the district left out: they moved away.
    pub moved_out: usize,
    /// People not in the district: they moved in.
    pub newcomers: usize,
    /// Names written with a wrong character (the ID number still names the person).
    pub typos: usize,
}

/// The people of compound `compound` (by name; the first compound when `None`)
/// of the district `opts` describes — exactly the residents `frontline demo`
/// seeds with the same residents, seed and date — with, when `churn` is set
/// (its value seeds the changes), about 3% moved out, 2% newcomers in its
/// flats and 0.5% of names mistyped. `None` when no compound has that name.
pub fn district_sheet(opts: &SynthOptions, compound: Option<&str>, churn: Option<u64>) -> Option<DistrictSheet> {
    let plan = synth::plan(opts);
    let wanted = match compound {
        Some(name) => plan.compounds.iter().position(|c| c.name == name)?,
        None => 0,
    };
    let mut ids = IdAllocator::new();
    let mut rng = SplitMix64::new(churn.unwrap_or(0)).fork(3);
    let mut sheet = DistrictSheet {
        compound: plan.compounds.get(wanted)?.name.clone(),
        residents: Vec::new(),
        moved_out: 0,
        newcomers: 0,
        typos: 0,
    };
    let mut household_index: u64 = 0;
    // Every household is generated, in the demo's order, so that ID numbers are allocated as it does.
    let mut flats: Vec<(u32, u32, String)> = Vec::new();
    for (c, comp) in plan.compounds.iter().enumerate() {
        for b in &comp.buildings {
            for u in &b.units {
                for h in &u.households {
                    let people = synth::people(opts, household_index, h.size, &mut ids);
                    household_index += 1;
                    if c != wanted {
                        continue;
                    }
                    flats.push((b.number, u.number, h.room.clone()));
                    for p in people {
                        if churn.is_some() && rng.chance(0.03) {
                            sheet.moved_out += 1;
                            continue;
                        }
                        let mut row = row_of(p, b.number, u.number, &h.room);
                        if churn.is_some() && rng.chance(0.005) {
                            mistype(&mut row.name, &mut rng);
                            sheet.typos += 1;
                        }
                        sheet.residents.push(row);
                    }
                }
            }
        }
    }
    if churn.is_some() && !flats.is_empty() {
        // Newcomers: families of households past the district's last, their IDs from the same allocator.
        let want = sheet.residents.len() / 50;
        while sheet.newcomers < want {
            let size = 1 + u32::try_from(rng.below(3)).unwrap_or(0);
            let people = synth::people(opts, household_index, size, &mut ids);
            household_index += 1;
            let (b, u, room) = flats[usize::try_from(rng.below(flats.len() as u64)).unwrap_or(0)].clone();
            for p in people {
                sheet.residents.push(row_of(p, b, u, &room));
                sheet.newcomers += 1;
            }
        }
    }
    Some(sheet)
}

/// Replaces one character of a name (never the surname) by a look-alike one.
fn mistype(name: &mut String, rng: &mut SplitMix64) {
    const LOOK_ALIKE: [char; 8] = ['华', '花', '明', '名', '伟', '玮', '丽', '莉'];
    let chars: Vec<char> = name.chars().collect();
    if chars.len() < 2 {
        return;
    }
    let i = 1 + usize::try_from(rng.below(chars.len() as u64 - 1)).unwrap_or(0);
    let mut pick = LOOK_ALIKE[usize::try_from(rng.below(LOOK_ALIKE.len() as u64)).unwrap_or(0)];
    if pick == chars[i] {
        pick = if pick == '华' { '花' } else { '华' };
    }
    *name = chars.iter().enumerate().map(|(j, &c)| if j == i { pick } else { c }).collect();
}
