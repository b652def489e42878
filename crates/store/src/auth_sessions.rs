//! The `sessions` table: one row per signed-in device.
//!
//! The cookie holds a random token; only its SHA-256 hex (computed by callers) is stored, in
//! `token`, and it is never read back. A session is usable while it is active, not revoked, and
//! before both its idle expiry (`expires_at`, pushed forward by [`touch`]) and its absolute
//! expiry (fixed at sign-in).

use crate::users::User;
use crate::{Conn, Result, newest_first_after};
use coachflux_domain::paging::{Cursor, Page, PageRequest};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct AuthSession {
    pub id: String,
    pub user_id: String,
    pub expires_at: i64,
    pub last_activity_at: i64,
    pub user_agent: String,
    pub ip: String,
    pub location: Option<String>,
    pub is_active: bool,
    pub created_at: i64,
    pub remember: bool,
    pub absolute_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub device_id: Option<String>,
    /// When this session last proved who uses it: the sign-in, or a later re-authentication.
    pub authenticated_at: i64,
    /// When this session proved a second factor (at sign-in or later), if it did.
    pub second_factor_at: Option<i64>,
}

pub struct NewAuthSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    /// SHA-256 hex of the cookie token.
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub absolute_expires_at: i64,
    pub user_agent: &'a str,
    pub ip: &'a str,
    pub remember: bool,
    pub device_id: Option<&'a str>,
    /// Whether the sign-in that starts this session proved a second factor.
    pub second_factor: bool,
    pub now: i64,
}

/// The selected columns (never `token`), as a macro so queries stay `&'static str` literals.
macro_rules! columns {
    () => {
        "id, user_id, expires_at, last_activity_at, device_info_user_agent, device_info_ip, \
         device_info_location, is_active, created_at, remember, absolute_expires_at, revoked_at, \
         device_id, authenticated_at, second_factor_at"
    };
}

