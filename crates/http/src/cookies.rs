//! Cookies with our baseline attributes: HttpOnly, SameSite=Lax, Path=/, Secure on https
//! (where their names carry the `__Host-` prefix).

use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use coachflux_app::auth::CookieNames;

/// A cookie named `name` (one of `names`) holding `value`, for `max_age_ms` or the browser
/// session.
pub fn build(
    names: &CookieNames,
    name: &'static str,
    value: String,
    max_age_ms: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(names.secure);
    if let Some(ms) = max_age_ms {
        c.set_max_age(cookie::time::Duration::milliseconds(ms));
    }
    c
}

/// What removes cookie `name` from the browser.
pub fn removal(names: &CookieNames, name: &'static str) -> Cookie<'static> {
    let mut c = build(names, name, String::new(), Some(0));
    c.make_removal();
    c
}

fn append(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Sets cookie `name` on `response` for `max_age_ms`.
pub fn set(
    names: &CookieNames,
    response: &mut Response,
    name: &'static str,
    value: String,
    max_age_ms: Option<i64>,
) {
    append(response, &build(names, name, value, max_age_ms));
}

/// Removes cookie `name` with `response`.
pub fn clear(names: &CookieNames, response: &mut Response, name: &'static str) {
    append(response, &removal(names, name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_are_secure_host_only_http_only_and_lax() {
        let n = CookieNames::new(true);
        let s = build(&n, n.session, "v".into(), None).to_string();
        assert!(
            s.contains("Secure")
                && s.contains("HttpOnly")
                && s.contains("SameSite=Lax")
                && s.contains("Path=/"),
            "{s}"
        );
        let plain = CookieNames::new(false);
        assert!(
            !build(&plain, plain.session, "v".into(), None)
                .to_string()
                .contains("Secure")
        );
        assert!(
            build(&plain, plain.flash, "v".into(), Some(60_000))
                .to_string()
                .contains("Max-Age=60")
        );
    }
}
