//! The connection pool, the backend choice, and the few places where SQLite
//! and PostgreSQL truly differ (each a small named function).

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::error::StoreError;

/// Which database the store talks to, picked from the URL scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file in WAL mode: the default, nothing to install.
    Sqlite,
    /// PostgreSQL: several `frontline serve` instances can share it.
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL, or says why it cannot.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Corrupt(format!(
                "unsupported database URL (use sqlite://PATH or postgres://…): {}",
                redact_url(url)
            )))
        }
    }

    /// A short name for logs and `/readyz`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database: a pool and the backend it talks to. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The SQLite database's file (none for PostgreSQL or an in-memory database).
    sqlite_path: Option<std::path::PathBuf>,
}

/// Replaces a password in a URL with `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Adds `mode=rwc` to a SQLite URL so a missing file is created.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The file of a `sqlite://PATH?…` (or `sqlite:PATH`) URL; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`). SQLite files are
    /// created when missing, put in WAL mode with foreign keys on.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url),
            Backend::Postgres => url.to_string(),
        };
        if backend == Backend::Sqlite && sqlite_file(&url).is_none() {
            // The scan writer opens the file with a connection of its own.
            return Err(StoreError::Corrupt(format!(
                "Frontline keeps its SQLite database in a file (sqlite://PATH), not in memory: {url}"
            )));
        }
        let opts = AnyConnectOptions::from_str(&url)?
            .log_statements(log::LevelFilter::Trace)
            // Bulk statements carry thousands of parameters: sqlx would log them whole.
            .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(1));
        let max = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_pragmas(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let sqlite_path = match backend {
            Backend::Sqlite => sqlite_file(&url),
            Backend::Postgres => None,
        };
        Ok(Store { pool, backend, sqlite_path })
    }

    /// The SQLite database's file, when there is one.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for capability modules in this crate.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers: `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (on shutdown, and before a test drops its database).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Reads a setting, `None` when unset.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let v: Option<(String,)> =
            sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(v.map(|(s,)| s))
    }

    /// Writes a setting unless it is already set; returns the value in force.
    pub async fn setting_or_init(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        self.setting(key).await?.ok_or_else(|| StoreError::Corrupt(format!("setting {key} vanished")))
    }
}

/// The size the write-ahead log file is cut back to each time it starts over
/// (after a checkpoint). Without a limit the file keeps the size of the largest
/// transaction it ever held: seeding a million residents left a 330 MB log
/// beside a 335 MB database for as long as the server ran. Every connection
/// that writes sets it.
pub(crate) const WAL_SIZE_LIMIT: &str = "PRAGMA journal_size_limit = 67108864;";

/// SQLite only: WAL so readers never block the writer, foreign keys enforced,
/// a busy timeout instead of an immediate "database is locked", and the log
/// file kept to [`WAL_SIZE_LIMIT`].
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32768;",
    )
    .await?;
    conn.execute(WAL_SIZE_LIMIT).await?;
    Ok(())
}

/// The dialect branch for bind parameters in generated multi-row statements.
/// SQLite keeps the names of `$n` and `?n` parameters in a list that
/// `sqlite3_bind_parameter_name` scans linearly, and sqlx asks for every
/// parameter's name: a statement with 30,000 of them then spends seconds in
/// that scan. Anonymous `?` parameters have no name and cost nothing.
/// PostgreSQL only knows `$n`.
pub(crate) fn push_param(sql: &mut String, backend: Backend, n: usize) {
    match backend {
        Backend::Sqlite => sql.push('?'),
        Backend::Postgres => {
            sql.push('$');
            sql.push_str(&n.to_string());
        }
    }
}

/// `n` bind parameters separated by commas, for an `IN (…)` list (see [`push_param`]).
pub(crate) fn param_list(backend: Backend, n: usize) -> String {
    let mut sql = String::with_capacity(n * 6);
    for i in 1..=n {
        if i > 1 {
            sql.push(',');
        }
        push_param(&mut sql, backend, i);
    }
    sql
}

