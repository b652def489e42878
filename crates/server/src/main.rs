use clap::Parser;
use coachflux::cli::{AdminCommand, Cli, CoachCommand, Command, JobsCommand};
use coachflux::config::Config;
use coachflux::startup::{self, Server};
use coachflux::telemetry;
use coachflux_domain::{Clock, SharedClock, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

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
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Admin(AdminCommand::EraseUser { email, yes }) => {
            erase_user(config, &email, yes).await
        }
        Command::Admin(cmd) => admin(config, cmd).await,
        Command::Coach(CoachCommand::Check) => coach_check(config).await,
        Command::Jobs(cmd) => jobs(config, cmd).await,
        Command::ExportUser { email, out } => export_user(config, &email, out).await,
        Command::Backup { to } => backup(config, to).await,
        Command::Restore {
            file,
            force,
            ledger_from,
        } => restore(config, &file, force, ledger_from.as_deref()).await,
        Command::Config => {
            for (key, value) in config.redacted_lines() {
                println!("{key} = {value}");
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coachflux: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), startup::StartupError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let server = Server::build(config, clock).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, "CoachFlux is serving at http://{addr}");
    server
        .run_until(startup::shutdown_signal())
        .await
        .map_err(|e| startup::StartupError(format!("server stopped: {e}")))?;
    tracing::info!("shutdown complete");
    Ok(())
}

async fn jobs(mut config: Config, cmd: JobsCommand) -> Result<(), startup::StartupError> {
    use coachflux::jobs::{self as j, Job};
    let fail = |e: String| startup::StartupError(e);
    startup::prepare_data_dir(&mut config)?;
    // `--now` sets the time the job's rules see; leases and run records keep the real clock,
    // so a drill can't take over a lease another instance holds, or leave one behind.
    let now = match &cmd {
        JobsCommand::Run { now, .. } => *now,
        JobsCommand::List => None,
    };
    let clock: SharedClock = Arc::new(SystemClock);
    let store = startup::open_store(&config, &clock).await?;
    let state =
        coachflux::state::AppState::new(config, store.clone(), clock.clone()).map_err(fail)?;
    let result = match cmd {
        JobsCommand::List => {
            let mut conn = store.conn().await.map_err(|e| fail(e.to_string()))?;
            println!(
                "{:<20} {:>10}  {:<20} {:<28} WHAT",
                "JOB", "EVERY", "NEXT RUN", "LAST RUN"
            );
            for job in j::ALL {
                let last = coachflux_store::jobs::recent_runs(&mut conn, Some(job.name()), 1)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let last = last.first().map_or_else(
                    || "never".to_owned(),
                    |r| {
                        format!(
                            "{} {} {}",
                            coachflux::services::accounts::format_utc(r.started_at),
                            r.outcome,
                            r.counts
                        )
                    },
                );
                let next = coachflux_store::jobs::next_run_at(&mut conn, job.name())
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .filter(|t| *t > 0)
                    .map_or_else(
                        || "at the next start".to_owned(),
                        coachflux::services::accounts::format_utc,
                    );
                println!(
                    "{:<20} {:>9}s  {:<20} {:<28} {}",
                    job.name(),
                    state.config.job_interval_ms(job) / 1000,
                    next,
                    last,
                    job.describe()
                );
            }
            Ok(())
        }
        JobsCommand::Run { name, .. } => {
            let Some(job) = Job::from_name(&name) else {
                let known: Vec<&str> = j::ALL.iter().map(|j| j.name()).collect();
                return Err(fail(format!(
                    "unknown job {name:?} (jobs: {})",
                    known.join(", ")
                )));
            };
            let at = now.unwrap_or_else(|| clock.now_ms());
            match j::run_leased(&state, job, &j::instance_id(), j::Trigger::ByHand { at }).await {
                Ok(Some(counts)) => {
                    println!(
                        "{} ran at {}: {}",
                        job.name(),
                        coachflux::services::accounts::format_utc(at),
                        serde_json::Value::Object(counts)
                    );
                    Ok(())
                }
                Ok(None) => Err(fail(format!(
                    "{} is running on another instance right now; try again when it finishes",
                    job.name()
                ))),
                Err(e) => Err(fail(format!("{} failed: {e}", job.name()))),
            }
        }
    };
    store.close().await;
    result
}

