//! Product analytics events (`events`): what happened, to whom (user or visitor), with
//! properties. Never personal content.

use crate::{Conn, Result};

pub async fn record(
    conn: &mut Conn,
    id: &str,
    user_id: Option<&str>,
    anonymous_id: Option<&str>,
    event_name: &str,
    properties: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (id, user_id, anonymous_id, event_name, properties, timestamp) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(anonymous_id)
    .bind(event_name)
    .bind(properties)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves a visitor's events to their account when they sign up or sign in.
pub async fn adopt_anonymous(conn: &mut Conn, anonymous_id: &str, user_id: &str) -> Result<u64> {
    let done =
        sqlx::query("UPDATE events SET user_id = $2 WHERE anonymous_id = $1 AND user_id IS NULL")
            .bind(anonymous_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}
