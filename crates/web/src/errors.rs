//! Error pages: every 4xx/5xx the app or a layer produces becomes a page in the site layout
//! (or stays JSON when it already is), and nothing internal leaks into it.

use super::Layout;
use askama::Template;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::any::Any;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    l: Layout,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "That request didn't make sense",
            "Something in the address or the form was malformed. Go back and try again.",
        ),
        403 => (
            "You can't do that here",
            "Your account doesn't have access to this page.",
        ),
        404 => (
            "We couldn't find that page",
            "The link may be old, or the page may have moved.",
        ),
        405 => (
            "That action isn't allowed here",
            "This address doesn't accept that kind of request.",
        ),
        408 | 503 => (
            "That took too long",
            "The server is busy or the request timed out. Please try again in a moment.",
        ),
        413 => (
            "That was too much to send",
            "The text or file you sent is larger than we accept. Shorten it and try again.",
        ),
        415 => (
            "We can't read that format",
            "The request was sent in a format this page doesn't accept.",
        ),
        422 => (
            "Some of that didn't check out",
            "Please review what you entered and try again.",
        ),
        429 => (
            "Slow down a little",
            "Too many attempts in a short time. Wait a moment and try again.",
        ),
        s if s >= 500 => (
            "Something went wrong on our side",
            "We've logged the problem. Nothing you saved is lost; please try again.",
        ),
        _ => (
            "That didn't work",
            "The request couldn't be completed. Go back and try again.",
        ),
    }
}

fn render(status: StatusCode) -> Response {
    let (heading, message) = describe(status);
    render_with(status, heading, message)
}

fn render_with(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = ErrorPage {
        l: Layout::bare(
            format!("{heading} — CoachFlux"),
            crate::assets::version().to_owned(),
        ),
        status: status.as_u16(),
        heading,
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, heading.to_owned()).into_response(),
    }
}

pub async fn not_found() -> Response {
    page_for(StatusCode::NOT_FOUND)
}

/// Replaces the plain-text body of a framework-made error (405, 413, a rejection...) with a
/// page; a page or JSON already made is kept.
pub fn as_page(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("text/html") || content_type.contains("json") {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let page = page_for(status);
    let (page_parts, body) = page.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = page_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, body)
}

/// Sets `Retry-After` (at least one second).
pub fn set_retry_after(r: &mut Response, secs: u64) {
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// A panicking handler answers a 500 page; the panic itself goes to the log only.
pub fn panic_page(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    let mut response = render(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A status as a page, without request state.
pub fn page_for(status: StatusCode) -> Response {
    render(status)
}

/// A page for `status` with our own heading and message.
pub fn page_with(status: StatusCode, heading: &str, message: &str) -> Response {
    render_with(status, heading, message)
}
