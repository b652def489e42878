//! `coachflux`: parses the command line and the configuration, then runs the command.

use clap::Parser;
use coachflux::cli::Cli;
use coachflux::{commands, telemetry};
use coachflux_app::config::Config;
use std::process::ExitCode;

/// Exit code for configuration mistakes (a bad value in the environment or the file).
const EXIT_CONFIG: u8 = 2;

/// Threads for blocking work (password hashing, which its own semaphore bounds to a few at a
/// time; backups; file I/O), instead of tokio's default of 512: a burst can't grow the process
/// by hundreds of stacks.
const MAX_BLOCKING_THREADS: usize = 32;

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("coachflux: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
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
