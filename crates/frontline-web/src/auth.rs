//! Identity: password hashing (Argon2id, off the async threads), session and
//! API tokens, the [`Auth`] extractor every protected handler takes, CSRF, and
//! the client's address (the login rate limit is in [`crate::login_limit`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum_extra::extract::CookieJar;
use blake2::{Blake2s256, Digest};
use frontline_domain::access::Perm;
use frontline_store::accounts::{Session, User};
use frontline_store::{now_ms, Actor};
use subtle::ConstantTimeEq;

use crate::error::AppError;
pub use crate::login_limit::{Attempt, LimitScope, LoginLimiter, LoginLimits, Refused};
use crate::{AppState, WebConfig};

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "frontline_session";
/// The header API clients using the cookie must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Hashes a password with Argon2id on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing task: {e}")))?
    .map_err(AppError::Internal)
}

/// Checks a password against a stored hash on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(bytes)
}

/// A fresh random token (256 bits, hex).
pub fn random_token() -> Result<String, AppError> {
    Ok(random_bytes::<32>()?.iter().map(|b| format!("{b:02x}")).collect())
}

/// The stored form of a token: only its hash is kept, so a database leak gives no sessions.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Blake2s256::digest(token.as_bytes());
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// How the request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer` token.
    Bearer,
    /// The browser's session cookie.
    Cookie,
}

/// The authenticated account of a request. Taking it as an argument makes a
/// handler require a login; [`Auth::require`] checks a permission.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The account (shared with the session cache: a request clones no strings).
    pub user: Arc<User>,
    /// The session.
    pub session: Arc<Session>,
    /// How it authenticated.
    pub via: Via,
    /// The raw token (to end the session on logout).
    pub token: String,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

impl Auth {
    /// Fails with 403 unless the account's role holds `perm`.
    pub fn require(&self, perm: Perm) -> Result<(), AppError> {
        if self.user.role.can(perm) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether the account's role holds `perm`.
    pub fn can(&self, perm: Perm) -> bool {
        self.user.role.can(perm)
    }

    /// The actor to record in the audit log.
    pub fn actor(&self) -> Actor {
        Actor { user_id: Some(self.user.id), name: self.user.username.clone(), ip: self.ip.map(|i| i.to_string()) }
    }

    /// Fails with 403 unless `token` is this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        if same_token(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

/// The client's address. Without `trust_forwarded_for`, the socket peer.
/// With it, the peer is a proxy, and `X-Forwarded-For` is read from the right
/// (each proxy appends the address it saw; the client can forge only the
/// left): hops in `trusted_proxies` are skipped, and the first one that is not
/// is the client. When `trusted_proxies` is set, the peer must be on it for the
/// header to count. An unreadable hop ends the walk at the last address read.
pub fn client_ip(parts: &Parts, config: &WebConfig) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if !config.trust_forwarded_for {
        return peer;
    }
    let trusted = |ip: IpAddr| config.trusted_proxies.iter().any(|n| n.contains(ip));
    if !config.trusted_proxies.is_empty() && !peer.is_some_and(trusted) {
        return peer;
    }
    let hops: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = Some(ip);
        if !trusted(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` hop: `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip())).map(|ip| ip.to_canonical())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| (t.trim().to_string(), Via::Bearer));
        let (token, via) = match bearer {
            Some(b) => b,
            None => match CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE) {
                Some(c) => (c.value().to_string(), Via::Cookie),
                None => return Err(AppError::Unauthenticated),
            },
        };
        let (user, session) = match state.sessions().get(&token) {
            Some(found) => found,
            None => {
                let (user, session) = state
                    .store()
                    .session_user(&token_hash(&token), now_ms())
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
                let found = (Arc::new(user), Arc::new(session));
                state.sessions().put(token.clone(), found.clone());
                found
            }
        };
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via == Via::Cookie && unsafe_method && parts.uri.path().starts_with("/api/") {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same_token(sent, &session.csrf) {
                return Err(AppError::Csrf);
            }
        }
        let auth = Auth { user, session, via, token, ip: client_ip(parts, state.config()) };
        // A page's error answer keeps the header and menu of this account.
        if via == Via::Cookie {
            if let Some(slot) = parts.extensions.get::<crate::error::AccountSlot>() {
                slot.fill(&auth, state.config().rules.utc_offset_minutes);
            }
        }
        Ok(auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse".into()).await.map_err(|e| e.to_string());
        let h = h.unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), h.clone()).await);
        assert!(!verify_password("wrong".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token().unwrap_or_default();
        let b = random_token().unwrap_or_default();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
        // RFC 7693's BLAKE2s-256 test vector, as lowercase hex (how stored sessions are keyed).
        assert_eq!(token_hash("abc"), "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn client(xff: &[&str], peer: &str, trust: bool, proxies: &[&str]) -> Option<IpAddr> {
        let mut b = axum::http::Request::builder();
        for v in xff {
            b = b.header("x-forwarded-for", *v);
        }
        let (mut parts, ()) = b.body(()).map(axum::http::Request::into_parts).unwrap_or_else(|e| panic!("{e}"));
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}"))));
        let config = WebConfig {
            trust_forwarded_for: trust,
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap_or_else(|e| panic!("{e}"))).collect(),
            ..WebConfig::default()
        };
        client_ip(&parts, &config)
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        assert_eq!(client(&["1.1.1.1"], "10.0.0.1:80", false, &[]), ip("10.0.0.1"), "not trusted: the peer");
        assert_eq!(client(&["1.1.1.1, 2.2.2.2"], "10.0.0.1:80", true, &[]), ip("2.2.2.2"), "one proxy: the rightmost");
        assert_eq!(client(&[], "10.0.0.1:80", true, &[]), ip("10.0.0.1"), "no header: the peer");
        let proxies = ["10.0.0.0/8"];
        assert_eq!(client(&["6.6.6.6, 3.3.3.3:8080, 10.0.0.5"], "10.0.0.1:80", true, &proxies), ip("3.3.3.3"));
        assert_eq!(
            client(&["6.6.6.6", "[2001:db8::7]:443", "10.0.0.5"], "10.0.0.1:80", true, &proxies),
            ip("2001:db8::7")
        );
        assert_eq!(client(&["junk, 10.0.0.5"], "10.0.0.1:80", true, &proxies), ip("10.0.0.5"), "unreadable hop: stop");
        assert_eq!(client(&["10.0.0.9, 10.0.0.5"], "10.0.0.1:80", true, &proxies), ip("10.0.0.9"), "all trusted");
        assert_eq!(client(&["3.3.3.3"], "192.0.2.1:80", true, &proxies), ip("192.0.2.1"), "an untrusted peer");
    }
}

