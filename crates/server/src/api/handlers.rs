//! API v1 endpoints. Each one parses, calls the same service the web pages call, and shapes
//! the answer; none has SQL or business rules of its own.

use super::caller::Caller;
use super::paging::{PageQuery, encode_cursor, idempotent, json_response, page_of};
use super::problem::{ApiError, ApiJson, ApiQuery, Problem};
use super::types::*;
use crate::services::accounts::{self, LoginOutcome, SignupInput};
use crate::services::coaching::{self, Actor, Move};
use crate::services::{actions, api_tokens};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coachflux_store::action_items::Filter;
use coachflux_store::coaching::Owner;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

type ApiResult = Result<Response, ApiError>;

fn ok<T: serde::Serialize>(body: &T) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A deleted resource frees the Idempotency-Keys that created it (see `paging::idempotent`).
async fn forget_created(state: &AppState, id: &str) -> Result<(), ApiError> {
    let mut conn = state.store.conn().await?;
    coachflux_store::idempotency::forget_resource(&mut conn, id).await?;
    Ok(())
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::App(anyhow::Error::from(e).into()))
}

fn canonical<T: serde::Serialize>(what: &str, body: &T) -> String {
    format!("{what} {}", serde_json::to_string(body).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Auth

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
    let mut conn = state.store.conn().await?;
    let user = coachflux_store::users::get(&mut conn, &started.user_id)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
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
        None => Err(ApiError::App(crate::error::AppError::invalid(
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
    let cookie = state
        .cookies
        .build(state.cookies.magic, binding, Some(accounts::MAGIC_TTL_MS));
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
// Me

/// The signed-in member.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(caller: Caller) -> ApiResult {
    ok(&Me::from(&caller.member()?.user))
}

/// Everything CoachFlux holds about the member (GDPR export): account, sessions with their
/// reflections, action items (archived too), subscriptions, invoices, feedback, tickets,
/// notifications, events, devices, tokens and the security log, with `exportedAt`. Never
/// password hashes, codes or tokens.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The export document", body = Object),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_me(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let user = &caller.member()?.user;
    let doc = crate::services::privacy::export(&state, &user.id).await?;
    ok(&doc)
}

/// Asks for the account to be deleted. It is switched off at once: every session and API
/// token stops working (this one too) and a confirmation email goes out. Signing in on the
/// website within 7 days offers to keep it; after that everything is erased.
#[utoipa::path(post, path = "/api/v1/me/deletion", tag = "me", security(("bearer" = [])), request_body = DeletionRequest,
    responses(
        (status = 202, description = "Deletion scheduled", body = DeletionScheduled),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A personal API token (deletion needs a session token)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password or code, or a reason that is too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_deletion(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<DeletionRequest>,
) -> ApiResult {
    let user = &caller.writer()?.user;
    if caller.token.is_some() {
        // A leaked script token must not be enough to delete an account.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "session_required",
            "Deleting an account needs a session token from POST /api/v1/auth/login, not a personal API token.",
        ));
    }
    let erase_at = crate::services::privacy::request_deletion(
        &state,
        &caller.meta,
        user,
        crate::services::privacy::DeletionRequest {
            password: body.password.unwrap_or_default(),
            code: body.code.as_deref().unwrap_or_default(),
            confirm_email: body.confirm_email.as_deref().unwrap_or_default(),
            reason: body.reason.as_deref().unwrap_or_default(),
        },
    )
    .await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &DeletionScheduled { erase_at },
    ))
}

/// Changes the name or picture.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = MeUpdate,
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Read-only token", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MeUpdate>,
) -> ApiResult {
    let user = &caller.writer()?.user;
    let name = match &body.name {
        Some(v) => v.as_deref(),
        None => user.name.as_deref(),
    };
    let picture = match &body.picture {
        Some(v) => v.as_deref(),
        None => user.picture.as_deref(),
    };
    accounts::update_profile(&state, user, name, picture).await?;
    let mut conn = state.store.conn().await?;
    let fresh = coachflux_store::users::get(&mut conn, &user.id)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    ok(&Me::from(&fresh))
}

/// The four email preferences.
#[utoipa::path(get, path = "/api/v1/me/email-preferences", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = EmailPreferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preferences(caller: Caller) -> ApiResult {
    ok(&EmailPreferences::from(
        caller.member()?.user.email_preferences,
    ))
}

