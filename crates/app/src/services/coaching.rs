//! Coaching sessions as a use case: who may start which framework, every turn saved as it is
//! sent (before any coach sees it), the safety screen first, the engine's transitions, and the
//! report.

use super::coach::{ReplySink, TurnContext};
use super::llm::CallFor;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::clock::HOUR_MS;
use coachflux_domain::coach;
use coachflux_domain::engine::{EngineError, Phase, ProposalStatus, SessionState};
use coachflux_domain::frameworks::Framework;
use coachflux_domain::ids::new_id;
use coachflux_domain::llm::Risk;
use coachflux_domain::paging::{Page, PageRequest};
use coachflux_domain::safety;
use coachflux_store::coaching::{self, CoachingSession, NewCoachingSession, Reflection};
use coachflux_store::frameworks::FrameworkRecord;
use coachflux_store::{Conn, action_items, events};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// A visitor's session lives this long unless they sign up.
pub const ANONYMOUS_TTL_MS: i64 = 24 * HOUR_MS;
/// Without billing, visitors try GROW; accounts get every framework.
const VISITOR_FRAMEWORKS: &[&str] = &["GROW"];

/// Who is acting: a member, or a visitor known by their anonymous-id cookie.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: Option<CurrentUser>,
    pub anonymous_id: Option<String>,
    /// Their time zone: the dates they write are days on their calendar.
    pub zone: coachflux_domain::dates::Zone,
}

impl Actor {
    fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.user.id.as_str())
    }

    /// The visitor id, for a visitor only (a member's rows link to the account instead).
    fn visitor_id(&self) -> Option<&str> {
        if self.user.is_some() {
            None
        } else {
            self.anonymous_id.as_deref()
        }
    }
}

/// Why a framework can't be started, and how to unlock it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub reason: String,
    pub unlock: String,
    /// A word or two for a card: "Coming soon", "For members".
    pub label: &'static str,
    /// Signing up (or in) unlocks it.
    pub for_members: bool,
}

/// The one place that answers "may this person start this framework?".
pub fn entitlement(actor: &Actor, fw: &Framework) -> Result<(), Locked> {
    if !fw.is_available || fw.coming_soon {
        return Err(Locked {
            reason: format!("{} isn't available yet.", fw.name),
            unlock: "Check back soon.".into(),
            label: "Coming soon",
            for_members: false,
        });
    }
    if actor.user.is_none() && !VISITOR_FRAMEWORKS.contains(&fw.id.as_str()) {
        return Err(Locked {
            reason: format!("{} is for members.", fw.name),
            unlock: "Create a free account (or log in) to use every framework.".into(),
            label: "For members",
            for_members: true,
        });
    }
    Ok(())
}

fn engine_error(e: EngineError) -> AppError {
    AppError::invalid("input", e.to_string())
}

/// The framework catalogue, read from the database at most every [`CATALOGUE_FRESH_FOR`]:
/// every page and most API calls need it, and it changes only when an instance seeds its
/// built-in catalogue at start (and in its usage counts).
#[derive(Clone, Default)]
pub struct Catalogue(Arc<Mutex<Option<CatalogueRead>>>);

/// One read of the catalogue and when it was made.
type CatalogueRead = (std::time::Instant, Arc<Vec<FrameworkRecord>>);

/// How long a read of the catalogue is reused.
pub const CATALOGUE_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(30);

impl Catalogue {
    async fn all(&self, state: &AppState) -> Result<Arc<Vec<FrameworkRecord>>, AppError> {
        let cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some((at, list)) = cached
            && at.elapsed() < CATALOGUE_FRESH_FOR
        {
            return Ok(list);
        }
        let list = Arc::new(state.store.list_frameworks().await?);
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    async fn get(&self, state: &AppState, id: &str) -> Result<Option<FrameworkRecord>, AppError> {
        Ok(self
            .all(state)
            .await?
            .iter()
            .find(|f| f.framework.id == id)
            .cloned())
    }
}

/// The framework to start; an unknown id is a mistake in the request, not a missing page.
async fn framework(state: &AppState, id: &str) -> Result<Framework, AppError> {
    Ok(state
        .catalogue
        .get(state, id)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "framework",
                "There is no such framework: choose one of those listed under Frameworks.",
            )
        })?
        .framework)
}

