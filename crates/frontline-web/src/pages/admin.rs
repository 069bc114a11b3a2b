//! Pages for the command: the working groups.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use frontline_domain::access::Perm;
use minijinja::context;
use serde::Deserialize;

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
}

/// The working groups; editable by those who manage them.
async fn list_groups(State(state): State<AppState>, auth: Auth, ReqLang(lang): ReqLang) -> Result<Response, AppError> {
    auth.require(Perm::ViewGroups)?;
    let groups: Vec<GroupView> = state.store().list_groups().await?.into_iter().map(Into::into).collect();
    let ctx = context! {
        ..page_ctx(&state, &auth, lang, "/groups", "nav.groups"),
        ..context! { groups => groups, can_manage => auth.can(Perm::ManageGroups) }
    };
    page("groups.html", ctx)
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
