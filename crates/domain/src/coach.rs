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
    let prompt = phase_prompt(framework, state);
    // Back after a safety pause: a word of welcome before the question, not the question alone.
    if state.resumed && matches!(state.phase, Phase::Asking | Phase::Confirming) {
        return format!(
            "Welcome back, and take your time. If things feel heavy again, please reach out \
             to one of the helplines we showed you, or your local emergency number. When \
             you're ready, here's where we were. {prompt}"
        );
    }
    prompt
}

fn phase_prompt(framework: &Framework, state: &SessionState) -> String {
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
        _ if state.paused => "What you wrote matters, and it sounds like a lot to carry. \
             We've paused the coaching so you can talk to someone who can help right now: \
             the people below are there for exactly this. When you're ready, you can resume the \
             session, or end it and keep what you wrote."
            .to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalogue;
    use crate::engine::ProposalStatus;
    use crate::frameworks::Field;

    /// 2026-01-15T10:00:00Z, a Thursday.
    const NOW: i64 = 1_768_471_200_000;

    fn answer_for(field: &Field) -> String {
        match &field.kind {
            FieldKind::Text { .. } => format!("Honestly, my answer about {}", field.label),
            FieldKind::List { .. } => "first thing; second thing".into(),
            FieldKind::Scale { min, max, .. } => ((min + max) / 2).to_string(),
            FieldKind::Choice { options } => options[0].clone(),
            FieldKind::Date => "by Friday".into(),
            FieldKind::Actions { .. } => "Call Sam by Friday\nDraft the plan in 3 days".into(),
            FieldKind::Options { .. } => "Ask for a transfer; Retrain at night".into(),
        }
    }

    #[test]
    fn after_a_safety_pause_the_coach_checks_in_before_the_question() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        let question = next_prompt(fw, &s);
        s.pause();
        assert!(next_prompt(fw, &s).contains("talk to someone who can help right now"));
        s.resume();
        let back = next_prompt(fw, &s);
        assert!(
            back.starts_with("Welcome back, and take your time."),
            "{back}"
        );
        assert!(back.ends_with(&question), "{back}");
        // Once the person answers, the conversation goes on as before.
        let field = s.pending_field(fw).unwrap().clone();
        s.answer(fw, &answer_for(&field), NOW).unwrap();
        assert!(!next_prompt(fw, &s).starts_with("Welcome back"));
        // A resume without a pause (a second click) is not a check-in.
        s.resume();
        assert!(!next_prompt(fw, &s).starts_with("Welcome back"));
        // The flag survives a save and a load.
        s.pause();
        s.resume();
        let saved: SessionState =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert!(next_prompt(fw, &saved).starts_with("Welcome back"));
    }

    #[test]
    fn it_reflects_the_persons_own_words_and_asks_the_next_question() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        let c = s
            .answer(
                fw,
                "I want to lead the platform team by the summer. It matters.",
                NOW,
            )
            .unwrap();
        let r = reply(fw, &s, &c).text;
        assert!(
            r.contains("“I want to lead the platform team by the summer”"),
            "quotes the first sentence: {r}"
        );
        let next = s.pending_field(fw).unwrap();
        assert!(
            r.ends_with(&next.prompt),
            "then asks the next question: {r}"
        );
        // Long answers are quoted short.
        let long = "word ".repeat(40);
        let c = s.answer(fw, &long, NOW).unwrap();
        let r = reply(fw, &s, &c).text;
        assert!(r.contains("…”"), "{r}");
        // Scales are read back against their range.
        let scale = Value::Scale(2);
        let mut captured = c.clone();
        captured.value = scale;
        captured.field_id = "commitment".into();
        assert!(reply(fw, &s, &captured).text.starts_with("A 2 out of 10"));
    }

    #[test]
    fn it_asks_one_question_at_a_time_and_never_one_already_answered() {
        for fw in Catalogue::builtin().unwrap().frameworks {
            let mut s = SessionState::new(&fw);
            s.give_consent().unwrap();
            let opening = opening(&fw, &s).text;
            let first = s.pending_field(&fw).unwrap();
            assert!(opening.ends_with(&first.prompt), "{}: {opening}", fw.id);
            while !s.is_complete() {
                while let Some(field) = s.pending_field(&fw).cloned() {
                    let c = s.answer(&fw, &answer_for(&field), NOW).unwrap();
                    let r = reply(&fw, &s, &c).text;
                    let step = &fw.steps[s.current];
                    let asked: Vec<&Field> = step
                        .fields
                        .iter()
                        .filter(|f| r.contains(f.prompt.as_str()))
                        .collect();
                    match s.pending_field(&fw) {
                        Some(next) => {
                            assert_eq!(asked.len(), 1, "{} {}: one question: {r}", fw.id, step.id);
                            assert_eq!(asked[0].id, next.id, "{}: {r}", fw.id);
                            assert!(
                                !s.steps[s.current].captured.contains_key(&next.id),
                                "{}: never an answered one",
                                fw.id
                            );
                        }
                        None => {
                            assert!(asked.is_empty(), "{}: nothing left to ask: {r}", fw.id);
                            assert!(r.contains("proceed"), "{}: invites confirming: {r}", fw.id);
                        }
                    }
                }
                s.proceed(&fw).unwrap();
            }
            assert!(next_prompt(&fw, &s).contains("action plan"), "{}", fw.id);
        }
    }

    #[test]
    fn the_summary_is_written_from_what_was_captured() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        let empty = summarise(fw, &s);
        assert!(empty.summary.is_empty());
        assert!(
            empty.risks.iter().any(|r| r.contains("was left open")),
            "unanswered required questions are risks: {:?}",
            empty.risks
        );
        while !s.is_complete() {
            while let Some(field) = s.pending_field(fw).cloned() {
                let text = match field.id.as_str() {
                    "goal" => "Lead the platform team".to_owned(),
                    "current_state" => "I run two projects and mentor one person".to_owned(),
                    "commitment" => "4".to_owned(),
                    _ => answer_for(&field),
                };
                s.answer(fw, &text, NOW).unwrap();
            }
            s.proceed(fw).unwrap();
        }
        s.propose_actions(fw);
        s.proposals[1].status = ProposalStatus::Dropped;
        let sum = summarise(fw, &s);
        assert!(
            sum.summary
                .contains("You came to work on: Lead the platform team."),
            "{}",
            sum.summary
        );
        assert!(
            sum.summary
                .contains("Where things stand: I run two projects and mentor one person."),
            "{}",
            sum.summary
        );
        assert!(
            sum.summary.contains("Call Sam (by Fri 16 Jan 2026)"),
            "{}",
            sum.summary
        );
        assert!(
            !sum.summary.contains("Draft the plan"),
            "dropped actions are left out"
        );
        assert!(
            sum.insights
                .iter()
                .any(|i| i.contains("4/10") && i.contains("move it up")),
            "a low scale becomes a question: {:?}",
            sum.insights
        );
        assert!(
            !sum.risks.iter().any(|r| r.contains("left open")),
            "{:?}",
            sum.risks
        );
    }
}
