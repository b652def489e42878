//! The OpenAI-compatible chat-completions client (plain and streamed), with every call
//! recorded in `llm_calls` and in `/metrics` and the per-person daily budget. The model coach
//! (`services::coach`) builds on it.

use super::coach::ReplySink;
use crate::config::OpenAiConfig;
use coachflux_domain::clock::DAY_MS;
use coachflux_domain::ids::new_id;
use coachflux_domain::llm::Message;
use coachflux_store::llm_calls::{self, NewCall};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

/// Why a call failed, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the model server did not answer within {0} s")]
    Timeout(u64),
    #[error("cannot reach the model server: {0}")]
    Unreachable(String),
    #[error("the model server answered {status}: {detail}")]
    Http { status: u16, detail: String },
    #[error("the model server's answer was not a chat completion: {0}")]
    Malformed(String),
}

impl CallError {
    fn outcome(&self) -> &'static str {
        match self {
            CallError::Timeout(_) => "timeout",
            CallError::Unreachable(_) => "unreachable",
            CallError::Http { .. } | CallError::Malformed(_) => "http_error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub content: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// One call to the model server: what came back and how long it took (failures too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub result: Result<Completion, CallError>,
    pub latency_ms: i64,
}

/// A chat-completions client for one configured endpoint and model.
#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: OpenAiConfig,
    /// Whether the server accepted `response_format: json_schema` (cleared when it refuses).
    structured: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LlmClient {
    pub fn new(config: OpenAiConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(10)))
            .build()
            .map_err(|e| format!("the model HTTP client: {e}"))?;
        Ok(Self {
            http,
            config,
            structured: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
        })
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// The prompt's token budget: the context less room for the answer (`max_tokens`).
    pub fn context_tokens(&self) -> usize {
        prompt_budget(self.config.context_tokens, self.config.max_tokens)
    }

    fn body(&self, messages: &[Message], schema: Option<&Json>, stream: bool) -> Json {
        let mut body = json!({
            "model": self.config.model,
            "messages": messages.iter().map(Message::to_json).collect::<Vec<_>>(),
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
        });
        if let Some(schema) = schema
            && self.structured.load(std::sync::atomic::Ordering::Relaxed)
        {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "coach_answer", "schema": schema, "strict": false}
            });
        }
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    async fn post(&self, body: &Json) -> Result<reqwest::Response, CallError> {
        let mut req = self
            .http
            .post(format!("{}/chat/completions", self.config.base_url))
            .json(body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key.expose());
        }
        let response = req.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<Json>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(CallError::Http {
            status: status.as_u16(),
            detail,
        })
    }

    fn transport_error(&self, e: &reqwest::Error) -> CallError {
        if e.is_timeout() {
            CallError::Timeout(self.config.timeout_secs)
        } else {
            CallError::Unreachable(
                std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string()),
            )
        }
    }

    /// Whether the server refused `response_format` (an older server): the caller then turns
    /// it off with [`LlmClient::disable_structured`] and asks again.
    pub fn refused_structured(&self, call: &Call) -> bool {
        self.structured.load(std::sync::atomic::Ordering::Relaxed)
            && matches!(&call.result, Err(CallError::Http { status: 400 | 422, detail }) if detail.to_lowercase().contains("response_format"))
    }

    /// From now on, ask for JSON by instruction only.
    pub fn disable_structured(&self) {
        self.structured
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// One completion. With `sink`, it streams and hands out the reply text as it comes.
    pub async fn attempt(
        &self,
        messages: &[Message],
        schema: Option<&Json>,
        sink: Option<&ReplySink>,
    ) -> Call {
        let started = Instant::now();
        let result = self.complete_once(messages, schema, sink).await;
        Call {
            result,
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        }
    }

    async fn complete_once(
        &self,
        messages: &[Message],
        schema: Option<&Json>,
        sink: Option<&ReplySink>,
    ) -> Result<Completion, CallError> {
        let body = self.body(messages, schema, sink.is_some());
        let response = self.post(&body).await?;
        let prompt_estimate = messages
            .iter()
            .map(|m| coachflux_domain::llm::approx_tokens(&m.content))
            .sum::<usize>();
        let (content, usage) = match sink {
            None => {
                let v: Json = response
                    .json()
                    .await
                    .map_err(|e| CallError::Malformed(e.to_string()))?;
                let content = v["choices"][0]["message"]["content"]
                    .as_str()
                    .ok_or_else(|| CallError::Malformed("no choices[0].message.content".into()))?
                    .to_owned();
                (content, v.get("usage").cloned())
            }
            Some(sink) => self.read_stream(response, sink).await?,
        };
        // Servers that send no usage get an estimate, so budgets and totals still add up.
        let tokens = |key: &str, estimate: usize| {
            usage
                .as_ref()
                .and_then(|u| u[key].as_i64())
                .unwrap_or_else(|| i64::try_from(estimate).unwrap_or(0))
        };
        Ok(Completion {
            prompt_tokens: tokens("prompt_tokens", prompt_estimate),
            completion_tokens: tokens(
                "completion_tokens",
                coachflux_domain::llm::approx_tokens(&content),
            ),
            content,
        })
    }

    /// Reads a server-sent-events completion, passing reply text to `sink` as it decodes.
    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        sink: &ReplySink,
    ) -> Result<(String, Option<Json>), CallError> {
        let mut content = String::new();
        let mut usage = None;
        let mut pending = String::new();
        let mut reply = coachflux_domain::llm::ReplyStream::default();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| self.transport_error(&e))?;
            let Some(chunk) = chunk else { break };
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find('\n') {
                let line: String = pending.drain(..=end).collect();
                let Some(data) = line.trim().strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    return Ok((content, usage));
                }
                let Ok(event) = serde_json::from_str::<Json>(data) else {
                    return Err(CallError::Malformed("a stream event was not JSON".into()));
                };
                if let Some(u) = event.get("usage").filter(|u| u.is_object()) {
                    usage = Some(u.clone());
                }
                if let Some(delta) = event["choices"][0]["delta"]["content"].as_str() {
                    content.push_str(delta);
                    sink.text(reply.push(delta));
                }
            }
        }
        Ok((content, usage))
    }
}

