//! Server-rendered pages: handlers over the application's services, askama templates, our own
//! CSS and script. Every page works without JavaScript.

mod account;
mod actions;
mod api_docs;
pub mod assets;
mod charts;
mod coaching;
mod dashboard;
pub mod errors;
pub mod flash;
pub mod forms;
mod icons;
mod pages;
mod settings;
pub mod who;

pub use errors::{as_page, not_found, page_for, page_with, panic_page};

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use coachflux_app::AppState;
use coachflux_app::auth::CurrentUser;
use coachflux_http::CsrfToken;
use flash::Flash;

/// Every page. `openapi` is the API's OpenAPI document, which `/api/docs` presents.
pub fn router(openapi: &'static str) -> Router<AppState> {
    Router::new()
        .merge(api_docs::router(openapi))
        .route("/", get(pages::home))
        .route("/frameworks", get(pages::frameworks))
        .route("/frameworks/helper", get(pages::helper))
        .route("/frameworks/{id}", get(pages::framework))
        .route("/terms", get(pages::terms))
        .route("/dates/preview", get(pages::date_preview))
        .route("/privacy", get(pages::privacy))
        .merge(account::router())
        .merge(coaching::router())
        .merge(actions::router())
        .merge(dashboard::router())
        .merge(settings::router())
        .merge(assets::router())
}

/// What the header shows about the signed-in person.
pub struct Badge {
    pub label: String,
    pub email_verified: bool,
    pub is_staff: bool,
}

/// What every page's layout needs.
pub struct Layout {
    pub title: String,
    /// The absolute address of the social preview image (empty on error pages).
    pub social_image: String,
    pub asset_version: String,
    /// Which top-level section is active, for `aria-current`.
    pub section: &'static str,
    pub user: Option<Badge>,
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl Layout {
    /// For pages rendered outside a request's context (error pages): no user, no forms.
    pub fn bare(title: String, asset_version: String) -> Self {
        Self {
            title,
            social_image: String::new(),
            asset_version,
            section: "",
            user: None,
            csrf: String::new(),
            flash: None,
        }
    }
}

/// The request context every page handler takes: who is signed in, the CSRF token for forms,
/// a one-time flash message.
pub struct PageCtx {
    pub asset_version: String,
    /// The address people use (`COACHFLUX_PUBLIC_URL`), for links that leave the site (the
    /// social preview image).
    pub public_url: String,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// Where the person probably is, for helplines: their account's country, else the region
    /// their browser's language preference names.
    pub country: Option<String>,
    /// The person's time zone, for the days dates are shown on.
    pub zone: coachflux_domain::dates::Zone,
}

impl PageCtx {
    pub fn layout(&self, title: impl Into<String>, section: &'static str) -> Layout {
        Layout {
            title: title.into(),
            social_image: format!(
                "{}/static/social.png",
                self.public_url.trim_end_matches('/')
            ),
            asset_version: self.asset_version.clone(),
            section,
            user: self.user.as_ref().map(|c| Badge {
                label: c
                    .user
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| c.user.email.clone()),
                email_verified: c.user.email_verified,
                is_staff: c.is_staff(),
            }),
            csrf: self.csrf.clone(),
            flash: self.flash,
        }
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<CurrentUser>().cloned();
        let country = coachflux_domain::safety::country_for(
            user.as_ref().and_then(|u| u.user.country.as_deref()),
            parts
                .headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let zone = coachflux_http::meta::zone(user.as_ref(), &parts.headers);
        Ok(PageCtx {
            asset_version: assets::version().to_owned(),
            public_url: state.config.public_url.clone(),
            user,
            country,
            zone,
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            flash: parts.extensions.get::<Flash>().copied(),
        })
    }
}
