//! The store's error type: what went wrong, in terms the web layer can map to a status.

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` is its name (e.g. `residents_id_number_key`).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The violated constraint, named the same on both backends.
        constraint: String,
    },
    /// A referenced row does not exist (a foreign key refused the write).
    #[error("referenced row does not exist")]
    MissingReference,
    /// Two residents cannot be merged as their records stand (see `merge`):
    /// `code` says why (`sampled_in_same_round`), `names` names what is in the
    /// way (the rounds). Nothing was written.
    #[error("merge refused: {code}")]
    MergeRefused {
        /// A stable code.
        code: &'static str,
        /// The names of what is in the way, in id order.
        names: Vec<String>,
    },
    /// The database holds something the code cannot read.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The caller stopped a long operation (a file that failed half-way); nothing was written.
    #[error("aborted: {0}")]
    Aborted(String),
    /// The database cannot be reached (a lost connection, a server that is
    /// down or refuses new connections, no free connection in time): nothing
    /// was written, and the same request may succeed shortly.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database failed.
    #[error(transparent)]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = err {
            return StoreError::NotFound;
        }
        if let sqlx::Error::Database(db) = &err {
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::Conflict { constraint: constraint_name(db.constraint(), db.message()) }
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::MissingReference,
                _ => {}
            }
            if db.code().is_some_and(|c| unreachable_state(&c)) {
                return StoreError::Unavailable(db.message().to_string());
            }
        }
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            other => StoreError::Db(other),
        }
    }
}

/// Whether a database error code says the database cannot be reached, rather
/// than that the statement was wrong: PostgreSQL's connection exceptions
/// (class 08), a server shutting down (57P01–57P03) or out of connections
/// (53300); SQLite's "unable to open" (14) and I/O errors (10, extended codes
/// included).
fn unreachable_state(code: &str) -> bool {
    code.starts_with("08")
        || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
        || code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 10 | 14))
}

/// PostgreSQL names the constraint; SQLite only says `UNIQUE constraint failed: t.a, t.b`.
/// Constraints are named `<table>_<last column>_key` in both migrations, so the
/// SQLite message maps onto the same name.
fn constraint_name(named: Option<&str>, message: &str) -> String {
    if let Some(n) = named {
        return n.to_string();
    }
    let cols = message.rsplit(": ").next().unwrap_or(message);
    let last = cols.rsplit(", ").next().unwrap_or(cols);
    match last.split_once('.') {
        Some((table, col)) => format!("{table}_{col}_key"),
        None => last.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::constraint_name;

    #[test]
    fn sqlite_messages_map_to_named_constraints() {
        assert_eq!(constraint_name(None, "UNIQUE constraint failed: residents.id_number"), "residents_id_number_key");
        assert_eq!(constraint_name(None, "UNIQUE constraint failed: units.building_id, units.name"), "units_name_key");
        assert_eq!(constraint_name(Some("users_username_key"), "whatever"), "users_username_key");
    }

    #[test]
    fn an_unreachable_database_is_told_apart_from_a_bad_statement() {
        use super::{unreachable_state, StoreError};
        for code in ["08006", "08001", "57P01", "53300", "14", "10", "266"] {
            assert!(unreachable_state(code), "{code}");
        }
        for code in ["23505", "42P01", "1", "19", "2067"] {
            assert!(!unreachable_state(code), "{code}");
        }
        assert!(matches!(StoreError::from(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        assert!(matches!(StoreError::from(sqlx::Error::RowNotFound), StoreError::NotFound));
        assert!(matches!(StoreError::from(sqlx::Error::Protocol("x".into())), StoreError::Db(_)));
    }
}
