//! Scheduled jobs: the data-retention rules and reminders, run by an in-process scheduler in
//! every `serve` (unless disabled) with a lease row per job, so N instances on one database
//! run each due job exactly once. `coachflux jobs run NAME --now <RFC3339>` runs one by hand
//! with the clock set, for tests and drills.

use crate::backup;
use crate::error::AppError;
use crate::mail::messages;
use crate::services::{accounts, privacy};
use crate::state::AppState;
use coachflux_domain::clock::{DAY_MS, MINUTE_MS};
use coachflux_domain::ids::new_id;
use coachflux_store::{jobs, retention};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Rows per batch: short statements that never hold the write lock for long.
const BATCH: i64 = 500;
/// How long a run may hold its lease before another instance may take over.
const LEASE_MS: i64 = 10 * MINUTE_MS;

pub use coachflux_domain::jobs::{ALL, Job};

/// How often `job` runs here: the schedule's value (`COACHFLUX_JOB_SCHEDULE`), or the job's
/// default.
pub fn interval_ms(config: &crate::config::Config, job: Job) -> i64 {
    config
        .job_schedule
        .get(job.name())
        .unwrap_or_else(|| job.default_interval_ms())
}

/// Each job with its interval here, its next run (`None`: at the next tick) and its latest run.
pub async fn overview(
    state: &AppState,
) -> Result<Vec<(Job, i64, Option<i64>, Option<coachflux_store::jobs::Run>)>, AppError> {
    let mut conn = state.store.conn().await?;
    let mut out = Vec::new();
    for job in ALL {
        let next = jobs::next_run_at(&mut conn, job.name())
            .await?
            .filter(|t| *t > 0);
        let last = jobs::recent_runs(&mut conn, Some(job.name()), 1)
            .await?
            .into_iter()
            .next();
        out.push((job, interval_ms(&state.config, job), next, last));
    }
    Ok(out)
}

/// The latest runs of every job, newest first.
pub async fn recent_runs(
    state: &AppState,
    limit: i64,
) -> Result<Vec<coachflux_store::jobs::Run>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(jobs::recent_runs(&mut conn, None, limit).await?)
}

/// What a run did, e.g. `{"deleted": 3}`.
pub type Counts = Map<String, Value>;

/// Runs one job at `now` (all of its batches).
pub async fn run(state: &AppState, job: Job, now: i64) -> Result<Counts, AppError> {
    let mut counts = Counts::new();
    match job {
        Job::AnonymousSessions => {
            let (mut total, mut abandoned) = (0, 0);
            loop {
                // One batch per transaction: the deletions and their `session_abandoned`
                // events (for sessions left unfinished) land together.
                let mut tx = state.store.begin().await?;
                let gone =
                    retention::delete_expired_anonymous_sessions(&mut tx, now, BATCH).await?;
                for s in gone.iter().filter(|s| !s.finished) {
                    let props = json!({"sessionId": s.id, "framework": s.framework, "step": s.step, "reason": "expired"});
                    coachflux_store::events::record(
                        &mut tx,
                        &coachflux_domain::ids::new_id(),
                        None,
                        s.anonymous_id.as_deref(),
                        "session_abandoned",
                        &props.to_string(),
                        now,
                    )
                    .await?;
                    abandoned += 1;
                }
                tx.commit().await?;
                total += gone.len();
                if gone.len() < BATCH as usize {
                    break;
                }
            }
            counts.insert("deleted".into(), json!(total));
            counts.insert("abandoned".into(), json!(abandoned));
        }
        Job::ArchiveActions => {
            let mut total = 0;
            loop {
                let mut conn = state.store.conn().await?;
                let n =
                    retention::archive_completed_actions(&mut conn, now - 90 * DAY_MS, now, BATCH)
                        .await?;
                total += n;
                if n < BATCH as u64 {
                    break;
                }
            }
            counts.insert("archived".into(), json!(total));
        }
        Job::ActionReminders => {
            let (emails, notifications) = send_reminders(state, now).await?;
            counts.insert("emails".into(), json!(emails));
            counts.insert("notifications".into(), json!(notifications));
        }
        Job::Purge => {
            let mut conn = state.store.conn().await?;
            loop {
                let removed = retention::purge_expired(
                    &mut conn,
                    now,
                    now - 30 * DAY_MS,
                    now - DAY_MS,
                    BATCH,
                )
                .await?;
                let mut more = false;
                for (table, n) in removed {
                    let entry = counts.entry(table).or_insert(json!(0));
                    *entry = json!(entry.as_u64().unwrap_or(0) + n);
                    more |= n == BATCH as u64;
                }
                if !more {
                    break;
                }
            }
        }
        Job::AccountErasure => counts = privacy::erase_due(state, now).await?,
        Job::FreeHistory => counts = privacy::trim_free_history(state, now).await?,
        Job::Backup => {
            let dir = state.config.data_dir.join("backups");
            let made = backup::create(&state.store, &state.config, &dir, now)
                .await
                .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            let pruned = backup::prune(&dir, now - state.config.backup_keep_days * DAY_MS)
                .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            counts.insert("bytes".into(), json!(made.bytes));
            counts.insert("pruned".into(), json!(pruned));
        }
    }
    Ok(counts)
}

