//! Personal API tokens: created in settings or through the API, shown once, stored as the
//! SHA-256 hex of the token (computed by callers) and never read back.

use crate::{Conn, Result, newest_first_after};
use coachflux_domain::paging::{Cursor, Page, PageRequest};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// `read` or `read write`.
    pub scopes: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

impl ApiToken {
    pub fn can_write(&self) -> bool {
        self.scopes.split(' ').any(|s| s == "write")
    }
}

pub struct NewApiToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<i64>,
    pub now: i64,
}

macro_rules! columns {
    () => {
        "id, user_id, name, scopes, expires_at, last_used_at, revoked_at, created_at"
    };
}

fn from_row(r: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        scopes: r.try_get("scopes")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert(conn: &mut Conn, t: &NewApiToken<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id)
    .bind(t.user_id)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(t.scopes)
    .bind(t.expires_at)
    .bind(t.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The usable token with this hash: not revoked, not expired, created after `created_after`
/// (the lifetime cap).
pub async fn find_active_by_hash(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
    created_after: i64,
) -> Result<Option<ApiToken>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) AND created_at > $3"
    ))
    .bind(token_hash)
    .bind(now)
    .bind(created_after)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records use at most once a minute per token, so reads don't turn into writes.
pub async fn touch(conn: &mut Conn, id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 \
         AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(id)
    .bind(now)
    .bind(now - 60_000)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// [`page`]: `$1` user, `$2`/`$3` the cursor, `$4` the limit.
pub const PAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL \
     AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4"
);

/// One page of a person's tokens that are not revoked, newest first.
pub async fn page(conn: &mut Conn, user_id: &str, request: &PageRequest) -> Result<Page<ApiToken>> {
    let (at, id) = newest_first_after(request);
    let rows = sqlx::query(PAGE)
        .bind(user_id)
        .bind(at)
        .bind(id)
        .bind(request.fetch())
        .fetch_all(&mut *conn)
        .await?;
    let rows = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::of(rows, request, |t| {
        Cursor::new(&[t.created_at], &t.id)
    }))
}

/// How many tokens a person has that are not revoked.
pub async fn count_unrevoked(conn: &mut Conn, user_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Revokes one of the person's tokens; `false` when there is no such usable token of theirs.
pub async fn revoke(conn: &mut Conn, user_id: &str, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 \
         AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every token of a person (password reset, account deletion).
pub async fn revoke_all_for_user(conn: &mut Conn, user_id: &str, now: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
