//! Coaching sessions step by step, the moves between steps, and their reports.

use crate::caller::Caller;
use crate::frameworks::*;
use crate::paging::{PageQuery, idempotent, next_cursor};
use crate::problem::refusals::{Forbidden, Invalid, KeyInUse, SessionChanged};
use crate::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::respond::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use coachflux_app::AppState;
use coachflux_app::model::SessionOwner as Owner;
use coachflux_app::services::coaching::{self, Loaded, Move};
use coachflux_domain::coach;
use coachflux_domain::engine::{MAX_SKIPS_PER_STEP, Phase, ProposalStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This area's endpoints, each declared once by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sessions, create_session))
        .routes(routes!(session, delete_session))
        .routes(routes!(consent))
        .routes(routes!(turn))
        .routes(routes!(skip))
        .routes(routes!(proceed))
        .routes(routes!(back))
        .routes(routes!(resume))
        .routes(routes!(end))
        .routes(routes!(amend))
        .routes(routes!(proposal))
        .routes(routes!(close))
        .routes(routes!(report))
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"framework": "GROW"}))]
pub struct NewSession {
    /// A framework id: GROW, CLEAR, COMPASS, OSKAR, FUEL, WOOP.
    pub framework: String,
}

/// A coaching session as its owner sees it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c", "framework": "GROW", "step": "reality",
    "status": "active", "phase": "asking", "paused": false, "isAnonymous": false,
    "expiresAt": null, "createdAt": 1768471200000_i64, "updatedAt": 1768471500000_i64,
    "closedAt": null, "completedAt": null, "prompt": "What is getting in the way of your goal?",
    "pendingField": {"id": "constraints", "label": "What's in the way", "required": true,
        "kind": "list", "maxLen": 200, "min": null, "max": 10, "options": []},
    "canSkip": true, "canGoBack": true,
    "steps": [
        {"id": "goal", "name": "Goal", "status": "done", "captured": {
            "goal": "Lead the platform team by summer",
            "success_criteria": "Named team lead; Own the platform roadmap",
            "timeframe": "by the end of June (Tue 30 Jun 2026)"}, "skipped": ["why_now"]},
        {"id": "reality", "name": "Reality", "status": "current", "captured": {
            "current_state": "Senior engineer, already leading the on-call rota"},
            "skipped": []},
        {"id": "options", "name": "Options", "status": "todo", "captured": {}, "skipped": []},
        {"id": "will", "name": "Will", "status": "todo", "captured": {}, "skipped": []},
        {"id": "review", "name": "Review", "status": "todo", "captured": {}, "skipped": []}],
    "proposals": []}))]
pub struct Session {
    pub id: String,
    pub user_id: Option<String>,
    pub framework: String,
    /// The id of the step being worked on.
    pub step: String,
    /// active, paused or completed.
    pub status: String,
    /// consent, asking, confirming, complete (plan ready) or closed.
    pub phase: String,
    pub paused: bool,
    pub is_anonymous: bool,
    /// Visitors only: the session is deleted after this time unless they sign up.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// What the coach asks now ("" when nothing is asked).
    pub prompt: String,
    /// The field the next answer fills (absent while the coach waits on a follow-up).
    pub pending_field: Option<FieldOut>,
    /// The built-in coach's follow-up about an answer, when it asked one: the next answer
    /// goes to it (words; for `more_options`, new options one per line, or "that's all").
    /// Skipping it is free.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUpOut>,
    pub can_skip: bool,
    pub can_go_back: bool,
    /// After an amend: the previous answer to the pending field, as the person typed it, to
    /// put in the answer box for editing. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<String>,
    pub steps: Vec<SessionStep>,
    pub proposals: Vec<Proposal>,
    /// Included when one session is fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reflections: Option<Vec<ReflectionOut>>,
    /// While the safety screen holds the session (`paused`): who to talk to now, for where the
    /// caller is (their account's country, else their `Accept-Language`). Empty otherwise.
    pub helplines: Vec<Helpline>,
    /// What the safety screen heard: `crisis` while it holds the session (paused), `concern`
    /// when the last answer showed distress that is not a crisis (the session goes on; the
    /// coach checked in and `helplines` are offered). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_level: Option<String>,
    /// While the safety screen holds the session: what it found (`suicide`, `self_harm`,
    /// `abuse`, `violence` or `medical`), so an app can show the right help first. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<String>,
    /// While the safety screen holds the session: `true` when the danger is to someone the
    /// person is worried about ("my friend wants to…"), so the help shown is for supporting
    /// them. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_for_someone_else: Option<bool>,
}

