//! Turning one data row into a census person, a refusal, a blank row or a totals row.

use crate::date::Date;
use crate::ids::{IdNumber, IdNumberError, IdWarning, PassportNumber, Phone, PhoneError};
use crate::people::{SpecialNeed, SpecialNeeds};
use crate::places::clean_name;

use super::address::{parse_address, parse_building, parse_floor, parse_room, parse_unit, Address, Room};
use super::text::{
    away_word, free_text, is_blank, is_count, is_placeholder, is_yes, key, need_applies, parse_birth_date, parse_sex,
    person_name, NameCell, MAX_SHORT_CELL,
};
use super::{CensusPerson, CensusRules, Doc, Field, HeaderMap, Issue, RawRow, RowOutcome};

/// Words that make a row a totals row wherever they appear (outside the note column).
const TOTAL_WORDS: &[&str] = &["合计", "总计", "小计", "共计", "汇总"];

/// Label words of a totals row written in the name column (人数 | 35).
const TOTAL_LABELS: &[&str] = &["人数", "户数", "总数", "统计", "total", "sum"];

/// The cells of one row, seen through the header map.
struct Cells<'a> {
    map: &'a HeaderMap,
    cells: &'a [String],
}

impl<'a> Cells<'a> {
    /// The column of `field` and its cell text (empty when the row is short); `None` when unmapped.
    fn raw(&self, field: Field) -> Option<(usize, &'a str)> {
        let i = self.map.column(field)?;
        Some((i, self.cells.get(i).map_or("", String::as_str)))
    }

    /// Like [`Cells::raw`], but `None` for a blank cell.
    fn get(&self, field: Field) -> Option<(usize, &'a str)> {
        self.raw(field).filter(|(_, v)| !is_blank(v))
    }
}

/// An issue about column `index` holding `field` and `value`.
fn issue(field: Field, index: usize, value: &str, code: &'static str, params: Vec<(&'static str, String)>) -> Issue {
    Issue { column: Some(field), column_index: Some(index), value: value.to_string(), code, params }
}

/// Blank: every cell blank, or the only filled cells are numbers outside the mapped columns (a serial number).
fn is_blank_row(map: &HeaderMap, cells: &[String]) -> bool {
    cells.iter().enumerate().all(|(i, c)| is_blank(c) || (map.field_at(i).is_none() && is_count(c)))
}

/// Totals: 合计/总计/小计/共计/汇总 in any cell but the note, or a label cell (unmapped, or
/// holding a word such as 人数) followed only by counts.
fn is_total_row(map: &HeaderMap, cells: &[String]) -> bool {
    let note = map.column(Field::Note);
    let filled = || cells.iter().enumerate().filter(move |&(i, c)| Some(i) != note && !is_blank(c));
    for (_, c) in filled() {
        // Every total word holds 计 or 汇; English ones a t or an s (perhaps full-width).
        let maybe =
            c.contains(['计', '汇', 'ｔ', 'Ｔ', 'ｓ', 'Ｓ']) || c.bytes().any(|b| matches!(b | 0x20, b't' | b's'));
        if c.len() > 200 || !maybe {
            continue;
        }
        let k = key(c);
        let english = ["total", "subtotal", "grandtotal"].iter().any(|w| k.starts_with(w)) || k == "sum";
        if english || TOTAL_WORDS.iter().any(|w| k.contains(w)) {
            return true;
        }
    }
    let mut rest = filled();
    let Some((li, label)) = rest.next() else { return false };
    let k = key(label);
    if k.is_empty() || k.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    if map.field_at(li).is_some() && !TOTAL_LABELS.iter().any(|w| k.contains(w)) {
        return false;
    }
    let mut counts = 0usize;
    for (_, c) in rest {
        if !is_count(c) {
            return false;
        }
        counts += 1;
    }
    counts > 0
}

/// The kind of document named in a 证件类型 cell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// 居民身份证.
    CnId,
    /// 护照, 港澳通行证, 台胞证, 外国人居留证…
    Passport,
    /// Not said, or not understood.
    Unknown,
}

