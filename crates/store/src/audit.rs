//! The `audit_log` table: security-relevant events (sign-ins, password and 2FA changes, staff
//! actions). Append-only from the application's point of view; rows outlive the user they
//! describe (`user_id` becomes NULL when the account is deleted).

use crate::{Conn, Result};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: String,
    /// Whom the event is about.
    pub user_id: Option<String>,
    /// Who did it: the user themselves, a staff member, or nobody (the system).
    pub actor_id: Option<String>,
    pub action: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object; never holds secrets.
    pub details: String,
    pub created_at: i64,
}

pub struct NewAudit<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// A JSON object (callers serialise it); never put secrets in it.
    pub details: &'a str,
    pub now: i64,
}

/// The selected columns, as a macro so queries stay `&'static str` literals.
macro_rules! columns {
    () => {
        "id, user_id, actor_id, action, ip, user_agent, details, created_at"
    };
}

/// Appends an event. Run it on the transaction of the change it records, so the log never
/// claims something that was rolled back.
pub async fn record(conn: &mut Conn, a: &NewAudit<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, user_id, actor_id, action, ip, user_agent, details, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id)
    .bind(a.user_id)
    .bind(a.actor_id)
    .bind(a.action)
    .bind(a.ip)
    .bind(a.user_agent)
    .bind(a.details)
    .bind(a.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The latest events about one user, newest first (their security page, staff review).
pub async fn list_for_user(conn: &mut Conn, user_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM audit_log WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The latest events of one kind, newest first.
pub async fn list_by_action(conn: &mut Conn, action: &str, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM audit_log WHERE action = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(action)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        actor_id: row.try_get("actor_id")?,
        action: row.try_get("action")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        details: row.try_get("details")?,
        created_at: row.try_get("created_at")?,
    })
}
