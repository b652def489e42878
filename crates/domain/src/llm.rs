//! The pure half of the LLM coach: prompts built from versioned files (`prompts/`), the JSON
//! shapes the model must answer with, their validation against the step's fields, and the
//! output guard. No I/O here; the server sends the messages and feeds the answers back.

use crate::engine::{SessionState, Value, parse_value};
use crate::frameworks::{Field, FieldKind, Framework};
use serde_json::{Value as Json, json};

/// Which prompt files produced a call, recorded with it.
pub const TURN_PROMPT_VERSION: &str = "turn-v2";
pub const REPORT_PROMPT_VERSION: &str = "report-v1";
/// The versions recorded for a repair request: the prompt it repairs plus the repair file.
pub const TURN_REPAIR_PROMPT_VERSION: &str = "turn-v2+repair-v1";
pub const REPORT_REPAIR_PROMPT_VERSION: &str = "report-v1+repair-v1";
const TURN_TEMPLATE: &str = include_str!("../prompts/turn-v2.md");
const REPORT_TEMPLATE: &str = include_str!("../prompts/report-v1.md");
/// The follow-up after an invalid answer (the call keeps its turn or report version).
const REPAIR_TEMPLATE: &str = include_str!("../prompts/repair-v1.md");

/// The longest reply we accept from a model, in characters.
pub const MAX_REPLY_CHARS: usize = 1_500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    pub content: String,
}

impl Message {
    pub fn to_json(&self) -> Json {
        json!({"role": self.role, "content": self.content})
    }
}

/// A rough token count (about four characters per token), enough to keep within a budget.
pub fn approx_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4) + 4
}

fn kind_text(field: &Field) -> String {
    match &field.kind {
        FieldKind::Text { max_len } => format!("text, up to {max_len} characters"),
        FieldKind::List {
            max_items,
            item_max_len,
            ..
        } => format!("list, up to {max_items} items of {item_max_len} characters"),
        FieldKind::Scale { min, max, .. } => format!("a number from {min} to {max}"),
        FieldKind::Choice { options } => format!("one of: {}", options.join(", ")),
        FieldKind::Date => "a date or a phrase like \"by Friday\"".into(),
        FieldKind::Actions { max_items, .. } => format!("list of up to {max_items} actions"),
        FieldKind::Options { max_items, .. } => format!("list of up to {max_items} options"),
    }
}

fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in pairs {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

/// The system prompt for the current step of `state`.
pub fn turn_system_prompt(framework: &Framework, state: &SessionState) -> String {
    let step = state.current_step(framework);
    let step_state = state.steps.get(state.current);
    let missing: Vec<String> = step
        .map(|s| {
            s.fields
                .iter()
                .filter(|f| step_state.is_none_or(|st| !st.captured.contains_key(&f.id)))
                .map(|f| {
                    format!(
                        "- {} ({}; {}{}): {}",
                        f.id,
                        f.label,
                        kind_text(f),
                        if f.required {
                            ", required"
                        } else {
                            ", optional"
                        },
                        f.prompt
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let captured: Vec<String> = step_state
        .map(|st| {
            st.captured
                .iter()
                .map(|(k, v)| format!("- {k}: {}", v.display(state.zone())))
                .collect()
        })
        .unwrap_or_default();
    let questions: Vec<String> = step
        .map(|s| s.questions.iter().map(|q| format!("- {q}")).collect())
        .unwrap_or_default();
    let none = || "- (none)".to_owned();
    fill(
        TURN_TEMPLATE,
        &[
            ("framework", &framework.name),
            ("expansion", &framework.expansion),
            ("framework_description", &framework.description),
            ("step", step.map_or("", |s| s.name.as_str())),
            (
                "step_description",
                step.map_or("", |s| s.description.as_str()),
            ),
            ("questions", &questions.join("\n")),
            (
                "missing",
                &if missing.is_empty() {
                    none()
                } else {
                    missing.join("\n")
                },
            ),
            (
                "captured",
                &if captured.is_empty() {
                    none()
                } else {
                    captured.join("\n")
                },
            ),
        ],
    )
}

/// The messages for one turn: the system prompt, as much of the conversation as fits in
/// `budget_tokens` (oldest turns dropped first), then what the person just wrote.
pub fn turn_messages(
    framework: &Framework,
    state: &SessionState,
    history: &[(String, String)],
    input: &str,
    budget_tokens: usize,
) -> Vec<Message> {
    let system = turn_system_prompt(framework, state);
    let mut left = budget_tokens
        .saturating_sub(approx_tokens(&system))
        .saturating_sub(approx_tokens(input));
    let mut kept: Vec<&(String, String)> = Vec::new();
    for pair in history.iter().rev() {
        let cost = approx_tokens(&pair.0) + approx_tokens(&pair.1);
        if cost > left {
            break;
        }
        left -= cost;
        kept.push(pair);
    }
    kept.reverse();
    let mut messages = vec![Message {
        role: "system",
        content: system,
    }];
    for (user, coach) in kept {
        messages.push(Message {
            role: "user",
            content: user.clone(),
        });
        if !coach.is_empty() {
            messages.push(Message {
                role: "assistant",
                content: coach.clone(),
            });
        }
    }
    messages.push(Message {
        role: "user",
        content: input.to_owned(),
    });
    messages
}

/// The JSON schema for a turn's answer (for `response_format`), naming the step's fields.
pub fn turn_schema(framework: &Framework, state: &SessionState) -> Json {
    let fields: serde_json::Map<String, Json> = state
        .current_step(framework)
        .map(|s| {
            s.fields
                .iter()
                .map(|f| (f.id.clone(), json!({"type": "string"})))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "type": "object",
        "properties": {
            "reply": {"type": "string"},
            "captured": {"type": "object", "properties": fields, "additionalProperties": false},
            "risk": {"type": "string", "enum": ["none", "concern", "crisis"]},
            "risk_category": {
                "type": "string",
                "enum": ["none", "suicide", "self_harm", "abuse", "violence"]
            }
        },
        "required": ["reply", "captured", "risk", "risk_category"],
        "additionalProperties": false
    })
}

/// A validated turn: what to say, the step's fields the model captured, and the risk it
/// judged in the person's words.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTurn {
    pub reply: String,
    pub captured: Vec<(String, Value)>,
    pub risk: Risk,
}

/// The risk a model judged in an answer. The safety screen takes the higher of its own level
/// and this one, never the lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Risk {
    #[default]
    None,
    Concern,
    Crisis(crate::safety::Category),
}

/// The JSON object in a model's answer: the whole text, or inside a ```json fence, or the
/// outermost braces of a chatty answer.
fn json_object(text: &str) -> Option<Json> {
    let text = text.trim();
    if let Ok(v @ Json::Object(_)) = serde_json::from_str(text) {
        return Some(v);
    }
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?)
        .ok()
        .filter(Json::is_object)
}

/// Checks a model's turn against the current step: the reply, and each captured field parsed
/// into its type. Errors are written so they can go back to the model in a repair request.
pub fn parse_turn(
    framework: &Framework,
    state: &SessionState,
    text: &str,
    now_ms: i64,
) -> Result<ModelTurn, Vec<String>> {
    let Some(obj) = json_object(text) else {
        return Err(vec!["The answer was not a JSON object.".into()]);
    };
    let mut errors = Vec::new();
    let reply = obj
        .get("reply")
        .and_then(Json::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reply.is_empty() {
        errors.push("\"reply\" must be a non-empty string.".into());
    } else if reply.chars().count() > MAX_REPLY_CHARS {
        errors.push(format!(
            "\"reply\" must be under {MAX_REPLY_CHARS} characters."
        ));
    }
    let step = state.current_step(framework);
    let mut captured = Vec::new();
    match obj.get("captured") {
        None | Some(Json::Null) => {}
        Some(Json::Object(map)) => {
            for (key, raw) in map {
                let Some(field) = step.and_then(|s| s.fields.iter().find(|f| &f.id == key)) else {
                    errors.push(format!("\"{key}\" is not a field of this step."));
                    continue;
                };
                let text = match raw {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    Json::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    Json::Null => continue,
                    other => {
                        errors.push(format!("\"{key}\" must be text, not {other}."));
                        continue;
                    }
                };
                if text.trim().is_empty() {
                    continue;
                }
                match parse_value(field, text.trim(), now_ms, state.zone()) {
                    Ok(v) => captured.push((key.clone(), v)),
                    Err(e) => errors.push(format!("\"{key}\": {e}")),
                }
            }
        }
        Some(_) => errors.push("\"captured\" must be an object.".into()),
    }
    // A server that ignores the schema may leave the risk out: no risk named is none, but a
    // crisis without a kind is still a crisis (taken as the gravest kind).
    let risk = match obj.get("risk").and_then(Json::as_str) {
        Some("crisis") => {
            use crate::safety::Category;
            Risk::Crisis(match obj.get("risk_category").and_then(Json::as_str) {
                Some("self_harm") => Category::SelfHarm,
                Some("abuse") => Category::Abuse,
                Some("violence") => Category::Violence,
                _ => Category::Suicide,
            })
        }
        Some("concern") => Risk::Concern,
        _ => Risk::None,
    };
    if errors.is_empty() {
        Ok(ModelTurn {
            reply: reply.to_owned(),
            captured,
            risk,
        })
    } else {
        Err(errors)
    }
}

/// The follow-up that asks the model to fix an invalid answer.
pub fn repair_message(errors: &[String]) -> Message {
    Message {
        role: "user",
        content: fill(REPAIR_TEMPLATE, &[("errors", &errors.join(" "))])
            .trim_end()
            .to_owned(),
    }
}

/// Why a reply was refused by the output guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardFailure {
    /// Diagnosis, medication, legal or financial advice.
    Advice(&'static str),
    /// The reply repeats the instructions.
    PromptLeak,
}

/// Phrases that mark advice a coach must not give, matched case-insensitively.
const BANNED: &[&str] = &[
    "you have depression",
    "you have anxiety",
    "you have adhd",
    "you have bipolar",
    "you have ptsd",
    "you are depressed",
    "my diagnosis",
    "i diagnose",
    "diagnosis is",
    "you should take medication",
    "take your medication",
    "prescribe",
    "prescription",
    "dosage",
    " mg ",
    "milligrams",
    "antidepressant",
    "legal advice",
    "you should sue",
    "file a lawsuit",
    "you should invest",
    "buy shares",
    "financial advice",
];

/// Checks a reply before anyone sees it: no advice a coach must not give, and no echo of our
/// instructions (any clause of 30+ characters from the prompt files' fixed text, or talk of a
/// "system prompt"). The framework text filled into the prompt may be echoed freely.
pub fn guard(reply: &str) -> Result<(), GuardFailure> {
    let lower = format!(" {} ", reply.to_lowercase());
    if let Some(marker) = BANNED.iter().find(|m| lower.contains(*m)) {
        return Err(GuardFailure::Advice(marker));
    }
    if lower.contains("system prompt") || lower.contains("my instructions") {
        return Err(GuardFailure::PromptLeak);
    }
    let leaked = [TURN_TEMPLATE, REPORT_TEMPLATE, REPAIR_TEMPLATE]
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| !l.contains('{'))
        .flat_map(|l| l.split(['.', ':', ';']))
        .map(|clause| clause.trim().trim_start_matches("- ").to_lowercase())
        .filter(|clause| clause.chars().count() >= 30)
        .any(|clause| lower.contains(&clause));
    if leaked {
        return Err(GuardFailure::PromptLeak);
    }
    Ok(())
}

/// The report's narrative from the model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelReport {
    pub summary: String,
    pub insights: Vec<String>,
    pub unexplored_options: Vec<String>,
    pub risks: Vec<String>,
}

/// The messages for the report: every captured field, step by step.
pub fn report_messages(framework: &Framework, state: &SessionState) -> Vec<Message> {
    let mut captured = String::new();
    for (def, st) in framework.steps.iter().zip(&state.steps) {
        captured.push_str(&format!("{}:\n", def.name));
        for f in &def.fields {
            if let Some(v) = st.captured.get(&f.id) {
                captured.push_str(&format!("- {}: {}\n", f.label, v.display(state.zone())));
            }
        }
    }
    let system = fill(
        REPORT_TEMPLATE,
        &[
            ("framework", &framework.name),
            ("expansion", &framework.expansion),
            ("captured", captured.trim_end()),
        ],
    );
    vec![
        Message {
            role: "system",
            content: system,
        },
        Message {
            role: "user",
            content: "Write my report.".into(),
        },
    ]
}

pub fn report_schema() -> Json {
    let list = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "insights": list,
            "unexploredOptions": list,
            "risks": list
        },
        "required": ["summary", "insights", "unexploredOptions", "risks"],
        "additionalProperties": false
    })
}

