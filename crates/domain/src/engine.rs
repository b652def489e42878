//! The coaching engine: a framework-agnostic state machine over a framework's steps and typed
//! fields. It is pure: the caller passes "now" and persists the state (JSON in
//! `coaching_sessions.state`).
//!
//! A session starts with the person's consent (coaching is not therapy). Then each step asks
//! for its fields one at a time; an answer is parsed into the pending field's type. When a
//! step's fields are settled the person confirms it (proceed) or changes something (amend).
//! Up to two questions per step may be skipped: an optional one is dropped, a required one is
//! asked again after the others. When every step is confirmed the session is complete and can
//! be closed into a report.

use crate::dates;
use crate::frameworks::{Field, FieldKind, Framework, Step};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_SKIPS_PER_STEP: usize = 2;
/// Longest answer accepted in one message, in characters (also shown by the page's counter).
pub const MAX_INPUT_CHARS: usize = 2_000;

/// A captured value, typed by its field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    Text(String),
    List(Vec<String>),
    Scale(i32),
    Choice(String),
    Date(DateValue),
    Actions(Vec<ActionDraft>),
    Options(Vec<OptionDraft>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateValue {
    pub phrase: String,
    /// End of the due day (UTC) when the phrase is a date we understand.
    pub at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionDraft {
    pub title: String,
    pub due_phrase: Option<String>,
    pub due_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionDraft {
    pub label: String,
}

impl Value {
    /// How the value reads in a report or a reply, dates as days in `zone`.
    pub fn display(&self, zone: dates::Zone) -> String {
        match self {
            Value::Text(t) | Value::Choice(t) => t.clone(),
            Value::List(items) => items.join("; "),
            Value::Scale(n) => n.to_string(),
            Value::Date(d) => match d.at_ms {
                Some(ms) => format!("{} ({})", d.phrase, dates::label(ms, zone)),
                None => d.phrase.clone(),
            },
            Value::Actions(a) => a
                .iter()
                .map(|a| match a.due_ms {
                    Some(ms) => format!("{} — due {}", a.title, dates::label(ms, zone)),
                    None => a.title.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            Value::Options(o) => o
                .iter()
                .map(|o| o.label.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// The value as a person would type it again: what the answer box holds when they amend
    /// it (list items one per line). A date found is written as its day in `zone` ("by
    /// 2026-01-20"), so that sending the box back unchanged gives the same day, however many
    /// days later.
    pub fn editable(&self, zone: dates::Zone) -> String {
        match self {
            Value::Text(t) | Value::Choice(t) => t.clone(),
            Value::List(items) => items.join("\n"),
            Value::Scale(n) => n.to_string(),
            Value::Date(d) => match d.at_ms {
                Some(at) => dates::ymd_string(at, zone),
                None => d.phrase.clone(),
            },
            Value::Actions(a) => a
                .iter()
                .map(|a| match a.due_ms {
                    Some(at) => format!("{} by {}", a.title, dates::ymd_string(at, zone)),
                    None => a.title.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Value::Options(o) => o
                .iter()
                .map(|o| o.label.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The items of a list-like value (one element for the others).
    pub fn items(&self) -> Vec<String> {
        match self {
            Value::List(items) => items.clone(),
            Value::Actions(a) => a.iter().map(|a| a.title.clone()).collect(),
            Value::Options(o) => o.iter().map(|o| o.label.clone()).collect(),
            Value::Text(t) | Value::Choice(t) => vec![t.clone()],
            Value::Scale(n) => vec![n.to_string()],
            Value::Date(d) => vec![d.phrase.clone()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for the person to confirm that this is coaching, not therapy.
    Consent,
    /// Asking the current step's fields.
    Asking,
    /// The current step's fields are settled: proceed or amend.
    Confirming,
    /// Every step is confirmed; the session can be closed.
    Complete,
    /// Closed: the report is final and nothing changes any more.
    Closed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Consent => "consent",
            Phase::Asking => "asking",
            Phase::Confirming => "confirming",
            Phase::Complete => "complete",
            Phase::Closed => "closed",
        }
    }
}

/// Where one step of a session stands, as the pages and the API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Done,
    /// The step being worked on; no step is current once every step is done, or the session
    /// is closed.
    Current,
    Todo,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Current => "current",
            StepStatus::Todo => "todo",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub id: String,
    pub captured: BTreeMap<String, Value>,
    /// Fields skipped in this step (at most two).
    pub skipped: Vec<String>,
    pub confirmed: bool,
    /// What the person said when the coach followed up on an answer, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUpAnswer>,
}

impl StepState {
    /// What the person added about `field` when the coach followed up, to show under its
    /// answer: everything but "what else?" (the new options are in the answer) and "when?"
    /// (the date is on the action).
    pub fn notes_for<'s>(&'s self, field: &'s str) -> impl Iterator<Item = &'s FollowUpAnswer> {
        self.follow_ups.iter().filter(move |a| {
            a.field_id == field && !matches!(a.kind, FollowUpKind::MoreOptions | FollowUpKind::When)
        })
    }
}

/// A question the built-in coach asks about an answer before it moves on (optional: skipping
/// it costs nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The field whose answer it follows up.
    pub field_id: String,
    pub kind: FollowUpKind,
    pub question: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// After a scale: what puts it at N and not at the bottom.
    Floor,
    /// After a scale: what would raise it.
    Raise,
    /// A measure taken again: what moved since the start.
    Moved,
    /// After options: what else (the answer adds options).
    MoreOptions,
    /// After a goal with nothing to see or count: how it would show.
    Sharpen,
    /// After a very short answer: an invitation to say more.
    SayMore,
    /// After a long answer: a check that the coach heard its heart.
    HeartCheck,
    /// An action without a date: when? (the answer dates the first undated action).
    When,
}

impl FollowUpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Raise => "raise",
            Self::Moved => "moved",
            Self::MoreOptions => "more_options",
            Self::Sharpen => "sharpen",
            Self::SayMore => "say_more",
            Self::HeartCheck => "heart_check",
            Self::When => "when",
        }
    }

    /// How an answer to it is labelled next to the field in a report.
    pub fn label(self) -> &'static str {
        match self {
            Self::Floor => "what puts it there",
            Self::Raise => "what would raise it",
            Self::Moved => "what moved",
            Self::MoreOptions => "more options",
            Self::Sharpen => "how it will show",
            Self::SayMore => "more on this",
            Self::HeartCheck => "the heart of it",
            Self::When => "when",
        }
    }
}

/// The person's answer to a follow-up, kept with the step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpAnswer {
    pub field_id: String,
    pub kind: FollowUpKind,
    pub question: String,
    pub answer: String,
}

/// What answering a follow-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedUp {
    pub follow_up: FollowUp,
    pub answer: String,
    /// Options added by a "what else?" answer.
    pub added: Vec<String>,
    /// The person said there is nothing more.
    pub done: bool,
}

/// An action item proposed from the plan, which the person accepts, edits or drops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedAction {
    /// The plan item it was proposed from (the first title), to recognise it when the plan is
    /// proposed again after a step was reopened.
    #[serde(default)]
    pub origin: String,
    pub title: String,
    pub due_ms: Option<i64>,
    pub priority: String,
    pub tags: Vec<String>,
    pub status: ProposalStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Proposed,
    Accepted,
    Dropped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub framework: String,
    pub phase: Phase,
    /// Index of the step being worked on.
    pub current: usize,
    pub steps: Vec<StepState>,
    #[serde(default)]
    pub proposals: Vec<ProposedAction>,
    /// Paused by the safety screen: nothing is asked until the person resumes.
    #[serde(default)]
    pub paused: bool,
    /// The report's narrative written by the LLM coach when the session closed (absent with
    /// the built-in coach, whose narrative is computed from the captured fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<Narrative>,
    /// Why the built-in coach wrote the report although the AI coach is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_note: Option<String>,
    /// Closed before every step was confirmed (the person ended it, e.g. after a pause).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended_early: bool,
    /// Resumed after a safety pause, and nothing answered since: the coach checks in first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// The follow-up question the built-in coach is waiting on, if any: the next answer goes
    /// to it rather than to the next field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    /// The person has finished a session of this framework before: questions about "since
    /// last time" are asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub returning: bool,
    /// What the safety screen found when it last paused the session (a category name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<String>,
    /// The safety screen paused this session at some point.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub was_paused: bool,
    /// What it found when it last paused was a danger to someone else the person is worried
    /// about: the help offered is for supporting them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused_for_someone_else: bool,
    /// The answer being amended, as the person typed it, offered in the answer box to edit
    /// until their next move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editing: Option<Editing>,
    /// The person's time zone (an IANA name) when they last answered: the dates they write
    /// are days on their calendar. Unknown (sessions saved before zones were kept): UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// An answer taken back to amend, as the person typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Editing {
    pub field_id: String,
    pub text: String,
}

/// A report narrative written by a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narrative {
    pub summary: String,
    pub insights: Vec<String>,
    pub unexplored_options: Vec<String>,
    pub risks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("Please confirm that you understand this is coaching, not therapy, to begin.")]
    NeedsConsent,
    #[error("This session is paused. Resume it when you're ready.")]
    Paused,
    #[error("This session is closed.")]
    Closed,
    #[error("This step is ready: proceed, or choose what to amend.")]
    StepReady,
    #[error("{0}")]
    Invalid(String),
    #[error("You can skip at most two questions in a step.")]
    TooManySkips,
    #[error("A few answers are still missing in this step.")]
    Incomplete,
    #[error("There's no such step or question to amend.")]
    UnknownTarget,
    #[error("This is the first step: there's no step before it.")]
    AtFirstStep,
    #[error("The session isn't finished yet.")]
    NotComplete,
}

/// What an answer did, for the coach to reflect back.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub step_id: String,
    pub field_id: String,
    pub value: Value,
}

impl SessionState {
    pub fn new(framework: &Framework) -> Self {
        Self {
            framework: framework.id.clone(),
            phase: Phase::Consent,
            current: 0,
            steps: framework
                .steps
                .iter()
                .map(|s| StepState {
                    id: s.id.clone(),
                    captured: BTreeMap::new(),
                    skipped: Vec::new(),
                    confirmed: false,
                    follow_ups: Vec::new(),
                })
                .collect(),
            proposals: Vec::new(),
            paused: false,
            narrative: None,
            report_note: None,
            ended_early: false,
            resumed: false,
            follow_up: None,
            returning: false,
            pause_reason: None,
            was_paused: false,
            paused_for_someone_else: false,
            editing: None,
            time_zone: None,
        }
    }

    pub fn current_step<'f>(&self, framework: &'f Framework) -> Option<&'f Step> {
        framework.steps.get(self.current)
    }

    /// The field the coach asks next in the current step, if any.
    pub fn pending_field<'f>(&self, framework: &'f Framework) -> Option<&'f Field> {
        let step = framework.steps.get(self.current)?;
        let state = self.steps.get(self.current)?;
        let open = |f: &&Field| {
            !state.captured.contains_key(&f.id) && (self.returning || !f.returning_only)
        };
        step.fields
            .iter()
            .filter(open)
            .find(|f| !state.skipped.contains(&f.id))
            // Skipped required fields come back once everything else is asked.
            .or_else(|| step.fields.iter().filter(open).find(|f| f.required))
    }

    /// Whether every required field of the current step is captured.
    pub fn required_complete(&self, framework: &Framework) -> bool {
        match (
            framework.steps.get(self.current),
            self.steps.get(self.current),
        ) {
            (Some(step), Some(state)) => step
                .fields
                .iter()
                .filter(|f| f.required)
                .all(|f| state.captured.contains_key(&f.id)),
            _ => false,
        }
    }

    /// Whether the person may confirm the current step now: its questions are settled, or
    /// its required answers are in and only optional questions remain.
    pub fn can_proceed(&self, framework: &Framework) -> bool {
        !self.paused
            && match self.phase {
                Phase::Confirming => true,
                Phase::Asking => self.required_complete(framework),
                _ => false,
            }
    }

    /// Where step `i` stands.
    pub fn step_status(&self, i: usize) -> StepStatus {
        if self.steps.get(i).is_some_and(|s| s.confirmed) {
            StepStatus::Done
        } else if i == self.current && !matches!(self.phase, Phase::Complete | Phase::Closed) {
            StepStatus::Current
        } else {
            StepStatus::Todo
        }
    }

    /// Progress for the bar: (confirmed steps, all steps).
    pub fn progress(&self) -> (usize, usize) {
        (
            self.steps.iter().filter(|s| s.confirmed).count(),
            self.steps.len(),
        )
    }

    fn check_active(&self) -> Result<(), EngineError> {
        match (self.phase, self.paused) {
            (Phase::Closed, _) => Err(EngineError::Closed),
            (_, true) => Err(EngineError::Paused),
            (Phase::Consent, _) => Err(EngineError::NeedsConsent),
            _ => Ok(()),
        }
    }

    pub fn give_consent(&mut self) -> Result<(), EngineError> {
        match self.phase {
            Phase::Consent => {
                self.phase = Phase::Asking;
                Ok(())
            }
            Phase::Closed => Err(EngineError::Closed),
            _ => Ok(()),
        }
    }

    /// After any change: is the current step settled?
    fn settle(&mut self, framework: &Framework) {
        // Every move after a resume (an answer, a skip, going on or back) ends the check-in,
        // and any follow-up question still open (the coach asks a new one after an answer).
        self.resumed = false;
        self.follow_up = None;
        self.editing = None;
        if matches!(self.phase, Phase::Asking | Phase::Confirming) {
            self.phase = if self.pending_field(framework).is_some() {
                Phase::Asking
            } else {
                Phase::Confirming
            };
        }
    }

    /// Parses `input` into the pending field and stores it.
    pub fn answer(
        &mut self,
        framework: &Framework,
        input: &str,
        now_ms: i64,
    ) -> Result<Captured, EngineError> {
        self.check_active()?;
        if self.phase == Phase::Complete {
            return Err(EngineError::StepReady);
        }
        let input = checked_input(input)?;
        let field = self
            .pending_field(framework)
            .ok_or(EngineError::StepReady)?
            .clone();
        let value = parse_value(&field, input, now_ms, self.zone())?;
        let step = &mut self.steps[self.current];
        step.captured.insert(field.id.clone(), value.clone());
        step.skipped.retain(|f| f != &field.id);
        let captured = Captured {
            step_id: step.id.clone(),
            field_id: field.id,
            value,
        };
        self.settle(framework);
        Ok(captured)
    }

    /// The zone the person's dates are read in (see [`SessionState::time_zone`]).
    pub fn zone(&self) -> dates::Zone {
        dates::zone_of(self.time_zone.as_deref())
    }

    /// Reads the person's next dates in `zone`.
    pub fn set_zone(&mut self, zone: dates::Zone) {
        self.time_zone = (zone != dates::Zone::UTC).then(|| zone.name().to_owned());
    }

    /// Ended early after the safety screen paused it: the report is kind, not an analysis.
    pub fn ended_after_pause(&self) -> bool {
        self.ended_early && self.was_paused
    }

    /// Whether step `i` has nothing to ask this person (its only questions are for a returning
    /// one).
    pub fn nothing_to_ask(&self, framework: &Framework, i: usize) -> bool {
        framework
            .steps
            .get(i)
            .is_some_and(|s| !self.returning && s.fields.iter().all(|f| f.returning_only))
    }

    /// Asks `follow_up` about an answer of the current step before moving on.
    pub fn ask_follow_up(&mut self, follow_up: FollowUp) {
        if matches!(self.phase, Phase::Asking | Phase::Confirming) && !self.paused {
            self.phase = Phase::Asking;
            self.follow_up = Some(follow_up);
        }
    }

    /// Takes `input` as the answer to the pending follow-up: "what else?" adds options to the
    /// field it follows up (or ends with "that's all"); the others are kept with the step.
    pub fn answer_follow_up(
        &mut self,
        framework: &Framework,
        input: &str,
        now_ms: i64,
    ) -> Result<FollowedUp, EngineError> {
        self.check_active()?;
        let input = checked_input(input)?;
        let follow_up = self.follow_up.clone().ok_or(EngineError::StepReady)?;
        let mut added = Vec::new();
        if follow_up.kind == FollowUpKind::When {
            let zone = self.zone();
            let Some(Value::Actions(actions)) = self.steps[self.current]
                .captured
                .get_mut(&follow_up.field_id)
            else {
                return Err(EngineError::UnknownTarget);
            };
            let action = actions
                .iter_mut()
                .find(|a| a.due_ms.is_none())
                .ok_or(EngineError::UnknownTarget)?;
            let due = dates::parse_due(input, now_ms, zone)
                .or_else(|| dates::split_due(input, now_ms, zone).map(|(_, d)| d))
                .ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "I couldn't find a date in \u{201c}{}\u{201d}: try \"Saturday\", \"in 3 days\" or \"15 March\" — or skip it.",
                        first_sentence(input, 60)
                    ))
                })?;
            action.due_phrase = Some(due.phrase.clone());
            action.due_ms = Some(due.at_ms);
            added.push(action.title.clone());
        }
        let done = follow_up.kind == FollowUpKind::MoreOptions && crate::listen::is_done(input);
        if follow_up.kind == FollowUpKind::MoreOptions && !done {
            let field = framework
                .steps
                .get(self.current)
                .and_then(|s| s.fields.iter().find(|f| f.id == follow_up.field_id))
                .ok_or(EngineError::UnknownTarget)?;
            let FieldKind::Options { max_items, .. } = field.kind else {
                return Err(EngineError::UnknownTarget);
            };
            let Value::Options(new) = parse_value(field, input, now_ms, self.zone())? else {
                return Err(EngineError::UnknownTarget);
            };
            let step = &mut self.steps[self.current];
            let mut all = match step.captured.get(&field.id) {
                Some(Value::Options(o)) => o.clone(),
                _ => Vec::new(),
            };
            for o in new {
                if !all.iter().any(|x| x.label.eq_ignore_ascii_case(&o.label)) {
                    added.push(o.label.clone());
                    all.push(o);
                }
            }
            if all.len() > max_items as usize {
                return Err(EngineError::Invalid(format!(
                    "That makes {} options, and {max_items} is the most we weigh at once: keep the ones that matter most.",
                    all.len()
                )));
            }
            step.captured.insert(field.id.clone(), Value::Options(all));
        }
        if !done {
            self.steps[self.current].follow_ups.push(FollowUpAnswer {
                field_id: follow_up.field_id.clone(),
                kind: follow_up.kind,
                question: follow_up.question.clone(),
                answer: input.to_owned(),
            });
        }
        self.settle(framework);
        Ok(FollowedUp {
            follow_up,
            answer: input.to_owned(),
            added,
            done,
        })
    }

    /// Stores fields of the current step that a coach captured from an answer (an LLM may
    /// capture several at once, or none). Unknown field ids are ignored.
    pub fn capture(
        &mut self,
        framework: &Framework,
        values: Vec<(String, Value)>,
    ) -> Result<(), EngineError> {
        self.check_active()?;
        if self.phase == Phase::Complete {
            return Err(EngineError::StepReady);
        }
        let Some(def) = framework.steps.get(self.current) else {
            return Err(EngineError::StepReady);
        };
        let step = &mut self.steps[self.current];
        for (field, value) in values {
            if def.fields.iter().any(|f| f.id == field) {
                step.skipped.retain(|f| f != &field);
                step.captured.insert(field, value);
            }
        }
        self.settle(framework);
        Ok(())
    }

    /// Skips the pending question (at most twice per step).
    pub fn skip(&mut self, framework: &Framework) -> Result<String, EngineError> {
        self.check_active()?;
        // A follow-up is the coach's own question: passing on it is free.
        if let Some(f) = self.follow_up.take() {
            self.settle(framework);
            return Ok(f.field_id);
        }
        let field = self
            .pending_field(framework)
            .ok_or(EngineError::StepReady)?
            .id
            .clone();
        let step = &mut self.steps[self.current];
        if step.skipped.len() >= MAX_SKIPS_PER_STEP || step.skipped.contains(&field) {
            return Err(EngineError::TooManySkips);
        }
        step.skipped.push(field.clone());
        self.settle(framework);
        Ok(field)
    }

    /// Confirms the current step and moves to the first step not yet confirmed. Optional
    /// questions not asked yet are left open.
    pub fn proceed(&mut self, framework: &Framework) -> Result<(), EngineError> {
        self.check_active()?;
        if !self.can_proceed(framework) {
            return Err(EngineError::Incomplete);
        }
        self.steps[self.current].confirmed = true;
        self.resumed = false;
        self.follow_up = None;
        match self.steps.iter().position(|s| !s.confirmed) {
            Some(next) => {
                self.current = next;
                self.phase = Phase::Asking;
                self.settle(framework);
            }
            None => self.phase = Phase::Complete,
        }
        Ok(())
    }

    /// Goes back to a step reached so far; with a field, clears it so it is asked again.
    pub fn amend(
        &mut self,
        framework: &Framework,
        step_id: &str,
        field_id: Option<&str>,
    ) -> Result<(), EngineError> {
        self.check_active()?;
        let index = self
            .steps
            .iter()
            .position(|s| s.id == step_id)
            .ok_or(EngineError::UnknownTarget)?;
        let reached = self.steps[index].confirmed || index == self.current;
        if !reached {
            return Err(EngineError::UnknownTarget);
        }
        let mut previous = None;
        if let Some(field) = field_id {
            let step_def = &framework.steps[index];
            if !step_def.fields.iter().any(|f| f.id == field) {
                return Err(EngineError::UnknownTarget);
            }
            let step = &mut self.steps[index];
            previous = step.captured.remove(field);
            step.skipped.retain(|f| f != field);
            // What was said about the old answer goes with it.
            step.follow_ups.retain(|f| f.field_id != field);
        }
        self.steps[index].confirmed = false;
        self.current = index;
        self.phase = Phase::Asking;
        self.settle(framework);
        let zone = self.zone();
        self.editing = field_id.zip(previous).map(|(field, value)| Editing {
            field_id: field.to_owned(),
            text: value.editable(zone),
        });
        Ok(())
    }

    /// The previous answer to offer in the answer box: only while its field is the one asked.
    pub fn draft(&self, framework: &Framework) -> Option<&str> {
        let editing = self.editing.as_ref()?;
        let pending = self.pending_field(framework)?;
        (self.follow_up.is_none() && pending.id == editing.field_id)
            .then_some(editing.text.as_str())
    }

    /// Back to the step before the current one; from the action plan, back to the last step.
    pub fn back(&mut self, framework: &Framework) -> Result<(), EngineError> {
        self.check_active()?;
        let previous = if self.phase == Phase::Complete {
            Some(self.steps.len().saturating_sub(1))
        } else {
            self.current.checked_sub(1)
        }
        .ok_or(EngineError::AtFirstStep)?;
        let id = self.steps[previous].id.clone();
        self.amend(framework, &id, None)
    }

    /// Paused by the safety screen for `category` (its stored name), a danger to the person
    /// or (`someone_else`) to someone they are worried about.
    pub fn pause_for(&mut self, category: &str, someone_else: bool) {
        self.pause();
        if self.paused {
            self.pause_reason = Some(category.to_owned());
            self.paused_for_someone_else = someone_else;
        }
    }

    pub fn pause(&mut self) {
        if self.phase != Phase::Closed {
            self.paused = true;
            self.was_paused = true;
        }
    }

    pub fn resume(&mut self) {
        if self.paused {
            self.resumed = true;
        }
        self.paused = false;
    }

    pub fn is_complete(&self) -> bool {
        self.phase == Phase::Complete
    }

    /// Closes a complete session; nothing changes after this. Every proposal the person did not drop is kept: closing is
    /// not a way to lose the plan they just made.
    pub fn close(&mut self) -> Result<(), EngineError> {
        match self.phase {
            Phase::Complete => {
                for p in &mut self.proposals {
                    if p.status == ProposalStatus::Proposed {
                        p.status = ProposalStatus::Accepted;
                    }
                }
                self.phase = Phase::Closed;
                self.paused = false;
                Ok(())
            }
            Phase::Closed => Err(EngineError::Closed),
            _ => Err(EngineError::NotComplete),
        }
    }

    /// Ends the session before every step is confirmed (for instance after the safety screen
    /// paused it): what was captured is kept and nothing changes after this.
    pub fn end(&mut self) -> Result<(), EngineError> {
        match self.phase {
            Phase::Closed => Err(EngineError::Closed),
            Phase::Complete => self.close(),
            _ => {
                self.phase = Phase::Closed;
                self.paused = false;
                self.ended_early = true;
                Ok(())
            }
        }
    }

    /// A captured value by field id, from any step.
    pub fn value(&self, field_id: &str) -> Option<&Value> {
        self.steps.iter().find_map(|s| s.captured.get(field_id))
    }

    /// Turns the plan into proposed action items (kept for the person to accept, edit or drop).
    /// Proposed again (a step was reopened and confirmed), an item still in the plan keeps the
    /// decision and edits the person made to it.
    pub fn propose_actions(&mut self, framework: &Framework) {
        let mut out: Vec<(String, Option<i64>)> = Vec::new();
        for step in &framework.steps {
            for field in &step.fields {
                if let (FieldKind::Actions { .. }, Some(Value::Actions(items))) =
                    (&field.kind, self.value(&field.id))
                {
                    out.extend(items.iter().map(|a| (a.title.clone(), a.due_ms)));
                }
            }
        }
        let due = |field: &str| match self.value(field) {
            Some(Value::Date(d)) => d.at_ms,
            _ => None,
        };
        // Frameworks whose plan is a single sentence plus a date field.
        for (title_field, due_field) in [
            ("committed_action", "action_day"),
            ("next_step", "next_step_due"),
        ] {
            if let Some(title) = self.value(title_field) {
                out.push((title.display(self.zone()), due(due_field)));
            }
        }
        // WOOP's if-then plan is a standing rule, not a to-do (the report keeps it as one):
        // the to-do is to start on the wish when the person said they would.
        if framework.id == "WOOP"
            && let Some(wish) = self.value("wish")
        {
            out.push((
                format!(
                    "Start on your wish: {}",
                    first_sentence(&wish.display(self.zone()), 160)
                ),
                due("when"),
            ));
        }
        // FUEL's follow-up date is a check-in the person keeps with themselves.
        if framework.id == "FUEL"
            && let Some(Value::Date(d)) = self.value("follow_up")
        {
            let focus = self
                .value("focus")
                .map(|f| first_sentence(&f.display(self.zone()), 120))
                .unwrap_or_default();
            let title = if focus.is_empty() {
                "Check in on how the plan is going".to_owned()
            } else {
                format!("Check in on how it's going: {focus}")
            };
            out.push((title, d.at_ms));
        }
        let mut earlier = std::mem::take(&mut self.proposals);
        // Sessions saved before proposals knew their origin: the title is all there is.
        for p in &mut earlier {
            if p.origin.is_empty() {
                p.origin.clone_from(&p.title);
            }
        }
        self.proposals = out
            .into_iter()
            .map(|(title, due_ms)| {
                let fresh = ProposedAction {
                    origin: title.clone(),
                    title,
                    due_ms,
                    // The person sets these: a preset "high" or a tag that only repeats the
                    // framework (the item already belongs to its session) would be noise.
                    priority: "medium".to_owned(),
                    tags: Vec::new(),
                    status: ProposalStatus::Proposed,
                };
                match earlier.iter().position(|p| p.origin == fresh.origin) {
                    Some(at) if earlier[at].status != ProposalStatus::Proposed => {
                        earlier.remove(at)
                    }
                    _ => fresh,
                }
            })
            .collect();
    }
}

