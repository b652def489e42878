//! The coaching pages: start a session, the conversation, the action plan, the report.

use super::forms::{checked, set_cookie};
use super::{Layout, PageCtx};
use crate::who::PageResult;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use coachflux_app::AppError;
use coachflux_app::AppState;
use coachflux_app::services::coaching::{self, Actor, Move, TurnOutcome};
use coachflux_domain::coach;
use coachflux_domain::dates;
use coachflux_domain::engine::{
    FollowUpKind, MAX_INPUT_CHARS, MAX_SKIPS_PER_STEP, Phase, ProposalStatus,
};
use coachflux_domain::frameworks::FieldKind;
use coachflux_domain::paging::{Cursor, PageRequest};
use coachflux_domain::safety;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(history).post(start))
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/consent", post(consent))
        .route("/sessions/{id}/turn", post(turn))
        .route("/sessions/{id}/skip", post(skip))
        .route("/sessions/{id}/proceed", post(proceed))
        .route("/sessions/{id}/amend", post(amend))
        .route("/sessions/{id}/back", post(back))
        .route("/sessions/{id}/resume", post(resume))
        .route("/sessions/{id}/end", post(end))
        .route("/sessions/{id}/proposals/{index}", post(proposal))
        .route("/sessions/{id}/close", post(close))
        .route("/sessions/{id}/report", get(report_page))
        .route("/sessions/{id}/report.md", get(report_markdown))
        .route("/sessions/{id}/delete", get(delete_page).post(delete))
        .route("/sessions/{id}/rating", post(rate))
        .route("/sessions/{id}/report/email", post(email_report))
}

/// Who a coaching page is for: the signed-in member, or this browser's visitor id.
pub struct Who(pub Actor);

impl FromRequestParts<AppState> for Who {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let user = parts
            .extensions
            .get::<coachflux_app::auth::CurrentUser>()
            .cloned();
        let zone = coachflux_http::meta::zone(user.as_ref(), &parts.headers);
        Ok(Who(Actor {
            user,
            anonymous_id: coachflux_http::meta::anonymous_id(state, &jar),
            zone,
        }))
    }
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    framework: String,
}

async fn start(
    State(state): State<AppState>,
    Who(actor): Who,
    Form(f): Form<StartForm>,
) -> PageResult {
    // A visitor gets an anonymous id (a cookie) the first time they start a session.
    let mut actor = actor;
    let new_anonymous = (actor.user.is_none() && actor.anonymous_id.is_none())
        .then(|| state.keys.new_anonymous_id());
    if let Some(a) = &new_anonymous {
        actor.anonymous_id = Some(a.clone());
    }
    let id = coaching::start(&state, &actor, &f.framework).await?;
    let mut r = Redirect::to(&format!("/sessions/{id}")).into_response();
    if let Some(a) = new_anonymous {
        set_cookie(
            &state,
            &mut r,
            state.cookies.anonymous,
            a,
            30 * coachflux_domain::clock::DAY_MS,
        );
    }
    Ok(r)
}

pub struct StepChip {
    pub name: String,
    pub status: &'static str,
}

/// Answers in one step, in a row: earlier runs fold away so the page doesn't repeat every
/// finished step in full.
pub struct Run {
    pub step: String,
    pub turns: Vec<Turn>,
    /// The last run (where the conversation is) stays open.
    pub open: bool,
}

pub struct Turn {
    /// The step this answer belongs to (its id).
    pub step: String,
    /// The question this answered, when the transcript doesn't already show it (the first
    /// answer, a step's opening question, the question after a skip or a pause).
    pub asked: String,
    pub user: String,
    pub coach: String,
    pub safety: bool,
    /// The screen heard distress that is not a crisis: the helplines are offered with the reply.
    pub concern: bool,
    /// Why the built-in coach answered instead of the AI coach, if it did.
    pub note: String,
    /// Questions of this turn's step that the person skipped, said where the conversation
    /// moved on without them: before the question asked instead, else after the step's last
    /// answer.
    pub skipped_before: Vec<String>,
    pub skipped_after: Vec<String>,
}

