//! Feedback: session ratings (1-5 with an optional comment) and general product feedback.

use crate::{Conn, Result};

/// Records the rating of a session, replacing an earlier rating of the same session.
pub async fn rate_session(
    conn: &mut Conn,
    id: &str,
    user_id: Option<&str>,
    session_id: &str,
    rating: i64,
    message: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM feedback WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO feedback (id, user_id, session_id, type, rating, message, status, created_at) \
         VALUES ($1, $2, $3, 'general', $4, $5, 'new', $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(session_id)
    .bind(rating)
    .bind(message)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The rating given to a session, if any.
pub async fn session_rating(conn: &mut Conn, session_id: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT rating FROM feedback WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}
