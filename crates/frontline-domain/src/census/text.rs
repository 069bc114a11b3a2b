//! Cell text helpers shared by the census parsers: width folding, blanks, placeholders, yes/no, dates, names.

use crate::date::Date;
use crate::ids::Sex;
use crate::places::clean_name;

/// Cells longer than this (in bytes) are never a number, a date, a flag or an address part.
pub(crate) const MAX_SHORT_CELL: usize = 1_000;

/// Maps one full-width form (U+FF01–U+FF5E) to ASCII and the ideographic space to a space.
fn fold_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Maps full-width forms (U+FF01–U+FF5E) to ASCII and the ideographic space to a space; drops zero-width characters.
pub(crate) fn fold(raw: &str) -> String {
    raw.chars().filter(|&c| !is_invisible(c)).map(fold_char).collect()
}

/// Zero-width characters that spreadsheets and chat apps leave behind.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// One pass of [`squash`], optionally lowercasing ASCII letters.
fn squash_with(raw: &str, lower: bool) -> Option<String> {
    if raw.len() > MAX_SHORT_CELL {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = fold_char(c);
        if c.is_whitespace() || is_invisible(c) {
            continue;
        }
        out.push(match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '~' => '-',
            _ if lower => c.to_ascii_lowercase(),
            _ => c,
        });
    }
    Some(out)
}

/// Folds the width, removes all whitespace and writes every dash as `-`; `None` for a cell too long to be short.
pub(crate) fn squash(raw: &str) -> Option<String> {
    squash_with(raw, false)
}

/// Whether a cell holds nothing but whitespace and invisible characters.
pub(crate) fn is_blank(raw: &str) -> bool {
    raw.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// Squashed, ASCII-lowercased text of a short cell; empty for a long one.
pub(crate) fn key(raw: &str) -> String {
    squash_with(raw, true).unwrap_or_default()
}

/// Values that volunteers write for "nothing here".
const PLACEHOLDERS: &[&str] =
    &["", "无", "/", "\\", "-", "--", "---", "暂无", "没有", "空", "未知", "不详", "none", "n/a", "na", "null", "nil"];

/// Whether a cell is blank or a placeholder such as 无 or `/`.
pub(crate) fn is_placeholder(raw: &str) -> bool {
    is_blank(raw) || (raw.len() <= 32 && PLACEHOLDERS.contains(&key(raw).as_str()))
}

/// Values that mean yes in a flag column.
const YES: &[&str] = &["是", "√", "✓", "✔", "☑", "y", "yes", "1", "有", "true", "是的", "对", "t"];

/// Exact ASCII values that mean no.
const NO_EXACT: &[&str] = &["x", "n", "no", "0", "false", "f", "none", "na", "n/a", "/", "-", "--"];

/// Prefixes that make a value negative (否, 无, 不是, 没有, 未…).
const NO_PREFIXES: &[&str] = &["否", "无", "不", "没", "未", "非", "×", "✗", "✘"];

/// Whether a cell is an explicit yes (是, √, Y, 1, 有, true…).
pub(crate) fn is_yes(raw: &str) -> bool {
    YES.contains(&key(raw).as_str())
}

/// Whether a cell is an explicit no (否, 无, ×, N, 0…).
pub(crate) fn is_no(raw: &str) -> bool {
    let k = key(raw);
    NO_EXACT.contains(&k.as_str()) || NO_PREFIXES.iter().any(|p| k.starts_with(p))
}

/// Whether a special-need cell says the need applies: an explicit yes, or free text
/// describing it (高血压、糖尿病; 孕32周) that is not a placeholder or a negative.
pub(crate) fn need_applies(raw: &str) -> bool {
    if is_blank(raw) {
        return false;
    }
    if is_yes(raw) {
        return true;
    }
    !(is_placeholder(raw) || is_no(raw) || raw.len() > MAX_SHORT_CELL)
}

/// Phrases meaning "not at home", checked before the home phrases they contain.
const AWAY_FIRST: &[&str] = &["不在家", "未在家", "没在家", "notathome", "nothome"];
/// Phrases meaning "at home" (including negated absences).
const HOME: &[&str] = &["未外出", "没外出", "没有外出", "不外出", "在家", "home"];
/// Phrases meaning "away".
const AWAY: &[&str] = &["外出", "离开", "外地", "返乡", "出差", "不在", "away", "out"];

/// Reads a status word: `Some(true)` away, `Some(false)` at home, `None` when the words do not say.
pub(crate) fn away_word(raw: &str) -> Option<bool> {
    let k = key(raw);
    if AWAY_FIRST.iter().any(|w| k.contains(w)) {
        Some(true)
    } else if HOME.iter().any(|w| k.contains(w)) {
        Some(false)
    } else if AWAY.iter().any(|w| k.contains(w)) {
        Some(true)
    } else {
        None
    }
}

/// Reads a sex cell: 男/男性/M/male or 女/女性/F/female.
pub(crate) fn parse_sex(raw: &str) -> Option<Sex> {
    match key(raw).as_str() {
        "男" | "男性" | "m" | "male" | "man" => Some(Sex::Male),
        "女" | "女性" | "f" | "female" | "woman" => Some(Sex::Female),
        _ => None,
    }
}

/// Day 0 of spreadsheet date serial numbers (1900 system, with Excel's leap-year quirk absorbed).
fn excel_epoch() -> Option<Date> {
    Date::new(1899, 12, 30)
}

/// Reads a full birth date: 1990-01-02, 1990/1/2, 1990.1.2, 1990年1月2日, 19900102, a
/// date-time, or a spreadsheet serial number; `None` when it is not a whole date in 1850..=today.
pub fn parse_birth_date(raw: &str, today: Date) -> Option<Date> {
    if raw.len() > MAX_SHORT_CELL {
        return None;
    }
    let folded = fold(raw);
    // A date-time written out by a spreadsheet ("1990-01-02 00:00:00", "1990-01-02T00:00"): keep the date part.
    let date_part = if folded.contains(':') { folded.split_whitespace().next().unwrap_or("") } else { &folded };
    let s = squash(date_part.split('T').next().unwrap_or(""))?;
    let s = s.strip_suffix(".0").unwrap_or(&s);
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let date = if digits(s) {
        match s.len() {
            8 => ymd_text(&s[..4], &s[4..6], &s[6..8]),
            1..=5 => {
                let n: i64 = s.parse().ok()?;
                // A bare 4-digit year is not a date; other small numbers are serial days.
                if (1850..=2100).contains(&n) {
                    None
                } else {
                    excel_epoch().map(|e| e.add_days(n))
                }
            }
            _ => None,
        }
    } else {
        let unified: String = s
            .chars()
            .filter(|&c| c != '日' && c != '号')
            .map(|c| if matches!(c, '年' | '月' | '/' | '.') { '-' } else { c })
            .collect();
        let parts: Vec<&str> = unified.split('-').collect();
        match parts.as_slice() {
            [y, m, d] if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) => ymd_text(y, m, d),
            _ => None,
        }
    }?;
    (date.year() >= 1850 && date <= today).then_some(date)
}

