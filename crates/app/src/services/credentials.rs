//! Every check of a password or a second-factor code goes through [`attempt`]: the attempt is
//! counted before it is verified, in one atomic statement per counter, so concurrent guesses
//! can't all slip in before the first failure is counted; verification runs on the bounded
//! hasher; a failure writes an audit row. Sign-in, the second factor and every
//! re-authentication (changing the password or email, turning 2FA off, new recovery codes,
//! deleting the account, confirming it's you before a sensitive change) share it.

use super::audit;
use super::limits::{self, Policy};
use super::two_factor::{self, Factor};
use crate::auth::{Credential, CurrentUser};
use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::clock::MINUTE_MS;
use coachflux_domain::request::RequestMeta;
use coachflux_store::auth_sessions;
use coachflux_store::users::User;
use serde_json::json;

/// How long a proof of who you are counts as recent for a sensitive change.
pub const REAUTH_WINDOW_MS: i64 = 10 * MINUTE_MS;

/// What a counter does once the check it guarded succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Forget the failures (the counter is about this one subject, now proven).
    Reset,
    /// Give back this attempt only: the counter spans many subjects (an IP across accounts,
    /// an account across IPs), and one success must not wipe the others' failures.
    Refund,
}

/// One rate-limit counter an attempt is charged to.
#[derive(Debug, Clone)]
pub struct Counter {
    pub policy: Policy,
    pub subject: String,
    pub settle: Settle,
    /// Going over this counter pauses password sign-in to the account (answered as such).
    pub locks_account: bool,
}

impl Counter {
    fn new(policy: Policy, subject: impl Into<String>, settle: Settle) -> Self {
        Self {
            policy,
            subject: subject.into(),
            settle,
            locks_account: false,
        }
    }
}

/// What is being checked, for the counters and the audit row.
pub struct Check<'a> {
    /// The audit action a failure records (`login_failure`, `2fa_failure`, `reauth_failure`).
    pub failure: &'static str,
    pub user_id: Option<&'a str>,
    pub details: serde_json::Value,
    /// Charged in order, before verifying; the first that refuses ends the attempt.
    pub counters: Vec<Counter>,
}

/// Counts the attempt on every counter, runs `verify`, audits a failure and settles the
/// counters on success. `Ok(None)` is a wrong password or code (already audited).
pub async fn attempt<T>(
    state: &AppState,
    meta: &RequestMeta,
    check: Check<'_>,
    verify: impl Future<Output = Result<Option<T>, AppError>>,
) -> Result<Option<T>, AppError> {
    for c in &check.counters {
        match limits::hit(state, c.policy, &c.subject).await {
            Ok(()) => {}
            Err(AppError::RateLimited { retry_after_secs }) if c.locks_account => {
                return Err(AppError::AccountLocked { retry_after_secs });
            }
            Err(e) => return Err(e),
        }
    }
    match verify.await? {
        Some(v) => {
            for c in &check.counters {
                match c.settle {
                    Settle::Reset => limits::reset(state, c.policy, &c.subject).await?,
                    Settle::Refund => limits::refund(state, c.policy, &c.subject).await?,
                }
            }
            Ok(Some(v))
        }
        None => {
            let mut conn = state.store.conn().await?;
            audit::record(
                &mut conn,
                check.user_id,
                check.failure,
                Some(meta),
                check.details,
                state.clock.now_ms(),
            )
            .await?;
            Ok(None)
        }
    }
}

/// The counters of a password sign-in to `address` from `meta.ip`: this address from this
/// IP, this IP across accounts, this account across IPs.
pub fn login_counters(meta: &RequestMeta, address: &str) -> Vec<Counter> {
    vec![
        Counter::new(limits::LOGIN_IP, meta.ip.clone(), Settle::Refund),
        Counter {
            locks_account: true,
            ..Counter::new(limits::LOGIN_ACCOUNT, address, Settle::Refund)
        },
        Counter::new(
            limits::LOGIN,
            format!("{}:{address}", meta.ip),
            Settle::Reset,
        ),
    ]
}

/// The counter of second-factor codes at sign-in.
pub fn two_factor_counters(user_id: &str) -> Vec<Counter> {
    vec![Counter::new(limits::TWO_FACTOR, user_id, Settle::Reset)]
}

