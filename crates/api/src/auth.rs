//! Signing in without cookies: password (and second factor), sign-up and its confirmation, email links, sign-out.

use crate::caller::Caller;
use crate::me::*;
use crate::paging::json_response;
use crate::problem::{ApiError, ApiJson, Problem};
use crate::respond::*;
use axum::extract::State;
use axum::http::{StatusCode, header};
use coachflux_app::AppState;
use coachflux_app::services::accounts::{self, LoginOutcome, SignupInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This area's endpoints, each declared once by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(two_factor))
        .routes(routes!(logout))
        .routes(routes!(signup))
        .routes(routes!(verify_email))
        .routes(routes!(magic_link))
        .routes(routes!(password_reset))
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Keep the session for 30 days of inactivity instead of 24 hours.
    #[serde(default)]
    pub remember: bool,
}

/// Either a session token, or (with 2FA on) a challenge for `POST /auth/2fa`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"twoFactorRequired": false,
    "token": "JBONU9QfloyBfwhMa9S0tu0k7K2qgi5WQQ1HMWtI5ic", "challenge": null,
    "user": {"id": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c",
        "email": "ada@example.com", "emailVerified": true, "name": "Ada", "picture": null,
        "role": "member", "subscriptionStatus": "free", "totpEnabled": false,
        "createdAt": 1768471200000_i64, "lastLoginAt": 1768471200000_i64,
        "emailPreferences": {"productUpdates": true, "newsletter": false,
        "actionReminders": true, "marketingEmails": false}}}))]
pub struct LoginResponse {
    pub two_factor_required: bool,
    /// Send as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Send with the code to `POST /auth/2fa` within 5 minutes.
    pub challenge: Option<String>,
    pub user: Option<Me>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"challenge": "UrRxTWUuEej_C4SJT6M52qI1O064AxB8ARyYYZpmtIM",
    "code": "492817"}))]
pub struct TwoFactorRequest {
    pub challenge: String,
    /// A 6-digit code from the authenticator app, or a recovery code.
    pub code: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "a long and unusual passphrase", "name": "Ada", "acceptTerms": true}))]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    pub accept_terms: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct EmailRequest {
    pub email: String,
}

/// The link from a verification email.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"token": "q3M1hZr9xW0bC6uD2eF5gH8iJ4kL7mN0pQ3rS6tU9vw"}))]
pub struct VerifyEmailRequest {
    /// The `token` parameter of the link.
    pub token: String,
}

/// What a verification link confirmed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"verified": "email"}))]
pub struct EmailVerified {
    /// `email`: the account's address is confirmed; `emailChanged`: the account now uses the
    /// new address.
    pub verified: String,
}

/// A request was accepted; the outcome arrives by email.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "message": "If that address has an account, a sign-in link is on its way."}))]
pub struct Accepted {
    pub message: String,
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Endpoints

/// Signs in with email and password: a bearer token, or a 2FA challenge.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor is needed", body = LoginResponse),
        (status = 403, description = "The account is waiting for deletion (code deletion_pending); keep it by signing in on the website", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult {
    match accounts::login(
        &state,
        &caller.meta,
        &body.email,
        body.password,
        body.remember,
    )
    .await?
    {
        LoginOutcome::Started(started) => signed_in(&state, started).await,
        LoginOutcome::TwoFactor { pending } => ok(&LoginResponse {
            two_factor_required: true,
            token: None,
            challenge: Some(pending),
            user: None,
        }),
        LoginOutcome::DeletionPending { erase_at, .. } => Err(deletion_pending(erase_at)),
    }
}

/// An account waiting for deletion signs in on the website, where it can choose to keep it.
fn deletion_pending(erase_at: i64) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "deletion_pending",
        format!(
            "This account is scheduled for deletion on {}. Sign in on the website to keep it.",
            accounts::format_utc(erase_at)
        ),
    )
}

async fn signed_in(state: &AppState, started: accounts::Started) -> ApiResult {
    let user = accounts::account(state, &started.user_id).await?;
    ok(&LoginResponse {
        two_factor_required: false,
        token: Some(started.token),
        challenge: None,
        user: Some(Me::from(&user)),
    })
}

/// Completes a sign-in with a TOTP or recovery code.
#[utoipa::path(post, path = "/api/v1/auth/2fa", tag = "auth", request_body = TwoFactorRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 403, description = "The account is waiting for deletion (code deletion_pending)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or expired code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn two_factor(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TwoFactorRequest>,
) -> ApiResult {
    match accounts::complete_two_factor(&state, &caller.meta, &body.challenge, &body.code).await? {
        LoginOutcome::Started(started) => signed_in(&state, started).await,
        LoginOutcome::DeletionPending { erase_at, .. } => Err(deletion_pending(erase_at)),
        LoginOutcome::TwoFactor { .. } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_code",
            "Please start the sign-in again.",
        )),
    }
}

/// Ends the session whose token made the request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let user = caller.member()?;
    if caller.token.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_session",
            "This is a personal API token; revoke it with DELETE /api/v1/tokens/{id} instead.",
        ));
    }
    accounts::logout(&state, &caller.meta, &user.user.id, &user.session_id).await?;
    no_content()
}

/// Creates an account. The answer is the same whether or not the address already had one:
/// a new account gets a verification link (confirm it with `POST /api/v1/auth/verify-email`,
/// then sign in); the owner of an existing one is told someone tried.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 202, description = "Check your email to continue", body = Accepted),
        (status = 422, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SignupRequest>,
) -> ApiResult {
    let input = SignupInput {
        email: body.email,
        password: body.password,
        name: body.name,
        accept_terms: body.accept_terms,
    };
    accounts::signup(&state, &caller.meta, input).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &Accepted {
            message: "Check your email to continue.".into(),
        },
    ))
}

/// Confirms an email address with the token from its verification link.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Confirmed", body = EmailVerified),
        (status = 422, description = "The link is unknown, used or expired, or the new address was taken meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> ApiResult {
    match accounts::verify_email(&state, &caller.meta, &body.token, None).await? {
        Some(accounts::Verified::EmailChanged) => ok(&EmailVerified {
            verified: "emailChanged".into(),
        }),
        Some(_) => ok(&EmailVerified {
            verified: "email".into(),
        }),
        None => Err(ApiError::App(coachflux_app::AppError::invalid(
            "token",
            "This link is unknown, used or expired. Ask for a new one.",
        ))),
    }
}

/// Emails a sign-in link (if the address has an account). The link signs in the browser that
/// asked, so use it from a cookie-keeping client.
#[utoipa::path(post, path = "/api/v1/auth/magic-link", tag = "auth", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way", body = Accepted),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn magic_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EmailRequest>,
) -> ApiResult {
    let binding = accounts::request_magic_link(&state, &caller.meta, &body.email).await?;
    let mut r = json_response(
        StatusCode::ACCEPTED,
        &Accepted {
            message: "If that address has an account, a sign-in link is on its way.".into(),
        },
    );
    let cookie = coachflux_http::cookies::build(
        &state.cookies,
        state.cookies.magic,
        binding,
        Some(accounts::MAGIC_TTL_MS),
    );
    if let Ok(v) = cookie.to_string().parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// Emails a password-reset link (if the address has an account).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way", body = Accepted),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn password_reset(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EmailRequest>,
) -> ApiResult {
    accounts::request_password_reset(&state, &caller.meta, &body.email).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &Accepted {
            message: "If that address has an account, a reset link is on its way.".into(),
        },
    ))
}

// ---------------------------------------------------------------------------------------------