/// The date for year, month and day written in ASCII digits.
fn ymd_text(y: &str, m: &str, d: &str) -> Option<Date> {
    let num = |t: &str| -> Option<u32> {
        if t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    Date::new(i32::try_from(num(y)?).ok()?, num(m)?, num(d)?)
}

/// What a name cell holds.
pub(crate) enum NameCell {
    /// Nothing, or a placeholder.
    Missing,
    /// A usable name.
    Name(String),
    /// Text that cannot be a name (too long, control characters).
    Invalid,
}

/// Cleans a person's name: width folded, runs of spaces collapsed, spaces between
/// Chinese characters removed (张  三 → 张三), then [`clean_name`].
pub(crate) fn person_name(raw: &str) -> NameCell {
    if is_placeholder(raw) {
        return NameCell::Missing;
    }
    if raw.len() > MAX_SHORT_CELL {
        return NameCell::Invalid;
    }
    let folded = fold(raw);
    let mut out = String::with_capacity(folded.len());
    for word in folded.split_whitespace() {
        let prev_wide = out.chars().last().is_some_and(|c| !c.is_ascii());
        let next_wide = word.chars().next().is_some_and(|c| !c.is_ascii());
        if !(out.is_empty() || (prev_wide && next_wide)) {
            out.push(' ');
        }
        out.push_str(word);
    }
    match clean_name(&out) {
        Some(name) => NameCell::Name(name),
        None => NameCell::Invalid,
    }
}

/// Whether a short cell is a whole number of at most 7 digits (a count), allowing a `.0` suffix.
pub(crate) fn is_count(raw: &str) -> bool {
    let Some(s) = squash(raw) else { return false };
    let s = s.strip_suffix(".0").unwrap_or(&s);
    (1..=7).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Trims a free-text cell and cuts it to at most `max` characters; `None` when blank.
pub(crate) fn free_text(raw: &str, max: usize) -> Option<String> {
    let t = fold(raw);
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    Some(t.chars().take(max).filter(|c| !c.is_control()).collect())
}
