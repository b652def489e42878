//! The `coachflux` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "coachflux",
    version,
    about = "CoachFlux: guided coaching conversations that end in a plan.",
    long_about = "CoachFlux serves the coaching web app and its API. Without a subcommand it \
                  serves. Configuration comes from COACHFLUX_* environment variables and an \
                  optional TOML file (see README.md)."
)]
pub struct Cli {
    /// A TOML configuration file; environment variables override its values.
    #[arg(long, global = true, env = "COACHFLUX_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
}
