//! What a free-text resident search means: digits (a phone or ID tail), an
//! address (perhaps after part of a compound's name: `书香苑 3-1-1302`,
//! `1302室`), or a name.

/// What a free-text search means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
    /// Digits: a phone tail or an ID tail (or a whole number).
    Digits(String),
    /// An address: part of a compound's name, then building, unit and room,
    /// each optional (at least one of them given).
    Address(AddressSearch),
    /// A name or name prefix.
    Name(String),
}

/// The parts of an address search; `None` matches any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddressSearch {
    /// Part of the compound's name (`书香苑`).
    pub(crate) compound: Option<String>,
    /// The building's name (`3号楼`).
    pub(crate) building: Option<String>,
    /// The unit's name (`1单元`).
    pub(crate) unit: Option<String>,
    /// The room (`1302`).
    pub(crate) room: Option<String>,
}

/// Full-width characters to ASCII, whitespace dropped.
fn normalise_search(query: &str) -> String {
    query
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Which part of an address a number names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Building,
    Unit,
    Room,
}

/// The part a marker after a number names (`号楼`, `单元`, `室`), `None` for a
/// plain separator (`-`, `/`, the end), or `Err` for text that is no marker.
fn marker_part(marker: &str) -> Result<Option<Part>, ()> {
    match marker.trim_matches(['-', '/']) {
        "" => Ok(None),
        "号楼" | "号" | "楼" | "栋" | "幢" | "#" | "号栋" | "号幢" => Ok(Some(Part::Building)),
        "单元" | "单" => Ok(Some(Part::Unit)),
        "室" | "号室" | "房" => Ok(Some(Part::Room)),
        _ => Err(()),
    }
}

/// Parses an address that starts with a digit: `3-1-1302`, `3号楼1单元1302室`,
/// `3栋`, `1302室`. Numbers without a marker take their place by position
/// (three: building, unit, room; two: building, room; one: room).
fn parse_address(s: &str) -> Option<AddressSearch> {
    let mut tokens: Vec<(String, Option<Part>)> = vec![];
    let mut rest = s;
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits_end == 0 {
            return None;
        }
        let (digits, tail) = rest.split_at(digits_end);
        let marker_end = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (marker, next) = tail.split_at(marker_end);
        tokens.push((digits.to_string(), marker_part(marker).ok()?));
        rest = next;
    }
    if tokens.is_empty() || tokens.len() > 3 {
        return None;
    }
    let defaults: &[Part] = match tokens.len() {
        1 => &[Part::Room],
        2 => &[Part::Building, Part::Room],
        _ => &[Part::Building, Part::Unit, Part::Room],
    };
    let mut found = AddressSearch::default();
    for (i, (digits, part)) in tokens.into_iter().enumerate() {
        let slot = match part.unwrap_or(defaults[i]) {
            Part::Building => (&mut found.building, format!("{digits}号楼")),
            Part::Unit => (&mut found.unit, format!("{digits}单元")),
            Part::Room => (&mut found.room, digits),
        };
        if slot.0.is_some() {
            return None;
        }
        *slot.0 = Some(slot.1);
    }
    Some(found)
}

pub(crate) fn classify(query: &str) -> Option<Search> {
    let q = normalise_search(query);
    if q.is_empty() {
        return None;
    }
    if q.chars().all(|c| c.is_ascii_digit() || c == 'X' || c == 'x') && q.chars().any(|c| c.is_ascii_digit()) {
        return Some(Search::Digits(q.to_ascii_uppercase()));
    }
    // An address, perhaps after (part of) a compound's name: the first digit
    // from which the rest reads as an address ("万科城2期3-1-1302").
    for (i, c) in q.char_indices() {
        if !c.is_ascii_digit() || q[..i].ends_with(|p: char| p.is_ascii_digit()) {
            continue;
        }
        if let Some(mut address) = parse_address(&q[i..]) {
            let compound = q[..i].trim_matches(['-', '/', ',', '，', '·']);
            address.compound = (!compound.is_empty()).then(|| compound.to_string());
            return Some(Search::Address(address));
        }
    }
    Some(Search::Name(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(
        compound: Option<&str>,
        building: Option<&str>,
        unit: Option<&str>,
        room: Option<&str>,
    ) -> Option<Search> {
        let own = |s: Option<&str>| s.map(str::to_string);
        Some(Search::Address(AddressSearch {
            compound: own(compound),
            building: own(building),
            unit: own(unit),
            room: own(room),
        }))
    }

    #[test]
    fn searches_are_classified() {
        assert_eq!(classify("5678"), Some(Search::Digits("5678".into())));
        assert_eq!(classify("２３４x"), Some(Search::Digits("234X".into())));
        assert_eq!(classify("张"), Some(Search::Name("张".into())));
        assert_eq!(classify("3-1-1302"), address(None, Some("3号楼"), Some("1单元"), Some("1302")));
        assert_eq!(classify("3号楼1单元1302室"), address(None, Some("3号楼"), Some("1单元"), Some("1302")));
        assert_eq!(classify("3栋"), address(None, Some("3号楼"), None, None));
        assert_eq!(classify("3-1302"), address(None, Some("3号楼"), None, Some("1302")));
        assert_eq!(classify("  "), None);
    }

    #[test]
    fn a_room_alone_is_a_room_not_a_building() {
        assert_eq!(classify("1302室"), address(None, None, None, Some("1302")));
        assert_eq!(classify("1单元1302"), address(None, None, Some("1单元"), Some("1302")));
    }

    #[test]
    fn a_compound_name_narrows_an_address() {
        let want = address(Some("书香苑"), Some("3号楼"), Some("1单元"), Some("1302"));
        assert_eq!(classify("书香苑 3-1-1302"), want);
        assert_eq!(classify("书香苑3号楼1单元1302室"), want);
        assert_eq!(classify("书香 3-1-1302"), address(Some("书香"), Some("3号楼"), Some("1单元"), Some("1302")));
        assert_eq!(
            classify("万科城2期3-1-1302"),
            address(Some("万科城2期"), Some("3号楼"), Some("1单元"), Some("1302"))
        );
        // Text that is neither marker nor separator ends no address: a name search.
        assert_eq!(classify("3x栋"), Some(Search::Name("3x栋".into())));
    }
}
