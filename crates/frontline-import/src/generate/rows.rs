//! The row generator behind both census file writers: residents, then the mess injected.
//!
//! Synthetic residents get ID numbers that are unique by construction (up to 33,600,000
//! rows): the birth date and sequence are a bijection of the row index, so any duplicate in
//! a generated file is one the generator injected and counted.

use frontline_domain::date::Date;
use frontline_domain::ids::IdNumber;
use frontline_domain::rng::SplitMix64;

use super::{CensusFileSpec, GeneratedStats, ResidentRow};

/// Address codes used for synthetic residents (all in the region table).
pub(crate) const REGIONS: [&str; 8] = ["350602", "350603", "350102", "350104", "110101", "310101", "310104", "310115"];
/// Surnames of synthetic residents (Fujian-heavy).
const SURNAMES: [&str; 20] = [
    "陈", "林", "黄", "张", "李", "王", "吴", "刘", "蔡", "杨", "郑", "许", "曾", "谢", "郭", "洪", "邱", "周", "叶",
    "苏",
];
/// Characters of given names.
const GIVEN: [&str; 24] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "华", "金", "玲", "建",
];
/// Days over which synthetic birth dates spread, from 1930-01-01 (coprime with [`DATE_STEP`]).
const DATE_SPAN: u64 = 33_600;
/// The stride that scatters birth dates (a prime not dividing [`DATE_SPAN`]).
const DATE_STEP: u64 = 7_919;
/// Households per building: 3 units × 18 floors × 4 flats.
const PER_BUILDING: u64 = 216;

/// What kind of row comes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A resident's row (maybe a repeat of an earlier one).
    Data,
    /// A row with no cell.
    Blank,
    /// The 合计 row at the end.
    Totals,
}

/// One generated row, with hints for the XLSX writer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Row {
    /// The eight cells: name, ID, phone, building, unit, room, lives alone (elderly), at home.
    pub(crate) cells: [String; 8],
    /// For an ID whose precision was lost: the number a spreadsheet would hold.
    pub(crate) id_float: Option<f64>,
    /// Whether the phone is written as a number in XLSX.
    pub(crate) phone_numeric: bool,
}

/// Synthetic residents in household order, deterministic for a seed.
pub(crate) struct Synth {
    rng: SplitMix64,
    index: u64,
    household: u64,
    left: u32,
    base_day: i64,
}

impl Synth {
    pub(crate) fn new(seed: u64) -> Self {
        let base_day = Date::new(1930, 1, 1).map_or(-14_610, Date::days_since_epoch);
        Synth { rng: SplitMix64::new(seed).fork(1), index: 0, household: 0, left: 0, base_day }
    }

    /// The next resident.
    pub(crate) fn next_resident(&mut self) -> ResidentRow {
        if self.left == 0 {
            if self.index > 0 {
                self.household += 1;
            }
            self.left = 1 + self.rng.weighted(&[30, 35, 20, 15]) as u32;
        }
        self.left -= 1;
        let i = self.index;
        self.index += 1;
        let h = self.household;
        let (building, rem) = (h / PER_BUILDING + 1, h % PER_BUILDING);
        let (unit, floor, flat) = (rem / 72 + 1, rem % 72 / 4 + 1, rem % 4 + 1);
        let offset = (i / 1000 % DATE_SPAN) * DATE_STEP % DATE_SPAN;
        let birth = Date::from_days_since_epoch(self.base_day + offset as i64);
        let seq = (i % 1000 * 337 % 1000) as u16;
        let region = REGIONS[self.rng.below(REGIONS.len() as u64) as usize];
        let id = IdNumber::from_parts(region, birth, seq);
        let mut name = String::with_capacity(9);
        name.push_str(SURNAMES[self.rng.below(SURNAMES.len() as u64) as usize]);
        for _ in 0..1 + self.rng.below(2) {
            name.push_str(GIVEN[self.rng.below(GIVEN.len() as u64) as usize]);
        }
        let phone = self.rng.chance(0.9).then(|| {
            let second = [3, 5, 7, 8, 9][self.rng.below(5) as usize];
            format!("1{second}{:09}", self.rng.below(1_000_000_000))
        });
        ResidentRow {
            name,
            id_number: id.as_str().to_string(),
            phone,
            building: building as u32,
            unit: unit as u32,
            room: format!("{floor}{flat:02}"),
        }
    }
}

/// Writes residents with the spec's mess, one row at a time, counting what it injects.
pub(crate) struct RowGen<'a> {
    spec: &'a CensusFileSpec,
    synth: Synth,
    rng: SplitMix64,
    resident: usize,
    /// Recent clean rows, for duplicates.
    recent: Vec<Row>,
    recent_next: usize,
    totals_done: bool,
    pub(crate) stats: GeneratedStats,
}

impl<'a> RowGen<'a> {
    pub(crate) fn new(spec: &'a CensusFileSpec) -> Self {
        let stats = GeneratedStats { total_rows: 1 + usize::from(spec.title_row), ..GeneratedStats::default() };
        RowGen {
            spec,
            synth: Synth::new(spec.seed),
            rng: SplitMix64::new(spec.seed).fork(2),
            resident: 0,
            recent: Vec::new(),
            recent_next: 0,
            totals_done: false,
            stats,
        }
    }

