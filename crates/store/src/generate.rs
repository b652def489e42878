//! Bulk inserts for `coachflux dev generate`: many rows per statement into the tables a
//! person's history lives in. The generator (in the app crate) decides what the rows say;
//! only the tables and columns named here can be written.

use crate::{Conn, Result};

/// One value of a generated row.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// NULL in a text column.
    NoText,
    /// NULL in an integer column (PostgreSQL types a bound NULL).
    NoInt,
}

impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Cell::NoInt, Cell::Int)
    }
}

/// The tables the generator fills, each with the columns it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Sessions,
    Reflections,
    ActionItems,
    Events,
    UserMetrics,
}

impl Table {
    fn insert_into(self) -> &'static str {
        match self {
            Table::Users => {
                "INSERT INTO users (id, email, email_verified, name, password_hash, provider, \
                 created_at, last_login_at, last_active_at, updated_at, onboarding_completed) VALUES "
            }
            Table::Sessions => {
                "INSERT INTO coaching_sessions (id, user_id, framework, step, state, status, \
                 closed_at, completed_at, created_at, updated_at) VALUES "
            }
            Table::Reflections => {
                "INSERT INTO session_reflections (id, session_id, step, user_input, payload, \
                 created_at) VALUES "
            }
            Table::ActionItems => {
                "INSERT INTO action_items (id, user_id, session_id, title, description, due_date, \
                 completed, completed_at, priority, tags, created_at, updated_at) VALUES "
            }
            Table::Events => {
                "INSERT INTO events (id, user_id, event_name, properties, timestamp) VALUES "
            }
            Table::UserMetrics => {
                "INSERT INTO user_metrics (id, user_id, sessions_completed, actions_created, \
                 actions_completed, frameworks_used, last_session_at, total_time_spent, \
                 updated_at) VALUES "
            }
        }
    }

    /// How many values each row carries.
    pub fn width(self) -> usize {
        match self {
            Table::Users => 11,
            Table::Sessions => 10,
            Table::Reflections => 6,
            Table::ActionItems => 12,
            Table::Events => 5,
            Table::UserMetrics => 9,
        }
    }
}

/// Rows per statement: well under both engines' limits on bound values (SQLite 32,766,
/// PostgreSQL 65,535) for the widest table.
pub const ROWS_PER_STATEMENT: usize = 400;

/// Inserts `rows` (each [`Table::width`] cells wide) into `table`, many per statement.
pub async fn insert(conn: &mut Conn, table: Table, rows: &[Vec<Cell>]) -> Result<u64> {
    let width = table.width();
    let mut inserted = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(table.insert_into());
        let mut n = 0;
        for (r, row) in chunk.iter().enumerate() {
            if row.len() != width {
                return Err(crate::StoreError::Config(format!(
                    "a generated {table:?} row has {} values, not {width}",
                    row.len()
                )));
            }
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            sql.push(')');
        }
        // Placeholders only: every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for cell in chunk.iter().flatten() {
            q = match cell {
                Cell::Text(s) => q.bind(s.as_str()),
                Cell::Int(i) => q.bind(*i),
                Cell::NoText => q.bind(None::<String>),
                Cell::NoInt => q.bind(None::<i64>),
            };
        }
        inserted += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}
