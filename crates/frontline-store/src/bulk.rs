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

    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len() / self.cols;
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
        let mut q = sqlx::query(&sql);
        for v in self.rows.drain(..) {
            q = match v {
                V::I(i) => q.bind(i),
                V::OptI(i) => q.bind(i),
                V::S(s) => q.bind(s),
                V::OptS(s) => q.bind(s),
            };
        }
        q.execute(&mut *conn).await?;
        Ok(())
    }
}
