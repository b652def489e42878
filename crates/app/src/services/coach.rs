//! Coaches behind one trait. The built-in coach (offline, deterministic, the default) answers
//! from the domain's rules; the model coach asks any OpenAI-compatible endpoint and hands the
//! turn to the built-in coach whenever the model can't answer it well, saying so.
//!
//! The coaching service stays the same whichever coach is on: it saves the person's words,
//! screens them, asks `state.coach`, then saves the reply and the engine's state. A coach gets
//! the turn and a [`CallLog`] (to record model calls and check the day's budget), nothing
//! else of the application.

use super::llm::{Call, CallError, CallFor, CallLog, LlmClient};
use coachflux_domain::coach as builtin;
use coachflux_domain::engine::{Narrative, Phase, SessionState};
use coachflux_domain::frameworks::Framework;
use coachflux_domain::llm::{self, Message};
use coachflux_store::coaching::Reflection;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc::UnboundedSender;

pub type CoachFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a streamed reply sends its reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Streamed {
    /// More reply text.
    Delta(String),
    /// Drop what was shown of this reply: another one replaces it.
    Reset,
}

/// Where a reply streams to (the page's or an API client's event stream).
#[derive(Clone)]
pub struct ReplySink {
    tx: UnboundedSender<Streamed>,
    shown: Arc<AtomicBool>,
}

impl ReplySink {
    pub fn new(tx: UnboundedSender<Streamed>) -> Self {
        Self {
            tx,
            shown: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn text(&self, text: String) {
        if !text.is_empty() {
            self.shown.store(true, Ordering::Relaxed);
            let _ = self.tx.send(Streamed::Delta(text));
        }
    }

    /// Takes back whatever was shown since the last reset (nothing is sent if nothing was).
    pub fn reset(&self) {
        if self.shown.swap(false, Ordering::Relaxed) {
            let _ = self.tx.send(Streamed::Reset);
        }
    }
}

/// One turn for a coach to answer.
pub struct TurnContext<'a> {
    pub calls: &'a CallLog,
    pub who: CallFor<'a>,
    pub framework: &'a Framework,
    /// The conversation so far, oldest first (without this turn).
    pub history: &'a [Reflection],
    pub input: &'a str,
    pub now: i64,
    pub sink: Option<&'a ReplySink>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoachReply {
    pub text: String,
    /// `builtin` or `openai`.
    pub coach: &'static str,
    /// Why the built-in coach answered although the model coach is on.
    pub note: Option<&'static str>,
    /// Whether the answer was taken (otherwise the reply says what is needed).
    pub accepted: bool,
    /// The risk the model judged in the answer (the built-in coach judges none: the safety
    /// screen has already read it).
    pub risk: coachflux_domain::llm::Risk,
}

/// The report's narrative from a coach; `None` keeps the built-in summary, which is computed
/// from the captured fields whenever the report is shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportNarrative {
    pub narrative: Option<Narrative>,
    /// Why the built-in coach wrote the report although the model coach is on.
    pub note: Option<&'static str>,
}

/// A coach answers turns (capturing what it understood into the engine) and writes the
/// report's narrative when a session closes.
pub trait Coach: Send + Sync {
    fn turn<'a>(
        &'a self,
        ctx: TurnContext<'a>,
        engine: &'a mut SessionState,
    ) -> CoachFuture<'a, CoachReply>;

    fn report<'a>(
        &'a self,
        calls: &'a CallLog,
        who: CallFor<'a>,
        framework: &'a Framework,
        engine: &'a SessionState,
    ) -> CoachFuture<'a, ReportNarrative>;
}

/// The offline coach: one question at a time, the person's words reflected back.
pub struct BuiltinCoach;

impl BuiltinCoach {
    fn answer(
        framework: &Framework,
        engine: &mut SessionState,
        input: &str,
        now: i64,
    ) -> CoachReply {
        let (text, accepted) = match builtin::respond(framework, engine, input, now) {
            Ok(reply) => (reply.text, true),
            Err(e) => (
                format!("{e} {}", builtin::next_prompt(framework, engine)),
                false,
            ),
        };
        CoachReply {
            text,
            coach: "builtin",
            note: None,
            accepted,
            risk: coachflux_domain::llm::Risk::None,
        }
    }
}

impl Coach for BuiltinCoach {
    fn turn<'a>(
        &'a self,
        ctx: TurnContext<'a>,
        engine: &'a mut SessionState,
    ) -> CoachFuture<'a, CoachReply> {
        Box::pin(async move {
            let reply = Self::answer(ctx.framework, engine, ctx.input, ctx.now);
            if let Some(sink) = ctx.sink {
                sink.text(reply.text.clone());
            }
            reply
        })
    }

    fn report<'a>(
        &'a self,
        _calls: &'a CallLog,
        _who: CallFor<'a>,
        _framework: &'a Framework,
        _engine: &'a SessionState,
    ) -> CoachFuture<'a, ReportNarrative> {
        Box::pin(async { ReportNarrative::default() })
    }
}

