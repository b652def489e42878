//! Accounts: sign-up, email verification, sign-in (password, magic link, second factor),
//! password reset, profile and security settings, device sessions, unsubscribe.

use super::{audit, limits};
use crate::auth::{RequestMeta, absolute_ms, describe_device, idle_ms};
use crate::crypto::{self, Keys, hash_token, random_token};
use crate::error::AppError;
use crate::mail::{self, List, messages};
use crate::state::AppState;
use coachflux_domain::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use coachflux_domain::email::EmailAddress;
use coachflux_domain::ids::new_id;
use coachflux_domain::password::check_new_password;
use coachflux_store::users::{EmailPreferences, NewUser, User};
use coachflux_store::{Conn, StoreError, auth_sessions, one_time_tokens, users};
use serde_json::json;

pub const VERIFY_TTL_MS: i64 = DAY_MS;
pub const RESET_TTL_MS: i64 = HOUR_MS;
pub const MAGIC_TTL_MS: i64 = 10 * MINUTE_MS;
/// How long a password-verified sign-in waits for its second factor.
pub const TWO_FACTOR_PENDING_MS: i64 = 5 * MINUTE_MS;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_PICTURE_URL_CHARS: usize = 2_000;

/// A new device session: the token for the cookie, and a device cookie to set when the browser
/// had none.
#[derive(Debug)]
pub struct Started {
    pub user_id: String,
    pub token: String,
    pub remember: bool,
    pub new_device_cookie: Option<String>,
}

#[derive(Debug)]
pub enum LoginOutcome {
    Started(Started),
    /// The password (or link) was right; a second factor is needed. The value goes in a
    /// short-lived cookie.
    TwoFactor {
        pending: String,
    },
    /// The sign-in was right but the account is waiting for deletion: the person may keep it
    /// (`restore` proves the sign-in) until `erase_at`.
    DeletionPending {
        restore: String,
        erase_at: i64,
    },
}

/// What a full sign-in leads to for an account waiting for deletion.
fn deletion_pending_outcome(state: &AppState, user: &User, remember: bool) -> LoginOutcome {
    LoginOutcome::DeletionPending {
        restore: super::privacy::pending_restore(state, &user.id, remember),
        erase_at: super::privacy::erase_at(user).unwrap_or_default(),
    }
}

pub(crate) fn to_of(user: &User) -> messages::To<'_> {
    messages::To {
        email: &user.email,
        user_id: Some(&user.id),
        name: user.name.as_deref(),
    }
}

/// Enqueues `email` in the outbox on `conn`, with its unsubscribe link when it is list mail.
pub(crate) async fn enqueue(
    state: &AppState,
    conn: &mut Conn,
    email: &mail::Email,
) -> Result<(), AppError> {
    let unsubscribe = match (email.list, email.user_id.as_deref()) {
        (Some(list), Some(uid)) => Some(unsubscribe_url(
            &state.keys,
            &state.config.public_url,
            uid,
            list,
        )),
        _ => None,
    };
    mail::enqueue(
        conn,
        email,
        &state.config.public_url,
        unsubscribe.as_deref(),
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

fn parse_email(raw: &str) -> Result<EmailAddress, AppError> {
    EmailAddress::parse(raw).map_err(|e| AppError::invalid("email", e.to_string()))
}

fn clean_name(name: Option<&str>) -> Result<Option<String>, AppError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name {
        if n.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::invalid(
                "name",
                "Use at most 100 characters for your name.",
            ));
        }
        if n.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "name",
                "Your name can't contain control characters.",
            ));
        }
    }
    Ok(name.map(str::to_owned))
}

// ---------------------------------------------------------------------------------------------
// Sign-up and verification

pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub accept_terms: bool,
}

#[derive(Debug)]
pub enum SignupOutcome {
    Created(Started),
    /// The address already has an account: its owner got an email; nothing else happens.
    AlreadyRegistered,
}