/// Re-authenticates a signed-in person before `purpose`: their password when the account has
/// one, else a two-factor (or recovery) code. An account with neither proves itself by
/// signing in again (with its provider or an email link): [`AppError::ReauthRequired`].
/// `field` names the form field a wrong password is reported on.
pub async fn reauthenticate(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    password: String,
    code: &str,
    purpose: &'static str,
    field: &'static str,
) -> Result<Factor, AppError> {
    let check = |how: &str| Check {
        failure: "reauth_failure",
        user_id: Some(&user.id),
        details: json!({"purpose": purpose, "with": how}),
        counters: vec![Counter::new(limits::REAUTH, &user.id, Settle::Reset)],
    };
    if user.password_hash.is_some() {
        let ok = attempt(state, meta, check("password"), async {
            Ok(state
                .hashing
                .verify(password, user.password_hash.clone())
                .await?
                .then_some(()))
        })
        .await?;
        return match ok {
            Some(()) => Ok(Factor::Password),
            None => Err(AppError::invalid(
                field,
                "That isn't your current password.",
            )),
        };
    }
    if user.totp_enabled {
        let how = attempt(state, meta, check("code"), async {
            let mut conn = state.store.conn().await?;
            two_factor::check_code(state, &mut conn, user, code, state.clock.now_ms()).await
        })
        .await?;
        return how.ok_or_else(|| AppError::invalid("code", "That code didn't work."));
    }
    Err(AppError::ReauthRequired)
}

/// Confirms it's the person before a sensitive change ("sudo mode"): checks the password or
/// code, then marks the session as recently authenticated (and as having proved the second
/// factor when a code was given; `second_factor` insists on one). Returns the caller as it
/// stands now.
pub async fn confirm(
    state: &AppState,
    meta: &RequestMeta,
    current: &CurrentUser,
    password: String,
    code: &str,
    second_factor: bool,
) -> Result<CurrentUser, AppError> {
    let user = &current.user;
    if second_factor && (!user.totp_enabled || code.trim().is_empty()) {
        return Err(AppError::invalid(
            "code",
            "Enter the code from your authenticator app as well.",
        ));
    }
    let Some(session_id) = current.device_session_id() else {
        return Err(AppError::Forbidden(
            "Personal API tokens can't confirm sensitive changes; sign in instead.",
        ));
    };
    // The password when the account has one, else a code.
    let mut factor =
        reauthenticate(state, meta, user, password, code, "confirm", "password").await?;
    // With both, a code given beside the password proves the second factor as well.
    if factor == Factor::Password && user.totp_enabled && !code.trim().is_empty() {
        let code_check = Check {
            failure: "reauth_failure",
            user_id: Some(&user.id),
            details: json!({"purpose": "confirm", "with": "code"}),
            counters: vec![Counter::new(limits::REAUTH, &user.id, Settle::Reset)],
        };
        factor = attempt(state, meta, code_check, async {
            let mut conn = state.store.conn().await?;
            two_factor::check_code(state, &mut conn, user, code, state.clock.now_ms()).await
        })
        .await?
        .ok_or_else(|| AppError::invalid("code", "That code didn't work."))?;
    }
    let second = matches!(factor, Factor::Totp | Factor::RecoveryCode);
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    auth_sessions::mark_authenticated(&mut tx, session_id, now, second).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "reauthenticated",
        Some(meta),
        json!({"with": factor.as_str()}),
        now,
    )
    .await?;
    tx.commit().await?;
    let previous_second = match current.credential {
        Credential::Session {
            second_factor_at, ..
        } => second_factor_at,
        Credential::ApiToken => None,
    };
    Ok(CurrentUser {
        credential: Credential::Session {
            authenticated_at: now,
            second_factor_at: if second { Some(now) } else { previous_second },
        },
        ..current.clone()
    })
}

/// Refuses a sensitive change unless this session proved who it is within
/// [`REAUTH_WINDOW_MS`]. Personal API tokens never qualify.
pub fn require_recent(state: &AppState, current: &CurrentUser) -> Result<(), AppError> {
    if current.recently_authenticated(state.clock.now_ms()) {
        Ok(())
    } else {
        Err(AppError::ReauthRequired)
    }
}
