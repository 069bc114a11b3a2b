//! Keyset pagination: every list is read after a cursor, never by OFFSET.

use serde::Serialize;

/// One page of a list, and the cursor for the next page (`None` at the end).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// The cursor to pass as `after` for the next page.
    pub next: Option<String>,
}

/// The largest page any list returns.
pub const MAX_LIMIT: i64 = 500;

/// Clamps a requested page size into `1..=MAX_LIMIT`, defaulting to 50.
pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, MAX_LIMIT)
}

/// Builds a page from `limit + 1` fetched rows: the extra row only proves there is a next page.
pub fn from_rows<T>(mut rows: Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(cursor)
    } else {
        None
    };
    Page { items: rows, next }
}

/// Parses an `after` cursor written by this module (a row id).
pub fn parse_cursor(after: Option<&str>) -> Option<Option<i64>> {
    match after {
        None | Some("") => Some(None),
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_row_means_next_page() {
        let p = from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next.as_deref(), Some("2"));
        let p = from_rows(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(p.next, None);
    }

    #[test]
    fn limits_and_cursors() {
        assert_eq!(clamp_limit(None), 50);
        assert_eq!(clamp_limit(Some(0)), 1);
        assert_eq!(clamp_limit(Some(10_000)), MAX_LIMIT);
        assert_eq!(parse_cursor(Some("12")), Some(Some(12)));
        assert_eq!(parse_cursor(Some("x")), None);
        assert_eq!(parse_cursor(Some("-1")), None);
        assert_eq!(parse_cursor(None), Some(None));
    }
}