/// An answer trimmed, refused when empty or longer than [`MAX_INPUT_CHARS`].
fn checked_input(input: &str) -> Result<&str, EngineError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(EngineError::Invalid("Write an answer first.".into()));
    }
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(EngineError::Invalid(format!(
            "Please keep one answer under {MAX_INPUT_CHARS} characters."
        )));
    }
    Ok(input)
}

/// The first sentence of `text`, cut at a word boundary to at most `max` characters.
pub fn first_sentence(text: &str, max: usize) -> String {
    let first = text
        .split_inclusive(['.', '!', '?', '\n'])
        .next()
        .unwrap_or(text)
        .trim()
        .trim_end_matches(['.', '!', '\n']);
    if first.chars().count() <= max {
        return first.to_owned();
    }
    let mut out = String::new();
    for w in first.split_whitespace() {
        if out.chars().count() + w.chars().count() + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out + "…"
}

/// Splits a multi-item answer: one item per line, or separated by semicolons or bullets; a
/// single line with commas is split on commas too.
pub fn split_items(input: &str) -> Vec<String> {
    let clean = |s: &str| {
        s.trim()
            .trim_start_matches(['-', '*', '•'])
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')')
            .trim()
            .to_owned()
    };
    let mut items: Vec<String> = input
        .split(['\n', ';'])
        .map(clean)
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect();
    if items.len() == 1 && items[0].contains(", ") && lists_things(&items[0]) {
        items = items[0]
            .split(", ")
            .map(clean)
            .filter(|s| s.chars().any(char::is_alphanumeric))
            .collect();
        if let Some(last) = items.last_mut()
            && let Some(rest) = last.strip_prefix("and ")
        {
            *last = rest.to_owned();
        }
    }
    items
}

