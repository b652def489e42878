//! The LLM coach against a real HTTP server on loopback that speaks the chat-completions
//! protocol (plain and streamed), scripted per test: valid JSON, invalid JSON, invalid then
//! valid, slow beyond the timeout, 500, 401, a guarded reply, a refused connection.

use crate::harness::{Client, Engine, TestApp, spawn_with};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
enum Reply {
    /// A completion whose content is this text.
    Content(String),
    /// The same, without a `usage` object (some local servers send none).
    NoUsage(String),
    /// Streamed: the first half of the content, then the rest once the gate opens.
    Gated(String, Arc<tokio::sync::Notify>),
    Status(u16),
    /// 400 "response_format is not supported", as older servers answer a JSON schema.
    RefuseSchema,
    /// Answers after this many milliseconds.
    Slow(u64),
    /// Answers (with an empty turn) once the gate opens: the request is held while the test
    /// does something else.
    Held(Arc<tokio::sync::Notify>),
}

#[derive(Clone, Default)]
struct Stub {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl Stub {
    async fn start() -> (Self, SocketAddr) {
        let stub = Stub::default();
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(stub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (stub, addr)
    }

    fn then(&self, r: Reply) -> &Self {
        self.script.lock().unwrap().push_back(r);
        self
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

fn turn_json(reply: &str, captured: Value) -> String {
    json!({"reply": reply, "captured": captured}).to_string()
}

fn sse_chunks(content: &str) -> Vec<String> {
    let chars: Vec<char> = content.chars().collect();
    chars
        .chunks(7)
        .map(|chunk| {
            let piece: String = chunk.iter().collect();
            let event = json!({"choices": [{"delta": {"content": piece}}]});
            format!("data: {event}\n\n")
        })
        .collect()
}

const USAGE: &str =
    "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 321, \"completion_tokens\": 45}}\n\n";

async fn complete(State(stub): State<Stub>, Json(body): Json<Value>) -> Response {
    stub.requests.lock().unwrap().push(body.clone());
    let next = stub.script.lock().unwrap().pop_front();
    let mut usage = true;
    let content = match next {
        Some(Reply::Content(c)) => c,
        Some(Reply::NoUsage(c)) => {
            usage = false;
            c
        }
        Some(Reply::Gated(c, gate)) => {
            assert_eq!(body["stream"], json!(true), "a gated reply streams");
            let mut chunks = sse_chunks(&c);
            let rest = chunks.split_off(chunks.len() / 2);
            let stream = futures_util::stream::unfold(
                (Some(chunks), Some(rest), gate),
                |(first, rest, gate)| async move {
                    if let Some(first) = first {
                        return Some((
                            Ok::<_, std::convert::Infallible>(first.concat()),
                            (None, rest, gate),
                        ));
                    }
                    let rest = rest?;
                    gate.notified().await;
                    Some((
                        Ok(format!("{}{USAGE}data: [DONE]\n\n", rest.concat())),
                        (None, None, gate),
                    ))
                },
            );
            return (
                [("content-type", "text/event-stream")],
                axum::body::Body::from_stream(stream),
            )
                .into_response();
        }
        Some(Reply::Status(s)) => {
            return (
                StatusCode::from_u16(s).unwrap(),
                Json(json!({"error": {"message": format!("scripted {s}")}})),
            )
                .into_response();
        }
        Some(Reply::RefuseSchema) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"message": "response_format json_schema is not supported by this server"}})),
            )
                .into_response();
        }
        Some(Reply::Held(gate)) => {
            gate.notified().await;
            turn_json("Held.", json!({}))
        }
        Some(Reply::Slow(ms)) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            turn_json("Too late.", json!({}))
        }
        None => turn_json("Tell me more.", json!({})),
    };
    if body["stream"] == json!(true) {
        let mut events = sse_chunks(&content).concat();
        if usage {
            events.push_str(USAGE);
        }
        events.push_str("data: [DONE]\n\n");
        return ([("content-type", "text/event-stream")], events).into_response();
    }
    let mut answer = json!({"choices": [{"message": {"role": "assistant", "content": content}}]});
    if usage {
        answer["usage"] = json!({"prompt_tokens": 321, "completion_tokens": 45});
    }
    Json(answer).into_response()
}

async fn app_with(engine: Engine, base: &str, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut overrides = vec![
        ("COACHFLUX_COACH", "openai"),
        ("COACHFLUX_OPENAI_BASE_URL", base),
        ("COACHFLUX_OPENAI_MODEL", "stub-model"),
        ("COACHFLUX_OPENAI_TIMEOUT_SECS", "1"),
    ];
    overrides.extend_from_slice(extra);
    spawn_with(engine, &overrides).await
}

