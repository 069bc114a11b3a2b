//! Minimum necessary (PIPL): which of a person's fields each role sees, and how
//! they are masked. Every page, API answer and export that shows personal data
//! goes through a [`Disclosure`].
//!
//! - A mask hides something, so no field beside it may give it back: an ID
//!   number's hidden digits are the birth date, so a masked view carries the
//!   age, never the birth date.
//! - Unmasked output needs [`Perm::RevealPersonalData`]; whoever builds a
//!   revealed disclosure records the view in the audit log.

use crate::access::{Perm, Role};
use crate::ids::{IdNumber, PassportNumber, Phone};

/// A field of a resident that a view may carry (its JSON key is [`ResidentField::key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResidentField {
    /// The resident's id.
    Id,
    /// The name.
    Name,
    /// The household's id.
    Household,
    /// The building's id.
    Building,
    /// Compound, building, unit and room.
    Address,
    /// Whether the view is masked.
    Masked,
    /// The kind of document (`cn_id`, `passport`, `none`).
    DocKind,
    /// The document number (masked unless revealed).
    IdNumber,
    /// The mobile number (masked unless revealed).
    Phone,
    /// The birth date: only when revealed, as it undoes a masked ID number.
    BirthDate,
    /// The age in full years.
    Age,
    /// The sex.
    Sex,
    /// Special needs (recorded and derived).
    SpecialNeeds,
    /// The sampling code (核酸码): whoever holds it can post scans for the person.
    SamplingCode,
}

impl ResidentField {
    /// Every field.
    pub const ALL: [ResidentField; 14] = [
        ResidentField::Id,
        ResidentField::Name,
        ResidentField::Household,
        ResidentField::Building,
        ResidentField::Address,
        ResidentField::Masked,
        ResidentField::DocKind,
        ResidentField::IdNumber,
        ResidentField::Phone,
        ResidentField::BirthDate,
        ResidentField::Age,
        ResidentField::Sex,
        ResidentField::SpecialNeeds,
        ResidentField::SamplingCode,
    ];

    /// The field's key in JSON answers.
    pub const fn key(self) -> &'static str {
        match self {
            ResidentField::Id => "id",
            ResidentField::Name => "name",
            ResidentField::Household => "household",
            ResidentField::Building => "building",
            ResidentField::Address => "address",
            ResidentField::Masked => "masked",
            ResidentField::DocKind => "doc_kind",
            ResidentField::IdNumber => "id_number",
            ResidentField::Phone => "phone",
            ResidentField::BirthDate => "birth_date",
            ResidentField::Age => "age",
            ResidentField::Sex => "sex",
            ResidentField::SpecialNeeds => "special_needs",
            ResidentField::SamplingCode => "sampling_code",
        }
    }
}

use ResidentField as F;

/// Office roles (command, group leads, staff): contact and identity, masked.
const OFFICE: &[ResidentField] = &[
    F::Id,
    F::Name,
    F::Household,
    F::Building,
    F::Address,
    F::Masked,
    F::DocKind,
    F::IdNumber,
    F::Phone,
    F::Age,
    F::Sex,
    F::SpecialNeeds,
    F::SamplingCode,
];

/// Office roles with a revealed view: everything.
const OFFICE_REVEALED: &[ResidentField] = &ResidentField::ALL;

/// Volunteers at the door: who lives where and what help they need.
const DOOR: &[ResidentField] = &[F::Id, F::Name, F::Household, F::Building, F::Address, F::Masked, F::SpecialNeeds];

/// Where a role's work reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The whole district.
    District,
    /// The buildings of the account's team assignment.
    Assignment,
    /// No resident at all.
    Nothing,
}

impl Role {
    /// Where this role's work reaches among residents.
    pub const fn reach(self) -> Reach {
        match self {
            Role::Commander | Role::Deputy | Role::GroupLead | Role::Staff => Reach::District,
            Role::Volunteer => Reach::Assignment,
            Role::Checkpoint | Role::Lab => Reach::Nothing,
        }
    }
}

/// How much of people's personal data one reader sees: fixed by the role, and
/// unmasked only when revealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disclosure {
    role: Role,
    revealed: bool,
}

impl Disclosure {
    /// The masked view of `role`.
    pub const fn masked(role: Role) -> Disclosure {
        Disclosure { role, revealed: false }
    }

