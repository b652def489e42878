use crate::{Engine, Result, Store, StoreError};
use sqlx::Row;
use sqlx::migrate::{MigrateError, Migrator};

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions this binary knows.
    pub known: Vec<i64>,
    /// Versions recorded as applied in the database.
    pub applied: Vec<i64>,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.known == self.applied
    }
}

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self.engine {
            Engine::Sqlite => &SQLITE,
            Engine::Postgres => &POSTGRES,
        }
    }

    /// Applies every pending migration. Refuses a database that a newer version migrated.
    pub async fn migrate(&self) -> Result<MigrationStatus> {
        self.migrator().run(&self.pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(v) => StoreError::NewerSchema(v),
            MigrateError::VersionMismatch(v) => StoreError::Migration(format!(
                "migration {v} was changed after it was applied; migrations are append-only"
            )),
            other => StoreError::Migration(other.to_string()),
        })?;
        self.migration_status().await
    }

    pub async fn migration_status(&self) -> Result<MigrationStatus> {
        let known = self.migrator().iter().map(|m| m.version).collect();
        let applied = match sqlx::query(
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        {
            Ok(rows) => rows
                .iter()
                .map(|r| r.try_get::<i64, _>("version"))
                .collect::<Result<Vec<_>, _>>()?,
            // No bookkeeping table yet: nothing applied.
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(MigrationStatus { known, applied })
    }
}
