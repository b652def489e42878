//! `coachflux dev generate`: a database filled with people who have a history.

use super::boot;
use crate::cli::DevCommand;
use crate::startup::StartupError;
use coachflux_app::config::Config;
use coachflux_app::services::generate::{self, Plan};
use std::time::Instant;

pub async fn run(config: Config, cmd: DevCommand) -> Result<(), StartupError> {
    let DevCommand::Generate {
        people,
        sessions_per_person,
        reflections_per_session,
        actions_per_person,
        seed,
        password,
        rows_per_commit,
        token_file,
    } = cmd;
    let booted = boot(config).await?;
    let plan = Plan {
        people,
        sessions_per_person,
        reflections_per_session,
        actions_per_person,
        seed,
        password,
        rows_per_commit,
    };
    let started = Instant::now();
    let now = booted.clock.now_ms();
    let result = async {
        let made = generate::people(&booted.state, &plan, now)
            .await
            .map_err(|e| StartupError(describe(&e)))?;
        println!(
            "made {} people, {} sessions, {} reflections, {} action items, {} events in {:.1} s",
            made.people,
            made.sessions,
            made.reflections,
            made.action_items,
            made.events,
            started.elapsed().as_secs_f64()
        );
        if let Some(file) = token_file {
            let token = generate::token_for(&booted.state, &made.first_email, 30, now)
                .await
                .map_err(|e| StartupError(describe(&e)))?;
            write_private(&file, &format!("{token}\n")).map_err(|e| {
                StartupError(format!("cannot write the token to {}: {e}", file.display()))
            })?;
            println!(
                "a read-write API token for {} is in {}",
                made.first_email,
                file.display()
            );
        }
        Ok(())
    }
    .await;
    booted.close().await;
    result
}

/// The error for the terminal: what a person can act on.
fn describe(e: &coachflux_app::error::AppError) -> String {
    match e.message_for("database") {
        Some(m) => m.to_owned(),
        None => e.to_string(),
    }
}

/// Writes a secret readable by its owner only.
fn write_private(file: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?
        .write_all(text.as_bytes())
}
