//! Who is asking, as the services see it: the signed-in person with the credential they came
//! with, device-session lifetimes, and the names of the cookies both faces set.

use coachflux_domain::clock::{DAY_MS, HOUR_MS};
use coachflux_store::users;

/// Idle and absolute lifetimes of a device session.
pub const IDLE_MS: i64 = 24 * HOUR_MS;
pub const IDLE_REMEMBER_MS: i64 = 30 * DAY_MS;
pub const ABSOLUTE_MS: i64 = 7 * DAY_MS;
pub const ABSOLUTE_REMEMBER_MS: i64 = 90 * DAY_MS;

pub fn idle_ms(remember: bool) -> i64 {
    if remember { IDLE_REMEMBER_MS } else { IDLE_MS }
}

pub fn absolute_ms(remember: bool) -> i64 {
    if remember {
        ABSOLUTE_REMEMBER_MS
    } else {
        ABSOLUTE_MS
    }
}

/// How often a credential's "last used" stamp is written at most.
pub const STAMP_EVERY_MS: i64 = coachflux_domain::clock::MINUTE_MS;

/// What this instance stamped lately, so a burst of requests on one credential writes its
/// "last used" once a minute, not once per request (nor once per concurrent request).
#[derive(Debug, Clone, Default)]
pub struct Stamps(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>);

impl Stamps {
    /// True when `id` is due a stamp at `now` (and marks it stamped).
    pub fn claim(&self, id: &str, now: i64) -> bool {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.get(id).is_some_and(|at| now - at < STAMP_EVERY_MS) {
            return false;
        }
        if seen.len() >= 10_000 {
            seen.retain(|_, at| now - *at < STAMP_EVERY_MS);
        }
        seen.insert(id.to_owned(), now);
        true
    }
}

/// Cookie names: `__Host-` prefixed (Secure, host-only, Path=/) when served over https; plain
/// names on http://127.0.0.1 development.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub secure: bool,
    pub session: &'static str,
    pub csrf: &'static str,
    pub device: &'static str,
    pub two_factor: &'static str,
    pub magic: &'static str,
    /// Binds a sign-up's verification link to the browser that signed up.
    pub signup: &'static str,
    pub flash: &'static str,
    pub oidc: &'static str,
    pub anonymous: &'static str,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        if secure {
            Self {
                secure,
                session: "__Host-cf_session",
                csrf: "__Host-cf_csrf",
                device: "__Host-cf_device",
                two_factor: "__Host-cf_2fa",
                magic: "__Host-cf_magic",
                signup: "__Host-cf_signup",
                flash: "__Host-cf_flash",
                oidc: "__Host-cf_oidc",
                anonymous: "__Host-cf_anon",
            }
        } else {
            Self {
                secure,
                session: "cf_session",
                csrf: "cf_csrf",
                device: "cf_device",
                two_factor: "cf_2fa",
                magic: "cf_magic",
                signup: "cf_signup",
                flash: "cf_flash",
                oidc: "cf_oidc",
                anonymous: "cf_anon",
            }
        }
    }
}

/// The signed-in person and the credential the request came with.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: users::User,
    /// The device session's id, or `token:<id>` for a personal API token.
    pub session_id: String,
    pub credential: Credential,
}

/// How a request proved who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A device session (cookie, or bearer token from `POST /api/v1/auth/login`).
    Session {
        /// When the session last proved who uses it (sign-in or re-authentication).
        authenticated_at: i64,
        /// When it proved the second factor, if it did.
        second_factor_at: Option<i64>,
    },
    /// A personal API token: never counts as a recent sign-in, nor as a second factor.
    ApiToken,
}

impl CurrentUser {
    pub fn is_staff(&self) -> bool {
        self.user.role.is_staff()
    }

    /// The device session behind the request (`None` for a personal API token).
    pub fn device_session_id(&self) -> Option<&str> {
        matches!(self.credential, Credential::Session { .. }).then_some(self.session_id.as_str())
    }

    /// Whether this session proved who it is within the re-authentication window.
    pub fn recently_authenticated(&self, now: i64) -> bool {
        match self.credential {
            Credential::Session {
                authenticated_at, ..
            } => now - authenticated_at < crate::services::credentials::REAUTH_WINDOW_MS,
            Credential::ApiToken => false,
        }
    }

    /// Whether this session signed in (or stepped up) with the account's second factor.
    pub fn proved_second_factor(&self) -> bool {
        matches!(
            self.credential,
            Credential::Session {
                second_factor_at: Some(_),
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_uses_host_prefixed_cookie_names() {
        assert!(CookieNames::new(true).session.starts_with("__Host-"));
        assert_eq!(CookieNames::new(false).session, "cf_session");
    }
}