pub struct Input {
    pub kind: &'static str,
    pub label: String,
    pub min: i32,
    pub max: i32,
    /// What the ends of a scale mean ("not committed", "fully committed"), when the catalogue
    /// says.
    pub min_label: String,
    pub max_label: String,
    pub options: Vec<String>,
    pub max_len: usize,
    /// A list's limit per item and its most items (0: none said).
    pub item_max: u32,
    pub max_items: u32,
}

pub struct CapturedRow {
    pub field_id: String,
    pub label: String,
    pub value: String,
}

pub struct ProposalRow {
    pub index: usize,
    pub title: String,
    pub due: String,
    /// The due day as an editable date (YYYY-MM-DD), or empty.
    pub due_input: String,
    pub priority: String,
    pub tags: String,
    pub status: &'static str,
}

/// A confirmed step that can be reopened from the action plan.
pub struct StepLink {
    pub id: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "session.html")]
struct SessionPage {
    l: Layout,
    id: String,
    fw_name: String,
    fw_id: String,
    step_id: String,
    steps: Vec<StepChip>,
    progress: usize,
    runs: Vec<Run>,
    prompt: String,
    phase: &'static str,
    input: Option<Input>,
    /// The kind of follow-up question the coach is waiting on, if any.
    follow_up: Option<&'static str>,
    can_skip: bool,
    can_back: bool,
    /// The step's required answers are in; what is still asked is optional.
    can_proceed_early: bool,
    /// Steps that can be reopened from the action plan.
    reopen: Vec<StepLink>,
    priorities: &'static [&'static str],
    /// The AI coach is on: the page's script streams replies.
    stream: bool,
    captured: Vec<CapturedRow>,
    /// What the answer box holds: the answer being amended, or what was typed when it was
    /// refused (nothing a person wrote is lost to an error).
    draft: String,
    proposals: Vec<ProposalRow>,
    /// Proposals that closing keeps (all but the dropped ones).
    kept: usize,
    helplines: Vec<safety::Helpline>,
    /// The pause's primary action: call the first line that has a number, else its website.
    get_help: Option<(Option<String>, String)>,
    /// Paused: what the coach says about it, fitting what the screen found (the API's prompt).
    pause_message: String,
    /// Offered under a reply that checked in after distress (the concern level).
    offered_helplines: Vec<safety::Helpline>,
    error: Option<String>,
    anonymous: bool,
}

