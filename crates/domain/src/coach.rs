//! The built-in coach: offline and deterministic. It reflects back what the person said in
//! their own words, asks one question at a time (never one whose answer is already captured),
//! and writes the report's summary, insights and risks from the captured fields.

use crate::engine::{Captured, Phase, SessionState, Value};
use crate::frameworks::{FieldKind, Framework};

/// What a coach says after a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
}

/// The report's narrative parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub summary: String,
    pub insights: Vec<String>,
    pub risks: Vec<String>,
}

/// A short quote of the person's words: the first sentence, at most ~18 words.
fn quote(text: &str) -> String {
    let first = text
        .split_inclusive(['.', '!', '?', '\n'])
        .next()
        .unwrap_or(text)
        .trim()
        .trim_end_matches(['.', '!', '\n']);
    let words: Vec<&str> = first.split_whitespace().collect();
    if words.len() > 18 {
        format!("{}…", words[..18].join(" "))
    } else {
        words.join(" ")
    }
}

/// A stable choice among phrasings, so replies vary without randomness.
fn pick<'a>(key: &str, options: &[&'a str]) -> &'a str {
    let h = key.bytes().fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    options[h % options.len()]
}

fn acknowledge(framework: &Framework, captured: &Captured) -> String {
    let field = framework
        .steps
        .iter()
        .flat_map(|s| s.fields.iter())
        .find(|f| f.id == captured.field_id);
    let key = &captured.field_id;
    match (&captured.value, field.map(|f| &f.kind)) {
        (Value::Text(t), _) => {
            let opener = pick(
                key,
                &[
                    "I hear you:",
                    "So, in your words:",
                    "Got it:",
                    "Thank you. You said:",
                ],
            );
            format!("{opener} “{}”.", quote(t))
        }
        (Value::Scale(n), Some(FieldKind::Scale { max, .. })) => {
            let tail = if *n * 10 >= *max * 7 {
                "that's a solid place to start from."
            } else if *n * 10 <= *max * 4 {
                "thanks for being honest about that."
            } else {
                "there's room to build on that."
            };
            format!("A {n} out of {max}: {tail}")
        }
        (Value::Scale(n), _) => format!("A {n}, noted."),
        (Value::Choice(c), _) => format!("“{c}” — noted."),
        (Value::Date(d), _) => match d.at_ms {
            Some(ms) => format!("{} — that's {}.", d.phrase, crate::dates::label(ms)),
            None => format!("“{}” — noted as your timeframe.", quote(&d.phrase)),
        },
        (v @ (Value::List(_) | Value::Actions(_) | Value::Options(_)), _) => {
            let items = v.items();
            match items.len() {
                0 => "Noted.".to_owned(),
                1 => format!("Noted: {}.", items[0]),
                n => format!("That's {n}: {}.", items.join("; ")),
            }
        }
    }
}

/// The next thing to say: the pending question, or an invitation to confirm the step.
pub fn next_prompt(framework: &Framework, state: &SessionState) -> String {
    match state.phase {
        Phase::Consent => format!(
            "Welcome to {}. Before we start: CoachFlux is coaching, not therapy or medical advice. \
             If you're in crisis, please contact a helpline or your local emergency number. \
             Confirm below and we'll begin.",
            framework.name
        ),
        Phase::Complete => {
            "That's every step. Review your action plan and close the session to get your report."
                .to_owned()
        }
        Phase::Closed => "This session is closed. Your report is ready.".to_owned(),
        _ if state.paused => {
            "We've paused here. Resume whenever you're ready, or close the session.".to_owned()
        }
        Phase::Confirming => {
            let step = state
                .current_step(framework)
                .map_or("this step", |s| s.name.as_str());
            format!(
                "That covers {step}. Look over what we captured: proceed when it reads right, or amend anything."
            )
        }
        Phase::Asking => match (
            state.current_step(framework),
            state.pending_field(framework),
        ) {
            (Some(step), Some(field)) => {
                let step_state = &state.steps[state.current];
                if step_state.captured.is_empty() && step_state.skipped.is_empty() {
                    format!("{} — {} {}", step.name, step.description, field.prompt)
                } else {
                    field.prompt.clone()
                }
            }
            _ => String::new(),
        },
    }
}