    /// Fills `row` with the next row; `None` at the end.
    pub(crate) fn next_row(&mut self, row: &mut Row) -> Option<Kind> {
        let messy = self.spec.messy;
        if messy && self.resident > 0 && self.resident < self.spec.rows {
            if self.rng.chance(0.005) {
                self.count(Kind::Blank);
                return Some(Kind::Blank);
            }
            if !self.recent.is_empty() && self.rng.chance(0.01) {
                let pick = self.rng.below(self.recent.len() as u64) as usize;
                row.clone_from(&self.recent[pick]);
                self.stats.duplicates += 1;
                self.count(Kind::Data);
                return Some(Kind::Data);
            }
        }
        if self.resident >= self.spec.rows {
            if messy && !self.totals_done {
                self.totals_done = true;
                for c in &mut row.cells {
                    c.clear();
                }
                row.cells[0].push_str("合计");
                row.cells[2].push_str(&format!("共{}人", self.stats.data_rows));
                row.id_float = None;
                row.phone_numeric = false;
                self.count(Kind::Totals);
                return Some(Kind::Totals);
            }
            return None;
        }
        let synthetic;
        let resident = match self.spec.residents.get(self.resident) {
            Some(r) => r,
            None => {
                synthetic = self.synth.next_resident();
                &synthetic
            }
        };
        self.resident += 1;
        let clean = fill(row, resident, messy, &mut self.rng, &mut self.stats);
        if clean {
            if self.recent.len() < 8 {
                self.recent.push(row.clone());
            } else {
                self.recent[self.recent_next].clone_from(row);
                self.recent_next = (self.recent_next + 1) % 8;
            }
        }
        self.count(Kind::Data);
        Some(Kind::Data)
    }

    fn count(&mut self, kind: Kind) {
        self.stats.total_rows += 1;
        match kind {
            Kind::Data => self.stats.data_rows += 1,
            Kind::Blank => self.stats.blank_rows += 1,
            Kind::Totals => self.stats.totals_rows += 1,
        }
    }
}

/// Renders one resident into `row`, with mess when asked; true when the row is clean.
fn fill(row: &mut Row, r: &ResidentRow, messy: bool, rng: &mut SplitMix64, stats: &mut GeneratedStats) -> bool {
    for c in &mut row.cells {
        c.clear();
    }
    row.id_float = None;
    row.phone_numeric = false;
    let [name, id, phone, building, unit, room, alone, home] = &mut row.cells;
    let mut clean = true;
    name.push_str(&r.name);
    if messy && rng.chance(0.01) {
        name.push(' ');
    }
    let digits = r.id_number.as_bytes();
    let is18 = digits.len() == 18 && digits[..17].iter().all(u8::is_ascii_digit);
    let roll = if messy && is18 { rng.unit() } else { 1.0 };
    if roll < 0.002 {
        // Through a number cell: 15 significant digits survive, shown as 3.50602E+17.
        let head: String = r.id_number[..15].to_string();
        row.id_float = head.parse::<f64>().ok().map(|v| v * 1000.0);
        id.push_str(&format!("{}.{}E+17", &r.id_number[..1], &r.id_number[1..6]));
        stats.precision_lost += 1;
        clean = false;
    } else if roll < 0.007 && r.id_number.get(6..8) == Some("19") {
        // The old 15-digit form: no century, no check character.
        id.push_str(&r.id_number[..6]);
        id.push_str(&r.id_number[8..17]);
        stats.fifteen_digit += 1;
        clean = false;
    } else if roll < 0.017 {
        id.extend(
            r.id_number.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).filter(|_| c.is_ascii_digit()).unwrap_or(c)),
        );
        clean = false;
    } else if roll < 0.037 {
        let sep = ["-", " ", ""][rng.below(3) as usize];
        if sep.is_empty() {
            id.push('\'');
            id.push_str(&r.id_number);
        } else {
            id.push_str(&format!("{}{sep}{}{sep}{}", &r.id_number[..6], &r.id_number[6..14], &r.id_number[14..]));
        }
        clean = false;
    } else if messy && is18 && r.id_number.ends_with('X') && rng.chance(0.5) {
        id.push_str(&r.id_number[..17]);
        id.push('x');
    } else {
        id.push_str(&r.id_number);
    }
    if let Some(p) = &r.phone {
        if messy && rng.chance(0.01) {
            // Too short: a digit lost while typing.
            phone.push_str(p);
            phone.pop();
            stats.bad_phones += 1;
            clean = false;
        } else {
            phone.push_str(p);
            row.phone_numeric = messy && rng.chance(0.2);
        }
    }
    let style = if messy { rng.below(4) } else { 3 };
    building.push_str(&r.building.to_string());
    building.push_str(["号楼", "栋", "#", ""][style as usize]);
    unit.push_str(&r.unit.to_string());
    if messy && rng.chance(0.5) {
        unit.push_str("单元");
    }
    room.push_str(&r.room);
    if messy && rng.chance(0.2) {
        room.push('室');
    }
    let born: i32 = r.id_number.get(6..10).and_then(|y| y.parse().ok()).unwrap_or(2000);
    alone.push_str(if born <= 1942 && rng.chance(0.3) { "是" } else { "否" });
    home.push_str(["在家", "外出", ""][rng.weighted(&[85, 10, 5])]);
    clean
}
