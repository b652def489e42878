//! Who is asking: the session cookie, sliding expiry, and the extractors handlers use.

use crate::crypto::hash_token;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use coachflux_domain::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use coachflux_store::{auth_sessions, users};
use std::net::SocketAddr;

/// Idle and absolute lifetimes of a device session.
pub const IDLE_MS: i64 = 24 * HOUR_MS;
pub const IDLE_REMEMBER_MS: i64 = 30 * DAY_MS;
pub const ABSOLUTE_MS: i64 = 7 * DAY_MS;
pub const ABSOLUTE_REMEMBER_MS: i64 = 90 * DAY_MS;
/// Sliding expiry writes at most this often per session.
const TOUCH_EVERY_MS: i64 = MINUTE_MS;

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
                flash: "cf_flash",
                oidc: "cf_oidc",
                anonymous: "cf_anon",
            }
        }
    }

    /// A cookie with our baseline attributes: HttpOnly, SameSite=Lax, Path=/, Secure on https.
    pub fn build(
        &self,
        name: &'static str,
        value: String,
        max_age_ms: Option<i64>,
    ) -> Cookie<'static> {
        let mut c = Cookie::new(name, value);
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        c.set_path("/");
        c.set_secure(self.secure);
        if let Some(ms) = max_age_ms {
            c.set_max_age(time_duration(ms));
        }
        c
    }

    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut c = self.build(name, String::new(), Some(0));
        c.make_removal();
        c
    }
}

fn time_duration(ms: i64) -> time::Duration {
    time::Duration::milliseconds(ms)
}

/// The signed-in person and the device session they use.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: users::User,
    pub session_id: String,
}

impl CurrentUser {
    pub fn is_staff(&self) -> bool {
        matches!(self.user.role.as_str(), "staff" | "admin")
    }
}

/// Loads the session named by the cookie (if any), slides its expiry, and marks responses to
/// signed-in people `no-store`.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let names = &state.cookies;
    let jar = CookieJar::from_headers(req.headers());
    let mut stale_cookie = false;
    if let Some(cookie) = jar.get(names.session) {
        match find_user(&state, cookie.value()).await {
            Ok(Some(current)) => {
                req.extensions_mut().insert(current);
            }
            Ok(None) => stale_cookie = true,
            Err(e) => tracing::error!(error = %e, "loading the session"),
        }
    }
    let signed_in = req.extensions().get::<CurrentUser>().is_some();
    let mut response = next.run(req).await;
    if signed_in {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, private"),
        );
    }
    if stale_cookie
        && !response.headers().contains_key(header::SET_COOKIE)
        && let Ok(v) = HeaderValue::from_str(&names.removal(names.session).to_string())
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub(crate) async fn find_user(
    state: &AppState,
    token: &str,
) -> Result<Option<CurrentUser>, AppError> {
    let now = state.clock.now_ms();
    let mut conn = state.store.conn().await?;
    let Some(session) =
        auth_sessions::find_active_by_token_hash(&mut conn, &hash_token(token), now).await?
    else {
        return Ok(None);
    };
    let Some(user) = users::get(&mut conn, &session.user_id).await? else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    if now - session.last_activity_at >= TOUCH_EVERY_MS {
        let expires = (now + idle_ms(session.remember)).min(session.absolute_expires_at);
        auth_sessions::touch(&mut conn, &session.id, now, expires).await?;
    }
    Ok(Some(CurrentUser {
        user,
        session_id: session.id,
    }))
}

/// The signed-in person, or a redirect to the login page.
pub struct RequireUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<CurrentUser>() {
            Some(c) => Ok(RequireUser(c.clone())),
            None => Err(AppError::SignInRequired {
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

/// Where a request comes from, for device sessions, audit rows and rate limits.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub ip: String,
    pub user_agent: String,
    /// The long-lived device cookie's value, if the browser has one.
    pub device_cookie: Option<String>,
    /// The visitor id of this browser's anonymous coaching sessions, if any.
    pub anonymous_id: Option<String>,
}

impl FromRequestParts<AppState> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        let user_agent: String = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown device")
            .chars()
            .take(300)
            .collect();
        let jar = CookieJar::from_headers(&parts.headers);
        let device_cookie = jar
            .get(state.cookies.device)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 43);
        let anonymous_id = jar
            .get(state.cookies.anonymous)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 43);
        Ok(RequestMeta {
            ip,
            user_agent,
            device_cookie,
            anonymous_id,
        })
    }
}

/// A short human name for a browser from its user agent ("Firefox on Linux").
pub fn describe_device(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        "A browser"
    };
    let os = if ua.contains("Windows") {
        " on Windows"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        " on iOS"
    } else if ua.contains("Android") {
        " on Android"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        " on macOS"
    } else if ua.contains("Linux") {
        " on Linux"
    } else {
        ""
    };
    format!("{browser}{os}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_readable_names() {
        assert_eq!(
            describe_device(
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
            ),
            "Firefox on Linux"
        );
        assert_eq!(
            describe_device(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
            ),
            "Chrome on Windows"
        );
        assert_eq!(describe_device("curl/8.5.0"), "curl");
    }

    #[test]
    fn https_uses_host_prefixed_secure_cookies() {
        let n = CookieNames::new(true);
        assert!(n.session.starts_with("__Host-"));
        let c = n.build(n.session, "v".into(), None);
        let s = c.to_string();
        assert!(
            s.contains("Secure")
                && s.contains("HttpOnly")
                && s.contains("SameSite=Lax")
                && s.contains("Path=/"),
            "{s}"
        );
        let plain = CookieNames::new(false);
        assert_eq!(plain.session, "cf_session");
        assert!(
            !plain
                .build(plain.session, "v".into(), None)
                .to_string()
                .contains("Secure")
        );
    }
}