/// Extractor for the client's address (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state.config())))
    }
}

/// When a session was looked up, and what was found.
type CachedSession = (Instant, Arc<User>, Arc<Session>);

/// Live sessions recently looked up, so a phone sending scans does not cost a
/// database read per request. Entries live a few seconds; logging out removes
/// its entry at once, and a disabled account stops working within that time.
///
/// Keyed by the token itself, so that a request served from the cache costs no
/// hash of its token (a BLAKE2s digest was about 7 % of the runtime's work on
/// a scan request). The database keeps only token hashes. This memory holds
/// the tokens of live sessions that were used, as the requests carrying them
/// did; logging out removes a token, and stale entries go once the map grows
/// past its sweep size.
#[derive(Debug, Default)]
pub struct SessionCache {
    /// Tokens are uniformly random: hashed with foldhash (randomly seeded), not SipHash.
    entries: Mutex<HashMap<String, CachedSession, foldhash::fast::RandomState>>,
}

const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);

impl SessionCache {
    /// The cached account and session for a token, if fresh and not expired.
    pub fn get(&self, token: &str) -> Option<(Arc<User>, Arc<Session>)> {
        let map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, user, session) = map.get(token)?;
        (at.elapsed() < SESSION_CACHE_TTL && session.expires_at > now_ms()).then(|| (user.clone(), session.clone()))
    }

    /// Remembers a lookup.
    pub fn put(&self, token: String, found: (Arc<User>, Arc<Session>)) {
        let mut map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.retain(|_, (at, _, _)| at.elapsed() < SESSION_CACHE_TTL);
        }
        map.insert(token, (Instant::now(), found.0, found.1));
    }

    /// Forgets every cached session of an account (its role or team changed).
    pub fn forget_user(&self, user_id: i64) {
        let mut map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (_, user, _)| user.id != user_id);
    }

    /// Forgets a token (logout).
    pub fn remove(&self, token: &str) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(token);
    }
}