    /// The unmasked view, for a role that may reveal personal data; the caller
    /// must record it in the audit log.
    pub const fn revealed(role: Role) -> Option<Disclosure> {
        if role.can(Perm::RevealPersonalData) {
            Some(Disclosure { role, revealed: true })
        } else {
            None
        }
    }

    /// The reader's role.
    pub const fn role(self) -> Role {
        self.role
    }

    /// Whether personal data is shown unmasked.
    pub const fn is_revealed(self) -> bool {
        self.revealed
    }

    /// The resident fields this reader gets.
    pub const fn resident_fields(self) -> &'static [ResidentField] {
        match (self.role.reach(), self.revealed) {
            (Reach::District, false) => OFFICE,
            (Reach::District, true) => OFFICE_REVEALED,
            (Reach::Assignment, _) => DOOR,
            (Reach::Nothing, _) => &[],
        }
    }

    /// Whether this reader gets `field`.
    pub fn shows(self, field: ResidentField) -> bool {
        self.resident_fields().contains(&field)
    }

    /// A stored document number as this reader may see it; `None` when the field is not theirs.
    pub fn document(self, kind: &str, number: &str) -> Option<String> {
        if !self.shows(F::IdNumber) {
            return None;
        }
        Some(if self.revealed { number.to_string() } else { mask_document(kind, number) })
    }

    /// A stored phone number as this reader may see it.
    pub fn phone(self, number: &str) -> Option<String> {
        if !self.shows(F::Phone) {
            return None;
        }
        Some(if self.revealed { number.to_string() } else { mask_phone(number) })
    }

    /// A birth date, only in a revealed view.
    pub fn birth_date(self, date: &str) -> Option<String> {
        self.shows(F::BirthDate).then(|| date.to_string())
    }

    /// Free text that may hold numbers and dates (a raw census cell, an audit
    /// value): as is when revealed, otherwise with every ID number, phone,
    /// long digit run and date masked.
    pub fn text(self, s: &str) -> String {
        if self.revealed {
            s.to_string()
        } else {
            mask_text(s)
        }
    }

    /// A person's name as this reader may see it: whole for a reader who gets
    /// names, otherwise masked ([`mask_name`]) — enough for the lab to tell
    /// whose tube it confirmed, not enough to identify the person.
    pub fn person_name(self, name: &str) -> String {
        if self.shows(F::Name) {
            name.to_string()
        } else {
            mask_name(name)
        }
    }

    /// Whether the reader may search by a phone's last 4 digits.
    pub fn may_search_phone_tail(self) -> bool {
        self.shows(F::Phone)
    }

    /// Whether the reader may search by the last 4–6 characters of an ID number.
    pub fn may_search_id_tail(self) -> bool {
        self.shows(F::IdNumber)
    }
}

/// Masks a stored document number by its kind.
pub fn mask_document(kind: &str, number: &str) -> String {
    match kind {
        "cn_id" => IdNumber::parse(number).map(|p| p.id.masked()).unwrap_or_else(|_| mask_middle(number, 6, 4)),
        "passport" => PassportNumber::parse(number).map(|p| p.masked()).unwrap_or_else(|| mask_middle(number, 2, 2)),
        _ => mask_middle(number, 1, 1),
    }
}

/// Masks a name, keeping its first character and, from three characters on,
/// its last: 张三 → 张*, 欧阳明月 → 欧**月.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    match (chars.next(), name.chars().count()) {
        (None, _) => String::new(),
        (Some(first), 1 | 2) => format!("{first}*"),
        _ => mask_middle(name, 1, 1),
    }
}

/// Masks a stored phone number.
pub fn mask_phone(number: &str) -> String {
    Phone::parse(number).map(|p| p.masked()).unwrap_or_else(|_| mask_middle(number, 3, 4))
}

