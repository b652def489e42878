//! The `users` table: one row per account.
//!
//! Callers normalise emails to lower case before they reach this module (the column has a
//! `CHECK (email = lower(email))`), so lookups are plain equality and the unique index on
//! `email` is what stops two accounts sharing an address.

use crate::{Conn, Result, StoreError};
use coachflux_domain::account::{Role, SubscriptionStatus};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The four email opt-ins, flattened into `email_preferences_*` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailPreferences {
    pub product_updates: bool,
    pub newsletter: bool,
    pub action_reminders: bool,
    pub marketing_emails: bool,
}

/// An account as stored. `password_hash` and `totp_secret` are already protected (argon2id
/// PHC string, server-key encrypted secret); `Debug` still prints them, so do not log a `User`.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    pub password_hash: Option<String>,
    pub provider: Option<String>,
    pub provider_id: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub subscription_status: SubscriptionStatus,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub email_preferences: EmailPreferences,
    pub onboarding_completed: bool,
    pub preferred_framework: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub last_active_at: Option<i64>,
    pub role: Role,
    pub updated_at: i64,
    pub disabled_at: Option<i64>,
    pub deletion_requested_at: Option<i64>,
    pub deletion_reason: Option<String>,
    pub totp_last_step: Option<i64>,
    pub calendar_token: Option<String>,
    pub trial_ends_at: Option<i64>,
    pub country: Option<String>,
    /// An IANA name ("Europe/Berlin"); `None` until the person (or their browser) chose one.
    pub time_zone: Option<String>,
    /// The person chose `time_zone`; otherwise it is the one their browser named at their
    /// last sign-in, and follows the browser.
    pub time_zone_chosen: bool,
}

/// What a profile update does to the time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneChange<'a> {
    /// Leaves it as it is.
    Keep,
    /// The person picked this zone (an IANA name, checked by the caller).
    Choose(&'a str),
    /// The person un-picked it: it follows their browser again. The zone their browser names
    /// now, if it names one, is stored for reminders (else the stored one stays until their
    /// next sign-in names another).
    FollowBrowser(Option<&'a str>),
}

/// What sign-up knows about a new account; every other column takes its schema default.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub provider: Option<&'a str>,
    pub email_verified: bool,
    pub role: Role,
    pub now: i64,
}

/// The selected columns, as a macro so queries stay `&'static str` literals.
macro_rules! columns {
    () => {
        "id, email, email_verified, name, picture, password_hash, provider, provider_id, \
         totp_secret, totp_enabled, subscription_status, stripe_customer_id, \
         stripe_subscription_id, email_preferences_product_updates, email_preferences_newsletter, \
         email_preferences_action_reminders, email_preferences_marketing_emails, \
         onboarding_completed, preferred_framework, created_at, last_login_at, last_active_at, \
         role, updated_at, disabled_at, deletion_requested_at, deletion_reason, totp_last_step, \
         calendar_token, trial_ends_at, country, time_zone, time_zone_chosen"
    };
}
/// For the look-ups that read a credential and its account in one statement.
pub(crate) use columns;