/// Someone to talk to now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"name": "Samaritans", "contact": "Call 116 123 (free, 24/7)",
    "url": "https://www.samaritans.org"}))]
pub struct Helpline {
    pub name: String,
    /// A phone or text line, written the way people dial it locally.
    pub contact: String,
    pub url: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "goal", "name": "Goal", "status": "done",
    "captured": {"goal": "Lead the platform team by summer",
        "success_criteria": "Named team lead; Own the platform roadmap",
        "timeframe": "by the end of June (Tue 30 Jun 2026)"},
    "skipped": ["why_now"]}))]
pub struct SessionStep {
    pub id: String,
    pub name: String,
    /// done, current or todo.
    pub status: String,
    /// Field id → the captured value as text.
    pub captured: BTreeMap<String, String>,
    pub skipped: Vec<String>,
    /// What the person said when the coach followed up on an answer, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUpAnswerOut>,
}

/// A follow-up question about an answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"field": "commitment", "kind": "floor",
    "question": "What puts you at a 6 and not a 1?"}))]
pub struct FollowUpOut {
    /// The field whose answer it follows up.
    pub field: String,
    /// floor, raise, moved, more_options, sharpen, say_more or heart_check.
    pub kind: String,
    pub question: String,
}

/// An answer to a follow-up.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"field": "commitment", "kind": "floor",
    "question": "What puts you at a 6 and not a 1?", "answer": "I've already told my manager"}))]
pub struct FollowUpAnswerOut {
    pub field: String,
    pub kind: String,
    pub question: String,
    pub answer: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"index": 0, "title": "Email Priya the draft",
    "dueDate": 1768607999999_i64, "priority": "high", "tags": ["career"], "status": "proposed"}))]
pub struct Proposal {
    pub index: usize,
    pub title: String,
    pub due_date: Option<i64>,
    pub priority: String,
    pub tags: Vec<String>,
    /// proposed, accepted or dropped.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d3-4e5f-7a60-b172-8c9d0e1f2a3b",
    "sessionId": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "step": "goal",
    "userInput": "Lead the platform team by summer",
    "payload": {"reply": "Great goal. Why does this matter to you right now?",
        "captured": {"goal": {"type": "text", "value": "Lead the platform team by summer"}},
        "accepted": true, "coach": "builtin", "note": null},
    "createdAt": 1768471260000_i64}))]
pub struct ReflectionOut {
    pub id: String,
    pub session_id: String,
    pub step: String,
    pub user_input: String,
    /// The coach's reply, the captured fields and, when the safety screen paused the session,
    /// its category.
    #[schema(value_type = Object)]
    pub payload: Json,
    pub created_at: i64,
}

/// Who the caller can talk to now, for where they are.
fn helplines_for(state: &AppState, caller: &Caller) -> Vec<Helpline> {
    helplines_out(coaching::helplines(state, caller.country.as_deref()))
}

fn helplines_out(lines: Vec<coachflux_domain::safety::Helpline>) -> Vec<Helpline> {
    lines
        .into_iter()
        .map(|h| Helpline {
            name: h.name,
            contact: h.contact,
            url: h.url,
        })
        .collect()
}