/// Reads a document kind cell.
fn doc_kind(raw: &str) -> Kind {
    let k = key(raw);
    let foreign = ["护照", "passport", "通行证", "台胞", "回乡", "居留", "外国", "境外", "travel"];
    if foreign.iter().any(|w| k.contains(w)) {
        Kind::Passport
    } else if k.contains("身份证") || k == "id" || k == "idcard" {
        Kind::CnId
    } else {
        Kind::Unknown
    }
}

/// The value as a passport number when it has letters and digits and is not an ID number with one stray letter.
fn passport_like(raw: &str) -> Option<PassportNumber> {
    let p = PassportNumber::parse(raw)?;
    let s = p.as_str();
    let letters = s.bytes().filter(u8::is_ascii_uppercase).count();
    let mistyped_id = (s.len() == 15 || s.len() == 18) && letters == 1;
    (letters > 0 && !mistyped_id).then_some(p)
}

/// The refusal code for an ID number error.
fn id_error_code(e: &IdNumberError) -> &'static str {
    match e {
        IdNumberError::BadCheckCharacter { .. } => "id_invalid_check",
        IdNumberError::ImpossibleBirthDate { .. } => "id_impossible_date",
        IdNumberError::BadLength { .. } | IdNumberError::Empty => "id_bad_length",
        IdNumberError::BadCharacter { .. } => "id_bad_character",
        IdNumberError::PrecisionLost => "id_precision_lost",
    }
}

/// Reads the document: `Ok((doc, converted_from_15))`, pushing ID warnings, or the refusal.
fn read_document(c: &Cells<'_>, warnings: &mut Vec<Issue>) -> Result<(Doc, bool), Issue> {
    let Some((idx, raw)) = c.get(Field::IdNumber) else { return Ok((Doc::None, false)) };
    if is_placeholder(raw) {
        return Ok((Doc::None, false));
    }
    let kind = c.get(Field::DocKind).map_or(Kind::Unknown, |(_, k)| doc_kind(k));
    if kind == Kind::Passport {
        return PassportNumber::parse(raw)
            .map(|p| (Doc::Passport(p), false))
            .ok_or_else(|| issue(Field::IdNumber, idx, raw, "passport_invalid", Vec::new()));
    }
    match IdNumber::parse(raw) {
        Ok(parsed) => {
            let mut converted = false;
            for w in &parsed.warnings {
                let code = match w {
                    IdWarning::UnknownRegion { .. } => "id_unknown_region",
                    IdWarning::ConvertedFrom15 { .. } => {
                        converted = true;
                        "id_converted_from_15"
                    }
                };
                warnings.push(issue(Field::IdNumber, idx, raw, code, w.params()));
            }
            Ok((Doc::CnId(parsed.id), converted))
        }
        Err(IdNumberError::Empty) => Ok((Doc::None, false)),
        Err(e) => {
            if matches!(e, IdNumberError::BadCharacter { .. }) && kind == Kind::Unknown {
                if let Some(p) = passport_like(raw) {
                    return Ok((Doc::Passport(p), false));
                }
            }
            Err(issue(Field::IdNumber, idx, raw, id_error_code(&e), e.params()))
        }
    }
}

