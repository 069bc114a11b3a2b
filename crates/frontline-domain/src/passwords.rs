//! The password rule: what a new password must be, wherever it is set (the
//! API, the pages, the command line, the demo).
//!
//! A password is refused when it
//! - has fewer than [`MIN_PASSWORD_CHARS`] characters;
//! - has fewer than [`MIN_DISTINCT_CHARS`] different characters (ten spaces,
//!   `aaaaaaaaaa`, `abababab…`);
//! - is a common password: on Openwall's list of common passwords
//!   (`common_passwords.txt`, public domain, see `LICENSES/openwall-password-list.txt`),
//!   also once the digits and punctuation around it are taken off
//!   (`password123`, `!monkey2024`), or a run of the alphabet, the digits or
//!   the keyboard (`0123456789`, `qwertyuiop`), compared case-insensitively;
//! - contains the account's user name, case-insensitively.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The fewest different characters a password may have.
pub const MIN_DISTINCT_CHARS: usize = 5;

/// Why a password is refused; [`PasswordProblem::code`] is the field error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// Fewer than [`MIN_DISTINCT_CHARS`] different characters.
    #[error("a password needs at least {MIN_DISTINCT_CHARS} different characters")]
    TooSimple,
    /// A common password, or one with only digits or punctuation around a common one.
    #[error("this password is too common; choose another")]
    Common,
    /// Contains the user name.
    #[error("the password must not contain the user name")]
    ContainsUsername,
}

impl PasswordProblem {
    /// A stable code: `too_short`, `too_simple`, `common`, `contains_username`.
    pub const fn code(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "too_short",
            PasswordProblem::TooSimple => "too_simple",
            PasswordProblem::Common => "common",
            PasswordProblem::ContainsUsername => "contains_username",
        }
    }

    /// The catalogue key of the message (`error.password.<code>`).
    pub fn message_key(self) -> String {
        format!("error.password.{}", self.code())
    }
}

/// Runs of characters people type as passwords; a password inside one of them is common.
const RUNS: [&str; 4] =
    ["abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p"];

fn common_list() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .filter(|l| !l.starts_with("#!comment:") && !l.is_empty())
            .map(str::to_lowercase)
            .collect()
    })
}

fn is_common(lower: &str) -> bool {
    let list = common_list();
    if list.contains(lower) {
        return true;
    }
    let core = lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace());
    if !core.is_empty() && list.contains(core) {
        return true;
    }
    RUNS.iter().any(|run| {
        let reversed: String = run.chars().rev().collect();
        run.contains(lower) || reversed.contains(lower)
    })
}

/// Checks a new password for the account `username` against the rule above.
pub fn check_password(password: &str, username: &str) -> Result<(), PasswordProblem> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if password.chars().collect::<HashSet<char>>().len() < MIN_DISTINCT_CHARS {
        return Err(PasswordProblem::TooSimple);
    }
    let lower = password.to_lowercase();
    let name = username.trim().to_lowercase();
    if !name.is_empty() && lower.contains(&name) {
        return Err(PasswordProblem::ContainsUsername);
    }
    if is_common(&lower) {
        return Err(PasswordProblem::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_repetitive_passwords_are_refused() {
        assert_eq!(check_password("12345678", "alice"), Err(PasswordProblem::TooShort));
        assert_eq!(check_password("        ", "alice"), Err(PasswordProblem::TooShort));
        assert_eq!(check_password("          ", "alice"), Err(PasswordProblem::TooSimple));
        assert_eq!(check_password("aaaaaaaaaaaa", "alice"), Err(PasswordProblem::TooSimple));
        assert_eq!(check_password("abababababab", "alice"), Err(PasswordProblem::TooSimple));
        // Characters, not bytes: four Chinese characters are too short.
        assert_eq!(check_password("防疫防疫", "alice"), Err(PasswordProblem::TooShort));
    }

    #[test]
    fn common_passwords_are_refused() {
        for p in
            ["1234567890", "qwertyuiop", "Password123", "password1234", "!!monkey2024", "0987654321", "abcdefghijk"]
        {
            assert_eq!(check_password(p, "alice"), Err(PasswordProblem::Common), "{p}");
        }
    }

    #[test]
    fn the_user_name_may_not_be_in_the_password() {
        assert_eq!(check_password("xx-Alice-2024", "alice"), Err(PasswordProblem::ContainsUsername));
        assert_eq!(check_password("my LAB results", "lab"), Err(PasswordProblem::ContainsUsername));
    }

    #[test]
    fn good_passwords_pass() {
        for p in ["correct-horse-9", "demo-pass-123", "long enough 1", "红旗小区3号楼值班表"] {
            assert_eq!(check_password(p, "alice"), Ok(()), "{p}");
        }
    }

    #[test]
    fn the_list_is_loaded_without_its_header() {
        let list = common_list();
        assert!(list.len() > 3_000);
        assert!(list.contains("password") && list.contains("iloveyou"));
        assert!(!list.iter().any(|l| l.starts_with("#!")));
    }
}