/// Why the built-in coach answered instead of the model.
#[derive(Debug)]
enum Fallback {
    Budget,
    Call(CallError),
    Invalid,
    Guarded,
}

impl Fallback {
    /// The note the page shows with the reply.
    fn note(&self) -> &'static str {
        match self {
            Fallback::Budget => {
                "You've reached today's limit for the AI coach, so the built-in coach is answering until tomorrow."
            }
            Fallback::Call(_) | Fallback::Invalid => {
                "The AI coach couldn't answer just now, so the built-in coach replied."
            }
            Fallback::Guarded => {
                "The AI coach's reply didn't pass our checks, so the built-in coach replied."
            }
        }
    }

    fn report_note(&self) -> &'static str {
        match self {
            Fallback::Budget => {
                "You've reached today's limit for the AI coach, so the built-in coach wrote this report."
            }
            Fallback::Call(_) | Fallback::Invalid | Fallback::Guarded => {
                "The AI coach couldn't write this report, so the built-in coach did."
            }
        }
    }

    fn log(&self, what: &str) {
        match self {
            Fallback::Call(e) => {
                tracing::warn!(error = %e, "the model failed; the built-in coach answers the {what}");
            }
            other => {
                tracing::info!(reason = ?other, "the built-in coach answers the {what}");
            }
        }
    }
}

/// The coach that asks a model, with the built-in coach behind it.
pub struct ModelCoach {
    client: LlmClient,
}

impl ModelCoach {
    pub fn new(client: LlmClient) -> Self {
        Self { client }
    }

    /// One call for `(purpose, prompt version)`, recorded when it is retried without
    /// `response_format` (the caller records the call it gets back, with the outcome of
    /// validating it).
    async fn call(
        &self,
        calls: &CallLog,
        who: &CallFor<'_>,
        (purpose, prompt_version): (&str, &str),
        messages: &[Message],
        schema: &serde_json::Value,
        sink: Option<&ReplySink>,
    ) -> Call {
        let call = self.client.attempt(messages, Some(schema), sink).await;
        if !self.client.refused_structured(&call) {
            return call;
        }
        // An older server: instructions and parsing from now on.
        calls
            .record(who, purpose, prompt_version, &call, None)
            .await;
        self.client.disable_structured();
        self.client.attempt(messages, Some(schema), sink).await
    }