/// Reminds each open item due within 24 hours once: the flag, the notification and the email
/// go in one transaction, so a reminder is never lost or doubled.
async fn send_reminders(state: &AppState, now: i64) -> Result<(u64, u64), AppError> {
    let (mut emails, mut notifications) = (0, 0);
    loop {
        let due = {
            let mut conn = state.store.conn().await?;
            retention::items_due_for_reminder(&mut conn, now, DAY_MS, BATCH).await?
        };
        for item in &due {
            let mut tx = state.store.begin().await?;
            if !retention::mark_reminder_sent(&mut tx, &item.id).await? {
                continue;
            }
            let zone = coachflux_domain::dates::zone_of(item.time_zone.as_deref());
            let when = coachflux_domain::dates::label(item.due_date, zone);
            let message = format!("\u{201c}{}\u{201d} is due {when}.", item.title);
            retention::insert_notification(
                &mut tx,
                &retention::NewNotification {
                    id: &new_id(),
                    user_id: &item.user_id,
                    kind: "action_reminder",
                    title: "An action is due soon",
                    message: &message,
                    action_url: Some("/actions"),
                    now,
                },
            )
            .await?;
            notifications += 1;
            if item.wants_email {
                let email = messages::action_reminder(
                    &messages::To {
                        email: &item.email,
                        user_id: Some(&item.user_id),
                        name: item.name.as_deref(),
                    },
                    &item.title,
                    &when,
                    &state.link("/actions"),
                );
                accounts::enqueue(state, &mut tx, &email).await?;
                emails += 1;
            }
            tx.commit().await?;
        }
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if emails > 0 {
        state.outbox.wake();
    }
    Ok((emails, notifications))
}

/// Sets each job's last-run and last-success gauges from the run history in the database, so
/// every instance's `/metrics` shows every instance's runs.
pub async fn publish_last_runs(state: &AppState) {
    let last = match state.store.conn().await {
        Ok(mut conn) => jobs::last_finished(&mut conn).await,
        Err(e) => Err(e),
    };
    let rows = match last {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "reading job runs for /metrics");
            return;
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let secs = |ms: i64| ms as f64 / 1000.0;
    for (job, finished, ok) in rows {
        let m = &state.metrics;
        m.set_job_gauge("job_last_run_timestamp_seconds", &job, secs(finished));
        if let Some(ok) = ok {
            m.set_job_gauge("job_last_success_timestamp_seconds", &job, secs(ok));
        }
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// By the scheduler, when the job is due by the clock; the next run is scheduled.
    Scheduled,
    /// By hand (`coachflux jobs run`): now, whether due or not, applying the job's rules as
    /// if the clock read `at` (for drills and tests). The schedule is left as it is.
    ByHand { at: i64 },
}

/// Runs `job` if this instance gets its lease, keeps the lease while it runs, and records
/// the run. `Ok(None)` when another instance holds it or (scheduled) it isn't due yet.
pub async fn run_leased(
    state: &AppState,
    job: Job,
    instance: &str,
    trigger: Trigger,
) -> Result<Option<Counts>, AppError> {
    let now = state.clock.now_ms();
    let (at, next) = match trigger {
        Trigger::Scheduled => (now, Some(now + interval_ms(&state.config, job))),
        Trigger::ByHand { at } => (at, None),
    };
    let run_id = new_id();
    {
        let mut conn = state.store.conn().await?;
        if !jobs::claim(&mut conn, job.name(), instance, now, LEASE_MS, next).await? {
            return Ok(None);
        }
        jobs::close_interrupted_runs(&mut conn, job.name(), now).await?;
        jobs::start_run(&mut conn, &run_id, job.name(), instance, now).await?;
    }
    let started = std::time::Instant::now();
    let work = run(state, job, at);
    tokio::pin!(work);
    // A long run (a big backup, a slow mail server) renews its lease as it goes.
    let mut heartbeat = tokio::time::interval(Duration::from_millis(
        u64::try_from(LEASE_MS / 3).unwrap_or(60_000),
    ));
    heartbeat.tick().await;
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = heartbeat.tick() => {
                let until = state.clock.now_ms() + LEASE_MS;
                let renewed = match state.store.conn().await {
                    Ok(mut conn) => jobs::renew(&mut conn, job.name(), instance, until, state.clock.now_ms()).await,
                    Err(e) => Err(e),
                };
                match renewed {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(job = job.name(), "the job's lease was lost while it ran"),
                    Err(e) => tracing::warn!(job = job.name(), error = %e, "renewing a job lease"),
                }
            }
        }
    };
    let finished = now + i64::try_from(started.elapsed().as_millis()).unwrap_or(0);
    let mut conn = state.store.conn().await?;
    let (outcome, counts, error) = match &result {
        Ok(c) => ("ok", Value::Object(c.clone()).to_string(), None),
        Err(e) => {
            tracing::error!(job = job.name(), error = %e, "job failed");
            (
                "failed",
                "{}".to_owned(),
                Some("the job failed; see the server log".to_owned()),
            )
        }
    };
    jobs::finish_run(
        &mut conn,
        &run_id,
        outcome,
        &counts,
        error.as_deref(),
        finished,
    )
    .await?;
    jobs::release(&mut conn, job.name(), instance, finished).await?;
    state.metrics.record_job_run(job.name(), outcome);
    result.map(Some)
}

/// An id for this process in lease and run rows.
pub fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "coachflux".into());
    format!("{host}-{}-{}", std::process::id(), &new_id()[24..])
}

/// Starts the scheduler: every `tick`, each due job runs on whichever instance claims it.
pub fn spawn_scheduler(state: AppState, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let instance = instance_id();
        tracing::info!(%instance, "job scheduler started");
        loop {
            for job in ALL {
                if let Err(e) = run_leased(&state, job, &instance, Trigger::Scheduled).await {
                    tracing::error!(job = job.name(), error = %e, "scheduling a job");
                }
            }
            tokio::time::sleep(tick).await;
        }
    })
}
