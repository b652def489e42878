//! `Idempotency-Key`s for the API's creates: the first request with a key claims it, its answer
//! is kept (sealed with the server key: one may hold a token shown once) and replayed for the
//! same request, refused for another. A failed request frees its key; deleting what a request
//! created frees it too.

use crate::AppState;
use crate::crypto::{Purpose, hash_token};
use crate::error::AppError;
use coachflux_store::idempotency;

/// What claiming a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: run the request, then [`complete`] or [`release`].
    Fresh,
    /// The same request was answered before: replay this (status, JSON body).
    Replay(u16, String),
    /// The key came with another request.
    Reused,
    /// The first request with this key is still running.
    InUse,
    /// The first answer can't be opened (the server key changed since).
    Unreadable,
}

/// Claims `key` for `owner` (the caller's rate-limit bucket) and the request it came with.
pub async fn claim(
    state: &AppState,
    owner: &str,
    user_id: Option<&str>,
    key: &str,
    request: &str,
) -> Result<Claim, AppError> {
    let hash = hash_token(request);
    let mut conn = state.store.conn().await?;
    let Some(stored) = idempotency::claim(
        &mut conn,
        &coachflux_domain::ids::new_id(),
        owner,
        user_id,
        key,
        &hash,
        state.clock.now_ms(),
    )
    .await?
    else {
        return Ok(Claim::Fresh);
    };
    if stored.request_hash != hash {
        return Ok(Claim::Reused);
    }
    let Some((status, sealed)) = stored.response else {
        return Ok(Claim::InUse);
    };
    Ok(state
        .keys
        .open(Purpose::IdempotentResponse, &sealed)
        .and_then(|b| String::from_utf8(b).ok())
        .map_or(Claim::Unreadable, |body| Claim::Replay(status, body)))
}

/// Keeps the answer to the request that claimed `key`; `created` is the id of what it made.
pub async fn complete(
    state: &AppState,
    owner: &str,
    key: &str,
    status: u16,
    body: &str,
    created: Option<&str>,
) -> Result<(), AppError> {
    let sealed = state
        .keys
        .seal(Purpose::IdempotentResponse, body.as_bytes());
    let mut conn = state.store.conn().await?;
    idempotency::complete(&mut conn, owner, key, status, &sealed, created).await?;
    Ok(())
}

/// Frees `key` after its request failed: the client may fix it and retry.
pub async fn release(state: &AppState, owner: &str, key: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    idempotency::release(&mut conn, owner, key).await?;
    Ok(())
}

/// Frees the keys whose request created `id` (it was deleted: no replay of a ghost).
pub async fn forget(state: &AppState, id: &str) -> Result<(), AppError> {
    let mut conn = state.store.conn().await?;
    idempotency::forget_resource(&mut conn, id).await?;
    Ok(())
}
