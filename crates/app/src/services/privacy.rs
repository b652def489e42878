//! A person's rights over their data: the GDPR export, account deletion with a 7-day grace
//! period (cancelled by signing in and choosing to keep the account), erasure when the grace
//! period ends, and the free plan's history limit. Pages, API, CLI and jobs all come here.

use super::accounts::{self, Started, to_of};
use crate::crypto::hash_token;
use crate::error::AppError;
use crate::mail::{self, messages};
use crate::state::AppState;
use coachflux_domain::clock::DAY_MS;
use coachflux_domain::ids::new_id;
use coachflux_domain::request::RequestMeta;
use coachflux_store::outbox::OutboxEmail;
use coachflux_store::users::{self, User};
use coachflux_store::{api_tokens, auth_sessions, coaching, privacy};
use serde_json::{Map, Value, json};

/// How long a deletion request can be taken back.
pub const GRACE_MS: i64 = 7 * DAY_MS;
/// How long the "keep my account" page stays valid after signing in.
const RESTORE_PENDING_MS: i64 = 15 * 60 * 1000;
const REASON_MAX: usize = 1_000;
/// Accounts erased per transaction batch.
const BATCH: i64 = 50;

/// When a pending deletion becomes final.
pub fn erase_at(user: &User) -> Option<i64> {
    user.deletion_requested_at.map(|t| t + GRACE_MS)
}

/// Whether the account is switched off waiting for erasure (and can still be kept). An account
/// staff disabled on top of that (a later `disabled_at`) stays off.
pub fn deletion_pending(user: &User, now: i64) -> bool {
    erase_at(user).is_some_and(|t| now < t) && user.disabled_at == user.deletion_requested_at
}

// ---------------------------------------------------------------------------------------------
// Export

/// Everything CoachFlux holds about a person, as one JSON document.
pub async fn export(state: &AppState, user_id: &str) -> Result<Value, AppError> {
    let schema = state.store.describe_schema().await?;
    let mut conn = state.store.conn().await?;
    let parts = privacy::export_user(&mut conn, &schema, user_id).await?;
    if parts.get("user").is_none_or(Value::is_null) {
        return Err(AppError::NotFound);
    }
    let mut doc = Map::new();
    doc.insert("format".into(), json!("coachflux-export/1"));
    // Milliseconds since the epoch, like every time in the document (the seed's `Date.now()`).
    doc.insert("exportedAt".into(), json!(state.clock.now_ms()));
    doc.extend(parts);
    Ok(Value::Object(doc))
}

/// `2026-01-15T10:00:00.000Z`
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `coachflux-export-2026-01-15.json`
pub fn export_file_name(now: i64) -> String {
    let day = &rfc3339(now)[..10];
    format!("coachflux-export-{day}.json")
}

// ---------------------------------------------------------------------------------------------
// Deletion

pub struct DeletionRequest<'a> {
    pub password: String,
    pub code: &'a str,
    /// Accounts with neither a password nor two-factor type their email address.
    pub confirm_email: &'a str,
    pub reason: &'a str,
}

