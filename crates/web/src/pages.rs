use super::{Layout, PageCtx};
use crate::who::PageResult;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use coachflux_app::AppError;
use coachflux_app::AppState;
use coachflux_app::model::FrameworkRecord;

/// A framework as its card shows it to this person: locked ones say why.
pub struct FrameworkCard {
    framework: coachflux_domain::frameworks::Framework,
    locked: Option<coachflux_app::services::coaching::Locked>,
}

async fn cards(
    state: &AppState,
    actor: &coachflux_app::services::coaching::Actor,
) -> Result<Vec<FrameworkCard>, AppError> {
    Ok(coachflux_app::services::coaching::catalogue(state, actor)
        .await?
        .into_iter()
        .map(|(f, locked)| FrameworkCard {
            locked,
            framework: f.framework,
        })
        .collect())
}

/// Said once for a page of cards: what visitors can start, and how to unlock the rest.
fn members_note(cards: &[FrameworkCard]) -> Option<String> {
    let open: Vec<&str> = cards
        .iter()
        .filter(|c| c.locked.is_none())
        .map(|c| c.framework.name.as_str())
        .collect();
    cards
        .iter()
        .any(|c| c.locked.as_ref().is_some_and(|l| l.for_members))
        .then(|| match open.as_slice() {
            [] => "Create a free account (or log in) to use every framework.".to_owned(),
            names => format!(
                "As a visitor you can try {} now; create a free account (or log in) to use every framework.",
                names.join(" and ")
            ),
        })
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    l: Layout,
    frameworks: Vec<FrameworkCard>,
    members_note: Option<String>,
    /// The hero's call to action starts this framework (GROW when the person may start it).
    start: Option<String>,
    visitor: bool,
}

