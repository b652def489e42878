//! Error pages: every 4xx/5xx the app or a layer produces becomes a page in the site layout
//! (or stays JSON when it already is), and nothing internal leaks into it.

use super::Layout;
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
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

fn render(asset_version: String, status: StatusCode) -> Response {
    let (heading, message) = describe(status);
    render_with(asset_version, status, heading, message)
}

fn render_with(
    asset_version: String,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    let page = ErrorPage {
        l: Layout::bare(format!("{heading} — CoachFlux"), asset_version),
        status: status.as_u16(),
        heading,
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, heading.to_owned()).into_response(),
    }
}

pub async fn not_found(State(state): State<AppState>) -> Response {
    render(state.asset_version.to_string(), StatusCode::NOT_FOUND)
}

/// Replaces the plain-text bodies of framework-made errors (405, 413, rejections...) with a page.
pub async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = crate::api::is_api(&req);
    let response = next.run(req).await;
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
    if api {
        let mut problem = crate::api::problem::for_status(status);
        for name in [header::RETRY_AFTER, header::ALLOW] {
            if let Some(v) = response.headers().get(&name) {
                problem.headers_mut().insert(name, v.clone());
            }
        }
        return problem;
    }
    let (mut parts, _) = response.into_parts();
    let page = render(state.asset_version.to_string(), status);
    let (page_parts, body) = page.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = page_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, body)
}

/// A panicking handler answers a 500 page; the panic itself goes to the log only.
pub fn panic_page(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    let mut response = render(
        crate::web::assets::version(),
        StatusCode::INTERNAL_SERVER_ERROR,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// For [`crate::error::AppError`]: a status as a page, without request state.
pub fn page_for(status: StatusCode) -> Response {
    render(crate::web::assets::version(), status)
}

/// A page for `status` with our own heading and message.
pub fn page_with(status: StatusCode, heading: &str, message: &str) -> Response {
    render_with(crate::web::assets::version(), status, heading, message)
}
