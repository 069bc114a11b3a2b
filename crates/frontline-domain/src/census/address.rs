//! Address parts as volunteers write them: 3号楼 / 3栋 / 3# / 十二栋, 1单元, 1302室 / 13-02, and combined cells.

use crate::places::clean_name;

use super::text::squash;

/// A room (household door) as read from a sheet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Room {
    /// The floor, when the room number encodes it (1302 → 13, 502 → 5).
    pub floor: Option<u32>,
    /// The canonical room number: digits only, no leading zeros ("1302").
    pub text: String,
}

/// A combined address cell, read.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Address {
    /// A compound name written before the building (海月花园3号楼 → 海月花园).
    pub compound: Option<String>,
    /// The building number.
    pub building: u32,
    /// The unit number, when written.
    pub unit: Option<u32>,
    /// The room, when written.
    pub room: Option<Room>,
}

/// The canonical name of building `n`: "3号楼".
pub fn building_name(n: u32) -> String {
    format!("{n}号楼")
}

/// The canonical name of unit `n`: "1单元".
pub fn unit_name(n: u32) -> String {
    format!("{n}单元")
}

/// The value of a Chinese numeral from 一 to 九十九 (十二, 二十, 二十三).
fn chinese_number(s: &str) -> Option<u32> {
    let digit = |c: char| "一二三四五六七八九".chars().position(|d| d == c).map(|p| p as u32 + 1);
    let two = |c: char| if c == '两' { Some(2) } else { digit(c) };
    let chars: Vec<char> = s.chars().take(4).collect();
    match chars.as_slice() {
        ['十'] => Some(10),
        [d] => two(*d),
        ['十', d] => Some(10 + digit(*d)?),
        [d, '十'] => Some(digit(*d)? * 10),
        [a, '十', b] => Some(digit(*a)? * 10 + digit(*b)?),
        _ => None,
    }
}

/// A positive number written in ASCII digits (at most 9, an optional `.0` from a number cell) or in Chinese numerals.
pub fn parse_number(s: &str) -> Option<u32> {
    let s = s.strip_suffix(".0").unwrap_or(s);
    if s.bytes().all(|b| b.is_ascii_digit()) {
        if s.is_empty() || s.len() > 9 {
            return None;
        }
        return s.parse::<u32>().ok().filter(|&n| n > 0);
    }
    chinese_number(s)
}

/// Building suffixes accepted in a building column, longest first.
const BUILDING_SUFFIXES: &[&str] = &["号楼", "#楼", "栋", "幢", "座", "#", "号", "楼"];

/// Building markers accepted inside a combined address (a bare 楼 there may be a floor).
const ADDRESS_MARKERS: &[&str] = &["号楼", "#楼", "栋", "幢", "座", "#", "号"];

/// Reads a building: 3号楼, 3栋, 3幢, 3#, 3#楼, 3号, 3, 第3栋, ３号楼, 十二栋; `None` when not a number (B3).
pub fn parse_building(raw: &str) -> Option<u32> {
    let s = squash(raw)?;
    let s = s.strip_prefix('第').unwrap_or(&s);
    let s = BUILDING_SUFFIXES.iter().find_map(|suf| s.strip_suffix(suf)).unwrap_or(s);
    parse_number(s)
}

/// Reads a unit: 1单元, 1, 一单元, 1-单元, 第1单元, 1号单元.
pub fn parse_unit(raw: &str) -> Option<u32> {
    let s = squash(raw)?;
    let s = s.strip_prefix('第').unwrap_or(&s);
    let s = s.strip_suffix("单元").or_else(|| s.strip_suffix('单')).unwrap_or(s);
    let s = s.trim_end_matches('-');
    let s = s.strip_suffix('号').unwrap_or(s);
    parse_number(s)
}

/// Reads a floor: 13, 13层, 13楼, 13F, 十三层.
pub fn parse_floor(raw: &str) -> Option<u32> {
    let s = squash(raw)?;
    let s = s.strip_prefix('第').unwrap_or(&s);
    let s = ["层", "楼", "F", "f"].iter().find_map(|suf| s.strip_suffix(suf)).unwrap_or(s);
    parse_number(s)
}

/// Whether `s` is a non-empty run of ASCII digits.
fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Reads a room: 1302, 1302室, 1302号, 13-02 (floor 13), 502 (floor 5), 0502 → "502";
/// `None` for anything but digits (B1-01) or more than 5 digits.
pub fn parse_room(raw: &str) -> Option<Room> {
    let s = squash(raw)?;
    let s = s.strip_suffix(".0").unwrap_or(&s);
    let s = ["室", "号", "房", "户"].iter().find_map(|suf| s.strip_suffix(suf)).unwrap_or(s);
    if let Some((a, b)) = s.split_once('-') {
        if !all_digits(a) || !all_digits(b) || a.len() > 3 {
            return None;
        }
        let floor = parse_number(a)?;
        let text = if b.len() <= 2 {
            format!("{floor}{b:0>2}")
        } else if b.len() <= 5 && b.trim_start_matches('0').starts_with(&floor.to_string()) {
            b.trim_start_matches('0').to_string()
        } else {
            return None;
        };
        return Some(Room { floor: Some(floor), text });
    }
    if !all_digits(s) {
        return None;
    }
    let t = s.trim_start_matches('0');
    if t.is_empty() || t.len() > 5 {
        return None;
    }
    let floor = if t.len() >= 3 { t[..t.len() - 2].parse::<u32>().ok().filter(|&f| f > 0) } else { None };
    Some(Room { floor, text: t.to_string() })
}