    /// Asks the model for a turn, with one repair request for an invalid answer.
    async fn ask(
        &self,
        ctx: &TurnContext<'_>,
        engine: &SessionState,
    ) -> Result<llm::ModelTurn, Fallback> {
        let (calls, who) = (ctx.calls, &ctx.who);
        let history: Vec<(String, String)> = ctx
            .history
            .iter()
            .map(|t| {
                let reply = serde_json::from_str::<serde_json::Value>(&t.payload)
                    .ok()
                    .and_then(|p| p["reply"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                (t.user_input.clone(), reply)
            })
            .collect();
        let mut messages = llm::turn_messages(
            ctx.framework,
            engine,
            &history,
            ctx.input,
            self.client.context_tokens(),
        );
        let schema = llm::turn_schema(ctx.framework, engine);
        for purpose in ["turn", "repair"] {
            if !calls.within_budget(who).await {
                return Err(Fallback::Budget);
            }
            // A repair replaces whatever the refused answer showed.
            if let Some(sink) = ctx.sink {
                sink.reset();
            }
            let version = if purpose == "repair" {
                llm::TURN_REPAIR_PROMPT_VERSION
            } else {
                llm::TURN_PROMPT_VERSION
            };
            let call = self
                .call(calls, who, (purpose, version), &messages, &schema, ctx.sink)
                .await;
            let content = match &call.result {
                Ok(c) => c.content.clone(),
                Err(e) => {
                    calls.record(who, purpose, version, &call, None).await;
                    return Err(Fallback::Call(e.clone()));
                }
            };
            match llm::parse_turn(ctx.framework, engine, &content, ctx.now) {
                Ok(t) if llm::guard(&t.reply).is_err() => {
                    calls
                        .record(who, purpose, version, &call, Some("guarded"))
                        .await;
                    return Err(Fallback::Guarded);
                }
                Ok(t) => {
                    calls.record(who, purpose, version, &call, None).await;
                    return Ok(t);
                }
                Err(errors) => {
                    calls
                        .record(who, purpose, version, &call, Some("invalid"))
                        .await;
                    messages.push(Message {
                        role: "assistant",
                        content,
                    });
                    messages.push(llm::repair_message(&errors));
                }
            }
        }
        Err(Fallback::Invalid)
    }

    /// Asks the model for the report's narrative, validated and guarded like a turn, with one
    /// repair request.
    async fn narrative(
        &self,
        calls: &CallLog,
        who: &CallFor<'_>,
        framework: &Framework,
        engine: &SessionState,
    ) -> Result<Narrative, Fallback> {
        let mut messages = llm::report_messages(framework, engine);
        let schema = llm::report_schema();
        for purpose in ["report", "repair"] {
            let version = if purpose == "repair" {
                llm::REPORT_REPAIR_PROMPT_VERSION
            } else {
                llm::REPORT_PROMPT_VERSION
            };
            if !calls.within_budget(who).await {
                return Err(Fallback::Budget);
            }
            let call = self
                .call(calls, who, (purpose, version), &messages, &schema, None)
                .await;
            let content = match &call.result {
                Ok(c) => c.content.clone(),
                Err(e) => {
                    calls.record(who, purpose, version, &call, None).await;
                    return Err(Fallback::Call(e.clone()));
                }
            };
            match llm::parse_report(&content) {
                Ok(r) => {
                    let guarded = std::iter::once(&r.summary)
                        .chain(&r.insights)
                        .chain(&r.unexplored_options)
                        .chain(&r.risks)
                        .any(|t| llm::guard(t).is_err());
                    let outcome = guarded.then_some("guarded");
                    calls.record(who, purpose, version, &call, outcome).await;
                    if guarded {
                        return Err(Fallback::Guarded);
                    }
                    return Ok(Narrative {
                        summary: r.summary,
                        insights: r.insights,
                        unexplored_options: r.unexplored_options,
                        risks: r.risks,
                    });
                }
                Err(errors) => {
                    calls
                        .record(who, purpose, version, &call, Some("invalid"))
                        .await;
                    messages.push(Message {
                        role: "assistant",
                        content,
                    });
                    messages.push(llm::repair_message(&errors));
                }
            }
        }
        Err(Fallback::Invalid)
    }
}

impl Coach for ModelCoach {
    fn turn<'a>(
        &'a self,
        ctx: TurnContext<'a>,
        engine: &'a mut SessionState,
    ) -> CoachFuture<'a, CoachReply> {
        Box::pin(async move {
            // Only a step that is asking takes answers; otherwise (a step waiting to be
            // confirmed, every step done) the built-in coach says what to do next, and no
            // model call is spent on it.
            if engine.phase != Phase::Asking {
                let reply = BuiltinCoach::answer(ctx.framework, engine, ctx.input, ctx.now);
                if let Some(sink) = ctx.sink {
                    sink.text(reply.text.clone());
                }
                return reply;
            }
            let answer = self.ask(&ctx, engine).await;
            let reason = match answer {
                Ok(t) => match engine.capture(ctx.framework, t.captured) {
                    Ok(()) => {
                        return CoachReply {
                            text: t.reply,
                            coach: "openai",
                            note: None,
                            accepted: true,
                            risk: t.risk,
                        };
                    }
                    Err(_) => Fallback::Invalid,
                },
                Err(reason) => reason,
            };
            reason.log("turn");
            if let Some(sink) = ctx.sink {
                sink.reset();
            }
            let mut reply = BuiltinCoach::answer(ctx.framework, engine, ctx.input, ctx.now);
            if let Some(sink) = ctx.sink {
                sink.text(reply.text.clone());
            }
            reply.note = Some(reason.note());
            reply
        })
    }

    fn report<'a>(
        &'a self,
        calls: &'a CallLog,
        who: CallFor<'a>,
        framework: &'a Framework,
        engine: &'a SessionState,
    ) -> CoachFuture<'a, ReportNarrative> {
        Box::pin(async move {
            match self.narrative(calls, &who, framework, engine).await {
                Ok(n) => ReportNarrative {
                    narrative: Some(n),
                    note: None,
                },
                Err(reason) => {
                    reason.log("report");
                    ReportNarrative {
                        narrative: None,
                        note: Some(reason.report_note()),
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    #[test]
    fn a_reset_is_sent_only_after_something_was_shown() {
        let (tx, mut rx) = unbounded_channel();
        let sink = ReplySink::new(tx);
        sink.reset();
        sink.text(String::new());
        sink.reset();
        sink.text("Hello ".into());
        sink.reset();
        sink.reset();
        sink.text("Again".into());
        drop(sink);
        let mut got = Vec::new();
        while let Ok(e) = rx.try_recv() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                Streamed::Delta("Hello ".into()),
                Streamed::Reset,
                Streamed::Delta("Again".into())
            ]
        );
    }
}
