//! A sampler closing a tube before it is full (封管): the household is done, or
//! the pool must go to the lab now. Later scans into it are refused as sealed.

use frontline_domain::sampling::TubeCode;
use serde_json::json;

use super::TubeView;
use crate::audit::{self, Actor, Change};
use crate::db::{take_write_lock, Store};
use crate::error::StoreError;
use crate::now_ms;

impl Store {
    /// Seals the tube `code` (of `round`, when given). Sealing a sealed tube
    /// changes nothing; a tube that does not exist (or belongs to another
    /// round) is `NotFound`.
    pub async fn seal_tube(&self, actor: &Actor, code: &str, round: Option<i64>) -> Result<TubeView, StoreError> {
        let code = TubeCode::parse(code).map_err(|_| StoreError::NotFound)?;
        let mut tx = self.pool.begin().await?;
        take_write_lock(&mut tx, self.backend()).await?;
        type Row = (i64, String, i64, i64, i64, String, Option<i64>, Option<String>, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, code, round_id, members, sealed, sampler, opened_by, result, pool_size FROM sampling_tubes WHERE code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let (id, code, tube_round, members, sealed, sampler, opened_by, result, pool_size) =
            row.ok_or(StoreError::NotFound)?;
        if round.is_some_and(|r| r != tube_round) {
            return Err(StoreError::NotFound);
        }
        if sealed == 0 {
            sqlx::query("UPDATE sampling_tubes SET sealed = 1, sealed_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let change = Change {
                action: "sampling.tube.seal",
                entity: "sampling_tube",
                entity_id: Some(code.clone()),
                before: Some(json!({"members": members, "sealed": false})),
                after: Some(json!({"members": members, "sealed": true})),
            };
            audit::record(&mut tx, actor, change).await?;
        }
        tx.commit().await?;
        Ok(TubeView { code, round: tube_round, pool_size, members, sealed: true, sampler, opened_by, result })
    }
}
