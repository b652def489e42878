//! Action items: what a person committed to, with due dates and reminders.

use crate::{Conn, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct ActionItem {
    pub id: String,
    pub user_id: String,
    pub session_id: String,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<i64>,
    pub completed: bool,
    pub completed_at: Option<i64>,
    pub priority: String,
    /// JSON array of strings.
    pub tags: String,
    pub reminder_sent: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived_at: Option<i64>,
}

pub struct NewActionItem<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub due_date: Option<i64>,
    pub priority: &'a str,
    pub tags: &'a str,
    pub now: i64,
}

fn from_row(r: &AnyRow) -> Result<ActionItem> {
    Ok(ActionItem {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        session_id: r.try_get("session_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        due_date: r.try_get("due_date")?,
        completed: r.try_get::<i64, _>("completed")? != 0,
        completed_at: r.try_get("completed_at")?,
        priority: r.try_get("priority")?,
        tags: r.try_get("tags")?,
        reminder_sent: r.try_get::<i64, _>("reminder_sent")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        archived_at: r.try_get("archived_at")?,
    })
}

pub async fn insert(conn: &mut Conn, a: &NewActionItem<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO action_items (id, user_id, session_id, title, description, due_date, \
         completed, priority, tags, reminder_sent, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, 0, $9, $9)",
    )
    .bind(a.id)
    .bind(a.user_id)
    .bind(a.session_id)
    .bind(a.title)
    .bind(a.description)
    .bind(a.due_date)
    .bind(a.priority)
    .bind(a.tags)
    .bind(a.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A person's items from one session, in creation order.
pub async fn list_for_session(
    conn: &mut Conn,
    user_id: &str,
    session_id: &str,
) -> Result<Vec<ActionItem>> {
    let rows = sqlx::query(
        "SELECT id, user_id, session_id, title, description, due_date, completed, completed_at, \
         priority, tags, reminder_sent, created_at, updated_at, archived_at FROM action_items \
         WHERE user_id = $1 AND session_id = $2 ORDER BY created_at, id",
    )
    .bind(user_id)
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Which of a person's items to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `open`, `completed`, `overdue`, `week` (due within 7 days), `archived`; anything else: all
    /// but archived.
    pub status: Option<String>,
    pub priority: Option<String>,
    pub tag: Option<String>,
}

/// A person's items, soonest due first (undated last), filtered. `now` decides overdue.
pub async fn list_for_user(
    conn: &mut Conn,
    user_id: &str,
    filter: &Filter,
    now: i64,
) -> Result<Vec<ActionItem>> {
    let rows = sqlx::query(
        "SELECT id, user_id, session_id, title, description, due_date, completed, completed_at, \
         priority, tags, reminder_sent, created_at, updated_at, archived_at FROM action_items \
         WHERE user_id = $1 ORDER BY CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date, created_at, id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let week = now + 7 * 86_400_000;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(items
        .into_iter()
        .filter(|a| match filter.status.as_deref() {
            Some("archived") => a.archived_at.is_some(),
            _ if a.archived_at.is_some() => false,
            Some("open") => !a.completed,
            Some("completed") => a.completed,
            Some("overdue") => !a.completed && a.due_date.is_some_and(|d| d < now),
            Some("week") => !a.completed && a.due_date.is_some_and(|d| d >= now && d <= week),
            _ => true,
        })
        .filter(|a| {
            filter
                .priority
                .as_deref()
                .is_none_or(|p| p.is_empty() || a.priority == p)
        })
        .filter(|a| {
            filter.tag.as_deref().is_none_or(|t| {
                t.is_empty()
                    || serde_json::from_str::<Vec<String>>(&a.tags)
                        .is_ok_and(|tags| tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
            })
        })
        .collect())
}

/// One of a person's items; another person's id is `None`.
pub async fn get(conn: &mut Conn, user_id: &str, id: &str) -> Result<Option<ActionItem>> {
    let row = sqlx::query(
        "SELECT id, user_id, session_id, title, description, due_date, completed, completed_at, \
         priority, tags, reminder_sent, created_at, updated_at, archived_at FROM action_items \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub struct Changes<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub due_date: Option<i64>,
    pub priority: &'a str,
    pub tags: &'a str,
}

/// Edits an item; a new due date re-arms its reminder.
pub async fn update(
    conn: &mut Conn,
    user_id: &str,
    id: &str,
    c: &Changes<'_>,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE action_items SET title = $3, description = $4, \
         reminder_sent = CASE WHEN due_date IS NOT DISTINCT FROM $5 THEN reminder_sent ELSE 0 END, \
         due_date = $5, priority = $6, tags = $7, updated_at = $8 WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .bind(c.title)
    .bind(c.description)
    .bind(c.due_date)
    .bind(c.priority)
    .bind(c.tags)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Marks the item done or not done: `None` when the user has no such item, `Some(false)` when
/// it already was (nothing changes: completing twice keeps the first completion time).
pub async fn set_completed(
    conn: &mut Conn,
    user_id: &str,
    id: &str,
    completed: bool,
    now: i64,
) -> Result<Option<bool>> {
    let done = sqlx::query(
        "UPDATE action_items SET completed = $3, completed_at = CASE WHEN $3 = 1 THEN $4 ELSE NULL END, \
         updated_at = $4 WHERE id = $1 AND user_id = $2 AND completed <> $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(i64::from(completed))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() > 0 {
        return Ok(Some(true));
    }
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM action_items WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(exists.map(|_| false))
}

pub async fn delete(conn: &mut Conn, user_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM action_items WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
