//! RFC 9457 problem details: every API error is `application/problem+json` with a stable
//! `code`, a human `detail`, and field-level `errors` for validation. Nothing internal leaks.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coachflux_app::AppError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// A problem report (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "type": "about:blank", "title": "Unprocessable Content", "status": 422,
    "code": "validation_failed", "detail": "Give the action a title.",
    "errors": [{"field": "title", "message": "Give the action a title."}]
}))]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable: `not_found`, `validation_failed`, `unauthorized`, ...
    pub code: String,
    /// What went wrong, for a person.
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// What is wrong with one field.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"field": "title", "message": "Title must be 1 to 200 characters."}))]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// An API error: an application error, or a protocol-level refusal.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    Status {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    /// A body that doesn't have the expected shape, with the path of the field at fault
    /// (`title`, `tags[2]`, or `body` for the whole).
    Shape {
        field: String,
        message: String,
    },
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Status {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
}

/// Sets `Retry-After` (at least one second).
fn set_retry_after(r: &mut Response, secs: u64) {
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// A problem response with `status`, `code` and `detail`.
pub fn problem(
    status: StatusCode,
    code: &str,
    detail: &str,
    errors: Vec<FieldProblem>,
) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        detail: detail.to_owned(),
        errors,
    };
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// Replaces the plain-text body of a framework-made error (405, 413, a timeout...) with a
/// problem document, keeping `Retry-After` and `Allow`; JSON already made is kept.
pub fn as_problem(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        return response;
    }
    let mut problem = for_status(status);
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            problem.headers_mut().insert(name, v.clone());
        }
    }
    problem
}

/// The problem for a bare status (routing misses, body limits, timeouts...).
pub fn for_status(status: StatusCode) -> Response {
    let (code, detail) = match status.as_u16() {
        400 => ("bad_request", "The request was malformed."),
        401 => ("unauthorized", "Authentication is required."),
        403 => ("forbidden", "You may not do that."),
        404 => ("not_found", "There is nothing here."),
        405 => (
            "method_not_allowed",
            "This endpoint doesn't accept that method.",
        ),
        406 => (
            "not_acceptable",
            "This endpoint can't produce that media type.",
        ),
        408 | 503 => (
            "unavailable",
            "The request took too long. Try again shortly.",
        ),
        413 => (
            "payload_too_large",
            "The request body is larger than we accept.",
        ),
        415 => (
            "unsupported_media_type",
            "Send JSON with Content-Type: application/json.",
        ),
        422 => ("validation_failed", "Some of the input didn't check out."),
        429 => (
            "rate_limited",
            "Too many requests. Slow down and retry later.",
        ),
        s if s >= 500 => (
            "internal",
            "Something went wrong on our side. Nothing was lost.",
        ),
        _ => ("error", "The request could not be completed."),
    };
    problem(status, code, detail, Vec::new())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Status {
                status,
                code,
                detail,
            } => problem(status, code, &detail, Vec::new()),
            ApiError::Shape { field, message } => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                &message,
                vec![FieldProblem {
                    field,
                    message: message.clone(),
                }],
            ),
            ApiError::App(e) => match e {
                AppError::NotFound => for_status(StatusCode::NOT_FOUND),
                AppError::Forbidden(why) => {
                    problem(StatusCode::FORBIDDEN, "forbidden", why, vec![])
                }
                AppError::Conflict(why) => problem(StatusCode::CONFLICT, "conflict", why, vec![]),
                AppError::Invalid(errors) => {
                    let detail = errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    problem(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation_failed",
                        &detail,
                        errors
                            .into_iter()
                            .map(|e| FieldProblem {
                                field: e.field.to_owned(),
                                message: e.message,
                            })
                            .collect(),
                    )
                }
                AppError::RateLimited { retry_after_secs } => {
                    let mut r = for_status(StatusCode::TOO_MANY_REQUESTS);
                    set_retry_after(&mut r, retry_after_secs);
                    r
                }
                AppError::AccountLocked { retry_after_secs } => {
                    let mut r = problem(
                        StatusCode::TOO_MANY_REQUESTS,
                        "account_locked",
                        coachflux_app::error::ACCOUNT_LOCKED,
                        vec![],
                    );
                    set_retry_after(&mut r, retry_after_secs);
                    r
                }
                AppError::Busy { retry_after_secs } => {
                    let mut r = problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "Too many sign-ins at this moment. Retry shortly; nothing was changed.",
                        vec![],
                    );
                    set_retry_after(&mut r, retry_after_secs);
                    r
                }
                AppError::ReauthRequired => problem(
                    StatusCode::FORBIDDEN,
                    "reauthentication_required",
                    "Confirm it's you first: send your current password (or, without one, a \
                     two-factor code) with this request, or sign in again.",
                    vec![],
                ),
                AppError::Store(e) => {
                    tracing::error!(error = %e, "store error");
                    for_status(StatusCode::INTERNAL_SERVER_ERROR)
                }
                AppError::Internal(e) => {
                    tracing::error!(error = format!("{e:#}"), "internal error");
                    for_status(StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
        }
    }
}

