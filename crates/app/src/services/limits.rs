//! Rate limits. Two kinds, on purpose:
//!
//! - **Security limits** on the attempts attackers repeat (sign-ins, codes, emails): counters
//!   in the database, so they hold across every instance. They are rare (a person signs in a
//!   few times a day), so their durable write costs nothing that matters. Keys name the
//!   account (and the IP for logins) so nobody can lock someone else out without really trying
//!   their account.
//! - **The API throughput limit** ([`ApiLimiter`]): counted in memory on each instance (GCRA,
//!   `governor`), so an API read never writes to the database. Behind N instances a client gets
//!   up to N times the budget; the budget is there to stop a runaway script, not an attacker.

use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::SharedClock;
use coachflux_domain::clock::{HOUR_MS, MINUTE_MS};
use coachflux_store::rate_limits;
use governor::nanos::Nanos;
use std::num::NonZeroU32;
use std::sync::Arc;

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

// ---------------------------------------------------------------------------------------------
// The API throughput limit, in memory

/// At most this many clients are tracked; past it (after forgetting the idle ones) the table
/// starts afresh rather than grow: a flood of that many distinct clients in a minute is not
/// something a per-client budget stops anyway.
const MAX_TRACKED: usize = 200_000;

/// The per-instance API budget: `per_minute` requests per client, spent at most all at once
/// and refilled evenly (GCRA). Clients are keyed by a hash of their bucket (token, session,
/// visitor id or address), so memory per client is a few dozen bytes.
#[derive(Clone)]
pub struct ApiLimiter {
    /// Replaced whole when the table outgrows [`MAX_TRACKED`].
    inner: Arc<std::sync::RwLock<Arc<Keyed>>>,
    quota: governor::Quota,
    clock: AppClock,
    hasher: std::hash::RandomState,
    /// When idle clients were last forgotten (ms).
    pruned_at: Arc<std::sync::atomic::AtomicI64>,
}

type Keyed = governor::RateLimiter<
    u64,
    governor::state::keyed::DashMapStateStore<u64>,
    AppClock,
    governor::middleware::NoOpMiddleware<Instant>,
>;

impl ApiLimiter {
    pub fn new(per_minute: i64, clock: SharedClock) -> Self {
        let per_minute = u32::try_from(per_minute.max(1)).unwrap_or(u32::MAX);
        let quota =
            governor::Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        let clock = AppClock(clock);
        Self {
            inner: Arc::new(std::sync::RwLock::new(Arc::new(
                governor::RateLimiter::dashmap_with_clock(quota, clock.clone()),
            ))),
            quota,
            clock,
            hasher: std::hash::RandomState::new(),
            pruned_at: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        }
    }

    /// Spends one request of `bucket`'s budget, or says how long to wait. Once a minute the
    /// first caller also forgets the idle clients.
    pub fn check(&self, bucket: &str) -> Result<(), AppError> {
        use std::sync::atomic::Ordering;
        let now = self.clock.0.now_ms();
        let last = self.pruned_at.load(Ordering::Relaxed);
        if now - last >= MINUTE_MS
            && self
                .pruned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.forget_idle();
        }
        let key = std::hash::BuildHasher::hash_one(&self.hasher, bucket);
        self.table().check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            refused(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
        })
    }

    /// Forgets clients whose budget is full again (run every minute or so), and starts afresh
    /// past [`MAX_TRACKED`] clients.
    pub fn forget_idle(&self) {
        let table = self.table();
        table.retain_recent();
        if table.len() > MAX_TRACKED {
            tracing::warn!(clients = table.len(), "API rate-limit table started afresh");
            let fresh = governor::RateLimiter::dashmap_with_clock(self.quota, self.clock.clone());
            *self
                .inner
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
        } else {
            table.shrink_to_fit();
        }
    }

    /// How many clients are tracked.
    pub fn tracked(&self) -> usize {
        self.table().len()
    }

    fn table(&self) -> Arc<Keyed> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The application's clock as `governor` reads it.
#[derive(Debug, Clone)]
struct AppClock(SharedClock);

/// Milliseconds since the epoch, as nanoseconds.
#[derive(Debug, Copy, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(u64);

impl std::ops::Add<Nanos> for Instant {
    type Output = Self;

    fn add(self, other: Nanos) -> Self {
        Self(self.0.saturating_add(other.as_u64()))
    }
}

impl governor::clock::Reference for Instant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::from(self.0.saturating_sub(earlier.0))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        Self(self.0.saturating_sub(duration.as_u64()))
    }
}

impl governor::clock::Clock for AppClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        Instant(
            u64::try_from(self.0.now_ms())
                .unwrap_or(0)
                .saturating_mul(1_000_000),
        )
    }
}
