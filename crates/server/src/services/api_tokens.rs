//! Personal API tokens: created by their owner, shown once, stored hashed, optionally
//! expiring, scoped `read` or `read write`, revocable.

use crate::api::caller::TOKEN_PREFIX;
use crate::auth::RequestMeta;
use crate::crypto::{hash_token, random_token};
use crate::error::{AppError, FieldError};
use crate::services::audit;
use crate::state::AppState;
use coachflux_domain::clock::DAY_MS;
use coachflux_domain::ids::new_id;
use coachflux_store::api_tokens::{self, ApiToken, NewApiToken};
use serde_json::json;

pub const MAX_TOKENS_PER_USER: usize = 50;

/// Creates a token; returns it (to show once) with its stored record.
pub async fn create(
    state: &AppState,
    meta: &RequestMeta,
    user_id: &str,
    name: &str,
    scopes: &[String],
    expires_in_days: Option<u32>,
) -> Result<(String, ApiToken), AppError> {
    let mut errors = Vec::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
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
    if expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        errors.push(FieldError {
            field: "expiresInDays",
            message: "A token expires after 1 to 3650 days (or omit it for no expiry).".into(),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    if api_tokens::list_for_user(&mut tx, user_id).await?.len() >= MAX_TOKENS_PER_USER {
        return Err(AppError::invalid(
            "name",
            format!("You have {MAX_TOKENS_PER_USER} tokens; revoke one you no longer use first."),
        ));
    }
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let id = new_id();
    let expires_at = expires_in_days.map(|d| now + i64::from(d) * DAY_MS);
    api_tokens::insert(
        &mut tx,
        &NewApiToken {
            id: &id,
            user_id,
            name,
            token_hash: &hash_token(&token),
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
        json!({"token": id, "scopes": scopes}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        token,
        ApiToken {
            id,
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            scopes: scopes.to_owned(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
            created_at: now,
        },
    ))
}

/// The person's usable tokens (expired ones are listed until revoked, so they can be told
/// apart), newest first.
pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<ApiToken>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(api_tokens::list_for_user(&mut conn, user_id).await?)
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
