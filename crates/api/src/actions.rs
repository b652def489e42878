//! Action items: listed with filters, created, edited, completed, deleted.

use crate::caller::Caller;
use crate::paging::{PageQuery, idempotent, next_cursor};
use crate::problem::refusals::{Forbidden, Invalid, KeyInUse};
use crate::problem::{ApiJson, ApiQuery};
use crate::respond::*;
use crate::sessions::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use coachflux_app::AppState;
use coachflux_app::model::{ActionFilter as Filter, ActionOrder};
use coachflux_app::services::actions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This area's endpoints, each declared once by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_actions, create_action))
        .routes(routes!(action, update_action, delete_action))
        .routes(routes!(complete_action))
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d4-2b3c-7d4e-9f50-6a7b8c9d0e1f",
    "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c",
    "sessionId": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Email Priya the draft",
    "description": null, "dueDate": 1768607999999_i64, "completed": false, "completedAt": null,
    "priority": "high", "tags": ["career"], "reminderSent": false,
    "createdAt": 1768472700000_i64, "updatedAt": 1768472700000_i64, "archivedAt": null,
    "overdue": false}))]
pub struct Action {
    pub id: String,
    pub user_id: String,
    pub session_id: String,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<i64>,
    pub completed: bool,
    pub completed_at: Option<i64>,
    /// low, medium or high.
    pub priority: String,
    pub tags: Vec<String>,
    pub reminder_sent: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived_at: Option<i64>,
    /// Not completed and due before now.
    pub overdue: bool,
}

impl Action {
    pub fn new(a: &coachflux_app::model::ActionItem, now: i64) -> Self {
        Self {
            id: a.id.clone(),
            user_id: a.user_id.clone(),
            session_id: a.session_id.clone(),
            title: a.title.clone(),
            description: a.description.clone(),
            due_date: a.due_date,
            completed: a.completed,
            completed_at: a.completed_at,
            priority: a.priority.clone(),
            tags: serde_json::from_str(&a.tags).unwrap_or_default(),
            reminder_sent: a.reminder_sent,
            created_at: a.created_at,
            updated_at: a.updated_at,
            archived_at: a.archived_at,
            overdue: !a.completed && a.due_date.is_some_and(|d| d < now),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"title": "Book a meeting with my manager", "due": "by Friday", "priority": "high", "tags": ["career"]}))]
pub struct NewAction {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// A date (2026-03-01) or a phrase: "by Friday", "next week", "in 3 days".
    #[serde(default)]
    pub due: Option<String>,
    /// Default medium.
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The session it belongs to; the latest one when omitted.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// Changes to an item; fields left out stay as they are.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"title": "Email Priya the final draft", "description": null,
    "due": "next Monday", "priority": "medium", "tags": null, "completed": false}))]
pub struct ActionUpdate {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A date or phrase; "" clears the due date.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub completed: Option<bool>,
}

// ---------------------------------------------------------------------------------------------

crate::paging::page!(ActionPage, Action, {"items": [
    {"id": "0193f1d4-2b3c-7d4e-9f50-6a7b8c9d0e1f",
        "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c",
        "sessionId": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Email Priya the draft",
        "description": null, "dueDate": 1768607999999_i64, "completed": false, "completedAt": null,
        "priority": "high", "tags": ["career"], "reminderSent": false,
        "createdAt": 1768472700000_i64, "updatedAt": 1768472700000_i64, "archivedAt": null,
        "overdue": false}],
    "nextCursor": null});

// ---------------------------------------------------------------------------------------------
// Endpoints

/// Which action items a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    All,
    Open,
    Completed,
    Overdue,
    /// Due in the next 7 days.
    Week,
    Archived,
}

impl StatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Open => "open",
            StatusFilter::Completed => "completed",
            StatusFilter::Overdue => "overdue",
            StatusFilter::Week => "week",
            StatusFilter::Archived => "archived",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// open, completed, overdue, week (due in 7 days), archived, or all; default: all but
    /// archived.
    #[param(inline)]
    pub status: Option<StatusFilter>,
    #[param(inline)]
    pub priority: Option<Priority>,
    pub tag: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// The member's action items, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])),
    params(ActionQuery),
    responses(
        (status = 200, body = ActionPage),
    ))]
