//! The member's dashboard: continue the open session, recent sessions, open actions, and
//! progress pictures from `user_metrics`.

use super::charts;
use super::{Layout, PageCtx};
use crate::who::PageResult;
use crate::who::RequireUser;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use coachflux_app::AppState;
use coachflux_app::model::CoachingSession;
use coachflux_app::services::dashboard;
use coachflux_domain::dates;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(page))
}

pub struct SessionRow {
    pub id: String,
    pub framework: String,
    pub when: String,
    pub status: String,
}

impl SessionRow {
    pub fn status_label(&self) -> &str {
        crate::coaching::status_label(&self.status)
    }
}

pub struct ActionRow {
    pub title: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    l: Layout,
    name: String,
    open_session: Option<SessionRow>,
    recent: Vec<SessionRow>,
    actions: Vec<ActionRow>,
    sessions_completed: i64,
    actions_created: i64,
    actions_completed: i64,
    frameworks_used: usize,
    minutes: i64,
    weekly_svg: String,
    ring_svg: String,
    frameworks_svg: String,
    history: Option<coachflux_app::services::privacy::HistoryNotice>,
    /// Nothing done yet: a welcome with one way in, instead of charts of zeros.
    new_member: bool,
}

async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> PageResult {
    let user = &current.user;
    let now = state.clock.now_ms();
    let o = dashboard::overview(&state, &current, ctx.zone).await?;
    let row = |s: &CoachingSession| SessionRow {
        id: s.id.clone(),
        framework: s.framework.clone(),
        when: dates::label(s.updated_at, ctx.zone),
        status: s.status.clone(),
    };
    let open_session = o
        .sessions
        .iter()
        .find(|s| s.status != "completed" && s.status != "abandoned")
        .map(row);
    let recent = o.sessions.iter().take(5).map(row).collect();
    let actions = o
        .open_actions
        .into_iter()
        .map(|a| ActionRow {
            overdue: a.due_date.is_some_and(|d| d < now),
            due: a
                .due_date
                .map(|d| dates::label(d, ctx.zone))
                .unwrap_or_default(),
            title: a.title,
        })
        .collect();
    let weekly: Vec<(String, i64)> = o
        .weekly
        .iter()
        .enumerate()
        // Every other Monday, ending with this week's: eight dates don't fit under a phone's chart.
        .map(|(i, (start, n))| {
            let label = if (o.weekly.len() - 1 - i) % 2 == 0 {
                dates::day_month(*start, ctx.zone)
            } else {
                String::new()
            };
            (label, *n)
        })
        .collect();
    let (m, rate) = (o.metrics, o.done_percent);
    let counts = o.per_framework;
    let history = coachflux_app::services::privacy::history_notice(&state, user).await?;
    Ok(DashboardPage {
        l: ctx.layout("Dashboard — CoachFlux", "dashboard"),
        name: user.name.clone().unwrap_or_default(),
        open_session,
        recent,
        actions,
        sessions_completed: m.sessions_completed,
        actions_created: m.actions_created,
        actions_completed: m.actions_completed,
        frameworks_used: m.frameworks_used.len(),
        minutes: m.total_time_spent / 60,
        weekly_svg: charts::bars(
            &weekly,
            "Sessions completed per week (weeks from Monday), this week last",
        ),
        ring_svg: charts::ring(rate, &format!("{rate}% of your action items are done")),
        frameworks_svg: charts::bars(&counts, "Completed sessions per framework"),
        history,
        new_member: o.sessions.is_empty() && m.actions_created == 0,
    }
    .into_response())
}