/// Replaces the email preferences.
#[utoipa::path(put, path = "/api/v1/me/email-preferences", tag = "me", security(("bearer" = [])),
    request_body = EmailPreferences,
    responses(
        (status = 200, body = EmailPreferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_preferences(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EmailPreferences>,
) -> ApiResult {
    let user = &caller.writer()?.user;
    accounts::update_preferences(&state, user, &(&body).into()).await?;
    ok(&body)
}

/// The devices signed in to the account.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = DeviceSessionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn device_sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let user = caller.member()?;
    let all = accounts::device_sessions(&state, &user.user).await?;
    let (items, next_cursor) = page_of(all, |s| (s.created_at, s.id.clone()), &q)?;
    ok(&DeviceSessionPage {
        items: items
            .iter()
            .map(|s| DeviceSession::new(s, &user.session_id))
            .collect(),
        next_cursor,
    })
}

/// Signs one device out.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device session id")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_device_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    accounts::revoke_device_session(&state, &caller.meta, &user.user, &id).await?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// API tokens

/// The account's personal API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = ApiTokenPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let user = caller.member()?;
    let all = api_tokens::list(&state, &user.user.id).await?;
    let (items, next_cursor) = page_of(all, |t| (t.created_at, t.id.clone()), &q)?;
    ok(&ApiTokenPage {
        items: items.iter().map(ApiTokenInfo::from).collect(),
        next_cursor,
    })
}

/// Creates a personal API token; the secret is in this response only. It needs a session (not
/// another token), a confirmed email address, and a recent sign-in: within 10 minutes of
/// `POST /auth/login`, or send `password` (or `code`) to confirm it's you.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    request_body = NewApiToken,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first result")),
    responses(
        (status = 201, body = CreatedApiToken),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token can't create tokens; the email isn't confirmed; or confirm it's you first (code reauthentication_required)", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewApiToken>,
) -> ApiResult {
    let mut user = caller.writer()?.clone();
    if body.password.is_some() || body.code.is_some() {
        user = crate::services::credentials::confirm(
            &state,
            &caller.meta,
            &user,
            body.password.clone().unwrap_or_default(),
            body.code.as_deref().unwrap_or(""),
            false,
        )
        .await?;
    }
    let request = canonical("POST /tokens", &body);
    idempotent(&state, &caller, &headers, &request, async {
        let (token, record) = api_tokens::create(
            &state,
            &caller.meta,
            &user,
            &body.name,
            &body
                .scopes
                .iter()
                .map(|s| match s {
                    Scope::Read => "read".to_owned(),
                    Scope::Write => "write".to_owned(),
                })
                .collect::<Vec<_>>(),
            body.expires_in_days,
        )
        .await?;
        Ok((
            StatusCode::CREATED,
            to_value(&CreatedApiToken {
                token,
                info: ApiTokenInfo::from(&record),
            })?,
        ))
    })
    .await
}

/// Revokes a token: the next request with it is 401.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    api_tokens::revoke(&state, &caller.meta, &user.user.id, &id).await?;
    forget_created(&state, &id).await?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Frameworks

