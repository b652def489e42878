//! Accounts: sign-up, email verification, sign-in (password, magic link, second factor),
//! password reset, profile and security settings, device sessions, unsubscribe.

use super::{audit, credentials, limits};
use crate::auth::{CurrentUser, absolute_ms, idle_ms};
use crate::crypto::{self, Keys, hash_token, random_token};
use crate::error::AppError;
use crate::mail::{self, List, messages};
use crate::state::AppState;
use coachflux_domain::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use coachflux_domain::email::EmailAddress;
use coachflux_domain::ids::new_id;
use coachflux_domain::password::check_new_password;
use coachflux_domain::request::{RequestMeta, describe_device};
use coachflux_store::users::{EmailPreferences, NewUser, User};
use coachflux_store::{
    Conn, StoreError, api_tokens, auth_sessions, oauth_identities, one_time_tokens, recovery_codes,
    users,
};
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
    /// The visitor's session this sign-in saved to the account (the latest, when several).
    pub saved: Option<super::coaching::Saved>,
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
        &state.keys,
        email,
        &state.config.public_url,
        unsubscribe.as_deref(),
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

/// Queues `notice` and writes the audit row `(action, details)` in the change's transaction:
/// how every change its owner is told about ends.
pub(crate) async fn tell_and_record(
    state: &AppState,
    conn: &mut Conn,
    user_id: &str,
    meta: &RequestMeta,
    notice: &mail::Email,
    (action, details): (&str, serde_json::Value),
    now: i64,
) -> Result<(), AppError> {
    enqueue(state, conn, notice).await?;
    audit::record(conn, Some(user_id), action, Some(meta), details, now).await?;
    Ok(())
}

fn parse_email(raw: &str) -> Result<EmailAddress, AppError> {
    EmailAddress::parse(raw).map_err(|e| AppError::invalid("email", e.to_string()))
}

/// A display name: limits count what was typed (as the API documents them), then control and
/// invisible characters are stripped.
fn clean_name(name: Option<&str>) -> Result<Option<String>, AppError> {
    if name.is_some_and(|n| n.trim().chars().count() > MAX_NAME_CHARS) {
        return Err(AppError::invalid(
            "name",
            "Use at most 100 characters for your name.",
        ));
    }
    Ok(name
        .map(coachflux_domain::text::single_line)
        .filter(|n| !n.is_empty()))
}

// ---------------------------------------------------------------------------------------------
// Sign-up and verification

pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub accept_terms: bool,
}

/// A sign-up answers the same whether or not the address already had an account: "check your
/// email". A new account gets a verification link that also signs in the browser holding
/// `binding` (a cookie); the owner of an existing one gets a note saying someone tried.
#[derive(Debug)]
pub struct SignupSent {
    pub binding: String,
}

pub async fn signup(
    state: &AppState,
    meta: &RequestMeta,
    input: SignupInput,
) -> Result<SignupSent, AppError> {
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
    // Hashed either way, so both answers take as long.
    let hash = state.hashing.hash(input.password).await?;
    let binding = random_token();
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if users::find_by_email(&mut tx, email.as_str())
        .await?
        .is_some()
    {
        tell_owner_of_signup_attempt(state, &mut tx, email.as_str()).await?;
        tx.commit().await?;
        state.outbox.wake();
        return Ok(SignupSent { binding });
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
            role: coachflux_domain::account::Role::Member,
            now,
        },
    )
    .await;
    match inserted {
        Ok(()) => {}
        // A concurrent sign-up with the same address won the race: that one's owner is told.
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            let mut tx = state.store.begin().await?;
            tell_owner_of_signup_attempt(state, &mut tx, email.as_str()).await?;
            tx.commit().await?;
            state.outbox.wake();
            return Ok(SignupSent { binding });
        }
        Err(e) => return Err(e.into()),
    }
    let user = users::get(&mut tx, &id).await?.ok_or(AppError::NotFound)?;
    send_verification(state, &mut tx, &user, &user.email, Some(&binding)).await?;
    audit::record(
        &mut tx,
        Some(&id),
        "signup",
        Some(meta),
        json!({"method": "password"}),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(SignupSent { binding })
}

/// Someone tried to create an account with `address`, which has one: its owner hears of it.
pub(crate) async fn tell_owner_of_signup_attempt(
    state: &AppState,
    conn: &mut Conn,
    address: &str,
) -> Result<(), AppError> {
    if let Some(existing) = users::find_by_email(conn, address).await? {
        let msg = messages::signup_attempt(
            &to_of(&existing),
            &state.link("/login"),
            &state.link("/forgot-password"),
        );
        enqueue(state, conn, &msg).await?;
    }
    Ok(())
}

