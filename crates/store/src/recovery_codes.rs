//! The `totp_recovery_codes` table: single-use codes that stand in for a TOTP code when the
//! authenticator is lost. Only SHA-256 hex digests are stored (callers hash the codes).

use crate::{Conn, Result};
use coachflux_domain::ids::new_id;
use sqlx::{Connection, Row};

/// Replaces the user's codes with a new set: generating codes invalidates every older one,
/// used or not. Runs in its own transaction (a savepoint when `conn` already is one), so a
/// failure never leaves the user with no codes or a mix of both sets.
pub async fn replace_all(
    conn: &mut Conn,
    user_id: &str,
    code_hashes: &[String],
    now: i64,
) -> Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query("DELETE FROM totp_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for code_hash in code_hashes {
        sqlx::query(
            "INSERT INTO totp_recovery_codes (id, user_id, code_hash, used_at, created_at) \
             VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(code_hash.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Uses one of the user's codes. One conditional UPDATE, so a code works once even when two
/// sign-ins race with it; `false` when it is unknown, someone else's, or already used.
pub async fn consume(conn: &mut Conn, user_id: &str, code_hash: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE totp_recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// How many codes the user has left (the security page warns when few remain).
pub async fn count_unused(conn: &mut Conn, user_id: &str) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM totp_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}
