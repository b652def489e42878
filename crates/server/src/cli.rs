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
    /// Operator tasks on accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The coach in use.
    #[command(subcommand)]
    Coach(CoachCommand),
}

#[derive(Debug, Subcommand)]
pub enum CoachCommand {
    /// Send one tiny request to the configured OpenAI-compatible endpoint and report the
    /// latency, or exactly what is wrong (unreachable, 401, model not found...).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Give an existing account a role: member, staff or admin. Staff and admins must turn on
    /// two-factor authentication before they can open the admin pages.
    SetRole {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// member, staff or admin.
        #[arg(long, value_parser = ["member", "staff", "admin"])]
        role: String,
    },
    /// Turn off two-factor authentication for an account that lost its phone and recovery codes
    /// (after verifying the person out of band).
    Reset2fa {
        #[arg(long)]
        email: String,
    },
}
