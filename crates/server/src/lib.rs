//! The `coachflux` binary's library: start-up (configuration to a bound server), the HTTP
//! composition of the pages and the API with the cross-cutting layers, and the command line.

pub mod cli;
pub mod commands;
mod csrf;
mod http;
pub mod startup;
pub mod telemetry;

pub use startup::{Server, StartupError};

// The application's modules, as the integration tests and operators' tools know them.
pub use coachflux_app::{backup, config, crypto, jobs, mail, metrics, services, state};
