//! Hints of likely duplicates for a person to merge or keep apart: IDs one typo apart, same name and phone.

use crate::ids::Phone;

use super::text::fold;

/// Whether two 18-character ID numbers differ by exactly one substituted character or by
/// one swap of two adjacent (different) characters; `false` for equal numbers or other lengths.
pub fn ids_one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != 18 || b.len() != 18 || !a.is_ascii() || !b.is_ascii() {
        return false;
    }
    let diffs: Vec<usize> = (0..18).filter(|&i| a[i] != b[i]).collect();
    match diffs.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
        _ => false,
    }
}

/// A name as compared between two rows naming the same document: spaces removed,
/// width folded, lowercased ("张 三" and "张三" are one name). Empty for no name.
pub fn name_key(name: &str) -> String {
    fold(name).chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Whether two rows carrying the same document name different people: both have
/// a name and the names differ beyond spacing, width and case. A missing name never conflicts.
pub fn names_conflict(a: &str, b: &str) -> bool {
    let (a, b) = (name_key(a), name_key(b));
    !a.is_empty() && !b.is_empty() && a != b
}

/// The key under which people with the same name and mobile number collide:
/// the name with spaces removed, width folded and lowercased, then `|`, then the 11 digits.
pub fn duplicate_key_name_phone(name: &str, phone: &Phone) -> String {
    format!("{}|{}", name_key(name), phone.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11010519491231002X";

    #[test]
    fn one_substitution_is_one_edit() {
        assert!(ids_one_edit_apart(ID, "11010519491231003X"));
        assert!(ids_one_edit_apart(ID, "110105194912310021"));
    }

    #[test]
    fn one_adjacent_transposition_is_one_edit() {
        assert!(ids_one_edit_apart(ID, "11010519491213002X"));
        assert!(ids_one_edit_apart(ID, "1101051949123100X2"));
    }

    #[test]
    fn equal_far_or_odd_lengths_are_not() {
        assert!(!ids_one_edit_apart(ID, ID));
        // Two substitutions.
        assert!(!ids_one_edit_apart(ID, "21010519491231003X"));
        // A swap of non-adjacent characters.
        assert!(!ids_one_edit_apart(ID, "21010519491231001X"));
        assert!(!ids_one_edit_apart("110105491231002", "110105491231003"));
        assert!(!ids_one_edit_apart(ID, "11010519491231002"));
        assert!(!ids_one_edit_apart("", ""));
        assert!(!ids_one_edit_apart("张三张三张三张三张三张三", "张三张三张三张三张三张四"));
    }

    #[test]
    fn names_conflict_only_when_both_named_and_different() {
        assert!(names_conflict("洪华", "蔡敏"));
        assert!(!names_conflict("蔡敏", "蔡 敏"));
        assert!(!names_conflict("Ｊｏｈｎ", "john"));
        assert!(!names_conflict("", "蔡敏"));
        assert!(!names_conflict("蔡敏", " "));
    }

    #[test]
    fn name_phone_key_ignores_spacing_and_width() {
        let phone = Phone::parse("13800138000").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(duplicate_key_name_phone("张 三", &phone), "张三|13800138000");
        assert_eq!(duplicate_key_name_phone("Ｊｏｈｎ Smith", &phone), duplicate_key_name_phone("john smith", &phone));
    }
}
