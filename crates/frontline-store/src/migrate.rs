//! Versioned migrations, one folder per backend with the same file names,
//! each applied in its own transaction and recorded in `_frontline_migrations`.

use sqlx::Acquire;

use crate::db::{Backend, Store};
use crate::error::StoreError;
use crate::now_ms;

/// One migration: its version, file name (without `.sql`) and SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Increasing version number, the file name's prefix.
    pub version: i64,
    /// The file name without `.sql`, the same in both folders.
    pub name: &'static str,
    /// The SQL to run.
    pub sql: &'static str,
}

macro_rules! migrations {
    ($($version:literal => $name:literal),* $(,)?) => {
        /// SQLite migrations, in order.
        pub const SQLITE: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
        }),*];
        /// PostgreSQL migrations, in order, with the same names as [`SQLITE`].
        pub const POSTGRES: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }),*];
    };
}

migrations! {
    1 => "0001_foundation",
    2 => "0002_census",
    3 => "0003_sampling",
    4 => "0004_sampling_teams",
    5 => "0005_scan_keys_clustered",
    6 => "0006_members_clustered",
    7 => "0007_building_counters",
    8 => "0008_missed_reasons",
    9 => "0009_audit_log_no_replace",
    10 => "0010_scan_keys_per_account",
    11 => "0011_user_teams",
    12 => "0012_census_conflicts",
    13 => "0013_resident_states",
    15 => "0015_retest_tubes",
    16 => "0016_lab_corrections",
    17 => "0017_group_leaders",
}

/// The migrations for a backend.
pub fn for_backend(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS _frontline_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

impl Store {
    /// Applies every migration not yet applied; returns the names it applied.
    pub async fn migrate(&self) -> Result<Vec<&'static str>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend() == Backend::Postgres {
            // Several instances may start at once: one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_lock(7410001)").execute(&mut *conn).await?;
        }
        let result = apply_pending(&mut conn, self.backend()).await;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(7410001)").execute(&mut *conn).await?;
        }
        result
    }

    /// The names of the migrations already applied, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        ensure_bookkeeping(&mut *self.pool.acquire().await?, self.backend()).await?;
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM _frontline_migrations ORDER BY version").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }
}

/// Creates the bookkeeping table unless it exists. On PostgreSQL the server may
/// run under a role that may not create tables (migrations applied by the
/// owner beforehand, deploy/postgres-least-privilege.md): even `CREATE TABLE IF
/// NOT EXISTS` needs that right, so the table is looked up first and an
/// up-to-date database is migrated without any DDL.
async fn ensure_bookkeeping(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        let found: Option<String> = sqlx::query_scalar("SELECT CAST(to_regclass('_frontline_migrations') AS TEXT)")
            .fetch_one(&mut *conn)
            .await?;
        if found.is_some() {
            return Ok(());
        }
    }
    sqlx::raw_sql(BOOKKEEPING).execute(&mut *conn).await?;
    Ok(())
}

async fn apply_pending(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<Vec<&'static str>, StoreError> {
    ensure_bookkeeping(conn, backend).await?;
    let done: Vec<(i64,)> = sqlx::query_as("SELECT version FROM _frontline_migrations").fetch_all(&mut *conn).await?;
    let mut applied = Vec::new();
    for m in for_backend(backend) {
        if done.iter().any(|(v,)| *v == m.version) {
            continue;
        }
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO _frontline_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(migration.name = m.name, "applied migration");
        applied.push(m.name);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().trim_end_matches(".sql").to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn both_folders_hold_the_same_listed_migrations() {
        let listed: Vec<String> = SQLITE.iter().map(|m| m.name.to_string()).collect();
        assert!(!listed.is_empty());
        assert_eq!(files("sqlite"), listed);
        assert_eq!(files("postgres"), listed);
        for (a, b) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!((a.version, a.name), (b.version, b.name));
            assert!(a.name.starts_with(&format!("{:04}_", a.version)));
        }
    }
}