impl Session {
    /// The session for `caller` (whose country picks the helplines of a paused session).
    pub fn new(state: &AppState, caller: &Caller, l: &Loaded, with_reflections: bool) -> Self {
        let held = l.engine.paused && l.engine.phase != Phase::Closed;
        let concern = !held
            && l.engine.phase != Phase::Closed
            && l.turns.last().is_some_and(|t| {
                serde_json::from_str::<Json>(&t.payload)
                    .is_ok_and(|p| p["concern"].as_bool() == Some(true))
            });
        let helplines = if held {
            helplines_out(coaching::helplines_for_pause(
                state,
                caller.country.as_deref(),
                &l.engine,
            ))
        } else if concern {
            helplines_for(state, caller)
        } else {
            Vec::new()
        };
        let e = &l.engine;
        let fw = &l.framework;
        let asking = e.phase == Phase::Asking && !e.paused;
        let steps = fw
            .steps
            .iter()
            .zip(&e.steps)
            .enumerate()
            .map(|(i, (def, st))| SessionStep {
                id: def.id.clone(),
                name: def.name.clone(),
                status: e.step_status(i).as_str().into(),
                captured: st
                    .captured
                    .iter()
                    .map(|(k, v)| (k.clone(), v.display(e.zone())))
                    .collect(),
                skipped: st.skipped.clone(),
                follow_ups: st
                    .follow_ups
                    .iter()
                    .map(|f| FollowUpAnswerOut {
                        field: f.field_id.clone(),
                        kind: f.kind.as_str().into(),
                        question: f.question.clone(),
                        answer: f.answer.clone(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            id: l.row.id.clone(),
            user_id: l.row.user_id.clone(),
            framework: l.row.framework.clone(),
            step: l.row.step.clone(),
            status: l.row.status.clone(),
            phase: e.phase.as_str().into(),
            paused: e.paused,
            is_anonymous: l.row.is_anonymous,
            expires_at: l.row.expires_at,
            created_at: l.row.created_at,
            updated_at: l.row.updated_at,
            closed_at: l.row.closed_at,
            completed_at: l.row.completed_at,
            prompt: coach::next_prompt(fw, e),
            pending_field: if asking && e.follow_up.is_none() {
                e.pending_field(fw).map(field_out)
            } else {
                None
            },
            follow_up: e
                .follow_up
                .as_ref()
                .filter(|_| asking)
                .map(|f| FollowUpOut {
                    field: f.field_id.clone(),
                    kind: f.kind.as_str().into(),
                    question: f.question.clone(),
                }),
            can_skip: asking
                && (e.follow_up.is_some()
                    || e.steps
                        .get(e.current)
                        .is_some_and(|s| s.skipped.len() < MAX_SKIPS_PER_STEP)),
            can_go_back: e.current > 0
                && !e.paused
                && matches!(e.phase, Phase::Asking | Phase::Confirming),
            draft: e.draft(fw).map(str::to_owned),
            steps,
            proposals: e
                .proposals
                .iter()
                .enumerate()
                .map(|(index, p)| Proposal {
                    index,
                    title: p.title.clone(),
                    due_date: p.due_ms,
                    priority: p.priority.clone(),
                    tags: p.tags.clone(),
                    status: match p.status {
                        ProposalStatus::Proposed => "proposed",
                        ProposalStatus::Accepted => "accepted",
                        ProposalStatus::Dropped => "dropped",
                    }
                    .into(),
                })
                .collect(),
            reflections: with_reflections.then(|| {
                l.turns
                    .iter()
                    .map(|t| ReflectionOut {
                        id: t.id.clone(),
                        session_id: t.session_id.clone(),
                        step: t.step.clone(),
                        user_input: t.user_input.clone(),
                        payload: serde_json::from_str(&t.payload).unwrap_or(Json::Null),
                        created_at: t.created_at,
                    })
                    .collect()
            }),
            helplines,
            safety_level: if held {
                Some("crisis".into())
            } else if concern {
                Some("concern".into())
            } else {
                None
            },
            safety_for_someone_else: held.then_some(e.paused_for_someone_else),
            safety: if e.paused && e.phase != Phase::Closed {
                l.turns.iter().rev().find_map(|t| {
                    serde_json::from_str::<Json>(&t.payload)
                        .ok()?
                        .get("safety")?
                        .as_str()
                        .map(str::to_owned)
                })
            } else {
                None
            },
        }
    }
}

/// The session list shows the row without loading each engine state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c", "framework": "GROW", "step": "reality",
    "status": "active", "isAnonymous": false, "expiresAt": null, "createdAt": 1768471200000_i64,
    "updatedAt": 1768471500000_i64, "closedAt": null, "completedAt": null}))]
pub struct SessionSummary {
    pub id: String,
    pub user_id: Option<String>,
    pub framework: String,
    pub step: String,
    pub status: String,
    pub is_anonymous: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub completed_at: Option<i64>,
}