/// The coaching frameworks, with whether the caller may start each.
#[utoipa::path(get, path = "/api/v1/frameworks", tag = "frameworks", params(PageQuery),
    responses(
        (status = 200, body = FrameworkPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn frameworks(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let actor = caller.actor();
    let all = state.store.list_frameworks().await?;
    // The catalogue's order is its own: page by position.
    let limit = q.limit()?;
    let start = match q.cursor()? {
        Some(c) => usize::try_from(c.at).unwrap_or(usize::MAX),
        None => 0,
    };
    let items: Vec<FrameworkOut> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| framework_out(&actor, &r.framework))
        .collect();
    let end = start.saturating_add(items.len());
    let next_cursor = (end < all.len())
        .then(|| encode_cursor(i64::try_from(end).unwrap_or(i64::MAX), "position"));
    ok(&FrameworkPage { items, next_cursor })
}

fn framework_out(actor: &Actor, f: &coachflux_domain::Framework) -> FrameworkOut {
    let locked = coaching::entitlement(actor, f)
        .err()
        .map(|l| format!("{} {}", l.reason, l.unlock));
    FrameworkOut::new(f, locked)
}

/// One framework with its steps and fields.
#[utoipa::path(get, path = "/api/v1/frameworks/{id}", tag = "frameworks",
    params(("id" = String, Path, description = "GROW, CLEAR, COMPASS, OSKAR, FUEL or WOOP")),
    responses(
        (status = 200, body = FrameworkOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn framework(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let record = state
        .store
        .get_framework(&id.to_ascii_uppercase())
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    ok(&framework_out(&caller.actor(), &record.framework))
}

// ---------------------------------------------------------------------------------------------
// Coaching sessions

/// The caller's sessions (a visitor's: those of their `X-Anonymous-Id`), newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), params(PageQuery),
    responses(
        (status = 200, body = SessionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let owner = match (&caller.user, &caller.anonymous_id) {
        (Some(u), _) => Owner::User(&u.user.id),
        (None, Some(a)) => Owner::Anonymous(a),
        (None, None) => {
            return Err(ApiError::unauthorized(
                "Send a bearer token, or the X-Anonymous-Id of your visitor sessions.",
            ));
        }
    };
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let rows = coaching::page(
        &state,
        owner,
        cursor.as_ref().map(|c| (c.at, c.id.as_str())),
        limit + 1,
    )
    .await?;
    let next_cursor = (rows.len() > limit)
        .then(|| {
            rows.get(limit - 1)
                .map(|r| encode_cursor(r.created_at, &r.id))
        })
        .flatten();
    ok(&SessionPage {
        items: rows.iter().take(limit).map(SessionSummary::from).collect(),
        next_cursor,
    })
}

/// Starts a session. A visitor without an `X-Anonymous-Id` gets one in the response.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions",
    security(("bearer" = []), ("anonymous" = []), ()), request_body = NewSession,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first result")),
    responses(
        (status = 201, body = CreatedSession),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or locked framework", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewSession>,
) -> ApiResult {
    if caller.token.as_ref().is_some_and(|t| !t.can_write()) {
        caller.require_write()?;
    }
    let mut actor = caller.actor();
    let new_anonymous = (actor.user.is_none() && actor.anonymous_id.is_none())
        .then(|| state.keys.new_anonymous_id());
    if let Some(a) = &new_anonymous {
        actor.anonymous_id = Some(a.clone());
    }
    let request = canonical("POST /sessions", &body);
    idempotent(&state, &caller, &headers, &request, async {
        let id = coaching::start(&state, &actor, &body.framework).await?;
        let loaded = coaching::load(&state, &actor, &id).await?;
        Ok((
            StatusCode::CREATED,
            to_value(&CreatedSession {
                session: Session::new(&loaded, false),
                anonymous_id: new_anonymous.clone(),
            })?,
        ))
    })
    .await
}

/// One session with its reflections.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        (status = 404, description = "No such session of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.identified()?;
    let loaded = coaching::load(&state, &caller.actor(), &id).await?;
    ok(&Session::new(&loaded, true))
}

async fn after_move(state: &AppState, caller: &Caller, id: &str) -> ApiResult {
    let loaded = coaching::load(state, &caller.actor(), id).await?;
    ok(&Session::new(&loaded, false))
}

/// Deletes a session with its reflections and action items.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::delete(&state, &caller.actor(), &id).await?;
    forget_created(&state, &id).await?;
    no_content()
}

/// Accepts the coaching disclaimer and begins the first step.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/consent", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn consent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::act(&state, &caller.actor(), &id, Move::Consent).await?;
    after_move(&state, &caller, &id).await
}

/// Sends an answer. It is saved before anything else happens; the coach replies, or the
/// safety screen pauses the session (`paused: true`). With `Accept: text/event-stream` the
/// reply streams as Server-Sent Events: `delta` events (JSON strings of reply text), `reset`
/// (drop the text shown so far: the built-in coach answers instead), then `done` with the
/// session, or `error`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/turns", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), request_body = TurnRequest,
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session after the coach's reply (or, with Accept: text/event-stream, the event stream)", content(
            (Session = "application/json"),
            (String = "text/event-stream"),
        )),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty, too long, or not expected now", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn turn(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TurnRequest>,
) -> ApiResult {
    caller.require_write()?;
    let country = caller.user.as_ref().and_then(|u| u.user.country.clone());
    if crate::web::sse::wants_stream(&headers) {
        let actor = caller.actor();
        return Ok(crate::web::sse::stream(move |sink| async move {
            let r = coaching::turn_streaming(
                &state,
                &actor,
                &id,
                &body.input,
                country.as_deref(),
                Some(&sink),
            )
            .await;
            drop(sink);
            let loaded = match r {
                Ok(_) => coaching::load(&state, &actor, &id).await,
                Err(e) => Err(e),
            };
            match loaded {
                Ok(l) => (
                    "done",
                    serde_json::to_string(&Session::new(&l, true)).unwrap_or_default(),
                ),
                Err(e) => {
                    let problem = super::problem::ApiError::App(e).into_response();
                    let status = problem.status().as_u16();
                    (
                        "error",
                        serde_json::json!({"status": status, "code": if status == 422 { "validation_failed" } else { "error" }}).to_string(),
                    )
                }
            }
        }));
    }
    coaching::turn(
        &state,
        &caller.actor(),
        &id,
        &body.input,
        country.as_deref(),
    )
    .await?;
    let loaded = coaching::load(&state, &caller.actor(), &id).await?;
    ok(&Session::new(&loaded, true))
}

