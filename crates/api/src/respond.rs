//! Small helpers every area's endpoints answer with.

use crate::paging::json_response;
use crate::problem::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coachflux_app::AppState;

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn ok<T: serde::Serialize>(body: &T) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

pub(crate) fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A deleted resource frees the Idempotency-Keys that created it (see `paging::idempotent`).
pub(crate) async fn forget_created(state: &AppState, id: &str) -> Result<(), ApiError> {
    coachflux_app::services::idempotency::forget(state, id).await?;
    Ok(())
}

pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::App(anyhow::Error::from(e).into()))
}

pub(crate) fn canonical<T: serde::Serialize>(what: &str, body: &T) -> String {
    format!("{what} {}", serde_json::to_string(body).unwrap_or_default())
}
