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
        matches!(self.user.role.as_str(), "staff" | "admin")
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
        credential: Credential::Session {
            authenticated_at: session.authenticated_at,
            second_factor_at: session.second_factor_at,
        },
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
            .map_or_else(
                || "unknown".to_owned(),
                |c| client_ip(c.0.ip(), &parts.headers, &state.config.trusted_proxies).to_string(),
            );
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
            .filter(|v| state.keys.is_anonymous_id(v));
        Ok(RequestMeta {
            ip,
            user_agent,
            device_cookie,
            anonymous_id,
        })
    }
}

/// The client's address. The peer is the client unless it is one of the trusted proxies: then
/// `X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
/// trusted proxies, and the first other address is the client. A client can put anything at
/// the left of that header, so nothing left of the last untrusted hop is believed.
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Proxies append well-formed addresses; anything else came from the client, and
        // nothing left of it can be believed.
        let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
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
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        use axum::http::{HeaderMap, HeaderValue};
        use std::net::IpAddr;
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"),
        );
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // No proxy trusted (the default): the header is ignored.
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &[]), ip("10.0.0.1"));
        // A direct client can't claim an address.
        assert_eq!(
            client_ip(ip("198.51.100.4"), &h, &trusted),
            ip("198.51.100.4")
        );
        // Behind trusted proxies: the last address they didn't add; the spoofed left part is
        // not believed.
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        // Garbage in the header stops the walk at the last hop a proxy added.
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(client_ip(ip("10.0.0.1"), &bad, &trusted), ip("10.0.0.1"));
        let mut mixed = HeaderMap::new();
        mixed.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, junk, 10.0.0.7"),
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &mixed, &trusted), ip("10.0.0.7"));
        // Several header lines count as one list.
        let mut two = HeaderMap::new();
        two.append("x-forwarded-for", HeaderValue::from_static("192.0.2.1"));
        two.append("x-forwarded-for", HeaderValue::from_static("10.0.0.3"));
        assert_eq!(client_ip(ip("10.0.0.1"), &two, &trusted), ip("192.0.2.1"));
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
