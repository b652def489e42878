//! Action items: list with filters, create, edit, complete, delete. Every call is scoped to
//! its owner; another person's item is "not found".

use crate::error::{AppError, FieldError};
use crate::state::AppState;
use coachflux_domain::dates;
use coachflux_domain::ids::new_id;
use coachflux_domain::paging::{Page, PageRequest};
use coachflux_store::action_items::{self, ActionItem, Changes, Filter, Order};
use coachflux_store::{coaching, events};
use serde_json::json;

pub const PRIORITIES: [&str; 3] = ["low", "medium", "high"];
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// What a person types to create or edit an item.
pub struct Draft<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// "by Friday", "2026-03-01", or empty for no date.
    pub due: &'a str,
    pub priority: &'a str,
    /// Comma-separated.
    pub tags: &'a str,
    /// The person's time zone: `due` names a day on their calendar.
    pub zone: dates::Zone,
    /// A due instant kept as it is (an edit that doesn't touch the date), instead of reading
    /// `due` again: read in another zone, the same words could name another day.
    pub due_kept: Option<Option<i64>>,
}

struct Clean {
    title: String,
    description: Option<String>,
    due: Option<i64>,
    priority: String,
    tags: String,
}

fn clean(d: &Draft<'_>, now: i64) -> Result<Clean, AppError> {
    let mut errors = Vec::new();
    let mut err = |field: &'static str, message: &str| {
        errors.push(FieldError {
            field,
            message: message.to_owned(),
        })
    };
    // Limits count what was typed (as the API documents them); then control and invisible
    // characters go.
    let title = coachflux_domain::text::single_line(d.title);
    let title = title.as_str();
    if d.title.trim().chars().count() > MAX_TITLE_CHARS {
        err("title", "Keep the title under 200 characters.");
    } else if title.is_empty() {
        err("title", "Give the action a title.");
    }
    let description = coachflux_domain::text::multi_line(d.description);
    let description = description.as_str();
    if d.description.trim().chars().count() > MAX_DESCRIPTION_CHARS {
        err("description", "Keep the notes under 2000 characters.");
    }
    let due = match (d.due_kept, d.due.trim()) {
        (Some(kept), _) => kept,
        (None, "") => None,
        (None, phrase) => match dates::parse_due(phrase, now, d.zone) {
            Some(due) => Some(due.at_ms),
            None => {
                err(
                    "due",
                    "Use a date like 2026-03-01, \"Friday\" or \"in 3 days\".",
                );
                None
            }
        },
    };
    let priority = if d.priority.is_empty() {
        "medium"
    } else {
        d.priority
    };
    if !PRIORITIES.contains(&priority) {
        err("priority", "Priority is low, medium or high.");
    }
    let raw_tags: Vec<&str> = d
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let tags: Vec<String> = raw_tags
        .iter()
        .map(|t| coachflux_domain::text::single_line(t).to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    if raw_tags.len() > 10 || raw_tags.iter().any(|t| t.chars().count() > 30) {
        err("tags", "Up to 10 tags of at most 30 characters.");
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(Clean {
        title: title.to_owned(),
        description: (!description.is_empty()).then(|| description.to_owned()),
        due,
        priority: priority.to_owned(),
        tags: serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
    })
}

/// Changes to an action (a proposed one, say), each checked as for a new item; `None` keeps
/// the current value.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Edits {
    pub title: Option<String>,
    /// `Some(None)` clears the date.
    pub due: Option<Option<i64>>,
    pub priority: Option<String>,
    pub tags: Option<Vec<String>>,
}

pub fn validate_changes(
    title: Option<&str>,
    due: Option<&str>,
    priority: Option<&str>,
    tags: Option<&str>,
    now: i64,
    zone: dates::Zone,
) -> Result<Edits, AppError> {
    let c = clean(
        &Draft {
            title: title.unwrap_or("unchanged"),
            description: "",
            due: due.unwrap_or(""),
            priority: priority.unwrap_or(""),
            tags: tags.unwrap_or(""),
            zone,
            due_kept: None,
        },
        now,
    )?;
    Ok(Edits {
        title: title.map(|_| c.title),
        due: due.map(|_| c.due),
        priority: priority.map(|_| c.priority),
        tags: tags.map(|_| serde_json::from_str(&c.tags).unwrap_or_default()),
    })
}

