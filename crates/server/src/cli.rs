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
    Config {
        /// Print every setting with its default and meaning as a Markdown table instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Operator tasks on accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The coach in use.
    #[command(subcommand)]
    Coach(CoachCommand),
    /// Scheduled jobs (retention rules and reminders).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Print everything CoachFlux holds about one person as JSON (their GDPR export).
    ExportUser {
        /// The account's email address.
        email: String,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Take a consistent, verified, compressed snapshot of the database (safe while the
    /// server runs), with a checksum manifest beside it.
    Backup {
        /// Where to write it (default: <data dir>/backups).
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Tools for development and benchmarks.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Replace the database with a backup, after checking its checksum and integrity.
    /// Deletions made since the backup (erased accounts, deleted sessions) are applied again.
    Restore {
        /// The backup file (`*.sqlite.gz` or `*.pgdump`) with its `*.manifest.json` beside it.
        file: PathBuf,
        /// Restore even though a server seems to be using the database (restart it after).
        #[arg(long)]
        force: bool,
        /// Also re-apply the deletion ledger of this database (the one being replaced, when
        /// the backup goes into a new, empty database instead of over it).
        #[arg(long, value_name = "DATABASE_URL")]
        ledger_from: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill a new, empty database with people who have a history: completed sessions with
    /// their reflections, action items, events and progress figures (same seed, same data).
    /// Everyone signs in as person<N>@generated.example with the given password.
    Generate {
        #[arg(long, default_value_t = 100)]
        people: u64,
        #[arg(long, default_value_t = 10)]
        sessions_per_person: u64,
        #[arg(long, default_value_t = 10)]
        reflections_per_session: u64,
        #[arg(long, default_value_t = 50)]
        actions_per_person: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value = "generated-password")]
        password: String,
        /// Rows written per transaction.
        #[arg(long, default_value_t = 20_000)]
        rows_per_commit: usize,
        /// Also make a read-write API token for person0 and write it to this file.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Every job with its schedule, last run and next run.
    List,
    /// Run one job now, whether or not it is due (waits for no other instance: if one is
    /// running it, this refuses).
    Run {
        /// The job's name, as `coachflux jobs list` shows it.
        name: String,
        /// Run as if the clock read this instant (RFC 3339, e.g. 2026-03-01T09:00:00Z), for
        /// drills and tests.
        #[arg(long, value_parser = parse_instant)]
        now: Option<i64>,
    },
}

fn parse_instant(v: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("{v:?} is not an RFC 3339 time like 2026-03-01T09:00:00Z ({e})"))
}

#[derive(Debug, Subcommand)]
pub enum CoachCommand {
    /// Send one tiny request to the configured OpenAI-compatible endpoint and report the
    /// latency, or exactly what is wrong (unreachable, 401, model not found...).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Give an existing account a role: member, staff or admin (the person is told by email).
    /// Staff and admins must turn on two-factor authentication before they can open the staff
    /// pages.
    SetRole {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// member, staff or admin.
        #[arg(long, value_parser = ["member", "staff", "admin"])]
        role: String,
    },
    /// Turn off two-factor authentication for an account that lost its phone and recovery codes
    /// (after verifying the person out of band). Signs every device out and tells the person.
    #[command(name = "reset-2fa")]
    Reset2fa {
        #[arg(long)]
        email: String,
    },
    /// Erase an account now, without the 7-day grace period: for an erasure request received
    /// outside the app (after verifying the person). The final email goes out first.
    EraseUser {
        #[arg(long)]
        email: String,
        /// Required: erasure cannot be undone (only a backup from before it could, and a
        /// restore re-applies it).
        #[arg(long)]
        yes: bool,
    },
}
