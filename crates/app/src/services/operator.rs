//! What an operator does from the command line to one account (`coachflux admin ...`): the same
//! rules as in the app, in one transaction, with an audit row (no actor: the operator) and the
//! email the person would get.

use super::audit;
use crate::AppState;
use crate::error::AppError;
use crate::mail::messages;
use coachflux_domain::account::Role;
use coachflux_domain::email::EmailAddress;
use coachflux_store::users::{self, User};
use coachflux_store::{auth_sessions, recovery_codes};
use serde_json::json;

/// The account with this email address, if there is one.
pub async fn account_by_email(state: &AppState, email: &str) -> Result<Option<User>, AppError> {
    let address =
        EmailAddress::parse(email).map_err(|e| AppError::invalid("email", e.to_string()))?;
    let mut conn = state.store.conn().await?;
    Ok(users::find_by_email(&mut conn, address.as_str()).await?)
}

fn no_account(email: &str) -> AppError {
    AppError::invalid("email", format!("no account has the email {email}"))
}

/// Gives an account a role; the person is told by email.
pub async fn set_role(state: &AppState, email: &str, role: Role) -> Result<User, AppError> {
    let user = account_by_email(state, email)
        .await?
        .ok_or_else(|| no_account(email))?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    users::set_role(&mut tx, &user.id, role, now).await?;
    let notice = messages::role_changed(&super::accounts::to_of(&user), role);
    super::accounts::enqueue(state, &mut tx, &notice).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "role_changed",
        None,
        json!({"from": user.role.as_str(), "to": role.as_str(), "by": "operator"}),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(user)
}

/// Turns two-factor authentication off for someone who lost their phone and recovery codes
/// (after the operator verified them out of band): the secret and codes go, every device is
/// signed out, the person is told by email.
pub async fn reset_two_factor(state: &AppState, email: &str) -> Result<User, AppError> {
    let user = account_by_email(state, email)
        .await?
        .ok_or_else(|| no_account(email))?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    users::set_totp(&mut tx, &user.id, None, false, now).await?;
    recovery_codes::replace_all(&mut tx, &user.id, &[], now).await?;
    let sessions = auth_sessions::revoke_all_for_user(&mut tx, &user.id, None, now).await?;
    let notice = messages::two_factor_changed(&super::accounts::to_of(&user), false);
    super::accounts::enqueue(state, &mut tx, &notice).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "2fa_reset",
        None,
        json!({"by": "operator", "sessions_ended": sessions}),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(user)
}