async fn export_user(
    mut config: Config,
    email: &str,
    out: Option<std::path::PathBuf>,
) -> Result<(), startup::StartupError> {
    let fail = |e: String| startup::StartupError(e);
    startup::prepare_data_dir(&mut config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let store = startup::open_store(&config, &clock).await?;
    let state = coachflux::state::AppState::new(config, store.clone(), clock).map_err(fail)?;
    let result = async {
        let user = {
            let mut conn = store.conn().await.map_err(|e| fail(e.to_string()))?;
            coachflux_store::users::find_by_email(&mut conn, &email.trim().to_lowercase())
                .await
                .map_err(|e| fail(e.to_string()))?
        }
        .ok_or_else(|| fail(format!("no account has the email address {email:?}")))?;
        let doc = coachflux::services::privacy::export(&state, &user.id)
            .await
            .map_err(|e| fail(format!("the export failed: {e}")))?;
        let text = serde_json::to_string_pretty(&doc).map_err(|e| fail(e.to_string()))?;
        match out {
            Some(path) => {
                std::fs::write(&path, text + "\n")
                    .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
                eprintln!("wrote the export of {email} to {}", path.display());
            }
            None => println!("{text}"),
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn erase_user(
    mut config: Config,
    email: &str,
    yes: bool,
) -> Result<(), startup::StartupError> {
    let fail = |e: String| startup::StartupError(e);
    if !yes {
        return Err(fail(format!(
            "erasing {email} cannot be undone: add --yes to confirm"
        )));
    }
    let address =
        coachflux_domain::EmailAddress::parse(email).map_err(|e| fail(format!("--email: {e}")))?;
    startup::prepare_data_dir(&mut config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let store = startup::open_store(&config, &clock).await?;
    let state =
        coachflux::state::AppState::new(config, store.clone(), clock.clone()).map_err(fail)?;
    let result = async {
        let user = {
            let mut conn = store.conn().await.map_err(|e| fail(e.to_string()))?;
            coachflux_store::users::find_by_email(&mut conn, address.as_str())
                .await
                .map_err(|e| fail(e.to_string()))?
        }
        .ok_or_else(|| fail(format!("no account has the email {address}")))?;
        let (_, emailed) = coachflux::services::privacy::erase_one(
            &state,
            &user.id,
            &user.email,
            user.name.as_deref(),
            None,
            clock.now_ms(),
        )
        .await
        .map_err(|e| fail(format!("the erasure failed: {e}")))?
        .ok_or_else(|| fail(format!("no account has the email {address}")))?;
        println!(
            "{address} is erased{}",
            if emailed {
                "; the final email went out"
            } else {
                " (the final email could not be sent)"
            }
        );
        Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn backup(
    mut config: Config,
    to: Option<std::path::PathBuf>,
) -> Result<(), startup::StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let store = startup::open_store(&config, &clock).await?;
    let dir = to.unwrap_or_else(|| config.data_dir.join("backups"));
    let made = coachflux::backup::create(&store, &config, &dir, clock.now_ms()).await;
    store.close().await;
    let made = made.map_err(|e| startup::StartupError(format!("backup failed: {e}")))?;
    println!(
        "backup written: {} ({} bytes, sha256 {})\nmanifest: {}",
        made.file.display(),
        made.bytes,
        made.sha256,
        made.manifest.display()
    );
    Ok(())
}

async fn restore(
    mut config: Config,
    file: &std::path::Path,
    force: bool,
    ledger_from: Option<&str>,
) -> Result<(), startup::StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let now = SystemClock.now_ms();
    let r = coachflux::backup::restore_with_ledger(&config, file, force, ledger_from, now)
        .await
        .map_err(|e| startup::StartupError(format!("restore failed: {e}")))?;
    println!(
        "restored the {} database from {} (taken {}); deletions re-applied: {} account(s), {} session(s)",
        r.engine.as_str(),
        file.display(),
        r.taken_at,
        r.erased_accounts,
        r.deleted_sessions
    );
    Ok(())
}

async fn coach_check(config: Config) -> Result<(), startup::StartupError> {
    let Some(openai) = &config.openai else {
        println!("the built-in coach is in use (set COACHFLUX_COACH=openai to use a model)");
        return Ok(());
    };
    startup::install_crypto_provider();
    println!(
        "asking {} at {} ...",
        openai.model,
        coachflux::config::redact_url(&openai.base_url)
    );
    let call = coachflux::services::llm::check(openai).await;
    match call.result {
        Ok(c) => {
            println!(
                "ok: answered in {} ms ({} prompt + {} completion tokens)",
                call.latency_ms, c.prompt_tokens, c.completion_tokens
            );
            Ok(())
        }
        Err(e) => {
            let hint = match &e {
                coachflux::services::llm::CallError::Http {
                    status: 401 | 403, ..
                } => " (check COACHFLUX_OPENAI_API_KEY)",
                coachflux::services::llm::CallError::Http { status: 404, .. } => {
                    " (check COACHFLUX_OPENAI_MODEL and COACHFLUX_OPENAI_BASE_URL, which usually ends in /v1)"
                }
                coachflux::services::llm::CallError::Unreachable(_) => {
                    " (check COACHFLUX_OPENAI_BASE_URL and that the server is running)"
                }
                _ => "",
            };
            Err(startup::StartupError(format!("{e}{hint}")))
        }
    }
}

async fn migrate(mut config: Config) -> Result<(), startup::StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let store = startup::connect(&config).await?;
    let status = store
        .migrate()
        .await
        .map_err(|e| startup::StartupError(e.to_string()))?;
    println!(
        "database is at migration {} ({} applied)",
        status.applied.last().copied().unwrap_or(0),
        status.applied.len()
    );
    store.close().await;
    Ok(())
}

async fn admin(config: Config, cmd: AdminCommand) -> Result<(), startup::StartupError> {
    let store = startup::connect(&config).await?;
    let fail = |e: coachflux_store::StoreError| startup::StartupError(e.to_string());
    let mut conn = store.conn().await.map_err(fail)?;
    let now = SystemClock.now_ms();
    let find = |email: &str| {
        coachflux_domain::EmailAddress::parse(email)
            .map_err(|e| startup::StartupError(format!("--email: {e}")))
    };
    let result = match cmd {
        AdminCommand::SetRole { email, role } => {
            let email = find(&email)?;
            let user = coachflux_store::users::find_by_email(&mut conn, email.as_str())
                .await
                .map_err(fail)?
                .ok_or_else(|| {
                    startup::StartupError(format!("no account has the email {email}"))
                })?;
            coachflux_store::users::set_role(&mut conn, &user.id, &role, now)
                .await
                .map_err(fail)?;
            println!("{email} is now {role}");
            if role != "member" && !user.totp_enabled {
                println!(
                    "they must turn on two-factor authentication (Settings) before opening the admin pages"
                );
            }
            Ok(())
        }
        AdminCommand::Reset2fa { email } => {
            let email = find(&email)?;
            let user = coachflux_store::users::find_by_email(&mut conn, email.as_str())
                .await
                .map_err(fail)?
                .ok_or_else(|| {
                    startup::StartupError(format!("no account has the email {email}"))
                })?;
            coachflux_store::users::set_totp(&mut conn, &user.id, None, false, now)
                .await
                .map_err(fail)?;
            coachflux_store::recovery_codes::replace_all(&mut conn, &user.id, &[], now)
                .await
                .map_err(fail)?;
            println!("two-factor authentication is off for {email}; ask them to set it up again");
            Ok(())
        }
        AdminCommand::EraseUser { .. } => unreachable!("dispatched by main"),
    };
    drop(conn);
    store.close().await;
    result
}
