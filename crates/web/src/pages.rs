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

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    l: Layout,
    frameworks: Vec<FrameworkCard>,
}

pub async fn home(
    State(state): State<AppState>,
    ctx: PageCtx,
    crate::coaching::Who(actor): crate::coaching::Who,
) -> PageResult<HomePage> {
    Ok(HomePage {
        l: ctx.layout("CoachFlux — guided coaching that ends in a plan", "home"),
        frameworks: cards(&state, &actor).await?,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "frameworks.html")]
pub struct FrameworksPage {
    l: Layout,
    frameworks: Vec<FrameworkCard>,
}

pub async fn frameworks(
    State(state): State<AppState>,
    ctx: PageCtx,
    crate::coaching::Who(actor): crate::coaching::Who,
) -> PageResult<FrameworksPage> {
    Ok(FrameworksPage {
        l: ctx.layout("Coaching frameworks — CoachFlux", "frameworks"),
        frameworks: cards(&state, &actor).await?,
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
    pick: Option<(FrameworkRecord, &'static str)>,
}

/// "Which framework fits me?" — a GET form: the answer is a recommendation, nothing is stored.
pub async fn helper(
    State(state): State<AppState>,
    ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<HelperQuery>,
) -> PageResult<HelperPage> {
    use coachflux_domain::recommend::{Focus, recommend};
    let minutes = q.minutes.unwrap_or(20).clamp(5, 60);
    let pick = match q.focus.as_deref().and_then(Focus::parse) {
        Some(focus) => {
            let (id, why) = recommend(focus, minutes);
            coachflux_app::services::coaching::framework_record(&state, id)
                .await?
                .map(|f| (f, why))
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
