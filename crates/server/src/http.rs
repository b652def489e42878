//! The axum application: routes from each area merged into one router, wrapped in the
//! cross-cutting layers (tracing, request ids, security headers, panics, compression, error
//! pages, timeouts, body limits, metrics).

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use coachflux_app::AppState;
use coachflux_web as web;
use std::time::{Duration, Instant};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let hsts = state.config.is_https();
    Router::new()
        .merge(web::router(coachflux_api::openapi_json()))
        .merge(coachflux_api::router())
        .fallback(web::not_found)
        // `Router::layer` runs after routing, so every one of these sees the matched route.
        // The last added runs first: metrics (counts everything, refusals included), CSRF
        // (may refuse), the flash message, then the session.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            coachflux_http::session::load_session,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::flash::carry,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::csrf::protect,
        ))
        // The operator's probes and metrics come in after those three: they read no session,
        // carry no flash message and take no form, and are called every few seconds.
        .merge(ops_router(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(SetRequestIdLayer::new(
                    REQUEST_ID.clone(),
                    RequestIds::new(),
                ))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(middleware::from_fn(move |req: Request, next: Next| {
                    security_headers(req, next, hsts)
                }))
                .layer(CatchPanicLayer::custom(web::panic_page))
                .layer(CompressionLayer::new())
                .layer(middleware::from_fn(error_bodies))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    timeout,
                ))
                .layer(RequestBodyLimitLayer::new(limit))
                .layer(DefaultBodyLimit::max(limit)),
        )
        .with_state(state)
}

/// Request ids: this process's random prefix and a counter (`3f9c1a2b-17`), unique across
/// instances without a random draw (a system call) per request.
#[derive(Clone)]
struct RequestIds {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let mut bytes = [0u8; 4];
        coachflux_app::crypto::os_random(&mut bytes);
        Self {
            prefix: hex::encode(bytes).into(),
            next: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Gives framework-made errors (405, 413, a rejection, a timeout...) the body of their face: a
/// problem document under `/api/v1`, a page elsewhere.
async fn error_bodies(req: Request, next: Next) -> Response {
    let api = coachflux_api::is_api(&req);
    let response = next.run(req).await;
    if api {
        coachflux_api::problem::as_problem(response)
    } else {
        web::as_page(response)
    }
}

/// Operator endpoints: liveness, readiness, and metrics unless they have a listener of their
/// own (`COACHFLUX_METRICS_BIND`).
fn ops_router(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if state.config.metrics_bind.is_some() {
        r
    } else {
        r.route("/metrics", get(metrics_on_main))
    }
}

/// The app served on `COACHFLUX_METRICS_BIND`: `/metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_on_own_listener))
        .with_state(state)
}

/// Whether the request carries `Authorization: Bearer <COACHFLUX_METRICS_TOKEN>`.
fn has_metrics_token(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    let Some(expected) = &state.config.metrics_token else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| {
            coachflux_app::crypto::constant_time_eq(given.trim(), expected.expose())
        })
}

/// On the public listener metrics need the token; without one configured they aren't there.
async fn metrics_on_main(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if state.config.metrics_token.is_none() {
        return web::page_for(StatusCode::NOT_FOUND);
    }
    if !has_metrics_token(&state, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need Authorization: Bearer <COACHFLUX_METRICS_TOKEN>\n",
        )
            .into_response();
    }
    metrics(State(state)).await
}

/// On their own listener (reachable only where the operator bound it) metrics are open, unless
/// a token is set as well.
async fn metrics_on_own_listener(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if state.config.metrics_token.is_some() && !has_metrics_token(&state, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need Authorization: Bearer <COACHFLUX_METRICS_TOKEN>\n",
        )
            .into_response();
    }
    metrics(State(state)).await
}

async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], "ok\n")
}

async fn readyz(State(state): State<AppState>) -> Response {
    match coachflux_app::services::ops::readiness(&state).await {
        Ok(()) => ([(header::CACHE_CONTROL, "no-store")], "ready\n").into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            // The reason goes to the log; the probe only needs to know.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::CACHE_CONTROL, "no-store"),
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                ],
                "not ready\n",
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        coachflux_app::services::ops::metrics_text(&state).await,
    )
        .into_response()
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    // The route template, never the raw path: ids must not explode the label set.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Headers every response carries, error pages included.
async fn security_headers(req: Request<Body>, next: Next, hsts: bool) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}
