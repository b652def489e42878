//! Personal data: the GDPR export (every row that refers to a person, secrets left out), erasure
//! once an account's deletion grace period is over, and the deletion ledger that a restore
//! from backup re-applies so that erased people never come back.

use crate::schema::{Schema, Table};
use crate::{Conn, Result, StoreError};
use serde_json::{Map, Value};
use sqlx::Row;

/// One part of an export: the rows of `table` that match `filter` (with `$1` = the user id),
/// without the `hidden` columns (hashes of secrets, one-time links).
pub struct ExportPart {
    pub key: &'static str,
    pub table: &'static str,
    pub filter: &'static str,
    pub hidden: &'static [&'static str],
}

const OWN_SESSIONS: &str = "session_id IN (SELECT id FROM coaching_sessions WHERE user_id = $1)";

/// Everything an export holds, in document order. `user`, `sessions` and `actions` are the
/// seed's `exportUserData` shape; `reflections` end up inside their session.
pub const EXPORT: &[ExportPart] = &[
    ExportPart {
        key: "user",
        table: "users",
        filter: "id = $1",
        hidden: &[
            "password_hash",
            "totp_secret",
            "totp_last_step",
            "calendar_token",
        ],
    },
    ExportPart {
        key: "sessions",
        table: "coaching_sessions",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "reflections",
        table: "session_reflections",
        filter: OWN_SESSIONS,
        hidden: &[],
    },
    ExportPart {
        key: "actions",
        table: "action_items",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "metrics",
        table: "user_metrics",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "subscriptions",
        table: "subscriptions",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "invoices",
        table: "invoices",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "organizations",
        table: "org_members",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "feedback",
        table: "feedback",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "supportTickets",
        table: "support_tickets",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "notifications",
        table: "notifications",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "events",
        table: "events",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "auditLog",
        table: "audit_log",
        filter: "user_id = $1 OR actor_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "deviceSessions",
        table: "sessions",
        filter: "user_id = $1",
        hidden: &["token", "device_id"],
    },
    ExportPart {
        key: "connectedAccounts",
        table: "oauth_identities",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "apiTokens",
        table: "api_tokens",
        filter: "user_id = $1",
        hidden: &["token_hash"],
    },
    ExportPart {
        key: "recoveryCodes",
        table: "totp_recovery_codes",
        filter: "user_id = $1",
        hidden: &["code_hash"],
    },
    ExportPart {
        key: "emailVerifications",
        table: "email_verifications",
        filter: "user_id = $1",
        hidden: &["token", "browser_binding"],
    },
    ExportPart {
        key: "passwordResets",
        table: "password_resets",
        filter: "user_id = $1",
        hidden: &["token"],
    },
    ExportPart {
        key: "magicLinks",
        table: "magic_links",
        filter: "user_id = $1",
        hidden: &["token", "browser_binding"],
    },
    ExportPart {
        key: "twoFactorChallenges",
        table: "two_factor_challenges",
        filter: "user_id = $1",
        hidden: &["token"],
    },
    ExportPart {
        key: "emails",
        table: "email_outbox",
        // The bodies hold one-time sign-in and reset links.
        filter: "user_id = $1",
        hidden: &["body_text", "body_html", "body_redacted", "locked_until"],
    },
    ExportPart {
        key: "safetyIncidents",
        table: "safety_incidents",
        filter: "user_id = $1",
        hidden: &[],
    },
    ExportPart {
        key: "coachCalls",
        table: "llm_calls",
        filter: "user_id = $1",
        hidden: &["anonymous_key"],
    },
    ExportPart {
        key: "apiRequests",
        table: "idempotency_keys",
        filter: "user_id = $1",
        hidden: &["request_hash", "response_body"],
    },
];

/// `snake_case` → `camelCase`, the export's field style.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn table_of<'a>(schema: &'a Schema, name: &str) -> Result<&'a Table> {
    schema
        .get(name)
        .ok_or_else(|| StoreError::Corrupt(format!("table {name} is missing")))
}

