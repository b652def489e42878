//! The `email_outbox` table: a transactional outbox.
//!
//! Use cases [`enqueue`] inside their own transaction, so an email exists if and only if the
//! change that caused it committed. A delivery worker (one or more per cluster) then
//! [`claim_due`]s batches under a lease, sends them, and records the outcome. A worker that
//! dies mid-send leaves rows in `sending`; once their lease has passed another worker claims
//! them again (delivery is at least once).

use crate::{Conn, Result};
use coachflux_domain::paging::{Cursor, Page, PageRequest};
use sqlx::Row;
use sqlx::any::AnyRow;

pub struct NewEmail<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    pub to: &'a str,
    pub template: &'a str,
    pub subject: &'a str,
    /// Sealed by the caller: bodies carry one-time links.
    pub body_text: &'a str,
    pub body_html: &'a str,
    /// The plain text with those links withheld, for staff.
    pub body_redacted: &'a str,
    /// Account email (verification, reset, alerts) as opposed to opt-in mail.
    pub transactional: bool,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct OutboxEmail {
    pub id: String,
    pub user_id: Option<String>,
    pub to_address: String,
    pub template: String,
    pub subject: String,
    /// Sealed (see [`NewEmail::body_text`]); mail queued by older versions may be plain.
    pub body_text: String,
    pub body_html: String,
    pub body_redacted: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub transactional: bool,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The selected columns, as a macro so queries stay `&'static str` literals.
macro_rules! columns {
    () => {
        "id, user_id, to_address, template, subject, body_text, body_html, body_redacted, \
         status, attempts, next_attempt_at, locked_until, last_error, transactional, created_at, \
         sent_at"
    };
}

/// When a row may be claimed at `$1`: pending and due, or stuck in `sending` by a worker whose
/// lease ran out.
macro_rules! due {
    () => {
        "((status = 'pending' AND next_attempt_at <= $1) \
         OR (status = 'sending' AND locked_until < $1))"
    };
}

/// Queues an email for delivery, due at once. Run it on the caller's transaction.
pub async fn enqueue(conn: &mut Conn, e: &NewEmail<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_outbox (id, user_id, to_address, template, subject, body_text, \
         body_html, body_redacted, status, attempts, next_attempt_at, transactional, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $10, 'pending', 0, $8, $9, $8)",
    )
    .bind(e.id)
    .bind(e.user_id)
    .bind(e.to)
    .bind(e.template)
    .bind(e.subject)
    .bind(e.body_text)
    .bind(e.body_html)
    .bind(e.now)
    .bind(i64::from(e.transactional))
    .bind(e.body_redacted)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes up to `limit` due emails for this worker until `now + lease_ms`, counting an attempt
/// on each. One UPDATE: the subquery picks the oldest due rows, and the due condition is
/// repeated on the rows being updated so that, on PostgreSQL, a concurrent claimer that
/// waited on a row lock re-checks the row and skips it once another worker took it. On
/// SQLite writers are serialised anyway. Returned oldest first.
pub async fn claim_due(
    conn: &mut Conn,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<OutboxEmail>> {
    let rows = sqlx::query(concat!(
        "UPDATE email_outbox SET status = 'sending', locked_until = $1 + $2, \
         attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM email_outbox WHERE ",
        due!(),
        " ORDER BY next_attempt_at, id LIMIT $3) AND ",
        due!(),
        " RETURNING ",
        columns!()
    ))
    .bind(now)
    .bind(lease_ms)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut claimed = rows
        .iter()
        .map(email_from_row)
        .collect::<Result<Vec<_>>>()?;
    // RETURNING follows no ORDER BY; send in the order the rows became due.
    claimed.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
    Ok(claimed)
}

/// Records a delivery. Only a row still `sending` changes, so a worker whose lease expired
/// cannot overwrite the outcome recorded by the worker that took the row over.
pub async fn mark_sent(conn: &mut Conn, id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE email_outbox SET status = 'sent', sent_at = $2, locked_until = NULL \
         WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts a failed attempt back in the queue for `next_attempt_at` (the caller's backoff), keeping
/// the error for operators. Only a row still `sending` changes (see [`mark_sent`]).
pub async fn mark_retry(
    conn: &mut Conn,
    id: &str,
    next_attempt_at: i64,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE email_outbox SET status = 'pending', next_attempt_at = $2, locked_until = NULL, \
         last_error = $3 WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(next_attempt_at)
    .bind(error)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Gives up on an email for good (permanent rejection, or out of attempts). Only a row still
/// `sending` changes (see [`mark_sent`]).
pub async fn mark_failed(conn: &mut Conn, id: &str, error: &str) -> Result<()> {
    sqlx::query(
        "UPDATE email_outbox SET status = 'failed', locked_until = NULL, last_error = $2 \
         WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(error)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<OutboxEmail>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM email_outbox WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(email_from_row).transpose()
}

/// One page of the emails, newest first (operators' view).
pub async fn page(conn: &mut Conn, request: &PageRequest) -> Result<Page<OutboxEmail>> {
    let (at, id) = crate::newest_first_after(request);
    let rows = sqlx::query(PAGE)
        .bind(at)
        .bind(id)
        .bind(request.fetch())
        .fetch_all(&mut *conn)
        .await?;
    let rows = rows
        .iter()
        .map(email_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::of(rows, request, |e| {
        Cursor::new(&[e.created_at], &e.id)
    }))
}

/// [`page`]: `$1`/`$2` the cursor, `$3` the limit.
pub const PAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM email_outbox WHERE (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT $3"
);

/// Every email to one address, newest first.
pub async fn list_for_address(conn: &mut Conn, to: &str) -> Result<Vec<OutboxEmail>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM email_outbox WHERE to_address = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(email_from_row).collect()
}

fn email_from_row(row: &AnyRow) -> Result<OutboxEmail> {
    Ok(OutboxEmail {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        to_address: row.try_get("to_address")?,
        template: row.try_get("template")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        body_redacted: row.try_get("body_redacted")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        locked_until: row.try_get("locked_until")?,
        last_error: row.try_get("last_error")?,
        transactional: row.try_get::<i64, _>("transactional")? != 0,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}
