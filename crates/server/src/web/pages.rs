use super::{Layout, PageCtx};
use crate::error::AppError;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use coachflux_store::frameworks::FrameworkRecord;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    l: Layout,
    frameworks: Vec<FrameworkRecord>,
}

pub async fn home(State(state): State<AppState>, ctx: PageCtx) -> Result<HomePage, AppError> {
    let frameworks = state.store.list_frameworks().await?;
    Ok(HomePage {
        l: ctx.layout("CoachFlux — guided coaching that ends in a plan", "home"),
        frameworks,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "frameworks.html")]
pub struct FrameworksPage {
    l: Layout,
    frameworks: Vec<FrameworkRecord>,
}

pub async fn frameworks(
    State(state): State<AppState>,
    ctx: PageCtx,
) -> Result<FrameworksPage, AppError> {
    let frameworks = state.store.list_frameworks().await?;
    Ok(FrameworksPage {
        l: ctx.layout("Coaching frameworks — CoachFlux", "frameworks"),
        frameworks,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "framework.html")]
pub struct FrameworkPage {
    l: Layout,
    f: FrameworkRecord,
    locked: Option<crate::services::coaching::Locked>,
}

pub async fn framework(
    State(state): State<AppState>,
    ctx: PageCtx,
    actor: crate::services::coaching::Actor,
    Path(id): Path<String>,
) -> Result<FrameworkPage, AppError> {
    // Ids are upper-case; accept /frameworks/grow as well.
    let id = id.to_ascii_uppercase();
    let f = state
        .store
        .get_framework(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(FrameworkPage {
        l: ctx.layout(
            format!("{} — {} — CoachFlux", f.framework.name, f.framework.tagline),
            "frameworks",
        ),
        locked: crate::services::coaching::entitlement(&actor, &f.framework).err(),
        f,
    })
}
