//! Identity: password hashing (Argon2id, off the async threads), session and
//! API tokens, the [`Auth`] extractor every protected handler takes, CSRF, and
//! the login rate limit.

use std::collections::{HashMap, VecDeque};
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
use crate::AppState;

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

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when configured to trust it.
pub fn client_ip(parts: &Parts, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
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
        Ok(Auth { user, session, via, token, ip: client_ip(parts, state.config().trust_forwarded_for) })
    }
}

/// Counts failed logins per account and per address over a sliding minute.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl LoginLimiter {
    /// `Some(seconds to wait)` when any of `keys` already failed `max` times in the last minute.
    pub fn blocked(&self, keys: &[String], max: u32) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = None;
        for key in keys {
            if let Some(q) = map.get_mut(key) {
                while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    q.pop_front();
                }
                if q.len() >= max as usize {
                    let oldest = q.front().copied().unwrap_or(now);
                    let secs = WINDOW.saturating_sub(now.duration_since(oldest)).as_secs().max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait
    }

    /// Records a failed login for each of `keys`.
    pub fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        for key in keys {
            map.entry(key.clone()).or_default().push_back(now);
        }
    }

    /// Forgets an account's failures after a successful login.
    pub fn succeeded(&self, account_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(account_key);
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

    #[test]
    fn limiter_blocks_after_max_failures() {
        let l = LoginLimiter::default();
        let keys = vec!["u:alice".to_string(), "ip:1.2.3.4".to_string()];
        for _ in 0..5 {
            assert_eq!(l.blocked(&keys, 5), None);
            l.failed(&keys);
        }
        assert!(l.blocked(&keys, 5).is_some());
        assert!(l.blocked(&["ip:1.2.3.4".to_string()], 5).is_some());
        assert_eq!(l.blocked(&["u:bob".to_string()], 5), None);
        l.succeeded("u:alice");
        assert_eq!(l.blocked(&["u:alice".to_string()], 5), None);
    }
}

/// Extractor for the client's address (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, state.config().trust_forwarded_for)))
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
