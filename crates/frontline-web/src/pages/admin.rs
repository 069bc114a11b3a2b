//! Pages for the command: the working groups, their members and leaders.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use frontline_domain::i18n::{catalogue, Lang};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{page, page_ctx};
use crate::api::accounts::{parse_group, GroupInput};
use crate::api::extract::ApiPath;
use crate::auth::Auth;
use crate::error::AppError;
use crate::i18n::ReqLang;
use crate::views::GroupView;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", post(update_group))
        .route("/groups/{id}/members", post(add_member))
        .route("/groups/{id}/members/remove", post(remove_member))
        .route("/groups/{id}/leader", post(set_leader))
}

#[derive(Serialize)]
struct MemberRow {
    username: String,
    display_name: String,
    role: String,
    leader: bool,
}

#[derive(Serialize)]
struct GroupBlock {
    group: GroupView,
    label: String,
    leader: Option<String>,
    members: Vec<MemberRow>,
    /// A membership form's error, shown next to its field.
    error: Option<String>,
    /// The account chosen in the add-member form that failed, chosen again.
    selected: Option<String>,
}

#[derive(Serialize)]
struct AccountChoice {
    username: String,
    label: String,
    group_id: Option<i64>,
}

/// A member form that failed: its group, the message, and the account chosen.
struct Failed {
    group: i64,
    message: String,
    selected: Option<String>,
}

/// The groups page, with a failed member form shown again when there is one.
async fn groups_page(state: &AppState, auth: &Auth, lang: Lang, failed: Option<Failed>) -> Result<Response, AppError> {
    auth.require(Perm::ViewGroups)?;
    let groups = state.store().list_groups().await?;
    let users = state.store().list_users().await?;
    let cat = catalogue();
    let label =
        |g: &frontline_store::accounts::Group| if lang == Lang::En { g.name_en.clone() } else { g.name.clone() };
    let blocks: Vec<GroupBlock> = groups
        .iter()
        .map(|g| {
            let mut members: Vec<MemberRow> = users
                .iter()
                .filter(|u| u.group_id == Some(g.id))
                .map(|u| MemberRow {
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    role: u.role.code().to_string(),
                    leader: g.leader_id == Some(u.id),
                })
                .collect();
            members.sort_by(|a, b| b.leader.cmp(&a.leader).then_with(|| a.display_name.cmp(&b.display_name)));
            GroupBlock {
                group: g.clone().into(),
                label: label(g),
                leader: members.iter().find(|m| m.leader).map(|m| m.display_name.clone()),
                members,
                error: failed.as_ref().filter(|f| f.group == g.id).map(|f| f.message.clone()),
                selected: failed.as_ref().filter(|f| f.group == g.id).and_then(|f| f.selected.clone()),
            }
        })
        .collect();
    let accounts: Vec<AccountChoice> = users
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| {
            let role = cat.text(lang, &format!("role.{}", u.role.code())).to_string();
            let mut text = format!("{}（{}）", u.display_name, role);
            if let Some(other) = u.group_id.and_then(|id| groups.iter().find(|g| g.id == id)) {
                text.push_str(&cat.format(lang, "groups.ui.in_other", &[("group", label(other))]));
            }
            AccountChoice { username: u.username.clone(), label: text, group_id: u.group_id }
        })
        .collect();
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/groups", "nav.groups"),
        ..context! { groups => blocks, accounts => accounts, can_manage => auth.can(Perm::ManageGroups) }
    };
    let mut res = page("groups.html", ctx)?;
    if failed.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

/// The working groups with their leaders and members; editable by those who manage them.
async fn list_groups(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    groups_page(&state, &auth, lang, None).await
}

#[derive(Debug, Deserialize)]
struct GroupForm {
    csrf: String,
    code: Option<String>,
    name: Option<String>,
    name_en: Option<String>,
    duty: Option<String>,
    sort: Option<String>,
}

impl GroupForm {
    fn input(self) -> Result<GroupInput, AppError> {
        let sort = match self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| AppError::field("sort", "unknown"))?),
        };
        Ok(GroupInput { code: self.code, name: self.name, name_en: self.name_en, duty: self.duty, sort })
    }
}

/// Creates a working group from the form.
async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    form: Result<Form<GroupForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let g = parse_group(form.input()?, None)?;
    state.store().create_group(&auth.actor(), &g).await?;
    Ok(Redirect::to("/groups").into_response())
}

/// Saves a working group from the form.
async fn update_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<GroupForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let base = state.store().get_group(id).await?;
    let g = parse_group(form.input()?, Some(base))?;
    state.store().update_group(&auth.actor(), &g).await?;
    Ok(Redirect::to("/groups").into_response())
}

#[derive(Debug, Deserialize)]
struct MemberForm {
    csrf: String,
    username: Option<String>,
}

/// What a membership form did: back to the page, or the page again with the
/// message next to the group's member form.
async fn after_member_change<T>(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    group: i64,
    selected: Option<String>,
    done: Result<T, AppError>,
) -> Result<Response, AppError> {
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/groups#group-{group}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let message = errors.first().map(|e| catalogue().format(lang, &e.key, &e.params)).unwrap_or_default();
            groups_page(state, auth, lang, Some(Failed { group, message, selected })).await
        }
        Err(e) => Err(e),
    }
}

/// Adds an account to the group.
async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<MemberForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let username = form.username.unwrap_or_default();
    let done = crate::groups::add_member(state.store(), &auth.actor(), id, &username).await;
    if let Ok(u) = &done {
        state.sessions().forget_user(u.id);
    }
    after_member_change(&state, &auth, lang, id, Some(username), done).await
}

/// Removes an account from the group.
async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<MemberForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let username = form.username.unwrap_or_default();
    let done = crate::groups::remove_member(state.store(), &auth.actor(), id, &username).await;
    if let Ok(u) = &done {
        state.sessions().forget_user(u.id);
    }
    after_member_change(&state, &auth, lang, id, None, done).await
}

/// Makes a member the group's leader.
async fn set_leader(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<MemberForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let done = crate::groups::set_leader(state.store(), &auth.actor(), id, form.username.as_deref()).await;
    after_member_change(&state, &auth, lang, id, None, done).await
}
