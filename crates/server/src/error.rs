//! The one application error type that services and handlers return.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use coachflux_store::StoreError;

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
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
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
