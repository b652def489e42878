//! Who is asking: the session cookie, read once per request by [`load_session`], which puts the
//! [`CurrentUser`] into the request for the pages and the API.

use crate::cookies;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use coachflux_app::AppState;
use coachflux_app::auth::CurrentUser;
use coachflux_app::services::accounts;

/// Loads the session named by the cookie (if any), slides its expiry, and marks responses to
/// signed-in people `no-store`. A cookie that names no usable session is removed.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let names = &state.cookies;
    let jar = CookieJar::from_headers(req.headers());
    let mut stale_cookie = false;
    if let Some(cookie) = jar.get(names.session) {
        match accounts::session_user(&state, cookie.value()).await {
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
    if stale_cookie && !response.headers().contains_key(header::SET_COOKIE) {
        cookies::clear(names, &mut response, names.session);
    }
    response
}
