//! Safety incidents: a session paused because what someone wrote looked like a crisis. Only the
//! category is stored, never a diagnosis.

use crate::{Conn, Result};

pub struct NewIncident<'a> {
    pub id: &'a str,
    pub session_id: &'a str,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
    /// self_harm, suicide, abuse or violence (a CHECK in the schema).
    pub category: &'a str,
    pub step: &'a str,
    pub country: Option<&'a str>,
    pub now: i64,
}

pub async fn record(conn: &mut Conn, i: &NewIncident<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO safety_incidents (id, session_id, user_id, anonymous_id, category, step, \
         country, resolution, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)",
    )
    .bind(i.id)
    .bind(i.session_id)
    .bind(i.user_id)
    .bind(i.anonymous_id)
    .bind(i.category)
    .bind(i.step)
    .bind(i.country)
    .bind(i.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a session's open incidents as resolved (`resumed` or `closed`).
pub async fn resolve_open(
    conn: &mut Conn,
    session_id: &str,
    resolution: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE safety_incidents SET resolution = $2, resolved_at = $3 \
         WHERE session_id = $1 AND resolution = 'open'",
    )
    .bind(session_id)
    .bind(resolution)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A visitor's incidents become the account's when they sign up or in (so the account's
/// export and erasure include them).
pub async fn adopt_anonymous(conn: &mut Conn, anonymous_id: &str, user_id: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE safety_incidents SET user_id = $2, anonymous_id = NULL \
         WHERE anonymous_id = $1 AND user_id IS NULL",
    )
    .bind(anonymous_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
