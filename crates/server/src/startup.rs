//! Everything between "the config parsed" and "the listener accepts": the data directory, the
//! server key, the database (migrated and seeded) and the bound socket.

use crate::http;
use coachflux_app::AppState;
use coachflux_app::config::{Config, Secret, parse_secret_key};
use coachflux_domain::{Catalogue, SharedClock};
use coachflux_store::{ConnectOptions, Store};
use rand::TryRngCore;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;

/// A start-up failure, reported to the operator as one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

impl StartupError {
    fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Creates the data directory (owner-only), refuses one other local users can read, proves it
/// writable, and loads or generates the server key into `config.secret_key`.
pub fn prepare_data_dir(config: &mut Config) -> Result<(), StartupError> {
    let dir = &config.data_dir;
    let shown = dir.display();
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                StartupError::new(format!(
                    "COACHFLUX_DATA_DIR: cannot create {shown} ({})",
                    io_reason(&e)
                ))
            })?;
        // The mode given to `create` is filtered by the umask; say it exactly.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            StartupError::new(format!(
                "COACHFLUX_DATA_DIR: cannot restrict {shown} ({})",
                io_reason(&e)
            ))
        })?;
    }
    let mode = std::fs::metadata(dir)
        .map_err(|e| {
            StartupError::new(format!(
                "COACHFLUX_DATA_DIR: cannot read {shown} ({})",
                io_reason(&e)
            ))
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(StartupError::new(format!(
            "COACHFLUX_DATA_DIR: {shown} is open to other users of this machine (mode {:o}), \
             and it holds the server key and the database: run `chmod 700 {shown}` and start again",
            mode & 0o777
        )));
    }
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            StartupError::new(format!(
                "COACHFLUX_DATA_DIR: {shown} is not writable ({})",
                io_reason(&e)
            ))
        })?;
    if config.secret_key.is_none() {
        config.secret_key = Some(load_or_generate_key(&dir.join("secret.key"))?);
    }
    Ok(())
}

fn load_or_generate_key(path: &Path) -> Result<Secret, StartupError> {
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = parse_secret_key(&text)
                .map_err(|m| StartupError::new(format!("{shown}: the server key {m}")))?;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(path = %shown, "server key file is readable by others; chmod 600 it");
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng
                .try_fill_bytes(&mut bytes)
                .map_err(|e| StartupError::new(format!("cannot read OS randomness ({e})")))?;
            let hex = hex::encode(bytes);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    StartupError::new(format!("cannot create {shown} ({})", io_reason(&e)))
                })?;
            file.write_all(hex.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| {
                    StartupError::new(format!("cannot write {shown} ({})", io_reason(&e)))
                })?;
            tracing::info!(path = %shown, "generated a new server key");
            Ok(Secret::new(hex))
        }
        Err(e) => Err(StartupError::new(format!(
            "cannot read {shown} ({})",
            io_reason(&e)
        ))),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    // `Display` for io::Error appends "(os error N)"; the kind-level text is enough here.
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Connects, applies migrations and seeds the frameworks catalogue.
/// One TLS implementation for every client (PostgreSQL, SMTP): rustls with ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn open_store(config: &Config, clock: &SharedClock) -> Result<Store, StartupError> {
    let store = connect(config).await?;
    let status = store
        .migrate()
        .await
        .map_err(|e| StartupError::new(e.to_string()))?;
    tracing::info!(
        engine = store.engine().as_str(),
        applied = status.applied.len(),
        "database ready"
    );
    let catalogue = Catalogue::builtin().map_err(|e| StartupError::new(e.to_string()))?;
    store
        .seed_frameworks(&catalogue.frameworks, clock.now_ms())
        .await
        .map_err(|e| StartupError::new(format!("cannot seed the frameworks: {e}")))?;
    Ok(store)
}

pub async fn connect(config: &Config) -> Result<Store, StartupError> {
    install_crypto_provider();
    let mut opts = ConnectOptions::new(config.database_url.as_str());
    opts.max_connections = config.db_max_connections;
    opts.acquire_timeout = Duration::from_secs(10);
    Store::connect(&opts).await.map_err(|e| {
        StartupError::new(format!(
            "COACHFLUX_DATABASE_URL ({}): {e}",
            coachflux_app::config::redact_url(config.database_url.as_str())
        ))
    })
}

/// A server bound to its socket and ready to run.
pub struct Server {
    listener: TcpListener,
    /// `/metrics` on an address of its own (`COACHFLUX_METRICS_BIND`), when set.
    metrics_listener: Option<TcpListener>,
    router: axum::Router,
    state: AppState,
    /// The database beneath the context, closed when the server stops.
    store: Store,
    /// On SQLite: a shared lock that tells `coachflux restore` the database is in use.
    _serve_lock: Option<std::fs::File>,
}

impl Server {
    /// Prepares everything and binds `config.bind` (port 0 picks a free port).
    pub async fn build(mut config: Config, clock: SharedClock) -> Result<Self, StartupError> {
        install_crypto_provider();
        prepare_data_dir(&mut config)?;
        let serve_lock =
            coachflux_app::backup::hold_serve_lock(&config).map_err(StartupError::new)?;
        let store = open_store(&config, &clock).await?;
        let listener = TcpListener::bind(config.bind).await.map_err(|e| {
            StartupError::new(format!(
                "COACHFLUX_BIND: cannot listen on {} ({})",
                config.bind,
                io_reason(&e)
            ))
        })?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                StartupError::new(format!(
                    "COACHFLUX_METRICS_BIND: cannot listen on {addr} ({})",
                    io_reason(&e)
                ))
            })?),
            None => None,
        };
        let state = AppState::new(config, store.clone(), clock).map_err(StartupError::new)?;
        // The safety screen's model trains once per process (about 0.44 s): on a blocking
        // thread now, rather than in the first answer's request.
        tokio::task::spawn_blocking(coachflux_domain::safety::model::warm);
        let router = http::router(state.clone());
        Ok(Self {
            listener,
            metrics_listener,
            router,
            state,
            store,
            _serve_lock: serve_lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served when it has a listener of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The server's own database handle (tests close it to make the app lose its database).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.store.clone();
        let poll = Duration::from_millis(self.state.config.outbox_poll_ms);
        let worker = self
            .state
            .config
            .mail_worker
            .then(|| self.state.outbox.clone().spawn(poll));
        let scheduler = self.state.config.jobs.then(|| {
            coachflux_app::jobs::spawn_scheduler(
                self.state.clone(),
                Duration::from_secs(self.state.config.job_tick_secs),
            )
        });
        let upkeep = self.state.metrics.spawn_upkeep(Duration::from_secs(5));
        let metrics = self.metrics_listener.map(|l| {
            let app = http::metrics_router(self.state.clone());
            tokio::spawn(async move { axum::serve(l, app).await })
        });
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        if let Some(w) = worker {
            w.abort();
        }
        if let Some(s) = scheduler {
            s.abort();
        }
        if let Some(m) = metrics {
            m.abort();
        }
        upkeep.abort();
        served?;
        store.close().await;
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
