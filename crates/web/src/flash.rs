//! One-time messages after a redirect ("Your password was changed"). The cookie carries a code
//! from a fixed list, never text, so nothing a third party sets can be displayed.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use coachflux_app::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    Welcome,
    SignedIn,
    SignedOut,
    EmailVerified,
    VerificationSent,
    PasswordChanged,
    PasswordReset,
    ProfileSaved,
    EmailChangeSent,
    EmailChanged,
    PreferencesSaved,
    SessionRevoked,
    TokenRevoked,
    OtherSessionsRevoked,
    TwoFactorDisabled,
    LinkInvalid,
    IdentityLinked,
    IdentityUnlinked,
    ReportEmailed,
    AccountKept,
    DeletionScheduled,
    ConfirmFirst,
    Confirmed,
    SavedToAccount,
    WelcomeSaved,
    ActionDone,
    ActionReopened,
    ActionDeleted,
}

impl Flash {
    const ALL: [Flash; 28] = [
        Flash::Welcome,
        Flash::SignedIn,
        Flash::SignedOut,
        Flash::EmailVerified,
        Flash::VerificationSent,
        Flash::PasswordChanged,
        Flash::PasswordReset,
        Flash::ProfileSaved,
        Flash::EmailChangeSent,
        Flash::EmailChanged,
        Flash::PreferencesSaved,
        Flash::SessionRevoked,
        Flash::TokenRevoked,
        Flash::OtherSessionsRevoked,
        Flash::TwoFactorDisabled,
        Flash::LinkInvalid,
        Flash::IdentityLinked,
        Flash::IdentityUnlinked,
        Flash::ReportEmailed,
        Flash::AccountKept,
        Flash::DeletionScheduled,
        Flash::ConfirmFirst,
        Flash::Confirmed,
        Flash::SavedToAccount,
        Flash::WelcomeSaved,
        Flash::ActionDone,
        Flash::ActionReopened,
        Flash::ActionDeleted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Flash::Welcome => "welcome",
            Flash::SavedToAccount => "saved_to_account",
            Flash::WelcomeSaved => "welcome_saved",
            Flash::ActionDone => "action_done",
            Flash::ActionReopened => "action_reopened",
            Flash::ActionDeleted => "action_deleted",
            Flash::SignedIn => "signed_in",
            Flash::SignedOut => "signed_out",
            Flash::EmailVerified => "email_verified",
            Flash::VerificationSent => "verification_sent",
            Flash::PasswordChanged => "password_changed",
            Flash::PasswordReset => "password_reset",
            Flash::ProfileSaved => "profile_saved",
            Flash::EmailChangeSent => "email_change_sent",
            Flash::EmailChanged => "email_changed",
            Flash::PreferencesSaved => "preferences_saved",
            Flash::SessionRevoked => "session_revoked",
            Flash::TokenRevoked => "token_revoked",
            Flash::OtherSessionsRevoked => "other_sessions_revoked",
            Flash::TwoFactorDisabled => "two_factor_disabled",
            Flash::LinkInvalid => "link_invalid",
            Flash::IdentityLinked => "identity_linked",
            Flash::IdentityUnlinked => "identity_unlinked",
            Flash::ReportEmailed => "report_emailed",
            Flash::AccountKept => "account_kept",
            Flash::DeletionScheduled => "deletion_scheduled",
            Flash::ConfirmFirst => "confirm_first",
            Flash::Confirmed => "confirmed",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Flash::Welcome => "Welcome to CoachFlux! Your email address is confirmed.",
            Flash::ActionDone => "Marked as done. Well done.",
            Flash::ActionReopened => "Reopened: it's back on your list.",
            Flash::ActionDeleted => "Action item deleted.",
            Flash::WelcomeSaved => {
                "Welcome to CoachFlux! Your email address is confirmed, and this session is saved to your account."
            }
            Flash::SavedToAccount => {
                "Saved to your account: this session and its plan are here whenever you come back."
            }
            Flash::SignedIn => "You're signed in.",
            Flash::SignedOut => "You're signed out.",
            Flash::EmailVerified => "Thanks, your email address is confirmed.",
            Flash::VerificationSent => "We've sent a new confirmation link. Check your inbox.",
            Flash::PasswordChanged => "Your password was changed. Other devices were signed out.",
            Flash::PasswordReset => "Your password was reset. Sign in with your new password.",
            Flash::ProfileSaved => "Your profile was saved.",
            Flash::EmailChangeSent => {
                "Check your new inbox: we've sent a link to confirm the change."
            }
            Flash::EmailChanged => "Your email address was changed.",
            Flash::PreferencesSaved => "Your email preferences were saved.",
            Flash::SessionRevoked => "That device was signed out.",
            Flash::TokenRevoked => "The API token was revoked.",
            Flash::OtherSessionsRevoked => "All your other devices were signed out.",
            Flash::TwoFactorDisabled => "Two-factor authentication is off.",
            Flash::LinkInvalid => "That link is invalid or has expired. Please ask for a new one.",
            Flash::IdentityLinked => "Connected. You can now sign in with it.",
            Flash::IdentityUnlinked => "Disconnected.",
            Flash::ReportEmailed => "The report is on its way to your inbox.",
            Flash::AccountKept => "Welcome back. Your account will not be deleted.",
            Flash::DeletionScheduled => {
                "Your account is switched off and will be deleted in 7 days. We've emailed you the date; sign in before then to keep it."
            }
            Flash::ConfirmFirst => "Please confirm it's you before making that change.",
            Flash::Confirmed => "Thanks, that's confirmed. You can go ahead.",
        }
    }

    pub fn is_error(self) -> bool {
        matches!(self, Flash::LinkInvalid)
    }

    fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// Reads the flash cookie into the request and clears it once shown.
pub async fn carry(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let name = state.cookies.flash;
    let flash = CookieJar::from_headers(req.headers())
        .get(name)
        .and_then(|c| Flash::parse(c.value()));
    let had_cookie = CookieJar::from_headers(req.headers()).get(name).is_some();
    if let Some(f) = flash {
        req.extensions_mut().insert(f);
    }
    let mut response = next.run(req).await;
    let sets_new = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.starts_with(&format!("{name}="))));
    let is_redirect = response.status().is_redirection();
    if had_cookie
        && !sets_new
        && !is_redirect
        && let Ok(v) = HeaderValue::from_str(
            &coachflux_http::cookies::removal(&state.cookies, name).to_string(),
        )
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A 303 redirect to `to` that shows `flash` on the next page.
pub fn redirect_with(state: &AppState, to: &str, flash: Flash) -> Response {
    let mut r = Redirect::to(to).into_response();
    let cookie = coachflux_http::cookies::build(
        &state.cookies,
        state.cookies.flash,
        flash.code().to_owned(),
        Some(60_000),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