impl From<&coachflux_app::model::CoachingSession> for SessionSummary {
    fn from(r: &coachflux_app::model::CoachingSession) -> Self {
        Self {
            id: r.id.clone(),
            user_id: r.user_id.clone(),
            framework: r.framework.clone(),
            step: r.step.clone(),
            status: r.status.clone(),
            is_anonymous: r.is_anonymous,
            expires_at: r.expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
            completed_at: r.completed_at,
        }
    }
}

/// A visitor's new session also carries the id to send as `X-Anonymous-Id` from now on.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d6-5f60-7182-93a4-b5c6d7e8f901", "userId": null,
    "framework": "GROW", "step": "goal", "status": "active", "phase": "consent",
    "paused": false, "isAnonymous": true, "expiresAt": 1768557600000_i64,
    "createdAt": 1768471200000_i64, "updatedAt": 1768471200000_i64, "closedAt": null,
    "completedAt": null,
    "prompt": "Welcome to GROW. Before we start: CoachFlux is coaching, not therapy or medical \
    advice. If you're in crisis, please contact a helpline or your local emergency \
    number. Confirm below and we'll begin.",
    "pendingField": null, "canSkip": false, "canGoBack": false,
    "steps": [
        {"id": "goal", "name": "Goal", "status": "current", "captured": {}, "skipped": []},
        {"id": "reality", "name": "Reality", "status": "todo", "captured": {}, "skipped": []},
        {"id": "options", "name": "Options", "status": "todo", "captured": {}, "skipped": []},
        {"id": "will", "name": "Will", "status": "todo", "captured": {}, "skipped": []},
        {"id": "review", "name": "Review", "status": "todo", "captured": {}, "skipped": []}],
    "proposals": [], "anonymousId": "s3Vd8QmPz1Yk0bWcR7nTf4LhXe2JuA9oGqIi6KyNw5E"}))]
pub struct CreatedSession {
    #[serde(flatten)]
    pub session: Session,
    /// Visitors only, on their first session: keep it and send it as `X-Anonymous-Id`.
    pub anonymous_id: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"input": "Lead the platform team by summer"}))]
pub struct TurnRequest {
    /// The answer: text, one list item per line, a number for scales, an option for choices,
    /// a date or phrase ("by Friday") for dates.
    #[schema(max_length = 4000)]
    pub input: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"step": "goal", "field": "timeframe"}))]
pub struct AmendRequest {
    /// The step to reopen.
    pub step: String,
    /// The field to ask again; omit to reopen the whole step.
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accept,
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"decision": "accept", "title": "Email Priya the draft", "due": "next Monday", "priority": "high", "tags": ["career"]}))]
pub struct ProposalDecision {
    pub decision: Decision,
    /// An edited title to keep instead.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// A date (2026-03-01) or a phrase ("by Friday", "in 3 days"); "" clears the date.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Replaces the proposed tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"sessionId": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "framework": "GROW",
    "steps": [
        {"step": "Goal", "fields": [
            {"label": "Your goal", "value": "Lead the platform team by summer"},
            {"label": "Timeframe", "value": "by the end of June (Tue 30 Jun 2026)"}]},
        {"step": "Reality", "fields": [
            {"label": "What's in the way", "value": "No people-management experience"}]},
        {"step": "Options", "fields": [
            {"label": "Your options", "value": "Ask for a mentor; Lead the next project"}]},
        {"step": "Will", "fields": [
            {"label": "Your actions", "value": "Email Priya the draft — due Fri 16 Jan 2026"},
            {"label": "Commitment", "value": "8"}]},
        {"step": "Review", "fields": [
            {"label": "Key takeaways", "value": "Ask for what I want"}]}],
    "summary": "You want to lead the platform team by the end of June.",
    "insights": ["You already lead the on-call rota, which is team leadership in practice."],
    "unexploredOptions": [],
    "risks": ["The reorganisation could delay the decision."],
    "writtenBy": "builtin",
    "actions": [{"title": "Email Priya the draft", "dueDate": 1768607999999_i64,
        "priority": "high"}],
    "durationMs": 1500000, "compass": null, "endedEarly": false, "note": null}))]
