//! One resident's sampling history: each round they were sampled in, with the
//! tube, its result and any single retest.

use serde::Serialize;
use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;

/// A round a resident was sampled in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SampledIn {
    /// The round's id.
    pub round_id: i64,
    /// The round's name.
    pub round: String,
    /// The tube's code.
    pub tube: String,
    /// People per tube (1: a single tube).
    pub pool_size: i64,
    /// When the resident was scanned into the tube (unix ms).
    pub scanned_at: i64,
    /// The tube's result (`negative`, `abnormal`, `invalid`), once known.
    pub result: Option<String>,
    /// The single retest's state after an abnormal pool, if one is due or done.
    pub retest: Option<String>,
}

impl Store {
    /// The rounds a resident was sampled in (valid scans), newest first.
    pub async fn resident_sampling(&self, resident: i64) -> Result<Vec<SampledIn>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.round_id, r.name, t.code, t.pool_size, m.scanned_at, t.result, rt.state AS retest \
             FROM sampling_members m JOIN sampling_rounds r ON r.id = m.round_id \
             JOIN sampling_tubes t ON t.id = m.tube_id \
             LEFT JOIN sampling_retests rt ON rt.round_id = m.round_id AND rt.resident_id = m.resident_id \
             WHERE m.resident_id = $1 AND m.valid = 1 ORDER BY m.scanned_at DESC, m.round_id DESC",
        )
        .bind(resident)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SampledIn {
                    round_id: r.try_get("round_id")?,
                    round: r.try_get("name")?,
                    tube: r.try_get("code")?,
                    pool_size: r.try_get("pool_size")?,
                    scanned_at: r.try_get("scanned_at")?,
                    result: r.try_get("result")?,
                    retest: r.try_get("retest")?,
                })
            })
            .collect()
    }
}
