//! The `rate_limits` table: fixed-window counters shared by every instance, so a limit holds
//! cluster-wide (an attacker spreading attempts over instances gains nothing).
//!
//! A key (e.g. `login:<email>`) counts attempts in a window of `window_ms` starting at its first
//! attempt. Going over `max` blocks the key; every further attempt while blocked doubles the
//! block (capped at a day), so hammering a locked key only locks it longer. Once the block and
//! the window are over, the next attempt starts a fresh window.

use crate::{Conn, Result};
use sqlx::Row;

/// The longest block exponential backoff can reach.
const MAX_BACKOFF_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Attempts counted in the current window.
    pub count: i64,
    /// How long until an attempt may be allowed again; 0 when allowed.
    pub retry_after_ms: i64,
}

/// Counts one attempt under `key` in a fixed window of `window_ms` allowing `max`.
///
/// The count is one atomic upsert (concurrent attempts each get their own count on both
/// engines): it restarts the window when the previous one has passed and no block is running,
/// and otherwise adds one. When the count exceeds `max`, the key is blocked until
/// `now + window_ms * 2^(count - max - 1)` (at most a day), never shortening a longer block.
/// The attempt is allowed when `count <= max` and no block is running.
pub async fn hit(
    conn: &mut Conn,
    key: &str,
    window_ms: i64,
    max: i64,
    now: i64,
) -> Result<RateDecision> {
    let row = sqlx::query(
        "INSERT INTO rate_limits (key, window_start, count, blocked_until, updated_at) \
         VALUES ($1, $2, 1, NULL, $2) \
         ON CONFLICT (key) DO UPDATE SET \
         count = CASE WHEN rate_limits.window_start <= $2 - $3 \
             AND (rate_limits.blocked_until IS NULL OR rate_limits.blocked_until <= $2) \
             THEN 1 ELSE rate_limits.count + 1 END, \
         window_start = CASE WHEN rate_limits.window_start <= $2 - $3 \
             AND (rate_limits.blocked_until IS NULL OR rate_limits.blocked_until <= $2) \
             THEN $2 ELSE rate_limits.window_start END, \
         blocked_until = CASE WHEN rate_limits.window_start <= $2 - $3 \
             AND (rate_limits.blocked_until IS NULL OR rate_limits.blocked_until <= $2) \
             THEN NULL ELSE rate_limits.blocked_until END, \
         updated_at = $2 \
         RETURNING count, window_start, blocked_until",
    )
    .bind(key)
    .bind(now)
    .bind(window_ms)
    .fetch_one(&mut *conn)
    .await?;
    let count: i64 = row.try_get("count")?;
    let window_start: i64 = row.try_get("window_start")?;
    let mut blocked_until: Option<i64> = row.try_get("blocked_until")?;

    if count > max {
        let until = now.saturating_add(backoff_ms(window_ms, count - max - 1));
        // Keep the later of the two blocks: a concurrent attempt may have set a longer one.
        sqlx::query(
            "UPDATE rate_limits SET blocked_until = CASE \
             WHEN blocked_until IS NULL OR blocked_until < $2 THEN $2 ELSE blocked_until END \
             WHERE key = $1",
        )
        .bind(key)
        .bind(until)
        .execute(&mut *conn)
        .await?;
        blocked_until = Some(blocked_until.map_or(until, |b| b.max(until)));
    }

    let blocked = blocked_until.is_some_and(|b| b > now);
    let allowed = count <= max && !blocked;
    Ok(RateDecision {
        allowed,
        count,
        retry_after_ms: if allowed {
            0
        } else {
            retry_after(window_start, window_ms, blocked_until, now)
        },
    })
}

/// Whether `key` is currently refused, without counting an attempt: the decision the next
/// [`hit`] would get, i.e. refused while blocked or once the window already holds `max`
/// attempts. Lets callers refuse early (before checking a password, say) and count only
/// failures with [`hit`]. `count` is the window's count so far (0 when the window is over).
pub async fn check(
    conn: &mut Conn,
    key: &str,
    window_ms: i64,
    max: i64,
    now: i64,
) -> Result<RateDecision> {
    let row =
        sqlx::query("SELECT window_start, count, blocked_until FROM rate_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else {
        return Ok(RateDecision {
            allowed: true,
            count: 0,
            retry_after_ms: 0,
        });
    };
    let window_start: i64 = row.try_get("window_start")?;
    let count: i64 = row.try_get("count")?;
    let blocked_until: Option<i64> = row.try_get("blocked_until")?;

    let blocked = blocked_until.is_some_and(|b| b > now);
    if !blocked && window_start <= now.saturating_sub(window_ms) {
        // The window is over: the next attempt starts a new one.
        return Ok(RateDecision {
            allowed: true,
            count: 0,
            retry_after_ms: 0,
        });
    }
    let allowed = !blocked && count < max;
    Ok(RateDecision {
        allowed,
        count,
        retry_after_ms: if allowed {
            0
        } else {
            retry_after(window_start, window_ms, blocked_until, now)
        },
    })
}

/// Gives back one attempt counted under `key` (a check counted first that then succeeded), so
/// counters that must outlive a success (per address, per account) count only failures.
pub async fn refund(conn: &mut Conn, key: &str) -> Result<()> {
    sqlx::query("UPDATE rate_limits SET count = count - 1 WHERE key = $1 AND count > 0")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets `key` (e.g. after a successful sign-in, failures no longer count).
pub async fn reset(conn: &mut Conn, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM rate_limits WHERE key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `window_ms * 2^doublings`, capped at [`MAX_BACKOFF_MS`] without overflowing.
fn backoff_ms(window_ms: i64, doublings: i64) -> i64 {
    let factor = u32::try_from(doublings)
        .ok()
        .and_then(|d| 1_i64.checked_shl(d))
        .filter(|f| *f > 0)
        .unwrap_or(i64::MAX);
    window_ms.saturating_mul(factor).min(MAX_BACKOFF_MS)
}

/// Time until both the block and the window are over.
fn retry_after(window_start: i64, window_ms: i64, blocked_until: Option<i64>, now: i64) -> i64 {
    let window_end = window_start.saturating_add(window_ms);
    blocked_until
        .map_or(window_end, |b| b.max(window_end))
        .saturating_sub(now)
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_at_a_day() {
        assert_eq!(backoff_ms(1_000, 0), 1_000);
        assert_eq!(backoff_ms(1_000, 1), 2_000);
        assert_eq!(backoff_ms(1_000, 3), 8_000);
        assert_eq!(backoff_ms(60_000, 20), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(60_000, 63), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(60_000, 1_000), MAX_BACKOFF_MS);
    }
}
