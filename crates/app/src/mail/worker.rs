//! Delivers the outbox: claims due rows (a lease, so several instances never send one message
//! twice), sends them, and schedules retries with exponential backoff.

use super::transport::{SendError, Transport};
use crate::crypto::Keys;
use coachflux_domain::SharedClock;
use coachflux_domain::random::Entropy;
use coachflux_store::{Store, outbox};
use lettre::message::Mailbox;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// After this many attempts a message is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
const LEASE_MS: i64 = 120_000;
const BATCH: i64 = 20;

/// Builds the one-click unsubscribe URL of a list email (`None` for transactional mail).
pub type UnsubscribeUrl = Box<dyn Fn(&outbox::OutboxEmail) -> Option<String> + Send + Sync>;

#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Opens the sealed bodies just before sending.
    keys: Keys,
    clock: SharedClock,
    transport: Transport,
    from: Mailbox,
    entropy: Entropy,
    wake: Notify,
    /// Builds the one-click unsubscribe URL of list mail.
    unsubscribe: UnsubscribeUrl,
}

/// The delay before attempt `attempts + 1`: 30 s doubling per attempt, at most 1 h, plus up to
/// 10 % jitter so that retries from many messages spread out.
pub fn backoff_ms(attempts: i64, entropy: &Entropy) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    let base = 30_000_i64
        .saturating_mul(1_i64 << exp.min(16))
        .min(3_600_000);
    let jitter = i64::try_from(entropy.below(u64::try_from(base / 10).unwrap_or(0))).unwrap_or(0);
    base + jitter
}

impl Outbox {
    pub fn new(
        store: Store,
        keys: Keys,
        clock: SharedClock,
        transport: Transport,
        from: Mailbox,
        entropy: Entropy,
        unsubscribe: UnsubscribeUrl,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                keys,
                clock,
                transport,
                from,
                entropy,
                wake: Notify::new(),
                unsubscribe,
            }),
        }
    }

    /// Asks the worker to look at the outbox now (after a commit that enqueued mail).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Sends one message straight through the transport, bypassing the outbox table: for the
    /// last email to an account being erased, which must leave no copy of the address behind.
    pub async fn send_direct(&self, email: &outbox::OutboxEmail) -> Result<(), SendError> {
        self.inner
            .transport
            .send(&self.inner.from, email, None)
            .await
    }

    /// Delivers everything that is due now; returns how many were sent.
    pub async fn deliver_due(&self) -> coachflux_store::Result<usize> {
        let inner = &self.inner;
        let mut sent = 0;
        loop {
            let now = inner.clock.now_ms();
            let batch = {
                let mut conn = inner.store.conn().await?;
                outbox::claim_due(&mut conn, now, LEASE_MS, BATCH).await?
            };
            if batch.is_empty() {
                return Ok(sent);
            }
            for email in batch {
                let unsubscribe = (inner.unsubscribe)(&email);
                let result = match super::opened(&inner.keys, &email) {
                    Some(open) => {
                        inner
                            .transport
                            .send(&inner.from, &open, unsubscribe.as_deref())
                            .await
                    }
                    None => Err(SendError {
                        message: "the body was sealed with another server key".into(),
                        permanent: true,
                    }),
                };
                let now = inner.clock.now_ms();
                let mut conn = inner.store.conn().await?;
                match result {
                    Ok(()) => {
                        outbox::mark_sent(&mut conn, &email.id, now).await?;
                        sent += 1;
                    }
                    Err(SendError { message, permanent }) => {
                        if permanent || email.attempts >= MAX_ATTEMPTS {
                            tracing::error!(id = %email.id, attempts = email.attempts, error = %message, "email failed for good");
                            outbox::mark_failed(&mut conn, &email.id, &message).await?;
                        } else {
                            let next = now + backoff_ms(email.attempts, &inner.entropy);
                            tracing::warn!(id = %email.id, attempts = email.attempts, error = %message, "email delivery failed; will retry");
                            outbox::mark_retry(&mut conn, &email.id, next, &message).await?;
                        }
                    }
                }
            }
        }
    }

    /// Runs until the task is dropped: delivers, then sleeps until woken or `poll` passes.
    pub fn spawn(self, poll: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.deliver_due().await {
                    tracing::error!(error = %e, "outbox worker");
                }
                tokio::select! {
                    () = self.inner.wake.notified() => {},
                    () = tokio::time::sleep(poll) => {},
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let e = Entropy::seeded(1);
        let first = backoff_ms(1, &e);
        assert!((30_000..33_000).contains(&first), "{first}");
        let third = backoff_ms(3, &e);
        assert!((120_000..132_000).contains(&third), "{third}");
        let late = backoff_ms(12, &e);
        assert!((3_600_000..=3_960_000).contains(&late), "{late}");
    }
}
