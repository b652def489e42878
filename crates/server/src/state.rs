use crate::config::Config;
use crate::metrics::Metrics;
use coachflux_domain::SharedClock;
use coachflux_store::Store;
use std::sync::Arc;

/// Everything a handler needs, clone-cheap.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// Changes whenever an embedded asset changes, so browsers can cache assets forever.
    pub asset_version: Arc<str>,
}

impl AppState {
    pub fn new(config: Config, store: Store, clock: SharedClock) -> Self {
        Self {
            config: Arc::new(config),
            store,
            clock,
            metrics: Metrics::new(),
            asset_version: crate::web::assets::version().into(),
        }
    }
}
