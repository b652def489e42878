//! The CoachFlux server: configuration, the axum app, pages, and the `coachflux` command.

pub mod api;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod csrf;
pub mod error;
mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
mod web;

pub use startup::{Server, StartupError};
