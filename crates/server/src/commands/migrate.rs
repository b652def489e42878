//! `coachflux migrate`: applies pending migrations and exits.

use crate::startup::{self, StartupError};
use coachflux_app::config::Config;

pub async fn run(mut config: Config) -> Result<(), StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let store = startup::connect(&config).await?;
    let status = store
        .migrate()
        .await
        .map_err(|e| StartupError(e.to_string()))?;
    println!(
        "database is at migration {} ({} applied)",
        status.applied.last().copied().unwrap_or(0),
        status.applied.len()
    );
    store.close().await;
    Ok(())
}
