//! `Idempotency-Key` records: the first response to a create request, replayed when the same
//! owner sends the same key again.

use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// SHA-256 hex of method, path and body of the first request.
    pub request_hash: String,
    /// `None` while the first request is still being handled.
    pub response: Option<(u16, String)>,
}

/// Claims `key` for a request; `Ok(None)` when it was free (the caller now owns it),
/// `Ok(Some(stored))` when the key was used before.
pub async fn claim(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    user_id: Option<&str>,
    key: &str,
    request_hash: &str,
    now: i64,
) -> Result<Option<Stored>> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (id, owner, user_id, idem_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, idem_key) DO NOTHING",
    )
    .bind(id)
    .bind(owner)
    .bind(user_id)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys \
         WHERE owner = $1 AND idem_key = $2",
    )
    .bind(owner)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let status: Option<i64> = row.try_get("response_status")?;
    let body: Option<String> = row.try_get("response_body")?;
    Ok(Some(Stored {
        request_hash: row.try_get("request_hash")?,
        response: status
            .zip(body)
            .map(|(s, b)| (u16::try_from(s).unwrap_or(500), b)),
    }))
}

/// Stores the response of the request that claimed the key, and the id of what it created.
pub async fn complete(
    conn: &mut Conn,
    owner: &str,
    key: &str,
    status: u16,
    body: &str,
    resource_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $3, response_body = $4, resource_id = $5 \
         WHERE owner = $1 AND idem_key = $2",
    )
    .bind(owner)
    .bind(key)
    .bind(i64::from(status))
    .bind(body)
    .bind(resource_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Frees a key whose request failed, so the client may retry with it.
pub async fn release(conn: &mut Conn, owner: &str, key: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE owner = $1 AND idem_key = $2 \
         AND response_status IS NULL",
    )
    .bind(owner)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Frees every key whose recorded result created the resource `id`, once that resource is
/// deleted: replaying it would hand out something that no longer exists.
pub async fn forget_resource(conn: &mut Conn, id: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE resource_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
