//! The coaching frameworks, with what locks a framework for this caller.

use crate::caller::Caller;
use crate::paging::{PageQuery, encode};
use crate::problem::ApiQuery;
use crate::respond::*;
use axum::extract::{Path, State};
use coachflux_app::AppState;
use coachflux_app::services::coaching::{self};
use coachflux_domain::frameworks::{FieldKind, Framework};
use coachflux_domain::paging::Cursor;
use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This area's endpoints, each declared once by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(frameworks))
        .routes(routes!(framework))
}

// ---------------------------------------------------------------------------------------------
// Shapes

/// The example framework step of the OpenAPI document (GROW's first).
fn step_example() -> Json {
    serde_json::json!({"id": "goal", "name": "Goal", "description":
    "Pin down what you want to walk away with, today and further ahead, and how \
    you will know you have got there.",
    "fields": [{"id": "goal", "label": "Your goal", "required": true, "kind": "text",
    "maxLen": 500, "min": null, "max": null, "options": []},
    {"id": "why_now", "label": "Why now", "required": false, "kind": "text",
    "maxLen": 1000, "min": null, "max": null, "options": []},
    {"id": "success_criteria", "label": "How you'll know you've succeeded",
    "required": true, "kind": "list", "maxLen": 200, "min": null, "max": 5, "options": []},
    {"id": "timeframe", "label": "Timeframe", "required": true, "kind": "date",
    "maxLen": null, "min": null, "max": null, "options": []}]})
}

/// The example framework of the OpenAPI document (GROW's first step).
fn framework_example() -> Json {
    serde_json::json!({"id": "GROW", "name": "GROW",
    "expansion": "Goal, Reality, Options, Will", "emoji": "🌱",
    "tagline": "Set a clear goal, see where you stand, and choose your next move.",
    "description": "GROW takes you from what you want to what you will actually do about it.",
    "bestFor": ["Setting a goal and a plan to reach it", "Getting unstuck on a decision"],
    "estimatedTime": "20 min", "difficulty": "beginner",
    "tags": ["goals", "planning", "decisions", "performance"], "isAvailable": true,
    "steps": [step_example()],
    "locked": null})
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = framework_example)]
pub struct FrameworkOut {
    pub id: String,
    pub name: String,
    pub expansion: String,
    pub emoji: String,
    pub tagline: String,
    pub description: String,
    pub best_for: Vec<String>,
    pub estimated_time: String,
    /// beginner, intermediate or advanced.
    pub difficulty: String,
    pub tags: Vec<String>,
    pub is_available: bool,
    pub steps: Vec<FrameworkStep>,
    /// Why the caller can't start it, when they can't.
    pub locked: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = step_example)]
pub struct FrameworkStep {
    pub id: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "constraints", "label": "What's in the way", "required": true,
    "kind": "list", "maxLen": 200, "min": null, "max": 10, "options": []}))]
pub struct FieldOut {
    pub id: String,
    pub label: String,
    pub required: bool,
    /// text, list, scale, choice, date, actions or options.
    pub kind: String,
    /// Text and list: the most characters; scale: the range; choice: the options.
    pub max_len: Option<u32>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub options: Vec<String>,
}

pub(crate) fn field_out(f: &coachflux_domain::frameworks::Field) -> FieldOut {
    let mut out = FieldOut {
        id: f.id.clone(),
        label: f.label.clone(),
        required: f.required,
        kind: String::new(),
        max_len: None,
        min: None,
        max: None,
        options: Vec::new(),
    };
    match &f.kind {
        FieldKind::Text { max_len } => {
            out.kind = "text".into();
            out.max_len = Some(*max_len);
        }
        FieldKind::List {
            max_items,
            item_max_len,
            ..
        } => {
            out.kind = "list".into();
            out.max = i32::try_from(*max_items).ok();
            out.max_len = Some(*item_max_len);
        }
        FieldKind::Scale { min, max, .. } => {
            out.kind = "scale".into();
            out.min = Some(*min);
            out.max = Some(*max);
        }
        FieldKind::Choice { options } => {
            out.kind = "choice".into();
            out.options = options.clone();
        }
        FieldKind::Date => out.kind = "date".into(),
        FieldKind::Actions { max_items, .. } => {
            out.kind = "actions".into();
            out.max = i32::try_from(*max_items).ok();
        }
        FieldKind::Options { max_items, .. } => {
            out.kind = "options".into();
            out.max = i32::try_from(*max_items).ok();
        }
    }
    out
}

impl FrameworkOut {
    pub fn new(f: &Framework, locked: Option<String>) -> Self {
        Self {
            id: f.id.clone(),
            name: f.name.clone(),
            expansion: f.expansion.clone(),
            emoji: f.emoji.clone(),
            tagline: f.tagline.clone(),
            description: f.description.clone(),
            best_for: f.best_for.clone(),
            estimated_time: f.estimated_time.clone(),
            difficulty: f.difficulty.as_str().to_owned(),
            tags: f.tags.clone(),
            is_available: f.is_available && !f.coming_soon,
            steps: f
                .steps
                .iter()
                .map(|s| FrameworkStep {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    description: s.description.clone(),
                    fields: s.fields.iter().map(field_out).collect(),
                })
                .collect(),
            locked,
        }
    }
}

// ---------------------------------------------------------------------------------------------

crate::paging::page!(FrameworkPage, FrameworkOut, {"items": [framework_example()], "nextCursor": null});

// ---------------------------------------------------------------------------------------------
// Endpoints

/// The coaching frameworks, with whether the caller may start each.
#[utoipa::path(get, path = "/api/v1/frameworks", tag = "frameworks", params(PageQuery),
    responses(
        (status = 200, body = FrameworkPage),
    ))]
pub async fn frameworks(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let actor = caller.actor();
    let all = coaching::catalogue(&state, &actor).await?;
    // The catalogue's order is its own: page by position.
    let request = q.request()?;
    let limit = usize::try_from(request.limit).unwrap_or(0);
    let start = match &request.after {
        Some(c) => usize::try_from(c.key(0, 0)).unwrap_or(usize::MAX),
        None => 0,
    };
    let items: Vec<FrameworkOut> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|(r, locked)| framework_out(&r.framework, locked.clone()))
        .collect();
    let end = start.saturating_add(items.len());
    let next_cursor = (end < all.len()).then(|| {
        encode(&Cursor::new(
            &[i64::try_from(end).unwrap_or(i64::MAX)],
            "position",
        ))
    });
    ok(&FrameworkPage { items, next_cursor })
}

fn framework_out(
    f: &coachflux_domain::Framework,
    locked: Option<coaching::Locked>,
) -> FrameworkOut {
    FrameworkOut::new(f, locked.map(|l| format!("{} {}", l.reason, l.unlock)))
}

/// One framework with its steps and fields.
#[utoipa::path(get, path = "/api/v1/frameworks/{id}", tag = "frameworks",
    params(("id" = String, Path, description = "GROW, CLEAR, COMPASS, OSKAR, FUEL or WOOP")),
    responses(
        (status = 200, body = FrameworkOut),
    ))]
pub async fn framework(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let record = coaching::framework_record(&state, &id.to_ascii_uppercase())
        .await?
        .ok_or(coachflux_app::AppError::NotFound)?;
    let locked = coaching::entitlement(&caller.actor(), &record.framework).err();
    ok(&framework_out(&record.framework, locked))
}

// ---------------------------------------------------------------------------------------------
