//! The member's dashboard: continue the open session, recent sessions, open actions, and
//! progress pictures from `user_metrics`.

use super::charts;
use super::{Layout, PageCtx};
use crate::auth::RequireUser;
use crate::error::AppError;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use coachflux_domain::clock::DAY_MS;
use coachflux_domain::dates;
use coachflux_store::action_items::Filter;
use coachflux_store::{action_items, coaching, metrics};

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(page))
}

pub struct SessionRow {
    pub id: String,
    pub framework: String,
    pub when: String,
    pub status: String,
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
    history: Option<crate::services::privacy::HistoryNotice>,
}

const WEEKS: i64 = 8;

async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(current): RequireUser,
) -> Result<Response, AppError> {
    let user = &current.user;
    let now = state.clock.now_ms();
    let mut conn = state.store.conn().await?;
    let sessions = coaching::list_for_user(&mut conn, &user.id, 20).await?;
    let row = |s: &coaching::CoachingSession| SessionRow {
        id: s.id.clone(),
        framework: s.framework.clone(),
        when: dates::label(s.updated_at),
        status: s.status.clone(),
    };
    let open_session = sessions
        .iter()
        .find(|s| s.status != "completed" && s.status != "abandoned")
        .map(row);
    let recent = sessions.iter().take(5).map(row).collect();
    let open = Filter {
        status: Some("open".into()),
        ..Filter::default()
    };
    let actions = action_items::list_for_user(&mut conn, &user.id, &open, now)
        .await?
        .into_iter()
        .take(5)
        .map(|a| ActionRow {
            overdue: a.due_date.is_some_and(|d| d < now),
            due: a.due_date.map(dates::label).unwrap_or_default(),
            title: a.title,
        })
        .collect();
    let m = metrics::get(&mut conn, &user.id).await?.unwrap_or_default();
    // Sessions completed per week, the last eight weeks, oldest first.
    let since = now - WEEKS * 7 * DAY_MS;
    let done = metrics::completions_since(&mut conn, &user.id, since).await?;
    let weekly: Vec<(String, i64)> = (0..WEEKS)
        .map(|w| {
            let start = since + w * 7 * DAY_MS;
            let n = done
                .iter()
                .filter(|t| **t >= start && **t < start + 7 * DAY_MS)
                .count();
            let (_, month, day) = dates::ymd(start);
            (format!("{day}/{month}"), i64::try_from(n).unwrap_or(0))
        })
        .collect();
    let counts = metrics::framework_counts(&mut conn, &user.id).await?;
    let rate = if m.actions_created > 0 {
        m.actions_completed * 100 / m.actions_created
    } else {
        0
    };
    drop(conn);
    let history = crate::services::privacy::history_notice(&state, user).await?;
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
        weekly_svg: charts::bars(&weekly, "Sessions completed per week, last eight weeks"),
        ring_svg: charts::ring(rate, &format!("{rate}% of your action items are done")),
        frameworks_svg: charts::bars(&counts, "Completed sessions per framework"),
        history,
    }
    .into_response())
}