pub async fn insert(conn: &mut Conn, s: &NewAuthSession<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, token, expires_at, last_activity_at, \
         device_info_user_agent, device_info_ip, is_active, created_at, remember, \
         absolute_expires_at, device_id, authenticated_at, second_factor_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $5, $8, $9, $10, $5, $11)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.token_hash)
    .bind(s.expires_at)
    .bind(s.now)
    .bind(s.user_agent)
    .bind(s.ip)
    .bind(i64::from(s.remember))
    .bind(s.absolute_expires_at)
    .bind(s.device_id)
    .bind(s.second_factor.then_some(s.now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The session a cookie (or bearer token) names, if it may still be used at `now`, and its
/// account, in one statement: every signed-in request asks this. Every condition is in the
/// query, so an expired or revoked session is indistinguishable from an unknown token.
pub async fn find_active_with_user(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> Result<Option<(AuthSession, User)>> {
    // The session's columns come out of a derived table under `s_` names, so the account's
    // columns keep their own names and `users::user_from_row` reads them.
    let row = sqlx::query(concat!(
        "SELECT ",
        crate::users::columns!(),
        ", s.* FROM (SELECT id AS s_id, user_id AS s_user_id, expires_at AS s_expires_at, \
         last_activity_at AS s_last_activity_at, \
         device_info_user_agent AS s_device_info_user_agent, device_info_ip AS s_device_info_ip, \
         device_info_location AS s_device_info_location, is_active AS s_is_active, \
         created_at AS s_created_at, remember AS s_remember, \
         absolute_expires_at AS s_absolute_expires_at, revoked_at AS s_revoked_at, \
         device_id AS s_device_id, authenticated_at AS s_authenticated_at, \
         second_factor_at AS s_second_factor_at FROM sessions \
         WHERE token = $1 AND is_active = 1 AND revoked_at IS NULL \
         AND expires_at > $2 AND absolute_expires_at > $2) s \
         JOIN users ON users.id = s.s_user_id"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(|r| Ok((from_columns(r, "s_")?, crate::users::user_from_row(r)?)))
        .transpose()
}

/// Records activity and slides the idle expiry; callers cap `expires_at` at the absolute expiry.
pub async fn touch(conn: &mut Conn, id: &str, now: i64, expires_at: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_activity_at = $2, expires_at = $3 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that the session just proved who uses it again (and, with `second_factor`, a
/// second factor too).
pub async fn mark_authenticated(
    conn: &mut Conn,
    id: &str,
    now: i64,
    second_factor: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET authenticated_at = $2, \
         second_factor_at = CASE WHEN $3 = 1 THEN $2 ELSE second_factor_at END WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(i64::from(second_factor))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Signs one device out. Scoped to `user_id` so a user can only revoke their own sessions:
/// `false` when `id` is someone else's, unknown, or already revoked.
pub async fn revoke(conn: &mut Conn, user_id: &str, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET is_active = 0, revoked_at = $3 \
         WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Signs the user out everywhere (after a password change, 2FA change, "sign out other
/// devices"), keeping `except_id` (the current session) when given. Returns how many sessions
/// were revoked.
pub async fn revoke_all_for_user(
    conn: &mut Conn,
    user_id: &str,
    except_id: Option<&str>,
    now: i64,
) -> Result<u64> {
    let done = match except_id {
        Some(except) => {
            sqlx::query(
                "UPDATE sessions SET is_active = 0, revoked_at = $2 \
                 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3",
            )
            .bind(user_id)
            .bind(now)
            .bind(except)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE sessions SET is_active = 0, revoked_at = $2 \
                 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected())
}

/// [`page_active`]: `$1` user, `$2` now, `$3`/`$4` the cursor, `$5` the limit.
pub const PAGE_ACTIVE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions WHERE user_id = $1 AND is_active = 1 AND revoked_at IS NULL \
     AND expires_at > $2 AND absolute_expires_at > $2 AND (created_at, id) < ($3, $4) \
     ORDER BY created_at DESC, id DESC LIMIT $5"
);

/// One page of the user's usable sessions (the "your devices" list), newest sign-in first.
pub async fn page_active(
    conn: &mut Conn,
    user_id: &str,
    now: i64,
    request: &PageRequest,
) -> Result<Page<AuthSession>> {
    let (at, id) = newest_first_after(request);
    let rows = sqlx::query(PAGE_ACTIVE)
        .bind(user_id)
        .bind(now)
        .bind(at)
        .bind(id)
        .bind(request.fetch())
        .fetch_all(&mut *conn)
        .await?;
    let rows = rows
        .iter()
        .map(session_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::of(rows, request, |s| {
        Cursor::new(&[s.created_at], &s.id)
    }))
}

/// Whether this user ever signed in from this device (any session, even ended ones), so a
/// sign-in from an unknown device can raise a security alert.
pub async fn device_seen_before(conn: &mut Conn, user_id: &str, device_id: &str) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM sessions WHERE user_id = $1 AND device_id = $2 LIMIT 1")
        .bind(user_id)
        .bind(device_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

fn session_from_row(row: &AnyRow) -> Result<AuthSession> {
    from_columns(row, "")
}

/// A session from columns named with `prefix` before their own names.
fn from_columns(row: &AnyRow, prefix: &str) -> Result<AuthSession> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(AuthSession {
        id: row.try_get(col("id").as_str())?,
        user_id: row.try_get(col("user_id").as_str())?,
        expires_at: row.try_get(col("expires_at").as_str())?,
        last_activity_at: row.try_get(col("last_activity_at").as_str())?,
        user_agent: row.try_get(col("device_info_user_agent").as_str())?,
        ip: row.try_get(col("device_info_ip").as_str())?,
        location: row.try_get(col("device_info_location").as_str())?,
        is_active: row.try_get::<i64, _>(col("is_active").as_str())? != 0,
        created_at: row.try_get(col("created_at").as_str())?,
        remember: row.try_get::<i64, _>(col("remember").as_str())? != 0,
        absolute_expires_at: row.try_get(col("absolute_expires_at").as_str())?,
        revoked_at: row.try_get(col("revoked_at").as_str())?,
        device_id: row.try_get(col("device_id").as_str())?,
        authenticated_at: row.try_get(col("authenticated_at").as_str())?,
        second_factor_at: row.try_get(col("second_factor_at").as_str())?,
    })
}