async fn event(
    conn: &mut Conn,
    state: &AppState,
    actor: &Actor,
    name: &str,
    props: serde_json::Value,
) -> Result<(), AppError> {
    events::record(
        conn,
        &new_id(),
        actor.user_id(),
        actor.visitor_id(),
        name,
        &props.to_string(),
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

pub async fn start(
    state: &AppState,
    actor: &Actor,
    framework_id: &str,
) -> Result<String, AppError> {
    let fw = framework(state, &framework_id.to_ascii_uppercase()).await?;
    entitlement(actor, &fw)
        .map_err(|l| AppError::invalid("framework", format!("{} {}", l.reason, l.unlock)))?;
    if actor.user.is_none() && actor.anonymous_id.is_none() {
        return Err(AppError::invalid(
            "framework",
            "Your browser needs cookies enabled to start a session.",
        ));
    }
    let now = state.clock.now_ms();
    let mut session = SessionState::new(&fw);
    session.set_zone(actor.zone);
    let id = new_id();
    let mut tx = state.store.begin().await?;
    // Someone back for another session of this framework is asked what's better since.
    if let Some(user_id) = actor.user_id() {
        session.returning = coaching::has_completed(&mut tx, user_id, &fw.id).await?;
    }
    let json = serde_json::to_string(&session).map_err(anyhow::Error::from)?;
    coaching::insert(
        &mut tx,
        &NewCoachingSession {
            id: &id,
            user_id: actor.user_id(),
            framework: &fw.id,
            step: &fw.steps[0].id,
            state: &json,
            anonymous_id: actor.visitor_id(),
            expires_at: actor.user.is_none().then_some(now + ANONYMOUS_TTL_MS),
            now,
        },
    )
    .await?;
    coachflux_store::frameworks::increment_usage(&mut tx, &fw.id).await?;
    event(
        &mut tx,
        state,
        actor,
        "session_started",
        json!({"sessionId": id, "framework": fw.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// One page of a member's or visitor's sessions, newest first (see the store's `page`).
pub async fn page(
    state: &AppState,
    owner: coaching::Owner<'_>,
    request: &PageRequest,
) -> Result<Page<CoachingSession>, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(coaching::page(&mut conn, owner, request, state.clock.now_ms()).await?)
}

/// A session as its owner sees it. Anyone else gets "not found".
pub struct Loaded {
    pub row: CoachingSession,
    pub framework: Framework,
    pub engine: SessionState,
    pub turns: Vec<Reflection>,
}

fn owns(actor: &Actor, row: &CoachingSession, now: i64) -> bool {
    match (&row.user_id, actor.user_id()) {
        (Some(owner), Some(me)) => owner == me,
        (None, _) => {
            row.is_anonymous
                && row.anonymous_id.is_some()
                && row.anonymous_id == actor.anonymous_id
                && row.expires_at.is_some_and(|e| e > now)
        }
        _ => false,
    }
}

pub async fn load(state: &AppState, actor: &Actor, id: &str) -> Result<Loaded, AppError> {
    if !coachflux_domain::ids::looks_like_id(id) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.store.conn().await?;
    let row = coaching::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !owns(actor, &row, state.clock.now_ms()) {
        return Err(AppError::NotFound);
    }
    let framework = state
        .catalogue
        .get(state, &row.framework)
        .await?
        .ok_or(AppError::NotFound)?
        .framework;
    let engine: SessionState =
        serde_json::from_str(&row.state).map_err(|e| anyhow::anyhow!("session {id} state: {e}"))?;
    let turns = coaching::reflections(&mut conn, id).await?;
    Ok(Loaded {
        row,
        framework,
        engine,
        turns,
    })
}

fn status_of(engine: &SessionState) -> &'static str {
    match (engine.phase, engine.paused) {
        (Phase::Closed, _) if engine.ended_early => "abandoned",
        (Phase::Closed, _) => "completed",
        (_, true) => "paused",
        _ => "active",
    }
}

async fn save(conn: &mut Conn, state: &AppState, l: &Loaded) -> Result<(), AppError> {
    if Saving::of(state, l)?.run(conn).await? {
        Ok(())
    } else {
        Err(changed_meanwhile())
    }
}

/// A session's new state, ready to store (owned, so a batched write job can carry it).
struct Saving {
    id: String,
    /// The state it was loaded with: the write applies only if it is still the stored one.
    expected: String,
    step: String,
    json: String,
    status: &'static str,
    now: i64,
}

impl Saving {
    fn of(state: &AppState, l: &Loaded) -> Result<Saving, AppError> {
        Ok(Saving {
            id: l.row.id.clone(),
            expected: l.row.state.clone(),
            step: l
                .framework
                .steps
                .get(l.engine.current)
                .map_or_else(|| l.row.step.clone(), |s| s.id.clone()),
            json: serde_json::to_string(&l.engine).map_err(anyhow::Error::from)?,
            status: status_of(&l.engine),
            now: state.clock.now_ms(),
        })
    }

    /// Stores it unless another request changed the session since it was loaded (`false`).
    async fn run(&self, conn: &mut Conn) -> Result<bool, AppError> {
        Ok(coaching::save_state(
            conn,
            &self.id,
            &self.expected,
            &self.step,
            &self.json,
            self.status,
            self.now,
        )
        .await?)
    }
}

/// Closes the session's row with its final state `json`, unless another request changed it
/// since it was loaded.
async fn close_row(
    conn: &mut Conn,
    l: &Loaded,
    json: &str,
    ending: coaching::Ending,
    now: i64,
) -> Result<(), AppError> {
    if coaching::close(conn, &l.row.id, &l.row.state, json, ending, now).await? {
        Ok(())
    } else {
        Err(changed_meanwhile())
    }
}

/// A change made from a state that another request (a second tab, a double click) has
/// replaced since: it is not saved.
fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "This session changed in another tab or window meanwhile. Reload it to see where it \
         stands; nothing you wrote was lost.",
    )
}

/// What a turn led to.
pub enum TurnOutcome {
    Replied,
    /// The safety screen paused the session; show these helplines.
    Paused,
}

/// Saves what the person wrote first, then screens it, then lets the coach answer.
pub async fn turn(
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: &str,
    country: Option<&str>,
) -> Result<TurnOutcome, AppError> {
    turn_streaming(state, actor, id, input, country, None).await
}

/// [`turn`], streaming the coach's reply into `sink` as it is written.
pub async fn turn_streaming(
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: &str,
    country: Option<&str>,
    sink: Option<&ReplySink>,
) -> Result<TurnOutcome, AppError> {
    let mut l = load(state, actor, id).await?;
    // The dates in this answer are days where the person is now.
    l.engine.set_zone(actor.zone);
    let now = state.clock.now_ms();
    // Cleaned before anything reads it, the safety screen included: an invisible character
    // inside a word must not hide it.
    let typed = input.trim().chars().count();
    let cleaned = coachflux_domain::text::multi_line(input);
    let input = cleaned.as_str();
    if input.is_empty() {
        return Err(AppError::invalid("input", "Write an answer first."));
    }
    if typed > coachflux_domain::engine::MAX_INPUT_CHARS {
        return Err(AppError::invalid(
            "input",
            format!(
                "Please keep one answer under {} characters.",
                coachflux_domain::engine::MAX_INPUT_CHARS
            ),
        ));
    }
    // A session that can't take an answer says so before anything is stored.
    if l.engine.paused {
        return Err(engine_error(EngineError::Paused));
    }
    match l.engine.phase {
        Phase::Consent => return Err(engine_error(EngineError::NeedsConsent)),
        Phase::Closed => return Err(engine_error(EngineError::Closed)),
        _ => {}
    }
    let step_id = l
        .framework
        .steps
        .get(l.engine.current)
        .map_or("", |s| s.id.as_str())
        .to_owned();
    // The question this answers, as the page asked it, so the transcript can show it where
    // the replies don't (a step's opening question, the one after a skip or a pause).
    let asked = coachflux_domain::coach::next_prompt(&l.framework, &l.engine);
    // One reading of the answer: a crisis pauses now; distress is checked in on after the turn.
    let assessment = safety::assess(input);
    if let Some(hit) = assessment.crisis {
        let mut tx = state.store.begin().await?;
        l.engine.pause_for(hit.category.as_str(), hit.someone_else);
        // Which part of the screen heard it: its phrase lists, or its own statistical model
        // (so that the model's pauses can be counted apart).
        let from = if hit.phrase == safety::MODEL_PHRASE {
            "screen_model"
        } else {
            "screen"
        };
        let payload = json!({"reply": "", "safety": hit.category.as_str(), "safetyFrom": from,
            "captured": {}, "asked": asked});
        coaching::insert_reflection(
            &mut tx,
            &new_id(),
            id,
            &step_id,
            input,
            &payload.to_string(),
            now,
        )
        .await?;
        coachflux_store::safety::record(
            &mut tx,
            &coachflux_store::safety::NewIncident {
                id: &new_id(),
                session_id: id,
                user_id: actor.user_id(),
                anonymous_id: actor.visitor_id(),
                category: hit.category.as_str(),
                step: &step_id,
                country,
                now,
            },
        )
        .await?;
        save(&mut tx, state, &l).await?;
        tx.commit().await?;
        return Ok(TurnOutcome::Paused);
    }
    // The words are saved before any coach sees them, so a coach failure never loses them.
    // Both writes of a turn are short database-only jobs that share a commit with the writes
    // arriving with them (see `Store::batched`).
    let reflection_id = new_id();
    {
        let (reflection, session, step, text) = (
            reflection_id.clone(),
            id.to_owned(),
            step_id.clone(),
            input.to_owned(),
        );
        let pending =
            json!({"reply": "", "pending": true, "captured": {}, "asked": asked}).to_string();
        state
            .store
            .batched(move |conn| {
                Box::pin(async move {
                    coaching::insert_reflection(
                        conn,
                        &reflection,
                        &session,
                        &step,
                        &text,
                        &pending,
                        now,
                    )
                    .await
                })
            })
            .await?;
    }
    // Distress that isn't a crisis: the coach goes on, after a check-in with the helplines.
    let screen_concern = assessment.concern;
    let mut reply = state
        .coach
        .turn(
            TurnContext {
                calls: &state.calls,
                who: call_for(actor, id),
                framework: &l.framework,
                history: &l.turns,
                input,
                now,
                sink,
            },
            &mut l.engine,
        )
        .await;
    // The screen takes the higher of its level and the coach's (an LLM's risk level), never the
    // lower: a crisis the coach's model heard pauses the session as the screen's would (what it
    // captured is kept).
    let model_crisis = match reply.risk {
        Risk::Crisis(category) => Some(category),
        _ => None,
    };
    // The screen's own model asks ("if any of this is weighing on you…"); when the coach's model
    // heard distress too, or a list did, the check-in names it.
    let (concern_from, check_in) = match (screen_concern, reply.risk == Risk::Concern) {
        (Some(phrase), false) if phrase == safety::MODEL_PHRASE => {
            (Some("screen_model"), Some(safety::MODEL_CHECK_IN))
        }
        (Some(_), false) => (Some("screen"), Some(safety::CONCERN_CHECK_IN)),
        (_, true) => (Some("model"), Some(safety::CONCERN_CHECK_IN)),
        (None, false) => (None, None),
    };
    let concern = check_in.is_some();
    if let Some(category) = model_crisis {
        // The model names a category, not whose danger it is: the person's own, to be safe.
        l.engine.pause_for(category.as_str(), false);
        // What the model wrote is not shown: the paused session's card says what matters.
        if let Some(sink) = sink {
            sink.reset();
        }
    } else if let Some(check_in) = check_in {
        reply.text = format!("{check_in} {}", reply.text);
    }
    let captured = l.engine.steps.get(l.engine.current).map(|s| &s.captured);
    let payload = match model_crisis {
        Some(category) => json!({
            "reply": "",
            "safety": category.as_str(),
            "safetyFrom": "model",
            "captured": captured,
            "coach": reply.coach,
            "asked": asked,
        }),
        None => json!({
            "concern": concern,
            "concernFrom": concern_from,
            "reply": reply.text,
            "captured": captured,
            "accepted": reply.accepted,
            "coach": reply.coach,
            "note": reply.note,
            "asked": asked,
        }),
    }
    .to_string();
    let asked_again = asked.clone();
    let saving = Saving::of(state, &l)?;
    let incident = model_crisis.map(|category| {
        (
            new_id(),
            id.to_owned(),
            actor.user_id().map(str::to_owned),
            actor.visitor_id().map(str::to_owned),
            category.as_str(),
            step_id.clone(),
            country.map(str::to_owned),
        )
    });
    let applied = state
        .store
        .batched(move |conn| {
            Box::pin(async move {
                let applied = saving.run(conn).await?;
                if applied
                    && let Some((
                        incident_id,
                        session_id,
                        user_id,
                        anonymous_id,
                        category,
                        step,
                        country,
                    )) = &incident
                {
                    coachflux_store::safety::record(
                        conn,
                        &coachflux_store::safety::NewIncident {
                            id: incident_id,
                            session_id,
                            user_id: user_id.as_deref(),
                            anonymous_id: anonymous_id.as_deref(),
                            category,
                            step,
                            country: country.as_deref(),
                            now,
                        },
                    )
                    .await?;
                }
                // When another request changed the session meanwhile, the words stay, marked
                // as not taken into it.
                let stored = if applied {
                    payload
                } else {
                    json!({"reply": "", "captured": {}, "notApplied": true, "asked": asked_again})
                        .to_string()
                };
                coaching::set_reflection_payload(conn, &reflection_id, &stored).await?;
                Ok::<_, AppError>(applied)
            })
        })
        .await?;
    match (applied, model_crisis) {
        (true, Some(_)) => Ok(TurnOutcome::Paused),
        (true, None) => Ok(TurnOutcome::Replied),
        (false, _) => Err(changed_meanwhile()),
    }
}

/// Who a coach's model calls are for (recorded, and counted against the daily budget).
fn call_for<'a>(actor: &'a Actor, session_id: &'a str) -> CallFor<'a> {
    CallFor {
        session_id: Some(session_id),
        user_id: actor.user_id(),
        anonymous_id: actor.anonymous_id.as_deref(),
    }
}

pub enum Move<'a> {
    Consent,
    Skip,
    Proceed,
    Amend {
        step: &'a str,
        field: Option<&'a str>,
    },
    Back,
    Resume,
    /// Accept or drop a proposed action (index), optionally edited.
    Proposal {
        index: usize,
        accept: bool,
        edit: ProposalEdit<'a>,
    },
}

/// Changes to a proposed action; `None` keeps what was proposed.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProposalEdit<'a> {
    pub title: Option<&'a str>,
    /// A due date as people say it ("by Friday", "in 3 days", "2026-03-01"); empty clears it.
    pub due: Option<&'a str>,
    pub priority: Option<&'a str>,
    /// Comma-separated.
    pub tags: Option<&'a str>,
}

