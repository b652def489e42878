//! What staff see: the mail log (links withheld), model usage per session, and the scheduler.
//! Only staff and admins with their second factor on, proved by the session asking.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use coachflux_domain::jobs::Job;
use coachflux_domain::paging::{Page, PageRequest};
use coachflux_store::jobs::Run;
use coachflux_store::llm_calls::SessionUsage;
use coachflux_store::outbox::OutboxEmail;

/// Why someone can't open the staff pages (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Not staff: the pages don't exist for them.
    NotStaff,
    /// Staff without a second factor: turn it on first.
    NeedsTwoFactor,
    /// Staff whose session hasn't proved the second factor: confirm with a code.
    NeedsProof,
}

/// Lets staff in, or says what stands in the way.
pub fn admit(current: &CurrentUser) -> Result<(), Gate> {
    if !current.is_staff() {
        return Err(Gate::NotStaff);
    }
    if !current.user.totp_enabled {
        return Err(Gate::NeedsTwoFactor);
    }
    if !current.proved_second_factor() {
        return Err(Gate::NeedsProof);
    }
    Ok(())
}

fn admitted(current: &CurrentUser) -> Result<(), AppError> {
    admit(current).map_err(|_| AppError::NotFound)
}

/// One page of the emails, newest first, bodies withheld (`body_redacted` is what staff read).
pub async fn mail_log(
    state: &AppState,
    current: &CurrentUser,
    request: &PageRequest,
) -> Result<Page<OutboxEmail>, AppError> {
    admitted(current)?;
    let mut conn = state.store.conn().await?;
    let mut page = coachflux_store::outbox::page(&mut conn, request).await?;
    for e in &mut page.items {
        withhold(e);
    }
    Ok(page)
}

/// One email of the log, its sealed bodies left out.
pub async fn mail_item(
    state: &AppState,
    current: &CurrentUser,
    id: &str,
) -> Result<OutboxEmail, AppError> {
    admitted(current)?;
    let mut conn = state.store.conn().await?;
    let mut e = coachflux_store::outbox::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    withhold(&mut e);
    Ok(e)
}

/// Staff never hold a sealed body, even one they couldn't open.
fn withhold(e: &mut OutboxEmail) {
    e.body_text.clear();
    e.body_html.clear();
}

/// Model calls per session, the 200 most recent sessions.
pub async fn coach_usage(
    state: &AppState,
    current: &CurrentUser,
) -> Result<Vec<SessionUsage>, AppError> {
    admitted(current)?;
    let mut conn = state.store.conn().await?;
    Ok(coachflux_store::llm_calls::recent_sessions(&mut conn, 200).await?)
}

/// Each job with its interval and next run (`None`: at the next tick), and the latest runs.
pub struct Schedule {
    pub jobs: Vec<(Job, i64, Option<i64>)>,
    pub runs: Vec<Run>,
}

pub async fn schedule(state: &AppState, current: &CurrentUser) -> Result<Schedule, AppError> {
    admitted(current)?;
    let jobs = crate::jobs::overview(state)
        .await?
        .into_iter()
        .map(|(job, every, next, _)| (job, every, next))
        .collect();
    let runs = crate::jobs::recent_runs(state, 100).await?;
    Ok(Schedule { jobs, runs })
}
