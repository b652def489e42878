//! `coachflux backup [--to DIR]` and `coachflux restore FILE [--force] [--ledger-from URL]`.

use crate::startup::{self, StartupError};
use coachflux_app::config::Config;
use coachflux_domain::{Clock, SharedClock, SystemClock};
use std::sync::Arc;

pub async fn backup(
    mut config: Config,
    to: Option<std::path::PathBuf>,
) -> Result<(), StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let store = startup::open_store(&config, &clock).await?;
    let dir = to.unwrap_or_else(|| config.data_dir.join("backups"));
    let made = coachflux_app::backup::create(&store, &config, &dir, clock.now_ms()).await;
    store.close().await;
    let made = made.map_err(|e| StartupError(format!("backup failed: {e}")))?;
    println!(
        "backup written: {} ({} bytes, sha256 {})\nmanifest: {}",
        made.file.display(),
        made.bytes,
        made.sha256,
        made.manifest.display()
    );
    Ok(())
}

pub async fn restore(
    mut config: Config,
    file: &std::path::Path,
    force: bool,
    ledger_from: Option<&str>,
) -> Result<(), StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let now = SystemClock.now_ms();
    let r = coachflux_app::backup::restore_with_ledger(&config, file, force, ledger_from, now)
        .await
        .map_err(|e| StartupError(format!("restore failed: {e}")))?;
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
