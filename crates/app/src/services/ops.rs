//! What operators' endpoints report: readiness (the database answers and is migrated) and the
//! metrics of this instance.

use crate::AppState;

/// `Ok` when the database answers and every migration is applied; else why not (for the log).
pub async fn readiness(state: &AppState) -> Result<(), String> {
    state
        .store
        .ping()
        .await
        .map_err(|e| format!("database unreachable: {e}"))?;
    match state.store.migration_status().await {
        Ok(s) if s.is_current() => Ok(()),
        Ok(s) => Err(format!(
            "migrations pending: applied {:?}, known {:?}",
            s.applied, s.known
        )),
        Err(e) => Err(format!("cannot read migrations: {e}")),
    }
}

/// The Prometheus text of this instance, with the pool gauges and the jobs' last runs read now.
pub async fn metrics_text(state: &AppState) -> String {
    let pool = state.store.pool_stats();
    state
        .metrics
        .set_gauge("db_pool_connections", f64::from(pool.size));
    state
        .metrics
        .set_gauge("db_pool_idle_connections", f64::from(pool.idle));
    state
        .metrics
        .set_gauge("db_pool_max_connections", f64::from(pool.max));
    crate::jobs::publish_last_runs(state).await;
    state.metrics.render()
}
