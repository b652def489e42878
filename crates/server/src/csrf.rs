//! CSRF protection for every state-changing request that a browser can send with our cookies.
//!
//! A random cookie (HttpOnly, SameSite=Lax) plus a form field or `X-CSRF-Token` header carrying
//! HMAC(server key, cookie): a cross-site page can neither read the cookie nor compute the
//! token. Requests a browser marks `Sec-Fetch-Site: cross-site` are refused outright.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use coachflux_app::AppState;
use coachflux_app::crypto::{constant_time_eq, random_token};
use coachflux_http::CsrfToken;
use coachflux_web::page_with;

pub const FORM_FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

/// Paths a browser may POST to without our token because the URL itself is signed
/// (RFC 8058 one-click unsubscribe from a mail client).
fn exempt(path: &str) -> bool {
    path == "/unsubscribe"
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn refuse(path: &str) -> Response {
    if path.starts_with("/api/") {
        return coachflux_api::problem::ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "Cookie-authenticated API calls must send the page's X-CSRF-Token header, and \
             not from another site. API clients should use a bearer token instead.",
        )
        .into_response();
    }
    page_with(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "For your security we couldn't accept it. Go back, reload the page and try again.",
    )
}

/// Requests that neither change anything a browser's cookies could authorize nor render a
/// form: the operator probes and the assets. They skip the token work entirely.
fn untouched(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/")
}

pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // API clients without ambient credentials neither need nor keep a CSRF cookie, and render
    // no form: nothing to check, nothing to make.
    if carries_no_ambient_credentials(&req)
        || (is_safe(req.method()) && untouched(req.uri().path()))
    {
        return next.run(req).await;
    }
    let names = &state.cookies;
    let jar = CookieJar::from_headers(req.headers());
    let existing = jar
        .get(names.csrf)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43);
    let (secret, fresh) = match existing {
        Some(v) => (v, false),
        None => (random_token(), true),
    };
    let expected = state.keys.sign(&format!("csrf:{secret}"));
    let mut req = req;
    if !is_safe(req.method()) && !exempt(req.uri().path()) {
        let cross_site = req
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        if cross_site || fresh {
            return refuse(req.uri().path());
        }
        let (supplied, rebuilt) = match supplied_token(req, state.config.max_body_bytes).await {
            Ok(pair) => pair,
            Err(response) => return response,
        };
        req = rebuilt;
        if !supplied.is_some_and(|s| constant_time_eq(&s, &expected)) {
            return refuse(req.uri().path());
        }
    }
    req.extensions_mut().insert(CsrfToken(expected));
    let mut response = next.run(req).await;
    if fresh {
        let cookie = coachflux_http::cookies::build(names, names.csrf, secret, None);
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// API requests without cookies carry no ambient credentials (they authenticate with a bearer
/// token, or not at all): a forged cross-site request can't borrow anything, so CSRF does not
/// apply. Nor does it to a request with an `Authorization` header, which authenticates it
/// (cookies or not) and which a cross-site form or script can't send. The site's own script,
/// which relies on its cookies, must send the header.
fn carries_no_ambient_credentials(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
        && (!req.headers().contains_key(header::COOKIE)
            || req.headers().contains_key(header::AUTHORIZATION))
}

/// The token from the header, or from the urlencoded form body (which is buffered and put
/// back for the handler).
async fn supplied_token(req: Request, limit: usize) -> Result<(Option<String>, Request), Response> {
    if let Some(v) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.to_owned();
        return Ok((Some(v), req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned());
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}