/// Creates a verification token for `address` (the account's email, or a new one it is
/// changing to) and enqueues the email. With `binding`, the link also signs in the browser
/// holding that cookie value.
pub(crate) async fn send_verification(
    state: &AppState,
    conn: &mut Conn,
    user: &User,
    address: &str,
    binding: Option<&str>,
) -> Result<(), AppError> {
    let token = random_token();
    let now = state.clock.now_ms();
    let binding_hash = binding.map(hash_token);
    one_time_tokens::insert_email_verification(
        conn,
        &one_time_tokens::NewEmailVerification {
            id: &new_id(),
            user_id: &user.id,
            token_hash: &hash_token(&token),
            email: address,
            browser_binding: binding_hash.as_deref(),
            expires_at: now + VERIFY_TTL_MS,
            now,
        },
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
    send_verification(state, &mut tx, user, &user.email, None).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

#[derive(Debug)]
pub enum Verified {
    Email,
    EmailChanged,
    /// The address is confirmed, and this browser (the one that signed up) is now signed in.
    SignedIn(Started),
}

/// Consumes a verification link. `None` when it is unknown, used or expired. `binding` is the
/// sign-up cookie of the browser opening it, when nobody is signed in there.
pub async fn verify_email(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    binding: Option<&str>,
) -> Result<Option<Verified>, AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let Some(used) =
        one_time_tokens::consume_email_verification(&mut tx, &hash_token(token), now).await?
    else {
        return Ok(None);
    };
    let Some(user) = users::get(&mut tx, &used.user_id).await? else {
        return Ok(None);
    };
    let outcome = if used.email == user.email {
        users::set_email_verified(&mut tx, &user.id, now).await?;
        audit::record(
            &mut tx,
            Some(&user.id),
            "email_verified",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
        let same_browser = match (&used.browser_binding, binding) {
            (Some(stored), Some(cookie)) => crypto::constant_time_eq(stored, &hash_token(cookie)),
            _ => false,
        };
        if same_browser && user.disabled_at.is_none() && !user.totp_enabled {
            let started = start_session(
                state,
                &mut tx,
                &user,
                meta,
                SignIn {
                    remember: false,
                    method: "email_link",
                    second_factor: false,
                },
            )
            .await?;
            Verified::SignedIn(started)
        } else {
            Verified::Email
        }
    } else {
        match users::set_email(&mut tx, &user.id, &used.email, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::invalid(
                    "email",
                    "That address now belongs to another account.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let notice = messages::email_changed_notice(&to_of(&user), &used.email);
        tell_and_record(
            state,
            &mut tx,
            &user.id,
            meta,
            &notice,
            ("email_changed", json!({})),
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

/// How a sign-in was made, for the new device session and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub remember: bool,
    /// `password`, `magic_link`, `oidc:google`, `signup`...
    pub method: &'a str,
    /// Whether the sign-in proved the account's second factor.
    pub second_factor: bool,
}

/// Creates a device session inside `conn`'s transaction, records the login, and alerts the
/// owner when the device is new to an account that has signed in before.
pub async fn start_session(
    state: &AppState,
    conn: &mut Conn,
    user: &User,
    meta: &RequestMeta,
    how: SignIn<'_>,
) -> Result<Started, AppError> {
    let SignIn {
        remember,
        method,
        second_factor,
    } = how;
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
            second_factor,
            now,
        },
    )
    .await?;
    if !seen && user.last_login_at.is_some() {
        let when = coachflux_domain::dates::moment(
            now,
            coachflux_domain::dates::zone_of(user.time_zone.as_deref()),
        );
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
    // Until the person picks a zone in their settings, the one their browser is in at their
    // latest sign-in: reminders and the calendar feed, which no browser asks for, need it.
    // (Checked here first so that a sign-in from the same zone writes nothing more.)
    if !user.time_zone_chosen
        && let Some(zone) = &meta.time_zone
        && user.time_zone.as_deref() != Some(zone.as_str())
    {
        users::set_browser_time_zone(conn, &user.id, zone, now).await?;
    }
    // A visitor who signs up or in from this browser keeps the sessions they started.
    let saved = match &meta.anonymous_id {
        Some(anonymous_id) => super::coaching::migrate_anonymous(conn, anonymous_id, &user.id, now)
            .await?
            .into_iter()
            .next(),
        None => None,
    };
    audit::record(
        conn,
        Some(&user.id),
        "login_success",
        Some(meta),
        json!({"method": method, "new_device": !seen, "second_factor": second_factor}),
        now,
    )
    .await?;
    Ok(Started {
        user_id: user.id.clone(),
        token,
        remember,
        new_device_cookie,
        saved,
    })
}

/// An account as it stands now (after a change, say), or "not found".
pub async fn account(state: &AppState, id: &str) -> Result<User, AppError> {
    let mut conn = state.store.conn().await?;
    users::get(&mut conn, id).await?.ok_or(AppError::NotFound)
}

/// Sliding expiry writes at most this often per session.
const TOUCH_EVERY_MS: i64 = MINUTE_MS;

/// The person a device-session token (a cookie, or a bearer token from the API's sign-in)
/// belongs to, if the session may still be used; slides its idle expiry (at most once a
/// minute).
pub async fn session_user(state: &AppState, token: &str) -> Result<Option<CurrentUser>, AppError> {
    let now = state.clock.now_ms();
    let mut conn = state.store.conn().await?;
    let Some((session, user)) =
        auth_sessions::find_active_with_user(&mut conn, &hash_token(token), now)
            .await?
            .filter(|(_, u)| u.disabled_at.is_none())
    else {
        return Ok(None);
    };
    // The idle expiry slides once a minute (not on every request), and only once for a burst
    // of requests on one session. It is written before answering because the next request
    // depends on it.
    if now - session.last_activity_at >= TOUCH_EVERY_MS && state.stamps.claim(&session.id, now) {
        let expires = (now + idle_ms(session.remember)).min(session.absolute_expires_at);
        auth_sessions::touch(&mut conn, &session.id, now, expires).await?;
    }
    Ok(Some(CurrentUser {
        user,
        credential: crate::auth::Credential::Session {
            authenticated_at: session.authenticated_at,
            second_factor_at: session.second_factor_at,
        },
        session_id: session.id,
    }))
}

/// "2026-01-15 10:00 UTC"
pub fn format_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
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
    let address = email.as_ref().map_or_else(
        || email_raw.trim().to_lowercase(),
        |e| e.as_str().to_owned(),
    );
    let user = match &email {
        Some(e) => {
            let mut conn = state.store.conn().await?;
            users::find_by_email(&mut conn, e.as_str()).await?
        }
        None => None,
    };
    let now = state.clock.now_ms();
    let check = credentials::Check {
        failure: "login_failure",
        user_id: user.as_ref().map(|u| u.id.as_str()),
        details: json!({"method": "password"}),
        counters: credentials::login_counters(meta, &address),
    };
    let verified = credentials::attempt(state, meta, check, async {
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let ok = state.hashing.verify(password, stored).await?;
        Ok(user.as_ref().filter(|u| {
            ok && (u.disabled_at.is_none() || super::privacy::deletion_pending(u, now))
        }))
    })
    .await?;
    let Some(user) = verified else {
        return Err(bad_credentials());
    };
    if user.totp_enabled {
        let mut conn = state.store.conn().await?;
        let pending = pending_two_factor(state, &mut conn, &user.id, remember, "password").await?;
        return Ok(LoginOutcome::TwoFactor { pending });
    }
    if user.disabled_at.is_some() {
        return Ok(deletion_pending_outcome(state, user, remember));
    }
    let mut tx = state.store.begin().await?;
    let started = start_session(
        state,
        &mut tx,
        user,
        meta,
        SignIn {
            remember,
            method: "password",
            second_factor: false,
        },
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(LoginOutcome::Started(started))
}

/// Records a sign-in that proved its first factor and waits for the second; returns the
/// challenge (for a short-lived cookie, or the API client). It works once, for a few minutes.
pub async fn pending_two_factor(
    state: &AppState,
    conn: &mut Conn,
    user_id: &str,
    remember: bool,
    method: &str,
) -> Result<String, AppError> {
    let token = random_token();
    let now = state.clock.now_ms();
    one_time_tokens::insert_two_factor_challenge(
        conn,
        &one_time_tokens::NewTwoFactorChallenge {
            id: &new_id(),
            user_id,
            token_hash: &hash_token(&token),
            method,
            remember,
            expires_at: now + TWO_FACTOR_PENDING_MS,
            now,
        },
    )
    .await?;
    Ok(token)
}

/// Whether a second-factor challenge can still be answered.
pub async fn challenge_is_open(state: &AppState, pending: &str) -> Result<bool, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(one_time_tokens::peek_two_factor_challenge(
        &mut conn,
        &hash_token(pending),
        state.clock.now_ms(),
    )
    .await?
    .is_some())
}

fn start_again() -> AppError {
    AppError::invalid("code", "Your sign-in took too long. Please start again.")
}

pub async fn complete_two_factor(
    state: &AppState,
    meta: &RequestMeta,
    pending: &str,
    code: &str,
) -> Result<LoginOutcome, AppError> {
    let now = state.clock.now_ms();
    let challenge_hash = hash_token(pending);
    let (challenge, user) = {
        let mut conn = state.store.conn().await?;
        let Some(c) =
            one_time_tokens::peek_two_factor_challenge(&mut conn, &challenge_hash, now).await?
        else {
            return Err(start_again());
        };
        let user = users::get(&mut conn, &c.user_id)
            .await?
            .ok_or_else(start_again)?;
        (c, user)
    };
    let waiting = super::privacy::deletion_pending(&user, now);
    if (user.disabled_at.is_some() && !waiting) || !user.totp_enabled {
        return Err(start_again());
    }
    let check = credentials::Check {
        failure: "2fa_failure",
        user_id: Some(&user.id),
        details: json!({}),
        counters: credentials::two_factor_counters(&user.id),
    };
    let how = credentials::attempt(state, meta, check, async {
        let mut conn = state.store.conn().await?;
        super::two_factor::check_code(state, &mut conn, &user, code, now).await
    })
    .await?
    .ok_or_else(|| {
        AppError::invalid(
            "code",
            "That code didn't work. Check your authenticator app and try again.",
        )
    })?;
    let mut tx = state.store.begin().await?;
    // The challenge works once: a second answer (even with a fresh code) starts again.
    if one_time_tokens::consume_two_factor_challenge(&mut tx, &challenge_hash, now)
        .await?
        .is_none()
    {
        return Err(start_again());
    }
    if how == super::two_factor::Factor::RecoveryCode {
        audit::record(
            &mut tx,
            Some(&user.id),
            "recovery_code_used",
            Some(meta),
            json!({}),
            now,
        )
        .await?;
    }
    if user.disabled_at.is_some() {
        tx.commit().await?;
        return Ok(deletion_pending_outcome(state, &user, challenge.remember));
    }
    let method = format!("{}+{}", challenge.method, how.as_str());
    let started = start_session(
        state,
        &mut tx,
        &user,
        meta,
        SignIn {
            remember: challenge.remember,
            method: &method,
            second_factor: true,
        },
    )
    .await?;
    tx.commit().await?;
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
        tell_and_record(
            state,
            &mut tx,
            &user.id,
            meta,
            &msg,
            ("password_reset_requested", json!({})),
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

/// Ends every credential of an account after its password changed (by a reset or in
/// settings): device sessions (but `keep_session`), personal API tokens, the calendar feed,
/// unused reset and sign-in links, pending email changes and second-factor challenges.
/// Returns what ended, for the audit row.
async fn end_credentials(
    conn: &mut Conn,
    user: &User,
    keep_session: Option<&str>,
    now: i64,
) -> Result<serde_json::Value, AppError> {
    let sessions = auth_sessions::revoke_all_for_user(conn, &user.id, keep_session, now).await?;
    let tokens = api_tokens::revoke_all_for_user(conn, &user.id, now).await?;
    users::set_calendar_token(conn, &user.id, None, now).await?;
    one_time_tokens::invalidate_password_resets(conn, &user.id).await?;
    let links = one_time_tokens::invalidate_magic_links(conn, &user.id).await?;
    let changes = one_time_tokens::invalidate_email_changes(conn, &user.id, &user.email).await?;
    one_time_tokens::invalidate_two_factor_challenges(conn, &user.id).await?;
    Ok(json!({
        "sessions_ended": sessions,
        "api_tokens_revoked": tokens,
        "calendar_feed_revoked": user.calendar_token.is_some(),
        "sign_in_links_ended": links,
        "email_changes_ended": changes,
    }))
}

/// Sets a new password from a reset link: every credential ends, and nobody is signed in here
/// (signing in again goes through the second factor when it is on). The link proves the
/// inbox: on an account whose address was never confirmed, that also removes what whoever held
/// it before could have added (a second factor, connected providers).
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
    let hash = state.hashing.hash(password).await?;
    let mut tx = state.store.begin().await?;
    if one_time_tokens::consume_password_reset(&mut tx, &hash_token(token), now)
        .await?
        .as_deref()
        != Some(user.id.as_str())
    {
        return Ok(false);
    }
    users::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let mut ended = end_credentials(&mut tx, &user, None, now).await?;
    if !user.email_verified {
        users::set_email_verified(&mut tx, &user.id, now).await?;
        let identities = oauth_identities::delete_all_for_user(&mut tx, &user.id).await?;
        users::set_totp(&mut tx, &user.id, None, false, now).await?;
        recovery_codes::replace_all(&mut tx, &user.id, &[], now).await?;
        ended["unconfirmed_account_cleared"] = json!({
            "providers_disconnected": identities,
            "two_factor_removed": user.totp_enabled,
        });
    }
    tell_and_record(
        state,
        &mut tx,
        &user.id,
        meta,
        &messages::password_changed(&to_of(&user)),
        ("password_reset", ended),
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
        tell_and_record(
            state,
            &mut tx,
            &user.id,
            meta,
            &msg,
            ("magic_link_requested", json!({})),
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
        let pending = pending_two_factor(state, &mut tx, &user.id, false, "magic_link").await?;
        tx.commit().await?;
        return Ok(Some(LoginOutcome::TwoFactor { pending }));
    }
    if user.disabled_at.is_some() {
        tx.commit().await?;
        return Ok(Some(deletion_pending_outcome(state, &user, false)));
    }
    let started = start_session(
        state,
        &mut tx,
        &user,
        meta,
        SignIn {
            remember: false,
            method: "magic_link",
            second_factor: false,
        },
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Some(LoginOutcome::Started(started)))
}

// ---------------------------------------------------------------------------------------------
// Settings

/// Sets the name and picture, and the time zone: `None` leaves it; `Some(None)` or an empty
/// name un-picks it (dates follow the browser again: `browser_zone`, the zone the request's
/// client names, is stored for reminders); a name picks it.
pub async fn update_profile(
    state: &AppState,
    user: &User,
    name: Option<&str>,
    picture: Option<&str>,
    time_zone: Option<Option<&str>>,
    browser_zone: Option<&str>,
) -> Result<(), AppError> {
    let name = clean_name(name)?;
    let picked = match time_zone.map(|z| z.map(str::trim).filter(|z| !z.is_empty())) {
        Some(Some(z)) => Some(coachflux_domain::dates::Zone::named(z).ok_or_else(|| {
            AppError::invalid(
                "time_zone",
                "Pick a time zone from the list, like Europe/London or America/New_York.",
            )
        })?),
        _ => None,
    };
    let time_zone = match (time_zone, picked) {
        (_, Some(zone)) => users::ZoneChange::Choose(zone.name()),
        (Some(_), None) => users::ZoneChange::FollowBrowser(browser_zone),
        (None, None) => users::ZoneChange::Keep,
    };
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
        time_zone,
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

/// Changes the password: the current one proves it's the person (an account without one, set
/// up through a provider, needs a recent sign-in instead). Every other credential ends; this
/// device stays signed in.
pub async fn change_password(
    state: &AppState,
    meta: &RequestMeta,
    current_user: &CurrentUser,
    current: String,
    new: String,
) -> Result<(), AppError> {
    let user = &current_user.user;
    if user.password_hash.is_some() {
        credentials::reauthenticate(
            state,
            meta,
            user,
            current,
            "",
            "change_password",
            "current_password",
        )
        .await?;
    } else {
        // Setting a first password adds a way in: only a session that just proved itself may.
        credentials::require_recent(state, current_user)?;
    }
    let inputs = [user.email.as_str(), user.name.as_deref().unwrap_or("")];
    check_new_password(&new, &inputs)
        .map_err(|e| AppError::invalid("new_password", e.to_string()))?;
    let hash = state.hashing.hash(new).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    users::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let ended = end_credentials(&mut tx, user, current_user.device_session_id(), now).await?;
    enqueue(state, &mut tx, &messages::password_changed(&to_of(user))).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        if user.password_hash.is_some() {
            "password_changed"
        } else {
            "password_set"
        },
        Some(meta),
        ended,
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
    credentials::reauthenticate(state, meta, user, password, "", "change_email", "password")
        .await?;
    limits::hit(state, limits::VERIFY_EMAIL, email.as_str()).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    // Taken addresses get the same answer; the change fails when the link is used.
    send_verification(state, &mut tx, user, email.as_str(), None).await?;
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

/// One page of the person's signed-in devices, newest sign-in first.
pub async fn device_sessions(
    state: &AppState,
    user: &User,
    request: &coachflux_domain::paging::PageRequest,
) -> Result<coachflux_domain::paging::Page<auth_sessions::AuthSession>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(auth_sessions::page_active(&mut conn, &user.id, state.clock.now_ms(), request).await?)
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