pub struct Report {
    pub session_id: String,
    pub framework: String,
    pub steps: Vec<ReportStep>,
    pub summary: String,
    pub insights: Vec<String>,
    /// Options the person didn't consider (written by the AI coach only).
    pub unexplored_options: Vec<String>,
    pub risks: Vec<String>,
    /// Who wrote the summary, insights and risks: openai or builtin.
    pub written_by: String,
    pub actions: Vec<ReportAction>,
    pub duration_ms: i64,
    /// COMPASS only: the composite success score with its parts.
    pub compass: Option<CompassScore>,
    /// The session was ended before every step was done.
    pub ended_early: bool,
    /// Why the built-in coach wrote the narrative although the AI coach is on.
    pub note: Option<String>,
    /// Ended after the safety screen paused it: who to talk to now, for where the caller is
    /// (and a short, kind summary instead of insights and risks). Empty otherwise.
    pub helplines: Vec<Helpline>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"step": "Will", "fields": [
    {"label": "Your actions", "value": "Email Priya the draft — due Fri 16 Jan 2026"},
    {"label": "Commitment", "value": "8"}]}))]
pub struct ReportStep {
    pub step: String,
    pub fields: Vec<ReportField>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"label": "Commitment", "value": "8"}))]
pub struct ReportField {
    pub label: String,
    pub value: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"title": "Email Priya the draft", "dueDate": 1768607999999_i64,
    "priority": "high"}))]
pub struct ReportAction {
    pub title: String,
    pub due_date: Option<i64>,
    pub priority: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"total": 83, "band": "Good", "confidenceGrowth": 94, "action": 78,
    "mindset": 75, "satisfaction": 89, "commitment": 78}))]
pub struct CompassScore {
    pub total: i32,
    pub band: String,
    pub confidence_growth: i32,
    pub action: i32,
    pub mindset: i32,
    pub satisfaction: i32,
    pub commitment: i32,
}

impl Report {
    pub fn new(id: &str, r: &coaching::Report, helplines: Vec<Helpline>) -> Self {
        Self {
            session_id: id.to_owned(),
            framework: r.framework.id.clone(),
            steps: r
                .steps
                .iter()
                .map(|(step, fields)| ReportStep {
                    step: step.clone(),
                    fields: fields
                        .iter()
                        .map(|(label, value)| ReportField {
                            label: label.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                })
                .collect(),
            summary: r.summary.summary.clone(),
            insights: r.summary.insights.clone(),
            unexplored_options: r.unexplored_options.clone(),
            risks: r.summary.risks.clone(),
            written_by: r.written_by.to_owned(),
            actions: r
                .actions
                .iter()
                .map(|(title, due, priority)| ReportAction {
                    title: title.clone(),
                    due_date: *due,
                    priority: priority.clone(),
                })
                .collect(),
            duration_ms: r.duration_ms,
            compass: r.compass.as_ref().map(|c| CompassScore {
                total: c.total,
                band: c.band.label().to_owned(),
                confidence_growth: c.confidence_growth,
                action: c.action,
                mindset: c.mindset,
                satisfaction: c.satisfaction,
                commitment: c.commitment,
            }),
            ended_early: r.ended_early,
            note: r.note.clone(),
            helplines,
        }
    }
}

// ---------------------------------------------------------------------------------------------

crate::paging::page!(SessionPage, SessionSummary, {"items": [
    {"id": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c", "framework": "GROW", "step": "reality",
        "status": "active", "isAnonymous": false, "expiresAt": null, "createdAt": 1768471200000_i64,
        "updatedAt": 1768471500000_i64, "closedAt": null, "completedAt": null}],
    "nextCursor": null});

// ---------------------------------------------------------------------------------------------
// Endpoints

/// The caller's sessions (a visitor's: those of their `X-Anonymous-Id`), newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), params(PageQuery),
    responses(
        (status = 200, body = SessionPage),
    ))]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let owner = match (&caller.user, &caller.anonymous_id) {
        (Some(u), _) => Owner::User(&u.user.id),
        (None, Some(a)) => Owner::Anonymous(a),
        (None, None) => {
            return Err(ApiError::unauthorized(
                "Send a bearer token, or the X-Anonymous-Id of your visitor sessions.",
            ));
        }
    };
    let page = coaching::page(&state, owner, &q.request()?).await?;
    ok(&SessionPage {
        items: page.items.iter().map(SessionSummary::from).collect(),
        next_cursor: next_cursor(&page),
    })
}

