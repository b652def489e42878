//! Coaching sessions and their reflections (one row per turn).

use crate::{Conn, Result};
use coachflux_domain::paging::{Cursor, Page, PageRequest};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct CoachingSession {
    pub id: String,
    pub user_id: Option<String>,
    pub framework: String,
    pub step: String,
    /// The engine's state, JSON.
    pub state: String,
    pub is_anonymous: bool,
    pub anonymous_id: Option<String>,
    pub closed_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub status: String,
    pub completed_at: Option<i64>,
}

pub struct NewCoachingSession<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    pub framework: &'a str,
    pub step: &'a str,
    pub state: &'a str,
    pub anonymous_id: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct Reflection {
    pub id: String,
    pub session_id: String,
    pub step: String,
    pub user_input: String,
    /// The coach's reply and the fields captured so far, JSON.
    pub payload: String,
    pub created_at: i64,
}

macro_rules! session_columns {
    () => {
        "id, user_id, framework, step, state, is_anonymous, anonymous_id, closed_at, expires_at, \
         created_at, updated_at, status, completed_at"
    };
}

fn session_from_row(r: &AnyRow) -> Result<CoachingSession> {
    Ok(CoachingSession {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        framework: r.try_get("framework")?,
        step: r.try_get("step")?,
        state: r.try_get("state")?,
        is_anonymous: r.try_get::<i64, _>("is_anonymous")? != 0,
        anonymous_id: r.try_get("anonymous_id")?,
        closed_at: r.try_get("closed_at")?,
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        status: r.try_get("status")?,
        completed_at: r.try_get("completed_at")?,
    })
}

pub async fn insert(conn: &mut Conn, s: &NewCoachingSession<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO coaching_sessions (id, user_id, framework, step, state, is_anonymous, \
         anonymous_id, expires_at, created_at, updated_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 'active')",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.framework)
    .bind(s.step)
    .bind(s.state)
    .bind(i64::from(s.user_id.is_none()))
    .bind(s.anonymous_id)
    .bind(s.expires_at)
    .bind(s.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<CoachingSession>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        session_columns!(),
        " FROM coaching_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

/// Saves the engine state after a turn, if it is still `expected` (the state the change was
/// made from): `false` when another request changed the session meanwhile, and nothing is
/// written. `status` is active, paused or completed.
pub async fn save_state(
    conn: &mut Conn,
    id: &str,
    expected: &str,
    step: &str,
    state: &str,
    status: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE coaching_sessions SET step = $2, state = $3, status = $4, updated_at = $5 \
         WHERE id = $1 AND state = $6",
    )
    .bind(id)
    .bind(step)
    .bind(state)
    .bind(status)
    .bind(now)
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every step done: completed.
    Completed,
    /// Ended before it was finished: counted as abandoned.
    Abandoned,
}

/// Closes the session for good, if its state is still `expected` (see [`save_state`]).
pub async fn close(
    conn: &mut Conn,
    id: &str,
    expected: &str,
    state: &str,
    ending: Ending,
    now: i64,
) -> Result<bool> {
    let sql = match ending {
        Ending::Completed => {
            "UPDATE coaching_sessions SET state = $2, status = 'completed', closed_at = $3, \
             completed_at = $3, updated_at = $3 WHERE id = $1 AND state = $4"
        }
        Ending::Abandoned => {
            "UPDATE coaching_sessions SET state = $2, status = 'abandoned', closed_at = $3, \
             updated_at = $3 WHERE id = $1 AND state = $4"
        }
    };
    let done = sqlx::query(sql)
        .bind(id)
        .bind(state)
        .bind(now)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A member's sessions, newest first.
/// The id of the person's session `id` (or of their latest session when `id` is `None`), if
/// there is one: the check an action item's session needs, without reading the session.
pub async fn owned_session_id(
    conn: &mut Conn,
    user_id: &str,
    id: Option<&str>,
) -> Result<Option<String>> {
    Ok(match id {
        Some(id) => {
            sqlx::query_scalar("SELECT id FROM coaching_sessions WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT id FROM coaching_sessions WHERE user_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?
        }
    })
}

/// Whether the member has finished a session of `framework` before.
pub async fn has_completed(conn: &mut Conn, user_id: &str, framework: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT id FROM coaching_sessions \
         WHERE user_id = $1 AND framework = $2 AND status = 'completed' LIMIT 1",
    )
    .bind(user_id)
    .bind(framework)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

pub async fn list_for_user(
    conn: &mut Conn,
    user_id: &str,
    limit: i64,
) -> Result<Vec<CoachingSession>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        session_columns!(),
        " FROM coaching_sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(session_from_row).collect()
}

/// [`page`] for a member: `$1` user, `$2`/`$3` the cursor, `$4` the limit.
pub const PAGE_FOR_USER: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM coaching_sessions WHERE user_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4"
);

/// [`page`] for a visitor: `$1` visitor id, `$2`/`$3` the cursor, `$4` the limit, `$5` now.
pub const PAGE_FOR_VISITOR: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM coaching_sessions WHERE anonymous_id = $1 AND is_anonymous = 1 \
     AND expires_at > $5 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4"
);