/// Whether a line with commas lists things ("Call Sam, email Priya, and book the room")
/// rather than being one sentence with a comma in it ("Tell her how it landed, before we talk
/// about the doc"): every part short, none starting with a word that joins a clause, and "and"
/// only before the last of three or more.
fn lists_things(line: &str) -> bool {
    const JOINERS: &[&str] = &[
        "before",
        "after",
        "then",
        "but",
        "so",
        "because",
        "which",
        "when",
        "while",
        "if",
        "until",
        "unless",
        "with",
        "without",
        "since",
        "as",
        "though",
        "although",
        "or",
        "that",
        "who",
        "where",
        "even",
        "just",
        "especially",
        "like",
        "including",
        "otherwise",
        "maybe",
        "probably",
        "ideally",
        "hopefully",
        "not",
    ];
    let parts: Vec<&str> = line.split(", ").map(str::trim).collect();
    parts.iter().enumerate().all(|(i, p)| {
        let first = p
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let and_ok = first != "and" || (i + 1 == parts.len() && parts.len() >= 3);
        p.split_whitespace().count() <= 12
            && (i == 0 || !JOINERS.contains(&first.as_str()))
            && and_ok
    })
}

const NUMBER_WORDS: [&str; 11] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
];

fn first_number(input: &str) -> Option<i32> {
    for word in input.split(|c: char| !c.is_ascii_alphanumeric()) {
        if let Ok(n) = word.parse::<i32>() {
            return Some(n);
        }
        if let Some(n) = NUMBER_WORDS
            .iter()
            .position(|w| w.eq_ignore_ascii_case(word))
        {
            return i32::try_from(n).ok();
        }
    }
    None
}

