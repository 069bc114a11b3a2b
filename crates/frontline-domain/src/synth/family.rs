//! Households as families: who lives together, their ages, surnames and origins.

use crate::ids::Sex;
use crate::rng::SplitMix64;

use super::names::{self, Region, Surname, LOCAL};

/// A member's place in the household.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// Someone living alone.
    Alone,
    /// Husband, or the head of a one-parent or shared flat.
    Head,
    /// Wife.
    Spouse,
    /// A child of the head.
    Child,
    /// A parent of the head or the spouse.
    Grandparent,
    /// Another adult: flatmate, sibling, adult child living with an old parent.
    Other,
}

/// A household member before names and ID numbers are drawn.
#[derive(Clone, Copy, Debug)]
pub(super) struct Member {
    /// Sex (sets the parity of the ID sequence).
    pub sex: Sex,
    /// Birth date as days since 1970-01-01.
    pub birth_days: i64,
    /// Family name.
    pub surname: Surname,
    /// Where the ID number was issued.
    pub region: Region,
    /// Place in the household.
    pub role: Role,
}

/// Builds one household, oldest generation's ages derived from the younger.
struct Family<'a> {
    rng: &'a mut SplitMix64,
    today: i64,
    members: Vec<Member>,
}

/// An adult anchoring a generation: age in years, surname, origin.
#[derive(Clone, Copy)]
struct Adult {
    age: i64,
    surname: Surname,
    region: Region,
}

impl Family<'_> {
    /// Adds a member aged `age` full years today.
    fn add(&mut self, sex: Sex, age: i64, surname: Surname, region: Region, role: Role) {
        let age = age.clamp(0, 105);
        let days_ago = age * 365 + age / 4 + self.rng.below(365) as i64;
        self.add_born(sex, days_ago, surname, region, role);
    }

    /// Adds a member born `days_ago` days before today.
    fn add_born(&mut self, sex: Sex, days_ago: i64, surname: Surname, region: Region, role: Role) {
        self.members.push(Member { sex, birth_days: self.today - days_ago.max(0), surname, region, role });
    }

    /// Male with probability `p_male`.
    fn sex(&mut self, p_male: f64) -> Sex {
        if self.rng.chance(p_male) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// An unrelated adult aged `lo..=hi`.
    fn adult(&mut self, sex: Sex, lo: i64, hi: i64, role: Role) -> Adult {
        let a =
            Adult { age: self.rng.range(lo, hi), surname: names::surname(self.rng), region: names::region(self.rng) };
        self.add(sex, a.age, a.surname, a.region, role);
        a
    }

    /// A married couple, husband aged `lo..=hi`; returns (husband, wife).
    fn couple(&mut self, lo: i64, hi: i64) -> (Adult, Adult) {
        let husband = self.adult(Sex::Male, lo, hi, Role::Head);
        let wife = Adult {
            age: (husband.age - self.rng.range(-2, 5)).max(20),
            surname: names::surname(self.rng),
            region: if self.rng.chance(0.5) { husband.region } else { names::region(self.rng) },
        };
        self.add(Sex::Female, wife.age, wife.surname, wife.region, Role::Spouse);
        (husband, wife)
    }

    /// `n` children of a mother aged `mother_age`, with `surname`, aged 0 to 25.
    ///
    /// Siblings are born 13 months to 5 years apart, closer when the eldest
    /// is young (twins only when there is no room at all).
    fn children(&mut self, n: u32, mother_age: i64, surname: Surname, region: Region) {
        let n64 = i64::from(n);
        let lo = (mother_age - 25).max(20);
        let at_birth = self.rng.range(lo, mother_age.min(40).min(mother_age - 2 * (n64 - 1)));
        let first = (mother_age - at_birth).max(0);
        let mut days_ago = first * 365 + first / 4 + self.rng.below(365) as i64;
        for i in 0..n64 {
            if i > 0 {
                let room = days_ago / (n64 - i);
                days_ago -= self.rng.range(400, 1_800).min(room);
            }
            let born_here = self.rng.chance(0.75);
            let region = if born_here { LOCAL } else { region };
            let sex = self.sex(0.53);
            self.add_born(sex, days_ago, surname, region, Role::Child);
        }
    }

    /// `n` (1 or 2) parents of `anchor`, aged 55 to 95; the father shares `anchor`'s surname.
    fn grandparents(&mut self, n: u32, anchor: Adult) {
        let father_age = (anchor.age + self.rng.range(24, 34)).clamp(55, 95);
        let with_father = n >= 2 || self.rng.chance(0.35);
        if with_father {
            let region = self.parent_region(anchor);
            self.add(Sex::Male, father_age, anchor.surname, region, Role::Grandparent);
        }
        if n >= 2 || !with_father {
            let age = (father_age - self.rng.range(-1, 5)).clamp(55, 95);
            let surname = names::surname(self.rng);
            let region = self.parent_region(anchor);
            self.add(Sex::Female, age, surname, region, Role::Grandparent);
        }
    }

    /// Where a parent of `child` comes from: usually the same place.
    fn parent_region(&mut self, child: Adult) -> Region {
        if self.rng.chance(0.7) {
            child.region
        } else {
            names::region(self.rng)
        }
    }

    /// Parents with `kids` children and `elders` grandparents (0–2).
    fn nuclear(&mut self, kids: u32, elders: u32) {
        // More children, older parents (and room between the children).
        let youngest = 27 + 3 * i64::from(kids.saturating_sub(1));
        let (husband, wife) = self.couple(youngest, 52);
        let surname = if self.rng.chance(0.95) { husband.surname } else { wife.surname };
        self.children(kids, wife.age, surname, husband.region);
        if elders > 0 {
            let side = if self.rng.chance(0.65) { husband } else { wife };
            self.grandparents(elders, side);
        }
    }

    /// A young couple living with one or two of their parents, no children yet.
    fn couple_with_parents(&mut self, elders: u32) {
        let (husband, _) = self.couple(25, 36);
        self.grandparents(elders, husband);
    }

    /// One parent with `kids` children.
    fn one_parent(&mut self, kids: u32) {
        let sex = self.sex(0.25);
        let parent = self.adult(sex, 28, 50, Role::Head);
        let mother_age = if sex == Sex::Female { parent.age } else { parent.age - 2 };
        let surname = if sex == Sex::Male || self.rng.chance(0.3) { parent.surname } else { names::surname(self.rng) };
        self.children(kids, mother_age, surname, parent.region);
    }

    /// `n` young flatmates (workers of the Zone's factories and port).
    fn flatmates(&mut self, n: u32) {
        let sex = self.sex(0.55);
        for i in 0..n {
            let role = if i == 0 { Role::Head } else { Role::Other };
            self.adult(sex, 20, 34, role);
        }
    }

    /// An old parent with an adult child who never left (or came back).
    fn old_parent_and_child(&mut self) {
        let sex = self.sex(0.3);
        let parent = self.adult(sex, 66, 90, Role::Head);
        let child_age = (parent.age - self.rng.range(24, 36)).max(25);
        let surname = if sex == Sex::Male { parent.surname } else { names::surname(self.rng) };
        let child_sex = self.sex(0.5);
        self.add(child_sex, child_age, surname, parent.region, Role::Other);
    }

    /// Someone living alone.
    fn alone(&mut self) {
        let (lo, hi) = match self.rng.weighted(&[54, 28, 18]) {
            0 => (21, 35),
            1 => (36, 59),
            _ => (60, 93),
        };
        let p_male = if lo >= 60 { 0.35 } else { 0.6 };
        let sex = self.sex(p_male);
        self.adult(sex, lo, hi, Role::Alone);
    }
}

