//! Configuration, layered: defaults → TOML file → `FRONTLINE_…` environment → flags.

use std::path::Path;

use anyhow::Context;
use frontline_web::WebConfig;
use serde::{Deserialize, Serialize};

use crate::cli::LogFormat;

/// The whole configuration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database URL.
    pub database_url: String,
    /// Address `serve` listens on.
    pub listen: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (`info`, `frontline_web=debug,info`, …).
    pub log: String,
    /// The HTTP layer and domain rules.
    pub web: WebConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://frontline.db".into(),
            listen: "127.0.0.1:8080".into(),
            log_format: LogFormat::Human,
            log: "info".into(),
            web: WebConfig::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &frontline_store::db::redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("log_format", &self.log_format)
            .field("log", &self.log)
            .field("web", &self.web)
            .finish()
    }
}

/// The annotated default configuration printed by `frontline config --default`.
pub const DEFAULT_TOML: &str = r#"# Frontline configuration. Every setting is optional; these are the defaults.
# Precedence: these defaults < this file < FRONTLINE_* environment < command-line flags.

# Where data lives: sqlite://PATH (one file, nothing to install) or
# postgres://USER:PASSWORD@HOST:PORT/DB (several servers can share it).
# Environment: FRONTLINE_DATABASE_URL. Flag: --database.
database_url = "sqlite://frontline.db"

# Address `frontline serve` listens on. Environment: FRONTLINE_LISTEN.
listen = "127.0.0.1:8080"

# Log format: "human" or "json". Environment: FRONTLINE_LOG_FORMAT.
log_format = "human"

# Log filter, tracing's syntax. Environment: FRONTLINE_LOG.
log = "info"

[web]
# Largest accepted request body, in bytes.
body_limit_bytes = 1048576
# Largest census file accepted for upload, in bytes.
upload_limit_bytes = 209715200
# Browser session lifetime, in hours.
session_hours = 12
# API token lifetime, in hours.
api_token_hours = 168
# Mark cookies Secure: turn on when served over HTTPS (e.g. behind a proxy).
secure_cookies = false
# Take the client address from X-Forwarded-For: only behind a trusted proxy.
# The header is read from the right; the first hop not in trusted_proxies is the client.
trust_forwarded_for = false
# The proxies in front of Frontline, as addresses or CIDR networks
# (["10.0.0.0/8", "127.0.0.1"]). Empty: the peer that connects is the one proxy.
# Set: the peer must be on the list for X-Forwarded-For to count.
trusted_proxies = []
# Failed logins in a row an account may have; then it waits
# login_backoff_first_secs, twice as long after each further failure, up to
# login_backoff_max_secs. A successful login clears the count.
login_failures_per_account = 5
login_backoff_first_secs = 1
login_backoff_max_secs = 900
# Failed logins per minute from one address, over all accounts, before answering 429.
login_failures_per_address = 50
# Searches by a phone's or ID number's tail per minute and account, before 429.
number_searches_per_minute = 20
# Seconds a connection has to send a whole request head (also while idle
# between requests) before it is closed, so slow clients cannot hold it open.
header_read_timeout_secs = 10
# Connections open at once. Further connections are not accepted until one
# ends: they wait in the system's queue rather than being sent an error.
max_connections = 4096

[web.rules]
# Age from which a resident counts as very old (高龄), derived from the ID number.
elderly_age = 80
# Age below which a resident counts as an infant (婴幼儿).
infant_age_below = 3
# Local time zone, minutes east of UTC (China Standard Time: 480).
utc_offset_minutes = 480

[web.rules.sampling]
# Pool sizes a round may use (1 = single tube, 10 = 10-in-1 混采).
pool_sizes = [1, 5, 10, 20]
# The pool size a new round starts with; one of pool_sizes.
default_pool_size = 10
# Hours within which a single tube's result (and a retest at home) is due.
retest_deadline_hours = 6
# Hours within which a pooled tube's result is due; later, its tube is overdue (slow transport?).
pooled_turnaround_hours = 24
"#;

impl Config {
    /// Loads the configuration: defaults, then the file (explicit, or ./frontline.toml if present), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut cfg = match file {
            Some(path) => Self::from_file(path)?,
            None if Path::new("frontline.toml").exists() => Self::from_file(Path::new("frontline.toml"))?,
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.web.rules.sampling.validate().context("[web.rules.sampling]")?;
        Ok(cfg)
    }

    fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Applies `FRONTLINE_*` variables (database URL and listen address are handled by clap too).
    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("FRONTLINE_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("FRONTLINE_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("FRONTLINE_LOG") {
            self.log = v;
        }
        if let Some(v) = get("FRONTLINE_BODY_LIMIT_BYTES") {
            self.web.body_limit_bytes = v.parse().context("FRONTLINE_BODY_LIMIT_BYTES must be a number")?;
        }
        if let Some(v) = get("FRONTLINE_SECURE_COOKIES") {
            self.web.secure_cookies = matches!(v.as_str(), "1" | "true" | "yes");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotated_default_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).expect("default TOML parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn environment_overrides_file() {
        let mut cfg: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\n[web]\nbody_limit_bytes = 10\n").expect("parse");
        cfg.apply_env(|k| match k {
            "FRONTLINE_LISTEN" => Some("127.0.0.1:7000".into()),
            _ => None,
        })
        .expect("env");
        assert_eq!(cfg.listen, "127.0.0.1:7000");
        assert_eq!(cfg.web.body_limit_bytes, 10);
    }

    #[test]
    fn sampling_rules_are_configuration() {
        let cfg: Config =
            toml::from_str("[web.rules.sampling]\npool_sizes = [1, 10]\ndefault_pool_size = 10\n").expect("parse");
        assert_eq!(cfg.web.rules.sampling.pool_sizes, vec![1, 10]);
        assert_eq!(cfg.web.rules.sampling.pooled_turnaround_hours, 24, "the rest keep their defaults");
        let dir = std::env::temp_dir().join(format!("frontline-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("frontline.toml");
        std::fs::write(&file, "[web.rules.sampling]\npool_sizes = [5]\n").expect("write");
        let err = Config::load(Some(&file)).expect_err("the default pool size 10 is not allowed");
        assert!(format!("{err:#}").contains("[web.rules.sampling]"), "{err:#}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn connection_limits_cannot_be_zero() {
        // A zero head timeout would close every connection, a zero cap accept none.
        for zero in ["header_read_timeout_secs = 0", "max_connections = 0"] {
            let err = toml::from_str::<Config>(&format!("[web]\n{zero}\n")).expect_err(zero);
            assert!(err.to_string().contains("nonzero"), "{zero}: {err}");
        }
        let cfg: Config = toml::from_str("[web]\nheader_read_timeout_secs = 3\nmax_connections = 50\n").expect("parse");
        assert_eq!((cfg.web.header_read_timeout_secs.get(), cfg.web.max_connections.get()), (3, 50));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }

    #[test]
    fn debug_redacts_the_password() {
        let cfg = Config { database_url: "postgres://u:hunter2@h/db".into(), ..Config::default() };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
