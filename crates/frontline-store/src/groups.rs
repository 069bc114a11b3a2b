//! Working-group membership: which accounts belong to a group (an account
//! belongs to at most one) and which member leads it. Every change is audited.

use serde_json::json;

use crate::accounts::{group, user, Group, User, USER_COLUMNS};
use crate::audit::{self, Actor, Change};
use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;

impl Store {
    /// The accounts of a group, by display name.
    pub async fn group_members(&self, group_id: i64) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE group_id = $1 ORDER BY display_name, username"
        ))
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user).collect()
    }

    /// Puts an account in a group, or in none; an account leaving a group it
    /// leads leaves it without a leader. `NotFound` for an unknown account,
    /// `MissingReference` for an unknown group.
    pub async fn set_user_group(&self, actor: &Actor, user_id: i64, group_id: Option<i64>) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let before = user(&row)?;
        if let Some(g) = group_id {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM working_groups WHERE id = $1")
                .bind(g)
                .fetch_optional(&mut *tx)
                .await?;
            exists.ok_or(StoreError::MissingReference)?;
        }
        sqlx::query("UPDATE users SET group_id = $1, updated_at = $2 WHERE id = $3")
            .bind(group_id)
            .bind(now_ms())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if before.group_id != group_id {
            sqlx::query("UPDATE working_groups SET leader_id = NULL WHERE leader_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        let after = User { group_id, ..before.clone() };
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "user.group",
                entity: "user",
                entity_id: Some(user_id.to_string()),
                before: Some(json!(before)),
                after: Some(json!(after)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Makes a member the group's leader (`None`: no leader). `NotFound` for
    /// an unknown group, `MissingReference` when the account is not a member.
    pub async fn set_group_leader(
        &self,
        actor: &Actor,
        group_id: i64,
        leader: Option<i64>,
    ) -> Result<Group, StoreError> {
        let mut tx = self.pool.begin().await?;
        let select = "SELECT id, code, name, name_en, duty, sort, leader_id FROM working_groups WHERE id = $1";
        let row = sqlx::query(select).bind(group_id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let before = group(&row)?;
        let changed = sqlx::query(
            "UPDATE working_groups SET leader_id = $1 WHERE id = $2 \
             AND ($1 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $1 AND group_id = $2))",
        )
        .bind(leader)
        .bind(group_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::MissingReference);
        }
        let after = Group { leader_id: leader, ..before.clone() };
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "group.leader",
                entity: "group",
                entity_id: Some(group_id.to_string()),
                before: Some(json!(before)),
                after: Some(json!(after)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
