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
pub mod generate;
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
mod writer;

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
    /// SQLite's write lock taken in-process and its group-commit writer (see [`writer`]).
    writer: Option<std::sync::Arc<writer::Writer>>,
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
    /// The write lock stayed taken longer than the busy timeout.
    #[error("the database is busy")]
    Busy,
    /// A group commit failed: nothing of the batch was stored.
    #[error("the write could not be committed: {0}")]
    Batch(String),
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

/// A database transaction; services run one per use case. On SQLite it holds this process's
/// turn to write until it ends (see [`writer`]).
pub struct Tx {
    // Declared first so it is dropped before the turn is handed on. A commit or rollback ends
    // the transaction before that; a `Tx` dropped without one only queues its rollback, and
    // the next writer may briefly wait in SQLite's busy handler.
    inner: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.inner
    }
}
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
    /// an immediate one queues behind it. It first waits for this process's turn to write, so
    /// it queues in memory rather than in SQLite's sleeping busy handler.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.writer {
            Some(writer) => {
                let turn = writer.turn().await?;
                Tx {
                    inner: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                }
            }
            None => Tx {
                inner: self.pool.begin().await?,
                _turn: None,
            },
        })
    }

    /// Runs a short write job in a transaction and answers once it is committed. On SQLite the
    /// job joins the writer's next group commit (inside its own savepoint: when it fails, only
    /// its own changes are undone); on PostgreSQL it runs in its own transaction. The job
    /// must only talk to the database: everything it needs is computed before.
    pub async fn batched<T, E, F>(&self, job: F) -> std::result::Result<T, E>
    where
        F: for<'c> FnOnce(
                &'c mut Conn,
            )
                -> futures_util::future::BoxFuture<'c, std::result::Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let Some(writer) = &self.writer else {
            use futures_util::FutureExt;
            let mut tx = self.begin().await?;
            let value = std::panic::AssertUnwindSafe(job(&mut tx))
                .catch_unwind()
                .await
                .map_err(|_| writer::panicked())??;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(value);
        };
        match writer.submit(writer::erase(job)).await {
            writer::Ended::Ran(Ok(value)) => Ok(*value
                .downcast::<T>()
                .expect("the writer returns what the job made")),
            writer::Ended::Ran(Err(error)) => Err(*error
                .downcast::<E>()
                .expect("the writer returns what the job made")),
            writer::Ended::Lost(e) => Err(e.into()),
        }
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
