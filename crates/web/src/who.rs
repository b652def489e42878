//! Who is asking, for pages: the signed-in person or a redirect to sign in, and how the app's
//! errors become pages.

use crate::flash::{Flash, redirect_with};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use coachflux_app::auth::CurrentUser;
use coachflux_app::error::ACCOUNT_LOCKED;
use coachflux_app::{AppError, AppState};

/// What a page handler answers when it can't render: an application error, or a redirect to
/// sign in (and come back to `next`).
#[derive(Debug)]
pub enum PageError {
    App(AppError),
    SignIn { next: String },
}

pub type PageResult<T = Response> = Result<T, PageError>;

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        use crate::errors::{page_for, page_with, set_retry_after};
        let e = match self {
            PageError::SignIn { next } => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            PageError::App(e) => e,
        };
        match e {
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

/// The signed-in person, or a redirect to the login page.
pub struct RequireUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<CurrentUser>() {
            Some(c) => Ok(RequireUser(c.clone())),
            None => Err(PageError::SignIn {
                next: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "/".to_owned()),
            }),
        }
    }
}

/// The signed-in person, if any.
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(parts.extensions.get::<CurrentUser>().cloned()))
    }
}

/// Sends the person to confirm it's them, then back to `next`.
pub fn confirm_first(state: &AppState, next: &str) -> Response {
    redirect_with(state, &confirm_url(next, false), Flash::ConfirmFirst)
}

pub fn confirm_url(next: &str, second_factor: bool) -> String {
    format!(
        "/settings/confirm?next={}{}",
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>(),
        if second_factor {
            "&second_factor=1"
        } else {
            ""
        }
    )
}
