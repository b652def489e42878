//! `llm_calls`: one row per model call (never the prompt or the answer).

use crate::{Conn, Result};
use sqlx::Row;

pub struct NewCall<'a> {
    pub id: &'a str,
    pub session_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub anonymous_key: Option<&'a str>,
    /// turn, repair, report or check.
    pub purpose: &'a str,
    pub model: &'a str,
    pub prompt_version: &'a str,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: i64,
    /// ok, invalid, guarded, timeout, http_error or unreachable.
    pub outcome: &'a str,
    pub now: i64,
}

pub async fn insert(conn: &mut Conn, c: &NewCall<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO llm_calls (id, session_id, user_id, anonymous_key, purpose, model, \
         prompt_version, prompt_tokens, completion_tokens, latency_ms, outcome, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(c.id)
    .bind(c.session_id)
    .bind(c.user_id)
    .bind(c.anonymous_key)
    .bind(c.purpose)
    .bind(c.model)
    .bind(c.prompt_version)
    .bind(c.prompt_tokens)
    .bind(c.completion_tokens)
    .bind(c.latency_ms)
    .bind(c.outcome)
    .bind(c.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A visitor's model calls (by the hash of their visitor id) become the account's when they
/// sign up or in: they count against its budget, and go with its erasure.
pub async fn adopt_anonymous(conn: &mut Conn, anonymous_key: &str, user_id: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE llm_calls SET user_id = $2, anonymous_key = NULL \
         WHERE anonymous_key = $1 AND user_id IS NULL",
    )
    .bind(anonymous_key)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Calls made for a member (or, by `anonymous_key`, a visitor) since `since`.
pub async fn count_since(
    conn: &mut Conn,
    user_id: Option<&str>,
    anonymous_key: Option<&str>,
    since: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM llm_calls WHERE created_at >= $3 \
         AND ((user_id = $1) OR (user_id IS NULL AND anonymous_key = $2))",
    )
    .bind(user_id)
    .bind(anonymous_key)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// Model usage totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: i64,
}

/// One session's model usage, for the staff page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUsage {
    pub session_id: String,
    pub framework: String,
    pub totals: Totals,
    pub failures: i64,
    pub last_call_at: i64,
}

/// Sessions with model calls, most recent first.
pub async fn recent_sessions(conn: &mut Conn, limit: i64) -> Result<Vec<SessionUsage>> {
    let rows = sqlx::query(
        "SELECT l.session_id, s.framework, COUNT(*) AS calls, \
         CAST(COALESCE(SUM(l.prompt_tokens), 0) AS BIGINT) AS p, \
         CAST(COALESCE(SUM(l.completion_tokens), 0) AS BIGINT) AS c, \
         CAST(COALESCE(SUM(l.latency_ms), 0) AS BIGINT) AS lat, \
         CAST(SUM(CASE WHEN l.outcome = 'ok' THEN 0 ELSE 1 END) AS BIGINT) AS failures, \
         MAX(l.created_at) AS last_at \
         FROM llm_calls l JOIN coaching_sessions s ON s.id = l.session_id \
         GROUP BY l.session_id, s.framework ORDER BY last_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionUsage {
                session_id: r.try_get("session_id")?,
                framework: r.try_get("framework")?,
                totals: Totals {
                    calls: r.try_get("calls")?,
                    prompt_tokens: r.try_get("p")?,
                    completion_tokens: r.try_get("c")?,
                    latency_ms: r.try_get("lat")?,
                },
                failures: r.try_get("failures")?,
                last_call_at: r.try_get("last_at")?,
            })
        })
        .collect()
}