/// A JSON body: 415 without `Content-Type: application/json`, 400 when it isn't JSON, 422
/// when it doesn't have the expected shape (naming the field).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
                    || (v.starts_with("application/") && v.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send JSON with Content-Type: application/json.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The request body is larger than we accept.",
                )
            })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "The body isn't valid JSON.",
            )
        })?;
        // Every request body is an object (serde would otherwise take a struct as an array).
        if !value.is_object() {
            return Err(ApiError::Shape {
                field: "body".into(),
                message: "The body must be a JSON object.".into(),
            });
        }
        serde_path_to_error::deserialize::<_, T>(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path.is_empty() || path == "." {
                    "body".to_owned()
                } else {
                    path
                };
                ApiError::Shape {
                    message: format!(
                        "The JSON doesn't have the expected shape: {}.",
                        clean_serde(e.inner())
                    ),
                    field,
                }
            })
    }
}

/// serde's message without the " at line 1 column 12" suffix.
fn clean_serde(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Query parameters: a malformed query is a 400 problem naming the issue.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(ApiQuery(q.0)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                match e {
                    QueryRejection::FailedToDeserializeQueryString(inner) => {
                        format!("The query string is invalid: {}.", inner.body_text())
                    }
                    other => other.body_text(),
                },
            )),
        }
    }
}

/// The refusals many endpoints share, each declared once for the OpenAPI document and listed
/// by name in an endpoint's `responses(...)`. Endpoint-specific wording stays on the endpoint.
pub mod refusals {
    use super::Problem;
    use utoipa::IntoResponses;

    #[derive(IntoResponses)]
    #[response(
        status = 400,
        description = "Malformed request (query, header or JSON)",
        content_type = "application/problem+json"
    )]
    pub struct BadRequest(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 401,
        description = "Missing, invalid, expired or revoked credentials",
        content_type = "application/problem+json"
    )]
    pub struct Unauthorized(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 403,
        description = "Not allowed: a read-only token, a missing CSRF token, or not yours to change",
        content_type = "application/problem+json"
    )]
    pub struct Forbidden(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 404,
        description = "No such resource of yours",
        content_type = "application/problem+json"
    )]
    pub struct NotFound(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 409,
        description = "A request with this Idempotency-Key is still being processed, or its first answer can't be replayed",
        content_type = "application/problem+json"
    )]
    pub struct KeyInUse(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 409,
        description = "The session changed meanwhile (another tab, a second click); nothing was saved",
        content_type = "application/problem+json"
    )]
    pub struct SessionChanged(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 422,
        description = "The input didn't check out; `errors` names each field at fault",
        content_type = "application/problem+json"
    )]
    pub struct Invalid(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 413,
        description = "The body is larger than we accept",
        content_type = "application/problem+json"
    )]
    pub struct TooLarge(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 415,
        description = "The body isn't JSON",
        content_type = "application/problem+json"
    )]
    pub struct NotJson(pub Problem);

    #[derive(IntoResponses)]
    #[response(
        status = 429,
        description = "Too many requests; see Retry-After",
        content_type = "application/problem+json"
    )]
    pub struct TooMany(pub Problem);
}
