//! The message catalogue: every text the product shows, in Simplified Chinese
//! (the default) and English, from one file (`messages.toml`).
//!
//! Keys are dotted paths (`nav.buildings`); a leaf is `{ zh = "…", en = "…" }`.
//! Parameters are written `{name}` and filled by [`Catalogue::format`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A language of the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Simplified Chinese, the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Both languages, the default first.
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// `zh` or `en`.
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub const fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses `zh`/`en` (and `zh-CN`, `en-GB`, …).
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the best language from an `Accept-Language` header (highest q wins; Chinese when nothing matches).
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("");
            let q = bits.find_map(|b| b.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(tag) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }
}

/// The parsed catalogue.
#[derive(Debug)]
pub struct Catalogue {
    entries: BTreeMap<String, [String; 2]>,
    problems: Vec<String>,
}

/// The catalogue's files: the shell and foundation, then one per capability.
const SOURCES: &[&str] = &[
    include_str!("../messages.toml"),
    include_str!("../messages_census.toml"),
    include_str!("../messages_sampling.toml"),
    include_str!("../messages_reconcile.toml"),
    include_str!("../messages_lab.toml"),
    include_str!("../messages_pages.toml"),
];

/// The built-in catalogue, parsed once.
pub fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| Catalogue::parse_all(SOURCES))
}

impl Catalogue {
    /// Parses a catalogue; problems (a key missing a language, a stray value) are collected, not fatal.
    pub fn parse(source: &str) -> Catalogue {
        let mut cat = Catalogue { entries: BTreeMap::new(), problems: Vec::new() };
        match source.parse::<toml::Table>() {
            Ok(table) => cat.walk("", &table),
            Err(e) => cat.problems.push(format!("catalogue is not valid TOML: {e}")),
        }
        cat
    }

    fn walk(&mut self, prefix: &str, table: &toml::Table) {
        let is_leaf = table.contains_key("zh") || table.contains_key("en");
        if is_leaf {
            let get = |lang: &str| table.get(lang).and_then(toml::Value::as_str).map(str::to_string);
            match (get("zh"), get("en")) {
                (Some(zh), Some(en)) if !zh.trim().is_empty() && !en.trim().is_empty() => {
                    self.entries.insert(prefix.to_string(), [zh, en]);
                }
                _ => self.problems.push(format!("{prefix}: needs non-empty zh and en")),
            }
            if table.keys().any(|k| k != "zh" && k != "en") {
                self.problems.push(format!("{prefix}: a message holds exactly zh and en"));
            }
            return;
        }
        for (k, v) in table {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(t) => self.walk(&key, t),
                _ => self.problems.push(format!("{key}: expected {{ zh = …, en = … }}")),
            }
        }
    }

    /// Parses several files into one catalogue; a key defined twice is a problem.
    pub fn parse_all(sources: &[&str]) -> Catalogue {
        let mut all = Catalogue { entries: BTreeMap::new(), problems: Vec::new() };
        for source in sources {
            let one = Catalogue::parse(source);
            all.problems.extend(one.problems);
            for (k, v) in one.entries {
                if all.entries.insert(k.clone(), v).is_some() {
                    all.problems.push(format!("{k}: defined twice"));
                }
            }
        }
        all
    }

    /// Problems found while parsing; empty for a sound catalogue.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Whether `key` exists.
    pub fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Every key, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The text of `key`; the key itself when missing (tests make sure none is).
    pub fn text<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        match self.entries.get(key) {
            Some(pair) => &pair[lang as usize],
            None => key,
        }
    }

    /// The text of `key` with `{name}` parameters filled in.
    pub fn format(&self, lang: Lang, key: &str, params: &[(&str, String)]) -> String {
        let mut out = self.text(lang, key).to_string();
        for (name, value) in params {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_is_complete_in_both_languages() {
        let cat = catalogue();
        assert!(cat.problems().is_empty(), "{:#?}", cat.problems());
        assert!(cat.keys().count() > 50);
    }

    #[test]
    fn missing_language_is_a_problem() {
        let cat = Catalogue::parse("[a]\nb = { zh = \"乙\" }\n[c]\nd = { zh = \"丁\", en = \"\" }\n");
        assert_eq!(cat.problems().len(), 2, "{:?}", cat.problems());
        assert!(!cat.has("a.b"));
    }

    #[test]
    fn a_key_defined_in_two_files_is_a_problem() {
        let a = "[x]\ny = { zh = \"甲\", en = \"a\" }\n";
        assert_eq!(Catalogue::parse_all(&[a, a]).problems().len(), 1);
    }

    #[test]
    fn formats_parameters() {
        let cat = Catalogue::parse("[x]\ny = { zh = \"应为{expected}\", en = \"expected {expected}\" }\n");
        assert_eq!(cat.format(Lang::En, "x.y", &[("expected", "X".into())]), "expected X");
        assert_eq!(cat.format(Lang::Zh, "x.y", &[("expected", "7".into())]), "应为7");
    }

    #[test]
    fn accept_language_picks_highest_quality() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,zh;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, zh-CN;q=0.5, en;q=0.4"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr"), Lang::Zh);
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
    }

    #[test]
    fn glossary_terms_are_in_the_catalogue() {
        for (english, chinese, _) in crate::glossary::TERMS {
            let key = format!("term.{english}");
            assert_eq!(catalogue().text(Lang::Zh, &key), *chinese, "{key}");
        }
    }
}
