//! Working-group membership, the one service the API, the groups page and the
//! CLI call: add an account to a group, remove it, and set the group's leader
//! (one of its members). Callers check the permission (`ManageGroups`); web
//! callers forget the account's cached sessions, as its group changed.

use frontline_store::accounts::{Group, User};
use frontline_store::{Actor, Store, StoreError};

use crate::error::AppError;

/// A group and its members, by display name.
pub async fn members(store: &Store, group_id: i64) -> Result<(Group, Vec<User>), AppError> {
    let group = store.get_group(group_id).await?;
    Ok((group, store.group_members(group_id).await?))
}

async fn account(store: &Store, field: &str, username: &str) -> Result<User, AppError> {
    let username = username.trim();
    if username.is_empty() {
        return Err(AppError::field(field, "required"));
    }
    store.user_by_name(username).await.map_err(|e| match e {
        StoreError::NotFound => AppError::field(field, "not_found"),
        other => other.into(),
    })
}

/// Adds `username` to the group (moving it out of any other group, and out
/// of leading it). Adding a member twice changes nothing and succeeds.
pub async fn add_member(store: &Store, actor: &Actor, group_id: i64, username: &str) -> Result<User, AppError> {
    store.get_group(group_id).await?;
    let user = account(store, "username", username).await?;
    if user.group_id == Some(group_id) {
        return Ok(user);
    }
    Ok(store.set_user_group(actor, user.id, Some(group_id)).await?)
}

/// Removes `username` from the group (and from leading it); an account that
/// is not a member is a field error.
pub async fn remove_member(store: &Store, actor: &Actor, group_id: i64, username: &str) -> Result<User, AppError> {
    store.get_group(group_id).await?;
    let user = account(store, "username", username).await?;
    if user.group_id != Some(group_id) {
        return Err(AppError::field("username", "not_member"));
    }
    Ok(store.set_user_group(actor, user.id, None).await?)
}

/// Makes `username` the group's leader, or leaves the group without one
/// (`None`). The leader must be a member.
pub async fn set_leader(
    store: &Store,
    actor: &Actor,
    group_id: i64,
    username: Option<&str>,
) -> Result<Group, AppError> {
    let leader = match username.map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(account(store, "leader", u).await?),
    };
    if leader.as_ref().is_some_and(|u| u.group_id != Some(group_id)) {
        store.get_group(group_id).await?;
        return Err(AppError::field("leader", "not_member"));
    }
    store.set_group_leader(actor, group_id, leader.map(|u| u.id)).await.map_err(|e| match e {
        // A concurrent removal: the account is no longer a member.
        StoreError::MissingReference => AppError::field("leader", "not_member"),
        other => other.into(),
    })
}
