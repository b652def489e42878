//! Action items: what a person committed to, with due dates and reminders.

use crate::{Conn, Result};
use coachflux_domain::paging::{Cursor, Page, PageRequest};
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

/// How a person's items are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first, by `(created_at, id)`: the API's order.
    Newest,
    /// Soonest due first, then the undated ones, oldest first: the page's order. A cursor's
    /// keys are `(due date or UNDATED, created_at)`.
    Due,
}

/// The due-date key of an undated item in a [`Order::Due`] cursor.
pub const UNDATED: i64 = i64::MAX;

macro_rules! columns {
    () => {
        "id, user_id, session_id, title, description, due_date, completed, completed_at, \
         priority, tags, reminder_sent, created_at, updated_at, archived_at"
    };
}

/// The filter as SQL over `$2` (status), `$3` (priority, '' for any), `$4` (a LIKE pattern for
/// the tag, '' for any), `$5` (now) and `$6` (a week from now).
macro_rules! filtered {
    () => {
        " FROM action_items WHERE user_id = $1 \
         AND (($2 = 'archived') = (archived_at IS NOT NULL)) \
         AND ($2 <> 'open' OR completed = 0) AND ($2 <> 'completed' OR completed = 1) \
         AND ($2 <> 'overdue' OR (completed = 0 AND due_date < $5)) \
         AND ($2 <> 'week' OR (completed = 0 AND due_date >= $5 AND due_date <= $6)) \
         AND ($3 = '' OR priority = $3) \
         AND ($4 = '' OR lower(tags) LIKE $4 ESCAPE '!')"
    };
}

/// The parameters of `filtered!`.
fn filter_params(filter: &Filter) -> (&'static str, String, String) {
    let status = match filter.status.as_deref() {
        Some("archived") => "archived",
        Some("open") => "open",
        Some("completed") => "completed",
        Some("overdue") => "overdue",
        Some("week") => "week",
        _ => "",
    };
    let priority = filter.priority.clone().unwrap_or_default();
    // Tags are a JSON array of strings: an element matches when the quoted tag appears in it.
    // Case is ignored for ASCII letters (the way the tags are compared everywhere).
    let tag = match filter
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => String::new(),
        Some(t) => {
            let quoted = serde_json::to_string(&t.to_ascii_lowercase()).unwrap_or_default();
            let mut pattern = String::from("%");
            for c in quoted.chars() {
                if matches!(c, '%' | '_' | '!') {
                    pattern.push('!');
                }
                pattern.push(c);
            }
            pattern.push('%');
            pattern
        }
    };
    (status, priority, tag)
}

/// One page of a person's items in `order`, filtered, after `request.after`. `now` decides
/// overdue. Every filter is SQL; only the page (and one row more) is read.
pub async fn page(
    conn: &mut Conn,
    user_id: &str,
    filter: &Filter,
    order: Order,
    request: &PageRequest,
    now: i64,
) -> Result<Page<ActionItem>> {
    let params = filter_params(filter);
    let week = now + 7 * 86_400_000;
    let query = Query {
        user_id,
        filter: (params.0, &params.1, &params.2),
        now,
        week,
    };
    let rows = match order {
        Order::Newest => {
            let (at, id) = crate::newest_first_after(request);
            query
                .fetch(conn, Part::Newest, &[at], &id, request.fetch())
                .await?
        }
        Order::Due => {
            let (due, at, id) = match &request.after {
                Some(c) => (c.key(0, i64::MIN), c.key(1, i64::MIN), c.id.clone()),
                None => (i64::MIN, i64::MIN, String::new()),
            };
            let mut rows = Vec::new();
            if due != UNDATED {
                rows = query
                    .fetch(conn, Part::Dated, &[due, at], &id, request.fetch())
                    .await?;
            }
            let wanted = request.fetch() - i64::try_from(rows.len()).unwrap_or(0);
            if wanted > 0 {
                let (at, id) = if due == UNDATED {
                    (at, id)
                } else {
                    (i64::MIN, String::new())
                };
                rows.extend(query.fetch(conn, Part::Undated, &[at], &id, wanted).await?);
            }
            rows
        }
    };
    Ok(Page::of(rows, request, |a| match order {
        Order::Newest => Cursor::new(&[a.created_at], &a.id),
        Order::Due => Cursor::new(&[a.due_date.unwrap_or(UNDATED), a.created_at], &a.id),
    }))
}

/// The statements behind [`page`]: newest first, or the dated then the undated part of the
/// due order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Newest,
    Dated,
    Undated,
}

/// One of [`page`]'s statements. Parameters: `$1` user, `$2`..`$6` the filter (see
/// `filtered!`), then the cursor's keys and id, then the limit.
pub fn page_sql(part: Part) -> &'static str {
    match part {
        Part::Newest => concat!(
            "SELECT ",
            columns!(),
            filtered!(),
            " AND (created_at, id) < ($7, $8) ORDER BY created_at DESC, id DESC LIMIT $9"
        ),
        Part::Dated => concat!(
            "SELECT ",
            columns!(),
            filtered!(),
            " AND due_date IS NOT NULL AND (due_date, created_at, id) > ($7, $8, $9) \
             ORDER BY due_date, created_at, id LIMIT $10"
        ),
        Part::Undated => concat!(
            "SELECT ",
            columns!(),
            filtered!(),
            " AND due_date IS NULL AND (created_at, id) > ($7, $8) ORDER BY created_at, id LIMIT $9"
        ),
    }
}

/// The filter's side of [`page`]'s statements.
struct Query<'a> {
    user_id: &'a str,
    filter: (&'a str, &'a str, &'a str),
    now: i64,
    week: i64,
}

impl Query<'_> {
    async fn fetch(
        &self,
        conn: &mut Conn,
        part: Part,
        keys: &[i64],
        id: &str,
        limit: i64,
    ) -> Result<Vec<ActionItem>> {
        let (status, priority, tag) = self.filter;
        let mut q = sqlx::query(page_sql(part))
            .bind(self.user_id)
            .bind(status)
            .bind(priority)
            .bind(tag)
            .bind(self.now)
            .bind(self.week);
        for k in keys {
            q = q.bind(*k);
        }
        let rows = q.bind(id).bind(limit).fetch_all(&mut *conn).await?;
        rows.iter().map(from_row).collect()
    }
}

/// A person's items with a due date that aren't archived, soonest first: the calendar feed.
pub async fn dated_for_user(conn: &mut Conn, user_id: &str) -> Result<Vec<ActionItem>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM action_items WHERE user_id = $1 AND due_date IS NOT NULL \
         AND archived_at IS NULL ORDER BY due_date, created_at, id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
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
