//! The one application error type handlers return.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coachflux_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => crate::web::page_for(StatusCode::NOT_FOUND),
            AppError::Store(e) => {
                // Logged with its cause; the person sees a generic page.
                tracing::error!(error = %e, "store error");
                crate::web::page_for(StatusCode::INTERNAL_SERVER_ERROR)
            }
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                crate::web::page_for(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