pub async fn act(state: &AppState, actor: &Actor, id: &str, m: Move<'_>) -> Result<(), AppError> {
    let mut l = load(state, actor, id).await?;
    let fw = l.framework.clone();
    let before = l.engine.current;
    match m {
        Move::Consent => l.engine.give_consent().map_err(engine_error)?,
        Move::Skip => {
            l.engine.skip(&fw).map_err(engine_error)?;
        }
        Move::Proceed => {
            l.engine.proceed(&fw).map_err(engine_error)?;
            if l.engine.is_complete() {
                l.engine.propose_actions(&fw);
            }
        }
        Move::Amend { step, field } => l.engine.amend(&fw, step, field).map_err(engine_error)?,
        Move::Back => l.engine.back(&fw).map_err(engine_error)?,
        Move::Resume => l.engine.resume(),
        Move::Proposal {
            index,
            accept,
            edit,
        } => {
            if l.engine.phase != Phase::Complete {
                return Err(AppError::invalid("input", "Finish every step first."));
            }
            let now = state.clock.now_ms();
            // Read in the zone its date box was filled in.
            let zone = l.engine.zone();
            let p = l
                .engine
                .proposals
                .get_mut(index)
                .ok_or(AppError::NotFound)?;
            let changed = super::actions::validate_changes(
                edit.title.map(str::trim).filter(|t| !t.is_empty()),
                edit.due,
                edit.priority.filter(|p| !p.trim().is_empty()),
                edit.tags,
                now,
                zone,
            )?;
            if let Some(title) = changed.title {
                p.title = title;
            }
            if let Some(due) = changed.due {
                p.due_ms = due;
            }
            if let Some(priority) = changed.priority {
                p.priority = priority;
            }
            if let Some(tags) = changed.tags {
                p.tags = tags;
            }
            p.status = if accept {
                ProposalStatus::Accepted
            } else {
                ProposalStatus::Dropped
            };
        }
    }
    let mut tx = state.store.begin().await?;
    if matches!(m, Move::Resume) {
        coachflux_store::safety::resolve_open(&mut tx, id, "resumed", state.clock.now_ms()).await?;
    }
    if matches!(m, Move::Proceed) {
        event(
            &mut tx,
            state,
            actor,
            "session_step_completed",
            json!({"sessionId": id, "framework": fw.id, "step": fw.steps[before].id}),
        )
        .await?;
    }
    save(&mut tx, state, &l).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends a session before it is finished (for instance after the safety screen paused it):
/// what was said is kept and can be read as a report; it counts as abandoned, not completed.
/// A session whose steps are all confirmed is closed as usual instead.
pub async fn end(state: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let mut l = load(state, actor, id).await?;
    if l.engine.phase == Phase::Complete {
        return close(state, actor, id).await;
    }
    l.engine.end().map_err(engine_error)?;
    let now = state.clock.now_ms();
    let json = serde_json::to_string(&l.engine).map_err(anyhow::Error::from)?;
    let mut tx = state.store.begin().await?;
    close_row(&mut tx, &l, &json, coaching::Ending::Abandoned, now).await?;
    coachflux_store::safety::resolve_open(&mut tx, id, "closed", now).await?;
    event(
        &mut tx,
        state,
        actor,
        "session_abandoned",
        json!({"sessionId": id, "framework": l.framework.id, "step": l.row.step, "reason": "ended"}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Closes a complete session. A member's accepted actions become action items now; a
/// visitor's stay in the session until they sign up.
pub async fn close(state: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let mut l = load(state, actor, id).await?;
    l.engine.close().map_err(engine_error)?;
    let written = state
        .coach
        .report(&state.calls, call_for(actor, id), &l.framework, &l.engine)
        .await;
    l.engine.narrative = written.narrative;
    l.engine.report_note = written.note.map(str::to_owned);
    let now = state.clock.now_ms();
    let json = serde_json::to_string(&l.engine).map_err(anyhow::Error::from)?;
    let mut tx = state.store.begin().await?;
    close_row(&mut tx, &l, &json, coaching::Ending::Completed, now).await?;
    // Whoever owns the session now gets its actions: a visitor who signed up while this
    // close was on its way has an account by the time it lands.
    let owner = coaching::get(&mut tx, id).await?.and_then(|r| r.user_id);
    if let Some(user_id) = owner.as_deref() {
        create_actions(&mut tx, user_id, id, &l.engine, now).await?;
    }
    event(
        &mut tx,
        state,
        actor,
        "session_completed",
        json!({"sessionId": id, "framework": l.framework.id, "durationMs": now - l.row.created_at}),
    )
    .await?;
    if let Some(user_id) = owner.as_deref() {
        coachflux_store::metrics::recompute(&mut tx, user_id, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Creates the action items of a closed session's accepted proposals.
pub async fn create_actions(
    conn: &mut Conn,
    user_id: &str,
    session_id: &str,
    engine: &SessionState,
    now: i64,
) -> Result<usize, AppError> {
    let mut n = 0;
    for p in engine
        .proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Accepted)
    {
        action_items::insert(
            conn,
            &action_items::NewActionItem {
                id: &new_id(),
                user_id,
                session_id,
                title: &p.title,
                description: None,
                due_date: p.due_ms,
                priority: &p.priority,
                tags: &serde_json::to_string(&p.tags).unwrap_or_else(|_| "[]".into()),
                now,
            },
        )
        .await?;
        events::record(
            conn,
            &new_id(),
            Some(user_id),
            None,
            "action_item_created",
            &json!({"sessionId": session_id}).to_string(),
            now,
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

/// Moves a visitor's sessions into the account that just signed up or in, in one transaction
/// (the seed's `migrateAnonymousSession`), creating the action items they had accepted.
pub async fn migrate_anonymous(
    conn: &mut Conn,
    anonymous_id: &str,
    user_id: &str,
    now: i64,
) -> Result<Vec<Saved>, AppError> {
    let moved = coaching::migrate_anonymous(conn, anonymous_id, user_id, now).await?;
    let mut saved = Vec::new();
    for id in &moved {
        let Some(row) = coaching::get(conn, id).await? else {
            continue;
        };
        saved.push(Saved {
            id: row.id.clone(),
            closed: row.closed_at.is_some(),
            updated_at: row.updated_at,
        });
        if row.closed_at.is_some() {
            let engine: SessionState = serde_json::from_str(&row.state)
                .map_err(|e| anyhow::anyhow!("session {id}: {e}"))?;
            create_actions(conn, user_id, id, &engine, now).await?;
        }
    }
    events::adopt_anonymous(conn, anonymous_id, user_id).await?;
    coachflux_store::safety::adopt_anonymous(conn, anonymous_id, user_id).await?;
    coachflux_store::llm_calls::adopt_anonymous(
        conn,
        &crate::crypto::hash_token(anonymous_id),
        user_id,
    )
    .await?;
    if !moved.is_empty() {
        coachflux_store::metrics::recompute(conn, user_id, now).await?;
    }
    // The one the person was just working on first.
    saved.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    Ok(saved)
}

/// A visitor's session that signing up (or in) saved to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub id: String,
    /// Closed: its report is ready.
    pub closed: bool,
    pub updated_at: i64,
}

impl Saved {
    /// Where the person picks up: the report of a closed session, else the session.
    pub fn path(&self) -> String {
        if self.closed {
            format!("/sessions/{}/report", self.id)
        } else {
            format!("/sessions/{}", self.id)
        }
    }
}

/// The report of a session.
pub struct Report {
    pub framework: Framework,
    pub steps: Vec<(String, Vec<(String, String)>)>,
    pub summary: coach::Summary,
    /// Options the person didn't consider (LLM coach only).
    pub unexplored_options: Vec<String>,
    /// Who wrote the narrative: "openai" or "builtin".
    pub written_by: &'static str,
    pub actions: Vec<(String, Option<i64>, String)>,
    pub duration_ms: i64,
    pub compass: Option<coachflux_domain::compass::CompassScore>,
    /// The session was ended before every step was done.
    pub ended_early: bool,
    /// It was ended after the safety screen paused it: the report shows the helplines.
    pub after_pause: bool,
    /// Why the built-in coach wrote the narrative although the AI coach is on.
    pub note: Option<String>,
    /// The person's time zone when they wrote it: due dates are days in it.
    pub zone: coachflux_domain::dates::Zone,
}

pub fn report(l: &Loaded) -> Report {
    // Once there is a plan, the actions the person kept (as edited, without the dropped ones)
    // are the report's action plan: the step doesn't list what they first said as well.
    let planned = !l.engine.proposals.is_empty();
    let steps = l
        .framework
        .steps
        .iter()
        .zip(&l.engine.steps)
        .map(|(def, st)| {
            let fields = def
                .fields
                .iter()
                .filter(|f| {
                    !(planned
                        && matches!(
                            f.kind,
                            coachflux_domain::frameworks::FieldKind::Actions { .. }
                        ))
                })
                .flat_map(|f| {
                    let value = st
                        .captured
                        .get(&f.id)
                        .map(|v| (f.label.clone(), v.display(l.engine.zone())));
                    // What the person added when the coach followed up, under the answer
                    // (new options are in the answer already).
                    let more = st.notes_for(&f.id).map(|a| {
                        (
                            format!("{} — {}", f.label, a.kind.label()),
                            a.answer.clone(),
                        )
                    });
                    value.into_iter().chain(more).collect::<Vec<_>>()
                })
                .collect();
            (def.name.clone(), fields)
        })
        .collect();
    let actions = l
        .engine
        .proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Accepted)
        .map(|p| (p.title.clone(), p.due_ms, p.priority.clone()))
        .collect();
    let scale = |f: &str| match l.engine.value(f) {
        Some(coachflux_domain::engine::Value::Scale(n)) => Some(*n),
        _ => None,
    };
    let compass = (l.framework.id == "COMPASS")
        .then(|| {
            let mindset = match l.engine.value("final_mindset") {
                Some(coachflux_domain::engine::Value::Choice(c)) => c.clone(),
                _ => return None,
            };
            coachflux_domain::compass::score(&coachflux_domain::compass::CompassInputs {
                initial_confidence: scale("initial_confidence")?,
                final_confidence: scale("final_confidence")?,
                final_action_clarity: scale("final_action_clarity")?,
                final_mindset: &mindset,
                satisfaction: scale("satisfaction")?,
                action_commitment: scale("action_commitment")?,
            })
        })
        .flatten();
    Report {
        framework: l.framework.clone(),
        zone: l.engine.zone(),
        steps,
        summary: match &l.engine.narrative {
            Some(n) => coach::Summary {
                summary: n.summary.clone(),
                insights: n.insights.clone(),
                risks: n.risks.clone(),
            },
            None => coach::summarise(&l.framework, &l.engine),
        },
        unexplored_options: l
            .engine
            .narrative
            .as_ref()
            .map(|n| n.unexplored_options.clone())
            .unwrap_or_default(),
        written_by: if l.engine.narrative.is_some() {
            "openai"
        } else {
            "builtin"
        },
        actions,
        duration_ms: l.row.closed_at.unwrap_or(l.row.updated_at) - l.row.created_at,
        compass,
        ended_early: l.engine.ended_early,
        after_pause: l.engine.ended_after_pause(),
        note: l.engine.report_note.clone(),
    }
}

/// A duration as people say it.
pub fn minutes(ms: i64) -> String {
    let m = (ms.max(0) + 30_000) / 60_000;
    if m < 1 {
        "under a minute".into()
    } else if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

/// The report as Markdown, for download.
pub fn markdown(r: &Report) -> String {
    let mut md = format!(
        "# {} {} — session report\n\n",
        r.framework.emoji, r.framework.name
    );
    md.push_str(&format!(
        "_{}_ · {}\n\n",
        r.framework.expansion,
        minutes(r.duration_ms)
    ));
    if r.ended_early {
        md.push_str("_This session ended before every step was done._\n\n");
    }
    if !r.summary.summary.is_empty() {
        md.push_str(&format!("## Summary\n\n{}\n\n", r.summary.summary));
    }
    for (step, fields) in &r.steps {
        md.push_str(&format!("## {step}\n\n"));
        for (label, value) in fields {
            md.push_str(&format!("- **{label}:** {value}\n"));
        }
        md.push('\n');
    }
    if let Some(c) = &r.compass {
        md.push_str(&format!(
            "## COMPASS success score: {} ({})\n\n- Confidence growth: {}\n- Action clarity: {}\n- Mindset: {}\n- Satisfaction: {}\n- Commitment: {}\n\n",
            c.total, c.band.label(), c.confidence_growth, c.action, c.mindset, c.satisfaction, c.commitment
        ));
    }
    if !r.summary.insights.is_empty() {
        md.push_str("## Insights\n\n");
        for i in &r.summary.insights {
            md.push_str(&format!("- {i}\n"));
        }
        md.push('\n');
    }
    if !r.unexplored_options.is_empty() {
        md.push_str("## Options you didn't explore\n\n");
        for i in &r.unexplored_options {
            md.push_str(&format!("- {i}\n"));
        }
        md.push('\n');
    }
    if !r.summary.risks.is_empty() {
        md.push_str("## Risks to watch\n\n");
        for i in &r.summary.risks {
            md.push_str(&format!("- {i}\n"));
        }
        md.push('\n');
    }
    if !r.actions.is_empty() {
        md.push_str("## Action plan\n\n");
        for (title, due, priority) in &r.actions {
            match due {
                Some(ms) => md.push_str(&format!(
                    "- [ ] {title} — due {} ({priority})\n",
                    coachflux_domain::dates::label(*ms, r.zone)
                )),
                None => md.push_str(&format!("- [ ] {title} ({priority})\n")),
            }
        }
    }
    md
}

/// Deletes a session with its reflections and action items, for its owner only.
pub async fn delete(state: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let l = load(state, actor, id).await?;
    let mut tx = state.store.begin().await?;
    if l.engine.phase != Phase::Closed {
        event(
            &mut tx,
            state,
            actor,
            "session_abandoned",
            json!({"sessionId": id, "framework": l.framework.id, "step": l.row.step}),
        )
        .await?;
    }
    if coaching::delete(&mut tx, id).await? {
        super::privacy::record_session_deletion(&mut tx, id, state.clock.now_ms()).await?;
    }
    if let Some(user_id) = actor.user_id() {
        coachflux_store::metrics::recompute(&mut tx, user_id, state.clock.now_ms()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rates a closed session 1-5 with an optional comment (stored as feedback).
pub async fn rate(
    state: &AppState,
    actor: &Actor,
    id: &str,
    rating: i64,
    comment: &str,
) -> Result<(), AppError> {
    let l = load(state, actor, id).await?;
    if l.engine.phase != Phase::Closed {
        return Err(AppError::invalid(
            "rating",
            "You can rate a session once it's closed.",
        ));
    }
    if !(1..=5).contains(&rating) {
        return Err(AppError::invalid("rating", "Choose from 1 to 5 stars."));
    }
    let typed = comment.trim().chars().count();
    let comment = coachflux_domain::text::multi_line(comment);
    let comment = comment.as_str();
    if typed > 2_000 {
        return Err(AppError::invalid(
            "comment",
            "Keep the comment under 2000 characters.",
        ));
    }
    let mut conn = state.store.conn().await?;
    coachflux_store::feedback::rate_session(
        &mut conn,
        &new_id(),
        actor.user_id(),
        id,
        rating,
        comment,
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

/// Emails the report of a closed session to its member.
pub async fn email_report(state: &AppState, actor: &Actor, id: &str) -> Result<(), AppError> {
    let Some(current) = &actor.user else {
        return Err(AppError::invalid(
            "email",
            "Create an account to email yourself reports.",
        ));
    };
    let l = load(state, actor, id).await?;
    if l.engine.phase != Phase::Closed {
        return Err(AppError::invalid("email", "Close the session first."));
    }
    let r = report(&l);
    let mut paragraphs = Vec::new();
    if !r.summary.summary.is_empty() {
        paragraphs.push(r.summary.summary.clone());
    }
    for (title, due, _) in &r.actions {
        paragraphs.push(match due {
            Some(ms) => format!(
                "☐ {title} — due {}",
                coachflux_domain::dates::label(*ms, r.zone)
            ),
            None => format!("☐ {title}"),
        });
    }
    let user = &current.user;
    let email = crate::mail::Email {
        to: user.email.clone(),
        user_id: Some(user.id.clone()),
        template: "session_report",
        subject: format!("Your {} session report", r.framework.name),
        greeting: match user.name.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(n) => format!("Hi {n},"),
            None => "Hi,".to_owned(),
        },
        paragraphs,
        action: Some((
            "Open the full report".into(),
            state.link(&format!("/sessions/{id}/report")),
        )),
        after: vec![
            "The report has every answer you gave, the coach's insights and your action plan."
                .into(),
        ],
        list: None,
    };
    let mut tx = state.store.begin().await?;
    super::accounts::enqueue(state, &mut tx, &email).await?;
    event(
        &mut tx,
        state,
        actor,
        "report_emailed",
        json!({"sessionId": id}),
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

/// One page of the person's sessions, newest first: a member's, or a visitor's unexpired ones
/// (nobody's: an empty page).
pub async fn history(
    state: &AppState,
    actor: &Actor,
    request: &PageRequest,
) -> Result<Page<CoachingSession>, AppError> {
    let owner = match (actor.user_id(), actor.anonymous_id.as_deref()) {
        (Some(user), _) => coaching::Owner::User(user),
        (None, Some(a)) => coaching::Owner::Anonymous(a),
        (None, None) => {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
    };
    page(state, owner, request).await
}

/// How a closed session was rated (1-5), if it was; only for its owner.
pub async fn rating(state: &AppState, actor: &Actor, id: &str) -> Result<Option<i64>, AppError> {
    load(state, actor, id).await?;
    let mut conn = state.store.conn().await?;
    Ok(coachflux_store::feedback::session_rating(&mut conn, id).await?)
}

/// How many action items came from a session of a member (visitors keep none).
pub async fn action_count(state: &AppState, actor: &Actor, id: &str) -> Result<usize, AppError> {
    load(state, actor, id).await?;
    let Some(user) = actor.user_id() else {
        return Ok(0);
    };
    let mut conn = state.store.conn().await?;
    Ok(
        coachflux_store::action_items::list_for_session(&mut conn, user, id)
            .await?
            .len(),
    )
}

/// A framework of the catalogue as stored (with its usage), if it exists.
pub async fn framework_record(
    state: &AppState,
    id: &str,
) -> Result<Option<coachflux_store::frameworks::FrameworkRecord>, AppError> {
    state.catalogue.get(state, id).await
}

/// The frameworks in catalogue order, each with why this person can't start it yet (if they
/// can't).
pub async fn catalogue(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<(coachflux_store::frameworks::FrameworkRecord, Option<Locked>)>, AppError> {
    Ok(state
        .catalogue
        .all(state)
        .await?
        .iter()
        .map(|f| {
            let locked = entitlement(actor, &f.framework).err();
            (f.clone(), locked)
        })
        .collect())
}

/// The helplines for someone in `country` (unknown: the international default), shown when
/// the safety screen pauses a session. Pages and the API resolve `country` the same way
/// ([`coachflux_domain::safety::country_for`]).
pub fn helplines(state: &AppState, country: Option<&str>) -> Vec<safety::Helpline> {
    state.config.helplines_file.table.for_country(country)
}

/// The helplines for what a paused session's screen found: the emergency number first for a
/// medical emergency, abuse lines first for harm from others.
pub fn helplines_for_pause(
    state: &AppState,
    country: Option<&str>,
    engine: &SessionState,
) -> Vec<safety::Helpline> {
    let category = pause_category(engine);
    state
        .config
        .helplines_file
        .table
        .for_category(country, category)
}

fn pause_category(engine: &SessionState) -> Option<safety::Category> {
    match engine.pause_reason.as_deref() {
        Some("medical") => Some(safety::Category::Medical),
        Some("abuse") => Some(safety::Category::Abuse),
        _ => None,
    }
}

/// The pause's "Get help now": a call to the first of `helplines` with a number (a crisis line,
/// or the emergency services first in a medical emergency), else the first website; returns
/// the number to show (when it calls) and the link. In a medical emergency with no number
/// known for the person's country there is none: a directory website is no help then, and the
/// card already says to call the local emergency number.
pub fn get_help(
    helplines: &[safety::Helpline],
    engine: &SessionState,
) -> Option<(Option<String>, String)> {
    let medical = pause_category(engine) == Some(safety::Category::Medical);
    helplines
        .iter()
        .find_map(|h| h.call().map(|c| (Some(c.shown), c.href)))
        .or_else(|| {
            helplines
                .iter()
                .filter(|_| !medical)
                .find_map(|h| h.url.clone().map(|u| (None, u)))
        })
}
