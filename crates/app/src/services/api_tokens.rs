//! Personal API tokens: created by their owner, shown once, stored hashed, scoped `read` or
//! `read write`, revocable, and never older than the instance's cap (90 days by default).
//! Minting one hands out a long-lived credential, so it takes a confirmed email address and a
//! session that just proved who it is; a token can't mint another.

use crate::auth::CurrentUser;
use crate::crypto::{hash_token, random_token};
use crate::error::{AppError, FieldError};
use crate::services::{audit, credentials};
use crate::state::AppState;
use coachflux_domain::clock::DAY_MS;
use coachflux_domain::ids::new_id;
use coachflux_domain::paging::{Page, PageRequest};
use coachflux_domain::request::RequestMeta;
use coachflux_store::api_tokens::{self, ApiToken, NewApiToken};
use serde_json::json;

pub const MAX_TOKENS_PER_USER: i64 = 50;

/// Personal API tokens start with this, so they can be told from session tokens (and found
/// by secret scanners).
pub const TOKEN_PREFIX: &str = "cfp_";

/// A new personal token's secret (shown once) and the hash that is stored.
pub(crate) fn new_secret() -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let hash = hash_token(&token);
    (token, hash)
}

/// Creates a token; returns it (to show once) with its stored record. Without
/// `expires_in_days` it lives as long as the cap allows.
pub async fn create(
    state: &AppState,
    meta: &RequestMeta,
    current: &CurrentUser,
    name: &str,
    scopes: &[String],
    expires_in_days: Option<u32>,
) -> Result<(String, ApiToken), AppError> {
    if current.device_session_id().is_none() {
        return Err(AppError::Forbidden(
            "A personal API token can't create tokens. Sign in to create one.",
        ));
    }
    if !current.user.email_verified {
        return Err(AppError::Forbidden(
            "Confirm your email address first: API tokens are for accounts whose address is confirmed.",
        ));
    }
    credentials::require_recent(state, current)?;
    let user_id = current.user.id.as_str();
    let max_days = state.config.api_token_max_days;
    let mut errors = Vec::new();
    let typed = name.trim().chars().count();
    let name = coachflux_domain::text::single_line(name);
    if name.is_empty() || typed > 100 {
        errors.push(FieldError {
            field: "name",
            message: "Name the token (up to 100 characters) so you can recognise it later.".into(),
        });
    }
    let mut wants: Vec<&str> = scopes.iter().map(|s| s.trim()).collect();
    if wants.is_empty() {
        wants.push("read");
    }
    if wants.iter().any(|s| !matches!(*s, "read" | "write")) {
        errors.push(FieldError {
            field: "scopes",
            message: "Scopes are \"read\" and \"write\".".into(),
        });
    }
    let scopes = if wants.contains(&"write") {
        "read write"
    } else {
        "read"
    };
    let days = i64::from(expires_in_days.unwrap_or(u32::try_from(max_days).unwrap_or(90)));
    if !(1..=max_days).contains(&days) {
        errors.push(FieldError {
            field: "expiresInDays",
            message: format!("A token expires after 1 to {max_days} days."),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if api_tokens::count_unrevoked(&mut tx, user_id).await? >= MAX_TOKENS_PER_USER {
        return Err(AppError::invalid(
            "name",
            format!("You have {MAX_TOKENS_PER_USER} tokens; revoke one you no longer use first."),
        ));
    }
    let (token, token_hash) = new_secret();
    let id = new_id();
    let expires_at = Some(now + days * DAY_MS);
    api_tokens::insert(
        &mut tx,
        &NewApiToken {
            id: &id,
            user_id,
            name: &name,
            token_hash: &token_hash,
            scopes,
            expires_at,
            now,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        Some(user_id),
        "api_token_created",
        Some(meta),
        json!({"token": id, "scopes": scopes, "expires_at": expires_at}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        token,
        ApiToken {
            id,
            user_id: user_id.to_owned(),
            name,
            scopes: scopes.to_owned(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
            created_at: now,
        },
    ))
}

/// The token a bearer value names and its owner, if it may be used at `now`: not revoked, not
/// expired, younger than the cap (older tokens without an expiry, or a cap lowered since, end
/// there too), and its account switched on.
pub async fn authenticate(
    state: &AppState,
    bearer: &str,
) -> Result<Option<(ApiToken, CurrentUser)>, AppError> {
    let now = state.clock.now_ms();
    let oldest = now - state.config.api_token_max_days * DAY_MS;
    let mut conn = state.store.conn().await?;
    let Some((t, user)) =
        api_tokens::find_active_with_user(&mut conn, &hash_token(bearer), now, oldest)
            .await?
            .filter(|(_, u)| u.disabled_at.is_none())
    else {
        return Ok(None);
    };
    // "Last used" is written at most once a minute, after the answer: a read stays a read.
    if t.last_used_at
        .is_none_or(|at| now - at >= crate::auth::STAMP_EVERY_MS)
        && state.stamps.claim(&t.id, now)
    {
        let (store, id) = (state.store.clone(), t.id.clone());
        tokio::spawn(async move {
            let stamped = match store.conn().await {
                Ok(mut conn) => api_tokens::touch(&mut conn, &id, now).await,
                Err(e) => Err(e),
            };
            if let Err(e) = stamped {
                tracing::warn!(error = %e, "stamping a token's last use");
            }
        });
    }
    let current = CurrentUser {
        user,
        session_id: format!("token:{}", t.id),
        credential: crate::auth::Credential::ApiToken,
    };
    Ok(Some((t, current)))
}

/// One page of the person's tokens (expired ones are listed until revoked, so they can be told
/// apart), newest first.
pub async fn page(
    state: &AppState,
    user_id: &str,
    request: &PageRequest,
) -> Result<Page<ApiToken>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(api_tokens::page(&mut conn, user_id, request).await?)
}

/// Revokes one of the person's tokens; another person's id is "not found".
pub async fn revoke(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    id: &str,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if !api_tokens::revoke(&mut tx, user_id, id, now).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(user_id),
        "api_token_revoked",
        Some(meta),
        json!({"token": id}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
