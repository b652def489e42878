use crate::{Engine, Result, Store, StoreError, check_sqlite_version, writer};
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, Row};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite busy timeout: how long a writer waits for the lock before failing.
    pub busy_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The file of a `sqlite:` URL (`sqlite://./data/x.db?mode=rwc` → `./data/x.db`), or `None`
/// for another engine or an in-memory database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Keeps a SQLite database readable by its owner only: it holds password hashes, sealed mail
/// and everything people wrote. SQLite gives the `-wal` and `-shm` files it creates the mode
/// of the database file, so the database is created here first, 0600, when the URL lets it
/// be created (`mode=rwc`); files left looser by an older version are tightened.
fn private_sqlite_files(url: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if url.contains("mode=rwc") {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

impl Store {
    /// Opens a pool on the database named by the URL and checks the engine is one we can run on.
    pub async fn connect(opts: &ConnectOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(&opts.url).ok_or_else(|| {
            StoreError::Config("the database URL must start with sqlite: or postgres://".to_owned())
        })?;
        if engine == Engine::Sqlite {
            private_sqlite_files(&opts.url).map_err(|e| {
                StoreError::Config(format!("cannot make the database file private: {e}"))
            })?;
        }
        let busy_ms = opts.busy_timeout.as_millis();
        let mut pool = AnyPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout);
        if engine == Engine::Sqlite {
            // Per-connection settings: durability (FULL: an acknowledged write survives power
            // loss), referential integrity and waiting for the write lock instead of failing.
            pool = pool.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // An integer from our own config, not user input.
                    let busy = format!("PRAGMA busy_timeout = {busy_ms}");
                    conn.execute(sqlx::AssertSqlSafe(busy)).await?;
                    Ok(())
                })
            });
        }
        let pool = pool
            .connect(&opts.url)
            .await
            .map_err(|e| StoreError::Unreachable(describe_connect_error(&e)))?;
        let writer = (engine == Engine::Sqlite)
            .then(|| writer::Writer::start(pool.clone(), opts.busy_timeout));
        let store = Store {
            pool,
            engine,
            writer,
        };
        store.check_engine_version().await?;
        Ok(store)
    }

    async fn check_engine_version(&self) -> Result<()> {
        match self.engine {
            Engine::Sqlite => {
                let row = sqlx::query("SELECT sqlite_version() AS v")
                    .fetch_one(&self.pool)
                    .await?;
                let v: String = row.try_get("v")?;
                check_sqlite_version(&v).map_err(StoreError::UnsupportedVersion)?;
            }
            Engine::Postgres => {
                let row = sqlx::query("SELECT current_setting('server_version_num') AS v")
                    .fetch_one(&self.pool)
                    .await?;
                let v: String = row.try_get("v")?;
                let num: i64 = v.parse().unwrap_or(0);
                if num < 130_000 {
                    return Err(StoreError::UnsupportedVersion(format!(
                        "PostgreSQL {v} is too old; CoachFlux needs 13 or newer"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}

/// A one-line reason without credentials: sqlx errors can echo the URL.
fn describe_connect_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_owned(),
        sqlx::Error::Configuration(c) => format!("bad database URL ({c})"),
        other => other.to_string(),
    }
}
