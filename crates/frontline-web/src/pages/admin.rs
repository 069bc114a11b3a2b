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
use crate::forms::FormErrors;
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
struct MemberFailure {
    group: i64,
    message: String,
    selected: Option<String>,
}

/// A group form that failed: which group (none for the new-group form), the
/// input as typed, and the messages by field.
struct GroupFailure {
    id: Option<i64>,
    input: GroupFormValues,
    errors: FormErrors,
}

/// A form of the page that failed, to show the page again around it.
enum Failed {
    Member(MemberFailure),
    Group(GroupFailure),
}

/// A group form's fields as typed, to show them again.
#[derive(Debug, Clone, Default, Serialize)]
struct GroupFormValues {
    code: String,
    name: String,
    name_en: String,
    duty: String,
    sort: String,
}

/// The fields of the group forms, in their order, with their labels.
const GROUP_FIELDS: &[(&str, &str)] = &[
    ("code", "groups.code"),
    ("name", "groups.name"),
    ("name_en", "groups.name_en"),
    ("duty", "groups.duty"),
    ("sort", "groups.sort"),
];

/// The groups page, with a failed member or group form shown again when there is one.
async fn groups_page(state: &AppState, auth: &Auth, lang: Lang, failed: Option<Failed>) -> Result<Response, AppError> {
    auth.require(Perm::ViewGroups)?;
    let groups = state.store().list_groups().await?;
    let users = state.store().list_users().await?;
    let cat = catalogue();
    let member = match &failed {
        Some(Failed::Member(m)) => Some(m),
        _ => None,
    };
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
                error: member.filter(|f| f.group == g.id).map(|f| f.message.clone()),
                selected: member.filter(|f| f.group == g.id).and_then(|f| f.selected.clone()),
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
    let (status, group) = match failed {
        None => (None, None),
        Some(Failed::Member(_)) => (Some(StatusCode::UNPROCESSABLE_ENTITY), None),
        Some(Failed::Group(g)) => (Some(g.errors.status()), Some(g)),
    };
    let ctx = context! {
        ..page_ctx(state, auth, lang, "/groups", "nav.groups"),
        ..context! {
            groups => blocks,
            accounts => accounts,
            can_manage => auth.can(Perm::ManageGroups),
            failed_id => group.as_ref().and_then(|f| f.id),
            failed_new => group.as_ref().is_some_and(|f| f.id.is_none()),
            kept => group.as_ref().map(|f| f.input.clone()),
            form_errors => group.map(|f| f.errors),
        }
    };
    let mut res = page("groups.html", ctx)?;
    if let Some(status) = status {
        *res.status_mut() = status;
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
    fn values(&self) -> GroupFormValues {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        GroupFormValues {
            code: text(&self.code),
            name: text(&self.name),
            name_en: text(&self.name_en),
            duty: text(&self.duty),
            sort: text(&self.sort),
        }
    }

    fn input(self) -> Result<GroupInput, AppError> {
        let sort = match self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| AppError::field("sort", "unknown"))?),
        };
        Ok(GroupInput { code: self.code, name: self.name, name_en: self.name_en, duty: self.duty, sort })
    }
}

/// Creates a working group from the form; a wrong input shows the page
/// again with the form as typed.
async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    form: Result<Form<GroupForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let values = form.values();
    let written = async {
        let g = parse_group(form.input()?, None)?;
        Ok::<_, AppError>(state.store().create_group(&auth.actor(), &g).await?)
    }
    .await;
    match written {
        Ok(_) => Ok(Redirect::to("/groups").into_response()),
        Err(e) => {
            let errors = FormErrors::of(lang, e, GROUP_FIELDS)?;
            let failed = GroupFailure { id: None, input: values, errors };
            groups_page(&state, &auth, lang, Some(Failed::Group(failed))).await
        }
    }
}

/// Saves a working group from the form; a wrong input shows the page again
/// with that group's row as typed.
async fn update_group(
    State(state): State<AppState>,
    auth: Auth,
    ReqLang(lang): ReqLang,
    ApiPath(id): ApiPath<i64>,
    form: Result<Form<GroupForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form?;
    auth.check_csrf(&form.csrf)?;
    auth.require(Perm::ManageGroups)?;
    let base = state.store().get_group(id).await?;
    let values = form.values();
    let written = async {
        let g = parse_group(form.input()?, Some(base))?;
        Ok::<_, AppError>(state.store().update_group(&auth.actor(), &g).await?)
    }
    .await;
    match written {
        Ok(_) => Ok(Redirect::to("/groups").into_response()),
        Err(e) => {
            // The row has no code field: its messages go to the name.
            let errors = FormErrors::of(lang, e, &GROUP_FIELDS[1..])?;
            let failed = GroupFailure { id: Some(id), input: values, errors };
            groups_page(&state, &auth, lang, Some(Failed::Group(failed))).await
        }
    }
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
            groups_page(state, auth, lang, Some(Failed::Member(MemberFailure { group, message, selected }))).await
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