/// Rows of `table` matching `filter` (bound to `subject` as `$1`) as JSON objects, typed by
/// the live schema, camelCase keys, `hidden` columns left out. The table, filter and columns
/// come from the schema and the constants above, never from input.
pub async fn rows_as_json(
    conn: &mut Conn,
    schema: &Schema,
    table: &str,
    filter: &str,
    subject: &str,
    hidden: &[&str],
) -> Result<Vec<Map<String, Value>>> {
    let t = table_of(schema, table)?;
    let cols: Vec<_> = t
        .columns
        .iter()
        .filter(|c| !hidden.contains(&c.name.as_str()))
        .collect();
    let list = cols
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let order = if t.columns.iter().any(|c| c.name == "id") {
        " ORDER BY \"id\""
    } else {
        ""
    };
    let sql = format!("SELECT {list} FROM {table} WHERE {filter}{order}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut obj = Map::new();
        for (i, c) in cols.iter().enumerate() {
            let value = match c.family.as_str() {
                "integer" => row
                    .try_get::<Option<i64>, _>(i)?
                    .map_or(Value::Null, Value::from),
                "real" => row
                    .try_get::<Option<f64>, _>(i)?
                    .map_or(Value::Null, Value::from),
                _ => {
                    let text = row.try_get::<Option<String>, _>(i)?;
                    match text {
                        // JSON stored as text (payloads, tags, properties) stays JSON.
                        Some(s) if s.starts_with('{') || s.starts_with('[') => {
                            serde_json::from_str(&s).unwrap_or(Value::String(s))
                        }
                        Some(s) => Value::String(s),
                        None => Value::Null,
                    }
                }
            };
            obj.insert(camel(&c.name), value);
        }
        out.push(obj);
    }
    Ok(out)
}

/// Every part of a person's export, keyed as in [`EXPORT`].
pub async fn export_user(
    conn: &mut Conn,
    schema: &Schema,
    user_id: &str,
) -> Result<Map<String, Value>> {
    let mut doc = Map::new();
    for part in EXPORT {
        let rows =
            rows_as_json(conn, schema, part.table, part.filter, user_id, part.hidden).await?;
        let value = if part.key == "user" || part.key == "metrics" {
            rows.into_iter().next().map_or(Value::Null, Value::Object)
        } else {
            Value::Array(rows.into_iter().map(Value::Object).collect())
        };
        doc.insert(part.key.to_owned(), value);
    }
    // Each session carries its own reflections, in the order they were written.
    if let (Some(Value::Array(reflections)), Some(Value::Array(sessions))) =
        (doc.remove("reflections"), doc.get_mut("sessions"))
    {
        for session in sessions.iter_mut() {
            let id = session.get("id").cloned();
            let mut own: Vec<Value> = reflections
                .iter()
                .filter(|r| r.get("sessionId") == id.as_ref())
                .cloned()
                .collect();
            own.sort_by_key(|r| r.get("createdAt").and_then(Value::as_i64));
            if let Value::Object(obj) = session {
                obj.insert("reflections".into(), Value::Array(own));
            }
        }
    }
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// Deletion

/// Accounts whose grace period ended at or before `cutoff` (requested at or before it).
pub async fn accounts_due_for_erasure(
    conn: &mut Conn,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<(String, String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT id, email, name FROM users WHERE deletion_requested_at IS NOT NULL \
         AND deletion_requested_at <= $1 ORDER BY deletion_requested_at, id LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("email")?, r.try_get("name")?)))
        .collect()
}

pub async fn request_deletion(
    conn: &mut Conn,
    user_id: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE users SET deletion_requested_at = $2, disabled_at = $2, deletion_reason = $3, \
         updated_at = $2 WHERE id = $1",
    )
    .bind(user_id)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Cancels a pending deletion; false when there was none.
pub async fn cancel_deletion(conn: &mut Conn, user_id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET deletion_requested_at = NULL, disabled_at = NULL, \
         deletion_reason = NULL, updated_at = $2 \
         WHERE id = $1 AND deletion_requested_at IS NOT NULL \
         AND disabled_at = deletion_requested_at",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Keys of analytics properties that could point back at a person (ids of their rows,
/// contact details); everything else (framework, step, counts) is kept.
fn personal_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("id")
        || k.ends_with("_id")
        || [
            "email",
            "name",
            "ip",
            "useragent",
            "user_agent",
            "title",
            "message",
            "comment",
        ]
        .contains(&k.as_str())
}

fn scrub_properties(properties: &str) -> String {
    match serde_json::from_str::<Value>(properties) {
        Ok(Value::Object(map)) => {
            Value::Object(map.into_iter().filter(|(k, _)| !personal_key(k)).collect()).to_string()
        }
        _ => "{}".to_owned(),
    }
}

