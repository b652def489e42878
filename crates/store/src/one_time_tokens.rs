//! Single-use links sent by email (`email_verifications`, `password_resets`, `magic_links`) and
//! second-factor challenges (`two_factor_challenges`).
//!
//! The `token` columns hold the SHA-256 hex of the secret in the link (callers hash it), so a
//! database leak hands out no usable link. Each consume is one conditional
//! `UPDATE ... RETURNING`: the row flips from unused to used in the same statement that checks
//! it, so two concurrent clicks on one link cannot both succeed, on either engine.

use crate::{Conn, Result};
use sqlx::Row;

/// A verification link to store.
pub struct NewEmailVerification<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub token_hash: &'a str,
    /// The account's address, or the new one during an email change.
    pub email: &'a str,
    /// SHA-256 hex of a cookie nonce: the link also signs in the browser holding it (sign-up).
    pub browser_binding: Option<&'a str>,
    pub expires_at: i64,
    pub now: i64,
}

pub async fn insert_email_verification(
    conn: &mut Conn,
    v: &NewEmailVerification<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_verifications (id, user_id, token, expires_at, verified, created_at, \
         email, browser_binding) VALUES ($1, $2, $3, $4, 0, $5, $6, $7)",
    )
    .bind(v.id)
    .bind(v.user_id)
    .bind(v.token_hash)
    .bind(v.expires_at)
    .bind(v.now)
    .bind(v.email)
    .bind(v.browser_binding)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A used verification link: whose, which address, and the browser binding it was sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedVerification {
    pub user_id: String,
    pub email: String,
    pub browser_binding: Option<String>,
}

/// Uses a verification link once, or `None` when the link is unknown, expired or already used.
pub async fn consume_email_verification(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<UsedVerification>> {
    let row = sqlx::query(
        "UPDATE email_verifications SET verified = 1 \
         WHERE token = $1 AND verified = 0 AND expires_at > $2 \
         RETURNING user_id, email, browser_binding",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(UsedVerification {
            user_id: r.try_get("user_id")?,
            email: r.try_get("email")?,
            browser_binding: r.try_get("browser_binding")?,
        })
    })
    .transpose()
}

/// Burns the user's pending email changes (links to an address other than `current_email`):
/// once the password changes, a change requested before it must not complete.
pub async fn invalidate_email_changes(
    conn: &mut Conn,
    user_id: &str,
    current_email: &str,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE email_verifications SET verified = 1 \
         WHERE user_id = $1 AND verified = 0 AND email <> $2",
    )
    .bind(user_id)
    .bind(current_email)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Burns the user's unused sign-in links.
pub async fn invalidate_magic_links(conn: &mut Conn, user_id: &str) -> Result<u64> {
    let done = sqlx::query("UPDATE magic_links SET used = 1 WHERE user_id = $1 AND used = 0")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// A sign-in waiting for its second factor.
pub struct NewTwoFactorChallenge<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub method: &'a str,
    pub remember: bool,
    pub expires_at: i64,
    pub now: i64,
}

pub async fn insert_two_factor_challenge(
    conn: &mut Conn,
    c: &NewTwoFactorChallenge<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO two_factor_challenges (id, user_id, token, method, remember, expires_at, \
         used, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(c.id)
    .bind(c.user_id)
    .bind(c.token_hash)
    .bind(c.method)
    .bind(i64::from(c.remember))
    .bind(c.expires_at)
    .bind(c.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A usable challenge: whose it is, how the first factor was proved, "remember me".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorChallenge {
    pub user_id: String,
    pub method: String,
    pub remember: bool,
}

fn challenge_from_row(r: &sqlx::any::AnyRow) -> Result<TwoFactorChallenge> {
    Ok(TwoFactorChallenge {
        user_id: r.try_get("user_id")?,
        method: r.try_get("method")?,
        remember: r.try_get::<i64, _>("remember")? != 0,
    })
}

/// The challenge, if it is still usable, without using it.
pub async fn peek_two_factor_challenge(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<TwoFactorChallenge>> {
    let row = sqlx::query(
        "SELECT user_id, method, remember FROM two_factor_challenges \
         WHERE token = $1 AND used = 0 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(challenge_from_row).transpose()
}

/// Uses a challenge once (the second factor was right): `None` when it is unknown, expired or
/// already used.
pub async fn consume_two_factor_challenge(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<TwoFactorChallenge>> {
    let row = sqlx::query(
        "UPDATE two_factor_challenges SET used = 1 \
         WHERE token = $1 AND used = 0 AND expires_at > $2 RETURNING user_id, method, remember",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(challenge_from_row).transpose()
}

/// Burns the user's waiting challenges (their password changed: a half-finished sign-in with
/// the old one must not complete).
pub async fn invalidate_two_factor_challenges(conn: &mut Conn, user_id: &str) -> Result<u64> {
    let done =
        sqlx::query("UPDATE two_factor_challenges SET used = 1 WHERE user_id = $1 AND used = 0")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
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
