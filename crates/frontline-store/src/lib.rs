//! Frontline's database layer: one SQL code path over SQLite and PostgreSQL.
//!
//! The backend is picked from the URL scheme. Queries are written once, in
//! SQL both dialects accept (`$n` parameters, `ON CONFLICT`, `RETURNING`,
//! CTEs); a dialect branch exists only where the two truly differ, and each
//! is a small named function in [`db`]. Every write records its audit entry
//! in the same transaction, so no change escapes the log.

pub mod accounts;
pub mod audit;
mod bulk;
pub mod census;
pub mod db;
pub mod error;
pub mod groups;
mod merge;
pub mod migrate;
pub mod overview;
pub mod page;
pub mod places;
pub mod residents;
pub mod sampling;
mod search;
pub mod seed;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::Actor;
pub use db::{Backend, Store};
pub use error::StoreError;
pub use page::Page;

/// Hash maps and sets for the many small keys of one import or scan group
/// (ids, codes, document numbers): foldhash, seeded per process, rather than
/// std's SipHash, which measured as a fifth of the scan writer's instructions.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// See [`FastMap`].
pub(crate) type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Milliseconds since the Unix epoch: the one time representation in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
