use coachflux_domain::request::RequestMeta;
use coachflux_store::{Conn, Result, audit};

/// Records a security event. `details` is a JSON object and must never hold a secret.
pub async fn record(
    conn: &mut Conn,
    user_id: Option<&str>,
    action: &str,
    meta: Option<&RequestMeta>,
    details: serde_json::Value,
    now: i64,
) -> Result<()> {
    let id = coachflux_domain::ids::new_id();
    let details = details.to_string();
    audit::record(
        conn,
        &audit::NewAudit {
            id: &id,
            user_id,
            actor_id: user_id,
            action,
            ip: meta.map(|m| m.ip.as_str()),
            user_agent: meta.map(|m| m.user_agent.as_str()),
            details: &details,
            now,
        },
    )
    .await
}