/// Reads a phone cell that may hold several numbers (13800138000/13900139000): the first mobile wins.
fn read_phone(raw: &str) -> Result<Phone, PhoneError> {
    if raw.len() > MAX_SHORT_CELL {
        return Err(PhoneError::BadLength { len: raw.chars().count() });
    }
    let mut first_err = None;
    for part in raw.split(['/', '、', ',', '，', ';', '；', '\n']).filter(|p| !is_blank(p)) {
        match Phone::parse(part) {
            Ok(p) => return Ok(p),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(PhoneError::Empty))
}

/// The address parts read so far.
#[derive(Default)]
struct Place {
    compound: Option<String>,
    building: Option<u32>,
    unit: Option<u32>,
    room: Option<Room>,
}

impl Place {
    /// Fills the parts still missing from a combined address.
    fn fill(&mut self, a: Address) {
        self.compound = self.compound.take().or(a.compound);
        self.building = self.building.or(Some(a.building));
        self.unit = self.unit.or(a.unit);
        self.room = self.room.take().or(a.room);
    }
}

/// Reads the address columns into a place, warning `address_unreadable` for each cell that cannot be read.
fn read_place(c: &Cells<'_>, warnings: &mut Vec<Issue>) -> Place {
    let mut place = Place::default();
    let mut unreadable = |field: Field, idx: usize, raw: &str| {
        warnings.push(issue(field, idx, raw, "address_unreadable", Vec::new()));
    };
    let filled = |field: Field| c.get(field).filter(|(_, raw)| !is_placeholder(raw));
    if let Some((idx, raw)) = filled(Field::Compound) {
        match free_text(raw, MAX_SHORT_CELL).and_then(|t| clean_name(&t)) {
            Some(name) => place.compound = Some(name),
            None => unreadable(Field::Compound, idx, raw),
        }
    }
    if let Some((idx, raw)) = filled(Field::Building) {
        match (parse_building(raw), parse_address(raw)) {
            (Some(b), _) => place.building = Some(b),
            (None, Some(a)) => place.fill(a),
            (None, None) => unreadable(Field::Building, idx, raw),
        }
    }
    if let Some((idx, raw)) = filled(Field::Unit) {
        match parse_unit(raw) {
            Some(u) => place.unit = Some(u),
            None => unreadable(Field::Unit, idx, raw),
        }
    }
    if let Some((idx, raw)) = filled(Field::Room) {
        match (parse_room(raw), parse_address(raw)) {
            (Some(r), _) => place.room = Some(r),
            (None, Some(a)) => place.fill(a),
            (None, None) => unreadable(Field::Room, idx, raw),
        }
    }
    if let Some((idx, raw)) = filled(Field::Address) {
        match parse_address(raw) {
            Some(a) => place.fill(a),
            None => unreadable(Field::Address, idx, raw),
        }
    }
    if let Some((idx, raw)) = filled(Field::Floor) {
        match parse_floor(raw) {
            Some(f) => {
                if let Some(room) = place.room.as_mut() {
                    room.floor = room.floor.or(Some(f));
                }
            }
            None => unreadable(Field::Floor, idx, raw),
        }
    }
    place
}

/// Status values that answer 是否在家 with no.
fn status_no(raw: &str) -> bool {
    matches!(key(raw).as_str(), "否" | "no" | "n" | "×" | "✗" | "x" | "0" | "false")
}

/// Away: a status cell saying 外出 / 不在家 (or 否 to 是否在家), or an away cell saying yes or 外出.
fn read_away(c: &Cells<'_>) -> bool {
    let status = c.get(Field::Status).is_some_and(|(_, raw)| away_word(raw).unwrap_or_else(|| status_no(raw)));
    let away = c.get(Field::Away).is_some_and(|(_, raw)| away_word(raw).unwrap_or_else(|| is_yes(raw)));
    status || away
}

/// Normalises one data row: blank, totals, refused (with the reason first), or a person with warnings.
pub fn normalise_row(map: &HeaderMap, row: RawRow<'_>, today: Date, rules: &CensusRules) -> RowOutcome {
    let cells = row.cells;
    if is_blank_row(map, cells) {
        return RowOutcome::Blank;
    }
    if is_total_row(map, cells) {
        return RowOutcome::Total;
    }
    let c = Cells { map, cells };
    let mut warnings = Vec::new();

    let name_cell = c.get(Field::Name).map_or(NameCell::Missing, |(_, raw)| person_name(raw));
    let name_invalid = matches!(name_cell, NameCell::Invalid);
    let name = match name_cell {
        NameCell::Name(n) => Some(n),
        NameCell::Missing | NameCell::Invalid => None,
    };
    if name_invalid {
        if let Some((idx, raw)) = c.raw(Field::Name) {
            warnings.push(issue(Field::Name, idx, raw, "name_invalid", Vec::new()));
        }
    }

    let mut refusal = None;
    let (document, converted_from_15) = match read_document(&c, &mut warnings) {
        Ok(found) => found,
        Err(refused) => {
            refusal = Some(refused);
            (Doc::None, false)
        }
    };
    if refusal.is_none() && name.is_none() {
        // The issue points at the name cell; without a name column, at the ID column, or at nothing.
        let (column, cell) = match (c.raw(Field::Name), c.raw(Field::IdNumber)) {
            (Some(cell), _) => (Some(Field::Name), Some(cell)),
            (None, Some(cell)) if document == Doc::None => (Some(Field::IdNumber), Some(cell)),
            (None, _) => (Some(Field::Name), None),
        };
        let code = if document == Doc::None { "no_identity" } else { "name_missing" };
        let found = Issue {
            column,
            column_index: cell.map(|(i, _)| i),
            value: cell.map_or(String::new(), |(_, raw)| raw.to_string()),
            code,
            params: Vec::new(),
        };
        if document == Doc::None {
            refusal = Some(found);
        } else if !name_invalid {
            warnings.push(found);
        }
    }

    let phone = match c.get(Field::Phone).filter(|(_, raw)| !is_placeholder(raw)) {
        Some((idx, raw)) => match read_phone(raw) {
            Ok(p) => Some(p),
            Err(e) => {
                warnings.push(issue(Field::Phone, idx, raw, "phone_invalid", vec![("reason", e.code().to_string())]));
                None
            }
        },
        None => None,
    };

    let place = read_place(&c, &mut warnings);

    let (sex, birth_date) = match &document {
        Doc::CnId(id) => (Some(id.sex()), Some(id.birth_date())),
        _ => {
            let sex = c.get(Field::Sex).filter(|(_, raw)| !is_placeholder(raw)).and_then(|(idx, raw)| {
                let s = parse_sex(raw);
                if s.is_none() {
                    warnings.push(issue(Field::Sex, idx, raw, "sex_invalid", Vec::new()));
                }
                s
            });
            let birth = c.get(Field::BirthDate).filter(|(_, raw)| !is_placeholder(raw)).and_then(|(idx, raw)| {
                let d = parse_birth_date(raw, today);
                if d.is_none() {
                    warnings.push(issue(Field::BirthDate, idx, raw, "birth_date_invalid", Vec::new()));
                }
                d
            });
            (sex, birth)
        }
    };

    let mut needs = SpecialNeeds::NONE;
    for &(idx, field) in &map.columns {
        if let Field::Need(need) = field {
            if cells.get(idx).is_some_and(|raw| need_applies(raw)) {
                needs.insert(need);
            }
        }
    }
    if birth_date.is_some_and(|b| b.age_on(today) >= rules.elderly_age) {
        needs.insert(SpecialNeed::Elderly);
    }

    if let Some(refused) = refusal {
        let mut all = vec![refused];
        all.append(&mut warnings);
        return RowOutcome::Refused(all);
    }
    let person = CensusPerson {
        name: name.unwrap_or_default(),
        document,
        phone,
        building: place.building,
        unit: place.unit,
        room: place.room,
        compound: place.compound,
        sex,
        birth_date,
        needs,
        away: read_away(&c),
        converted_from_15,
        relation: c.get(Field::Relation).filter(|(_, r)| !is_placeholder(r)).and_then(|(_, r)| free_text(r, 100)),
        note: c.get(Field::Note).and_then(|(_, r)| free_text(r, 2_000)),
    };
    RowOutcome::Person(person, warnings)
}

/// Who and where a row names, as written, for a report line: the name cell
/// (trimmed, cut to 64 characters) and the address cells (compound, address,
/// building, unit, floor, room), each trimmed, joined by spaces. Never the
/// document: reports name a row by person and address, not by ID number.
pub fn row_label(map: &HeaderMap, cells: &[String]) -> (String, String) {
    let c = Cells { map, cells };
    let cell = |f: Field| c.get(f).map(|(_, v)| v.trim().chars().take(64).collect::<String>());
    let name = cell(Field::Name).unwrap_or_default();
    let address: Vec<String> =
        [Field::Compound, Field::Address, Field::Building, Field::Unit, Field::Floor, Field::Room]
            .into_iter()
            .filter_map(cell)
            .collect();
    (name, address.join(" "))
}
