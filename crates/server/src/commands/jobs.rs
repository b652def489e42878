//! `coachflux jobs list` and `coachflux jobs run NAME [--now RFC3339]`.

use super::boot;
use crate::cli::JobsCommand;
use crate::startup::StartupError;
use coachflux_app::config::Config;
use coachflux_app::jobs::{self, ALL, Job};
use coachflux_app::services::accounts::format_utc;

pub async fn run(config: Config, cmd: JobsCommand) -> Result<(), StartupError> {
    let booted = boot(config).await?;
    let result = match cmd {
        JobsCommand::List => list(&booted.state).await,
        JobsCommand::Run { name, now } => run_one(&booted, &name, now).await,
    };
    booted.close().await;
    result
}

async fn list(state: &coachflux_app::AppState) -> Result<(), StartupError> {
    let overview = jobs::overview(state)
        .await
        .map_err(|e| StartupError(e.to_string()))?;
    println!(
        "{:<20} {:>10}  {:<20} {:<28} WHAT",
        "JOB", "EVERY", "NEXT RUN", "LAST RUN"
    );
    for (job, every, next, last) in overview {
        let last = last.map_or_else(
            || "never".to_owned(),
            |r| format!("{} {} {}", format_utc(r.started_at), r.outcome, r.counts),
        );
        let next = next.map_or_else(|| "at the next start".to_owned(), format_utc);
        println!(
            "{:<20} {:>9}s  {:<20} {:<28} {}",
            job.name(),
            every / 1000,
            next,
            last,
            job.describe()
        );
    }
    Ok(())
}

/// `--now` sets the time the job's rules see; leases and run records keep the real clock, so
/// a drill can't take over a lease another instance holds, or leave one behind.
async fn run_one(booted: &super::Booted, name: &str, now: Option<i64>) -> Result<(), StartupError> {
    let Some(job) = Job::from_name(name) else {
        let known: Vec<&str> = ALL.iter().map(|j| j.name()).collect();
        return Err(StartupError(format!(
            "unknown job {name:?} (jobs: {})",
            known.join(", ")
        )));
    };
    let at = now.unwrap_or_else(|| booted.clock.now_ms());
    match jobs::run_leased(
        &booted.state,
        job,
        &jobs::instance_id(),
        jobs::Trigger::ByHand { at },
    )
    .await
    {
        Ok(Some(counts)) => {
            println!(
                "{} ran at {}: {}",
                job.name(),
                format_utc(at),
                serde_json::Value::Object(counts)
            );
            Ok(())
        }
        Ok(None) => Err(StartupError(format!(
            "{} is running on another instance right now; try again when it finishes",
            job.name()
        ))),
        Err(e) => Err(StartupError(format!("{} failed: {e}", job.name()))),
    }
}
