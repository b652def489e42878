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