/// One of the person's items; another person's id is "not found".
pub async fn get(state: &AppState, user_id: &str, id: &str) -> Result<ActionItem, AppError> {
    let mut conn = state.store.conn().await?;
    action_items::get(&mut conn, user_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One page of the person's items in `order`, filtered.
pub async fn page(
    state: &AppState,
    user_id: &str,
    filter: &Filter,
    order: Order,
    request: &PageRequest,
) -> Result<Page<ActionItem>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(action_items::page(
        &mut conn,
        user_id,
        filter,
        order,
        request,
        state.clock.now_ms(),
    )
    .await?)
}

/// Creates an item in one of the person's sessions (their latest when none is named), since
/// every action item belongs to the session it came from.
pub async fn create(
    state: &AppState,
    user_id: &str,
    session_id: Option<&str>,
    d: &Draft<'_>,
) -> Result<String, AppError> {
    let now = state.clock.now_ms();
    let c = clean(d, now)?;
    let user_id = user_id.to_owned();
    let session_id = session_id.filter(|s| !s.is_empty()).map(str::to_owned);
    // One short database-only job: on SQLite it shares a commit with the writes that arrive
    // with it (see `Store::batched`).
    state
        .store
        .batched(move |conn| {
            Box::pin(async move { insert(conn, &user_id, session_id.as_deref(), &c, now).await })
        })
        .await
}

/// Stores a new item (in the named session of the person's, or their latest), its event and
/// its count.
async fn insert(
    conn: &mut coachflux_store::Conn,
    user_id: &str,
    session_id: Option<&str>,
    c: &Clean,
    now: i64,
) -> Result<String, AppError> {
    let Some(session) = coaching::owned_session_id(conn, user_id, session_id).await? else {
        return Err(AppError::invalid(
            "title",
            "Action items belong to a coaching session: start one first.",
        ));
    };
    let id = new_id();
    action_items::insert(
        conn,
        &action_items::NewActionItem {
            id: &id,
            user_id,
            session_id: &session,
            title: &c.title,
            description: c.description.as_deref(),
            due_date: c.due,
            priority: &c.priority,
            tags: &c.tags,
            now,
        },
    )
    .await?;
    events::record(
        conn,
        &new_id(),
        Some(user_id),
        None,
        "action_item_created",
        &json!({"sessionId": session}).to_string(),
        now,
    )
    .await?;
    coachflux_store::metrics::count_actions(conn, user_id, 1, 0, now).await?;
    Ok(id)
}

pub async fn update(
    state: &AppState,
    user_id: &str,
    id: &str,
    d: &Draft<'_>,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let c = clean(d, now)?;
    let mut conn = state.store.conn().await?;
    let changes = Changes {
        title: &c.title,
        description: c.description.as_deref(),
        due_date: c.due,
        priority: &c.priority,
        tags: &c.tags,
    };
    if !action_items::update(&mut conn, user_id, id, &changes, now).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn set_completed(
    state: &AppState,
    user_id: &str,
    id: &str,
    completed: bool,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let changed = action_items::set_completed(&mut tx, user_id, id, completed, now)
        .await?
        .ok_or(AppError::NotFound)?;
    if !changed {
        return Ok(());
    }
    if completed {
        events::record(
            &mut tx,
            &new_id(),
            Some(user_id),
            None,
            "action_item_completed",
            &json!({"actionItemId": id}).to_string(),
            now,
        )
        .await?;
    }
    let completed = if completed { 1 } else { -1 };
    coachflux_store::metrics::count_actions(&mut tx, user_id, 0, completed, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete(state: &AppState, user_id: &str, id: &str) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    if !action_items::delete(&mut tx, user_id, id).await? {
        return Err(AppError::NotFound);
    }
    coachflux_store::metrics::recompute(&mut tx, user_id, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates (or replaces) the private calendar link; returns the secret for the URL, shown once.
pub async fn create_calendar_link(state: &AppState, user_id: &str) -> Result<String, AppError> {
    let token = crate::crypto::random_token();
    let mut conn = state.store.conn().await?;
    coachflux_store::users::set_calendar_token(
        &mut conn,
        user_id,
        Some(&crate::crypto::hash_token(&token)),
        state.clock.now_ms(),
    )
    .await?;
    Ok(token)
}

pub async fn revoke_calendar_link(state: &AppState, user_id: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    coachflux_store::users::set_calendar_token(&mut conn, user_id, None, state.clock.now_ms())
        .await?;
    Ok(())
}

/// The iCalendar feed behind a calendar secret, or "not found".
pub async fn calendar_feed(state: &AppState, token: &str) -> Result<String, AppError> {
    let mut conn = state.store.conn().await?;
    let user = coachflux_store::users::find_by_calendar_token(
        &mut conn,
        &crate::crypto::hash_token(token),
    )
    .await?
    // A switched-off account (disabled, or waiting for deletion) publishes nothing.
    .filter(|u| u.disabled_at.is_none())
    .ok_or(AppError::NotFound)?;
    let items = action_items::dated_for_user(&mut conn, &user.id).await?;
    let host = state
        .config
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or("coachflux");
    let uids: Vec<String> = items.iter().map(|a| format!("{}@{host}", a.id)).collect();
    let events: Vec<coachflux_domain::ical::Event<'_>> = items
        .iter()
        .zip(&uids)
        .filter_map(|(a, uid)| {
            Some(coachflux_domain::ical::Event {
                uid,
                title: &a.title,
                description: a.description.as_deref(),
                due_ms: a.due_date?,
                completed: a.completed,
                updated_ms: a.updated_at,
            })
        })
        .collect();
    Ok(coachflux_domain::ical::calendar(
        "CoachFlux action items",
        &events,
        state.clock.now_ms(),
        dates::zone_of(user.time_zone.as_deref()),
    ))
}
