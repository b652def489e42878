//! Rate limits on the attempts attackers repeat. Counters live in the database so that they
//! hold across every instance. Keys name the account (and the IP for logins) so nobody can lock
//! someone else out without really trying their account.

use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::clock::{HOUR_MS, MINUTE_MS};
use coachflux_store::rate_limits;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub name: &'static str,
    pub window_ms: i64,
    pub max: i64,
}

/// Sign-in attempts per IP and account.
pub const LOGIN: Policy = Policy {
    name: "login",
    window_ms: 15 * MINUTE_MS,
    max: 5,
};
/// Failed sign-ins per IP across every account (credential stuffing from one address).
pub const LOGIN_IP: Policy = Policy {
    name: "login-ip",
    window_ms: 15 * MINUTE_MS,
    max: 20,
};
/// Failed sign-ins per account across every IP (a botnet on one account). Going over pauses
/// password sign-in to the account; its owner still signs in with an email link.
pub const LOGIN_ACCOUNT: Policy = Policy {
    name: "login-account",
    window_ms: HOUR_MS,
    max: 10,
};
/// Wrong passwords or codes when a signed-in person re-authenticates, per account.
pub const REAUTH: Policy = Policy {
    name: "reauth",
    window_ms: 15 * MINUTE_MS,
    max: 5,
};
/// Sign-up attempts per email address.
pub const SIGNUP: Policy = Policy {
    name: "signup",
    window_ms: HOUR_MS,
    max: 3,
};
/// Magic-link requests per email address.
pub const MAGIC_LINK: Policy = Policy {
    name: "magic",
    window_ms: HOUR_MS,
    max: 3,
};
/// Password-reset requests per email address.
pub const PASSWORD_RESET: Policy = Policy {
    name: "reset",
    window_ms: HOUR_MS,
    max: 3,
};
/// Verification emails per address.
pub const VERIFY_EMAIL: Policy = Policy {
    name: "verify",
    window_ms: HOUR_MS,
    max: 3,
};
/// Wrong second-factor codes per account.
pub const TWO_FACTOR: Policy = Policy {
    name: "2fa",
    window_ms: 15 * MINUTE_MS,
    max: 5,
};

fn key(policy: Policy, subject: &str) -> String {
    format!("{}:{}", policy.name, subject)
}

fn refused(retry_after_ms: i64) -> AppError {
    AppError::RateLimited {
        retry_after_secs: u64::try_from(retry_after_ms.max(1_000) / 1_000).unwrap_or(1),
    }
}

/// Counts one attempt; refuses it when over the limit.
pub async fn hit(state: &AppState, policy: Policy, subject: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    let d = rate_limits::hit(
        &mut conn,
        &key(policy, subject),
        policy.window_ms,
        policy.max,
        state.clock.now_ms(),
    )
    .await?;
    if d.allowed {
        Ok(())
    } else {
        Err(refused(d.retry_after_ms))
    }
}

/// Counts one request in a plain fixed window (no backoff): for throughput limits.
pub async fn hit_window(state: &AppState, policy: Policy, subject: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    let d = rate_limits::hit_window(
        &mut conn,
        &key(policy, subject),
        policy.window_ms,
        policy.max,
        state.clock.now_ms(),
    )
    .await?;
    if d.allowed {
        Ok(())
    } else {
        Err(refused(d.retry_after_ms))
    }
}

/// Refuses when the subject is currently blocked, without counting.
pub async fn check(state: &AppState, policy: Policy, subject: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    let d = rate_limits::check(
        &mut conn,
        &key(policy, subject),
        policy.window_ms,
        policy.max,
        state.clock.now_ms(),
    )
    .await?;
    if d.allowed {
        Ok(())
    } else {
        Err(refused(d.retry_after_ms))
    }
}

/// Gives back one attempt counted by [`hit`] (see [`rate_limits::refund`]).
pub async fn refund(state: &AppState, policy: Policy, subject: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    rate_limits::refund(&mut conn, &key(policy, subject)).await?;
    Ok(())
}

pub async fn reset(state: &AppState, policy: Policy, subject: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    rate_limits::reset(&mut conn, &key(policy, subject)).await?;
    Ok(())
}
