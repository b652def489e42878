//! What a member's dashboard shows: where they are (an open session, recent ones, open action
//! items) and how they are doing (counts, completions per week, frameworks used).

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::AppError;
use coachflux_domain::dates::{Zone, week_starts};
use coachflux_domain::paging::PageRequest;
use coachflux_store::action_items::{self, ActionItem, Filter};
use coachflux_store::coaching::{self, CoachingSession};
use coachflux_store::metrics::{self, UserMetrics};

/// Weeks of completions the dashboard draws.
pub const WEEKS: i64 = 8;

pub struct Overview {
    /// The newest 20 sessions, newest first.
    pub sessions: Vec<CoachingSession>,
    /// Up to 5 open action items, soonest due first.
    pub open_actions: Vec<ActionItem>,
    pub metrics: UserMetrics,
    /// Sessions completed in each of the last [`WEEKS`] calendar weeks on the person's clock
    /// (Monday to Sunday), oldest first, the current week last: (week start, count).
    pub weekly: Vec<(i64, i64)>,
    /// Completed sessions per framework.
    pub per_framework: Vec<(String, i64)>,
    /// Share of the action items created that are done, in percent.
    pub done_percent: i64,
}

pub async fn overview(
    state: &AppState,
    current: &CurrentUser,
    zone: Zone,
) -> Result<Overview, AppError> {
    let user = &current.user;
    let now = state.clock.now_ms();
    let mut conn = state.store.conn().await?;
    let sessions = coaching::list_for_user(&mut conn, &user.id, 20).await?;
    let open = Filter {
        status: Some("open".into()),
        ..Filter::default()
    };
    let open_actions = action_items::page(
        &mut conn,
        &user.id,
        &open,
        action_items::Order::Due,
        &PageRequest::first(5),
        now,
    )
    .await?
    .items;
    let m = metrics::get(&mut conn, &user.id).await?.unwrap_or_default();
    let starts = week_starts(now, zone, WEEKS);
    let since = starts.first().copied().unwrap_or(now);
    let done = metrics::completions_since(&mut conn, &user.id, since).await?;
    let weekly = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(i64::MAX);
            let n = done.iter().filter(|t| **t >= start && **t < end).count();
            (start, i64::try_from(n).unwrap_or(0))
        })
        .collect();
    let per_framework = metrics::framework_counts(&mut conn, &user.id).await?;
    let done_percent = if m.actions_created > 0 {
        m.actions_completed * 100 / m.actions_created
    } else {
        0
    };
    Ok(Overview {
        sessions,
        open_actions,
        metrics: m,
        weekly,
        per_framework,
        done_percent,
    })
}