/// Creates an account. A taken address is [`StoreError::Conflict`]`("email")`, so sign-up can
/// answer it without a racy look-up first. Product updates are opt-in: a new account gets none
/// until the person turns them on (the column's default from the first migration says
/// otherwise, and SQLite can't change a default in place).
pub async fn insert(conn: &mut Conn, u: &NewUser<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, provider, email_verified, role, \
         created_at, updated_at, email_preferences_product_updates) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 0)",
    )
    .bind(u.id)
    .bind(u.email)
    .bind(u.name)
    .bind(u.password_hash)
    .bind(u.provider)
    .bind(i64::from(u.email_verified))
    .bind(u.role.as_str())
    .bind(u.now)
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::conflict_on_unique(e, "email"))?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<User>> {
    let row = sqlx::query(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Looks an account up by address; `email` must already be lower-case.
/// Whether any account exists.
pub async fn any(conn: &mut Conn) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

pub async fn find_by_email(conn: &mut Conn, email: &str) -> Result<Option<User>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn set_email_verified(conn: &mut Conn, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET email_verified = 1, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Switches to a new address. Only called once the new address proved itself (a consumed
/// verification link), hence `email_verified = 1`. Another account holding it is
/// [`StoreError::Conflict`]`("email")`.
pub async fn set_email(conn: &mut Conn, id: &str, email: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET email = $2, email_verified = 1, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(email)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, "email"))?;
    Ok(())
}

pub async fn set_password_hash(conn: &mut Conn, id: &str, hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces the display name and picture (`None` clears each) and changes the time zone as
/// `time_zone` says.
pub async fn update_profile(
    conn: &mut Conn,
    id: &str,
    name: Option<&str>,
    picture: Option<&str>,
    time_zone: ZoneChange<'_>,
    now: i64,
) -> Result<()> {
    let (sql, zone) = match time_zone {
        ZoneChange::Keep => (
            "UPDATE users SET name = $2, picture = $3, updated_at = $4 WHERE id = $1",
            None,
        ),
        ZoneChange::Choose(zone) => (
            "UPDATE users SET name = $2, picture = $3, updated_at = $4, time_zone = $5, \
             time_zone_chosen = 1 WHERE id = $1",
            Some(Some(zone)),
        ),
        ZoneChange::FollowBrowser(browser) => (
            "UPDATE users SET name = $2, picture = $3, updated_at = $4, \
             time_zone = COALESCE($5, time_zone), time_zone_chosen = 0 WHERE id = $1",
            Some(browser),
        ),
    };
    let mut query = sqlx::query(sql).bind(id).bind(name).bind(picture).bind(now);
    if let Some(zone) = zone {
        query = query.bind(zone);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Stores the zone the person's browser names (an IANA name, checked by the caller), unless
/// they chose one themselves. Returns whether it changed anything.
pub async fn set_browser_time_zone(
    conn: &mut Conn,
    id: &str,
    time_zone: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET time_zone = $2, updated_at = $3 WHERE id = $1 \
         AND time_zone_chosen = 0 AND (time_zone IS NULL OR time_zone <> $2)",
    )
    .bind(id)
    .bind(time_zone)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_email_preferences(
    conn: &mut Conn,
    id: &str,
    prefs: &EmailPreferences,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET email_preferences_product_updates = $2, \
         email_preferences_newsletter = $3, email_preferences_action_reminders = $4, \
         email_preferences_marketing_emails = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(prefs.product_updates))
    .bind(i64::from(prefs.newsletter))
    .bind(i64::from(prefs.action_reminders))
    .bind(i64::from(prefs.marketing_emails))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets (or clears) the encrypted TOTP secret. The replay guard restarts with the secret: a
/// step accepted under the old secret says nothing about codes of the new one.
pub async fn set_totp(
    conn: &mut Conn,
    id: &str,
    secret: Option<&str>,
    enabled: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = NULL, \
         updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(secret)
    .bind(i64::from(enabled))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records `step` as the last accepted TOTP time step, only if it is newer than the one on
/// record. One conditional UPDATE, so two concurrent logins with the same code cannot both
/// win: `false` means the code (or an older one) was already used.
pub async fn advance_totp_step(conn: &mut Conn, id: &str, step: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2 \
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(id)
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A successful sign-in also counts as activity. `updated_at` stays: it tracks changes to the
/// account, not its use.
pub async fn record_login(conn: &mut Conn, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET last_login_at = $2, last_active_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_role(conn: &mut Conn, id: &str, role: Role, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        email_verified: flag(row, "email_verified")?,
        name: row.try_get("name")?,
        picture: row.try_get("picture")?,
        password_hash: row.try_get("password_hash")?,
        provider: row.try_get("provider")?,
        provider_id: row.try_get("provider_id")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_enabled: flag(row, "totp_enabled")?,
        subscription_status: {
            let v: String = row.try_get("subscription_status")?;
            SubscriptionStatus::parse(&v)
                .ok_or_else(|| StoreError::Corrupt(format!("subscription status {v:?}")))?
        },
        stripe_customer_id: row.try_get("stripe_customer_id")?,
        stripe_subscription_id: row.try_get("stripe_subscription_id")?,
        email_preferences: EmailPreferences {
            product_updates: flag(row, "email_preferences_product_updates")?,
            newsletter: flag(row, "email_preferences_newsletter")?,
            action_reminders: flag(row, "email_preferences_action_reminders")?,
            marketing_emails: flag(row, "email_preferences_marketing_emails")?,
        },
        onboarding_completed: flag(row, "onboarding_completed")?,
        preferred_framework: row.try_get("preferred_framework")?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
        last_active_at: row.try_get("last_active_at")?,
        role: {
            let v: String = row.try_get("role")?;
            Role::parse(&v).ok_or_else(|| StoreError::Corrupt(format!("role {v:?}")))?
        },
        updated_at: row.try_get("updated_at")?,
        disabled_at: row.try_get("disabled_at")?,
        deletion_requested_at: row.try_get("deletion_requested_at")?,
        deletion_reason: row.try_get("deletion_reason")?,
        totp_last_step: row.try_get("totp_last_step")?,
        calendar_token: row.try_get("calendar_token")?,
        trial_ends_at: row.try_get("trial_ends_at")?,
        country: row.try_get("country")?,
        time_zone: row.try_get("time_zone")?,
        time_zone_chosen: flag(row, "time_zone_chosen")?,
    })
}

/// Sets (or with `None` revokes) the SHA-256 of the user's calendar feed secret.
pub async fn set_calendar_token(
    conn: &mut Conn,
    id: &str,
    token_hash: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE users SET calendar_token = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(token_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The user a calendar feed secret belongs to.
pub async fn find_by_calendar_token(conn: &mut Conn, token_hash: &str) -> Result<Option<User>> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE calendar_token = $1")
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    match id {
        Some(id) => get(conn, &id).await,
        None => Ok(None),
    }
}

/// The subject of the sign-in provider an account was created with.
pub async fn set_provider_id(conn: &mut Conn, id: &str, provider_id: &str) -> Result<()> {
    sqlx::query("UPDATE users SET provider_id = $2 WHERE id = $1")
        .bind(id)
        .bind(provider_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