/// Re-checks who is asking (password, else a two-factor code, else the typed address),
/// then switches the account off, signs every device out, revokes API tokens and sends the
/// confirmation. Returns when the erasure will happen.
pub async fn request_deletion(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    req: DeletionRequest<'_>,
) -> Result<i64, AppError> {
    let typed = req.reason.trim().chars().count();
    let reason = coachflux_domain::text::multi_line(req.reason);
    let reason = reason.as_str();
    if typed > REASON_MAX {
        return Err(AppError::invalid(
            "reason",
            format!("Please keep the reason under {REASON_MAX} characters."),
        ));
    }
    if user.password_hash.is_some() || user.totp_enabled {
        super::credentials::reauthenticate(
            state,
            meta,
            user,
            req.password,
            req.code,
            "delete_account",
            "password",
        )
        .await?;
    } else if !req.confirm_email.trim().eq_ignore_ascii_case(&user.email) {
        return Err(AppError::invalid(
            "confirm_email",
            "Type your email address exactly as it appears above to confirm.",
        ));
    }
    let now = state.clock.now_ms();
    let erase_on = now + GRACE_MS;
    let mut tx = state.store.begin().await?;
    privacy::request_deletion(
        &mut tx,
        &user.id,
        (!reason.is_empty()).then_some(reason),
        now,
    )
    .await?;
    auth_sessions::revoke_all_for_user(&mut tx, &user.id, None, now).await?;
    api_tokens::revoke_all_for_user(&mut tx, &user.id, now).await?;
    let msg = messages::deletion_scheduled(
        &to_of(user),
        &coachflux_domain::dates::moment(
            erase_on,
            coachflux_domain::dates::zone_of(user.time_zone.as_deref()),
        ),
        &state.link("/login"),
    );
    super::accounts::tell_and_record(
        state,
        &mut tx,
        &user.id,
        meta,
        &msg,
        ("deletion_requested", json!({"erase_at": erase_on})),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(erase_on)
}

/// `user.expires.remember.signature`: proves a full sign-in to an account waiting for deletion,
/// for the few minutes the "keep my account" page needs.
pub fn pending_restore(state: &AppState, user_id: &str, remember: bool) -> String {
    let expires = state.clock.now_ms() + RESTORE_PENDING_MS;
    let body = format!("{user_id}.{expires}.{}", u8::from(remember));
    let sig = state.keys.sign(&format!("restore-pending:{body}"));
    format!("{body}.{sig}")
}

fn read_restore(state: &AppState, value: &str) -> Option<(String, bool)> {
    let (body, sig) = value.rsplit_once('.')?;
    if !state.keys.verify(&format!("restore-pending:{body}"), sig) {
        return None;
    }
    let mut parts = body.split('.');
    let user_id = parts.next()?.to_owned();
    let expires: i64 = parts.next()?.parse().ok()?;
    let remember = parts.next()? == "1";
    (expires > state.clock.now_ms()).then_some((user_id, remember))
}

/// Keeps an account whose deletion is pending: switches it back on and signs this device in.
pub async fn keep_account(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
) -> Result<Started, AppError> {
    let expired = || {
        AppError::invalid(
            "form",
            "That took too long, or the account is already gone. Please sign in again.",
        )
    };
    let (user_id, remember) = read_restore(state, token).ok_or_else(expired)?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let user = users::get(&mut tx, &user_id)
        .await?
        .filter(|u| deletion_pending(u, now))
        .ok_or_else(expired)?;
    privacy::cancel_deletion(&mut tx, &user.id, now).await?;
    super::accounts::tell_and_record(
        state,
        &mut tx,
        &user.id,
        meta,
        &messages::deletion_canceled(&to_of(&user)),
        ("deletion_canceled", json!({})),
        now,
    )
    .await?;
    let user = users::get(&mut tx, &user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The restore token is only handed out after a full sign-in, second factor included.
    let started = accounts::start_session(
        state,
        &mut tx,
        &user,
        meta,
        accounts::SignIn {
            remember,
            method: "keep_account",
            second_factor: user.totp_enabled,
        },
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(started)
}

/// Erases every account whose grace period is over at `now`. The final email goes out first,
/// straight through the transport (an outbox row would keep the address); if it cannot be
/// delivered the erasure still happens.
pub async fn erase_due(state: &AppState, now: i64) -> Result<Map<String, Value>, AppError> {
    let mut counts = Map::new();
    let (mut erased, mut emailed, mut failed) = (0_u64, 0_u64, 0_u64);
    let mut skip = std::collections::HashSet::new();
    loop {
        let due = {
            let mut conn = state.store.conn().await?;
            privacy::accounts_due_for_erasure(&mut conn, now - GRACE_MS, BATCH + skip.len() as i64)
                .await?
        };
        let todo: Vec<_> = due.iter().filter(|(id, _, _)| !skip.contains(id)).collect();
        if todo.is_empty() {
            break;
        }
        for (id, email, name) in todo {
            match erase_one(state, id, email, name.as_deref(), Some(now - GRACE_MS), now).await {
                Ok(Some((removed, emailed_one))) => {
                    for (what, n) in removed {
                        if n > 0 {
                            let entry = counts.entry(what).or_insert(json!(0));
                            *entry = json!(entry.as_u64().unwrap_or(0) + n);
                        }
                    }
                    emailed += u64::from(emailed_one);
                    erased += 1;
                }
                Ok(None) => {
                    skip.insert(id.clone());
                }
                Err(e) => {
                    // One account that cannot be erased must not hold up the others.
                    tracing::error!(error = %e, "erasing an account failed; will retry next run");
                    skip.insert(id.clone());
                    failed += 1;
                }
            }
        }
    }
    counts.insert("erased".into(), json!(erased));
    counts.insert("final_emails".into(), json!(emailed));
    if failed > 0 {
        counts.insert("failed".into(), json!(failed));
    }
    Ok(counts)
}

/// Erases one account now: the final email first, then everything (see
/// [`privacy::erase_user`]). With `requested_by`, only if its deletion is still requested at or
/// before that time (it may have been kept meanwhile): `None` when it no longer is. Returns
/// what was removed and whether the email went out.
pub async fn erase_one(
    state: &AppState,
    id: &str,
    email: &str,
    name: Option<&str>,
    requested_by: Option<i64>,
    now: i64,
) -> Result<Option<(privacy::ErasureCounts, bool)>, AppError> {
    let still_due = |u: &User| {
        requested_by.is_none_or(|cutoff| u.deletion_requested_at.is_some_and(|t| t <= cutoff))
    };
    {
        let mut conn = state.store.conn().await?;
        if !users::get(&mut conn, id)
            .await?
            .is_some_and(|u| still_due(&u))
        {
            return Ok(None);
        }
    }
    let msg = messages::account_erased(&messages::To {
        email,
        user_id: None,
        name,
    });
    let emailed = match final_email(state, &msg, now).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "the final email before an erasure failed; erasing anyway");
            false
        }
    };
    let mut tx = state.store.begin().await?;
    // Checked again in the erasing transaction: a keep that landed meanwhile wins.
    if !users::get(&mut tx, id)
        .await?
        .is_some_and(|u| still_due(&u))
    {
        return Ok(None);
    }
    let (ledger_id, hash) = (new_id(), hash_token(id));
    let removed = privacy::erase_user(&mut tx, id, email, Some((&ledger_id, &hash)), now).await?;
    tx.commit().await?;
    Ok(Some((removed, emailed)))
}