pub async fn list_actions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ActionQuery>,
) -> ApiResult {
    let user = caller.member()?;
    let filter = Filter {
        status: q.status.map(|s| s.as_str().to_owned()),
        priority: q.priority.map(|p| p.as_str().to_owned()),
        tag: q.tag.clone(),
    };
    let paging = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let page = actions::page(
        &state,
        &user.user.id,
        &filter,
        ActionOrder::Newest,
        &paging.request()?,
    )
    .await?;
    let now = state.clock.now_ms();
    ok(&ActionPage {
        items: page.items.iter().map(|a| Action::new(a, now)).collect(),
        next_cursor: next_cursor(&page),
    })
}

/// Creates an action item.
#[utoipa::path(post, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])),
    request_body = NewAction,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first result")),
    responses(
        (status = 201, body = Action),
        Forbidden,
        KeyInUse,
        Invalid,
    ))]
pub async fn create_action(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewAction>,
) -> ApiResult {
    let user = caller.writer()?;
    let request = canonical("POST /actions", &body);
    idempotent(&state, &caller, &headers, &request, async {
        let tags = body.tags.join(",");
        let draft = actions::Draft {
            title: &body.title,
            description: body.description.as_deref().unwrap_or(""),
            due: body.due.as_deref().unwrap_or(""),
            priority: body.priority.map_or("medium", Priority::as_str),
            tags: &tags,
            zone: caller.zone,
            due_kept: None,
        };
        let id = actions::create(&state, &user.user.id, body.session_id.as_deref(), &draft).await?;
        let item = actions::get(&state, &user.user.id, &id).await?;
        Ok((
            StatusCode::CREATED,
            to_value(&Action::new(&item, state.clock.now_ms()))?,
        ))
    })
    .await
}

/// One action item.
#[utoipa::path(get, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 200, body = Action),
    ))]
pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.member()?;
    let item = actions::get(&state, &user.user.id, &id).await?;
    ok(&Action::new(&item, state.clock.now_ms()))
}

/// Changes an action item, including completing it (`completed: true`) or reopening it.
#[utoipa::path(patch, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    request_body = ActionUpdate,
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 200, body = Action),
        Forbidden,
        Invalid,
    ))]
pub async fn update_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ActionUpdate>,
) -> ApiResult {
    let user = caller.writer()?;
    let item = actions::get(&state, &user.user.id, &id).await?;
    let edits = body.title.is_some()
        || body.description.is_some()
        || body.due.is_some()
        || body.priority.is_some()
        || body.tags.is_some();
    if edits {
        let current_tags: Vec<String> = serde_json::from_str(&item.tags).unwrap_or_default();
        let tags = body.tags.as_ref().unwrap_or(&current_tags).join(",");
        let draft = actions::Draft {
            title: body.title.as_deref().unwrap_or(&item.title),
            description: body
                .description
                .as_deref()
                .or(item.description.as_deref())
                .unwrap_or(""),
            due: body.due.as_deref().unwrap_or(""),
            // Left out, the date stays exactly as it is.
            due_kept: body.due.is_none().then_some(item.due_date),
            priority: body
                .priority
                .map(Priority::as_str)
                .unwrap_or(&item.priority),
            tags: &tags,
            zone: caller.zone,
        };
        actions::update(&state, &user.user.id, &id, &draft).await?;
    }
    // Setting the state it already has changes nothing (the service decides).
    if let Some(done) = body.completed {
        actions::set_completed(&state, &user.user.id, &id, done).await?;
    }
    let fresh = actions::get(&state, &user.user.id, &id).await?;
    ok(&Action::new(&fresh, state.clock.now_ms()))
}

/// Completes an action item.
#[utoipa::path(post, path = "/api/v1/actions/{id}/complete", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 200, body = Action),
        Forbidden,
    ))]
pub async fn complete_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    actions::set_completed(&state, &user.user.id, &id, true).await?;
    let fresh = actions::get(&state, &user.user.id, &id).await?;
    ok(&Action::new(&fresh, state.clock.now_ms()))
}

/// Deletes an action item.
#[utoipa::path(delete, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 204, description = "Deleted"),
        Forbidden,
    ))]
pub async fn delete_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    actions::delete(&state, &user.user.id, &id).await?;
    forget_created(&state, &id).await?;
    no_content()
}
