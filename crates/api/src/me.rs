//! The account: its profile, email preferences, devices, data export and deletion.

use crate::caller::Caller;
use crate::paging::{PageQuery, json_response, next_cursor};
use crate::problem::refusals::{Forbidden, Invalid};
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::respond::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use coachflux_app::AppState;
use coachflux_app::services::accounts::{self};
use coachflux_http::Meta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This area's endpoints, each declared once by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(preferences, set_preferences))
        .routes(routes!(device_sessions))
        .routes(routes!(export_me))
        .routes(routes!(request_deletion))
        .routes(routes!(revoke_device_session))
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"productUpdates": true, "newsletter": false,
    "actionReminders": true, "marketingEmails": false}))]
pub struct EmailPreferences {
    pub product_updates: bool,
    pub newsletter: bool,
    pub action_reminders: bool,
    pub marketing_emails: bool,
}

impl From<coachflux_app::model::EmailPreferences> for EmailPreferences {
    fn from(p: coachflux_app::model::EmailPreferences) -> Self {
        Self {
            product_updates: p.product_updates,
            newsletter: p.newsletter,
            action_reminders: p.action_reminders,
            marketing_emails: p.marketing_emails,
        }
    }
}

impl From<&EmailPreferences> for coachflux_app::model::EmailPreferences {
    fn from(p: &EmailPreferences) -> Self {
        Self {
            product_updates: p.product_updates,
            newsletter: p.newsletter,
            action_reminders: p.action_reminders,
            marketing_emails: p.marketing_emails,
        }
    }
}

/// The signed-in member.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c", "email": "ada@example.com",
    "emailVerified": true, "name": "Ada", "picture": null, "timeZone": "Europe/London",
    "role": "member",
    "subscriptionStatus": "free", "totpEnabled": false, "createdAt": 1768471200000_i64,
    "lastLoginAt": 1768471200000_i64, "emailPreferences": {"productUpdates": true,
    "newsletter": false, "actionReminders": true, "marketingEmails": false}}))]
pub struct Me {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    /// The IANA time zone the person chose; `null` while dates follow the client's zone (the
    /// `X-Time-Zone` header, else the browser's).
    pub time_zone: Option<String>,
    pub role: String,
    pub subscription_status: String,
    pub totp_enabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub email_preferences: EmailPreferences,
}

impl From<&coachflux_app::model::User> for Me {
    fn from(u: &coachflux_app::model::User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            picture: u.picture.clone(),
            time_zone: u.time_zone.clone().filter(|_| u.time_zone_chosen),
            role: u.role.to_string(),
            subscription_status: u.subscription_status.to_string(),
            totp_enabled: u.totp_enabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
            email_preferences: u.email_preferences.into(),
        }
    }
}

/// Profile changes; a field left out stays as it is, `null` or "" clears it (for `timeZone`:
/// un-picks it).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Ada Lovelace",
    "picture": "https://images.example.com/ada.png"}))]
pub struct MeUpdate {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(max_length = 100)]
    pub name: Option<Option<String>>,
    /// An https:// image URL.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub picture: Option<Option<String>>,
    /// An IANA time zone ("Europe/Berlin") the person picks: dates they write are days there,
    /// wherever they are. `null` un-picks it: the `X-Time-Zone` header (else the browser's,
    /// else the one named at their last sign-in, else UTC) is used again.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(max_length = 64, example = "Europe/Berlin")]
    pub time_zone: Option<Option<String>>,
}

/// A field that is present, `null` included (`Some(None)`): serde reads a `null` for an
/// `Option<Option<_>>` as absent, which would make "`null` clears it" keep the value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Proof that the member is asking: their password; accounts without one send a two-factor
/// code, and accounts with neither repeat their email address.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple", "code": null,
    "confirmEmail": null, "reason": "I've finished my coaching programme."}))]
