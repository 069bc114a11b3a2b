//! Accounts, sessions and working groups (工作小组).

use frontline_domain::access::Role;
use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{self, Actor, Change};
use crate::db::Store;
use crate::error::StoreError;
use crate::now_ms;

/// An account (password hash excluded).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: i64,
    /// The login name.
    pub username: String,
    /// The name shown to others.
    pub display_name: String,
    /// The role, deciding what the account may do.
    pub role: Role,
    /// The working group the account belongs to.
    pub group_id: Option<i64>,
    /// The team (小队) the account works in; a volunteer's work reaches the
    /// buildings assigned to it.
    pub team: Option<String>,
    /// A disabled account cannot log in and its sessions stop working.
    pub disabled: bool,
    /// When it was created (unix ms).
    pub created_at: i64,
}

/// What is needed to create an account; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The login name.
    pub username: String,
    /// The name shown to others.
    pub display_name: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    /// The role.
    pub role: Role,
    /// The working group.
    pub group_id: Option<i64>,
}

/// A live session, as found from its token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's id.
    pub id: i64,
    /// `cookie` for the browser, `api` for bearer tokens.
    pub kind: String,
    /// The CSRF token forms must echo.
    pub csrf: String,
    /// When it stops working (unix ms).
    pub expires_at: i64,
}

/// A working group (工作小组) of the front-line command.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Group {
    /// The group's id.
    pub id: i64,
    /// A stable code (`community_service`, `sampling`, …).
    pub code: String,
    /// The name in Chinese.
    pub name: String,
    /// The name in English.
    pub name_en: String,
    /// What the group does.
    pub duty: String,
    /// Display order.
    pub sort: i64,
    /// The leader's account, one of the members (see [`Store::set_group_leader`]).
    pub leader_id: Option<i64>,
}

/// The six working groups of the seed's front-line command, created by default.
pub const DEFAULT_GROUPS: [(&str, &str, &str); 6] = [
    ("community_service", "社区管理和服务", "Community management and service"),
    ("sampling", "核酸采样", "Nucleic-acid sampling"),
    ("disinfection", "环境消杀", "Sanitation and disinfection"),
    ("patrol", "管控巡逻", "Control patrols"),
    ("supplies", "物资保障", "Supplies"),
    ("special_groups", "特殊群体服务", "Special groups' services"),
];

pub(crate) const USER_COLUMNS: &str = "id, username, display_name, role, group_id, team, disabled, created_at";

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::from_code(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        group_id: row.try_get("group_id")?,
        team: row.try_get("team")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn group(row: &AnyRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        name_en: row.try_get("name_en")?,
        duty: row.try_get("duty")?,
        sort: row.try_get("sort")?,
        leader_id: row.try_get("leader_id")?,
    })
}

