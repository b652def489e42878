//! Server-rendered pages.

pub mod assets;
mod errors;
mod pages;

pub use errors::{error_pages, not_found, page_for, panic_page};

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/frameworks", get(pages::frameworks))
        .route("/frameworks/{id}", get(pages::framework))
        .merge(assets::router())
}

/// What every page's layout needs.
pub struct Layout {
    pub title: String,
    pub asset_version: String,
    /// Which top-level section is active, for `aria-current`.
    pub section: &'static str,
}

impl Layout {
    pub fn new(state: &AppState, title: impl Into<String>, section: &'static str) -> Self {
        Self {
            title: title.into(),
            asset_version: state.asset_version.to_string(),
            section,
        }
    }
}
