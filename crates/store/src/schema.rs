//! A normalised description of the live schema, the same shape for both engines, so that a
//! test can prove the two migration trees stay in lockstep.

use crate::{Engine, Result, Store};
use sqlx::Row;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `integer`, `real`, `text` or `blob`; anything else is reported verbatim.
    pub family: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub columns: Vec<String>,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Named indexes, not counting the primary key's own index.
    pub indexes: BTreeMap<String, Index>,
    pub primary_key: Vec<String>,
}

pub type Schema = BTreeMap<String, Table>;

fn family(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") {
        "integer".into()
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text".into()
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        "real".into()
    } else if t.contains("blob") || t == "bytea" {
        "blob".into()
    } else {
        t
    }
}

impl Store {
    /// The application's tables (sqlx's bookkeeping excluded).
    pub async fn describe_schema(&self) -> Result<Schema> {
        match self.engine {
            Engine::Sqlite => self.describe_sqlite().await,
            Engine::Postgres => self.describe_postgres().await,
        }
    }

    async fn describe_sqlite(&self) -> Result<Schema> {
        let mut schema = Schema::new();
        let tables = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        for t in tables {
            let name: String = t.try_get("name")?;
            let mut table = Table::default();
            let cols = sqlx::query(
                "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info($1) ORDER BY cid",
            )
            .bind(&name)
            .fetch_all(&self.pool)
            .await?;
            let mut pk: Vec<(i64, String)> = Vec::new();
            for c in cols {
                let col: String = c.try_get("name")?;
                let pk_pos: i64 = c.try_get("pk")?;
                if pk_pos > 0 {
                    pk.push((pk_pos, col.clone()));
                }
                table.columns.push(Column {
                    family: family(&c.try_get::<String, _>("type")?),
                    // A primary key column is NOT NULL in PostgreSQL; in SQLite only by
                    // declaration, so compare it as such.
                    nullable: c.try_get::<i64, _>("nn")? == 0 && pk_pos == 0,
                    name: col,
                });
            }
            pk.sort();
            table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
            let indexes = sqlx::query(
                "SELECT name, \"unique\" AS uq, origin FROM pragma_index_list($1) ORDER BY name",
            )
            .bind(&name)
            .fetch_all(&self.pool)
            .await?;
            for i in indexes {
                let origin: String = i.try_get("origin")?;
                if origin == "pk" {
                    continue;
                }
                let index_name: String = i.try_get("name")?;
                let cols = sqlx::query("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&index_name)
                    .fetch_all(&self.pool)
                    .await?;
                let columns = cols
                    .iter()
                    .map(|c| c.try_get::<String, _>("name"))
                    .collect::<Result<Vec<_>, _>>()?;
                table.indexes.insert(
                    index_name,
                    Index {
                        columns,
                        unique: i.try_get::<i64, _>("uq")? != 0,
                    },
                );
            }
            schema.insert(name, table);
        }
        Ok(schema)
    }

    async fn describe_postgres(&self) -> Result<Schema> {
        let mut schema = Schema::new();
        let cols = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
             is_nullable::text AS n FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%' \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&self.pool)
        .await?;
        for c in cols {
            let table: String = c.try_get("t")?;
            schema.entry(table).or_default().columns.push(Column {
                name: c.try_get("c")?,
                family: family(&c.try_get::<String, _>("ty")?),
                nullable: c.try_get::<String, _>("n")? == "YES",
            });
        }
        let indexes = sqlx::query(
            "SELECT t.relname::text AS t, i.relname::text AS i, ix.indisunique AS uq, \
             ix.indisprimary AS pk, a.attname::text AS c, k.ord AS ord \
             FROM pg_index ix \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE n.nspname = current_schema() AND t.relname NOT LIKE '\\_sqlx%' \
             ORDER BY t.relname, i.relname, k.ord",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in indexes {
            let table: String = r.try_get("t")?;
            let column: String = r.try_get("c")?;
            let entry = schema.entry(table).or_default();
            if r.try_get::<bool, _>("pk")? {
                entry.primary_key.push(column);
                continue;
            }
            let unique: bool = r.try_get("uq")?;
            entry
                .indexes
                .entry(r.try_get("i")?)
                .or_insert_with(|| Index {
                    columns: Vec::new(),
                    unique,
                })
                .columns
                .push(column);
        }
        Ok(schema)
    }
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn type_families_line_up_across_engines() {
        assert_eq!(family("BIGINT"), "integer");
        assert_eq!(family("bigint"), "integer");
        assert_eq!(family("TEXT"), "text");
        assert_eq!(family("character varying"), "text");
        assert_eq!(family("DOUBLE PRECISION"), "real");
        assert_eq!(family("double precision"), "real");
    }
}