macro_rules! simple_move {
    ($name:ident, $path:literal, $doc:literal, $move:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "sessions",
            security(("bearer" = []), ("anonymous" = [])),
            params(("id" = String, Path, description = "Session id")),
            responses(
                (status = 200, body = Session),
                (status = 403, body = Problem, content_type = "application/problem+json"),
                (status = 404, body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Not possible in the session's state", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
        ) -> ApiResult {
            caller.require_write()?;
            coaching::act(&state, &caller.actor(), &id, $move).await?;
            after_move(&state, &caller, &id).await
        }
    };
}

simple_move!(
    skip,
    "/api/v1/sessions/{id}/skip",
    "Skips the current question (at most twice per step).",
    Move::Skip
);
simple_move!(
    proceed,
    "/api/v1/sessions/{id}/proceed",
    "Confirms the step's captured fields and moves on.",
    Move::Proceed
);
simple_move!(
    back,
    "/api/v1/sessions/{id}/back",
    "Goes back to the previous step.",
    Move::Back
);
simple_move!(
    resume,
    "/api/v1/sessions/{id}/resume",
    "Resumes a session the safety screen paused.",
    Move::Resume
);

/// Reopens a step (or one field of it) to change the answer.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/amend", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), request_body = AmendRequest,
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn amend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AmendRequest>,
) -> ApiResult {
    caller.require_write()?;
    let m = Move::Amend {
        step: &body.step,
        field: body.field.as_deref(),
    };
    coaching::act(&state, &caller.actor(), &id, m).await?;
    after_move(&state, &caller, &id).await
}

/// Keeps (optionally retitled) or drops a proposed action.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/proposals/{index}", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), request_body = ProposalDecision,
    params(("id" = String, Path, description = "Session id"), ("index" = usize, Path, description = "The proposal's index")),
    responses(
        (status = 200, body = Session),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn proposal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, String)>,
    ApiJson(body): ApiJson<ProposalDecision>,
) -> ApiResult {
    caller.require_write()?;
    let index: usize = index
        .parse()
        .map_err(|_| crate::error::AppError::NotFound)?;
    let accept = body.decision == Decision::Accept;
    let tags = body.tags.as_ref().map(|t| t.join(","));
    let m = Move::Proposal {
        index,
        accept,
        edit: coaching::ProposalEdit {
            title: body.title.as_deref(),
            due: body.due.as_deref(),
            priority: body.priority.map(Priority::as_str),
            tags: tags.as_deref(),
        },
    };
    coaching::act(&state, &caller.actor(), &id, m).await?;
    after_move(&state, &caller, &id).await
}

/// Closes the session: kept actions become action items (for members), the report is final.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/close", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::close(&state, &caller.actor(), &id).await?;
    after_move(&state, &caller, &id).await
}

/// Ends the session before it is finished (after the safety screen paused it, say): what was
/// captured stays readable as a report; it counts as abandoned. A finished session is closed.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/end", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session changed meanwhile (another tab, a second click); nothing was saved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already closed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::end(&state, &caller.actor(), &id).await?;
    after_move(&state, &caller, &id).await
}

/// The report as JSON, or as Markdown with `Accept: text/markdown`.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/report", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Report, content(
            (Report = "application/json"),
            (String = "text/markdown"),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    caller.identified()?;
    let loaded = coaching::load(&state, &caller.actor(), &id).await?;
    let r = coaching::report(&loaded);
    let wants_markdown = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/markdown"));
    if wants_markdown {
        return Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            coaching::markdown(&r),
        )
            .into_response());
    }
    ok(&Report::new(&id, &r))
}

// ---------------------------------------------------------------------------------------------
// Action items

/// Which action items a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    All,
    Open,
    Completed,
    Overdue,
    /// Due in the next 7 days.
    Week,
    Archived,
}

