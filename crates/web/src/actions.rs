//! The action items page: filters, create, edit, complete/uncomplete, delete.

use super::flash::{Flash, redirect_with};
use super::forms::{FormErrors, form_errors};
use super::{Layout, PageCtx};
use crate::who::PageResult;
use crate::who::RequireUser;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use coachflux_app::AppError;
use coachflux_app::AppState;
use coachflux_app::model::{ActionFilter as Filter, ActionOrder};
use coachflux_app::services::actions::{self, Draft};
use coachflux_domain::dates;
use coachflux_domain::paging::{Cursor, PageRequest};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/actions", get(page).post(create))
        .route("/actions/{id}", post(edit))
        .route("/actions/{id}/complete", post(complete))
        .route("/actions/{id}/reopen", post(reopen))
        .route("/actions/{id}/delete", post(delete))
        .route("/actions/calendar", post(calendar_create))
        .route("/actions/calendar/revoke", post(calendar_revoke))
        .route("/calendar/{file}", get(calendar_feed))
}

pub struct Row {
    pub id: String,
    pub title: String,
    pub description: String,
    pub due: String,
    pub due_input: String,
    pub overdue: bool,
    pub completed: bool,
    pub priority: String,
    pub tags: String,
}

#[derive(Deserialize, Default)]
struct FilterQuery {
    status: Option<String>,
    priority: Option<String>,
    tag: Option<String>,
    /// Where this page starts (the previous page's `next`).
    after: Option<String>,
}

/// Items per page.
const ACTIONS_PAGE: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "actions.html")]
struct ActionsPage {
    l: Layout,
    rows: Vec<Row>,
    /// The next page's address, when there is one.
    next: Option<String>,
    status: String,
    priority: String,
    tag: String,
    errors: FormErrors,
    draft: ItemForm,
    calendar_active: bool,
    /// The new private feed's address and its `webcal://` form (which calendar apps open as
    /// a subscription), shown once.
    calendar_url: Option<(String, String)>,
}

/// `https://host/path` as `webcal://host/path`.
fn webcal(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    format!("webcal://{rest}")
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    user_id: &str,
    q: FilterQuery,
    errors: FormErrors,
    draft: ItemForm,
) -> PageResult {
    render_with(state, ctx, user_id, q, errors, draft, None).await
}

async fn render_with(
    state: &AppState,
    ctx: &PageCtx,
    user_id: &str,
    q: FilterQuery,
    errors: FormErrors,
    draft: ItemForm,
    calendar_url: Option<String>,
) -> PageResult {
    let filter = Filter {
        status: q.status.clone(),
        priority: q.priority.clone(),
        tag: q.tag.clone(),
    };
    let now = state.clock.now_ms();
    let request = PageRequest {
        limit: ACTIONS_PAGE,
        // A cursor that doesn't read (edited by hand) starts from the first page.
        after: q.after.as_deref().and_then(Cursor::from_text),
    };
    let page = actions::page(state, user_id, &filter, ActionOrder::Due, &request).await?;
    let next = page.next.as_ref().map(|c| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("status", &q.status),
            ("priority", &q.priority),
            ("tag", &q.tag),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(key, v);
            }
        }
        query.append_pair("after", &c.to_text());
        format!("/actions?{}", query.finish())
    });
    let rows = page
        .items
        .into_iter()
        .map(|a| Row {
            overdue: !a.completed && a.due_date.is_some_and(|d| d < now),
            due: a
                .due_date
                .map(|d| dates::label(d, ctx.zone))
                .unwrap_or_default(),
            due_input: a
                .due_date
                .map(|d| dates::ymd_string(d, ctx.zone))
                .unwrap_or_default(),
            tags: serde_json::from_str::<Vec<String>>(&a.tags)
                .unwrap_or_default()
                .join(", "),
            id: a.id,
            title: a.title,
            description: a.description.unwrap_or_default(),
            completed: a.completed,
            priority: a.priority,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut r = ActionsPage {
        l: ctx.layout("Action items — CoachFlux", "actions"),
        rows,
        next,
        status: q.status.unwrap_or_default(),
        priority: q.priority.unwrap_or_default(),
        tag: q.tag.unwrap_or_default(),
        errors,
        draft,
        calendar_active: calendar_url.is_some()
            || ctx
                .user
                .as_ref()
                .is_some_and(|u| u.user.calendar_token.is_some()),
        calendar_url: calendar_url.map(|url| (webcal(&url), url)),
    }
    .into_response();
    *r.status_mut() = status;
    Ok(r)
}

async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Query(q): Query<FilterQuery>,
) -> PageResult {
    render(
        &state,
        &ctx,
        &current.user.id,
        q,
        FormErrors::default(),
        ItemForm::default(),
    )
    .await
}

/// The add/edit form; a refused one is shown again as it was typed.
#[derive(Deserialize, Default)]
struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    tags: String,
}

impl ItemForm {
    fn draft(&self, zone: dates::Zone) -> Draft<'_> {
        Draft {
            title: &self.title,
            description: &self.description,
            due: &self.due,
            priority: &self.priority,
            tags: &self.tags,
            zone,
            due_kept: None,
        }
    }
}

async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Form(f): Form<ItemForm>,
) -> PageResult {
    match actions::create(&state, &current.user.id, None, &f.draft(ctx.zone)).await {
        Ok(_) => Ok(Redirect::to("/actions").into_response()),
        Err(e) => {
            render(
                &state,
                &ctx,
                &current.user.id,
                FilterQuery::default(),
                form_errors(e)?,
                f,
            )
            .await
        }
    }
}

async fn edit(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
    Form(f): Form<ItemForm>,
) -> PageResult {
    match actions::update(&state, &current.user.id, &id, &f.draft(ctx.zone)).await {
        Ok(()) => Ok(Redirect::to("/actions").into_response()),
        Err(e) => {
            render(
                &state,
                &ctx,
                &current.user.id,
                FilterQuery::default(),
                form_errors(e)?,
                ItemForm::default(),
            )
            .await
        }
    }
}

async fn complete(
    State(state): State<AppState>,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    actions::set_completed(&state, &current.user.id, &id, true).await?;
    // Without JavaScript the page reloads: say what happened.
    Ok(redirect_with(&state, "/actions", Flash::ActionDone))
}

async fn reopen(
    State(state): State<AppState>,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    actions::set_completed(&state, &current.user.id, &id, false).await?;
    Ok(redirect_with(&state, "/actions", Flash::ActionReopened))
}

async fn delete(
    State(state): State<AppState>,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    actions::delete(&state, &current.user.id, &id).await?;
    Ok(redirect_with(&state, "/actions", Flash::ActionDeleted))
}

async fn calendar_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> PageResult {
    let token = actions::create_calendar_link(&state, &current.user.id).await?;
    let url = state.link(&format!("/calendar/{token}.ics"));
    render_with(
        &state,
        &ctx,
        &current.user.id,
        FilterQuery::default(),
        FormErrors::default(),
        ItemForm::default(),
        Some(url),
    )
    .await
}

async fn calendar_revoke(
    State(state): State<AppState>,
    RequireUser(current): RequireUser,
) -> PageResult {
    actions::revoke_calendar_link(&state, &current.user.id).await?;
    Ok(Redirect::to("/actions#calendar").into_response())
}

/// The feed itself: calendar apps fetch it without cookies; the secret in the URL is the key.
async fn calendar_feed(State(state): State<AppState>, Path(file): Path<String>) -> PageResult {
    let token = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let body = actions::calendar_feed(&state, token).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}