/// The members of a household of `size` people, householder first.
pub(super) fn compose(rng: &mut SplitMix64, size: u32, today: i64) -> Vec<Member> {
    let mut f = Family { rng, today, members: Vec::with_capacity(size as usize) };
    match size {
        0 => {}
        1 => f.alone(),
        2 => match f.rng.weighted(&[33, 35, 12, 10, 10]) {
            0 => {
                f.couple(23, 38);
            }
            1 => {
                f.couple(50, 88);
            }
            2 => f.one_parent(1),
            3 => f.old_parent_and_child(),
            _ => f.flatmates(2),
        },
        3 => match f.rng.weighted(&[78, 10, 6, 6]) {
            0 => f.nuclear(1, 0),
            1 => f.couple_with_parents(1),
            2 => f.one_parent(2),
            _ => f.flatmates(3),
        },
        4 => match f.rng.weighted(&[52, 36, 8, 4]) {
            0 => f.nuclear(2, 0),
            1 => f.nuclear(1, 1),
            2 => f.couple_with_parents(2),
            _ => f.flatmates(4),
        },
        5 => match f.rng.weighted(&[50, 35, 15]) {
            0 => f.nuclear(1, 2),
            1 => f.nuclear(2, 1),
            _ => f.nuclear(3, 0),
        },
        _ => {
            match f.rng.weighted(&[75, 25]) {
                0 => f.nuclear(2, 2),
                _ => f.nuclear(3, 1),
            }
            // Larger households take in more adult relatives.
            while f.members.len() < size as usize {
                let sex = f.sex(0.5);
                f.adult(sex, 20, 60, Role::Other);
            }
        }
    }
    f.members
}