/// Reads a number on a scale the way people write it: "7", "about a 3 out of 10", "say a 9",
/// "7/10", "8, maybe 9" (the last number said with a cue), "seven". A sentence whose numbers
/// are something else ("a 1:1 on Tuesday", "two meetings a week") is not a rating, and "6 or 7"
/// is asked again rather than guessed.
fn scale_value(input: &str, min: i32, max: i32) -> Result<i32, EngineError> {
    let pick = || EngineError::Invalid(format!("Pick a number from {min} to {max}."));
    let lower = input.to_lowercase();
    // Words and the separator that follows each ("7/10": "7" then '/').
    let mut tokens: Vec<(String, char)> = Vec::new();
    let mut word = String::new();
    for c in lower.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '\'' {
            word.push(c);
        } else {
            if !word.is_empty() {
                tokens.push((std::mem::take(&mut word), c));
            } else if let Some(last) = tokens.last_mut()
                && last.1 == ' '
                && c != ' '
            {
                last.1 = c;
            }
        }
    }
    let number = |w: &str| {
        w.parse::<i32>().ok().or_else(|| {
            NUMBER_WORDS
                .iter()
                .position(|x| *x == w)
                .and_then(|n| i32::try_from(n).ok())
        })
    };
    const CUES: &[&str] = &[
        "a", "an", "at", "say", "about", "around", "maybe", "probably", "perhaps", "it's", "its",
        "is", "be", "solid", "like", "me", "i'm", "im", "honestly", "roughly", "nearer", "closer",
    ];
    // (value, cued) for each number that can be the rating.
    let mut found: Vec<(i32, bool)> = Vec::new();
    let mut joined_by_or = false;
    for (i, (w, sep)) in tokens.iter().enumerate() {
        let Some(n) = number(w) else { continue };
        let prev = i.checked_sub(1).map(|j| tokens[j].0.as_str());
        let prev_sep = i.checked_sub(1).map(|j| tokens[j].1);
        // A denominator ("/10", "out of 10"), a time or a ratio ("1:1", "10:30") is not one.
        if prev_sep == Some('/') && found.last().is_some()
            || prev == Some("of") && i >= 2 && tokens[i - 2].0 == "out"
            || *sep == ':'
            || prev_sep == Some(':')
        {
            continue;
        }
        let cued = prev.is_some_and(|p| CUES.contains(&p))
            || *sep == '/'
            || tokens.get(i + 1).is_some_and(|(n, _)| n == "out");
        if (min..=max).contains(&n) {
            let joined =
                prev.is_some_and(|p| matches!(p, "or" | "and" | "to")) || prev_sep == Some('-');
            if joined && !found.is_empty() {
                joined_by_or = true;
            }
            found.push((n, cued));
        }
    }
    let words = tokens.len();
    let chosen = match found.as_slice() {
        [] => return Err(pick()),
        [(n, cued)] => (*cued || words <= 4).then_some(*n),
        many => {
            if joined_by_or && !many.iter().any(|(_, c)| *c) {
                let shown: Vec<String> = many.iter().map(|(n, _)| n.to_string()).collect();
                return Err(EngineError::Invalid(format!(
                    "{}? Pick the one number from {min} to {max} that fits best.",
                    shown.join(" or ")
                )));
            }
            many.iter().rev().find(|(_, c)| *c).map(|(n, _)| *n)
        }
    };
    chosen.ok_or_else(pick)
}

