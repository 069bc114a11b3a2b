//! Multi-row `INSERT … VALUES` statements, thousands of rows each: one
//! `execute()` per row would be fifty times slower on SQLite.

use sqlx::AnyConnection;

use crate::db::{push_param, Backend};
use crate::error::StoreError;

/// A value for a multi-row insert.
pub(crate) enum V {
    /// An integer.
    I(i64),
    /// A nullable integer.
    OptI(Option<i64>),
    /// Text.
    S(String),
    /// Nullable text.
    OptS(Option<String>),
}

/// Collects rows and writes them as multi-row inserts of at most `per_stmt` rows.
pub(crate) struct Batch {
    backend: Backend,
    head: &'static str,
    cols: usize,
    per_stmt: usize,
    rows: Vec<V>,
    tail: &'static str,
}

impl Batch {
    pub(crate) fn new(backend: Backend, head: &'static str, cols: usize) -> Batch {
        // SQLite allows 32,766 bound parameters per statement.
        let per_stmt = 30_000 / cols;
        Batch { backend, head, cols, per_stmt, rows: Vec::with_capacity(per_stmt * cols), tail: "" }
    }

    /// At most `rows` rows per statement (smaller statements reuse their buffers).
    pub(crate) fn rows_per_statement(mut self, rows: usize) -> Batch {
        self.per_stmt = rows.clamp(1, self.per_stmt);
        self
    }

    /// With a clause after the values (`ON CONFLICT …`).
    pub(crate) fn with_tail(mut self, tail: &'static str) -> Batch {
        self.tail = tail;
        self
    }

    pub(crate) fn push(&mut self, row: impl IntoIterator<Item = V>) {
        self.rows.extend(row);
    }

    pub(crate) fn full(&self) -> bool {
        self.rows.len() >= self.per_stmt * self.cols
    }

    /// Writes every waiting row, in statements of at most the batch's rows per
    /// statement; how many rows the statements inserted or updated.
    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result<u64, StoreError> {
        let mut affected = 0;
        while !self.rows.is_empty() {
            affected += self.flush_one(conn).await?;
        }
        Ok(affected)
    }

    async fn flush_one(&mut self, conn: &mut AnyConnection) -> Result<u64, StoreError> {
        let n = (self.rows.len() / self.cols).min(self.per_stmt);
        let mut sql = String::with_capacity(self.head.len() + n * self.cols * 6);
        sql.push_str(self.head);
        sql.push_str(" VALUES ");
        let mut p = 0;
        for r in 0..n {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..self.cols {
                if c > 0 {
                    sql.push(',');
                }
                p += 1;
                push_param(&mut sql, self.backend, p);
            }
            sql.push(')');
        }
        sql.push_str(self.tail);
        // Full statements repeat and stay prepared; a shorter last one is used once: kept
        // in the connection's statement cache, dozens of them held a hundred megabytes.
        let mut q = sqlx::query(&sql).persistent(n == self.per_stmt);
        for v in self.rows.drain(..n * self.cols) {
            q = match v {
                V::I(i) => q.bind(i),
                V::OptI(i) => q.bind(i),
                V::S(s) => q.bind(s),
                V::OptS(s) => q.bind(s),
            };
        }
        Ok(q.execute(&mut *conn).await?.rows_affected())
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::{Batch, V};
    use crate::db::Backend;
    use crate::testing::TestDb;

    // PostgreSQL lists a session's prepared statements: there, the cache is visible.
    #[tokio::test]
    async fn only_full_statements_stay_prepared() {
        let db = TestDb::new(Backend::Postgres).await;
        let mut conn = db.store.pool().acquire().await.expect("connection");
        sqlx::query("CREATE TABLE t (a BIGINT, b TEXT)").execute(&mut *conn).await.expect("table");
        // Twenty flushes of different lengths (each used once), then full statements of 5 rows.
        for n in 1..=20 {
            let mut batch = Batch::new(Backend::Postgres, "INSERT INTO t (a, b)", 2).rows_per_statement(100);
            for i in 0..n {
                batch.push([V::I(i), V::S(format!("row {i}"))]);
            }
            batch.flush(&mut conn).await.expect("flush");
        }
        let mut full = Batch::new(Backend::Postgres, "INSERT INTO t (a, b)", 2).rows_per_statement(5);
        for i in 0..20 {
            full.push([V::I(i), V::S(String::new())]);
            if full.full() {
                full.flush(&mut conn).await.expect("flush");
            }
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut *conn).await.expect("count");
        assert_eq!(rows, (1..=20).sum::<i64>() + 20);
        let prepared: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO t %'")
                .fetch_one(&mut *conn)
                .await
                .expect("prepared statements");
        assert_eq!(prepared, 1, "only the repeated full statement stays prepared");
        drop(conn);
        db.drop_db().await;
    }
}