/// Who a call is for, to record it and count the daily budget.
pub struct CallFor<'a> {
    pub session_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
}

impl CallFor<'_> {
    fn anonymous_key(&self) -> Option<String> {
        self.anonymous_id.map(crate::crypto::hash_token)
    }
}

/// Where a coach records its model calls and checks a person's daily budget: the one thing
/// of the application a coach needs besides the turn itself.
#[derive(Clone)]
pub struct CallLog {
    store: coachflux_store::Store,
    metrics: crate::metrics::Metrics,
    clock: coachflux_domain::SharedClock,
    /// The model recorded on each call (empty with the built-in coach).
    model: String,
    /// Model calls per person per UTC day.
    daily_calls: i64,
}

impl CallLog {
    pub fn new(
        store: coachflux_store::Store,
        metrics: crate::metrics::Metrics,
        clock: coachflux_domain::SharedClock,
        model: String,
        daily_calls: i64,
    ) -> Self {
        Self {
            store,
            metrics,
            clock,
            model,
            daily_calls,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Records one call (row and metrics); `outcome_override` is what validating a completed
    /// answer found (`invalid`, `guarded`).
    pub async fn record(
        &self,
        who: &CallFor<'_>,
        purpose: &str,
        prompt_version: &str,
        call: &Call,
        outcome_override: Option<&str>,
    ) {
        let (prompt_tokens, completion_tokens, outcome) = match &call.result {
            Ok(c) => (
                c.prompt_tokens,
                c.completion_tokens,
                outcome_override.unwrap_or("ok"),
            ),
            Err(e) => (0, 0, e.outcome()),
        };
        self.metrics.record_llm_call(
            purpose,
            outcome,
            u64::try_from(prompt_tokens).unwrap_or(0),
            u64::try_from(completion_tokens).unwrap_or(0),
            Duration::from_millis(u64::try_from(call.latency_ms).unwrap_or(0)),
        );
        let anonymous_key = who.anonymous_key();
        let row = NewCall {
            id: &new_id(),
            session_id: who.session_id,
            user_id: who.user_id,
            anonymous_key: if who.user_id.is_some() {
                None
            } else {
                anonymous_key.as_deref()
            },
            purpose,
            model: &self.model,
            prompt_version,
            prompt_tokens,
            completion_tokens,
            latency_ms: call.latency_ms,
            outcome,
            now: self.clock.now_ms(),
        };
        let saved = match self.store.conn().await {
            Ok(mut conn) => llm_calls::insert(&mut conn, &row).await,
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            tracing::warn!(error = %e, "recording a model call");
        }
    }

    /// Whether the person still has model calls left today (UTC day).
    pub async fn within_budget(&self, who: &CallFor<'_>) -> bool {
        let now = self.clock.now_ms();
        let day_start = now - now.rem_euclid(DAY_MS);
        let key = who.anonymous_key();
        let count = match self.store.conn().await {
            Ok(mut conn) => {
                llm_calls::count_since(&mut conn, who.user_id, key.as_deref(), day_start).await
            }
            Err(e) => Err(e),
        };
        match count {
            Ok(n) => n < self.daily_calls,
            // Not knowing isn't a reason to tell the person they've used up their day.
            Err(e) => {
                tracing::warn!(error = %e, "counting model calls");
                true
            }
        }
    }
}

/// What is left of a context of `context` tokens for the prompt once `max_tokens` are kept
/// for the answer (never less than a quarter of it, so a generous `max_tokens` can't leave
/// the prompt nothing).
fn prompt_budget(context: usize, max_tokens: u32) -> usize {
    let answer = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    context.saturating_sub(answer).max(context / 4)
}

/// One tiny request, for `coachflux coach check`: the latency, or the exact problem.
pub async fn check(config: &OpenAiConfig) -> Call {
    let client = match LlmClient::new(config.clone()) {
        Ok(c) => c,
        Err(e) => {
            return Call {
                result: Err(CallError::Unreachable(e)),
                latency_ms: 0,
            };
        }
    };
    let messages = [Message {
        role: "user",
        content: "Reply with the word OK.".into(),
    }];
    client.attempt(&messages, None, None).await
}

#[cfg(test)]
mod tests {
    use super::prompt_budget;

    #[test]
    fn the_prompt_leaves_room_for_the_answer() {
        assert_eq!(prompt_budget(6000, 600), 5400);
        assert_eq!(prompt_budget(1000, 5000), 250);
        assert_eq!(prompt_budget(0, 600), 0);
    }
}
