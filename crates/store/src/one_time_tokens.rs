//! Single-use links sent by email: `email_verifications`, `password_resets`, `magic_links`.
//!
//! The `token` columns hold the SHA-256 hex of the secret in the link (callers hash it), so a
//! database leak hands out no usable link. Each consume is one conditional
//! `UPDATE ... RETURNING`: the row flips from unused to used in the same statement that checks
//! it, so two concurrent clicks on one link cannot both succeed, on either engine.

use crate::{Conn, Result};
use sqlx::Row;

/// Stores a verification for `email` (the account's address, or the new one during an email
/// change).
pub async fn insert_email_verification(
    conn: &mut Conn,
    id: &str,
    user_id: &str,
    token_hash: &str,
    email: &str,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_verifications (id, user_id, token, expires_at, verified, created_at, \
         email) VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(now)
    .bind(email)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses a verification link once: the `(user_id, email)` it verifies, or `None` when the link
/// is unknown, expired or already used.
pub async fn consume_email_verification(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "UPDATE email_verifications SET verified = 1 \
         WHERE token = $1 AND verified = 0 AND expires_at > $2 RETURNING user_id, email",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get("user_id")?, r.try_get("email")?)))
        .transpose()
}

pub async fn insert_password_reset(
    conn: &mut Conn,
    id: &str,
    user_id: &str,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO password_resets (id, user_id, token, expires_at, used, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The user a reset link belongs to, if it is still usable, without using it up: the reset
/// form is shown on GET and only a POST consumes the link.
pub async fn peek_password_reset(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT user_id FROM password_resets WHERE token = $1 AND used = 0 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("user_id")).transpose()?)
}

/// Uses a reset link once: its user, or `None` when unknown, expired or already used.
pub async fn consume_password_reset(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "UPDATE password_resets SET used = 1 \
         WHERE token = $1 AND used = 0 AND expires_at > $2 RETURNING user_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("user_id")).transpose()?)
}

/// Burns every outstanding reset link of the user, so older emails stop working once the
/// password changed (by a reset or otherwise).
pub async fn invalidate_password_resets(conn: &mut Conn, user_id: &str) -> Result<()> {
    sqlx::query("UPDATE password_resets SET used = 1 WHERE user_id = $1 AND used = 0")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores a sign-in link bound to the requesting browser (`browser_binding` is the SHA-256 hex
/// of a cookie nonce), so a link intercepted from the mailbox is useless elsewhere.
pub async fn insert_magic_link(
    conn: &mut Conn,
    id: &str,
    user_id: &str,
    token_hash: &str,
    browser_binding: &str,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO magic_links (id, user_id, token, expires_at, used, created_at, \
         browser_binding) VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(now)
    .bind(browser_binding)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Uses a sign-in link once, only from the browser that asked for it. A wrong binding leaves
/// the link untouched (opening it in another browser must not burn it for the right one).
pub async fn consume_magic_link(
    conn: &mut Conn,
    token_hash: &str,
    browser_binding: &str,
    now: i64,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "UPDATE magic_links SET used = 1 \
         WHERE token = $1 AND browser_binding = $2 AND used = 0 AND expires_at > $3 \
         RETURNING user_id",
    )
    .bind(token_hash)
    .bind(browser_binding)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("user_id")).transpose()?)
}