/// `value` as a literal inside a LIKE pattern (with `ESCAPE '\'`): addresses may hold `%`/`_`.
fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What an erasure removed or anonymised, table by table.
pub type ErasureCounts = Vec<(&'static str, u64)>;

/// Erases a person inside the caller's transaction: every row that is theirs is deleted, rows
/// kept for aggregate figures (events, feedback ratings, safety counts, coach-call costs) lose
/// every link to them, and `ledger` (entry id, hash of their id) goes in the ledger.
pub async fn erase_user(
    conn: &mut Conn,
    user_id: &str,
    email: &str,
    ledger: Option<(&str, &str)>,
    now: i64,
) -> Result<ErasureCounts> {
    let mut counts = ErasureCounts::new();
    // Addresses they used, to clear unattributed rows from them (failed sign-ins, limits).
    let ips: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT device_info_ip FROM sessions WHERE user_id = $1 \
         UNION SELECT ip FROM audit_log WHERE user_id = $1 AND ip IS NOT NULL",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;

    // Analytics events stay, without anything that points at the person.
    let events = sqlx::query("SELECT id, properties FROM events WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    for e in &events {
        let id: String = e.try_get("id")?;
        let props: String = e.try_get("properties")?;
        sqlx::query(
            "UPDATE events SET user_id = NULL, anonymous_id = NULL, properties = $2 WHERE id = $1",
        )
        .bind(&id)
        .bind(scrub_properties(&props))
        .execute(&mut *conn)
        .await?;
    }
    counts.push(("events_anonymised", events.len() as u64));

    let by_user: &[(&'static str, &'static str)] = &[
        (
            "feedback_anonymised",
            "UPDATE feedback SET user_id = NULL, session_id = NULL, message = '' \
             WHERE user_id = $1 OR session_id IN (SELECT id FROM coaching_sessions WHERE user_id = $1)",
        ),
        (
            "safety_incidents_anonymised",
            "UPDATE safety_incidents SET user_id = NULL, anonymous_id = NULL, session_id = NULL \
             WHERE user_id = $1 OR session_id IN (SELECT id FROM coaching_sessions WHERE user_id = $1)",
        ),
        (
            "coach_calls_anonymised",
            "UPDATE llm_calls SET user_id = NULL, anonymous_key = NULL, session_id = NULL \
             WHERE user_id = $1 OR session_id IN (SELECT id FROM coaching_sessions WHERE user_id = $1)",
        ),
        (
            "session_reflections",
            "DELETE FROM session_reflections WHERE session_id IN \
             (SELECT id FROM coaching_sessions WHERE user_id = $1)",
        ),
        (
            "action_items",
            "DELETE FROM action_items WHERE user_id = $1",
        ),
        (
            "coaching_sessions",
            "DELETE FROM coaching_sessions WHERE user_id = $1",
        ),
        (
            "user_metrics",
            "DELETE FROM user_metrics WHERE user_id = $1",
        ),
        (
            "notifications",
            "DELETE FROM notifications WHERE user_id = $1",
        ),
        (
            "support_tickets",
            "DELETE FROM support_tickets WHERE user_id = $1",
        ),
        (
            "support_tickets_unassigned",
            "UPDATE support_tickets SET assigned_to = NULL WHERE assigned_to = $1",
        ),
        (
            "idempotency_keys",
            "DELETE FROM idempotency_keys WHERE user_id = $1",
        ),
        ("api_tokens", "DELETE FROM api_tokens WHERE user_id = $1"),
        (
            "oauth_identities",
            "DELETE FROM oauth_identities WHERE user_id = $1",
        ),
        (
            "totp_recovery_codes",
            "DELETE FROM totp_recovery_codes WHERE user_id = $1",
        ),
        ("sessions", "DELETE FROM sessions WHERE user_id = $1"),
        (
            "email_verifications",
            "DELETE FROM email_verifications WHERE user_id = $1",
        ),
        (
            "password_resets",
            "DELETE FROM password_resets WHERE user_id = $1",
        ),
        ("magic_links", "DELETE FROM magic_links WHERE user_id = $1"),
        (
            "two_factor_challenges",
            "DELETE FROM two_factor_challenges WHERE user_id = $1",
        ),
        ("org_members", "DELETE FROM org_members WHERE user_id = $1"),
        ("invoices", "DELETE FROM invoices WHERE user_id = $1"),
        (
            "subscriptions",
            "DELETE FROM subscriptions WHERE user_id = $1",
        ),
        (
            "audit_log",
            "DELETE FROM audit_log WHERE user_id = $1 OR actor_id = $1",
        ),
        (
            "rate_limits",
            "DELETE FROM rate_limits WHERE key LIKE '%' || $1 || '%' ESCAPE '\\'",
        ),
    ];
    for (what, sql) in by_user {
        let done = sqlx::query(*sql)
            .bind(if sql.contains("LIKE") {
                like_escape(user_id)
            } else {
                user_id.to_owned()
            })
            .execute(&mut *conn)
            .await?;
        counts.push((what, done.rows_affected()));
    }

    let by_email: &[(&'static str, &'static str)] = &[
        (
            "email_outbox",
            "DELETE FROM email_outbox WHERE to_address = $1",
        ),
        (
            "audit_log_mentions",
            "DELETE FROM audit_log WHERE details LIKE '%' || $1 || '%' ESCAPE '\\'",
        ),
        (
            "rate_limits_email",
            "DELETE FROM rate_limits WHERE key LIKE '%' || $1 || '%' ESCAPE '\\'",
        ),
    ];
    for (what, sql) in by_email {
        let done = sqlx::query(*sql)
            .bind(if sql.contains("LIKE") {
                like_escape(email)
            } else {
                email.to_owned()
            })
            .execute(&mut *conn)
            .await?;
        counts.push((what, done.rows_affected()));
    }
    let done = sqlx::query("DELETE FROM email_outbox WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    counts.push(("email_outbox_user", done.rows_affected()));

    let mut ip_rows = 0;
    for ip in ips.iter().filter(|ip| !ip.is_empty()) {
        ip_rows += sqlx::query(
            "UPDATE audit_log SET ip = NULL, user_agent = NULL WHERE ip = $1 AND user_id IS NULL",
        )
        .bind(ip)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        ip_rows += sqlx::query(
            "DELETE FROM rate_limits WHERE key LIKE '%:' || $1 || ':%' ESCAPE '\\' \
             OR key LIKE '%:' || $1 ESCAPE '\\'",
        )
        .bind(like_escape(ip))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    counts.push(("ip_traces", ip_rows));

    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    counts.push(("users", done.rows_affected()));
    if let Some((ledger_id, user_hash)) = ledger {
        record_deletion(conn, ledger_id, "user", user_hash, now).await?;
    }
    Ok(counts)
}

// ---------------------------------------------------------------------------------------------
// The deletion ledger

pub async fn record_deletion(
    conn: &mut Conn,
    id: &str,
    subject: &str,
    subject_hash: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO deletion_ledger (id, subject, subject_hash, deleted_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(subject)
    .bind(subject_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub subject: String,
    pub subject_hash: String,
    pub deleted_at: i64,
}

pub async fn ledger(conn: &mut Conn) -> Result<Vec<LedgerEntry>> {
    let rows = sqlx::query(
        "SELECT id, subject, subject_hash, deleted_at FROM deletion_ledger ORDER BY deleted_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LedgerEntry {
                id: r.try_get("id")?,
                subject: r.try_get("subject")?,
                subject_hash: r.try_get("subject_hash")?,
                deleted_at: r.try_get("deleted_at")?,
            })
        })
        .collect()
}

/// Adds ledger entries another copy of the database knows and this one doesn't.
pub async fn merge_ledger(conn: &mut Conn, entries: &[LedgerEntry]) -> Result<u64> {
    let mut added = 0;
    for e in entries {
        added += sqlx::query(
            "INSERT INTO deletion_ledger (id, subject, subject_hash, deleted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&e.id)
        .bind(&e.subject)
        .bind(&e.subject_hash)
        .bind(e.deleted_at)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// Every `(id, email)` of users, to match against ledger hashes after a restore.
pub async fn all_user_ids(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT id, email FROM users ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("email")?)))
        .collect()
}

pub async fn all_coaching_session_ids(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT id FROM coaching_sessions ORDER BY id")
            .fetch_all(&mut *conn)
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// The free plan's history limit

/// Sessions of free members beyond their `keep` most recent (newest first by start), oldest
/// first, at most `limit`.
pub async fn sessions_beyond_free_limit(
    conn: &mut Conn,
    keep: i64,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT s.id FROM coaching_sessions s JOIN users u ON u.id = s.user_id \
         WHERE u.subscription_status IN ('free', 'canceled') \
         AND (SELECT COUNT(*) FROM coaching_sessions n WHERE n.user_id = s.user_id \
              AND (n.created_at > s.created_at OR (n.created_at = s.created_at AND n.id > s.id))) >= $1 \
         ORDER BY s.created_at, s.id LIMIT $2",
    )
    .bind(keep)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// A member's sessions that the free plan's limit will remove (oldest first): `(id, title)`.
pub async fn own_sessions_beyond(
    conn: &mut Conn,
    user_id: &str,
    keep: i64,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT id, framework, created_at FROM coaching_sessions WHERE user_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT 1000000 OFFSET $2",
    )
    .bind(user_id)
    .bind(keep)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            Ok::<_, StoreError>((
                r.try_get("id")?,
                r.try_get("framework")?,
                r.try_get("created_at")?,
            ))
        })
        .collect::<Result<_>>()?;
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_addresses_literally() {
        assert_eq!(
            like_escape("a_b%c\\d@example.com"),
            "a\\_b\\%c\\\\d@example.com"
        );
        assert_eq!(like_escape("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn analytics_properties_lose_what_points_at_a_person() {
        let kept = scrub_properties(
            r#"{"sessionId":"s1","framework":"GROW","step":"goal","email":"a@b.c","user_id":"u"}"#,
        );
        let v: Value = serde_json::from_str(&kept).unwrap();
        assert_eq!(v, serde_json::json!({"framework": "GROW", "step": "goal"}));
        assert_eq!(scrub_properties("not json"), "{}");
    }
}
