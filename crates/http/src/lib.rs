//! The HTTP edge that CoachFlux's pages and JSON API share: building cookies, who is asking
//! (the session cookie middleware), the request facts services take, and event streams. Both
//! faces depend on this crate and on `coachflux-app`; neither touches the store.

pub mod cookies;
pub mod meta;
pub mod session;
pub mod sse;

pub use meta::Meta;

/// The CSRF token of this request, for forms (`<input type="hidden" name="_csrf">`) and the
/// site's script (`X-CSRF-Token`). Set by the server's CSRF middleware.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);
