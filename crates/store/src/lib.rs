//! CoachFlux persistence. All SQL lives in this crate. One set of queries serves SQLite and
//! PostgreSQL through sqlx's `Any` driver; where the engines differ, [`Engine`] branches in one
//! small place.

pub mod action_items;
pub mod api_tokens;
pub mod audit;
pub mod auth_sessions;
pub mod backup;
pub mod coaching;
mod connect;
pub mod events;
pub mod feedback;
pub mod frameworks;
pub mod idempotency;
pub mod jobs;
pub mod llm_calls;
pub mod metrics;
mod migrate;
pub mod oauth_identities;
pub mod one_time_tokens;
pub mod outbox;
pub mod privacy;
pub mod rate_limits;
pub mod recovery_codes;
pub mod retention;
pub mod safety;
pub mod schema;
mod sqlite_version;
pub mod users;

pub use connect::{ConnectOptions, PoolStats, sqlite_file};
pub use migrate::MigrationStatus;
pub use sqlite_version::{SqliteVersion, check_sqlite_version};

use sqlx::AnyPool;

/// Where a newest-first page starts: after the previous page's last `(created_at, id)`, or
/// before everything.
pub(crate) fn newest_first_after(request: &coachflux_domain::paging::PageRequest) -> (i64, String) {
    match &request.after {
        Some(c) => (c.key(0, i64::MAX), c.id.clone()),
        None => (i64::MAX, String::new()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A handle to the database: clone-cheap.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Config(String),
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    #[error("{0}")]
    UnsupportedVersion(String),
    #[error(
        "the database was migrated by a newer CoachFlux (it has migration {0}, which this version does not know); run the newer coachflux or restore a backup taken with this version"
    )]
    NewerSchema(i64),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    /// A unique constraint refused the write; names what already exists (e.g. "email").
    #[error("{0} already exists")]
    Conflict(&'static str),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`]; anything else passes.
    pub fn conflict_on_unique(e: sqlx::Error, what: &'static str) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Db(e),
        }
    }
}

/// A database transaction; services run one per use case.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;
/// A connection (a pooled one, or the one inside a [`Tx`]) that store functions run on.
pub type Conn = sqlx::AnyConnection;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Store {
    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Is the database answering?
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads and then writes can't wait for a concurrent writer
    /// (SQLite answers "database is locked" at once instead of using the busy timeout), while
    /// an immediate one queues behind it.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        })
    }

    /// A pooled connection for reads and single-statement writes.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a JSON text column to a value, naming the column when it is malformed.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
