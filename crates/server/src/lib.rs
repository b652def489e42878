//! The CoachFlux server: configuration, the axum app, pages, and the `coachflux` command.

pub mod cli;
pub mod config;
pub mod error;
mod http;
pub mod metrics;
pub mod startup;
pub mod state;
pub mod telemetry;
mod web;

pub use startup::{Server, StartupError};
