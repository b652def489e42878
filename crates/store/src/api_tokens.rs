//! Personal API tokens: created in settings or through the API, shown once, stored as the
//! SHA-256 hex of the token (computed by callers) and never read back.

use crate::users::User;
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
    from_columns(r, "")
}

/// A token from columns named with `prefix` before their own names.
fn from_columns(r: &AnyRow, prefix: &str) -> Result<ApiToken> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(ApiToken {
        id: r.try_get(col("id").as_str())?,
        user_id: r.try_get(col("user_id").as_str())?,
        name: r.try_get(col("name").as_str())?,
        scopes: r.try_get(col("scopes").as_str())?,
        expires_at: r.try_get(col("expires_at").as_str())?,
        last_used_at: r.try_get(col("last_used_at").as_str())?,
        revoked_at: r.try_get(col("revoked_at").as_str())?,
        created_at: r.try_get(col("created_at").as_str())?,
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

/// The usable token with this hash (not revoked, not expired, created after `created_after`,
/// the lifetime cap) and its account, in one statement: every API request asks this.
pub async fn find_active_with_user(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
    created_after: i64,
) -> Result<Option<(ApiToken, User)>> {
    // The token's columns come out of a derived table under `t_` names, so the account's
    // columns keep their own names and `users::user_from_row` reads them.
    let row = sqlx::query(concat!(
        "SELECT ",
        crate::users::columns!(),
        ", t.* FROM (SELECT id AS t_id, user_id AS t_user_id, name AS t_name, \
         scopes AS t_scopes, expires_at AS t_expires_at, last_used_at AS t_last_used_at, \
         revoked_at AS t_revoked_at, created_at AS t_created_at FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) AND created_at > $3) t \
         JOIN users ON users.id = t.t_user_id"
    ))
    .bind(token_hash)
    .bind(now)
    .bind(created_after)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(|r| Ok((from_columns(r, "t_")?, crate::users::user_from_row(r)?)))
        .transpose()
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
