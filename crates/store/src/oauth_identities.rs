//! External identities (OpenID Connect) linked to accounts, keyed by (issuer, subject): never
//! by email alone.

use crate::{Conn, Result, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct OauthIdentity {
    pub id: String,
    pub user_id: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

fn from_row(r: &AnyRow) -> Result<OauthIdentity> {
    Ok(OauthIdentity {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        issuer: r.try_get("issuer")?,
        subject: r.try_get("subject")?,
        email: r.try_get("email")?,
        created_at: r.try_get("created_at")?,
        last_login_at: r.try_get("last_login_at")?,
    })
}

/// Links an identity. `Conflict("identity")` when that (issuer, subject) is linked already.
pub async fn insert(
    conn: &mut Conn,
    id: &str,
    user_id: &str,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_identities (id, user_id, issuer, subject, email, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(issuer)
    .bind(subject)
    .bind(email)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::conflict_on_unique(e, "identity"))?;
    Ok(())
}

pub async fn find(conn: &mut Conn, issuer: &str, subject: &str) -> Result<Option<OauthIdentity>> {
    let row = sqlx::query(
        "SELECT id, user_id, issuer, subject, email, created_at, last_login_at \
         FROM oauth_identities WHERE issuer = $1 AND subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list_for_user(conn: &mut Conn, user_id: &str) -> Result<Vec<OauthIdentity>> {
    let rows = sqlx::query(
        "SELECT id, user_id, issuer, subject, email, created_at, last_login_at \
         FROM oauth_identities WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn touch(conn: &mut Conn, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE oauth_identities SET last_login_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Unlinks one of the user's identities; false when it isn't theirs.
pub async fn delete(conn: &mut Conn, user_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM oauth_identities WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Disconnects every provider from an account; returns how many there were.
pub async fn delete_all_for_user(conn: &mut Conn, user_id: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM oauth_identities WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
