//! Account settings: profile, email, password, email preferences, two-factor authentication,
//! devices; and the staff mail log.

use super::flash::{Flash, redirect_with};
use super::forms::{FormErrors, checked, form_errors};
use super::{Layout, PageCtx};
use crate::who::PageResult;
use crate::who::{RequireUser, confirm_first, confirm_url};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use coachflux_app::AppError;
use coachflux_app::AppState;
use coachflux_app::auth::CurrentUser;
use coachflux_app::model::EmailPreferences;
use coachflux_app::services::{accounts, privacy, staff, two_factor};
use coachflux_domain::dates;
use coachflux_domain::paging::{Cursor, PageRequest};
use coachflux_domain::request::describe_device;
use coachflux_http::Meta;
use serde::Deserialize;

/// How many signed-in devices the page lists (newest sign-in first).
const DEVICES_SHOWN: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings_page))
        .route("/settings/confirm", get(confirm_page).post(confirm_submit))
        .route("/settings/profile", post(save_profile))
        .route("/settings/email", post(change_email))
        .route("/settings/password", post(change_password))
        .route("/settings/preferences", post(save_preferences))
        .route("/settings/sessions/{id}/revoke", post(revoke_session))
        .route("/settings/sessions/revoke-others", post(revoke_others))
        .route("/settings/2fa", get(two_factor_setup_page))
        .route("/settings/2fa/confirm", post(two_factor_confirm))
        .route("/settings/2fa/disable", post(two_factor_disable))
        .route("/settings/2fa/recovery-codes", post(two_factor_regenerate))
        .route("/settings/identities/{id}/remove", post(remove_identity))
        .route("/settings/export", get(export_data))
        .route("/settings/delete", post(delete_account))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/mail", get(admin_mail))
        .route("/admin/coach", get(admin_coach))
        .route("/admin/jobs", get(admin_jobs))
        .route("/admin/mail/{id}", get(admin_mail_item))
}

pub struct ConnectedRow {
    pub id: String,
    pub label: String,
    pub email: String,
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
}

