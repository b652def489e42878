//! CoachFlux's use cases. The services hold the rules (validation, authorization, rate limits,
//! audit) in one transaction per use case and take plain inputs; jobs, mail, the coaches and
//! the application context live here too. Nothing here speaks HTTP or renders a page: the web
//! and API faces turn what this crate answers into pages and problem documents.

pub mod auth;
pub mod backup;
pub mod config;
pub mod crypto;
pub mod error;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod services;
pub mod state;

pub use error::AppError;
pub use state::AppState;
