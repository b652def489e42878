//! Our own CSS and icons, embedded in the binary. Links carry a content hash so the files can
//! be cached for a year.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use coachflux_app::AppState;

const APP_CSS: &str = include_str!("../../../static/app.css");
const APP_JS: &str = include_str!("../../../static/app.js");
const FAVICON_SVG: &str = include_str!("../../../static/favicon.svg");
/// The picture a link to CoachFlux shows when shared (1200×630, Open Graph).
const SOCIAL_PNG: &[u8] = include_bytes!("../../../static/social.png");

/// A short hash of every embedded asset (FNV-1a), computed once: changes when any of them
/// changes.
pub fn version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in APP_CSS
            .bytes()
            .chain(APP_JS.bytes())
            .chain(FAVICON_SVG.bytes())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{:012x}", hash & 0xffff_ffff_ffff)
    });
    &VERSION
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/favicon.svg", get(favicon))
        .route("/static/social.png", get(social))
}

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE_FOREVER),
        ],
        APP_CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE_FOREVER),
        ],
        APP_JS,
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON_SVG,
    )
}

async fn social() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SOCIAL_PNG,
    )
}