pub struct DeviceRow {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub last_active: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
struct SettingsPage {
    l: Layout,
    name: String,
    picture: String,
    /// The zone the account names; empty: the browser's is used.
    time_zone: String,
    /// The zones a person picks from.
    zones: Vec<&'static str>,
    email: String,
    email_verified: bool,
    has_password: bool,
    prefs: EmailPreferences,
    totp_enabled: bool,
    unused_codes: i64,
    devices: Vec<DeviceRow>,
    /// More devices are signed in than the page lists.
    more_devices: bool,
    connected: Vec<ConnectedRow>,
    available: Vec<(String, String)>,
    tokens: Vec<TokenRow>,
    /// The lifetimes a new token may have (days, label, preselected), up to the cap.
    token_lifetimes: Vec<(i64, String, bool)>,
    /// A token just created: shown on this one page and never again.
    new_token: Option<String>,
    /// Which form the errors belong to.
    section: &'static str,
    errors: FormErrors,
}

async fn render_settings(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentUser,
    section: &'static str,
    errors: FormErrors,
) -> PageResult {
    render_settings_with(state, ctx, current, section, errors, None).await
}

async fn render_settings_with(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentUser,
    section: &'static str,
    errors: FormErrors,
    new_token: Option<String>,
) -> PageResult {
    let user = &current.user;
    // A person keeps at most 50 tokens, so one page shows them all.
    let tokens =
        coachflux_app::services::api_tokens::page(state, &user.id, &PageRequest::first(50))
            .await?
            .items
            .into_iter()
            .map(|t| TokenRow {
                scopes: if t.can_write() {
                    "read and write"
                } else {
                    "read only"
                }
                .into(),
                created: dates::moment(t.created_at, ctx.zone),
                last_used: t
                    .last_used_at
                    .map_or_else(|| "never".into(), |at| dates::moment(at, ctx.zone)),
                expires: t
                    .expires_at
                    .map_or_else(|| "never".into(), |at| dates::moment(at, ctx.zone)),
                id: t.id,
                name: t.name,
            })
            .collect();
    let devices =
        accounts::device_sessions(state, user, &PageRequest::first(DEVICES_SHOWN)).await?;
    let more_devices = devices.next.is_some();
    let devices = devices
        .items
        .into_iter()
        .map(|s| DeviceRow {
            current: s.id == current.session_id,
            device: describe_device(&s.user_agent),
            ip: s.ip,
            last_active: dates::moment(s.last_activity_at, ctx.zone),
            id: s.id,
        })
        .collect();
    let links = coachflux_app::services::oidc::connections(state, &user.id).await?;
    let connected = links
        .connected
        .into_iter()
        .map(|(p, i)| ConnectedRow {
            id: i.id,
            label: p.label,
            email: i.email.unwrap_or_default(),
        })
        .collect();
    let available = links
        .available
        .into_iter()
        .map(|p| (p.name, p.label))
        .collect();
    let unused_codes = if user.totp_enabled {
        two_factor::unused_codes(state, user).await?
    } else {
        0
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut r = SettingsPage {
        l: ctx.layout("Settings — CoachFlux", "settings"),
        name: user.name.clone().unwrap_or_default(),
        picture: user.picture.clone().unwrap_or_default(),
        time_zone: user
            .time_zone
            .clone()
            .filter(|_| user.time_zone_chosen)
            .unwrap_or_default(),
        zones: coachflux_domain::dates::Zone::choices(),
        email: user.email.clone(),
        email_verified: user.email_verified,
        has_password: user.password_hash.is_some(),
        prefs: user.email_preferences,
        totp_enabled: user.totp_enabled,
        unused_codes,
        devices,
        more_devices,
        connected,
        available,
        tokens,
        token_lifetimes: token_lifetimes(state.config.api_token_max_days),
        new_token,
        section,
        errors,
    }
    .into_response();
    *r.status_mut() = status;
    Ok(r)
}

/// A week, a month, three months, a year — as far as the cap allows, the cap itself last.
fn token_lifetimes(cap: i64) -> Vec<(i64, String, bool)> {
    let label = |d: i64| match d {
        7 => "in a week".to_owned(),
        30 => "in 30 days".to_owned(),
        90 => "in 90 days".to_owned(),
        365 => "in a year".to_owned(),
        1 => "in 1 day".to_owned(),
        d => format!("in {d} days"),
    };
    let mut days: Vec<i64> = [7, 30, 90, 365].into_iter().filter(|d| *d < cap).collect();
    days.push(cap);
    let default = days
        .iter()
        .copied()
        .filter(|d| *d <= 90)
        .max()
        .unwrap_or(cap);
    days.into_iter()
        .map(|d| (d, label(d), d == default))
        .collect()
}

async fn settings_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> PageResult {
    render_settings(&state, &ctx, &current, "", FormErrors::default()).await
}

/// Runs a settings action: on success redirect with a flash, on a validation error show the
/// page again with the messages next to the form.
async fn settle(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentUser,
    section: &'static str,
    result: Result<(), AppError>,
    flash: Flash,
) -> PageResult {
    match result {
        Ok(()) => Ok(redirect_with(state, &format!("/settings#{section}"), flash)),
        Err(AppError::ReauthRequired) => Ok(confirm_first(state, &format!("/settings#{section}"))),
        Err(e) => {
            let errors = form_errors(e)?;
            render_settings(state, ctx, current, section, errors).await
        }
    }
}

/// The GDPR export, as a download.
async fn export_data(
    State(state): State<AppState>,
    RequireUser(current): RequireUser,
) -> PageResult {
    let doc = privacy::export(&state, &current.user.id).await?;
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| AppError::Internal(e.into()))?;
    let name = privacy::export_file_name(state.clock.now_ms());
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    confirm_email: String,
    #[serde(default)]
    reason: String,
}

async fn delete_account(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<DeleteForm>,
) -> PageResult {
    let result = privacy::request_deletion(
        &state,
        &meta,
        &current.user,
        privacy::DeletionRequest {
            password: f.password,
            code: &f.code,
            confirm_email: &f.confirm_email,
            reason: &f.reason,
        },
    )
    .await;
    match result {
        Ok(_) => {
            let mut r = redirect_with(&state, "/", Flash::DeletionScheduled);
            super::forms::clear_cookie(&state, &mut r, state.cookies.session);
            Ok(r)
        }
        Err(e) => {
            let errors = form_errors(e)?;
            render_settings(&state, &ctx, &current, "your-data", errors).await
        }
    }
}

#[derive(Deserialize)]
struct ProfileForm {
    name: Option<String>,
    picture: Option<String>,
    time_zone: Option<String>,
}

async fn save_profile(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Meta(meta): Meta,
    Form(f): Form<ProfileForm>,
) -> PageResult {
    let result = accounts::update_profile(
        &state,
        &current.user,
        f.name.as_deref(),
        f.picture.as_deref(),
        // A form without the field (an old page) leaves the zone as it is.
        f.time_zone.as_deref().map(Some),
        meta.time_zone.as_deref(),
    )
    .await;
    settle(
        &state,
        &ctx,
        &current,
        "profile",
        result,
        Flash::ProfileSaved,
    )
    .await
}

#[derive(Deserialize)]
struct EmailChangeForm {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    password: String,
}

async fn change_email(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<EmailChangeForm>,
) -> PageResult {
    let result =
        accounts::request_email_change(&state, &meta, &current.user, f.password, &f.new_email)
            .await;
    settle(
        &state,
        &ctx,
        &current,
        "email",
        result,
        Flash::EmailChangeSent,
    )
    .await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    let result =
        accounts::change_password(&state, &meta, &current, f.current_password, f.new_password)
            .await;
    settle(
        &state,
        &ctx,
        &current,
        "password",
        result,
        Flash::PasswordChanged,
    )
    .await
}

#[derive(Deserialize)]
struct PreferencesForm {
    product_updates: Option<String>,
    newsletter: Option<String>,
    action_reminders: Option<String>,
    marketing_emails: Option<String>,
}

async fn save_preferences(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Form(f): Form<PreferencesForm>,
) -> PageResult {
    let prefs = EmailPreferences {
        product_updates: checked(&f.product_updates),
        newsletter: checked(&f.newsletter),
        action_reminders: checked(&f.action_reminders),
        marketing_emails: checked(&f.marketing_emails),
    };
    let result = accounts::update_preferences(&state, &current.user, &prefs).await;
    settle(
        &state,
        &ctx,
        &current,
        "preferences",
        result,
        Flash::PreferencesSaved,
    )
    .await
}

async fn revoke_session(
    State(state): State<AppState>,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    accounts::revoke_device_session(&state, &meta, &current.user, &id).await?;
    if id == current.session_id {
        let mut r = redirect_with(&state, "/login", Flash::SignedOut);
        super::forms::clear_cookie(&state, &mut r, state.cookies.session);
        return Ok(r);
    }
    Ok(redirect_with(
        &state,
        "/settings#devices",
        Flash::SessionRevoked,
    ))
}

async fn revoke_others(
    State(state): State<AppState>,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
) -> PageResult {
    accounts::revoke_other_sessions(&state, &meta, &current.user, &current.session_id).await?;
    Ok(redirect_with(
        &state,
        "/settings#devices",
        Flash::OtherSessionsRevoked,
    ))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    write: Option<String>,
    #[serde(default)]
    expires_in_days: String,
}

async fn create_token(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<TokenForm>,
) -> PageResult {
    let mut scopes = vec!["read".to_owned()];
    if checked(&f.write) {
        scopes.push("write".to_owned());
    }
    let days = match f.expires_in_days.trim() {
        "" => Ok(None),
        d => d
            .parse::<u32>()
            .map(Some)
            .map_err(|_| AppError::invalid("expiresInDays", "Choose when the token expires.")),
    };
    let created = match days {
        Ok(days) => {
            coachflux_app::services::api_tokens::create(
                &state, &meta, &current, &f.name, &scopes, days,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok((token, _)) => {
            render_settings_with(
                &state,
                &ctx,
                &current,
                "tokens",
                FormErrors::default(),
                Some(token),
            )
            .await
        }
        Err(AppError::ReauthRequired) => Ok(confirm_first(&state, "/settings#tokens")),
        Err(AppError::Forbidden(why)) => {
            render_settings(
                &state,
                &ctx,
                &current,
                "tokens",
                FormErrors(vec![coachflux_app::error::FieldError {
                    field: "name",
                    message: why.to_owned(),
                }]),
            )
            .await
        }
        Err(e) => {
            let errors = form_errors(e)?;
            render_settings(&state, &ctx, &current, "tokens", errors).await
        }
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    coachflux_app::services::api_tokens::revoke(&state, &meta, &current.user.id, &id).await?;
    Ok(redirect_with(
        &state,
        "/settings#tokens",
        Flash::TokenRevoked,
    ))
}

async fn remove_identity(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    let result = coachflux_app::services::oidc::unlink(&state, &meta, &current.user, &id).await;
    settle(
        &state,
        &ctx,
        &current,
        "connected",
        result,
        Flash::IdentityUnlinked,
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "two_factor_setup.html")]
struct TwoFactorSetupPage {
    l: Layout,
    secret: String,
    qr_svg: String,
    errors: FormErrors,
}

async fn two_factor_setup_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> PageResult {
    if current.user.totp_enabled {
        return Ok(Redirect::to("/settings#two-factor").into_response());
    }
    let setup = match two_factor::begin_setup(&state, &current).await {
        Ok(setup) => setup,
        Err(AppError::ReauthRequired) => return Ok(confirm_first(&state, "/settings/2fa")),
        Err(e) => return Err(e.into()),
    };
    Ok(TwoFactorSetupPage {
        l: ctx.layout("Set up two-factor authentication — CoachFlux", "settings"),
        secret: group(&setup.secret_base32),
        qr_svg: setup.qr_svg,
        errors: FormErrors::default(),
    }
    .into_response())
}

/// "ABCD EFGH ..." is easier to type than one long run.
fn group(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    l: Layout,
    codes: Vec<String>,
    /// The codes as a text file in a `data:` link: it downloads without JavaScript, and the
    /// codes never have to be kept on the server to be served again.
    download: String,
}

impl RecoveryCodesPage {
    fn new(state: &AppState, ctx: &PageCtx, email: &str, codes: Vec<String>) -> Self {
        let mut text = format!(
            "CoachFlux recovery codes for {email} at {}\n\
             Each code signs you in once if you can't use your authenticator app.\n\n",
            state.config.public_url
        );
        for code in &codes {
            text.push_str(code);
            text.push('\n');
        }
        Self {
            l: ctx.layout("Your recovery codes — CoachFlux", "settings"),
            download: super::forms::text_data_url(&text),
            codes,
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn two_factor_confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<CodeForm>,
) -> PageResult {
    match two_factor::confirm_setup(&state, &meta, &current, &f.code).await {
        Ok(codes) => {
            Ok(RecoveryCodesPage::new(&state, &ctx, &current.user.email, codes).into_response())
        }
        Err(AppError::ReauthRequired) => Ok(confirm_first(&state, "/settings/2fa")),
        Err(e) => {
            let errors = form_errors(e)?;
            let setup = two_factor::begin_setup(&state, &current).await?;
            let mut r = TwoFactorSetupPage {
                l: ctx.layout("Set up two-factor authentication — CoachFlux", "settings"),
                secret: group(&setup.secret_base32),
                qr_svg: setup.qr_svg,
                errors,
            }
            .into_response();
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
    }
}

#[derive(Deserialize)]
struct ReauthForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

async fn two_factor_disable(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<ReauthForm>,
) -> PageResult {
    let result = two_factor::disable(&state, &meta, &current.user, f.password, &f.code).await;
    settle(
        &state,
        &ctx,
        &current,
        "two-factor",
        result,
        Flash::TwoFactorDisabled,
    )
    .await
}

async fn two_factor_regenerate(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<ReauthForm>,
) -> PageResult {
    match two_factor::regenerate_codes(&state, &meta, &current.user, f.password, &f.code).await {
        Ok(codes) => {
            Ok(RecoveryCodesPage::new(&state, &ctx, &current.user.email, codes).into_response())
        }
        Err(e) => {
            let errors = form_errors(e)?;
            render_settings(&state, &ctx, &current, "two-factor", errors).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Confirming it's you before a sensitive change, or proving the second factor for staff pages.

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    l: Layout,
    next: String,
    next_encoded: String,
    second_factor: bool,
    has_password: bool,
    totp_enabled: bool,
    providers: Vec<(String, String)>,
    errors: FormErrors,
}

fn confirm_page_for(
    state: &AppState,
    ctx: &PageCtx,
    current: &CurrentUser,
    next: &str,
    second_factor: bool,
    errors: FormErrors,
) -> Response {
    let next = super::forms::safe_next(Some(next));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut r = ConfirmPage {
        l: ctx.layout("Confirm it's you — CoachFlux", "settings"),
        next_encoded: form_urlencoded::byte_serialize(next.as_bytes()).collect(),
        next,
        second_factor,
        has_password: current.user.password_hash.is_some(),
        totp_enabled: current.user.totp_enabled,
        providers: state
            .config
            .oidc
            .iter()
            .map(|p| (p.name.clone(), p.label.clone()))
            .collect(),
        errors,
    }
    .into_response();
    *r.status_mut() = status;
    r
}

#[derive(Deserialize)]
struct ConfirmQuery {
    next: Option<String>,
    second_factor: Option<String>,
}

async fn confirm_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    axum::extract::Query(q): axum::extract::Query<ConfirmQuery>,
) -> Response {
    confirm_page_for(
        &state,
        &ctx,
        &current,
        q.next.as_deref().unwrap_or("/settings"),
        checked(&q.second_factor),
        FormErrors::default(),
    )
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
    second_factor: Option<String>,
}

async fn confirm_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    RequireUser(current): RequireUser,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    let next = super::forms::safe_next(f.next.as_deref());
    let second_factor = checked(&f.second_factor);
    let result = coachflux_app::services::credentials::confirm(
        &state,
        &meta,
        &current,
        f.password,
        &f.code,
        second_factor,
    )
    .await;
    match result {
        Ok(_) => Ok(redirect_with(&state, &next, Flash::Confirmed)),
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(confirm_page_for(
                &state,
                &ctx,
                &current,
                &next,
                second_factor,
                errors,
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Staff: the mail log (what the `log` transport "sent", and every other message's status).

/// Where someone the staff pages don't admit goes: nowhere for members (not found), to turn
/// on two-factor, or to confirm with a code. `None` lets them in.
fn staff_gate(state: &AppState, current: &CurrentUser, here: &str) -> Option<Response> {
    use coachflux_app::services::staff::{Gate, admit};
    match admit(current) {
        Ok(()) => None,
        Err(Gate::NotStaff) => Some(crate::errors::page_for(axum::http::StatusCode::NOT_FOUND)),
        Err(Gate::NeedsTwoFactor) => Some(Redirect::to("/settings/2fa").into_response()),
        Err(Gate::NeedsProof) => Some(redirect_with(
            state,
            &confirm_url(here, true),
            Flash::ConfirmFirst,
        )),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_mail.html")]
struct AdminMailPage {
    l: Layout,
    emails: Vec<coachflux_app::model::OutboxEmail>,
    /// Where the next (older) page starts.
    older: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_coach.html")]
struct AdminCoachPage {
    l: Layout,
    coach: String,
    rows: Vec<coachflux_app::model::SessionUsage>,
}

/// Staff: model calls per session (calls, tokens, latency, failures).
async fn admin_coach(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> PageResult {
    if let Some(r) = staff_gate(&state, &current, "/admin/coach") {
        return Ok(r);
    }
    let rows = staff::coach_usage(&state, &current).await?;
    Ok(AdminCoachPage {
        l: ctx.layout("AI coach usage — CoachFlux admin", "admin"),
        coach: state.config.openai.as_ref().map_or_else(
            || "the built-in coach".to_owned(),
            |c| format!("the AI coach ({})", c.model),
        ),
        rows,
    }
    .into_response())
}

pub struct JobRow {
    pub name: &'static str,
    pub what: &'static str,
    pub every: String,
    pub next: String,
}

pub struct RunRow {
    pub job: String,
    pub started: String,
    pub took: String,
    pub outcome: String,
    pub error: Option<String>,
    pub counts: String,
    pub instance: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_jobs.html")]
struct AdminJobsPage {
    l: Layout,
    jobs: Vec<JobRow>,
    runs: Vec<RunRow>,
}

fn every(ms: i64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{} d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{} h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{} min", m / 60_000),
        m => format!("{} s", m / 1000),
    }
}

/// The scheduler for staff: each job's schedule and next run, and the latest runs.
async fn admin_jobs(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> PageResult {
    if let Some(r) = staff_gate(&state, &current, "/admin/jobs") {
        return Ok(r);
    }
    let schedule = staff::schedule(&state, &current).await?;
    let jobs = schedule
        .jobs
        .into_iter()
        .map(|(job, interval, next)| JobRow {
            name: job.name(),
            what: job.describe(),
            every: every(interval),
            next: next.map_or_else(|| "at the next tick".to_owned(), accounts::format_utc),
        })
        .collect();
    let runs = schedule
        .runs
        .into_iter()
        .map(|r| RunRow {
            started: accounts::format_utc(r.started_at),
            took: r.finished_at.map_or_else(
                || "running".to_owned(),
                |f| format!("{} ms", f - r.started_at),
            ),
            job: r.job_name,
            outcome: r.outcome,
            error: r.error,
            counts: r.counts,
            instance: r.instance,
        })
        .collect();
    Ok(AdminJobsPage {
        l: ctx.layout("Scheduled jobs — CoachFlux admin", "admin"),
        jobs,
        runs,
    }
    .into_response())
}

#[derive(Deserialize)]
struct AfterQuery {
    after: Option<String>,
}

async fn admin_mail(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Query(q): Query<AfterQuery>,
) -> PageResult {
    if let Some(r) = staff_gate(&state, &current, "/admin/mail") {
        return Ok(r);
    }
    let request = PageRequest {
        limit: 50,
        after: q.after.as_deref().and_then(Cursor::from_text),
    };
    let page = staff::mail_log(&state, &current, &request).await?;
    Ok(AdminMailPage {
        l: ctx.layout("Mail log — CoachFlux admin", "admin"),
        older: page.next.as_ref().map(Cursor::to_text),
        emails: page.items,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_mail_item.html")]
struct AdminMailItemPage {
    l: Layout,
    e: coachflux_app::model::OutboxEmail,
    created: String,
}

async fn admin_mail_item(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
    Path(id): Path<String>,
) -> PageResult {
    if let Some(r) = staff_gate(&state, &current, "/admin/mail") {
        return Ok(r);
    }
    let e = staff::mail_item(&state, &current, &id).await?;
    let created = accounts::format_utc(e.created_at);
    Ok(AdminMailItemPage {
        l: ctx.layout(format!("{} — mail log", e.subject), "admin"),
        e,
        created,
    }
    .into_response())
}
