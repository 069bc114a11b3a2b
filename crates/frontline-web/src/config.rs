//! The web layer's configuration (the `[web]` and `[rules]` sections of `frontline.toml`).

use std::num::{NonZeroU64, NonZeroUsize};

use serde::{Deserialize, Serialize};

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
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Failed logins per minute, per account or address, before 429.
    pub login_failures_per_minute: u32,
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
            login_failures_per_minute: 5,
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