/// Hides all but `head` leading and `tail` trailing characters.
pub fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Masks what in free text could identify a person or undo a mask: a whole
/// cell that is an ID number, phone or date is masked as such; otherwise every
/// run of 6 or more digits (an ID number, phone, date or damaged number in a
/// sentence) keeps only its ends, and a date's digits are hidden.
pub fn mask_text(s: &str) -> String {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return s.to_string();
    }
    if let Ok(p) = IdNumber::parse(trimmed) {
        return p.id.masked();
    }
    if let Ok(p) = Phone::parse(trimmed) {
        return p.masked();
    }
    if looks_like_date(trimmed) {
        return trimmed.chars().map(|c| if c.is_ascii_digit() || is_wide_digit(c) { '*' } else { c }).collect();
    }
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let n = run.chars().count();
        if n >= 15 {
            out.push_str(&mask_middle(run, 6, 4));
        } else if n >= 9 {
            out.push_str(&mask_middle(run, 3, 4));
        } else if n >= 6 {
            out.push_str(&"*".repeat(n));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() || is_wide_digit(c) || (!run.is_empty() && matches!(c, 'X' | 'x')) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn is_wide_digit(c: char) -> bool {
    ('\u{FF10}'..='\u{FF19}').contains(&c)
}

/// `1999-11-23`, `1999/11/23`, `1999.11.23`, `1999年11月23日`, `19991123`.
fn looks_like_date(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let separators =
        s.chars().filter(|c| !c.is_ascii_digit()).all(|c| matches!(c, '-' | '/' | '.' | '年' | '月' | '日'));
    if !separators || !(6..=8).contains(&digits.len()) {
        return false;
    }
    let year = digits.iter().take(4).fold(0, |a, d| a * 10 + d);
    (1850..=2100).contains(&year)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_for_readers_without_names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name("欧阳明月"), "欧**月");
        assert_eq!(mask_name(" "), "");
        assert_eq!(Disclosure::masked(Role::Lab).person_name("王小明"), "王*明");
        assert_eq!(Disclosure::masked(Role::Staff).person_name("王小明"), "王小明");
    }

    #[test]
    fn masked_views_never_carry_the_birth_date() {
        for role in Role::ALL {
            assert!(!Disclosure::masked(role).shows(F::BirthDate), "{role:?}");
            if let Some(d) = Disclosure::revealed(role) {
                assert!(role.can(Perm::RevealPersonalData));
                assert_eq!(d.birth_date("1999-11-23").is_some(), d.shows(F::BirthDate));
            }
        }
        assert_eq!(Disclosure::masked(Role::Staff).birth_date("1999-11-23"), None);
        assert_eq!(Disclosure::revealed(Role::Staff), None);
    }

    #[test]
    fn volunteers_get_no_numbers_and_no_codes() {
        let d = Disclosure::masked(Role::Volunteer);
        assert_eq!(d.document("cn_id", "350623199911232161"), None);
        assert_eq!(d.phone("13217926625"), None);
        assert!(!d.shows(F::SamplingCode));
        assert!(d.shows(F::SpecialNeeds) && d.shows(F::Address));
        assert!(Disclosure::masked(Role::Lab).resident_fields().is_empty());
        assert!(Disclosure::masked(Role::Checkpoint).resident_fields().is_empty());
    }

    #[test]
    fn staff_see_masks_and_the_commander_reveals() {
        let staff = Disclosure::masked(Role::Staff);
        assert_eq!(staff.phone("13217926625").as_deref(), Some("132****6625"));
        let id = IdNumber::from_parts("350623", crate::date::Date::new(1999, 11, 23).expect("date"), 216);
        let masked = staff.document("cn_id", id.as_str()).unwrap_or_default();
        assert!(masked.starts_with("350623********"), "{masked}");
        let boss = Disclosure::revealed(Role::Commander).expect("commander reveals");
        assert_eq!(boss.document("cn_id", id.as_str()).as_deref(), Some(id.as_str()));
    }

    #[test]
    fn free_text_loses_numbers_and_dates() {
        let id = IdNumber::from_parts("350623", crate::date::Date::new(1999, 11, 23).expect("date"), 216);
        assert_eq!(mask_text(id.as_str()), id.masked());
        assert_eq!(mask_text(" 13217926625 "), "132****6625");
        assert_eq!(mask_text("1999-11-23"), "****-**-**");
        assert_eq!(mask_text("1999年11月23日"), "****年**月**日");
        assert_eq!(mask_text("19991123"), "********");
        let sentence = format!("电话13217926625，身份证{}", id.as_str());
        let masked = mask_text(&sentence);
        assert!(!masked.contains("79266") && !masked.contains("19991123"), "{masked}");
        assert_eq!(mask_text("3号楼1单元1302"), "3号楼1单元1302");
        assert_eq!(mask_text("洪华"), "洪华");
        assert_eq!(Disclosure::revealed(Role::Deputy).map(|d| d.text("13217926625")).as_deref(), Some("13217926625"));
    }
}