impl Store {
    /// Creates an account.
    pub async fn create_user(&self, actor: &Actor, new: &NewUser) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, display_name, password_hash, role, group_id, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING {USER_COLUMNS}"
        ))
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(&new.password_hash)
        .bind(new.role.code())
        .bind(new.group_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let created = user(&row)?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "user.create",
                entity: "user",
                entity_id: Some(created.id.to_string()),
                before: None,
                after: Some(json!(created)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Finds an account and its password hash by login name.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some((user(&r)?, r.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    /// Finds an account by login name.
    pub async fn user_by_name(&self, username: &str) -> Result<User, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user(&row)
    }

    /// Finds an account by id.
    pub async fn user_by_id(&self, id: i64) -> Result<User, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user(&row)
    }

    /// Every account, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username")).fetch_all(&self.pool).await?;
        rows.iter().map(user).collect()
    }

    /// Disables or re-enables an account; disabling ends its sessions.
    pub async fn set_user_disabled(&self, actor: &Actor, username: &str, disabled: bool) -> Result<User, StoreError> {
        let before = self.user_by_name(username).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(disabled))
            .bind(now_ms())
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(before.id).execute(&mut *tx).await?;
        }
        let after = User { disabled, ..before.clone() };
        audit::record(
            &mut tx,
            actor,
            Change {
                action: if disabled { "user.disable" } else { "user.enable" },
                entity: "user",
                entity_id: Some(before.id.to_string()),
                before: Some(json!(before)),
                after: Some(json!(after)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Puts an account in a team (`None`: in none); audited.
    pub async fn set_user_team(&self, actor: &Actor, username: &str, team: Option<&str>) -> Result<User, StoreError> {
        let before = self.user_by_name(username).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET team = $1, updated_at = $2 WHERE id = $3")
            .bind(team)
            .bind(now_ms())
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        let after = User { team: team.map(str::to_string), ..before.clone() };
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "user.team",
                entity: "user",
                entity_id: Some(before.id.to_string()),
                before: Some(json!(before)),
                after: Some(json!(after)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The buildings a team is assigned to in the open sampling rounds, by id.
    pub async fn team_buildings(&self, team: &str) -> Result<Vec<i64>, StoreError> {
        let ids = sqlx::query_scalar(
            "SELECT DISTINCT rb.building_id FROM sampling_round_buildings rb \
             JOIN sampling_rounds r ON r.id = rb.round_id \
             WHERE rb.team = $1 AND r.status = 'open' ORDER BY rb.building_id",
        )
        .bind(team)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    /// Replaces an account's password hash and ends its sessions.
    pub async fn set_password(&self, actor: &Actor, username: &str, password_hash: &str) -> Result<(), StoreError> {
        let target = self.user_by_name(username).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_ms())
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(target.id).execute(&mut *tx).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "user.reset_password",
                entity: "user",
                entity_id: Some(target.id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new session under the hash of its token.
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        kind: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, kind, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(kind)
        .bind(csrf)
        .bind(now_ms())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account and session behind a token hash, if the session is live and the account enabled.
    pub async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<(User, Session)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.group_id, u.team, u.disabled, u.created_at, \
                    s.id AS session_id, s.kind, s.csrf, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session = Session {
            id: row.try_get("session_id")?,
            kind: row.try_get("kind")?,
            csrf: row.try_get("csrf")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok(Some((user(&row)?, session)))
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at < $2")
            .bind(token_hash)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Creates the six default working groups when they are missing.
    pub async fn ensure_default_groups(&self) -> Result<(), StoreError> {
        let now = now_ms();
        for (sort, (code, name, name_en)) in (1_i64..).zip(DEFAULT_GROUPS) {
            sqlx::query(
                "INSERT INTO working_groups (code, name, name_en, duty, sort, created_at) \
                 VALUES ($1, $2, $3, '', $4, $5) ON CONFLICT (code) DO NOTHING",
            )
            .bind(code)
            .bind(name)
            .bind(name_en)
            .bind(sort * 10)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Every working group, in display order.
    pub async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        let rows =
            sqlx::query("SELECT id, code, name, name_en, duty, sort, leader_id FROM working_groups ORDER BY sort, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(group).collect::<Result<_, _>>()?)
    }

    /// One working group.
    pub async fn get_group(&self, id: i64) -> Result<Group, StoreError> {
        let row =
            sqlx::query("SELECT id, code, name, name_en, duty, sort, leader_id FROM working_groups WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok(group(&row)?)
    }

    /// Creates a working group (the command structure changes with the situation).
    pub async fn create_group(&self, actor: &Actor, g: &Group) -> Result<Group, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO working_groups (code, name, name_en, duty, sort, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, code, name, name_en, duty, sort, leader_id",
        )
        .bind(&g.code)
        .bind(&g.name)
        .bind(&g.name_en)
        .bind(&g.duty)
        .bind(g.sort)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let created = group(&row)?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "group.create",
                entity: "group",
                entity_id: Some(created.id.to_string()),
                before: None,
                after: Some(json!(created)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Renames a working group or changes its duty and order.
    pub async fn update_group(&self, actor: &Actor, g: &Group) -> Result<Group, StoreError> {
        let before = self.get_group(g.id).await?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE working_groups SET name = $1, name_en = $2, duty = $3, sort = $4 WHERE id = $5 \
             RETURNING id, code, name, name_en, duty, sort, leader_id",
        )
        .bind(&g.name)
        .bind(&g.name_en)
        .bind(&g.duty)
        .bind(g.sort)
        .bind(g.id)
        .fetch_one(&mut *tx)
        .await?;
        let after = group(&row)?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "group.update",
                entity: "group",
                entity_id: Some(g.id.to_string()),
                before: Some(json!(before)),
                after: Some(json!(after)),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