/// A visitor's GROW session through the API, consented: (their client, session id).
async fn session(app: &TestApp) -> (Client, String) {
    let client = app.api();
    let s: Value = client
        .request(Method::POST, "/sessions")
        .json(&json!({"framework": "GROW"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    let anon = s["anonymousId"].as_str().unwrap().to_owned();
    let client = client.with_visitor(&anon);
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/consent"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (client, id)
}

async fn send_turn(client: &Client, id: &str, input: &str) -> Value {
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/turns"))
        .json(&json!({"input": input}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn last_payload(s: &Value) -> Value {
    s["reflections"].as_array().unwrap().last().unwrap()["payload"].clone()
}

async fn outcomes(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT purpose, outcome FROM llm_calls ORDER BY created_at, id")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}

/// Answers every question of a session with the built-in coach (each model call is scripted
/// to fail) and confirms each step; returns the session, complete.
async fn answer_every_step(stub: &Stub, client: &Client, id: &str) -> Value {
    for _ in 0..80 {
        stub.then(Reply::Status(500));
        let current: Value = client
            .request(Method::GET, &format!("/sessions/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match current["phase"].as_str().unwrap() {
            // The built-in coach, answering for the failing model, follows up: passed.
            "asking" if current["followUp"].is_object() => {
                client
                    .request(Method::POST, &format!("/sessions/{id}/skip"))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
            }
            "asking" => {
                let input = match current["pendingField"]["kind"].as_str().unwrap() {
                    "scale" => current["pendingField"]["max"].to_string(),
                    "choice" => current["pendingField"]["options"][0]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    "date" => "in 3 days".into(),
                    "list" | "actions" | "options" => "First\nSecond".into(),
                    _ => "Lead the platform team".into(),
                };
                send_turn(client, id, &input).await;
            }
            "confirming" => {
                client
                    .request(Method::POST, &format!("/sessions/{id}/proceed"))
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                stub.script.lock().unwrap().clear();
                return current;
            }
        }
    }
    panic!("the session did not complete");
}

/// The events of a Server-Sent Events body: (event, data).
fn sse_events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty() && !b.starts_with(':'))
        .map(|block| {
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("message")
                .to_owned();
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            (event, data)
        })
        .collect()
}

/// The reply a stream leaves on screen: the deltas after the last reset.
fn shown_text(events: &[(String, String)]) -> String {
    let mut shown = String::new();
    for (event, data) in events {
        match event.as_str() {
            "delta" => shown.push_str(&serde_json::from_str::<String>(data).unwrap()),
            "reset" => shown.clear(),
            _ => {}
        }
    }
    shown
}

async fn the_model_captures_fields_from_a_prompt_built_from_the_step(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    stub.then(Reply::Content(turn_json(
        "Leading the platform team is a big step. What makes it matter now?",
        json!({"goal": "Lead the platform team", "timeframe": "by June"}),
    )));
    let (client, id) = session(&app).await;
    let s = send_turn(&client, &id, "I want to lead the platform team by June").await;
    assert_eq!(s["steps"][0]["captured"]["goal"], "Lead the platform team");
    assert!(
        s["steps"][0]["captured"]["timeframe"]
            .as_str()
            .unwrap()
            .starts_with("by June")
    );
    let p = last_payload(&s);
    assert_eq!(p["coach"], "openai");
    assert!(p["note"].is_null());
    assert!(
        p["reply"]
            .as_str()
            .unwrap()
            .starts_with("Leading the platform team")
    );

    let req = &stub.requests()[0];
    assert_eq!(req["model"], "stub-model");
    assert_eq!(req["response_format"]["type"], "json_schema");
    let system = req["messages"][0]["content"].as_str().unwrap();
    let grow = coachflux_domain::Catalogue::builtin()
        .unwrap()
        .get("GROW")
        .unwrap()
        .clone();
    for q in &grow.steps[0].questions {
        assert!(
            system.contains(q.as_str()),
            "the step's question {q:?} is in the prompt"
        );
    }
    for f in &grow.steps[0].fields {
        let kind = match &f.kind {
            coachflux_domain::frameworks::FieldKind::Text { max_len } => {
                format!("text, up to {max_len} characters")
            }
            coachflux_domain::frameworks::FieldKind::List {
                max_items,
                item_max_len,
                ..
            } => {
                format!("list, up to {max_items} items of {item_max_len} characters")
            }
            coachflux_domain::frameworks::FieldKind::Date => {
                "a date or a phrase like \"by Friday\"".to_owned()
            }
            other => panic!("GROW's goal step has text, lists and a date, not {other:?}"),
        };
        let want = format!(
            "- {} ({}; {kind}, {}): {}",
            f.id,
            f.label,
            if f.required { "required" } else { "optional" },
            f.prompt
        );
        assert!(system.contains(&want), "{want} in {system}");
    }
    for needle in [
        "GROW",
        "step \"Goal\"",
        "- goal (",
        "- why_now (",
        "- success_criteria (",
        "required",
    ] {
        assert!(system.contains(needle), "{needle} in {system}");
    }
    let last = req["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["content"], "I want to lead the platform team by June");
    assert_eq!(outcomes(&app).await, [("turn".to_owned(), "ok".to_owned())]);
    let (p, c): (i64, i64) =
        sqlx::query_as("SELECT prompt_tokens, completion_tokens FROM llm_calls")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (p, c),
        (321, 45),
        "token accounting from the server's usage"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("llm_calls_total{purpose=\"turn\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("llm_prompt_tokens_total 321"), "{metrics}");

    // The next prompt knows what's captured and asks for what's missing.
    send_turn(&client, &id, "It lets me shape the roadmap").await;
    let system = stub.requests()[1]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        system.contains("- goal: Lead the platform team"),
        "{system}"
    );
    assert!(
        !system.contains("- goal ("),
        "a captured field is no longer missing"
    );
    let history = stub.requests()[1]["messages"].as_array().unwrap().len();
    assert_eq!(history, 4, "system, the first exchange, the new answer");
    app.stop().await;
}
crate::on_both_engines!(the_model_captures_fields_from_a_prompt_built_from_the_step);

async fn an_invalid_answer_is_repaired_once(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    stub.then(Reply::Content("Sure! Your goal sounds great.".into()))
        .then(Reply::Content(turn_json(
            "Got it. Why now?",
            json!({"goal": "Run a marathon"}),
        )));
    let (client, id) = session(&app).await;
    let s = send_turn(&client, &id, "Run a marathon").await;
    assert_eq!(last_payload(&s)["coach"], "openai");
    assert_eq!(s["steps"][0]["captured"]["goal"], "Run a marathon");
    let repair = &stub.requests()[1]["messages"];
    let last = repair.as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        last.contains("could not be used") && last.contains("not a JSON object"),
        "{last}"
    );
    assert_eq!(
        outcomes(&app).await,
        [
            ("turn".to_owned(), "invalid".to_owned()),
            ("repair".to_owned(), "ok".to_owned())
        ]
    );
    let versions: Vec<String> =
        sqlx::query_scalar("SELECT prompt_version FROM llm_calls ORDER BY created_at, id")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        versions,
        ["turn-v2", "turn-v2+repair-v1"],
        "a repair names its prompt file"
    );
    app.stop().await;
}
crate::on_both_engines!(an_invalid_answer_is_repaired_once);

async fn every_failure_falls_back_to_the_builtin_coach_and_keeps_the_words(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    let cases: Vec<(Vec<Reply>, &str)> = vec![
        (
            vec![
                Reply::Content("nope".into()),
                Reply::Content("{\"reply\": 5}".into()),
            ],
            "invalid",
        ),
        (vec![Reply::Status(500)], "http_error"),
        (vec![Reply::Status(401)], "http_error"),
        (vec![Reply::Slow(2_500)], "timeout"),
        (
            vec![Reply::Content(turn_json(
                "Honestly, you should sue them.",
                json!({}),
            ))],
            "guarded",
        ),
    ];
    let answers = [
        "Lead the platform team",
        "It lets me shape the roadmap",
        "Ship v2\nHire two",
        "by June",
        "I run a team of four",
    ];
    for (i, (script, outcome)) in cases.into_iter().enumerate() {
        for r in script {
            stub.then(r);
        }
        let s = send_turn(&client, &id, answers[i]).await;
        if s["phase"] == "confirming" {
            // The next answer belongs to the next step.
            let r = client
                .request(Method::POST, &format!("/sessions/{id}/proceed"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let p = last_payload(&s);
        assert_eq!(p["coach"], "builtin", "case {outcome}");
        assert!(
            p["note"].as_str().unwrap().contains("built-in coach"),
            "{p}"
        );
        let last = s["reflections"].as_array().unwrap().last().unwrap();
        assert_eq!(last["userInput"], answers[i], "the words are kept");
        assert!(!p["reply"].as_str().unwrap().is_empty());
        let recorded = outcomes(&app).await;
        assert_eq!(recorded.last().unwrap().1, outcome, "{recorded:?}");
    }
    let timeout_ms: i64 =
        sqlx::query_scalar("SELECT latency_ms FROM llm_calls WHERE outcome = 'timeout'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert!(
        timeout_ms >= 1_000,
        "a timed-out call records how long it waited: {timeout_ms}"
    );
    // The built-in coach captured each answer in turn.
    let s: Value = client
        .request(Method::GET, &format!("/sessions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["steps"][0]["captured"]["goal"], "Lead the platform team");
    assert_eq!(
        s["steps"][0]["captured"]["success_criteria"],
        "Ship v2; Hire two"
    );

    // The page says so, next to the reply.
    let b = app.new_browser();
    let (status, _, location) = b.submit("/sessions", &[("framework", "GROW")]).await;
    assert_eq!(status, 303);
    let path = location.unwrap();
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    stub.then(Reply::Status(500));
    assert_eq!(
        b.submit(
            &format!("{path}/turn"),
            &[("input", "Lead the platform team")]
        )
        .await
        .0,
        303
    );
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("class=\"hint coach-note\">The AI coach couldn&#39;t answer just now")
            || page.contains("The AI coach couldn't answer just now"),
        "{page}"
    );
    assert!(
        page.contains("data-stream"),
        "the form streams when the AI coach is on"
    );
    app.stop().await;
}
crate::on_both_engines!(every_failure_falls_back_to_the_builtin_coach_and_keeps_the_words);

async fn a_refused_connection_falls_back(engine: Engine) {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let Some(app) = app_with(engine, &format!("http://127.0.0.1:{port}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    let s = send_turn(&client, &id, "Lead the platform team").await;
    assert_eq!(last_payload(&s)["coach"], "builtin");
    assert_eq!(s["steps"][0]["captured"]["goal"], "Lead the platform team");
    assert_eq!(
        outcomes(&app).await,
        [("turn".to_owned(), "unreachable".to_owned())]
    );
    app.stop().await;
}
crate::on_both_engines!(a_refused_connection_falls_back);

async fn replies_stream_as_server_sent_events(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let reply = "That's a clear goal — \"lead\" is a big word.\nWhat makes it matter now?";
    stub.then(Reply::Content(turn_json(
        reply,
        json!({"goal": "Lead the team"}),
    )));
    let (client, id) = session(&app).await;
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/turns"))
        .header("Accept", "text/event-stream")
        .json(&json!({"input": "Lead the team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = r.text().await.unwrap();
    let mut streamed = String::new();
    let mut done = None;
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let event = block
            .lines()
            .find_map(|l| l.strip_prefix("event: "))
            .unwrap_or("message");
        let data: String = block
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        match event {
            "delta" => streamed.push_str(&serde_json::from_str::<String>(&data).unwrap()),
            "done" => done = Some(serde_json::from_str::<Value>(&data).unwrap()),
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    assert_eq!(streamed, reply, "the deltas spell the reply exactly");
    assert!(
        text.matches("event: delta").count() > 3,
        "in several pieces"
    );
    let done = done.expect("a final done event");
    assert_eq!(done["steps"][0]["captured"]["goal"], "Lead the team");
    assert_eq!(stub.requests()[0]["stream"], true);
    assert_eq!(outcomes(&app).await, [("turn".to_owned(), "ok".to_owned())]);

    // The web page's stream: the same events, ending with where to go next.
    let b = app.new_browser();
    let (_, _, location) = b.submit("/sessions", &[("framework", "GROW")]).await;
    let path = location.unwrap();
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    stub.then(Reply::Content(turn_json(
        "Noted. Why now?",
        json!({"goal": "Ship"}),
    )));
    let token = b.csrf().await;
    let r = b
        .request(Method::POST, &format!("{path}/turn"))
        .header("Accept", "text/event-stream")
        .header("X-CSRF-Token", token)
        .form(&[("input", "Ship")])
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains("event: done") && text.contains(&format!("{path}#answer")),
        "{text}"
    );
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("Noted. Why now?"));
    app.stop().await;
}
crate::on_both_engines!(replies_stream_as_server_sent_events);

async fn the_daily_budget_hands_over_to_the_builtin_coach(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(
        engine,
        &format!("http://{addr}/v1"),
        &[("COACHFLUX_COACH_DAILY_CALLS", "1")],
    )
    .await
    else {
        return;
    };
    let (client, id) = session(&app).await;
    stub.then(Reply::Content(turn_json(
        "Why now?",
        json!({"goal": "Lead"}),
    )));
    assert_eq!(
        last_payload(&send_turn(&client, &id, "Lead").await)["coach"],
        "openai"
    );
    let s = send_turn(&client, &id, "It matters for my career").await;
    let p = last_payload(&s);
    assert_eq!(p["coach"], "builtin");
    assert!(p["note"].as_str().unwrap().contains("today's limit"), "{p}");
    assert_eq!(stub.requests().len(), 1, "no call over the budget");
    // The next UTC day; the visitor's session (24 h from 10:00) is still there.
    app.clock.advance_ms(15 * 3_600_000);
    stub.then(Reply::Content(turn_json(
        "And how will you know?",
        json!({}),
    )));
    assert_eq!(
        last_payload(&send_turn(&client, &id, "Ship v2").await)["coach"],
        "openai",
        "a new day"
    );
    app.stop().await;
}
crate::on_both_engines!(the_daily_budget_hands_over_to_the_builtin_coach);

async fn the_report_is_written_by_the_model(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    let s = answer_every_step(&stub, &client, &id).await;
    assert_eq!(s["phase"], "complete", "{s}");
    // An answer without a summary gets one repair request.
    stub.then(Reply::Content(json!({"insights": ["x"]}).to_string()));
    stub.then(Reply::Content(
        json!({
            "summary": "You came in wanting to lead the platform team and left with a plan.",
            "insights": ["You already run planning."],
            "unexploredOptions": ["Ask for a trial period as acting lead."],
            "risks": ["Time."]
        })
        .to_string(),
    ));
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = client
        .request(Method::GET, &format!("/sessions/{id}/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["writtenBy"], "openai");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("You came in wanting")
    );
    assert_eq!(
        report["unexploredOptions"][0],
        "Ask for a trial period as acting lead."
    );
    let last = stub.requests().last().unwrap().clone();
    assert!(
        last["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Your goal: Lead the platform team")
    );
    assert!(
        last["messages"].as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("\"summary\" must be"),
        "the repair names the problem: {last}"
    );
    let recorded = outcomes(&app).await;
    assert_eq!(
        recorded[recorded.len() - 2..],
        [
            ("report".to_owned(), "invalid".to_owned()),
            ("repair".to_owned(), "ok".to_owned())
        ]
    );
    assert!(report["note"].is_null());

    // When the model can't write it, the built-in coach does, and the report says so.
    let (client, id) = session(&app).await;
    answer_every_step(&stub, &client, &id).await;
    stub.then(Reply::Status(503));
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = client
        .request(Method::GET, &format!("/sessions/{id}/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["writtenBy"], "builtin");
    assert!(
        report["note"]
            .as_str()
            .unwrap()
            .contains("the built-in coach did"),
        "{report}"
    );
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .contains("Lead the platform team"),
        "the built-in summary from the captured fields: {report}"
    );
    assert_eq!(
        outcomes(&app).await.last().unwrap(),
        &("report".to_owned(), "http_error".to_owned())
    );
    app.stop().await;
}
crate::on_both_engines!(the_report_is_written_by_the_model);

async fn streamed_replies_arrive_while_the_model_writes_and_the_words_are_saved_first(
    engine: Engine,
) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(
        engine,
        &format!("http://{addr}/v1"),
        &[("COACHFLUX_OPENAI_TIMEOUT_SECS", "10")],
    )
    .await
    else {
        return;
    };
    let gate = Arc::new(tokio::sync::Notify::new());
    let reply = "Leading the platform team is a real step up. What makes it matter now?";
    stub.then(Reply::Gated(
        turn_json(reply, json!({"goal": "Lead the platform team"})),
        gate.clone(),
    ));
    let (client, id) = session(&app).await;
    let mut r = client
        .request(Method::POST, &format!("/sessions/{id}/turns"))
        .header("Accept", "text/event-stream")
        .json(&json!({"input": "I want to lead the platform team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The first words arrive while the model is still writing (the gate is shut).
    let mut text = String::new();
    while !text.contains("event: delta") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), r.chunk())
            .await
            .expect("the first delta arrives before the model has finished")
            .unwrap()
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!text.contains("event: done"));
    // Meanwhile the person's words are already saved, and nothing is captured yet.
    let (input, payload): (String, String) =
        sqlx::query_as("SELECT user_input, payload FROM session_reflections WHERE session_id = $1")
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(input, "I want to lead the platform team");
    assert!(payload.contains("\"pending\":true"), "{payload}");
    gate.notify_one();
    while let Some(chunk) = r.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = sse_events(&text);
    assert_eq!(shown_text(&events), reply);
    assert!(
        events.iter().all(|(e, _)| e != "reset"),
        "nothing was taken back"
    );
    let (event, data) = events.last().unwrap();
    assert_eq!(event, "done");
    let done: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        done["steps"][0]["captured"]["goal"],
        "Lead the platform team"
    );
    app.stop().await;
}
crate::on_both_engines!(
    streamed_replies_arrive_while_the_model_writes_and_the_words_are_saved_first
);

async fn a_streamed_reply_that_fails_is_taken_back_and_replaced(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    let stream_turn = |input: &'static str| {
        let client = client.clone();
        let path = format!("/sessions/{id}/turns");
        async move {
            let r = client
                .request(Method::POST, &path)
                .header("Accept", "text/event-stream")
                .json(&json!({"input": input}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            sse_events(&r.text().await.unwrap())
        }
    };

    // A diagnosis part-way: nothing of it is shown, the shown start is taken back, and the
    // built-in coach's reply replaces it.
    stub.then(Reply::Content(turn_json(
        "Thanks for sharing that. It sounds like you have depression, and you should rest.",
        json!({"goal": "Feel better at work"}),
    )));
    let events = stream_turn("Feel better at work").await;
    let deltas: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| serde_json::from_str::<String>(d).unwrap())
        .collect();
    assert!(
        !deltas.to_lowercase().contains("depression"),
        "never shown: {deltas}"
    );
    assert!(
        deltas.starts_with("Thanks for sharing"),
        "the clean start streamed: {deltas}"
    );
    let at_reset = events
        .iter()
        .position(|(e, _)| e == "reset")
        .expect("a reset");
    assert!(at_reset > 0);
    let shown = shown_text(&events);
    assert!(
        shown.contains("“Feel better at work"),
        "the built-in coach's reply: {shown}"
    );
    let done: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    let p = last_payload(&done);
    assert_eq!(
        (p["coach"].as_str(), p["reply"].as_str()),
        (Some("builtin"), Some(shown.as_str()))
    );
    assert_eq!(outcomes(&app).await.last().unwrap().1, "guarded");

    // An invalid first answer streams, is taken back, and the repaired one streams instead.
    stub.then(Reply::Content(
        json!({"reply": "A first try that is not right", "captured": {"budget": "lots"}})
            .to_string(),
    ))
    .then(Reply::Content(turn_json(
        "Because the team is growing. How will you know you got there?",
        json!({"why_now": "The team is growing"}),
    )));
    let events = stream_turn("The team is growing").await;
    assert!(events.iter().any(|(e, _)| e == "reset"), "{events:?}");
    assert_eq!(
        shown_text(&events),
        "Because the team is growing. How will you know you got there?"
    );
    assert_eq!(
        stub.requests().last().unwrap()["stream"],
        true,
        "the repair streams too"
    );
    let recorded = outcomes(&app).await;
    assert_eq!(
        recorded[recorded.len() - 2..],
        [
            ("turn".to_owned(), "invalid".to_owned()),
            ("repair".to_owned(), "ok".to_owned())
        ]
    );

    // A 500 while streaming: nothing was shown, so nothing is taken back.
    stub.then(Reply::Status(500));
    let events = stream_turn("Ship v2\nHire two").await;
    assert!(events.iter().all(|(e, _)| e != "reset"), "{events:?}");
    assert!(
        shown_text(&events).starts_with("“Ship v2” and “Hire two”"),
        "{events:?}"
    );
    app.stop().await;
}
crate::on_both_engines!(a_streamed_reply_that_fails_is_taken_back_and_replaced);

async fn a_server_without_json_schemas_is_asked_by_instruction(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    stub.then(Reply::RefuseSchema)
        .then(Reply::NoUsage(turn_json(
            "Noted. Why now?",
            json!({"goal": "Lead the platform team"}),
        )));
    let (client, id) = session(&app).await;
    let s = send_turn(&client, &id, "Lead the platform team").await;
    assert_eq!(last_payload(&s)["coach"], "openai");
    assert_eq!(s["steps"][0]["captured"]["goal"], "Lead the platform team");
    let requests = stub.requests();
    assert_eq!(requests[0]["response_format"]["type"], "json_schema");
    assert!(
        requests[1].get("response_format").is_none(),
        "asked again by instruction"
    );
    assert!(
        requests[1]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("JSON"),
        "the instructions describe the JSON answer"
    );
    send_turn(&client, &id, "It matters now").await;
    assert!(
        stub.requests()[2].get("response_format").is_none(),
        "and from then on"
    );
    let calls: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT outcome, prompt_tokens, completion_tokens FROM llm_calls ORDER BY created_at, id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(calls[0].0, "http_error", "the refused call is recorded too");
    assert_eq!(calls[1].0, "ok");
    // Without usage from the server, tokens are estimated rather than left at zero.
    assert!(calls[1].1 > 50 && calls[1].2 > 5, "{calls:?}");
    app.stop().await;
}
crate::on_both_engines!(a_server_without_json_schemas_is_asked_by_instruction);

/// `coachflux coach check` against the stub: the latency, or the exact problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coach_check_reports_latency_or_the_exact_problem() {
    let _shared = crate::harness::shared().await;
    let (stub, addr) = Stub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |base: String, key: Option<&'static str>| {
        let dir = dir.path().to_owned();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_coachflux"));
                c.env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("COACHFLUX_DATA_DIR", dir.join("data"))
                    .env("COACHFLUX_COACH", "openai")
                    .env("COACHFLUX_OPENAI_BASE_URL", base)
                    .env("COACHFLUX_OPENAI_MODEL", "stub-model")
                    .env("COACHFLUX_OPENAI_TIMEOUT_SECS", "2")
                    .args(["coach", "check"]);
                if let Some(k) = key {
                    c.env("COACHFLUX_OPENAI_API_KEY", k);
                }
                let out = c.output().unwrap();
                (
                    out.status.success(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            })
            .await
            .unwrap()
        }
    };
    stub.then(Reply::Content("OK".into()));
    let (ok, stdout, stderr) = run(format!("http://{addr}/v1"), Some("sk-test")).await;
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok: answered in") && stdout.contains("321 prompt + 45 completion tokens"),
        "{stdout}"
    );
    assert!(!stdout.contains("sk-test"), "the key never shows");
    let sent = stub.requests().pop().unwrap();
    assert_eq!(sent["model"], "stub-model");

    stub.then(Reply::Status(401));
    let (ok, _, stderr) = run(format!("http://{addr}/v1"), Some("sk-wrong")).await;
    assert!(!ok);
    assert!(
        stderr.contains("answered 401") && stderr.contains("COACHFLUX_OPENAI_API_KEY"),
        "{stderr}"
    );

    stub.then(Reply::Status(404));
    let (ok, _, stderr) = run(format!("http://{addr}/v1"), None).await;
    assert!(!ok);
    assert!(
        stderr.contains("404") && stderr.contains("COACHFLUX_OPENAI_MODEL"),
        "{stderr}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (ok, _, stderr) = run(format!("http://127.0.0.1:{port}/v1"), None).await;
    assert!(!ok);
    assert!(stderr.contains("cannot reach the model server"), "{stderr}");
}

async fn staff_see_model_usage_per_session(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let b = &app.browser;
    let uid = crate::identity::signup(&app, b, "ada@example.com").await;
    let (_, _, location) = b.submit("/sessions", &[("framework", "GROW")]).await;
    let path = location.unwrap();
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    stub.then(Reply::Content(turn_json(
        "Why now?",
        json!({"goal": "Lead"}),
    )));
    b.submit(&format!("{path}/turn"), &[("input", "Lead")])
        .await;
    stub.then(Reply::Status(500));
    b.submit(&format!("{path}/turn"), &[("input", "It matters")])
        .await;
    assert_eq!(
        b.get("/admin/coach").await.status(),
        404,
        "members don't see it"
    );
    crate::identity::make_staff(&app, b, &uid).await;
    let (status, page, _) = b.page("/admin/coach").await;
    assert_eq!(status, 200);
    let id = path.rsplit('/').next().unwrap();
    let row = page.split(id).nth(1).expect("the session is listed");
    let cells: Vec<&str> = row
        .split("<td role=\"cell\" data-label=\"")
        .skip(1)
        .take(6)
        .map(|c| c.split_once("\">").unwrap().1.split('<').next().unwrap())
        .collect();
    assert_eq!(
        cells,
        ["GROW", "2", "1", "321", "45", cells[5]],
        "calls, failures, tokens: {row}"
    );
    assert!(page.contains("the AI coach (stub-model)"));
    app.stop().await;
}
crate::on_both_engines!(staff_see_model_usage_per_session);

async fn a_step_waiting_for_confirmation_spends_no_model_call(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    stub.then(Reply::Content(turn_json(
        "That's all for this step. Shall we go on?",
        json!({"goal": "Lead the platform team", "success_criteria": ["Ship v2"],
               "timeframe": "by June", "why_now": "The lead is leaving"}),
    )));
    let (client, id) = session(&app).await;
    let s = send_turn(&client, &id, "Lead the platform team by June").await;
    assert_eq!(s["phase"], "confirming", "{s}");
    // More words now: the built-in coach points at Proceed/Amend; the answers stay.
    let s = send_turn(&client, &id, "Actually, make it the data team").await;
    let p = last_payload(&s);
    assert_eq!(p["coach"], "builtin");
    assert!(p["note"].is_null(), "not a failure: {p}");
    assert!(p["reply"].as_str().unwrap().contains("proceed"), "{p}");
    assert_eq!(s["steps"][0]["captured"]["goal"], "Lead the platform team");
    assert_eq!(stub.requests().len(), 1, "the model was asked once");
    assert_eq!(outcomes(&app).await.len(), 1);
    app.stop().await;
}
crate::on_both_engines!(a_step_waiting_for_confirmation_spends_no_model_call);

/// Sends `request`, whose model call the stub holds; returns once the call is waiting, with
/// the gate that lets it go and the request's pending response.
async fn hold(
    stub: &Stub,
    request: reqwest::RequestBuilder,
) -> (
    Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<reqwest::Response>,
) {
    let gate = Arc::new(tokio::sync::Notify::new());
    stub.then(Reply::Held(gate.clone()));
    let asked = stub.requests().len();
    let pending = tokio::spawn(async move { request.send().await.unwrap() });
    for _ in 0..1000 {
        if stub.requests().len() > asked {
            return (gate, pending);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the request never asked the model");
}

/// Starts closing the session with its report call held by the stub (see [`hold`]).
async fn hold_a_close(
    stub: &Stub,
    client: &Client,
    id: &str,
) -> (
    Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<reqwest::Response>,
) {
    hold(
        stub,
        client.request(Method::POST, &format!("/sessions/{id}/close")),
    )
    .await
}

async fn keep_first_proposal(client: &Client, id: &str) {
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/proposals/0"))
        .json(&json!({"decision": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn a_second_close_while_the_first_waits_changes_nothing_twice(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    answer_every_step(&stub, &client, &id).await;
    keep_first_proposal(&client, &id).await;
    let (gate, first) = hold_a_close(&stub, &client, &id).await;
    // A second click lands while the first close waits for the model: it closes the session.
    let second = client
        .request(Method::POST, &format!("/sessions/{id}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    gate.notify_one();
    let first = first.await.unwrap();
    assert_eq!(first.status(), 409, "the late one saves nothing");
    let problem: Value = first.json().await.unwrap();
    assert_eq!(problem["code"], "conflict");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE event_name = 'session_completed'")
            .await,
        1
    );
    assert_eq!(session_status(&app, &id).await, "completed");
    app.stop().await;
}
crate::on_both_engines!(a_second_close_while_the_first_waits_changes_nothing_twice);

async fn a_close_that_lands_after_its_visitor_signed_up_creates_their_actions(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    answer_every_step(&stub, &client, &id).await;
    keep_first_proposal(&client, &id).await;
    let (gate, closing) = hold_a_close(&stub, &client, &id).await;
    // The visitor signs up (and in) in another tab while the close waits: the session moves
    // first.
    let password = "a long and unusual passphrase 42";
    let r = client
        .request(Method::POST, "/auth/signup")
        .json(&json!({"email": "vera@example.com", "password": password, "acceptTerms": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let token = crate::identity::verification_token(&app, "vera@example.com").await;
    let r = client
        .request(Method::POST, "/auth/verify-email")
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let signed: Value = client
        .request(Method::POST, "/auth/login")
        .json(&json!({"email": "vera@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = signed["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM action_items").await,
        0,
        "still open when it moved"
    );
    gate.notify_one();
    // The close lands, but the visitor id no longer owns what it would show.
    assert_eq!(closing.await.unwrap().status(), 404);
    assert_eq!(session_status(&app, &id).await, "completed");
    let owners: Vec<String> = sqlx::query_scalar("SELECT user_id FROM action_items")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    // Every proposal not dropped is kept: all of them are theirs, none lost.
    assert!(
        !owners.is_empty() && owners.iter().all(|o| *o == user_id),
        "{owners:?}"
    );
    app.stop().await;
}
crate::on_both_engines!(a_close_that_lands_after_its_visitor_signed_up_creates_their_actions);

async fn session_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM coaching_sessions WHERE id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn a_request_cut_off_by_the_server_timeout_keeps_the_words(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(
        engine,
        &format!("http://{addr}/v1"),
        &[("COACHFLUX_REQUEST_TIMEOUT_SECS", "1")],
    )
    .await
    else {
        return;
    };
    let (client, id) = session(&app).await;
    stub.then(Reply::Slow(2_500));
    let r = client
        .request(Method::POST, &format!("/sessions/{id}/turns"))
        .json(&json!({"input": "Lead the platform team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let inputs: Vec<String> =
        sqlx::query_scalar("SELECT user_input FROM session_reflections WHERE session_id = $1")
            .bind(&id)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        inputs,
        ["Lead the platform team"],
        "saved before the model was asked"
    );
    app.stop().await;
}
crate::on_both_engines!(a_request_cut_off_by_the_server_timeout_keeps_the_words);

async fn a_late_model_answer_does_not_overwrite_what_happened_meanwhile(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    let base = format!("/sessions/{id}");
    let turn = client
        .request(Method::POST, &format!("{base}/turns"))
        .json(&json!({"input": "Lead the platform team"}));
    let (gate, answering) = hold(&stub, turn).await;
    // While the model thinks, the person skips the question in another tab.
    let r = client
        .request(Method::POST, &format!("{base}/skip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let skipped: Value = r.json().await.unwrap();
    gate.notify_one();
    let late = answering.await.unwrap();
    assert_eq!(late.status(), 409);
    let problem: Value = late.json().await.unwrap();
    assert_eq!(problem["code"], "conflict");
    let now: Value = client
        .request(Method::GET, &base)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["steps"], skipped["steps"], "the skip stands");
    let last = now["reflections"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["userInput"], "Lead the platform team",
        "the words are kept"
    );
    assert_eq!(last["payload"]["notApplied"], true, "{last}");
    app.stop().await;
}
crate::on_both_engines!(a_late_model_answer_does_not_overwrite_what_happened_meanwhile);

/// The safety screen takes the higher of its level and the model's: words the phrase list
/// doesn't know, which the model judges a crisis, pause the session; a concern gets a check-in.
async fn the_models_risk_level_is_taken_when_it_is_higher(engine: Engine) {
    let (stub, addr) = Stub::start().await;
    let Some(app) = app_with(engine, &format!("http://{addr}/v1"), &[]).await else {
        return;
    };
    let (client, id) = session(&app).await;
    let words = "Lately everything feels grey and I keep sleeping through the mornings";
    assert!(coachflux_domain::safety::screen(words).is_none());
    assert!(coachflux_domain::safety::concern(words).is_none());
    stub.then(Reply::Content(
        json!({"reply": "Thanks for telling me. What would you like to work on?",
            "captured": {"goal": "Feel less grey"}, "risk": "concern", "risk_category": "none"})
        .to_string(),
    ));
    let s = send_turn(&client, &id, words).await;
    assert_eq!(s["paused"], false, "{s}");
    assert_eq!(s["safetyLevel"], "concern", "{s}");
    assert_eq!(last_payload(&s)["concernFrom"], "model", "{s}");
    assert!(
        last_payload(&s)["reply"]
            .as_str()
            .unwrap()
            .starts_with("That sounds really hard"),
        "{s}"
    );
    // The schema asks for the level.
    let schema = &stub.requests()[0]["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["properties"]["risk"]["enum"],
        json!(["none", "concern", "crisis"]),
        "{schema}"
    );
    stub.then(Reply::Content(
        json!({"reply": "Why does it matter now?", "captured": {"why_now": "It is getting worse"},
            "risk": "crisis", "risk_category": "self_harm"})
        .to_string(),
    ));
    // Understated words the screen (its lists and its own model) doesn't pause.
    let understated = "Some days I wonder if it's even worth getting up, everything feels heavy";
    assert!(coachflux_domain::safety::screen(understated).is_none());
    let s = send_turn(&client, &id, understated).await;
    assert_eq!(
        (
            s["paused"].as_bool(),
            s["safetyLevel"].as_str(),
            s["safety"].as_str()
        ),
        (Some(true), Some("crisis"), Some("self_harm")),
        "{s}"
    );
    assert!(!s["helplines"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(last_payload(&s)["safetyFrom"], "model", "{s}");
    assert_eq!(
        s["steps"][0]["captured"]["why_now"], "It is getting worse",
        "what the model captured is kept: {s}"
    );
    let category: String = sqlx::query_scalar("SELECT category FROM safety_incidents")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(category, "self_harm");
    app.stop().await;
}
crate::on_both_engines!(the_models_risk_level_is_taken_when_it_is_higher);
