//! `coachflux`: parses the command line and the configuration, then runs the command.

use clap::Parser;
use coachflux::cli::Cli;
use coachflux::{commands, telemetry};
use coachflux_app::config::Config;
use std::process::ExitCode;

/// Exit code for configuration mistakes (a bad value in the environment or the file).
const EXIT_CONFIG: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("coachflux: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(&config);
    match commands::run(config, cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coachflux: {e}");
            ExitCode::FAILURE
        }
    }
}