/// Starts a session. A visitor without an `X-Anonymous-Id` gets one in the response.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions",
    security(("bearer" = []), ("anonymous" = []), ()), request_body = NewSession,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first result")),
    responses(
        (status = 201, body = CreatedSession),
        Forbidden,
        KeyInUse,
        (status = 422, description = "Unknown or locked framework", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewSession>,
) -> ApiResult {
    if caller.token.as_ref().is_some_and(|t| !t.can_write()) {
        caller.require_write()?;
    }
    let mut actor = caller.actor();
    let new_anonymous = (actor.user.is_none() && actor.anonymous_id.is_none())
        .then(|| state.keys.new_anonymous_id());
    if let Some(a) = &new_anonymous {
        actor.anonymous_id = Some(a.clone());
    }
    let request = canonical("POST /sessions", &body);
    idempotent(&state, &caller, &headers, &request, async {
        let id = coaching::start(&state, &actor, &body.framework).await?;
        let loaded = coaching::load(&state, &actor, &id).await?;
        Ok((
            StatusCode::CREATED,
            to_value(&CreatedSession {
                session: Session::new(&state, &caller, &loaded, false),
                anonymous_id: new_anonymous.clone(),
            })?,
        ))
    })
    .await
}

/// One session with its reflections.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        (status = 404, description = "No such session of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.identified()?;
    let loaded = coaching::load(&state, &caller.actor(), &id).await?;
    ok(&Session::new(&state, &caller, &loaded, true))
}

async fn after_move(state: &AppState, caller: &Caller, id: &str) -> ApiResult {
    let loaded = coaching::load(state, &caller.actor(), id).await?;
    ok(&Session::new(state, caller, &loaded, false))
}

/// Deletes a session with its reflections and action items.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Deleted"),
        Forbidden,
    ))]
pub async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::delete(&state, &caller.actor(), &id).await?;
    forget_created(&state, &id).await?;
    no_content()
}

/// Accepts the coaching disclaimer and begins the first step.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/consent", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        Forbidden,
        SessionChanged,
        Invalid,
    ))]
pub async fn consent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::act(&state, &caller.actor(), &id, Move::Consent).await?;
    after_move(&state, &caller, &id).await
}

/// Sends an answer. It is saved before anything else happens; the coach replies, or the
/// safety screen pauses the session (`paused: true`). With `Accept: text/event-stream` the
/// reply streams as Server-Sent Events: `delta` events (JSON strings of reply text), `reset`
/// (drop the text shown so far: the built-in coach answers instead), then `done` with the
/// session, or `error`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/turns", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), request_body = TurnRequest,
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session after the coach's reply (or, with Accept: text/event-stream, the event stream)", content(
            (Session = "application/json"),
            (String = "text/event-stream"),
        )),
        Forbidden,
        SessionChanged,
        (status = 422, description = "Empty, too long, or not expected now", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn turn(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TurnRequest>,
) -> ApiResult {
    caller.require_write()?;
    let country = caller.country.clone();
    if coachflux_http::sse::wants_stream(&headers) {
        let actor = caller.actor();
        return Ok(coachflux_http::sse::stream(move |sink| async move {
            let r = coaching::turn_streaming(
                &state,
                &actor,
                &id,
                &body.input,
                country.as_deref(),
                Some(&sink),
            )
            .await;
            drop(sink);
            let loaded = match r {
                Ok(_) => coaching::load(&state, &actor, &id).await,
                Err(e) => Err(e),
            };
            match loaded {
                Ok(l) => (
                    "done",
                    serde_json::to_string(&Session::new(&state, &caller, &l, true))
                        .unwrap_or_default(),
                ),
                Err(e) => {
                    let problem = crate::problem::ApiError::App(e).into_response();
                    let status = problem.status().as_u16();
                    (
                        "error",
                        serde_json::json!({"status": status, "code": if status == 422 { "validation_failed" } else { "error" }}).to_string(),
                    )
                }
            }
        }));
    }
    coaching::turn(
        &state,
        &caller.actor(),
        &id,
        &body.input,
        country.as_deref(),
    )
    .await?;
    let loaded = coaching::load(&state, &caller.actor(), &id).await?;
    ok(&Session::new(&state, &caller, &loaded, true))
}

macro_rules! simple_move {
    ($name:ident, $path:literal, $doc:literal, $move:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "sessions",
            security(("bearer" = []), ("anonymous" = [])),
            params(("id" = String, Path, description = "Session id")),
            responses(
                (status = 200, body = Session),
                Forbidden,
                SessionChanged,
                (status = 422, description = "Not possible in the session's state", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
        ) -> ApiResult {
            caller.require_write()?;
            coaching::act(&state, &caller.actor(), &id, $move).await?;
            after_move(&state, &caller, &id).await
        }
    };
}

simple_move!(
    skip,
    "/api/v1/sessions/{id}/skip",
    "Skips the current question (at most twice per step).",
    Move::Skip
);
simple_move!(
    proceed,
    "/api/v1/sessions/{id}/proceed",
    "Confirms the step's captured fields and moves on.",
    Move::Proceed
);
simple_move!(
    back,
    "/api/v1/sessions/{id}/back",
    "Goes back to the previous step.",
    Move::Back
);
simple_move!(
    resume,
    "/api/v1/sessions/{id}/resume",
    "Resumes a session the safety screen paused.",
    Move::Resume
);

/// Reopens a step (or one field of it) to change the answer.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/amend", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), request_body = AmendRequest,
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        Forbidden,
        SessionChanged,
        Invalid,
    ))]
