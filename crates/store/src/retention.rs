//! The data-retention rules as bounded batches: each call changes at most `limit` rows in one
//! short statement, so a job never holds a long write lock. Jobs loop until a batch comes back
//! short.

use crate::{Conn, Result};
use sqlx::Row;

/// Deletes visitor sessions whose 24 hours are over, with their reflections (ON DELETE
/// CASCADE). A session moved into an account has no expiry and is never touched.
pub async fn delete_expired_anonymous_sessions(
    conn: &mut Conn,
    now: i64,
    limit: i64,
) -> Result<Vec<ExpiredSession>> {
    let rows = sqlx::query(
        "SELECT id, anonymous_id, framework, step, status FROM coaching_sessions \
         WHERE is_anonymous = 1 AND user_id IS NULL AND expires_at IS NOT NULL \
         AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut gone = Vec::with_capacity(rows.len());
    for row in rows {
        let s = ExpiredSession {
            id: row.try_get("id")?,
            anonymous_id: row.try_get("anonymous_id")?,
            framework: row.try_get("framework")?,
            step: row.try_get("step")?,
            finished: matches!(
                row.try_get::<String, _>("status")?.as_str(),
                "completed" | "abandoned"
            ),
        };
        sqlx::query("DELETE FROM coaching_sessions WHERE id = $1")
            .bind(&s.id)
            .execute(&mut *conn)
            .await?;
        gone.push(s);
    }
    Ok(gone)
}

/// A visitor session the expiry job deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredSession {
    pub id: String,
    pub anonymous_id: Option<String>,
    pub framework: String,
    pub step: String,
    /// Completed or ended before it expired (otherwise it was abandoned unfinished).
    pub finished: bool,
}

/// Archives items completed at or before `completed_before` (kept, hidden from default lists).
pub async fn archive_completed_actions(
    conn: &mut Conn,
    completed_before: i64,
    now: i64,
    limit: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE action_items SET archived_at = $2, updated_at = $2 WHERE id IN (\
         SELECT id FROM action_items WHERE completed = 1 AND archived_at IS NULL \
         AND completed_at IS NOT NULL AND completed_at <= $1 ORDER BY completed_at LIMIT $3)",
    )
    .bind(completed_before)
    .bind(now)
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// An item due soon whose reminder hasn't gone out, with what the email needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    pub id: String,
    pub title: String,
    pub due_date: i64,
    pub user_id: String,
    pub email: String,
    pub name: Option<String>,
    pub wants_email: bool,
    /// The person's time zone (an IANA name), for the day the reminder names.
    pub time_zone: Option<String>,
}

/// Open, unarchived items due in `(now, now + window_ms]` with no reminder sent yet, of
/// active accounts.
pub async fn items_due_for_reminder(
    conn: &mut Conn,
    now: i64,
    window_ms: i64,
    limit: i64,
) -> Result<Vec<DueItem>> {
    let rows = sqlx::query(
        "SELECT a.id, a.title, a.due_date, u.id AS user_id, u.email, u.name, \
         u.email_preferences_action_reminders AS wants, u.time_zone \
         FROM action_items a JOIN users u ON u.id = a.user_id \
         WHERE a.completed = 0 AND a.reminder_sent = 0 AND a.archived_at IS NULL \
         AND a.due_date IS NOT NULL AND a.due_date > $1 AND a.due_date <= $2 \
         AND u.disabled_at IS NULL ORDER BY a.due_date, a.id LIMIT $3",
    )
    .bind(now)
    .bind(now + window_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DueItem {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                due_date: r.try_get("due_date")?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                wants_email: r.try_get::<i64, _>("wants")? != 0,
                time_zone: r.try_get("time_zone")?,
            })
        })
        .collect()
}

/// Marks an item's reminder as sent; `false` when another run got there first.
pub async fn mark_reminder_sent(conn: &mut Conn, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE action_items SET reminder_sent = 1 WHERE id = $1 AND reminder_sent = 0",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewNotification<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub title: &'a str,
    pub message: &'a str,
    pub action_url: Option<&'a str>,
    pub now: i64,
}

pub async fn insert_notification(conn: &mut Conn, n: &NewNotification<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, type, title, message, action_url, read, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(n.id)
    .bind(n.user_id)
    .bind(n.kind)
    .bind(n.title)
    .bind(n.message)
    .bind(n.action_url)
    .bind(n.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Purges what has no use any more, `limit` rows per table per call: expired or used one-time
/// tokens, device sessions past either expiry (or revoked), delivered mail older than
/// `mail_before`, idempotency records older than `idempotency_before`, and idle rate-limit
/// counters. Returns the rows removed per table.
pub async fn purge_expired(
    conn: &mut Conn,
    now: i64,
    mail_before: i64,
    idempotency_before: i64,
    limit: i64,
) -> Result<Vec<(&'static str, u64)>> {
    let mut out = Vec::new();
    let statements: [(&'static str, &'static str, i64); 10] = [
        (
            "email_verifications",
            "DELETE FROM email_verifications WHERE id IN (SELECT id FROM email_verifications \
             WHERE expires_at <= $1 LIMIT $2)",
            now,
        ),
        (
            "password_resets",
            "DELETE FROM password_resets WHERE id IN (SELECT id FROM password_resets \
             WHERE expires_at <= $1 OR used = 1 LIMIT $2)",
            now,
        ),
        (
            "magic_links",
            "DELETE FROM magic_links WHERE id IN (SELECT id FROM magic_links \
             WHERE expires_at <= $1 OR used = 1 LIMIT $2)",
            now,
        ),
        (
            "two_factor_challenges",
            "DELETE FROM two_factor_challenges WHERE id IN (SELECT id FROM \
             two_factor_challenges WHERE expires_at <= $1 OR used = 1 LIMIT $2)",
            now,
        ),
        (
            "sessions",
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= $1 \
             OR absolute_expires_at <= $1 OR revoked_at IS NOT NULL OR is_active = 0 LIMIT $2)",
            now,
        ),
        (
            "email_outbox",
            "DELETE FROM email_outbox WHERE id IN (SELECT id FROM email_outbox \
             WHERE status = 'sent' AND COALESCE(sent_at, created_at) <= $1 LIMIT $2)",
            mail_before,
        ),
        (
            // Expired personal API tokens can never authenticate again.
            "api_tokens",
            "DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens \
             WHERE expires_at <= $1 OR revoked_at <= $1 LIMIT $2)",
            now,
        ),
        (
            "job_runs",
            "DELETE FROM job_runs WHERE id IN (SELECT id FROM job_runs \
             WHERE started_at <= $1 AND outcome <> 'running' LIMIT $2)",
            now - 90 * 86_400_000,
        ),
        (
            "idempotency_keys",
            "DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM idempotency_keys \
             WHERE created_at <= $1 LIMIT $2)",
            idempotency_before,
        ),
        (
            "rate_limits",
            "DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits \
             WHERE updated_at <= $1 AND (blocked_until IS NULL OR blocked_until <= $1) LIMIT $2)",
            now - 2 * 86_400_000,
        ),
    ];
    for (table, sql, cutoff) in statements {
        let done = sqlx::query(sql)
            .bind(cutoff)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
        out.push((table, done.rows_affected()));
    }
    Ok(out)
}
