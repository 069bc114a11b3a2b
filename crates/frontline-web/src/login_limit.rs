//! The login rate limit: per account, failures in a row with an exponential
//! back-off; per address, failures in a sliding minute. Checked and recorded
//! in one step, before the password is verified.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::WebConfig;

/// The login rate limit's settings (from [`WebConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures in a row an account may have before it waits.
    pub per_account: u32,
    /// The first wait; each further failure doubles it.
    pub first_wait: Duration,
    /// The longest wait.
    pub max_wait: Duration,
    /// Failed logins per minute from one address.
    pub per_address: u32,
}

impl LoginLimits {
    /// The limits configured in `config`.
    pub fn from_config(config: &WebConfig) -> LoginLimits {
        LoginLimits {
            per_account: config.login_failures_per_account.max(1),
            first_wait: Duration::from_secs(config.login_backoff_first_secs.max(1)),
            max_wait: Duration::from_secs(config.login_backoff_max_secs.max(config.login_backoff_first_secs).max(1)),
            per_address: config.login_failures_per_address.max(1),
        }
    }

    /// The wait after an account's `failures`-th failure in a row: none before
    /// `per_account`, then `first_wait`, doubling, up to `max_wait`.
    pub fn wait_after(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.per_account)?;
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        Some(self.first_wait.saturating_mul(factor).min(self.max_wait))
    }
}

/// Which limit refused a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// The account is waiting after failures in a row.
    Account,
    /// The address failed too often in the last minute.
    Address,
}

impl LimitScope {
    /// `account` or `address`.
    pub const fn code(self) -> &'static str {
        match self {
            LimitScope::Account => "account",
            LimitScope::Address => "address",
        }
    }
}

/// A refused login: which limit, and the seconds until it may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The limit.
    pub scope: LimitScope,
    /// Seconds to wait (at least 1), for `Retry-After`.
    pub retry_after: u64,
}

/// A login attempt that passed the limit and counts as a failure until it succeeds.
#[derive(Debug)]
#[must_use = "an attempt ends in failed() or succeeded()"]
pub struct Attempt {
    account: String,
    address: Option<(IpAddr, Instant)>,
}

#[derive(Debug)]
struct AccountFailures {
    /// Failures in a row (attempts being checked count as failures).
    count: u32,
    /// The last attempt.
    last: Instant,
    /// No attempt before this.
    until: Option<Instant>,
}

#[derive(Debug, Default)]
struct LimiterState {
    accounts: HashMap<String, AccountFailures>,
    addresses: HashMap<IpAddr, VecDeque<Instant>>,
}

/// The login rate limit.
///
/// - Per account: failures in a row (forgotten on success, or an hour after
///   the last one once any wait is over). After `per_account` of them the
///   account waits `first_wait`, then twice as long after each further failure,
///   up to `max_wait` (defaults: after 5 failures 1 s, 2 s, 4 s, … 15 min).
///   Attempts refused while waiting do not count.
/// - Per address: at most `per_address` failed logins in a sliding minute,
///   whatever the accounts (default 50: many people share an office's address).
///
/// The check and the record are one step under one lock ([`LoginLimiter::begin`]):
/// an attempt counts as a failure from before its password is checked, so
/// concurrent guesses cannot all pass the check first. A success takes its
/// count back ([`LoginLimiter::succeeded`]).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    state: Mutex<LimiterState>,
}

const WINDOW: Duration = Duration::from_secs(60);
/// How long an account's failures are remembered after the last one (once any wait is over).
const FORGET_AFTER: Duration = Duration::from_secs(3600);

fn ceil_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl LoginLimiter {
    /// Checks the limits for a login to `account` from `ip` and, when it may
    /// proceed, counts it as a failure until [`LoginLimiter::succeeded`].
    pub fn begin(
        &self,
        limits: &LoginLimits,
        account: &str,
        ip: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Refused> {
        let account = account.to_lowercase();
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.accounts.len() + state.addresses.len() > 100_000 {
            state.sweep(now);
        }
        let mut refused: Option<Refused> = None;
        let mut refuse = |scope, wait: Duration| {
            let retry_after = ceil_secs(wait);
            if refused.is_none_or(|r| r.retry_after < retry_after) {
                refused = Some(Refused { scope, retry_after });
            }
        };
        if let Some(a) = state.accounts.get(&account) {
            if let Some(until) = a.until.filter(|u| *u > now) {
                refuse(LimitScope::Account, until - now);
            }
        }
        if let Some(q) = ip.and_then(|ip| state.addresses.get_mut(&ip)) {
            while q.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
                q.pop_front();
            }
            if q.len() >= limits.per_address as usize {
                let oldest = q.front().copied().unwrap_or(now);
                refuse(LimitScope::Address, WINDOW.saturating_sub(now.saturating_duration_since(oldest)));
            }
        }
        if let Some(r) = refused {
            return Err(r);
        }
        let a = state.accounts.entry(account.clone()).or_insert(AccountFailures { count: 0, last: now, until: None });
        if a.until.is_none_or(|u| u <= now) && now.saturating_duration_since(a.last) >= FORGET_AFTER {
            a.count = 0;
        }
        a.count = a.count.saturating_add(1);
        a.last = now;
        if let Some(wait) = limits.wait_after(a.count) {
            a.until = Some(now + wait);
        }
        let address = ip.map(|ip| {
            state.addresses.entry(ip).or_default().push_back(now);
            (ip, now)
        });
        Ok(Attempt { account, address })
    }

    /// The attempt failed: an account that must wait waits from now.
    pub fn failed(&self, limits: &LoginLimits, attempt: Attempt, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(a) = state.accounts.get_mut(&attempt.account) {
            a.last = a.last.max(now);
            if let Some(wait) = limits.wait_after(a.count) {
                a.until = Some(a.until.map_or(now + wait, |u| u.max(now + wait)));
            }
        }
    }

    /// The attempt succeeded: the account's failures are forgotten, and the
    /// attempt no longer counts against its address.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.accounts.remove(&attempt.account);
        state.release_address(attempt.address);
    }

    /// The attempt ended before its password was checked (the database could
    /// not be read): it counts neither against the account nor the address.
    pub fn abandoned(&self, limits: &LoginLimits, attempt: Attempt) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(a) = state.accounts.get_mut(&attempt.account) {
            a.count = a.count.saturating_sub(1);
            if limits.wait_after(a.count).is_none() {
                a.until = None;
            }
        }
        state.release_address(attempt.address);
    }
}