/// Reads a choice the way people write it: the option named ("open, I think"), not one named
/// with a "not" before it ("not resistant any more"), or its number. Two options named
/// ("open but a bit resistant") are asked about rather than guessed.
fn choice_value(input: &str, options: &[String]) -> Result<String, EngineError> {
    let lower = input.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    const NOT: &[&str] = &[
        "not", "no", "never", "less", "longer", "isn't", "wasn't", "aren't", "don't", "nor",
    ];
    let mut named: Vec<&String> = Vec::new();
    let mut negated = false;
    for (i, w) in words.iter().enumerate() {
        let Some(o) = options.iter().find(|o| o.eq_ignore_ascii_case(w)) else {
            continue;
        };
        let prev = |k: usize| i.checked_sub(k).map(|j| words[j]);
        let softener = prev(1).is_some_and(|p| {
            matches!(
                p,
                "really" | "very" | "so" | "that" | "too" | "at" | "all" | "quite"
            )
        });
        if prev(1).is_some_and(|p| NOT.contains(&p))
            || softener && prev(2).is_some_and(|p| NOT.contains(&p))
        {
            negated = true;
        } else if !named.contains(&o) {
            named.push(o);
        }
    }
    let listed = options.join(", ");
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] if negated => Err(EngineError::Invalid(format!(
            "Which word fits now, then: {listed}?"
        ))),
        [] => first_number(input)
            .filter(|_| words.len() <= 3)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| options.get(i))
            .cloned()
            .ok_or_else(|| EngineError::Invalid(format!("Choose one of: {listed}."))),
        many => {
            let names: Vec<&str> = many.iter().map(|o| o.as_str()).collect();
            Err(EngineError::Invalid(format!(
                "{}? Choose the one that fits best right now.",
                crate::listen::capitalise(&names.join(" or "))
            )))
        }
    }
}

/// Parses an answer into the type of `field`, with a message a person understands on failure.
/// Dates are days in `zone`, the person's.
pub fn parse_value(
    field: &Field,
    input: &str,
    now_ms: i64,
    zone: dates::Zone,
) -> Result<Value, EngineError> {
    let invalid = |m: String| Err(EngineError::Invalid(m));
    match &field.kind {
        FieldKind::Text { max_len } => {
            if input.chars().count() > *max_len as usize {
                return invalid(format!("Please keep this under {max_len} characters."));
            }
            Ok(Value::Text(input.to_owned()))
        }
        FieldKind::List {
            min_items,
            max_items,
            item_max_len,
        } => {
            let items = split_items(input);
            enough(items.len(), *min_items, field.required, "item")?;
            if items.len() > *max_items as usize {
                return invalid(format!(
                    "Up to {max_items} items, please: pick the ones that matter most."
                ));
            }
            if items
                .iter()
                .any(|i| i.chars().count() > *item_max_len as usize)
            {
                return invalid(format!("Keep each item under {item_max_len} characters."));
            }
            Ok(Value::List(items))
        }
        FieldKind::Scale { min, max, .. } => scale_value(input, *min, *max).map(Value::Scale),
        FieldKind::Choice { options } => choice_value(input, options).map(Value::Choice),
        FieldKind::Date => {
            let at_ms = dates::parse_due(input, now_ms, zone)
                .or_else(|| dates::split_due(input, now_ms, zone).map(|(_, d)| d))
                .map(|d| d.at_ms);
            if input.chars().count() > 200 {
                return invalid("Keep the date short, like \"by Friday\" or \"in 3 days\".".into());
            }
            if at_ms.is_none() && field.required {
                let mut shown: String = input.chars().take(60).collect();
                if shown.len() < input.len() {
                    shown.push('\u{2026}');
                }
                return invalid(format!(
                    "I couldn't find a date in \u{201c}{}\u{201d}: try \"Saturday\", \"in 3 days\", \"the 20th\" or \"15 March\".",
                    shown
                ));
            }
            Ok(Value::Date(DateValue {
                phrase: input.to_owned(),
                at_ms,
            }))
        }
        FieldKind::Actions {
            min_items,
            max_items,
        } => {
            let items = split_items(input);
            enough(items.len(), *min_items, field.required, "action")?;
            if items.len() > *max_items as usize {
                return invalid(format!(
                    "Up to {max_items} actions, please: start with the most important."
                ));
            }
            Ok(Value::Actions(
                items
                    .into_iter()
                    .map(|item| match dates::split_due(&item, now_ms, zone) {
                        Some((title, due)) if !title.is_empty() => ActionDraft {
                            title,
                            due_phrase: Some(due.phrase),
                            due_ms: Some(due.at_ms),
                        },
                        _ => ActionDraft {
                            title: item,
                            due_phrase: None,
                            due_ms: None,
                        },
                    })
                    .collect(),
            ))
        }
        FieldKind::Options {
            min_items,
            max_items,
        } => {
            let items = split_items(input);
            enough(items.len(), *min_items, field.required, "option")?;
            if items.len() > *max_items as usize {
                return invalid(format!("Up to {max_items} options for now."));
            }
            Ok(Value::Options(
                items
                    .into_iter()
                    .map(|label| OptionDraft { label })
                    .collect(),
            ))
        }
    }
}