/// Ids per `IN (…)` list: well under both backends' bind-parameter limits.
const IDS_PER_QUERY: usize = 1_000;

/// The rows `sql` finds for `ids`: `sql` holds `{ids}` where the `IN` list
/// goes, and runs once per [`IDS_PER_QUERY`] distinct ids (sorted), so a page
/// listing a thousand people reads them in one query instead of a thousand.
pub(crate) async fn rows_by_ids(
    pool: &sqlx::AnyPool,
    backend: Backend,
    sql: &str,
    ids: &[i64],
) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let sql = sql.replace("{ids}", &param_list(backend, chunk.len()));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(pool).await?);
    }
    Ok(out)
}

/// The dialect branch for reading many rows as one: `SELECT` of a JSON array
/// holding one array of `columns` per row `rest` (`FROM … WHERE …`) finds — `[]`
/// when none. Each row crossing from sqlx's SQLite thread costs more than
/// reading it; one text value costs one crossing.
pub(crate) fn json_rows_sql(backend: Backend, columns: &str, rest: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT COALESCE(json_group_array(json_array({columns})), '[]') {rest}"),
        Backend::Postgres => format!("SELECT COALESCE(json_agg(json_build_array({columns}))::text, '[]') {rest}"),
    }
}

/// The dialect branch for starting a write at once. SQLite's transactions begin
/// as readers; a reader that later writes after another connection committed
/// fails with SQLITE_BUSY_SNAPSHOT, which the busy timeout does not retry. A
/// write statement first takes the write lock (waiting its turn) instead.
/// PostgreSQL needs nothing.
pub(crate) async fn take_write_lock(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<(), StoreError> {
    if backend == Backend::Sqlite {
        conn.execute("UPDATE settings SET value = value WHERE key = ''").await?;
    }
    Ok(())
}

/// The dialect branch for a rule no unique index can hold (a round's name,
/// unique among the rounds sharing a compound): writers that insert and then
/// check must take turns. SQLite has one writer, and a transaction that writes
/// first sees everything committed before it; PostgreSQL's writers run side by
/// side, so they queue on a transaction-scoped advisory lock on `key`.
pub(crate) async fn take_turns(conn: &mut sqlx::AnyConnection, backend: Backend, key: i64) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT CAST(pg_advisory_xact_lock($1) AS TEXT)").bind(key).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The dialect branch for ids of rows about to be bulk-inserted inside `conn`'s
/// write transaction. SQLite has one writer, so the ids after the current
/// maximum are free until commit; PostgreSQL hands them out from the
/// identity's sequence, which concurrent writers share.
pub(crate) async fn reserve_ids(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let count = i64::try_from(n).map_err(|_| StoreError::Corrupt("too many ids".into()))?;
    match backend {
        Backend::Sqlite => {
            let first: i64 = sqlx::query_scalar(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"))
                .fetch_one(&mut *conn)
                .await?;
            Ok((first..first + count).collect())
        }
        Backend::Postgres => Ok(sqlx::query_scalar(&format!(
            "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)"
        ))
        .bind(count)
        .fetch_all(&mut *conn)
        .await?),
    }
}

/// The dialect branch for identity columns after rows were inserted with explicit
/// ids (bulk seeding): PostgreSQL's sequence must be moved past them; SQLite's
/// `INTEGER PRIMARY KEY` needs nothing.
pub(crate) async fn resync_identity(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    table: &str,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
        );
        conn.execute(sql.as_str()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert!(Backend::from_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(sqlite_file("sqlite://x/y.db?mode=rwc"), Some("x/y.db".into()));
        assert_eq!(sqlite_file("sqlite:///tmp/y.db"), Some("/tmp/y.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://a.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    #[test]
    fn sqlite_urls_create_missing_files() {
        assert_eq!(sqlite_url("sqlite://x.db"), "sqlite://x.db?mode=rwc");
        assert_eq!(sqlite_url("sqlite://x.db?mode=ro"), "sqlite://x.db?mode=ro");
    }
}