impl LimiterState {
    /// Takes back an attempt counted against an address.
    fn release_address(&mut self, address: Option<(IpAddr, Instant)>) {
        let Some((ip, at)) = address else { return };
        if let Some(q) = self.addresses.get_mut(&ip) {
            if let Some(i) = q.iter().position(|t| *t == at) {
                q.remove(i);
            }
            if q.is_empty() {
                self.addresses.remove(&ip);
            }
        }
    }

    /// Drops what no longer limits anything.
    fn sweep(&mut self, now: Instant) {
        self.accounts
            .retain(|_, a| a.until.is_some_and(|u| u > now) || now.saturating_duration_since(a.last) < FORGET_AFTER);
        self.addresses.retain(|_, q| q.back().is_some_and(|t| now.saturating_duration_since(*t) < WINDOW));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn limits() -> LoginLimits {
        LoginLimits {
            per_account: 5,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(900),
            per_address: 50,
        }
    }

    #[test]
    fn accounts_back_off_exponentially() {
        let l = LoginLimiter::default();
        let lim = limits();
        let t0 = Instant::now();
        for _ in 0..4 {
            let a = l.begin(&lim, "alice", ip("1.2.3.4"), t0).expect("free failures");
            l.failed(&lim, a, t0);
        }
        let fifth = l.begin(&lim, "alice", ip("1.2.3.4"), t0).expect("the fifth is checked");
        // While the fifth is being checked, nobody else gets a guess.
        let busy = l.begin(&lim, "Alice", ip("5.6.7.8"), t0).expect_err("reserved");
        assert_eq!(busy, Refused { scope: LimitScope::Account, retry_after: 1 });
        l.failed(&lim, fifth, t0);
        // Then 1 s, 2 s, 4 s, … after each further failure.
        let mut t = t0;
        for wait in [1u64, 2, 4, 8, 16] {
            let refused =
                l.begin(&lim, "alice", None, t + Duration::from_millis(wait * 1000 - 1)).expect_err("waiting");
            assert_eq!(refused.retry_after, 1);
            t += Duration::from_secs(wait);
            let a = l.begin(&lim, "alice", None, t).expect("the wait is over");
            l.failed(&lim, a, t);
            assert_eq!(l.begin(&lim, "alice", None, t).expect_err("waits again").retry_after, wait * 2);
        }
        // Capped.
        assert_eq!(lim.wait_after(60), Some(Duration::from_secs(900)));
        assert_eq!(lim.wait_after(4), None);
        // Other accounts from the same address are not affected.
        let bob = l.begin(&lim, "bob", ip("1.2.3.4"), t).expect("bob may try");
        l.succeeded(bob);
    }

    #[test]
    fn success_forgets_the_account_and_gives_the_address_its_attempt_back() {
        let l = LoginLimiter::default();
        let lim = LoginLimits { per_address: 3, ..limits() };
        let t = Instant::now();
        for name in ["a", "b"] {
            let a = l.begin(&lim, name, ip("9.9.9.9"), t).expect("ok");
            l.failed(&lim, a, t);
        }
        for _ in 0..5 {
            let ok = l.begin(&lim, "carol", ip("9.9.9.9"), t).expect("successes do not use up the address");
            l.succeeded(ok);
        }
        let c = l.begin(&lim, "c", ip("9.9.9.9"), t).expect("third failure");
        l.failed(&lim, c, t);
        let r = l.begin(&lim, "d", ip("9.9.9.9"), t + Duration::from_secs(10)).expect_err("address limit");
        assert_eq!(r, Refused { scope: LimitScope::Address, retry_after: 50 });
        assert!(l.begin(&lim, "d", ip("9.9.9.9"), t + WINDOW).is_ok(), "a minute later");
    }

    #[test]
    fn an_abandoned_attempt_does_not_count() {
        let l = LoginLimiter::default();
        let lim = LoginLimits { per_address: 1, ..limits() };
        let t = Instant::now();
        for _ in 0..4 {
            let a = l.begin(&lim, "alice", None, t).expect("ok");
            l.failed(&lim, a, t);
        }
        for _ in 0..3 {
            let a = l.begin(&lim, "alice", ip("9.9.9.9"), t).expect("not waiting: the others were abandoned");
            l.abandoned(&lim, a);
        }
    }

    #[test]
    fn failures_are_forgotten_after_an_hour() {
        let l = LoginLimiter::default();
        let lim = limits();
        let t = Instant::now();
        for _ in 0..5 {
            let a = l.begin(&lim, "alice", None, t).expect("ok");
            l.failed(&lim, a, t);
        }
        let later = t + FORGET_AFTER;
        let a = l.begin(&lim, "alice", None, later).expect("ok");
        l.failed(&lim, a, later);
        assert!(l.begin(&lim, "alice", None, later).is_ok(), "counted from one again");
    }
}