impl StatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Open => "open",
            StatusFilter::Completed => "completed",
            StatusFilter::Overdue => "overdue",
            StatusFilter::Week => "week",
            StatusFilter::Archived => "archived",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// open, completed, overdue, week (due in 7 days), archived, or all; default: all but
    /// archived.
    #[param(inline)]
    pub status: Option<StatusFilter>,
    #[param(inline)]
    pub priority: Option<Priority>,
    pub tag: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// The member's action items, newest first, filtered.
#[utoipa::path(get, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])),
    params(ActionQuery),
    responses(
        (status = 200, body = ActionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_actions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ActionQuery>,
) -> ApiResult {
    let user = caller.member()?;
    let filter = Filter {
        status: q.status.map(|s| s.as_str().to_owned()),
        priority: q.priority.map(|p| p.as_str().to_owned()),
        tag: q.tag.clone(),
    };
    let all = actions::list(&state, &user.user.id, &filter).await?;
    let paging = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let (items, next_cursor) = page_of(all, |a| (a.created_at, a.id.clone()), &paging)?;
    let now = state.clock.now_ms();
    ok(&ActionPage {
        items: items.iter().map(|a| Action::new(a, now)).collect(),
        next_cursor,
    })
}

/// Creates an action item.
#[utoipa::path(post, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])),
    request_body = NewAction,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first result")),
    responses(
        (status = 201, body = Action),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_action(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewAction>,
) -> ApiResult {
    let user = caller.writer()?;
    let request = canonical("POST /actions", &body);
    idempotent(&state, &caller, &headers, &request, async {
        let tags = body.tags.join(",");
        let draft = actions::Draft {
            title: &body.title,
            description: body.description.as_deref().unwrap_or(""),
            due: body.due.as_deref().unwrap_or(""),
            priority: body.priority.map_or("medium", Priority::as_str),
            tags: &tags,
        };
        let id = actions::create(&state, &user.user.id, body.session_id.as_deref(), &draft).await?;
        let item = actions::get(&state, &user.user.id, &id).await?;
        Ok((
            StatusCode::CREATED,
            to_value(&Action::new(&item, state.clock.now_ms()))?,
        ))
    })
    .await
}

/// One action item.
#[utoipa::path(get, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 200, body = Action),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.member()?;
    let item = actions::get(&state, &user.user.id, &id).await?;
    ok(&Action::new(&item, state.clock.now_ms()))
}

/// Changes an action item, including completing it (`completed: true`) or reopening it.
#[utoipa::path(patch, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    request_body = ActionUpdate,
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 200, body = Action),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ActionUpdate>,
) -> ApiResult {
    let user = caller.writer()?;
    let item = actions::get(&state, &user.user.id, &id).await?;
    let edits = body.title.is_some()
        || body.description.is_some()
        || body.due.is_some()
        || body.priority.is_some()
        || body.tags.is_some();
    if edits {
        let current_due = item.due_date.map(coachflux_domain::dates::ymd_string);
        let current_tags: Vec<String> = serde_json::from_str(&item.tags).unwrap_or_default();
        let tags = body.tags.as_ref().unwrap_or(&current_tags).join(",");
        let draft = actions::Draft {
            title: body.title.as_deref().unwrap_or(&item.title),
            description: body
                .description
                .as_deref()
                .or(item.description.as_deref())
                .unwrap_or(""),
            due: body.due.as_deref().or(current_due.as_deref()).unwrap_or(""),
            priority: body
                .priority
                .map(Priority::as_str)
                .unwrap_or(&item.priority),
            tags: &tags,
        };
        actions::update(&state, &user.user.id, &id, &draft).await?;
    }
    // Setting the state it already has changes nothing (the service decides).
    if let Some(done) = body.completed {
        actions::set_completed(&state, &user.user.id, &id, done).await?;
    }
    let fresh = actions::get(&state, &user.user.id, &id).await?;
    ok(&Action::new(&fresh, state.clock.now_ms()))
}

/// Completes an action item.
#[utoipa::path(post, path = "/api/v1/actions/{id}/complete", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 200, body = Action),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn complete_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    actions::set_completed(&state, &user.user.id, &id, true).await?;
    let fresh = actions::get(&state, &user.user.id, &id).await?;
    ok(&Action::new(&fresh, state.clock.now_ms()))
}

/// Deletes an action item.
#[utoipa::path(delete, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Action item id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    actions::delete(&state, &user.user.id, &id).await?;
    forget_created(&state, &id).await?;
    no_content()
}
