//! `coachflux serve` (the default): serves until SIGTERM or SIGINT.

use crate::startup::{self, Server, StartupError};
use coachflux_app::config::Config;
use coachflux_domain::{SharedClock, SystemClock};
use std::sync::Arc;

pub async fn run(config: Config) -> Result<(), StartupError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let server = Server::build(config, clock).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, "CoachFlux is serving at http://{addr}");
    server
        .run_until(startup::shutdown_signal())
        .await
        .map_err(|e| StartupError(format!("server stopped: {e}")))?;
    tracing::info!("shutdown complete");
    Ok(())
}
