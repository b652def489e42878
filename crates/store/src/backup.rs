//! The database statements backups and restores need; the files, checksums and tools around
//! them are the application's.

use crate::{Result, Store, StoreError};
use sqlx::Connection;
use std::path::Path;

impl Store {
    /// SQLite: a consistent copy of the live database into `path` (`VACUUM INTO`), taken while
    /// the server may be writing.
    pub async fn snapshot_sqlite_into(&self, path: &Path) -> Result<()> {
        let quoted = path.display().to_string().replace('\'', "''");
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{quoted}'")))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// SQLite: leaves the database as one self-contained file (no WAL beside it), before it is
    /// moved into place.
    pub async fn leave_single_file(&self) -> Result<()> {
        sqlx::query("PRAGMA journal_mode = DELETE")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest migration applied (0 when there is none).
    pub async fn schema_version(&self) -> i64 {
        self.migration_status()
            .await
            .ok()
            .and_then(|s| s.applied.last().copied())
            .unwrap_or(0)
    }
}

/// `PRAGMA integrity_check` on the SQLite file at `path`, opened read-only. `Corrupt` names
/// what the check found (or that it isn't SQLite at all).
pub async fn sqlite_integrity(path: &Path) -> Result<()> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts)
        .await
        .map_err(|e| {
            StoreError::Corrupt(format!("{} is not a SQLite database ({e})", path.display()))
        })?;
    let result: std::result::Result<Vec<String>, _> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await;
    conn.close().await.ok();
    match result {
        Ok(lines) if lines == ["ok"] => Ok(()),
        Ok(lines) => Err(StoreError::Corrupt(format!(
            "{} failed its integrity check: {}",
            path.display(),
            lines.join("; ")
        ))),
        Err(e) => Err(StoreError::Corrupt(format!(
            "{} failed its integrity check ({e})",
            path.display()
        ))),
    }
}

/// What a PostgreSQL restore checks on the database it replaces.
pub struct PgTarget {
    /// Connections other than ours (a running server?).
    pub other_connections: i64,
    /// Whether the database has a deletion ledger of its own (a new, empty one hasn't).
    pub has_ledger: bool,
}

/// Inspects the PostgreSQL database at `url` before a restore. A backend whose client just
/// left (a server stopped a moment ago) lingers briefly in `pg_stat_activity`: the count is
/// retried for up to two seconds unless `wait` is false.
pub async fn inspect_pg_target(url: &str, wait: bool) -> Result<PgTarget> {
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    let mut others: i64 = 0;
    for attempt in 0..20 {
        others = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut conn)
        .await?;
        if others == 0 || !wait || attempt == 19 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let has_ledger: bool = sqlx::query_scalar("SELECT to_regclass('deletion_ledger') IS NOT NULL")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await.ok();
    Ok(PgTarget {
        other_connections: others,
        has_ledger,
    })
}