async fn final_email(state: &AppState, msg: &mail::Email, now: i64) -> Result<(), String> {
    let (text, html) = mail::render(msg, &state.config.public_url, None);
    let email = OutboxEmail {
        id: new_id(),
        user_id: None,
        to_address: msg.to.clone(),
        template: msg.template.to_owned(),
        subject: msg.subject.clone(),
        body_text: text,
        body_html: html,
        body_redacted: String::new(),
        status: "sending".into(),
        attempts: 1,
        next_attempt_at: now,
        locked_until: None,
        last_error: None,
        transactional: true,
        created_at: now,
        sent_at: None,
    };
    state
        .outbox
        .send_direct(&email)
        .await
        .map_err(|e| e.message)
}

// ---------------------------------------------------------------------------------------------
// The deletion ledger, re-applied after a restore

/// Records a coaching session a person deleted, so a restore from an older backup removes it
/// again.
pub async fn record_session_deletion(
    conn: &mut coachflux_store::Conn,
    session_id: &str,
    now: i64,
) -> Result<(), AppError> {
    privacy::record_deletion(
        conn,
        &new_id(),
        "coaching_session",
        &hash_token(session_id),
        now,
    )
    .await?;
    Ok(())
}

/// Applies `ledger` (usually the live database's, read before a restore replaced it) to the
/// store: erased accounts and deleted sessions that the restored data still holds are removed
/// again, and the ledger itself is merged. Returns (accounts, sessions) removed.
pub async fn reapply_ledger(
    store: &coachflux_store::Store,
    ledger: &[privacy::LedgerEntry],
    now: i64,
) -> Result<(u64, u64), coachflux_store::StoreError> {
    use std::collections::HashSet;
    let users_gone: HashSet<&str> = ledger
        .iter()
        .filter(|e| e.subject == "user")
        .map(|e| e.subject_hash.as_str())
        .collect();
    let sessions_gone: HashSet<&str> = ledger
        .iter()
        .filter(|e| e.subject == "coaching_session")
        .map(|e| e.subject_hash.as_str())
        .collect();
    let mut tx = store.begin().await?;
    privacy::merge_ledger(&mut tx, ledger).await?;
    let (mut accounts, mut sessions) = (0, 0);
    for (id, email) in privacy::all_user_ids(&mut tx).await? {
        if users_gone.contains(hash_token(&id).as_str()) {
            privacy::erase_user(&mut tx, &id, &email, None, now).await?;
            accounts += 1;
        }
    }
    for id in privacy::all_coaching_session_ids(&mut tx).await? {
        if sessions_gone.contains(hash_token(&id).as_str())
            && coaching::delete(&mut tx, &id).await?
        {
            sessions += 1;
        }
    }
    tx.commit().await?;
    Ok((accounts, sessions))
}