pub struct DeletionRequest {
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub password: Option<String>,
    #[serde(default)]
    #[schema(max_length = 20)]
    pub code: Option<String>,
    #[serde(default)]
    #[schema(max_length = 320)]
    pub confirm_email: Option<String>,
    /// Why they are leaving (optional).
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// A deletion request was accepted: the account is switched off now and erased at `eraseAt`
/// unless the member signs in on the website before then and keeps it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"eraseAt": 1771063200000_i64}))]
pub struct DeletionScheduled {
    /// Milliseconds since the Unix epoch.
    pub erase_at: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d2-8d5f-7b21-a2c3-3f6e9dab1c2d",
    "device": "Firefox on Linux",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
    "ip": "203.0.113.7", "createdAt": 1768471200000_i64, "lastActivityAt": 1768474800000_i64,
    "expiresAt": 1768561200000_i64, "current": true}))]
pub struct DeviceSession {
    pub id: String,
    /// "Firefox on Linux".
    pub device: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: i64,
    pub last_activity_at: i64,
    pub expires_at: i64,
    /// The session making this request.
    pub current: bool,
}

impl DeviceSession {
    pub fn new(s: &coachflux_app::model::AuthSession, current: &str) -> Self {
        Self {
            id: s.id.clone(),
            device: coachflux_domain::request::describe_device(&s.user_agent),
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            created_at: s.created_at,
            last_activity_at: s.last_activity_at,
            expires_at: s.expires_at.min(s.absolute_expires_at),
            current: s.id == current,
        }
    }
}

crate::paging::page!(DeviceSessionPage, DeviceSession, {"items": [
    {"id": "0193f1d2-8d5f-7b21-a2c3-3f6e9dab1c2d",
        "device": "Firefox on Linux",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
        "ip": "203.0.113.7", "createdAt": 1768471200000_i64, "lastActivityAt": 1768474800000_i64,
        "expiresAt": 1768561200000_i64, "current": true}],
    "nextCursor": null});

// ---------------------------------------------------------------------------------------------
// Endpoints

/// The signed-in member.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
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
    ))]
pub async fn export_me(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let user = &caller.member()?.user;
    let doc = coachflux_app::services::privacy::export(&state, &user.id).await?;
    ok(&doc)
}

/// Asks for the account to be deleted. It is switched off at once: every session and API
/// token stops working (this one too) and a confirmation email goes out. Signing in on the
/// website within 7 days offers to keep it; after that everything is erased.
#[utoipa::path(post, path = "/api/v1/me/deletion", tag = "me", security(("bearer" = [])), request_body = DeletionRequest,
    responses(
        (status = 202, description = "Deletion scheduled", body = DeletionScheduled),
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
    let erase_at = coachflux_app::services::privacy::request_deletion(
        &state,
        &caller.meta,
        user,
        coachflux_app::services::privacy::DeletionRequest {
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

/// Changes the name, picture or time zone.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = MeUpdate,
    responses(
        (status = 200, body = Me),
        (status = 403, description = "Read-only token", body = Problem, content_type = "application/problem+json"),
        Invalid,
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    Meta(meta): Meta,
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
    let time_zone = body.time_zone.as_ref().map(Option::as_deref);
    accounts::update_profile(
        &state,
        user,
        name,
        picture,
        time_zone,
        meta.time_zone.as_deref(),
    )
    .await?;
    let fresh = accounts::account(&state, &user.id).await?;
    ok(&Me::from(&fresh))
}

/// The four email preferences.
#[utoipa::path(get, path = "/api/v1/me/email-preferences", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = EmailPreferences),
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
        Forbidden,
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
    ))]
pub async fn device_sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let user = caller.member()?;
    let page = accounts::device_sessions(&state, &user.user, &q.request()?).await?;
    ok(&DeviceSessionPage {
        items: page
            .items
            .iter()
            .map(|s| DeviceSession::new(s, &user.session_id))
            .collect(),
        next_cursor: next_cursor(&page),
    })
}

/// Signs one device out.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device session id")),
    responses(
        (status = 204, description = "Signed out"),
        Forbidden,
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
