//! Test support: every test owns a fresh database, on SQLite (a temp file) or
//! PostgreSQL (a new database on the local server), dropped afterwards.
//!
//! The PostgreSQL server is `FRONTLINE_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection, Executor};

use crate::db::{Backend, Store};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("frontline_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The admin URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("FRONTLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A migrated database that belongs to one test.
#[derive(Debug)]
pub struct TestDb {
    /// The store over it.
    pub store: Store,
    /// Its URL (to hand to a server under test).
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    Pg(String),
}

impl TestDb {
    /// A fresh, migrated database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        let name = unique_name();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                (format!("sqlite://{}", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL for tests at {admin}: {e}"));
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .unwrap_or_else(|e| panic!("create test database: {e}"));
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                (format!("{base}/{name}"), Cleanup::Pg(name))
            }
        };
        let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"));
        store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
        TestDb { store, url, cleanup }
    }

    /// Closes the store and removes the database.
    pub async fn drop_db(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Pg(name) => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ = conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                }
            }
        }
    }
}

/// Runs `test` against a fresh database on `backend`, dropping it afterwards
/// even when the test panics (the panic is then resumed).
pub async fn with_db<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures_util::FutureExt;
    let db = TestDb::new(backend).await;
    let cleanup = TestDb {
        store: db.store.clone(),
        url: db.url.clone(),
        cleanup: match &db.cleanup {
            Cleanup::File(p) => Cleanup::File(p.clone()),
            Cleanup::Pg(n) => Cleanup::Pg(n.clone()),
        },
    };
    let result = std::panic::AssertUnwindSafe(test(db)).catch_unwind().await;
    cleanup.drop_db().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Makes a committed census round look like one committed before rounds were
/// confirmed on import: not confirmed (its departures are left as they are).
pub async fn forget_confirmation(store: &Store, round: i64) {
    sqlx::query("UPDATE census_rounds SET confirmed_by = NULL, confirmed_at = NULL WHERE id = $1")
        .bind(round)
        .execute(store.pool())
        .await
        .expect("forget the confirmation");
}

/// Declares each listed `async fn name(db: TestDb)` as two tests, one per backend:
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testing::with_db($crate::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testing::with_db($crate::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}