pub async fn home(
    State(state): State<AppState>,
    ctx: PageCtx,
    crate::coaching::Who(actor): crate::coaching::Who,
) -> PageResult<HomePage> {
    let frameworks = cards(&state, &actor).await?;
    let start = frameworks
        .iter()
        .filter(|c| c.locked.is_none())
        .map(|c| c.framework.id.clone())
        .find(|id| id == "GROW")
        .or_else(|| {
            frameworks
                .iter()
                .find(|c| c.locked.is_none())
                .map(|c| c.framework.id.clone())
        });
    Ok(HomePage {
        l: ctx.layout("CoachFlux — guided coaching that ends in a plan", "home"),
        members_note: members_note(&frameworks),
        visitor: actor.user.is_none(),
        start,
        frameworks,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "frameworks.html")]
pub struct FrameworksPage {
    l: Layout,
    frameworks: Vec<FrameworkCard>,
    members_note: Option<String>,
}

pub async fn frameworks(
    State(state): State<AppState>,
    ctx: PageCtx,
    crate::coaching::Who(actor): crate::coaching::Who,
) -> PageResult<FrameworksPage> {
    let frameworks = cards(&state, &actor).await?;
    Ok(FrameworksPage {
        l: ctx.layout("Coaching frameworks — CoachFlux", "frameworks"),
        members_note: members_note(&frameworks),
        frameworks,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "framework.html")]
pub struct FrameworkPage {
    l: Layout,
    f: FrameworkRecord,
    locked: Option<coachflux_app::services::coaching::Locked>,
}

pub async fn framework(
    State(state): State<AppState>,
    ctx: PageCtx,
    crate::coaching::Who(actor): crate::coaching::Who,
    Path(id): Path<String>,
) -> PageResult<FrameworkPage> {
    // Ids are upper-case; accept /frameworks/grow as well.
    let id = id.to_ascii_uppercase();
    let f = coachflux_app::services::coaching::framework_record(&state, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(FrameworkPage {
        l: ctx.layout(
            format!("{} — {} — CoachFlux", f.framework.name, f.framework.tagline),
            "frameworks",
        ),
        locked: coachflux_app::services::coaching::entitlement(&actor, &f.framework).err(),
        f,
    })
}

#[derive(serde::Deserialize, Default)]
pub struct HelperQuery {
    focus: Option<String>,
    minutes: Option<u32>,
}

#[derive(Template, WebTemplate)]
#[template(path = "helper.html")]
pub struct HelperPage {
    l: Layout,
    focuses: Vec<(&'static str, &'static str)>,
    focus: String,
    minutes: u32,
    pick: Option<Pick>,
}

/// A recommendation as this person can act on it.
pub struct Pick {
    f: FrameworkRecord,
    why: &'static str,
    /// Why they can't start it, and how to unlock it.
    locked: Option<coachflux_app::services::coaching::Locked>,
    /// What they can start instead, now.
    instead: Option<(FrameworkRecord, &'static str)>,
}

/// "Which framework fits me?" — a GET form: the answer is a recommendation, nothing is stored.
pub async fn helper(
    State(state): State<AppState>,
    ctx: PageCtx,
    crate::coaching::Who(actor): crate::coaching::Who,
    axum::extract::Query(q): axum::extract::Query<HelperQuery>,
) -> PageResult<HelperPage> {
    use coachflux_app::services::coaching::{entitlement, framework_record};
    use coachflux_domain::recommend::{FALLBACK, Focus, recommend};
    let minutes = q.minutes.unwrap_or(20).clamp(5, 60);
    let pick = match q.focus.as_deref().and_then(Focus::parse) {
        Some(focus) => {
            let (id, why) = recommend(focus, minutes);
            match framework_record(&state, id).await? {
                Some(f) => {
                    let locked = entitlement(&actor, &f.framework).err();
                    // A locked recommendation is no dead end: say how to unlock it, and offer
                    // what can be started now.
                    let instead = match (&locked, FALLBACK) {
                        (Some(_), (alt, alt_why)) if alt != id => framework_record(&state, alt)
                            .await?
                            .filter(|a| entitlement(&actor, &a.framework).is_ok())
                            .map(|a| (a, alt_why)),
                        _ => None,
                    };
                    Some(Pick {
                        f,
                        why,
                        locked,
                        instead,
                    })
                }
                None => None,
            }
        }
        None => None,
    };
    Ok(HelperPage {
        l: ctx.layout("Which framework fits me? — CoachFlux", "frameworks"),
        focuses: Focus::ALL
            .iter()
            .map(|(_, code, label)| (*code, *label))
            .collect(),
        focus: q.focus.unwrap_or_default(),
        minutes,
        pick,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "legal.html")]
pub struct LegalPage {
    l: Layout,
    title: &'static str,
    /// Rendered by `coachflux_domain::markdown`, raw HTML off.
    html: String,
}

async fn legal(
    state: &AppState,
    ctx: PageCtx,
    doc: coachflux_app::services::legal::Document,
) -> PageResult<LegalPage> {
    let page = coachflux_app::services::legal::document(state, doc).await?;
    Ok(LegalPage {
        l: ctx.layout(format!("{} — CoachFlux", page.title), ""),
        title: page.title,
        html: page.html,
    })
}

/// `/terms`: the operator's `<data dir>/pages/terms.md`, or the default.
pub async fn terms(State(state): State<AppState>, ctx: PageCtx) -> PageResult<LegalPage> {
    legal(&state, ctx, coachflux_app::services::legal::Document::Terms).await
}

/// `/privacy`: the operator's `<data dir>/pages/privacy.md`, or the default.
pub async fn privacy(State(state): State<AppState>, ctx: PageCtx) -> PageResult<LegalPage> {
    legal(
        &state,
        ctx,
        coachflux_app::services::legal::Document::Privacy,
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct DatePreviewQuery {
    #[serde(default)]
    text: String,
}

/// `/dates/preview?text=by+Friday`: how a due-date phrase reads on the person's calendar, for
/// the hint under a date box as they type (`{"date": "Fri 16 Jan 2026"}`, or `null` when it
/// isn't a date). A pure reading: nothing is stored.
pub async fn date_preview(
    State(state): State<AppState>,
    ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<DatePreviewQuery>,
) -> impl axum::response::IntoResponse {
    use coachflux_domain::dates;
    let date = (q.text.chars().count() <= 200)
        .then(|| dates::parse_due(&q.text, state.clock.now_ms(), ctx.zone))
        .flatten()
        .map(|due| dates::label(due.at_ms, ctx.zone));
    (
        [(axum::http::header::CACHE_CONTROL, "private, no-store")],
        axum::Json(serde_json::json!({ "date": date })),
    )
}