pub async fn amend(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AmendRequest>,
) -> ApiResult {
    caller.require_write()?;
    let m = Move::Amend {
        step: &body.step,
        field: body.field.as_deref(),
    };
    coaching::act(&state, &caller.actor(), &id, m).await?;
    after_move(&state, &caller, &id).await
}

/// Keeps (optionally retitled) or drops a proposed action.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/proposals/{index}", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])), request_body = ProposalDecision,
    params(("id" = String, Path, description = "Session id"), ("index" = usize, Path, description = "The proposal's index")),
    responses(
        (status = 200, body = Session),
        Forbidden,
        SessionChanged,
        Invalid,
    ))]
pub async fn proposal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, String)>,
    ApiJson(body): ApiJson<ProposalDecision>,
) -> ApiResult {
    caller.require_write()?;
    let index: usize = index
        .parse()
        .map_err(|_| coachflux_app::AppError::NotFound)?;
    let accept = body.decision == Decision::Accept;
    let tags = body.tags.as_ref().map(|t| t.join(","));
    let m = Move::Proposal {
        index,
        accept,
        edit: coaching::ProposalEdit {
            title: body.title.as_deref(),
            due: body.due.as_deref(),
            priority: body.priority.map(Priority::as_str),
            tags: tags.as_deref(),
        },
    };
    coaching::act(&state, &caller.actor(), &id, m).await?;
    after_move(&state, &caller, &id).await
}

/// Closes the session: every proposal not dropped is kept and becomes an action item (for
/// members), and the report is final.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/close", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        Forbidden,
        SessionChanged,
        Invalid,
    ))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::close(&state, &caller.actor(), &id).await?;
    after_move(&state, &caller, &id).await
}

/// Ends the session before it is finished (after the safety screen paused it, say): what was
/// captured stays readable as a report; it counts as abandoned. A finished session is closed.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/end", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Session),
        Forbidden,
        SessionChanged,
        (status = 422, description = "Already closed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    coaching::end(&state, &caller.actor(), &id).await?;
    after_move(&state, &caller, &id).await
}

/// The report as JSON, or as Markdown with `Accept: text/markdown`.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/report", tag = "sessions",
    security(("bearer" = []), ("anonymous" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = Report, content(
            (Report = "application/json"),
            (String = "text/markdown"),
        )),
    ))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    caller.identified()?;
    let loaded = coaching::load(&state, &caller.actor(), &id).await?;
    let r = coaching::report(&loaded);
    let wants_markdown = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/markdown"));
    if wants_markdown {
        return Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            coaching::markdown(&r),
        )
            .into_response());
    }
    let helplines = if r.after_pause {
        helplines_for(&state, &caller)
    } else {
        Vec::new()
    };
    ok(&Report::new(&id, &r, helplines))
}

// ---------------------------------------------------------------------------------------------