/// Refuses a list answer with fewer than `min_items` items (a required one also with none:
/// "-" or a few dashes name nothing), saying what is missing. An optional list without a
/// minimum takes "-" as "nothing".
fn enough(count: usize, min_items: u32, required: bool, noun: &str) -> Result<(), EngineError> {
    let least = if required {
        min_items.max(1)
    } else {
        min_items
    } as usize;
    if count >= least {
        return Ok(());
    }
    if count == 0 {
        return Err(EngineError::Invalid(format!(
            "That doesn't name anything yet: write at least one {noun}{}.",
            if least > 1 {
                format!(" (this question needs {least}, one per line)")
            } else {
                String::new()
            }
        )));
    }
    if count < least {
        return Err(EngineError::Invalid(format!(
            "This question needs at least {least} {noun}s, one per line: you wrote {count}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal_field() -> Field {
        Field {
            id: "f".into(),
            label: "F".into(),
            required: true,
            prompt: "?".into(),
            returning_only: false,
            kind: FieldKind::Text { max_len: 10 },
        }
    }

    #[test]
    fn lists_need_their_least_number_of_real_items() {
        let list = |min_items| Field {
            kind: FieldKind::List {
                min_items,
                max_items: 5,
                item_max_len: 200,
            },
            ..minimal_field()
        };
        for nothing in ["-", "- \n -", "...", "* ;  ; •", "?!"] {
            assert_eq!(
                parse_value(&list(1), nothing, NOW, dates::Zone::UTC),
                Err(EngineError::Invalid(
                    "That doesn't name anything yet: write at least one item.".into()
                )),
                "{nothing:?}"
            );
        }
        assert_eq!(
            parse_value(&list(2), "Ship v2", NOW, dates::Zone::UTC),
            Err(EngineError::Invalid(
                "This question needs at least 2 items, one per line: you wrote 1.".into()
            ))
        );
        assert_eq!(
            parse_value(&list(2), "Ship v2\nHire two", NOW, dates::Zone::UTC),
            Ok(Value::List(vec!["Ship v2".into(), "Hire two".into()]))
        );
        let optional = Field {
            required: false,
            ..list(0)
        };
        assert_eq!(
            parse_value(&optional, "-", NOW, dates::Zone::UTC),
            Ok(Value::List(vec![]))
        );
        let actions = Field {
            kind: FieldKind::Actions {
                min_items: 1,
                max_items: 5,
            },
            ..minimal_field()
        };
        assert_eq!(
            parse_value(&actions, "-", NOW, dates::Zone::UTC),
            Err(EngineError::Invalid(
                "That doesn't name anything yet: write at least one action.".into()
            ))
        );
        let options = Field {
            kind: FieldKind::Options {
                min_items: 2,
                max_items: 5,
            },
            ..minimal_field()
        };
        assert_eq!(
            parse_value(&options, "--", NOW, dates::Zone::UTC),
            Err(EngineError::Invalid("That doesn't name anything yet: write at least one option (this question needs 2, one per line).".into()))
        );
    }

    #[test]
    fn no_step_is_current_once_every_step_is_done_or_the_session_is_closed() {
        let fw = crate::Catalogue::builtin()
            .unwrap()
            .frameworks
            .into_iter()
            .find(|f| f.id == "GROW")
            .unwrap();
        let mut s = SessionState::new(&fw);
        assert_eq!(s.step_status(0), StepStatus::Current);
        assert_eq!(s.step_status(1), StepStatus::Todo);
        s.steps[0].confirmed = true;
        s.current = 1;
        assert_eq!(s.step_status(0), StepStatus::Done);
        assert_eq!(s.step_status(1), StepStatus::Current);
        s.phase = Phase::Closed;
        assert_eq!(
            s.step_status(1),
            StepStatus::Todo,
            "closed: nothing is current"
        );
        s.phase = Phase::Complete;
        assert_eq!(s.step_status(1), StepStatus::Todo);
        assert_eq!(s.step_status(99), StepStatus::Todo);
    }
    use crate::Catalogue;

    /// 2026-01-15T10:00:00Z, a Thursday.
    const NOW: i64 = 1_768_471_200_000;

    fn catalogue() -> Catalogue {
        Catalogue::builtin().unwrap()
    }

    /// A valid answer for any field.
    fn answer_for(field: &Field) -> String {
        match &field.kind {
            FieldKind::Text { .. } => format!("My answer about {}", field.label),
            FieldKind::List { .. } => "first thing; second thing".into(),
            FieldKind::Scale { min, max, .. } => ((min + max) / 2).to_string(),
            FieldKind::Choice { options } => format!("I'd say {}", options[0]),
            FieldKind::Date => "by Friday".into(),
            FieldKind::Actions { .. } => "Call Sam by Friday\nDraft the plan in 3 days".into(),
            FieldKind::Options { .. } => "Ask for a transfer; Retrain at night".into(),
        }
    }

    fn started(fw: &Framework) -> SessionState {
        let mut s = SessionState::new(fw);
        assert_eq!(s.answer(fw, "hello", NOW), Err(EngineError::NeedsConsent));
        s.give_consent().unwrap();
        s
    }

    /// Answers every pending field of the current step.
    fn fill_step(fw: &Framework, s: &mut SessionState) {
        while let Some(field) = s.pending_field(fw).cloned() {
            let c = s.answer(fw, &answer_for(&field), NOW).unwrap();
            assert_eq!(c.field_id, field.id);
        }
        assert_eq!(s.phase, Phase::Confirming);
    }

    #[test]
    fn an_amended_answer_sent_back_unchanged_keeps_its_day() {
        let fw = catalogue()
            .frameworks
            .into_iter()
            .find(|f| f.id == "GROW")
            .unwrap();
        let mut s = started(&fw);
        while let Some(field) = s.pending_field(&fw).cloned() {
            let answer = match field.id.as_str() {
                "timeframe" => "in 3 days".to_owned(),
                _ => answer_for(&field),
            };
            s.answer(&fw, &answer, NOW).unwrap();
        }
        let before = s.value("timeframe").cloned();
        s.amend(&fw, "goal", Some("timeframe")).unwrap();
        let draft = s.draft(&fw).unwrap().to_owned();
        assert_eq!(
            draft, "2026-01-18",
            "the day it named, not the words read again"
        );
        // Sent back two days later, it is still the same day.
        s.answer(&fw, &draft, NOW + 2 * crate::clock::DAY_MS)
            .unwrap();
        let (Some(Value::Date(a)), Some(Value::Date(b))) = (before, s.value("timeframe")) else {
            panic!("dates");
        };
        assert_eq!(a.at_ms, b.at_ms);
        assert_eq!(s.draft(&fw), None, "answered: nothing left to edit");
    }

    #[test]
    fn every_framework_completes_and_closes() {
        for fw in catalogue().frameworks {
            let mut s = started(&fw);
            for (i, step) in fw.steps.iter().enumerate() {
                assert_eq!(s.current, i, "{}", fw.id);
                assert_eq!(s.current_step(&fw).unwrap().id, step.id);
                if step.fields.iter().any(|f| f.required) {
                    assert_eq!(
                        s.proceed(&fw),
                        Err(EngineError::Incomplete),
                        "{}: can't proceed before answering",
                        fw.id
                    );
                }
                fill_step(&fw, &mut s);
                assert_eq!(s.answer(&fw, "more", NOW), Err(EngineError::StepReady));
                s.proceed(&fw).unwrap();
            }
            assert!(s.is_complete(), "{}", fw.id);
            assert_eq!(s.progress(), (fw.steps.len(), fw.steps.len()));
            s.propose_actions(&fw);
            assert!(
                !s.proposals.is_empty(),
                "{} proposes actions from its plan",
                fw.id
            );
            assert!(
                s.proposals
                    .iter()
                    .all(|p| p.priority == "medium" && p.tags.is_empty()),
                "{}: nothing preset for the person to undo",
                fw.id
            );
            // Closing keeps every proposal the person did not drop.
            s.proposals[0].status = ProposalStatus::Dropped;
            let kept = s.proposals.len() - 1;
            s.close().unwrap();
            assert_eq!(
                s.proposals
                    .iter()
                    .filter(|p| p.status == ProposalStatus::Accepted)
                    .count(),
                kept,
                "{}",
                fw.id
            );
            assert_eq!(s.proposals[0].status, ProposalStatus::Dropped);
            assert_eq!(s.answer(&fw, "late", NOW), Err(EngineError::Closed));
            // The state survives a JSON round trip (it is stored as JSON).
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<SessionState>(&json).unwrap(), s);
        }
    }

    #[test]
    fn proposing_again_keeps_what_the_person_decided() {
        for fw in catalogue().frameworks {
            let mut s = started(&fw);
            for _ in &fw.steps {
                fill_step(&fw, &mut s);
                s.proceed(&fw).unwrap();
            }
            s.propose_actions(&fw);
            let first = s.proposals[0].clone();
            s.proposals[0].title = "Edited by hand".into();
            s.proposals[0].status = ProposalStatus::Accepted;
            // Reopen the first step and confirm it again: the plan is proposed anew.
            s.amend(&fw, &fw.steps[0].id, None).unwrap();
            while !s.is_complete() {
                if s.phase == Phase::Asking {
                    fill_step(&fw, &mut s);
                }
                s.proceed(&fw).unwrap();
            }
            s.propose_actions(&fw);
            assert_eq!(s.proposals[0].title, "Edited by hand", "{}", fw.id);
            assert_eq!(s.proposals[0].status, ProposalStatus::Accepted, "{}", fw.id);
            assert_eq!(s.proposals[0].origin, first.title, "{}", fw.id);
            // Undecided ones are proposed fresh.
            assert!(
                s.proposals[1..]
                    .iter()
                    .all(|p| p.status == ProposalStatus::Proposed)
            );
        }
    }

    #[test]
    fn skipping_drops_optional_questions_and_defers_required_ones() {
        for fw in catalogue().frameworks {
            let mut s = started(&fw);
            let step = &fw.steps[0];
            let first = s.pending_field(&fw).unwrap().id.clone();
            assert_eq!(s.skip(&fw).unwrap(), first);
            if step.fields.len() == 1 {
                // The only (required) question comes straight back.
                assert_eq!(s.pending_field(&fw).unwrap().id, first, "{}", fw.id);
                assert_eq!(s.skip(&fw), Err(EngineError::TooManySkips));
                continue;
            }
            assert_ne!(
                s.pending_field(&fw).unwrap().id,
                first,
                "{}: moved on",
                fw.id
            );
            s.skip(&fw).unwrap();
            assert_eq!(
                s.skip(&fw),
                Err(EngineError::TooManySkips),
                "{}: at most two",
                fw.id
            );
            fill_step(&fw, &mut s);
            let required_first = step.fields.iter().find(|f| f.id == first).unwrap().required;
            assert_eq!(
                s.steps[0].captured.contains_key(&first),
                required_first,
                "{}: required skips are asked again",
                fw.id
            );
            s.proceed(&fw).unwrap();
        }
    }

    #[test]
    fn amending_a_field_asks_it_again_and_keeps_later_steps() {
        let cat = catalogue();
        let fw = cat.get("GROW").unwrap();
        let mut s = started(fw);
        fill_step(fw, &mut s);
        s.proceed(fw).unwrap();
        fill_step(fw, &mut s);
        s.proceed(fw).unwrap();
        assert_eq!(s.current, 2);
        s.amend(fw, "goal", Some("goal")).unwrap();
        assert_eq!(s.current, 0);
        assert_eq!(s.pending_field(fw).unwrap().id, "goal");
        assert!(!s.steps[0].confirmed);
        assert!(s.steps[1].confirmed, "the later step keeps its answers");
        s.answer(fw, "Lead the platform team", NOW).unwrap();
        s.proceed(fw).unwrap();
        assert_eq!(s.current, 2, "back to the first unconfirmed step");
        assert_eq!(
            s.value("goal"),
            Some(&Value::Text("Lead the platform team".into()))
        );
        assert_eq!(
            s.amend(fw, "will", None),
            Err(EngineError::UnknownTarget),
            "not reached yet"
        );
        assert_eq!(
            s.amend(fw, "goal", Some("nope")),
            Err(EngineError::UnknownTarget)
        );
    }

    /// Answers the current step's questions in order until its required ones are in
    /// (optional questions asked before a required one are answered, as a person would).
    fn fill_required(fw: &Framework, s: &mut SessionState) {
        while !s.required_complete(fw) {
            let pending = s.pending_field(fw).unwrap().clone();
            s.answer(fw, &answer_for(&pending), NOW).unwrap();
        }
    }

    #[test]
    fn choices_read_negation_and_ask_when_two_are_named() {
        let options: Vec<String> = ["resistant", "neutral", "open", "engaged"]
            .map(String::from)
            .to_vec();
        for (said, want) in [
            ("open", Ok("open")),
            ("Open, I think", Ok("open")),
            ("not resistant any more, more open", Ok("open")),
            ("not really resistant, neutral", Ok("neutral")),
            ("I'm no longer resistant. Engaged!", Ok("engaged")),
            ("3", Ok("open")),
            (
                "open but a bit resistant",
                Err("Open or resistant? Choose the one that fits best right now."),
            ),
            (
                "not resistant",
                Err("Which word fits now, then: resistant, neutral, open, engaged?"),
            ),
            (
                "I had 3 meetings about it",
                Err("Choose one of: resistant, neutral, open, engaged."),
            ),
        ] {
            assert_eq!(
                choice_value(said, &options),
                want.map(str::to_owned)
                    .map_err(|m| EngineError::Invalid(m.to_owned())),
                "{said}"
            );
        }
    }

    #[test]
    fn a_sentence_with_a_comma_is_one_item_and_a_list_is_several() {
        for (line, want) in [
            (
                "Call Sam, email Priya, and book the room",
                vec!["Call Sam", "email Priya", "book the room"],
            ),
            ("Time, money, energy", vec!["Time", "money", "energy"]),
            (
                "Call Sam by Friday, Draft the plan in 3 days",
                vec!["Call Sam by Friday", "Draft the plan in 3 days"],
            ),
            (
                "Tell her how the rewrite landed, before we talk about the doc",
                vec!["Tell her how the rewrite landed, before we talk about the doc"],
            ),
            (
                "Ask my manager, then book the course",
                vec!["Ask my manager, then book the course"],
            ),
            (
                "He's proud, and the car is his freedom",
                vec!["He's proud, and the car is his freedom"],
            ),
            (
                "Walk to work, ideally three times a week",
                vec!["Walk to work, ideally three times a week"],
            ),
            (
                "First\nSecond, with a comma",
                vec!["First", "Second, with a comma"],
            ),
        ] {
            assert_eq!(split_items(line), want, "{line}");
        }
    }

    #[test]
    fn since_last_time_is_asked_only_of_someone_returning() {
        let cat = catalogue();
        let fw = cat.get("OSKAR").unwrap();
        for returning in [false, true] {
            let mut s = started(fw);
            s.returning = returning;
            while fw.steps[s.current].id != "review" {
                fill_step(fw, &mut s);
                s.proceed(fw).unwrap();
            }
            if returning {
                assert_eq!(s.pending_field(fw).unwrap().id, "what_changed");
                assert!(!s.nothing_to_ask(fw, s.current));
            } else {
                assert_eq!(s.pending_field(fw), None, "a first session isn't asked");
                assert_eq!(s.phase, Phase::Confirming);
                assert!(s.nothing_to_ask(fw, s.current));
                assert!(
                    crate::coach::next_prompt(fw, &s).contains("This is your first OSKAR session"),
                    "{}",
                    crate::coach::next_prompt(fw, &s)
                );
            }
            s.proceed(fw).unwrap();
            assert!(s.is_complete());
        }
    }

    #[test]
    fn every_framework_amends_a_field_of_each_step_and_goes_back_from_each_step() {
        for fw in catalogue().frameworks {
            let mut s = started(&fw);
            s.returning = true;
            for (i, step) in fw.steps.iter().enumerate() {
                fill_step(&fw, &mut s);
                // Amend the step's first field: it is asked again, the rest stay.
                let field = &step.fields[0];
                s.amend(&fw, &step.id, Some(&field.id)).unwrap();
                assert_eq!(s.current, i, "{}", fw.id);
                assert_eq!(s.phase, Phase::Asking, "{} {}", fw.id, step.id);
                assert_eq!(s.pending_field(&fw).unwrap().id, field.id, "{}", fw.id);
                assert_eq!(
                    s.steps[i].captured.len(),
                    step.fields.len() - 1,
                    "{}: only the amended answer is cleared",
                    fw.id
                );
                s.answer(&fw, &answer_for(field), NOW).unwrap();
                assert_eq!(s.phase, Phase::Confirming, "{}", fw.id);
                s.proceed(&fw).unwrap();
                if i + 1 < fw.steps.len() {
                    // Back from the next step returns here with the answers kept.
                    assert_eq!(s.current, i + 1, "{}", fw.id);
                    s.back(&fw).unwrap();
                    assert_eq!(s.current, i, "{}", fw.id);
                    assert_eq!(s.phase, Phase::Confirming, "{}: answers are kept", fw.id);
                    assert!(!s.steps[i].confirmed, "{}", fw.id);
                    s.proceed(&fw).unwrap();
                    assert_eq!(s.current, i + 1, "{}", fw.id);
                }
            }
            assert!(s.is_complete(), "{}", fw.id);
            // From the action plan, back reopens the last step.
            s.propose_actions(&fw);
            s.back(&fw).unwrap();
            assert_eq!(s.current, fw.steps.len() - 1, "{}", fw.id);
            assert_eq!(s.phase, Phase::Confirming, "{}", fw.id);
            s.proceed(&fw).unwrap();
            assert!(s.is_complete(), "{}", fw.id);
            // And any earlier step can still be amended until the session is closed.
            s.amend(&fw, &fw.steps[0].id, None).unwrap();
            assert_eq!(s.current, 0, "{}", fw.id);
            s.proceed(&fw).unwrap();
            assert!(s.is_complete(), "{}", fw.id);
            s.close().unwrap();
            assert_eq!(
                s.amend(&fw, &fw.steps[0].id, None),
                Err(EngineError::Closed),
                "{}",
                fw.id
            );
            assert_eq!(s.back(&fw), Err(EngineError::Closed), "{}", fw.id);
        }
    }

    #[test]
    fn a_step_can_be_confirmed_once_its_required_answers_are_in() {
        let mut with_optional = 0;
        for fw in catalogue().frameworks {
            let mut s = started(&fw);
            for step in &fw.steps {
                // A step without required questions (OSKAR's review) can be passed at once.
                let required = step.fields.iter().any(|f| f.required);
                assert_eq!(s.can_proceed(&fw), !required, "{} {}", fw.id, step.id);
                fill_required(&fw, &mut s);
                assert!(s.can_proceed(&fw), "{} {}", fw.id, step.id);
                if s.phase == Phase::Asking {
                    // Optional questions remain, but they don't hold the person back.
                    with_optional += 1;
                    assert!(!s.pending_field(&fw).unwrap().required);
                }
                s.proceed(&fw).unwrap();
            }
            assert!(s.is_complete(), "{}", fw.id);
        }
        assert!(with_optional > 0, "the catalogue has optional questions");
    }

    #[test]
    fn a_session_can_be_ended_early_and_keeps_what_was_said() {
        let cat = catalogue();
        let fw = cat.get("GROW").unwrap();
        let mut s = started(fw);
        s.answer(fw, "Lead the platform team", NOW).unwrap();
        s.pause();
        assert!(!s.can_proceed(fw));
        s.end().unwrap();
        assert_eq!(s.phase, Phase::Closed);
        assert!(s.ended_early);
        assert!(!s.paused);
        assert_eq!(
            s.value("goal"),
            Some(&Value::Text("Lead the platform team".into()))
        );
        assert_eq!(s.end(), Err(EngineError::Closed));
        assert_eq!(s.answer(fw, "more", NOW), Err(EngineError::Closed));
        // A complete session ended is simply closed.
        let mut done = started(fw);
        for _ in &fw.steps {
            fill_step(fw, &mut done);
            done.proceed(fw).unwrap();
        }
        done.end().unwrap();
        assert_eq!(done.phase, Phase::Closed);
        assert!(!done.ended_early);
    }

    #[test]
    fn back_returns_to_the_previous_step() {
        let cat = catalogue();
        let fw = cat.get("WOOP").unwrap();
        let mut s = started(fw);
        assert_eq!(s.back(fw), Err(EngineError::AtFirstStep));
        assert_eq!(
            EngineError::AtFirstStep.to_string(),
            "This is the first step: there's no step before it."
        );
        fill_step(fw, &mut s);
        s.proceed(fw).unwrap();
        s.back(fw).unwrap();
        assert_eq!(s.current, 0);
        assert_eq!(
            s.phase,
            Phase::Confirming,
            "answers are kept; confirm again"
        );
    }

    #[test]
    fn answers_are_parsed_into_their_types() {
        let cat = catalogue();
        let grow = cat.get("GROW").unwrap();
        let field = |id: &str| {
            grow.steps
                .iter()
                .flat_map(|s| s.fields.iter())
                .find(|f| f.id == id)
                .unwrap()
                .clone()
        };
        assert_eq!(
            parse_value(&field("commitment"), "I'd say an 8", NOW, dates::Zone::UTC),
            Ok(Value::Scale(8))
        );
        for (said, want) in [
            ("7", Some(7)),
            ("about a 3 out of 10", Some(3)),
            ("say a 9", Some(9)),
            ("7/10", Some(7)),
            ("8, maybe 9", Some(9)),
            ("a solid 6 I think", Some(6)),
            ("Honestly? 4.", Some(4)),
            ("three", Some(3)),
            ("10 out of 10", Some(10)),
            ("6 or 7", None),
            ("6-7", None),
            ("Ask Priya for a 1:1 on Tuesday and talk it through", None),
            ("We meet 2 times a week and it is going ok", None),
            ("11", None),
            ("no idea", None),
        ] {
            assert_eq!(
                parse_value(&field("commitment"), said, NOW, dates::Zone::UTC).ok(),
                want.map(Value::Scale),
                "{said}"
            );
        }
        assert_eq!(
            parse_value(&field("commitment"), "6 or 7", NOW, dates::Zone::UTC),
            Err(EngineError::Invalid(
                "6 or 7? Pick the one number from 1 to 10 that fits best.".into()
            ))
        );
        assert_eq!(
            parse_value(&field("commitment"), "seven", NOW, dates::Zone::UTC),
            Ok(Value::Scale(7))
        );
        assert!(
            matches!(parse_value(&field("commitment"), "11", NOW, dates::Zone::UTC), Err(EngineError::Invalid(m)) if m.contains("1 to 10"))
        );
        assert_eq!(
            parse_value(
                &field("success_criteria"),
                "- a promotion\n- a raise\n",
                NOW,
                dates::Zone::UTC,
            ),
            Ok(Value::List(vec!["a promotion".into(), "a raise".into()]))
        );
        assert_eq!(
            parse_value(
                &field("constraints"),
                "time, money and energy",
                NOW,
                dates::Zone::UTC
            ),
            Ok(Value::List(vec!["time".into(), "money and energy".into()]))
        );
        match parse_value(
            &field("actions"),
            "Email Priya the draft by Friday; Book a coach",
            NOW,
            dates::Zone::UTC,
        )
        .unwrap()
        {
            Value::Actions(a) => {
                assert_eq!(a[0].title, "Email Priya the draft");
                assert_eq!(
                    a[0].due_ms,
                    Some(crate::dates::from_ymd(2026, 1, 16) + 86_400_000 - 1)
                );
                assert_eq!(a[1].title, "Book a coach");
                assert_eq!(a[1].due_ms, None);
            }
            other => panic!("{other:?}"),
        }
        match parse_value(&field("timeframe"), "in 3 days", NOW, dates::Zone::UTC).unwrap() {
            Value::Date(d) => assert!(d.at_ms.is_some()),
            other => panic!("{other:?}"),
        }
        // A required date must be a date; a time of day after it is fine.
        match parse_value(
            &field("timeframe"),
            "Saturday afternoon",
            NOW,
            dates::Zone::UTC,
        )
        .unwrap()
        {
            Value::Date(d) => assert_eq!(
                d.at_ms,
                Some(crate::dates::from_ymd(2026, 1, 17) + 86_400_000 - 1)
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_value(&field("timeframe"), "when the kids are back at school", NOW, dates::Zone::UTC),
            Err(EngineError::Invalid(
                "I couldn't find a date in \u{201c}when the kids are back at school\u{201d}: try \"Saturday\", \"in 3 days\", \"the 20th\" or \"15 March\".".into()
            ))
        );
        // An optional one keeps the person's words even without a date in them.
        let mut optional = field("timeframe");
        optional.required = false;
        match parse_value(
            &optional,
            "when the kids are back at school",
            NOW,
            dates::Zone::UTC,
        )
        .unwrap()
        {
            Value::Date(d) => assert_eq!(
                (d.phrase.as_str(), d.at_ms),
                ("when the kids are back at school", None)
            ),
            other => panic!("{other:?}"),
        }
        let compass = cat.get("COMPASS").unwrap();
        let mindset = compass
            .steps
            .iter()
            .flat_map(|s| s.fields.iter())
            .find(|f| f.id == "initial_mindset")
            .unwrap();
        assert_eq!(
            parse_value(mindset, "Honestly? Resistant.", NOW, dates::Zone::UTC),
            Ok(Value::Choice("resistant".into()))
        );
        assert_eq!(
            parse_value(mindset, "3", NOW, dates::Zone::UTC),
            Ok(Value::Choice("open".into()))
        );
        assert!(parse_value(mindset, "grumpy", NOW, dates::Zone::UTC).is_err());
        let goal = field("goal");
        assert!(parse_value(&goal, &"x".repeat(5_000), NOW, dates::Zone::UTC).is_err());
    }

    #[test]
    fn a_paused_session_asks_nothing_until_resumed() {
        let cat = catalogue();
        let fw = cat.get("GROW").unwrap();
        let mut s = started(fw);
        s.pause();
        assert_eq!(s.answer(fw, "x", NOW), Err(EngineError::Paused));
        s.resume();
        assert!(s.answer(fw, "x", NOW).is_ok());
    }
}
