//! The one application error type services return. It renders nothing: the web face turns it
//! into a page, the API into an RFC 9457 problem.

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
    #[error(transparent)]
    Store(StoreError),
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

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            // Waiting for the write lock ran out: a moment's congestion, not a fault.
            StoreError::Busy => AppError::Busy {
                retry_after_secs: 1,
            },
            other => AppError::Store(other),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Store(StoreError::Db(e))
    }
}
