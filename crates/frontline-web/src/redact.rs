//! Masking the personal data inside audit entries. An entry's before and after
//! are snapshots of whatever changed (a resident, an import row, a merge), so
//! the audit log would show ID numbers and phone numbers in clear to everyone
//! who may read it. Readers see them masked; only roles allowed to reveal
//! personal data may ask for them unmasked, and that read is audited itself.

use frontline_domain::ids::{IdNumber, PassportNumber};
use frontline_domain::privacy::mask_text as text_mask;
use serde_json::Value;

use crate::views::{mask_document, mask_phone};

/// Keys whose value is a birth date: dropped, as it is the hidden middle of a
/// masked ID number.
const BIRTH_KEYS: [&str; 3] = ["birth_date", "birthday", "dob"];

/// Whether a key names an identity document's number.
fn is_document_key(key: &str) -> bool {
    key.contains("id_number") || key.contains("document") || key.contains("passport") || key == "doc_number"
}

/// Whether a key names a phone number (`phone`, `old_phone`, `new_phone`, `mobile`…).
fn is_phone_key(key: &str) -> bool {
    key.contains("phone") || key.contains("mobile")
}

/// A document number, masked by its own kind (an ID number, a passport, or anything else).
fn mask_any_document(s: &str) -> String {
    if IdNumber::parse(s).is_ok() {
        mask_document("cn_id", s)
    } else if PassportNumber::parse(s).is_some() {
        mask_document("passport", s)
    } else {
        mask_document("none", s)
    }
}

/// Masks every personal field of `value` in place: document and phone fields by
/// their key, and every other string (or number) through the same free-text
/// mask as raw census cells ([`frontline_domain::privacy::mask_text`]: ID
/// numbers, phones, dates and long digit runs, mistyped ones included), at any
/// depth; birth dates are removed.
pub fn mask_personal(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !BIRTH_KEYS.contains(&k.as_str()));
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if is_document_key(k) => *s = mask_any_document(s),
                    Value::String(s) if is_phone_key(k) => *s = mask_phone(s),
                    Value::Number(n) if is_document_key(k) || is_phone_key(k) => {
                        *v = Value::String(mask_any_document(&n.to_string()));
                    }
                    _ => mask_personal(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_personal),
        Value::String(s) => *s = text_mask(s),
        Value::Number(n) => {
            let plain = n.to_string();
            let masked = text_mask(&plain);
            if masked != plain {
                *value = Value::String(masked);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// A text (an entity id) masked like any free text.
pub fn mask_text(s: String) -> String {
    text_mask(&s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn personal_fields_are_masked_at_any_depth() {
        let date = frontline_domain::date::Date::new(1990, 3, 7).expect("date");
        let valid = IdNumber::from_parts("110105", date, 451).as_str().to_string();
        let mistyped = "110105199003074510";
        let mut v = json!({
            "name": "林美华",
            "id_number": valid,
            "phone": "13812345678",
            "birth_date": "1990-03-07",
            "old_phone": "13912345678",
            "rows": [{"note": valid, "raw": mistyped, "n": 13812345678_i64, "other": "13700000000", "count": 3}],
        });
        mask_personal(&mut v);
        let text = v.to_string();
        for clear in [valid.as_str(), mistyped, "13812345678", "13912345678", "13700000000", "1990-03-07"] {
            assert!(!text.contains(clear), "{clear} in {text}");
        }
        assert_eq!(v["name"], "林美华");
        assert_eq!(v["rows"][0]["count"], 3);
        assert!(v.get("birth_date").is_none());
    }
}
