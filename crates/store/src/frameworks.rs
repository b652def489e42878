//! The `frameworks` table: the catalogue as stored, with its usage counter.

use crate::{Result, Store, StoreError, json_column};
use coachflux_domain::frameworks::{Category, Difficulty, Framework, Step};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A framework as stored: the catalogue entry plus what the database adds.
#[derive(Debug, Clone)]
pub struct FrameworkRecord {
    pub framework: Framework,
    pub usage_count: i64,
    pub created_at: i64,
}

/// The selected columns, as a macro so queries stay `&'static str` literals.
macro_rules! columns {
    () => {
        "id, name, emoji, tagline, description, best_for, steps, estimated_time, difficulty, \
         category, tags, is_available, coming_soon, usage_count, created_at, expansion, origin, \
         position"
    };
}

impl Store {
    /// Inserts new frameworks and refreshes the content of existing ones. `usage_count` and
    /// `created_at` of an existing row are never touched. Returns how many rows were written.
    pub async fn seed_frameworks(&self, frameworks: &[Framework], now_ms: i64) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        for (position, fw) in frameworks.iter().enumerate() {
            // `steps` keeps the seed's shape (an array of {name, description, ...}); each step
            // also carries its questions and typed fields.
            let steps =
                serde_json::to_string(&fw.steps).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO frameworks (id, name, emoji, tagline, description, best_for, steps, \
                 estimated_time, difficulty, category, tags, is_available, coming_soon, \
                 usage_count, created_at, expansion, origin, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15, \
                 $16, $17) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, emoji = excluded.emoji, \
                 tagline = excluded.tagline, description = excluded.description, \
                 best_for = excluded.best_for, steps = excluded.steps, \
                 estimated_time = excluded.estimated_time, difficulty = excluded.difficulty, \
                 category = excluded.category, tags = excluded.tags, \
                 is_available = excluded.is_available, coming_soon = excluded.coming_soon, \
                 expansion = excluded.expansion, origin = excluded.origin, \
                 position = excluded.position",
            )
            .bind(&fw.id)
            .bind(&fw.name)
            .bind(&fw.emoji)
            .bind(&fw.tagline)
            .bind(&fw.description)
            .bind(to_json(&fw.best_for))
            .bind(steps)
            .bind(&fw.estimated_time)
            .bind(fw.difficulty.as_str())
            .bind(fw.category.as_str())
            .bind(to_json(&fw.tags))
            .bind(i64::from(fw.is_available))
            .bind(i64::from(fw.coming_soon))
            .bind(now_ms)
            .bind(&fw.expansion)
            .bind(&fw.origin)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(frameworks.len())
    }

    /// Every framework, in catalogue order.
    pub async fn list_frameworks(&self) -> Result<Vec<FrameworkRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM frameworks ORDER BY position, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(framework_from_row).collect()
    }

    pub async fn get_framework(&self, id: &str) -> Result<Option<FrameworkRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM frameworks WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(framework_from_row).transpose()
    }

    /// Counts one more start of a framework.
    pub async fn increment_framework_usage(&self, id: &str) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        increment_usage(&mut conn, id).await
    }
}

/// Counts one more start of a framework, inside the caller's transaction.
pub async fn increment_usage(conn: &mut crate::Conn, id: &str) -> Result<()> {
    sqlx::query("UPDATE frameworks SET usage_count = usage_count + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn to_json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn framework_from_row(row: &AnyRow) -> Result<FrameworkRecord> {
    let steps: Vec<Step> = json_column("steps", &row.try_get::<String, _>("steps")?)?;
    let difficulty: String = row.try_get("difficulty")?;
    let category: String = row.try_get("category")?;
    Ok(FrameworkRecord {
        framework: Framework {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            expansion: row.try_get("expansion")?,
            emoji: row.try_get("emoji")?,
            tagline: row.try_get("tagline")?,
            description: row.try_get("description")?,
            origin: row.try_get("origin")?,
            best_for: json_column("best_for", &row.try_get::<String, _>("best_for")?)?,
            estimated_time: row.try_get("estimated_time")?,
            difficulty: Difficulty::parse(&difficulty)
                .ok_or_else(|| StoreError::Corrupt(format!("difficulty {difficulty:?}")))?,
            category: Category::parse(&category)
                .ok_or_else(|| StoreError::Corrupt(format!("category {category:?}")))?,
            tags: json_column("tags", &row.try_get::<String, _>("tags")?)?,
            is_available: row.try_get::<i64, _>("is_available")? != 0,
            coming_soon: row.try_get::<i64, _>("coming_soon")? != 0,
            steps,
        },
        usage_count: row.try_get("usage_count")?,
        created_at: row.try_get("created_at")?,
    })
}