async fn render_session(
    state: &AppState,
    ctx: &PageCtx,
    actor: &Actor,
    id: &str,
    error: Option<String>,
    typed: Option<&str>,
) -> PageResult {
    let l = coaching::load(state, actor, id).await?;
    let fw = &l.framework;
    let e = &l.engine;
    let phase = match (e.phase, e.paused) {
        (Phase::Closed, _) => "closed",
        (_, true) => "paused",
        (p, false) => p.as_str(),
    };
    let steps = fw
        .steps
        .iter()
        .enumerate()
        .map(|(i, def)| StepChip {
            name: def.name.clone(),
            status: e.step_status(i).as_str(),
        })
        .collect();
    let (done, total) = e.progress();
    let turns = transcript(fw, e, &l.turns);
    // The coach's follow-up about an answer takes words (new options, one per line).
    let follow_up = e
        .follow_up
        .as_ref()
        .filter(|_| phase == "asking")
        .map(|f| Input {
            kind: match f.kind {
                FollowUpKind::MoreOptions => "list",
                FollowUpKind::When => "date",
                _ => "text",
            },
            label: "Your answer".to_owned(),
            min: 0,
            max: 0,
            min_label: String::new(),
            max_label: String::new(),
            item_max: 200,
            max_items: 0,
            options: Vec::new(),
            max_len: MAX_INPUT_CHARS,
        });
    let input = follow_up.or_else(|| {
        (phase == "asking")
            .then(|| e.pending_field(fw))
            .flatten()
            .map(|f| {
                let (kind, min, max, options, max_len) = match &f.kind {
                    FieldKind::Scale { min, max, .. } => ("scale", *min, *max, Vec::new(), 20),
                    FieldKind::Choice { options } => ("choice", 0, 0, options.clone(), 100),
                    FieldKind::List { .. }
                    | FieldKind::Actions { .. }
                    | FieldKind::Options { .. } => ("list", 0, 0, Vec::new(), MAX_INPUT_CHARS),
                    FieldKind::Date => ("date", 0, 0, Vec::new(), 200),
                    FieldKind::Text { max_len } => ("text", 0, 0, Vec::new(), *max_len as usize),
                };
                let (min_label, max_label) = match &f.kind {
                    FieldKind::Scale {
                        min_label,
                        max_label,
                        ..
                    } => (
                        min_label.clone().unwrap_or_default(),
                        max_label.clone().unwrap_or_default(),
                    ),
                    _ => Default::default(),
                };
                let (item_max, max_items) = match &f.kind {
                    FieldKind::List {
                        item_max_len,
                        max_items,
                        ..
                    } => (*item_max_len, *max_items),
                    FieldKind::Actions { max_items, .. } | FieldKind::Options { max_items, .. } => {
                        (200, *max_items)
                    }
                    _ => (0, 0),
                };
                Input {
                    kind,
                    label: f.label.clone(),
                    min,
                    max,
                    min_label,
                    max_label,
                    item_max,
                    max_items,
                    options,
                    max_len,
                }
            })
    });
    let step_state = e.steps.get(e.current);
    let captured = match (fw.steps.get(e.current), step_state) {
        (Some(def), Some(st)) => def
            .fields
            .iter()
            .flat_map(|f| {
                let value = st.captured.get(&f.id).map(|v| CapturedRow {
                    field_id: f.id.clone(),
                    label: f.label.clone(),
                    value: v.display(e.zone()),
                });
                // What the person added when the coach followed up, under the answer.
                let more = st.notes_for(&f.id).map(|a| CapturedRow {
                    field_id: f.id.clone(),
                    label: format!("{} — {}", f.label, a.kind.label()),
                    value: a.answer.clone(),
                });
                value.into_iter().chain(more).collect::<Vec<_>>()
            })
            .collect(),
        _ => Vec::new(),
    };
    let proposals = e
        .proposals
        .iter()
        .enumerate()
        .map(|(index, p)| ProposalRow {
            index,
            title: p.title.clone(),
            due: p
                .due_ms
                .map(|d| dates::label(d, e.zone()))
                .unwrap_or_default(),
            due_input: p
                .due_ms
                .map(|d| dates::ymd_string(d, e.zone()))
                .unwrap_or_default(),
            priority: p.priority.clone(),
            tags: p.tags.join(", "),
            status: match p.status {
                ProposalStatus::Proposed => "proposed",
                ProposalStatus::Accepted => "accepted",
                ProposalStatus::Dropped => "dropped",
            },
        })
        .collect();
    // The last reply usually ends with the question being asked: don't show it twice.
    let mut prompt = coach::next_prompt(fw, e);
    let turns: Vec<Turn> = turns;
    let turns_with_concern = turns.iter().any(|t| t.concern);
    let helplines = if phase == "paused" {
        coaching::helplines_for_pause(state, ctx.country.as_deref(), e)
    } else {
        Vec::new()
    };
    // Paused, the page's own card says what matters and lists the helplines.
    if e.paused
        || turns
            .last()
            .is_some_and(|t| !t.safety && t.coach.ends_with(&prompt))
    {
        prompt.clear();
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = SessionPage {
        l: ctx.layout(format!("{} session — CoachFlux", fw.name), "sessions"),
        id: id.to_owned(),
        fw_name: fw.name.clone(),
        fw_id: fw.id.clone(),
        step_id: fw
            .steps
            .get(e.current)
            .map(|s| s.id.clone())
            .unwrap_or_default(),
        steps,
        progress: (done * 100).checked_div(total).unwrap_or(0),
        runs: runs(fw, turns),
        prompt,
        phase,
        input,
        follow_up: e
            .follow_up
            .as_ref()
            .filter(|_| phase == "asking")
            .map(|f| f.kind.as_str()),
        // "Skip" only where the engine would take it: a follow-up, or a question not skipped
        // before (a skipped required one comes back) while the step has skips left.
        can_skip: phase == "asking"
            && (e.follow_up.is_some()
                || step_state.is_some_and(|s| {
                    s.skipped.len() < MAX_SKIPS_PER_STEP
                        && e.pending_field(fw)
                            .is_some_and(|f| !s.skipped.contains(&f.id))
                })),
        can_back: e.current > 0 && matches!(phase, "asking" | "confirming"),
        can_proceed_early: phase == "asking" && e.can_proceed(fw),
        reopen: if phase == "complete" {
            fw.steps
                .iter()
                .map(|s| StepLink {
                    id: s.id.clone(),
                    name: s.name.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        priorities: &coachflux_app::services::actions::PRIORITIES,
        stream: state.config.openai.is_some(),
        captured,
        draft: typed.or_else(|| e.draft(fw)).unwrap_or_default().to_owned(),
        kept: e
            .proposals
            .iter()
            .filter(|p| p.status != ProposalStatus::Dropped)
            .count(),
        proposals,
        pause_message: if e.paused {
            coach::next_prompt(fw, e)
        } else {
            String::new()
        },
        offered_helplines: if turns_with_concern {
            coaching::helplines(state, ctx.country.as_deref())
        } else {
            Vec::new()
        },
        get_help: coaching::get_help(&helplines, e),
        helplines,
        error,
        anonymous: ctx.user.is_none(),
    }
    .into_response();
    *r.status_mut() = status;
    Ok(r)
}

async fn session_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    render_session(&state, &ctx, &actor, &id, None, None).await
}

/// Redirect back to the conversation after a change, or show the page with the problem.
async fn settle(
    state: &AppState,
    ctx: &PageCtx,
    actor: &Actor,
    id: &str,
    result: Result<(), AppError>,
    anchor: &str,
) -> PageResult {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{id}{anchor}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            render_session(state, ctx, actor, id, Some(problems(errors)), None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// What a refusal says, in one line.
fn problems(errors: Vec<coachflux_app::error::FieldError>) -> String {
    errors
        .into_iter()
        .map(|e| e.message)
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize)]
struct ConsentForm {
    consent: Option<String>,
}

async fn consent(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
    Form(f): Form<ConsentForm>,
) -> PageResult {
    let result = if checked(&f.consent) {
        coaching::act(&state, &actor, &id, Move::Consent).await
    } else {
        Err(AppError::invalid(
            "consent",
            "Please tick the box to confirm you understand.",
        ))
    };
    settle(&state, &ctx, &actor, &id, result, "#answer").await
}

#[derive(Deserialize)]
struct TurnForm {
    #[serde(default)]
    input: String,
}

async fn turn(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TurnForm>,
) -> PageResult {
    if coachflux_http::sse::wants_stream(&headers) {
        // The page's script streams the reply, then reloads the conversation.
        let country = ctx.country.clone();
        return Ok(coachflux_http::sse::stream(move |sink| async move {
            let r = coaching::turn_streaming(
                &state,
                &actor,
                &id,
                &f.input,
                country.as_deref(),
                Some(&sink),
            )
            .await;
            drop(sink);
            match r {
                Ok(_) => (
                    "done",
                    format!("{{\"location\":\"/sessions/{id}#answer\"}}"),
                ),
                Err(e) => (
                    "error",
                    serde_json::json!({"message": user_message(&e)}).to_string(),
                ),
            }
        }));
    }
    let result = coaching::turn(&state, &actor, &id, &f.input, ctx.country.as_deref()).await;
    match result {
        Ok(TurnOutcome::Replied) | Ok(TurnOutcome::Paused) => {
            Ok(Redirect::to(&format!("/sessions/{id}#answer")).into_response())
        }
        // Refused, the page comes back with what was typed still in the box.
        Err(AppError::Invalid(errors)) => {
            render_session(
                &state,
                &ctx,
                &actor,
                &id,
                Some(problems(errors)),
                Some(&f.input),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// What to tell a person about an error in a streamed turn (no internals).
fn user_message(e: &AppError) -> String {
    match e {
        AppError::Invalid(errors) => errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        AppError::NotFound => "We couldn't find that session.".into(),
        AppError::RateLimited { .. } => "Too many attempts; wait a moment.".into(),
        _ => "Something went wrong on our side. Your words were saved; reload the page.".into(),
    }
}

async fn skip(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let r = coaching::act(&state, &actor, &id, Move::Skip).await;
    settle(&state, &ctx, &actor, &id, r, "#answer").await
}

async fn proceed(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let r = coaching::act(&state, &actor, &id, Move::Proceed).await;
    settle(&state, &ctx, &actor, &id, r, "#answer").await
}

#[derive(Deserialize)]
struct AmendForm {
    #[serde(default)]
    step: String,
    field: Option<String>,
}

async fn amend(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
    Form(f): Form<AmendForm>,
) -> PageResult {
    let field = f.field.as_deref().filter(|s| !s.is_empty());
    let r = coaching::act(
        &state,
        &actor,
        &id,
        Move::Amend {
            step: &f.step,
            field,
        },
    )
    .await;
    settle(&state, &ctx, &actor, &id, r, "#answer").await
}

async fn back(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let r = coaching::act(&state, &actor, &id, Move::Back).await;
    settle(&state, &ctx, &actor, &id, r, "#answer").await
}

async fn resume(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let r = coaching::act(&state, &actor, &id, Move::Resume).await;
    settle(&state, &ctx, &actor, &id, r, "#answer").await
}

async fn end(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    match coaching::end(&state, &actor, &id).await {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{id}/report")).into_response()),
        Err(e) => settle(&state, &ctx, &actor, &id, Err(e), "").await,
    }
}

#[derive(Deserialize)]
struct ProposalForm {
    #[serde(default)]
    decision: String,
    title: Option<String>,
    due: Option<String>,
    priority: Option<String>,
    tags: Option<String>,
}

async fn proposal(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path((id, index)): Path<(String, usize)>,
    Form(f): Form<ProposalForm>,
) -> PageResult {
    let accept = f.decision != "drop";
    let r = coaching::act(
        &state,
        &actor,
        &id,
        Move::Proposal {
            index,
            accept,
            edit: coaching::ProposalEdit {
                title: f.title.as_deref(),
                due: f.due.as_deref(),
                priority: f.priority.as_deref(),
                tags: f.tags.as_deref(),
            },
        },
    )
    .await;
    settle(&state, &ctx, &actor, &id, r, "#plan").await
}

async fn close(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    match coaching::close(&state, &actor, &id).await {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{id}/report")).into_response()),
        Err(e) => settle(&state, &ctx, &actor, &id, Err(e), "").await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
struct ReportPage {
    l: Layout,
    id: String,
    rating: Option<i64>,
    error: Option<String>,
    r: coaching::Report,
    closed: bool,
    duration: String,
    actions: Vec<(String, String, String)>,
    anonymous: bool,
    /// Ended after a safety pause: who to talk to, for where the reader is.
    helplines: Vec<safety::Helpline>,
}

async fn report_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    render_report(&state, &ctx, &actor, id, None).await
}

async fn render_report(
    state: &AppState,
    ctx: &PageCtx,
    actor: &Actor,
    id: String,
    error: Option<String>,
) -> PageResult {
    let l = coaching::load(state, actor, &id).await?;
    let rating = coaching::rating(state, actor, &id).await?;
    let closed = l.engine.phase == Phase::Closed;
    let r = coaching::report(&l);
    let actions = r
        .actions
        .iter()
        .map(|(t, due, p)| {
            (
                t.clone(),
                due.map(|d| dates::label(d, r.zone)).unwrap_or_default(),
                p.clone(),
            )
        })
        .collect();
    Ok(ReportPage {
        l: ctx.layout(
            format!("{} report — CoachFlux", r.framework.name),
            "sessions",
        ),
        id,
        rating,
        error,
        duration: coaching::minutes(r.duration_ms),
        helplines: if r.after_pause {
            coaching::helplines(state, ctx.country.as_deref())
        } else {
            Vec::new()
        },
        r,
        closed,
        actions,
        anonymous: ctx.user.is_none(),
    }
    .into_response())
}

async fn report_markdown(
    State(state): State<AppState>,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let l = coaching::load(&state, &actor, &id).await?;
    let r = coaching::report(&l);
    let name = format!(
        "coachflux-{}-report.md",
        r.framework.id.to_ascii_lowercase()
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        coaching::markdown(&r),
    )
        .into_response())
}

/// The conversation as the page shows it: each answer under the question it answered when the
/// coach's previous reply didn't end with that question, and a line for each skipped question
/// after the last answer of its step.
fn transcript(
    fw: &coachflux_domain::frameworks::Framework,
    e: &coachflux_domain::engine::SessionState,
    rows: &[coachflux_app::model::Reflection],
) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::with_capacity(rows.len());
    let mut steps: Vec<&str> = Vec::with_capacity(rows.len());
    // Whether the previous reply was the built-in coach's.
    let mut built_in = true;
    for t in rows {
        let payload: serde_json::Value = serde_json::from_str(&t.payload).unwrap_or_default();
        let asked = payload["asked"].as_str().unwrap_or("");
        let shown_already = turns.last().is_some_and(|p: &Turn| {
            steps.last() == Some(&t.step.as_str())
                && !p.coach.is_empty()
                // A model's reply asks in its own words; the built-in one ends with the question.
                && (!built_in || p.coach.ends_with(asked))
        });
        built_in = payload["coach"].as_str().is_none_or(|c| c == "builtin");
        turns.push(Turn {
            step: t.step.clone(),
            asked: if shown_already { "" } else { asked }.to_owned(),
            user: t.user_input.clone(),
            coach: payload["reply"].as_str().unwrap_or("").to_owned(),
            safety: payload.get("safety").is_some(),
            concern: payload["concern"].as_bool().unwrap_or(false),
            note: payload["note"].as_str().unwrap_or("").to_owned(),
            skipped_before: Vec::new(),
            skipped_after: Vec::new(),
        });
        steps.push(t.step.as_str());
    }
    for (def, state) in fw.steps.iter().zip(&e.steps) {
        let labels: Vec<String> = state
            .skipped
            .iter()
            .filter_map(|id| def.fields.iter().find(|f| &f.id == id))
            .map(|f| f.label.clone())
            .collect();
        if labels.is_empty() {
            continue;
        }
        let first = steps.iter().position(|s| *s == def.id);
        let last = steps.iter().rposition(|s| *s == def.id);
        // The first answer of the step after which a question was asked that the previous
        // reply hadn't: that is where the conversation went on without the skipped ones.
        let moved_on = first.and_then(|f| {
            (f + 1..=last.unwrap_or(f)).find(|&i| steps[i] == def.id && !turns[i].asked.is_empty())
        });
        match (moved_on, last) {
            (Some(i), _) => turns[i].skipped_before.extend(labels),
            (None, Some(i)) => turns[i].skipped_after.extend(labels),
            (None, None) => {}
        }
    }
    turns
}

/// The transcript in runs of one step each, named as the framework names the step.
fn runs(fw: &coachflux_domain::frameworks::Framework, turns: Vec<Turn>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for t in turns {
        match runs.last_mut() {
            Some(run) if run.turns.first().is_some_and(|f| f.step == t.step) => run.turns.push(t),
            _ => runs.push(Run {
                step: fw
                    .steps
                    .iter()
                    .find(|s| s.id == t.step)
                    .map_or_else(|| t.step.clone(), |s| s.name.clone()),
                turns: vec![t],
                open: false,
            }),
        }
    }
    if let Some(last) = runs.last_mut() {
        last.open = true;
    }
    runs
}

pub struct HistoryRow {
    pub id: String,
    pub framework: String,
    pub started: String,
    pub status: String,
}

impl HistoryRow {
    pub fn status_label(&self) -> &str {
        status_label(&self.status)
    }
}

/// A session's status as a person reads it.
pub fn status_label(status: &str) -> &str {
    match status {
        "active" => "In progress",
        "completed" => "Completed",
        "paused" => "Paused",
        "abandoned" => "Ended early",
        other => other,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sessions.html")]
struct HistoryPage {
    l: Layout,
    rows: Vec<HistoryRow>,
    anonymous: bool,
    /// Where the next (older) page starts.
    older: Option<String>,
}

/// Sessions per page of the history.
const HISTORY_PAGE: i64 = 25;

#[derive(Deserialize)]
struct HistoryQuery {
    after: Option<String>,
}

async fn history(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Query(q): Query<HistoryQuery>,
) -> PageResult {
    let request = PageRequest {
        limit: HISTORY_PAGE,
        // A cursor that doesn't read (edited by hand) starts from the newest.
        after: q.after.as_deref().and_then(Cursor::from_text),
    };
    let page = coaching::history(&state, &actor, &request).await?;
    let older = page.next.as_ref().map(Cursor::to_text);
    let rows = page
        .items
        .into_iter()
        .map(|s| HistoryRow {
            id: s.id,
            framework: s.framework,
            started: dates::moment(s.created_at, ctx.zone),
            status: s.status,
        })
        .collect();
    Ok(HistoryPage {
        l: ctx.layout("Your sessions — CoachFlux", "sessions"),
        rows,
        anonymous: ctx.user.is_none(),
        older,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "session_delete.html")]
struct DeletePage {
    l: Layout,
    id: String,
    framework: String,
    actions: usize,
}

async fn delete_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let l = coaching::load(&state, &actor, &id).await?;
    let actions = coaching::action_count(&state, &actor, &id).await?;
    Ok(DeletePage {
        l: ctx.layout("Delete this session? — CoachFlux", "sessions"),
        id,
        framework: l.framework.name,
        actions,
    }
    .into_response())
}

async fn delete(
    State(state): State<AppState>,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    coaching::delete(&state, &actor, &id).await?;
    Ok(Redirect::to("/sessions").into_response())
}

#[derive(Deserialize)]
struct RatingForm {
    rating: Option<i64>,
    #[serde(default)]
    comment: String,
}

async fn rate(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
    Form(f): Form<RatingForm>,
) -> PageResult {
    let result = coaching::rate(&state, &actor, &id, f.rating.unwrap_or(0), &f.comment).await;
    let done = Redirect::to(&format!("/sessions/{id}/report#rating")).into_response();
    report_outcome(&state, &ctx, &actor, id, result, done).await
}

async fn email_report(
    State(state): State<AppState>,
    ctx: PageCtx,
    Who(actor): Who,
    Path(id): Path<String>,
) -> PageResult {
    let result = coaching::email_report(&state, &actor, &id).await;
    let done = super::flash::redirect_with(
        &state,
        &format!("/sessions/{id}/report"),
        super::flash::Flash::ReportEmailed,
    );
    report_outcome(&state, &ctx, &actor, id, result, done).await
}

/// After an action on the report page: `done` on success, the report again with the message
/// when the input was refused.
async fn report_outcome(
    state: &AppState,
    ctx: &PageCtx,
    actor: &Actor,
    id: String,
    result: Result<(), AppError>,
    done: Response,
) -> PageResult {
    match result {
        Ok(()) => Ok(done),
        Err(AppError::Invalid(errors)) => {
            let text = errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join(" ");
            let mut r = render_report(state, ctx, actor, id, Some(text)).await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}
