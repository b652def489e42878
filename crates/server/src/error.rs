//! The one application error type that services and handlers return.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use coachflux_store::StoreError;

/// What a person is told when password sign-in to their account is paused.
pub const ACCOUNT_LOCKED: &str = "There have been too many wrong passwords for this account, so password sign-in is paused for a while to protect it. You can still sign in with an email link, or reset your password.";

/// A message about one form field, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The thing changed since it was read (another tab, a second click); nothing was saved.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Input that a person can correct; pages re-render their form with these.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("too many attempts; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Password sign-in to this account is paused after many failures from anywhere; its owner
    /// can still sign in with an email link.
    #[error("password sign-in paused for this account; retry after {retry_after_secs} s")]
    AccountLocked { retry_after_secs: u64 },
    /// The server is at its bound for expensive work (password hashing): try again shortly.
    #[error("busy; retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// The change needs a recent proof of who is asking (password, code or a fresh sign-in).
    #[error("re-authentication required")]
    ReauthRequired,
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError {
            field,
            message: message.into(),
        }])
    }

    /// The message for `field`, when this is a validation error about it.
    pub fn message_for(&self, field: &str) -> Option<&str> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.as_str()),
            _ => None,
        }
    }
}

impl From<crate::crypto::HashError> for AppError {
    fn from(e: crate::crypto::HashError) -> Self {
        match e {
            crate::crypto::HashError::Busy => AppError::Busy {
                retry_after_secs: BUSY_RETRY_SECS,
            },
            crate::crypto::HashError::Failed(e) => AppError::Internal(e),
        }
    }
}

/// What a refusal for being busy suggests as `Retry-After`.
pub const BUSY_RETRY_SECS: u64 = 5;

/// Sets `Retry-After` (at least one second).
pub fn set_retry_after(r: &mut Response, secs: u64) {
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Store(StoreError::Db(e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        use crate::web::{page_for, page_with};
        match self {
            AppError::NotFound => page_for(StatusCode::NOT_FOUND),
            AppError::Forbidden(why) => {
                page_with(StatusCode::FORBIDDEN, "You can't do that here", why)
            }
            AppError::Conflict(why) => {
                page_with(StatusCode::CONFLICT, "That changed meanwhile", why)
            }
            AppError::Invalid(errors) => {
                let text = errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                page_with(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Some of that didn't check out",
                    &text,
                )
            }
            AppError::RateLimited { retry_after_secs } => {
                let minutes = retry_after_secs.div_ceil(60).max(1);
                let mut r = page_with(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Slow down a little",
                    &format!(
                        "Too many attempts in a short time. Please wait about {minutes} minute{} and try again.",
                        if minutes == 1 { "" } else { "s" }
                    ),
                );
                set_retry_after(&mut r, retry_after_secs);
                r
            }
            AppError::AccountLocked { retry_after_secs } => {
                let mut r = page_with(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Password sign-in is paused",
                    ACCOUNT_LOCKED,
                );
                set_retry_after(&mut r, retry_after_secs);
                r
            }
            AppError::Busy { retry_after_secs } => {
                let mut r = page_with(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "We're busy right now",
                    "Too many people are signing in at this moment. Please try again in a few seconds; nothing was changed.",
                );
                set_retry_after(&mut r, retry_after_secs);
                r
            }
            AppError::ReauthRequired => Redirect::to("/settings/confirm").into_response(),
            AppError::SignInRequired { next } => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Redirect::to(&target).into_response()
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "store error");
                page_for(StatusCode::INTERNAL_SERVER_ERROR)
            }
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                page_for(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