/// Checks the model's report: a summary, and short lists of strings.
pub fn parse_report(text: &str) -> Result<ModelReport, Vec<String>> {
    let Some(obj) = json_object(text) else {
        return Err(vec!["The answer was not a JSON object.".into()]);
    };
    let mut errors = Vec::new();
    let summary = obj
        .get("summary")
        .and_then(Json::as_str)
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    if summary.is_empty() || summary.chars().count() > 2_000 {
        errors.push("\"summary\" must be a non-empty string under 2000 characters.".into());
    }
    let mut list = |key: &str, max: usize| -> Vec<String> {
        match obj.get(key) {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => {
                let texts: Vec<String> = items
                    .iter()
                    .filter_map(Json::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if texts.len() != items.len() || texts.len() > max {
                    errors.push(format!("\"{key}\" must be up to {max} strings."));
                }
                texts
            }
            Some(_) => {
                errors.push(format!("\"{key}\" must be an array of strings."));
                Vec::new()
            }
        }
    };
    let insights = list("insights", 6);
    let unexplored_options = list("unexploredOptions", 5);
    let risks = list("risks", 5);
    if errors.is_empty() {
        Ok(ModelReport {
            summary,
            insights,
            unexplored_options,
            risks,
        })
    } else {
        Err(errors)
    }
}

/// Pulls the text of the `"reply"` string out of a JSON answer as it streams in, so the
/// person sees the reply while the rest (the captured fields) is still arriving.
///
/// Nothing the output guard would refuse is handed out: the word being written is held back
/// until it ends, the text so far is checked before every release, and once it fails the
/// stream goes quiet ([`ReplyStream::blocked`]) so the caller can replace the reply.
#[derive(Debug, Default)]
pub struct ReplyStream {
    buffer: String,
    /// Where the reply's characters start in `buffer`, once the key was seen.
    start: Option<usize>,
    /// How many characters of the decoded reply were already handed out.
    emitted: usize,
    done: bool,
    blocked: bool,
}

impl ReplyStream {
    /// Feeds a chunk of the model's answer; returns newly decoded reply text (may be empty).
    pub fn push(&mut self, chunk: &str) -> String {
        self.buffer.push_str(chunk);
        if self.done {
            return String::new();
        }
        if self.start.is_none() {
            let Some(key) = self.buffer.find("\"reply\"") else {
                return String::new();
            };
            let rest = &self.buffer[key + 7..];
            let Some(colon) = rest.find(':') else {
                return String::new();
            };
            let after = &rest[colon + 1..];
            let Some(quote) = after.find('"') else {
                return String::new();
            };
            if !after[..quote].trim().is_empty() {
                self.done = true;
                return String::new();
            }
            self.start = Some(key + 7 + colon + 1 + quote + 1);
        }
        let Some(start) = self.start else {
            return String::new();
        };
        // Decode what we can; stop before an incomplete escape.
        let mut decoded = String::new();
        let mut complete = false;
        let mut chars = self.buffer[start..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    complete = true;
                    break;
                }
                '\\' => {
                    let Some(e) = chars.next() else { break };
                    match e {
                        'n' => decoded.push('\n'),
                        't' => decoded.push('\t'),
                        'r' => {}
                        'u' => {
                            let hex: String = chars.by_ref().take(4).collect();
                            if hex.len() < 4 {
                                break;
                            }
                            if let Some(ch) =
                                u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                            {
                                decoded.push(ch);
                            }
                        }
                        other => decoded.push(other),
                    }
                }
                c => decoded.push(c),
            }
        }
        self.done = complete;
        // Release whole words only, so a refused phrase is seen whole before any of it shows.
        let safe_len = if complete {
            decoded.len()
        } else {
            decoded
                .char_indices()
                .rfind(|(_, c)| c.is_whitespace() || matches!(c, '.' | ',' | '!' | '?' | ';' | ':'))
                .map_or(0, |(i, c)| i + c.len_utf8())
        };
        let safe = &decoded[..safe_len];
        if guard(safe).is_err() {
            self.blocked = true;
            self.done = true;
            return String::new();
        }
        let fresh: String = safe.chars().skip(self.emitted).collect();
        self.emitted += fresh.chars().count();
        fresh
    }

    /// The output guard refused the reply part-way: nothing more was handed out.
    pub fn blocked(&self) -> bool {
        self.blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalogue;

    fn grow() -> (Framework, SessionState) {
        let fw = Catalogue::builtin().unwrap().get("GROW").unwrap().clone();
        let mut s = SessionState::new(&fw);
        s.give_consent().unwrap();
        (fw, s)
    }

    const NOW: i64 = 1_768_471_200_000;

    #[test]
    fn the_prompt_names_the_framework_step_and_missing_fields() {
        let (fw, mut s) = grow();
        s.answer(&fw, "Lead the platform team", NOW).unwrap();
        let p = turn_system_prompt(&fw, &s);
        assert!(p.contains("GROW"), "{p}");
        assert!(p.contains("step \"Goal\""), "{p}");
        assert!(p.contains("- why_now ("), "missing field listed: {p}");
        assert!(!p.contains("- goal ("), "captured field isn't missing: {p}");
        assert!(
            p.contains("- goal: Lead the platform team"),
            "captured listed: {p}"
        );
        assert!(p.contains("never diagnose"));
        assert!(
            !p.contains('{') || p.contains("{\"reply\""),
            "every placeholder filled: {p}"
        );
    }

    #[test]
    fn the_conversation_is_trimmed_oldest_first() {
        let (fw, s) = grow();
        let history: Vec<(String, String)> = (0..50)
            .map(|i| {
                (
                    format!("answer {i} {}", "x".repeat(200)),
                    format!("reply {i}"),
                )
            })
            .collect();
        let m = turn_messages(&fw, &s, &history, "latest", 2_000);
        assert_eq!(m[0].role, "system");
        assert_eq!(m.last().unwrap().content, "latest");
        let total: usize = m.iter().map(|x| approx_tokens(&x.content)).sum();
        assert!(total <= 2_000, "{total}");
        assert!(m[1].content.starts_with("answer "));
        assert!(
            m.iter().any(|x| x.content.starts_with("answer 49")),
            "newest kept"
        );
        assert!(
            !m.iter().any(|x| x.content.starts_with("answer 0 ")),
            "oldest dropped"
        );
    }

    #[test]
    fn valid_turns_parse_into_typed_fields() {
        let (fw, s) = grow();
        let t = parse_turn(
            &fw,
            &s,
            "```json\n{\"reply\": \"Great goal. Why now?\", \"captured\": {\"goal\": \"Lead the team\", \"timeframe\": \"by Friday\", \"success_criteria\": [\"ship v2\", \"hire two\"]}}\n```",
            NOW,
        )
        .unwrap();
        assert_eq!(t.reply, "Great goal. Why now?");
        assert_eq!(t.captured.len(), 3);
        assert!(
            t.captured
                .contains(&("goal".into(), Value::Text("Lead the team".into())))
        );
        assert!(t.captured.contains(&(
            "success_criteria".into(),
            Value::List(vec!["ship v2".into(), "hire two".into()])
        )));
    }

    #[test]
    fn the_models_risk_level_is_read_and_a_crisis_is_never_lost() {
        let (fw, s) = grow();
        let risk = |extra: &str| {
            parse_turn(
                &fw,
                &s,
                &format!("{{\"reply\": \"Okay.\", \"captured\": {{}}{extra}}}"),
                NOW,
            )
            .unwrap()
            .risk
        };
        assert_eq!(risk(""), Risk::None, "a server without schemas names none");
        assert_eq!(risk(", \"risk\": \"none\""), Risk::None);
        assert_eq!(risk(", \"risk\": \"concern\""), Risk::Concern);
        assert_eq!(
            risk(", \"risk\": \"crisis\", \"risk_category\": \"abuse\""),
            Risk::Crisis(crate::safety::Category::Abuse)
        );
        assert_eq!(
            risk(", \"risk\": \"crisis\""),
            Risk::Crisis(crate::safety::Category::Suicide),
            "a crisis without a kind is still a crisis"
        );
    }

    #[test]
    fn invalid_turns_list_every_problem() {
        let (fw, s) = grow();
        assert!(parse_turn(&fw, &s, "Sure! Here you go", NOW).is_err());
        let errors = parse_turn(
            &fw,
            &s,
            "{\"reply\": \"\", \"captured\": {\"nope\": \"x\", \"goal\": {\"a\": 1}}}",
            NOW,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("\"nope\" is not a field")));
        let long = format!(
            "{{\"reply\": \"{}\", \"captured\": {{}}}}",
            "a".repeat(2_000)
        );
        assert!(parse_turn(&fw, &s, &long, NOW).is_err());
    }

    #[test]
    fn the_guard_refuses_advice_and_prompt_leaks() {
        assert_eq!(guard("What would make this feel doable?"), Ok(()));
        assert_eq!(
            guard("Take an honest look at where things stand: what's in the way?"),
            Ok(()),
            "the step's own words may be echoed"
        );
        assert!(matches!(
            guard("It sounds like you have depression; a doctor could prescribe something."),
            Err(GuardFailure::Advice(_))
        ));
        assert!(matches!(
            guard("Take 20 mg of melatonin."),
            Err(GuardFailure::Advice(_))
        ));
        assert!(matches!(
            guard("Honestly, you should sue them."),
            Err(GuardFailure::Advice(_))
        ));
        let leak = "Sure: Ask exactly one question at a time, aimed at the next missing field.";
        assert_eq!(guard(leak), Err(GuardFailure::PromptLeak));
        assert_eq!(
            guard("My system prompt says to be warm."),
            Err(GuardFailure::PromptLeak)
        );
    }

    #[test]
    fn reports_parse_and_refuse_bad_shapes() {
        let r = parse_report(
            "{\"summary\": \"You set out to lead.\", \"insights\": [\"a\"], \"unexploredOptions\": [], \"risks\": [\"b\"]}",
        )
        .unwrap();
        assert_eq!(r.summary, "You set out to lead.");
        assert_eq!(r.risks, vec!["b".to_owned()]);
        assert!(parse_report("{\"summary\": \"\", \"insights\": \"x\"}").is_err());
        let (fw, mut s) = grow();
        s.answer(&fw, "Lead the platform team", NOW).unwrap();
        let m = report_messages(&fw, &s);
        assert!(m[0].content.contains("Your goal: Lead the platform team"));
    }

    #[test]
    fn the_reply_streams_out_of_partial_json() {
        let mut r = ReplyStream::default();
        let chunks = [
            "{\"re",
            "ply\": \"Hel",
            "lo \\\"you\\\"",
            "\\n",
            "!\", \"captured\": {\"goal\": \"x\"}}",
        ];
        let out: String = chunks.iter().map(|c| r.push(c)).collect();
        assert_eq!(out, "Hello \"you\"\n!");
        let mut r = ReplyStream::default();
        assert_eq!(r.push("{\"reply\": \"un caf\\u00"), "un ");
        assert_eq!(r.push("e9\"}"), "café");
    }

    #[test]
    fn a_streamed_reply_stops_before_anything_the_guard_refuses() {
        let mut r = ReplyStream::default();
        assert_eq!(
            r.push("{\"reply\": \"Thanks. It sounds like you have"),
            "Thanks. It sounds like you "
        );
        // The next word completes a diagnosis: nothing of it is released, and the stream stops.
        assert_eq!(r.push(" depression, and"), "");
        assert!(r.blocked());
        assert_eq!(r.push(" more text.\"}"), "");
        // A clean reply streams whole.
        let mut ok = ReplyStream::default();
        let out: String = ["{\"reply\": \"You have a", " clear goal", ".\"}"]
            .iter()
            .map(|c| ok.push(c))
            .collect();
        assert_eq!(out, "You have a clear goal.");
        assert!(!ok.blocked());
    }
}
