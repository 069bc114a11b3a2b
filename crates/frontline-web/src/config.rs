//! The web layer's configuration (the `[web]` and `[rules]` sections of `frontline.toml`).

use std::fmt;
use std::net::IpAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Settings of the HTTP layer, with defaults for a district laptop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// The largest request body accepted, in bytes (1 MiB).
    pub body_limit_bytes: usize,
    /// The largest census file accepted for upload, in bytes (200 MiB).
    pub upload_limit_bytes: usize,
    /// How long a browser session lasts, in hours.
    pub session_hours: i64,
    /// How long an API token lasts, in hours.
    pub api_token_hours: i64,
    /// Mark cookies `Secure` (set when served over TLS, e.g. behind a proxy).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy):
    /// the rightmost hop that is not one of [`WebConfig::trusted_proxies`].
    pub trust_forwarded_for: bool,
    /// The proxies in front of this server (addresses or CIDR networks). Empty:
    /// the peer that connects is the one proxy. Otherwise the peer must be one
    /// of them for `X-Forwarded-For` to be read, and hops on the list are skipped.
    pub trusted_proxies: Vec<ProxyNet>,
    /// Failed logins in a row an account may have before it must wait
    /// (then [`WebConfig::login_backoff_first_secs`], doubling with each further failure).
    #[serde(alias = "login_failures_per_minute")]
    pub login_failures_per_account: u32,
    /// The first wait of an account after its run of failures, in seconds.
    pub login_backoff_first_secs: u64,
    /// The longest wait of an account, in seconds.
    pub login_backoff_max_secs: u64,
    /// Failed logins per minute from one address, over all accounts, before 429.
    pub login_failures_per_address: u32,
    /// Searches by a number's tail per minute and account, before 429: enough
    /// for a phone call, too few to enumerate numbers behind their masks.
    pub number_searches_per_minute: u32,
    /// Seconds a connection has to send a whole request head (also while idle
    /// between requests) before it is closed: slow clients cannot hold it.
    pub header_read_timeout_secs: NonZeroU64,
    /// Connections open at once; further ones wait to be accepted.
    pub max_connections: NonZeroUsize,
    /// Domain rules that differ by city.
    pub rules: Rules,
}

/// Rules of the domain that are configuration, with national defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Age from which a resident counts as very old (高龄), derived from the birth date.
    pub elderly_age: i32,
    /// Age below which a resident counts as an infant (婴幼儿).
    pub infant_age_below: i32,
    /// The local time zone as minutes east of UTC (China: 480).
    pub utc_offset_minutes: i32,
    /// Sampling: allowed pool sizes, the default one, result deadlines.
    pub sampling: frontline_domain::sampling::SamplingRules,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            body_limit_bytes: 1024 * 1024,
            upload_limit_bytes: 200 * 1024 * 1024,
            session_hours: 12,
            api_token_hours: 24 * 7,
            secure_cookies: false,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            login_failures_per_account: 5,
            login_backoff_first_secs: 1,
            login_backoff_max_secs: 900,
            login_failures_per_address: 50,
            number_searches_per_minute: 20,
            header_read_timeout_secs: NonZeroU64::new(10).unwrap_or(NonZeroU64::MIN),
            max_connections: NonZeroUsize::new(4_096).unwrap_or(NonZeroUsize::MIN),
            rules: Rules::default(),
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            elderly_age: 80,
            infant_age_below: 3,
            utc_offset_minutes: 480,
            sampling: frontline_domain::sampling::SamplingRules::default(),
        }
    }
}

/// A trusted proxy: one address (`10.0.0.2`) or a network in CIDR form (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Whether `ip` is this address or inside this network (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("trusted proxy {s:?}: expected an IP address or a CIDR like 10.0.0.0/8"))?;
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("trusted proxy {s:?}: the prefix length must be 0 to {bits}"))?,
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == bits {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl Serialize for ProxyNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> ProxyNet {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn proxy_networks_parse_and_match() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("192.168.1.7").contains(ip("192.168.1.7")));
        assert!(!net("192.168.1.7").contains(ip("192.168.1.8")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6");
        assert!(net("fd00::/8").contains(ip("fd12::1")));
        assert!(!net("fd00::/8").contains(ip("10.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(net(" 127.0.0.1 ").to_string(), "127.0.0.1");
        for bad in ["10.0.0.0/33", "proxy", "10.0.0/8", "::1/129", ""] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_come_from_toml() {
        let cfg: WebConfig = toml::from_str("trusted_proxies = [\"10.0.0.0/8\", \"::1\"]").expect("parse");
        assert_eq!(cfg.trusted_proxies.len(), 2);
        let err = toml::from_str::<WebConfig>("trusted_proxies = [\"nope\"]").expect_err("refused");
        assert!(err.to_string().contains("trusted proxy"), "{err}");
        let old: WebConfig = toml::from_str("login_failures_per_minute = 3").expect("old name still read");
        assert_eq!(old.login_failures_per_account, 3);
    }
}
