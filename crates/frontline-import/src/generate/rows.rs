//! The row generator behind both census file writers: residents, then the mess injected.
//!
//! Rows past the caller's residents are the synthetic district's people (see
//! [`DistrictStream`]): unique, valid ID numbers whose birth dates follow an age
//! pyramid, so any duplicate in a generated file is one the generator injected and counted.

use frontline_domain::rng::SplitMix64;

use super::district::DistrictStream;
use super::{CensusFileSpec, GeneratedStats, ResidentRow};

/// Surnames given to the name of a conflicting row (one ID number, another person).
const OTHER_SURNAMES: [&str; 4] = ["洪", "蔡", "邱", "苏"];

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

/// Writes residents with the spec's mess, one row at a time, counting what it injects.
pub(crate) struct RowGen<'a> {
    spec: &'a CensusFileSpec,
    synth: DistrictStream,
    /// Whether the one conflicting row (an earlier ID number under another name) was written.
    conflict_done: bool,
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
            synth: DistrictStream::new(spec.rows.saturating_sub(spec.residents.len()), spec.seed),
            conflict_done: false,
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
                if !self.conflict_done && self.resident * 2 >= self.spec.rows {
                    // Once, halfway through: the same ID number written for somebody else.
                    self.conflict_done = true;
                    let surname = OTHER_SURNAMES[self.rng.below(OTHER_SURNAMES.len() as u64) as usize];
                    let given: String = row.cells[0].chars().skip(1).collect();
                    let mut name = format!("{surname}{given}");
                    if name == row.cells[0] {
                        name = format!(
                            "{}华",
                            OTHER_SURNAMES[(OTHER_SURNAMES.iter().position(|s| *s == surname).unwrap_or(0) + 1) % 4]
                        );
                    }
                    row.cells[0] = name;
                    self.stats.conflicts += 1;
                }
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
            None => match self.synth.next_resident() {
                Some(r) => {
                    synthetic = r;
                    &synthetic
                }
                None => {
                    // The district ran out (it never does: it holds exactly the rows asked for).
                    self.resident = self.spec.rows;
                    return self.next_row(row);
                }
            },
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