/// Separators that may stand between address parts.
const SEPARATORS: &[char] = &['-', ',', '，', '、', '/'];

/// Reads what follows the building: "", "1单元", "1单元1302室", "1-1302", "1302".
fn parse_rest(rest: &str) -> Option<(Option<u32>, Option<Room>)> {
    let rest = rest.trim_start_matches(SEPARATORS);
    if rest.is_empty() {
        return Some((None, None));
    }
    if let Some(pos) = rest.find("单元") {
        let end = pos + "单元".len();
        let unit = parse_unit(&rest[..end])?;
        let tail = rest[end..].trim_start_matches(SEPARATORS);
        let room = if tail.is_empty() { None } else { Some(parse_room(tail)?) };
        return Some((Some(unit), room));
    }
    if let Some((a, b)) = rest.split_once('-') {
        let b_digits = b.trim_end_matches(['室', '号']);
        if all_digits(a) && a.len() <= 2 && all_digits(b_digits) && b_digits.len() >= 3 {
            return Some((Some(parse_number(a)?), Some(parse_room(b)?)));
        }
    }
    Some((None, Some(parse_room(rest)?)))
}

/// Characters that can make up a Chinese numeral.
fn is_chinese_numeral(c: char) -> bool {
    "一二三四五六七八九十两".contains(c)
}

/// The building number written at the end of `before`, and where it starts.
fn trailing_number(before: &str) -> Option<(u32, usize)> {
    let digits_start = before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits_start < before.len() {
        // B3栋: a letter glued to the number makes it a code, not a building number.
        if before[..digits_start].ends_with(|c: char| c.is_ascii_alphabetic()) {
            return None;
        }
        return parse_number(&before[digits_start..]).map(|n| (n, digits_start));
    }
    let run_start = before.trim_end_matches(is_chinese_numeral).len();
    // Try the longest run first, then shorter ones (a compound name may end in a numeral).
    // A numeral has at most 3 characters (九十九), so only the last 3 starts can parse.
    let starts: Vec<usize> = before[run_start..].char_indices().map(|(i, _)| run_start + i).collect();
    let last3 = &starts[starts.len().saturating_sub(3)..];
    last3.iter().find_map(|&start| chinese_number(&before[start..]).map(|n| (n, start)))
}

/// The compound name written before the building, if any.
fn compound_of(prefix: &str) -> Option<String> {
    clean_name(prefix.trim_end_matches(SEPARATORS))
}

/// Reads a combined address cell: 3号楼1单元1302, 3栋1单元1302室, 3-1-1302, 3#1302,
/// 海月花园3号楼1单元1302室, 十二栋二单元502; `None` when any part is unreadable.
pub fn parse_address(raw: &str) -> Option<Address> {
    let s = squash(raw)?;
    if s.is_empty() {
        return None;
    }
    // Marker form: a number followed by 号楼 / 栋 / 幢 / # …; the first reading that parses wins.
    for (i, _) in s.char_indices() {
        let Some(marker) = ADDRESS_MARKERS.iter().find(|m| s[i..].starts_with(*m)) else { continue };
        let Some((building, start)) = trailing_number(&s[..i]) else { continue };
        if let Some((unit, room)) = parse_rest(&s[i + marker.len()..]) {
            return Some(Address { compound: compound_of(&s[..start]), building, unit, room });
        }
    }
    parse_dashed(&s)
}

/// Reads the dashed form 3-1-1302 (building-unit-room), 3-1302, 3-1, 3-1-13-02, after an optional compound name.
fn parse_dashed(s: &str) -> Option<Address> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let (prefix, body) = s.split_at(start);
    if prefix.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let body = body.trim_end_matches(['室', '号']);
    let parts: Vec<&str> = body.split('-').collect();
    if parts.len() < 2 || parts.len() > 4 || !parts.iter().all(|p| all_digits(p)) {
        return None;
    }
    let building = parse_number(parts[0])?;
    let (unit, room) = match parts.as_slice() {
        [_, x] if x.len() >= 3 => (None, Some(parse_room(x)?)),
        [_, u] => (Some(parse_number(u)?), None),
        [_, u, r] => (Some(parse_number(u)?), Some(parse_room(r)?)),
        [_, u, f, r] => (Some(parse_number(u)?), Some(parse_room(&format!("{f}-{r}"))?)),
        _ => return None,
    };
    Some(Address { compound: compound_of(prefix), building, unit, room })
}