pub async fn signup(
    state: &AppState,
    meta: &RequestMeta,
    input: SignupInput,
) -> Result<SignupOutcome, AppError> {
    let email = parse_email(&input.email)?;
    let name = clean_name(input.name.as_deref())?;
    let mut errors = Vec::new();
    let inputs: Vec<&str> = [Some(email.as_str()), name.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if let Err(e) = check_new_password(&input.password, &inputs) {
        errors.push(crate::error::FieldError {
            field: "password",
            message: e.to_string(),
        });
    }
    if !input.accept_terms {
        errors.push(crate::error::FieldError {
            field: "accept_terms",
            message: "Please accept the terms to create an account.".into(),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    limits::hit(state, limits::SIGNUP, email.as_str()).await?;
    let hash = crypto::hash_password(input.password).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if let Some(existing) = users::find_by_email(&mut tx, email.as_str()).await? {
        let msg = messages::signup_attempt(
            &to_of(&existing),
            &state.link("/login"),
            &state.link("/forgot-password"),
        );
        enqueue(state, &mut tx, &msg).await?;
        tx.commit().await?;
        state.outbox.wake();
        return Ok(SignupOutcome::AlreadyRegistered);
    }
    let id = new_id();
    let inserted = users::insert(
        &mut tx,
        &NewUser {
            id: &id,
            email: email.as_str(),
            name: name.as_deref(),
            password_hash: Some(&hash),
            provider: Some("email"),
            email_verified: false,
            role: "member",
            now,
        },
    )
    .await;
    match inserted {
        Ok(()) => {}
        // A concurrent sign-up with the same address won the race.
        Err(StoreError::Conflict(_)) => return Ok(SignupOutcome::AlreadyRegistered),
        Err(e) => return Err(e.into()),
    }
    let user = users::get(&mut tx, &id).await?.ok_or(AppError::NotFound)?;
    send_verification(state, &mut tx, &user, &user.email).await?;
    audit::record(
        &mut tx,
        Some(&id),
        "signup",
        Some(meta),
        json!({"method": "password"}),
        now,
    )
    .await?;
    let started = start_session(state, &mut tx, &user, meta, false, "signup").await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(SignupOutcome::Created(started))
}

/// Creates a verification token for `address` (the account's email, or a new one it is
/// changing to) and enqueues the email.
async fn send_verification(
    state: &AppState,
    conn: &mut Conn,
    user: &User,
    address: &str,
) -> Result<(), AppError> {
    let token = random_token();
    let now = state.clock.now_ms();
    one_time_tokens::insert_email_verification(
        conn,
        &new_id(),
        &user.id,
        &hash_token(&token),
        address,
        now + VERIFY_TTL_MS,
        now,
    )
    .await?;
    let link = state.link(&format!("/verify-email?token={token}"));
    let to = messages::To {
        email: address,
        user_id: Some(&user.id),
        name: user.name.as_deref(),
    };
    let msg = if address == user.email {
        messages::verify_email(&to, &link)
    } else {
        messages::email_change(&to, &link)
    };
    enqueue(state, conn, &msg).await
}

pub async fn resend_verification(state: &AppState, user: &User) -> Result<(), AppError> {
    if user.email_verified {
        return Ok(());
    }
    limits::hit(state, limits::VERIFY_EMAIL, &user.email).await?;
    let mut tx = state.store.begin().await?;
    send_verification(state, &mut tx, user, &user.email).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    Email,
    EmailChanged,
}

/// Consumes a verification link. `None` when it is unknown, used or expired.
pub async fn verify_email(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
) -> Result<Option<Verified>, AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let Some((user_id, address)) =
        one_time_tokens::consume_email_verification(&mut tx, &hash_token(token), now).await?
    else {
        return Ok(None);
    };
    let Some(user) = users::get(&mut tx, &user_id).await? else {
        return Ok(None);
    };
    let outcome = if address == user.email {
        users::set_email_verified(&mut tx, &user_id, now).await?;
        audit::record(
            &mut tx,
            Some(&user_id),
            "email_verified",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
        Verified::Email
    } else {
        match users::set_email(&mut tx, &user_id, &address, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::invalid(
                    "email",
                    "That address now belongs to another account.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let notice = messages::email_changed_notice(&to_of(&user), &address);
        enqueue(state, &mut tx, &notice).await?;
        audit::record(
            &mut tx,
            Some(&user_id),
            "email_changed",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
        Verified::EmailChanged
    };
    tx.commit().await?;
    state.outbox.wake();
    Ok(Some(outcome))
}

// ---------------------------------------------------------------------------------------------
// Sign-in

/// Creates a device session inside `conn`'s transaction, records the login, and alerts the
/// owner when the device is new to an account that has signed in before.
pub async fn start_session(
    state: &AppState,
    conn: &mut Conn,
    user: &User,
    meta: &RequestMeta,
    remember: bool,
    method: &str,
) -> Result<Started, AppError> {
    let now = state.clock.now_ms();
    let (device_value, new_device_cookie) = match &meta.device_cookie {
        Some(v) => (v.clone(), None),
        None => {
            let v = random_token();
            (v.clone(), Some(v))
        }
    };
    let device_id = hash_token(&device_value);
    let seen = auth_sessions::device_seen_before(conn, &user.id, &device_id).await?;
    let token = random_token();
    auth_sessions::insert(
        conn,
        &auth_sessions::NewAuthSession {
            id: &new_id(),
            user_id: &user.id,
            token_hash: &hash_token(&token),
            expires_at: now + idle_ms(remember),
            absolute_expires_at: now + absolute_ms(remember),
            user_agent: &meta.user_agent,
            ip: &meta.ip,
            remember,
            device_id: Some(&device_id),
            now,
        },
    )
    .await?;
    if !seen && user.last_login_at.is_some() {
        let when = format_utc(now);
        let msg = messages::new_device(
            &to_of(user),
            &describe_device(&meta.user_agent),
            &meta.ip,
            &when,
            &state.link("/settings#devices"),
        );
        enqueue(state, conn, &msg).await?;
    }
    users::record_login(conn, &user.id, now).await?;
    // A visitor who signs up or in from this browser keeps the sessions they started.
    if let Some(anonymous_id) = &meta.anonymous_id {
        super::coaching::migrate_anonymous(conn, anonymous_id, &user.id, now).await?;
    }
    if method != "signup" {
        audit::record(
            conn,
            Some(&user.id),
            "login_success",
            Some(meta),
            json!({"method": method, "new_device": !seen}),
            now,
        )
        .await?;
    }
    Ok(Started {
        user_id: user.id.clone(),
        token,
        remember,
        new_device_cookie,
    })
}

/// "2026-01-15 10:00 UTC"
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn bad_credentials() -> AppError {
    AppError::invalid("form", "That email and password don't match an account.")
}

pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    email_raw: &str,
    password: String,
    remember: bool,
) -> Result<LoginOutcome, AppError> {
    // An unparseable address still costs a hash, so timing says nothing about it.
    let email = EmailAddress::parse(email_raw).ok();
    let subject = format!(
        "{}:{}",
        meta.ip,
        email.as_ref().map_or(email_raw.trim(), |e| e.as_str())
    );
    limits::check(state, limits::LOGIN, &subject).await?;
    let user = match &email {
        Some(e) => {
            let mut conn = state.store.conn().await?;
            users::find_by_email(&mut conn, e.as_str()).await?
        }
        None => None,
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = crypto::verify_password(password, stored).await;
    let now = state.clock.now_ms();
    let user = match user {
        Some(u) if ok && (u.disabled_at.is_none() || super::privacy::deletion_pending(&u, now)) => {
            u
        }
        other => {
            let mut conn = state.store.conn().await?;
            audit::record(
                &mut conn,
                other.as_ref().map(|u| u.id.as_str()),
                "login_failure",
                Some(meta),
                json!({"method": "password"}),
                now,
            )
            .await?;
            drop(conn);
            limits::hit(state, limits::LOGIN, &subject).await?;
            return Err(bad_credentials());
        }
    };
    limits::reset(state, limits::LOGIN, &subject).await?;
    if user.totp_enabled {
        return Ok(LoginOutcome::TwoFactor {
            pending: pending_two_factor(state, &user.id, remember, "password"),
        });
    }
    if user.disabled_at.is_some() {
        return Ok(deletion_pending_outcome(state, &user, remember));
    }
    let mut tx = state.store.begin().await?;
    let started = start_session(state, &mut tx, &user, meta, remember, "password").await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(LoginOutcome::Started(started))
}

/// `user.expires.remember.method.signature`: proves the first factor for a few minutes.
pub fn pending_two_factor(state: &AppState, user_id: &str, remember: bool, method: &str) -> String {
    let expires = state.clock.now_ms() + TWO_FACTOR_PENDING_MS;
    let body = format!("{user_id}.{expires}.{}.{method}", u8::from(remember));
    let sig = state.keys.sign(&format!("2fa-pending:{body}"));
    format!("{body}.{sig}")
}

/// The account a pending second-factor cookie belongs to, when it is genuine and fresh.
pub fn read_pending(state: &AppState, value: &str) -> Option<(String, bool, String)> {
    let (body, sig) = value.rsplit_once('.')?;
    if !state.keys.verify(&format!("2fa-pending:{body}"), sig) {
        return None;
    }
    let mut parts = body.split('.');
    let user_id = parts.next()?.to_owned();
    let expires: i64 = parts.next()?.parse().ok()?;
    let remember = parts.next()? == "1";
    let method = parts.next()?.to_owned();
    (expires > state.clock.now_ms()).then_some((user_id, remember, method))
}

pub async fn complete_two_factor(
    state: &AppState,
    meta: &RequestMeta,
    pending: &str,
    code: &str,
) -> Result<LoginOutcome, AppError> {
    let Some((user_id, remember, method)) = read_pending(state, pending) else {
        return Err(AppError::invalid(
            "code",
            "Your sign-in took too long. Please start again.",
        ));
    };
    limits::check(state, limits::TWO_FACTOR, &user_id).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let user = users::get(&mut tx, &user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let waiting = super::privacy::deletion_pending(&user, now);
    if (user.disabled_at.is_some() && !waiting) || !user.totp_enabled {
        return Err(AppError::invalid(
            "code",
            "Your sign-in took too long. Please start again.",
        ));
    }
    let how = super::two_factor::check_code(state, &mut tx, &user, code, now).await?;
    let Some(how) = how else {
        audit::record(
            &mut tx,
            Some(&user_id),
            "2fa_failure",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
        tx.commit().await?;
        limits::hit(state, limits::TWO_FACTOR, &user_id).await?;
        return Err(AppError::invalid(
            "code",
            "That code didn't work. Check your authenticator app and try again.",
        ));
    };
    if how == super::two_factor::Factor::RecoveryCode {
        audit::record(
            &mut tx,
            Some(&user_id),
            "recovery_code_used",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
    }
    if user.disabled_at.is_some() {
        tx.commit().await?;
        limits::reset(state, limits::TWO_FACTOR, &user_id).await?;
        return Ok(deletion_pending_outcome(state, &user, remember));
    }
    let started = start_session(
        state,
        &mut tx,
        &user,
        meta,
        remember,
        &format!("{method}+{}", how.as_str()),
    )
    .await?;
    tx.commit().await?;
    limits::reset(state, limits::TWO_FACTOR, &user_id).await?;
    state.outbox.wake();
    Ok(LoginOutcome::Started(started))
}

pub async fn logout(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    session_id: &str,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    auth_sessions::revoke(&mut tx, user_id, session_id, now).await?;
    audit::record(&mut tx, Some(user_id), "logout", Some(meta), json!({}), now).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Password reset and magic links: the same answer whether or not the address has an account.

pub async fn request_password_reset(
    state: &AppState,
    meta: &RequestMeta,
    email_raw: &str,
) -> Result<(), AppError> {
    let email = parse_email(email_raw)?;
    limits::hit(state, limits::PASSWORD_RESET, email.as_str()).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if let Some(user) = users::find_by_email(&mut tx, email.as_str()).await?
        && (user.disabled_at.is_none() || super::privacy::deletion_pending(&user, now))
    {
        let token = random_token();
        one_time_tokens::insert_password_reset(
            &mut tx,
            &new_id(),
            &user.id,
            &hash_token(&token),
            now + RESET_TTL_MS,
            now,
        )
        .await?;
        let msg = messages::password_reset(
            &to_of(&user),
            &state.link(&format!("/reset-password?token={token}")),
        );
        enqueue(state, &mut tx, &msg).await?;
        audit::record(
            &mut tx,
            Some(&user.id),
            "password_reset_requested",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

pub async fn reset_link_is_valid(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(
        one_time_tokens::peek_password_reset(&mut conn, &hash_token(token), state.clock.now_ms())
            .await?
            .is_some(),
    )
}

/// Sets a new password from a reset link: every device is signed out and nobody is signed in
/// here (signing in again goes through the second factor when it is on).
pub async fn reset_password(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    password: String,
) -> Result<bool, AppError> {
    let now = state.clock.now_ms();
    let user = {
        let mut conn = state.store.conn().await?;
        match one_time_tokens::peek_password_reset(&mut conn, &hash_token(token), now).await? {
            Some(uid) => users::get(&mut conn, &uid).await?,
            None => None,
        }
    };
    let Some(user) = user else { return Ok(false) };
    let inputs = [user.email.as_str(), user.name.as_deref().unwrap_or("")];
    check_new_password(&password, &inputs)
        .map_err(|e| AppError::invalid("password", e.to_string()))?;
    let hash = crypto::hash_password(password).await?;
    let mut tx = state.store.begin().await?;
    if one_time_tokens::consume_password_reset(&mut tx, &hash_token(token), now)
        .await?
        .as_deref()
        != Some(user.id.as_str())
    {
        return Ok(false);
    }
    users::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    one_time_tokens::invalidate_password_resets(&mut tx, &user.id).await?;
    auth_sessions::revoke_all_for_user(&mut tx, &user.id, None, now).await?;
    enqueue(state, &mut tx, &messages::password_changed(&to_of(&user))).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "password_reset",
        Some(meta),
        json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(true)
}

/// Sends a sign-in link bound to this browser. Returns the binding secret for the cookie.
pub async fn request_magic_link(
    state: &AppState,
    meta: &RequestMeta,
    email_raw: &str,
) -> Result<String, AppError> {
    let email = parse_email(email_raw)?;
    limits::hit(state, limits::MAGIC_LINK, email.as_str()).await?;
    let binding = random_token();
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if let Some(user) = users::find_by_email(&mut tx, email.as_str()).await?
        && (user.disabled_at.is_none() || super::privacy::deletion_pending(&user, now))
    {
        let token = random_token();
        one_time_tokens::insert_magic_link(
            &mut tx,
            &new_id(),
            &user.id,
            &hash_token(&token),
            &hash_token(&binding),
            now + MAGIC_TTL_MS,
            now,
        )
        .await?;
        let msg = messages::magic_link(
            &to_of(&user),
            &state.link(&format!("/login/magic/confirm?token={token}")),
        );
        enqueue(state, &mut tx, &msg).await?;
        audit::record(
            &mut tx,
            Some(&user.id),
            "magic_link_requested",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(binding)
}

/// `None` when the link is unknown, used, expired or opened in another browser.
pub async fn consume_magic_link(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    binding: Option<&str>,
) -> Result<Option<LoginOutcome>, AppError> {
    let Some(binding) = binding else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let Some(user_id) =
        one_time_tokens::consume_magic_link(&mut tx, &hash_token(token), &hash_token(binding), now)
            .await?
    else {
        return Ok(None);
    };
    let Some(user) = users::get(&mut tx, &user_id)
        .await?
        .filter(|u| u.disabled_at.is_none() || super::privacy::deletion_pending(u, now))
    else {
        return Ok(None);
    };
    // The link proves the inbox, so the address is verified.
    if !user.email_verified {
        users::set_email_verified(&mut tx, &user.id, now).await?;
    }
    if user.totp_enabled {
        tx.commit().await?;
        return Ok(Some(LoginOutcome::TwoFactor {
            pending: pending_two_factor(state, &user.id, false, "magic_link"),
        }));
    }
    if user.disabled_at.is_some() {
        tx.commit().await?;
        return Ok(Some(deletion_pending_outcome(state, &user, false)));
    }
    let started = start_session(state, &mut tx, &user, meta, false, "magic_link").await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Some(LoginOutcome::Started(started)))
}

// ---------------------------------------------------------------------------------------------
// Settings

pub async fn update_profile(
    state: &AppState,
    user: &User,
    name: Option<&str>,
    picture: Option<&str>,
) -> Result<(), AppError> {
    let name = clean_name(name)?;
    let picture = picture.map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = picture {
        let ok = p.chars().count() <= MAX_PICTURE_URL_CHARS
            && url::Url::parse(p).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
        if !ok {
            return Err(AppError::invalid(
                "picture",
                "Use an https:// link to an image.",
            ));
        }
    }
    let mut conn = state.store.conn().await?;
    users::update_profile(
        &mut conn,
        &user.id,
        name.as_deref(),
        picture,
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

async fn require_password(
    user: &User,
    password: String,
    field: &'static str,
) -> Result<(), AppError> {
    if crypto::verify_password(password, user.password_hash.clone()).await {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "That isn't your current password.",
        ))
    }
}

pub async fn change_password(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    session_id: &str,
    current: String,
    new: String,
) -> Result<(), AppError> {
    if user.password_hash.is_some() {
        limits::check(state, limits::LOGIN, &format!("{}:{}", meta.ip, user.email)).await?;
        if let Err(e) = require_password(user, current, "current_password").await {
            limits::hit(state, limits::LOGIN, &format!("{}:{}", meta.ip, user.email)).await?;
            return Err(e);
        }
    }
    let inputs = [user.email.as_str(), user.name.as_deref().unwrap_or("")];
    check_new_password(&new, &inputs)
        .map_err(|e| AppError::invalid("new_password", e.to_string()))?;
    let hash = crypto::hash_password(new).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    users::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    one_time_tokens::invalidate_password_resets(&mut tx, &user.id).await?;
    auth_sessions::revoke_all_for_user(&mut tx, &user.id, Some(session_id), now).await?;
    enqueue(state, &mut tx, &messages::password_changed(&to_of(user))).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "password_changed",
        Some(meta),
        json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

/// Re-authenticates, then sends a confirmation link to the new address; the change happens
/// when that link is used.
pub async fn request_email_change(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    password: String,
    new_email: &str,
) -> Result<(), AppError> {
    let email = parse_email(new_email)?;
    if email.as_str() == user.email {
        return Err(AppError::invalid(
            "new_email",
            "That's already your email address.",
        ));
    }
    limits::check(state, limits::LOGIN, &format!("{}:{}", meta.ip, user.email)).await?;
    if let Err(e) = require_password(user, password, "password").await {
        limits::hit(state, limits::LOGIN, &format!("{}:{}", meta.ip, user.email)).await?;
        return Err(e);
    }
    limits::hit(state, limits::VERIFY_EMAIL, email.as_str()).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    // Taken addresses get the same answer; the change fails when the link is used.
    send_verification(state, &mut tx, user, email.as_str()).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "email_change_requested",
        Some(meta),
        json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

pub async fn update_preferences(
    state: &AppState,
    user: &User,
    prefs: &EmailPreferences,
) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    users::set_email_preferences(&mut conn, &user.id, prefs, state.clock.now_ms()).await?;
    Ok(())
}

pub async fn device_sessions(
    state: &AppState,
    user: &User,
) -> Result<Vec<auth_sessions::AuthSession>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(auth_sessions::list_active_for_user(&mut conn, &user.id, state.clock.now_ms()).await?)
}

/// Signs one of the user's devices out. Another person's session id is "not found".
pub async fn revoke_device_session(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    id: &str,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if !auth_sessions::revoke(&mut tx, &user.id, id, now).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(&user.id),
        "session_revoked",
        Some(meta),
        json!({"session": id}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn revoke_other_sessions(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    current: &str,
) -> Result<u64, AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let n = auth_sessions::revoke_all_for_user(&mut tx, &user.id, Some(current), now).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "sessions_revoked",
        Some(meta),
        json!({"count": n}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// One-click unsubscribe (RFC 8058): the link is signed, so it needs no sign-in.

pub fn unsubscribe_url(keys: &Keys, public_url: &str, user_id: &str, list: List) -> String {
    let sig = keys.sign(&format!("unsubscribe:{user_id}:{}", list.as_str()));
    format!(
        "{public_url}/unsubscribe?u={user_id}&l={}&s={sig}",
        list.as_str()
    )
}

pub async fn unsubscribe(
    state: &AppState,
    user_id: &str,
    list: &str,
    sig: &str,
) -> Result<List, AppError> {
    let list = List::parse(list).ok_or(AppError::NotFound)?;
    if !state
        .keys
        .verify(&format!("unsubscribe:{user_id}:{}", list.as_str()), sig)
    {
        return Err(AppError::NotFound);
    }
    let mut conn = state.store.conn().await?;
    let user = users::get(&mut conn, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut prefs = user.email_preferences;
    match list {
        List::ProductUpdates => prefs.product_updates = false,
        List::Newsletter => prefs.newsletter = false,
        List::ActionReminders => prefs.action_reminders = false,
        List::MarketingEmails => prefs.marketing_emails = false,
    }
    users::set_email_preferences(&mut conn, user_id, &prefs, state.clock.now_ms()).await?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_768_471_200_000), "2026-01-15 10:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