/// The reply after an answer: reflect it back, then move on.
pub fn reply(framework: &Framework, state: &SessionState, captured: &Captured) -> Reply {
    Reply {
        text: format!(
            "{} {}",
            acknowledge(framework, captured),
            next_prompt(framework, state)
        ),
    }
}

/// The opening line of a session, or of the step it resumes at.
pub fn opening(framework: &Framework, state: &SessionState) -> Reply {
    Reply {
        text: next_prompt(framework, state),
    }
}

fn text_of(state: &SessionState, field: &str) -> Option<String> {
    state.value(field).map(Value::display)
}

/// Writes the summary, insights and risks from what was captured, whatever the framework.
pub fn summarise(framework: &Framework, state: &SessionState) -> Summary {
    let mut parts: Vec<String> = Vec::new();
    // The first field of the first step is the heart of every framework (goal, topic, wish...).
    if let Some(first) = framework.steps.first().and_then(|s| s.fields.first())
        && let Some(v) = state.value(&first.id)
    {
        parts.push(format!("You came to work on: {}.", quote(&v.display())));
    }
    if let Some(now) = ["current_state", "situation", "their_view", "current_scale"]
        .iter()
        .find_map(|f| text_of(state, f))
    {
        parts.push(format!("Where things stand: {}.", quote(&now)));
    }
    let plan: Vec<String> = state
        .proposals
        .iter()
        .filter(|p| p.status != crate::engine::ProposalStatus::Dropped)
        .map(|p| match p.due_ms {
            Some(ms) => format!("{} (by {})", p.title, crate::dates::label(ms)),
            None => p.title.clone(),
        })
        .collect();
    if !plan.is_empty() {
        parts.push(format!("Your next steps: {}.", plan.join("; ")));
    }
    let mut insights = Vec::new();
    let mut risks = Vec::new();
    for step in &framework.steps {
        for field in &step.fields {
            let Some(value) = state.value(&field.id) else {
                if field.required {
                    risks.push(format!("“{}” was left open.", field.label));
                }
                continue;
            };
            match (&field.kind, value) {
                (FieldKind::Scale { min, max, .. }, Value::Scale(n)) => {
                    let span = (max - min).max(1);
                    if (n - min) * 10 < span * 6 {
                        insights.push(format!(
                            "{} is {n}/{max}. What would move it up by one point?",
                            field.label
                        ));
                    } else {
                        insights.push(format!("{} is {n}/{max}: a good foundation.", field.label));
                    }
                }
                (_, Value::List(items))
                    if matches!(
                        field.id.as_str(),
                        "resources" | "what_works" | "past_exceptions" | "affirmations"
                    ) && !items.is_empty() =>
                {
                    insights.push(format!(
                        "You already have things working for you: {}.",
                        items.join(", ")
                    ));
                }
                (_, Value::List(items))
                    if matches!(
                        field.id.as_str(),
                        "risks" | "obstacles" | "constraints" | "primary_fears" | "difficulties"
                    ) && !items.is_empty() =>
                {
                    risks.push(format!("{}: {}.", field.label, items.join(", ")));
                }
                (_, Value::Text(t))
                    if matches!(
                        field.id.as_str(),
                        "inner_obstacle" | "obstacle" | "limiting_belief"
                    ) =>
                {
                    risks.push(format!("{}: {}.", field.label, quote(t)));
                }
                _ => {}
            }
        }
    }
    let undated = state
        .proposals
        .iter()
        .filter(|p| p.status != crate::engine::ProposalStatus::Dropped && p.due_ms.is_none())
        .count();
    if undated > 0 {
        risks.push(format!(
            "{undated} action{} without a date tend to drift: give {} a day.",
            if undated == 1 { "" } else { "s" },
            if undated == 1 { "it" } else { "each" }
        ));
    }
    Summary {
        summary: parts.join(" "),
        insights,
        risks,
    }
}