/// One page of a member's (or a visitor's unexpired) sessions, newest first, strictly after
/// the `(created_at, id)` of the previous page's last row. Rows inserted meanwhile are newer and
/// never shift a page.
pub async fn page(
    conn: &mut Conn,
    owner: Owner<'_>,
    request: &PageRequest,
    now: i64,
) -> Result<Page<CoachingSession>> {
    let (at, id) = crate::newest_first_after(request);
    let rows = match owner {
        Owner::User(user_id) => {
            sqlx::query(PAGE_FOR_USER)
                .bind(user_id)
                .bind(at)
                .bind(id)
                .bind(request.fetch())
                .fetch_all(&mut *conn)
                .await?
        }
        Owner::Anonymous(anonymous_id) => {
            sqlx::query(PAGE_FOR_VISITOR)
                .bind(anonymous_id)
                .bind(at)
                .bind(id)
                .bind(request.fetch())
                .bind(now)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let rows = rows
        .iter()
        .map(session_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::of(rows, request, |s| {
        Cursor::new(&[s.created_at], &s.id)
    }))
}

/// Whose sessions to list.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    User(&'a str),
    Anonymous(&'a str),
}

/// Deletes a session with its reflections and action items (ON DELETE CASCADE).
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM coaching_sessions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The seed's `migrateAnonymousSession`: a visitor's sessions move into their account (user
/// set, no longer anonymous, no anonymous id, no expiry). Idempotent: a second run finds
/// nothing. Returns the ids moved.
pub async fn migrate_anonymous(
    conn: &mut Conn,
    anonymous_id: &str,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "UPDATE coaching_sessions SET user_id = $2, is_anonymous = 0, anonymous_id = NULL, \
         expires_at = NULL, updated_at = $3 \
         WHERE anonymous_id = $1 AND is_anonymous = 1 AND (expires_at IS NULL OR expires_at > $3) \
         RETURNING id",
    )
    .bind(anonymous_id)
    .bind(user_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("id")?))
        .collect()
}

pub async fn insert_reflection(
    conn: &mut Conn,
    id: &str,
    session_id: &str,
    step: &str,
    user_input: &str,
    payload: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO session_reflections (id, session_id, step, user_input, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(session_id)
    .bind(step)
    .bind(user_input)
    .bind(payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces a turn's payload (the coach's reply arrives after the person's words are saved).
pub async fn set_reflection_payload(conn: &mut Conn, id: &str, payload: &str) -> Result<()> {
    sqlx::query("UPDATE session_reflections SET payload = $2 WHERE id = $1")
        .bind(id)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A session's turns in the order they happened.
pub async fn reflections(conn: &mut Conn, session_id: &str) -> Result<Vec<Reflection>> {
    let rows = sqlx::query(
        "SELECT id, session_id, step, user_input, payload, created_at FROM session_reflections \
         WHERE session_id = $1 ORDER BY created_at, id",
    )
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Reflection {
                id: r.try_get("id")?,
                session_id: r.try_get("session_id")?,
                step: r.try_get("step")?,
                user_input: r.try_get("user_input")?,
                payload: r.try_get("payload")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