// ---------------------------------------------------------------------------------------------
// The free plan's history limit

/// Deletes free members' sessions beyond the newest `keep`, with their reflections and items.
pub async fn trim_free_history(state: &AppState, now: i64) -> Result<Map<String, Value>, AppError> {
    let mut counts = Map::new();
    let Some(keep) = state.config.free_history.0 else {
        counts.insert("deleted".into(), json!(0));
        counts.insert("limit".into(), json!("unlimited"));
        return Ok(counts);
    };
    let mut deleted = 0_u64;
    loop {
        let ids = {
            let mut conn = state.store.conn().await?;
            privacy::sessions_beyond_free_limit(&mut conn, keep, 500).await?
        };
        for id in &ids {
            let mut tx = state.store.begin().await?;
            let owner = coaching::get(&mut tx, id).await?.and_then(|s| s.user_id);
            if coaching::delete(&mut tx, id).await? {
                record_session_deletion(&mut tx, id, now).await?;
                if let Some(owner) = owner {
                    coachflux_store::metrics::recompute(&mut tx, &owner, now).await?;
                }
                deleted += 1;
            }
            tx.commit().await?;
        }
        if ids.len() < 500 {
            break;
        }
    }
    counts.insert("deleted".into(), json!(deleted));
    counts.insert("limit".into(), json!(keep));
    Ok(counts)
}

/// What the dashboard tells a free member about the history limit.
pub struct HistoryNotice {
    pub keep: i64,
    /// Sessions the next run will delete (oldest first): framework and start date.
    pub doomed: Vec<(String, String)>,
    /// Whether they are at the limit, so their next session pushes the oldest out.
    pub at_limit: bool,
}

pub async fn history_notice(
    state: &AppState,
    user: &User,
) -> Result<Option<HistoryNotice>, AppError> {
    let Some(keep) = state.config.free_history.0 else {
        return Ok(None);
    };
    if !user.subscription_status.is_free_plan() {
        return Ok(None);
    }
    let mut conn = state.store.conn().await?;
    let beyond = privacy::own_sessions_beyond(&mut conn, &user.id, keep - 1).await?;
    if beyond.is_empty() {
        return Ok(None);
    }
    // `beyond` holds the sessions past the newest keep-1: the oldest of them is next in line.
    let doomed: Vec<(String, String)> = beyond
        .iter()
        .take(beyond.len().saturating_sub(1))
        .map(|(_, fw, at)| (fw.clone(), accounts::format_utc(*at)[..10].to_owned()))
        .collect();
    Ok(Some(HistoryNotice {
        keep,
        at_limit: doomed.is_empty(),
        doomed,
    }))
}
