//! `user_metrics`: per-person progress figures. Rare changes (a session completed, deleted or
//! adopted, an item deleted, data erased) recompute them from the rows they summarise; the
//! frequent ones (an item created or ticked off) add to the two action counters in one
//! statement, so their cost does not grow with the person's history. Both agree: a test runs a
//! sequence of changes and compares the counters with a recomputation.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserMetrics {
    pub sessions_completed: i64,
    pub actions_created: i64,
    pub actions_completed: i64,
    pub frameworks_used: Vec<String>,
    pub last_session_at: Option<i64>,
    /// Seconds spent in completed sessions.
    pub total_time_spent: i64,
    pub updated_at: i64,
}

/// The longest pause between two moments of a session that counts as time spent in it
/// (15 minutes; written into the query as 900000).
pub const PAUSE_MS: i64 = 15 * 60 * 1000;

pub async fn recompute(conn: &mut Conn, user_id: &str, now: i64) -> Result<UserMetrics> {
    let s = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(closed_at) AS last \
         FROM coaching_sessions WHERE user_id = $1 AND status = 'completed' AND closed_at IS NOT NULL",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    // Time spent coaching, not time a session stayed open: the gaps between the moments a
    // completed session moved (its start, each answer, its close), each counted up to
    // `PAUSE_MS`, so a session left open overnight counts the time the person was in it.
    let active_ms: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(CASE WHEN gap > 900000 THEN 900000 ELSE gap END), 0) AS BIGINT) \
         FROM (SELECT t - LAG(t) OVER (PARTITION BY sid ORDER BY t) AS gap FROM ( \
           SELECT id AS sid, created_at AS t FROM coaching_sessions \
             WHERE user_id = $1 AND status = 'completed' AND closed_at IS NOT NULL \
           UNION ALL SELECT id, closed_at FROM coaching_sessions \
             WHERE user_id = $1 AND status = 'completed' AND closed_at IS NOT NULL \
           UNION ALL SELECT r.session_id, r.created_at FROM session_reflections r \
             JOIN coaching_sessions c ON c.id = r.session_id \
             WHERE c.user_id = $1 AND c.status = 'completed' AND c.closed_at IS NOT NULL \
         ) moments) gaps",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let frameworks: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT framework FROM coaching_sessions \
         WHERE user_id = $1 AND status = 'completed' ORDER BY framework",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    // Created counts every item ever made (events outlive deleted items); completed is now.
    let created: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE user_id = $1 AND event_name = 'action_item_created'",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let completed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM action_items WHERE user_id = $1 AND completed = 1",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let m = UserMetrics {
        sessions_completed: s.try_get("n")?,
        actions_created: created,
        actions_completed: completed,
        frameworks_used: frameworks,
        last_session_at: s.try_get("last")?,
        total_time_spent: active_ms / 1_000,
        updated_at: now,
    };
    let used = serde_json::to_string(&m.frameworks_used).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO user_metrics (id, user_id, sessions_completed, actions_created, actions_completed, \
         frameworks_used, last_session_at, total_time_spent, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id) DO UPDATE SET sessions_completed = excluded.sessions_completed, \
         actions_created = excluded.actions_created, actions_completed = excluded.actions_completed, \
         frameworks_used = excluded.frameworks_used, last_session_at = excluded.last_session_at, \
         total_time_spent = excluded.total_time_spent, updated_at = excluded.updated_at",
    )
    .bind(coachflux_domain::ids::new_id())
    .bind(user_id)
    .bind(m.sessions_completed)
    .bind(m.actions_created)
    .bind(m.actions_completed)
    .bind(&used)
    .bind(m.last_session_at)
    .bind(m.total_time_spent)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(m)
}

/// Adds to a person's action counters (`created` new items, `completed` items ticked off, or
/// un-ticked when negative) in one statement; the first change creates the row.
pub async fn count_actions(
    conn: &mut Conn,
    user_id: &str,
    created: i64,
    completed: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_metrics (id, user_id, sessions_completed, actions_created, actions_completed, \
         frameworks_used, last_session_at, total_time_spent, updated_at) \
         VALUES ($1, $2, 0, $3, $4, '[]', NULL, 0, $5) \
         ON CONFLICT (user_id) DO UPDATE SET \
         actions_created = user_metrics.actions_created + excluded.actions_created, \
         actions_completed = user_metrics.actions_completed + excluded.actions_completed, \
         updated_at = excluded.updated_at",
    )
    .bind(coachflux_domain::ids::new_id())
    .bind(user_id)
    .bind(created)
    .bind(completed)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Completion times of a person's completed sessions since `since`, oldest first.
pub async fn completions_since(conn: &mut Conn, user_id: &str, since: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT closed_at FROM coaching_sessions WHERE user_id = $1 AND status = 'completed' \
         AND closed_at >= $2 ORDER BY closed_at",
    )
    .bind(user_id)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

/// How many completed sessions used each framework.
pub async fn framework_counts(conn: &mut Conn, user_id: &str) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT framework, COUNT(*) AS n FROM coaching_sessions WHERE user_id = $1 \
         AND status = 'completed' GROUP BY framework ORDER BY n DESC, framework",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("framework")?, r.try_get("n")?)))
        .collect()
}

/// The stored figures, if any were computed yet.
pub async fn get(conn: &mut Conn, user_id: &str) -> Result<Option<UserMetrics>> {
    let row = sqlx::query(
        "SELECT sessions_completed, actions_created, actions_completed, frameworks_used, \
         last_session_at, total_time_spent, updated_at FROM user_metrics WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(UserMetrics {
            sessions_completed: r.try_get("sessions_completed")?,
            actions_created: r.try_get("actions_created")?,
            actions_completed: r.try_get("actions_completed")?,
            frameworks_used: crate::json_column(
                "frameworks_used",
                &r.try_get::<String, _>("frameworks_used")?,
            )?,
            last_session_at: r.try_get("last_session_at")?,
            total_time_spent: r.try_get("total_time_spent")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}
