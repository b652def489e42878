//! The built-in coach: offline and deterministic. It listens (says back the heart of an answer
//! and the feelings named in it, in the person's words), follows up before it moves on (what
//! puts a scale where it is, what else, how a vague goal would show), remembers what was said
//! earlier when it matters, asks one question at a time (never one whose answer is already
//! captured), and writes the report's summary, insights and risks from the captured fields.
//! The rubric it is held to is docs/coaching.md; the golden transcripts in the tests show it.

use crate::engine::{
    Captured, EngineError, FollowUp, FollowUpKind, FollowedUp, Phase, ProposalStatus, SessionState,
    Value,
};
use crate::frameworks::{FieldKind, Framework};
use crate::listen::{self, Tone};

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

use listen::{capitalise, lower_first, without_filler};

/// "a 7", "an 8", "an 11".
fn a_number(n: i32) -> String {
    let article = if n == 8 || n == 11 || n == 18 || (80..90).contains(&n) {
        "an"
    } else {
        "a"
    };
    format!("{article} {n}")
}

/// "a", "a and b", "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// How many things the person has said so far: varies the coach's phrasing from one turn to
/// the next without randomness.
fn turn_index(state: &SessionState) -> usize {
    state
        .steps
        .iter()
        .map(|s| s.captured.len() + s.follow_ups.len())
        .sum()
}

fn rotate<'a>(state: &SessionState, options: &[&'a str]) -> &'a str {
    options[turn_index(state) % options.len()]
}

/// The heart of an answer said back: in the second person when the person spoke about
/// themselves ("It sounds like you want …"), else in their own words, quoted.
fn reflect(state: &SessionState, text: &str) -> String {
    let heart = listen::heart(text);
    let heart = without_filler(&heart);
    if heart.is_empty() {
        return String::new();
    }
    if listen::is_first_person(heart) {
        let said = listen::second_person(heart);
        // "My manager saying yes" is not a sentence: only frames that take a phrase.
        let frames: &[&str] = if listen::speaks_as_i(heart) {
            &[
                "So {}.",
                "It sounds like {}.",
                "What I'm hearing is that {}.",
                "{} — I hear that.",
            ]
        } else {
            &["{} — I hear that.", "{} — that matters."]
        };
        let frame = rotate(state, frames);
        let said = if frame.starts_with("{}") {
            capitalise(&said)
        } else {
            said
        };
        frame.replace("{}", &said)
    } else {
        let frame = rotate(
            state,
            &[
                "“{}” — I hear you.",
                "“{}.” Thank you.",
                "So: “{}”.",
                "“{}” — got it.",
            ],
        );
        frame.replace("{}", heart)
    }
}

/// A word for the feelings the person named, and only those.
fn feeling_line(state: &SessionState, named: &[(&str, Tone)]) -> Option<String> {
    let heavy: Vec<String> = named
        .iter()
        .filter(|(_, t)| *t == Tone::Heavy)
        .map(|(w, _)| (*w).to_owned())
        .collect();
    let light: Vec<String> = named
        .iter()
        .filter(|(_, t)| *t == Tone::Light)
        .map(|(w, _)| (*w).to_owned())
        .collect();
    Some(match (heavy.len(), light.len()) {
        (0, 0) => return None,
        (0, _) => format!("{} — that's worth noticing.", capitalise(&and_list(&light))),
        (1, 0) => rotate(
            state,
            &["Feeling {} is hard.", "I can hear how {} you feel."],
        )
        .replace("{}", &heavy[0]),
        (_, 0) => format!("{} — that's a lot to carry.", capitalise(&and_list(&heavy))),
        _ => format!(
            "{}, and {} too — both can be true at once.",
            capitalise(&and_list(&light)),
            and_list(&heavy)
        ),
    })
}

/// A reflection of a written answer: the feelings named, then its heart (unless the
/// feelings already say it).
fn reflect_text(state: &SessionState, text: &str) -> String {
    let named = listen::feelings(text);
    let reflection = reflect(state, text);
    let Some(feeling) = feeling_line(state, &named) else {
        return reflection;
    };
    let heart = listen::heart(text).to_lowercase();
    let said_in_heart = named.iter().all(|(w, _)| heart.contains(w));
    let beyond_feelings = listen::word_count(&heart) > named.len() + 3;
    if said_in_heart && beyond_feelings {
        let tail = if named.iter().all(|(_, t)| *t == Tone::Light) {
            "That's worth noticing."
        } else if named.iter().filter(|(_, t)| *t == Tone::Heavy).count() >= 2 {
            "That's a lot to carry."
        } else {
            "That's not easy."
        };
        format!("{reflection} {tail}")
    } else {
        feeling
    }
}

/// Fields that hold a person's lists of what helps them.
const STRENGTHS: &[&str] = &["resources", "what_works", "past_exceptions", "affirmations"];
/// Fields that hold what may get in the way.
const HURDLES: &[&str] = &[
    "risks",
    "obstacles",
    "constraints",
    "primary_fears",
    "difficulties",
];

fn acknowledge(framework: &Framework, state: &SessionState, captured: &Captured) -> String {
    let field = field_def(framework, &captured.field_id);
    let id = captured.field_id.as_str();
    match (&captured.value, field.map(|f| &f.kind)) {
        (Value::Text(t), _) if id == "if_then_plan" => format!(
            "That's your rule: {}.",
            lower_first(&listen::second_person(
                t.trim().trim_end_matches(['.', '!'])
            ))
        ),
        (Value::Text(t), _) => reflect_text(state, t),
        (Value::Scale(n), Some(FieldKind::Scale { max, .. })) => {
            if n >= max {
                format!(
                    "{} out of {max} — that's as strong as it gets.",
                    capitalise(&a_number(*n))
                )
            } else {
                format!("{} out of {max}.", capitalise(&a_number(*n)))
            }
        }
        (Value::Scale(n), _) => format!("{}.", capitalise(&a_number(*n))),
        (Value::Choice(c), _) => {
            rotate(state, &["{} — noted.", "{} it is, for now."]).replace("{}", &capitalise(c))
        }
        (Value::Date(d), _) => match d.at_ms {
            Some(ms) => format!(
                "{} — that's {}.",
                capitalise(&d.phrase),
                crate::dates::label(ms, state.zone())
            ),
            None => format!("“{}” — noted as your timeframe.", listen::heart(&d.phrase)),
        },
        (Value::Actions(a), _) => {
            let items: Vec<String> = a
                .iter()
                .map(|a| match a.due_ms {
                    Some(ms) => format!("{} ({})", a.title, crate::dates::label(ms, state.zone())),
                    None => a.title.clone(),
                })
                .collect();
            format!("Your plan: {}.", items.join("; "))
        }
        (v @ (Value::List(_) | Value::Options(_)), _) => {
            let items = v.items();
            if items.is_empty() {
                return "Nothing there for now — that's fine.".to_owned();
            }
            let named = listen::feelings(&items.join(". "));
            if id == "feelings"
                && let Some(line) = feeling_line(state, &named)
            {
                return line;
            }
            // Said back in the person's own words, each item as they wrote it.
            let listed = quoted_list(&items);
            let them = if items.len() == 1 { "it" } else { "them" };
            if id == "past_exceptions" {
                format!(
                    "{listed} — so it has gone better before. What was different then is worth keeping."
                )
            } else if id == "affirmations" {
                format!("{listed} — that's worth recognising.")
            } else if id == "paths" {
                format!("{listed}: more than one way there.")
            } else if STRENGTHS.contains(&id) {
                format!("{listed} — that's real support to draw on.")
            } else if HURDLES.contains(&id) {
                format!("{listed}: good to have {them} named.")
            } else if matches!(v, Value::Options(_)) {
                format!(
                    "{listed}: {} on the table.",
                    count_noun(items.len(), "option")
                )
            } else if MEASURES.contains(&id) {
                format!("{listed}: something you'll be able to see.")
            } else if id == "assumptions" {
                format!("{listed} — worth checking against what you actually know.")
            } else if TAKEAWAYS.contains(&id) {
                format!("{listed} — worth keeping.")
            } else {
                format!("{listed}.")
            }
        }
    }
}

/// Fields that hold what the person takes away.
const TAKEAWAYS: &[&str] = &["key_takeaways"];

/// Items said back as written: “a”, “b” and “c”.
fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| format!("“{}”", i.trim().trim_end_matches(['.', '!'])))
        .collect();
    and_list(&quoted)
}

/// "1 option", "3 options".
fn count_noun(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn field_def<'f>(framework: &'f Framework, id: &str) -> Option<&'f crate::frameworks::Field> {
    framework
        .steps
        .iter()
        .flat_map(|s| s.fields.iter())
        .find(|f| f.id == id)
}

/// Fields whose answer says how the person will know they got there: vague ones get one
/// question to make them visible.
const MEASURES: &[&str] = &["success_criteria", "desired_outcome", "first_sign"];
/// Text fields that invite reflection: a one- or two-word answer gets an invitation to say
/// more.
fn reflective(field: &crate::frameworks::Field) -> bool {
    matches!(field.kind, FieldKind::Text { max_len } if max_len >= 1000)
}
/// Most follow-up answers a step collects: a coach doesn't interrogate every answer.
const FOLLOW_UPS_PER_STEP: usize = 3;
/// At most this many rounds of "what else?" after options.
const MORE_OPTIONS_ROUNDS: usize = 2;

/// The follow-up a coach would ask about the answer just captured, if any.
fn follow_up_for(framework: &Framework, state: &SessionState, c: &Captured) -> Option<FollowUp> {
    let step_def = framework.steps.get(state.current)?;
    let step = state.steps.get(state.current)?;
    let field = step_def.fields.iter().find(|f| f.id == c.field_id)?;
    // An action without a date gets its "when?" whatever else was asked.
    if let Value::Actions(actions) = &c.value {
        return when_question(&field.id, actions);
    }
    let asked = step
        .follow_ups
        .iter()
        .filter(|f| f.kind != FollowUpKind::When)
        .count();
    if asked >= FOLLOW_UPS_PER_STEP {
        return None;
    }
    let ask = |kind: FollowUpKind, question: String| {
        Some(FollowUp {
            field_id: field.id.clone(),
            kind,
            question,
        })
    };
    match (&field.kind, &c.value) {
        (FieldKind::Scale { min, max, .. }, Value::Scale(n)) => {
            // A measure taken again at the end: what moved since the start.
            if let Some(rest) = field.id.strip_prefix("final_")
                && let Some(Value::Scale(before)) = state.value(&format!("initial_{rest}"))
            {
                let question = if before == n {
                    format!(
                        "You were at {before} when we started, and you're at {n} now. What's kept it steady?"
                    )
                } else {
                    format!("When we started you were at {before}; now you say {n} — what moved?")
                };
                return ask(FollowUpKind::Moved, question);
            }
            // One scale per step is explored; a session rating isn't.
            let explored = step
                .follow_ups
                .iter()
                .any(|f| matches!(f.kind, FollowUpKind::Floor | FollowUpKind::Raise));
            if explored || field.id == "satisfaction" || n >= max {
                return None;
            }
            if n > min {
                ask(
                    FollowUpKind::Floor,
                    format!(
                        "What puts you at {} and not {}?",
                        a_number(*n),
                        a_number(*min)
                    ),
                )
            } else {
                ask(
                    FollowUpKind::Raise,
                    format!("What would make it {}?", a_number(min + 1)),
                )
            }
        }
        (FieldKind::Options { max_items, .. }, Value::Options(o))
            if o.len() < *max_items as usize =>
        {
            ask(FollowUpKind::MoreOptions, more_options_question(step_def))
        }
        (FieldKind::Text { .. } | FieldKind::List { .. }, v)
            if MEASURES.contains(&field.id.as_str()) =>
        {
            let items = v.items();
            (!listen::is_measurable(&items.join(". "))).then_some(())?;
            ask(
                FollowUpKind::Sharpen,
                format!(
                    "{} — if you got there, what would you or others notice? Something you \
                     could see, hear or count.",
                    quoted_list(&items)
                ),
            )
        }
        (FieldKind::Text { .. }, Value::Text(t)) if reflective(field) => {
            let words = listen::word_count(t);
            if words <= 3 {
                let word = t.trim().trim_end_matches(['.', '!']);
                ask(
                    FollowUpKind::SayMore,
                    rotate(
                        state,
                        &[
                            "“{}” — could you say a little more about that?",
                            "“{}” — tell me a bit more: what's behind that?",
                        ],
                    )
                    .replace("{}", word),
                )
            } else if words > 60 {
                let heart = without_filler(&listen::heart(t)).to_owned();
                let question = if listen::is_first_person(&heart) {
                    format!(
                        "There's a lot in that. If I had to put it in one line: {}. Is that the heart of it?",
                        capitalise(&listen::second_person(&heart))
                    )
                } else {
                    format!(
                        "There's a lot in that. If I had to put it in one line: “{heart}”. Is that the heart of it?"
                    )
                };
                ask(FollowUpKind::HeartCheck, question)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// "When will you do that?" about the first action without a date, if there is one.
fn when_question(field: &str, actions: &[crate::engine::ActionDraft]) -> Option<FollowUp> {
    let undated = actions.iter().find(|a| a.due_ms.is_none())?;
    Some(FollowUp {
        field_id: field.to_owned(),
        kind: FollowUpKind::When,
        question: format!(
            "“{}” — when will you do that?",
            undated.title.trim_end_matches(['.', '!'])
        ),
    })
}

/// "What else?", in the step's own words when its catalogue has such a question.
fn more_options_question(step: &crate::frameworks::Step) -> String {
    step.questions
        .iter()
        .find(|q| q.to_lowercase().contains("else"))
        .cloned()
        .unwrap_or_else(|| "What else could you do?".to_owned())
        + " Or say “that's all” and we'll weigh them up."
}

/// What the coach says back to a follow-up answer, and what it asks next (a further
/// follow-up, or the next question).
fn after_follow_up(framework: &Framework, state: &mut SessionState, f: &FollowedUp) -> String {
    let said = match f.follow_up.kind {
        FollowUpKind::MoreOptions if f.done => {
            "Then let's work with what's on the table.".to_owned()
        }
        FollowUpKind::MoreOptions => format!(
            "{} — good, more to choose from.",
            capitalise(&and_list(&f.added))
        ),
        FollowUpKind::When => match state.value(&f.follow_up.field_id) {
            Some(Value::Actions(actions)) => actions
                .iter()
                .find(|a| Some(&a.title) == f.added.first())
                .and_then(|a| a.due_ms)
                .map(|ms| {
                    format!(
                        "{} — {}.",
                        f.added.first().map_or("", String::as_str),
                        crate::dates::label(ms, state.zone())
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        },
        FollowUpKind::HeartCheck if listen::is_yes(&f.answer) => {
            "Good — then let's keep that in view.".to_owned()
        }
        FollowUpKind::HeartCheck => format!(
            "Thank you for putting me right. {}",
            reflect_text(state, &f.answer)
        ),
        _ if listen::is_nothing(&f.answer) => {
            "That's fine — not everything has an answer yet.".to_owned()
        }
        FollowUpKind::Raise => format!(
            "{} That's something to hold on to.",
            reflect_text(state, &f.answer)
        ),
        _ => reflect_text(state, &f.answer),
    };
    // Some follow-ups lead to one more.
    let field = framework
        .steps
        .get(state.current)
        .and_then(|s| s.fields.iter().find(|x| x.id == f.follow_up.field_id));
    let next = match (f.follow_up.kind, field, state.value(&f.follow_up.field_id)) {
        (FollowUpKind::When, _, Some(Value::Actions(actions))) => {
            when_question(&f.follow_up.field_id, actions)
        }
        (
            FollowUpKind::Floor,
            Some(crate::frameworks::Field {
                kind: FieldKind::Scale { max, .. },
                ..
            }),
            Some(Value::Scale(n)),
        ) if !step_asks_one_point_higher(framework, state) => Some(FollowUp {
            field_id: f.follow_up.field_id.clone(),
            kind: FollowUpKind::Raise,
            question: format!("And what would make it {}?", a_number((n + 2).min(*max))),
        }),
        (
            FollowUpKind::MoreOptions,
            Some(crate::frameworks::Field {
                kind: FieldKind::Options { max_items, .. },
                ..
            }),
            Some(Value::Options(o)),
        ) if !f.done
            && o.len() < *max_items as usize
            && more_options_rounds(state, &f.follow_up.field_id) < MORE_OPTIONS_ROUNDS =>
        {
            Some(FollowUp {
                field_id: f.follow_up.field_id.clone(),
                kind: FollowUpKind::MoreOptions,
                question: "What else?".to_owned(),
            })
        }
        _ => None,
    };
    if let Some(next) = next {
        state.ask_follow_up(next);
    }
    format!("{said} {}", next_prompt(framework, state))
}

fn more_options_rounds(state: &SessionState, field: &str) -> usize {
    state.steps[state.current]
        .follow_ups
        .iter()
        .filter(|f| f.field_id == field && f.kind == FollowUpKind::MoreOptions)
        .count()
}

/// OSKAR's scaling step asks "what would one point higher look like?" itself.
fn step_asks_one_point_higher(framework: &Framework, state: &SessionState) -> bool {
    framework
        .steps
        .get(state.current)
        .is_some_and(|s| s.fields.iter().any(|f| f.id == "one_point_higher"))
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

/// What a coach brings back from earlier in the session when a step opens.
fn remembered(framework: &Framework, state: &SessionState, step_id: &str) -> Option<String> {
    let said = |field: &str| match state.value(field)? {
        Value::Text(t) => {
            // A vague answer the person made concrete is remembered in its concrete words.
            let t = later_answer(state, field, FollowUpKind::Sharpen).unwrap_or(t);
            let heart = without_filler(&listen::heart(t)).to_owned();
            Some(if listen::is_first_person(&heart) {
                listen::second_person(&heart)
            } else {
                format!("“{heart}”")
            })
        }
        v @ (Value::List(_) | Value::Options(_)) => {
            let items: Vec<String> = v.items().iter().map(|i| format!("“{i}”")).collect();
            (!items.is_empty()).then(|| and_list(&items))
        }
        _ => None,
    };
    match (framework.id.as_str(), step_id) {
        ("GROW", "will") => said("chosen")
            .map(|c| format!("You're going with {c}: let's turn that into steps."))
            .or_else(|| said("options").map(|o| format!("You have {o} on the table."))),
        ("CLEAR", "review") => said("desired_outcome")
            .map(|d| format!("At the start you wanted to come away with this: {d}.")),
        ("COMPASS", "ownership") => match state.value("initial_confidence") {
            Some(Value::Scale(n)) if *n >= crate::compass::HIGH_CONFIDENCE => Some(format!(
                "You're starting from a confident place — {} out of 10 — so let's put that \
                 confidence to work and make sure it lasts.",
                a_number(*n)
            )),
            _ => None,
        },
        ("COMPASS", "mapping") => said("past_success").map(|p| {
            format!("Earlier you remembered a change you handled well: {p}. Bring what worked then into this plan.")
        }),
        ("OSKAR", "affirm_action") => said("resources")
            .or_else(|| said("past_exceptions"))
            .map(|r| format!("You already have {r} working for you — that counts.")),
        ("FUEL", "lay_out") => said("desired_outcome")
            .map(|d| format!("You wanted to leave with this: {d}.")),
        ("WOOP", "outcome") => Some(
            "Take a moment first: picture your wish come true, as vividly as you can.".to_owned(),
        ),
        ("WOOP", "obstacle") => said("best_outcome")
            .map(|b| format!("Hold that picture — {b} — and now look honestly at what's in the way.")),
        _ => None,
    }
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
        _ if state.paused && state.paused_for_someone_else => match state.pause_reason.as_deref() {
            Some("medical") => "This sounds like a medical emergency for someone with you. \
                     Please call your local emergency number now (it's below) and stay with \
                     them. We've paused the coaching; it will be here when you're ready."
                .to_owned(),
            _ => "It sounds like someone you care about may be in danger, and that's a lot \
                     to hold. If they could act on it or be hurt right now, call your local \
                     emergency number. The people below also help those who are worried about \
                     someone: they can talk you through what to say and do, and support you \
                     too. We've paused the coaching; when you're ready, you can resume the \
                     session, or end it and keep what you wrote."
                .to_owned(),
        },
        _ if state.paused => match state.pause_reason.as_deref() {
            Some("medical") => "This sounds like a medical emergency. Please call your local \
                 emergency number now (it's below), or ask someone near you to. We've paused the \
                 coaching; it will be here when you're ready."
                .to_owned(),
            Some("abuse") => "What you describe sounds frightening, and you deserve to be safe. \
                 We've paused the coaching so you can talk to people who help with exactly this: \
                 they're below. If you're in danger right now, call your local emergency number. \
                 When you're ready, you can resume the session, or end it and keep what you wrote."
                .to_owned(),
            _ => "What you wrote matters, and it sounds like a lot to carry. \
                 We've paused the coaching so you can talk to someone who can help right now: \
                 the people below are there for exactly this. When you're ready, you can resume \
                 the session, or end it and keep what you wrote."
                .to_owned(),
        },
        _ if state.follow_up.is_some() => state
            .follow_up
            .as_ref()
            .map(|f| f.question.clone())
            .unwrap_or_default(),
        Phase::Confirming if state.nothing_to_ask(framework, state.current) => {
            let step = &framework.steps[state.current];
            format!(
                "{} — {} This is your first {} session, so there's nothing to look back on yet: \
                 next time, we'll start here with what's better since today. Proceed when you're \
                 ready.",
                step.name, step.description, framework.name
            )
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
                    match remembered(framework, state, &step.id) {
                        Some(memory) => format!(
                            "{} — {} {memory} {}",
                            step.name, step.description, field.prompt
                        ),
                        None => format!("{} — {} {}", step.name, step.description, field.prompt),
                    }
                } else {
                    field.prompt.clone()
                }
            }
            _ => String::new(),
        },
    }
}

/// Takes the person's answer: to the follow-up the coach asked, else to the pending question;
/// says back what it heard and asks what comes next (a follow-up about this answer, or the
/// next question). Nothing changes when the answer can't be taken.
pub fn respond(
    framework: &Framework,
    state: &mut SessionState,
    input: &str,
    now_ms: i64,
) -> Result<Reply, EngineError> {
    if state.follow_up.is_some() && !state.paused && state.phase != Phase::Closed {
        let f = state.answer_follow_up(framework, input, now_ms)?;
        return Ok(Reply {
            text: after_follow_up(framework, state, &f),
        });
    }
    let captured = state.answer(framework, input, now_ms)?;
    Ok(reply(framework, state, &captured))
}

/// The reply after an answer was captured: say back what was heard, then follow it up or move
/// on.
pub fn reply(framework: &Framework, state: &mut SessionState, captured: &Captured) -> Reply {
    let said = acknowledge(framework, state, captured);
    let follow_up = follow_up_for(framework, state, captured);
    // These questions say the person's words back themselves.
    let carries_words = follow_up.as_ref().is_some_and(|f| {
        matches!(
            f.kind,
            FollowUpKind::SayMore | FollowUpKind::Sharpen | FollowUpKind::HeartCheck
        )
    });
    if let Some(f) = follow_up {
        state.ask_follow_up(f);
    }
    Reply {
        text: if carries_words {
            next_prompt(framework, state)
        } else {
            format!("{said} {}", next_prompt(framework, state))
        },
    }
}

/// The opening line of a session, or of the step it resumes at.
pub fn opening(framework: &Framework, state: &SessionState) -> Reply {
    Reply {
        text: next_prompt(framework, state),
    }
}

/// Writes the summary, insights and risks from what was captured, whatever the framework.
/// A session ended after a safety pause gets a short, kind summary instead: no insights, no
/// list of what was left open.
pub fn summarise(framework: &Framework, state: &SessionState) -> Summary {
    if state.ended_after_pause() {
        return Summary {
            summary: "You ended this session after we paused it, and that's completely okay. \
                      What you wrote is kept here, and you can come back to coaching whenever \
                      you're ready. If things feel heavy, please talk to someone now: a helpline \
                      or your local emergency number. You don't have to carry this alone."
                .to_owned(),
            insights: Vec::new(),
            risks: Vec::new(),
        };
    }
    let mut parts: Vec<String> = Vec::new();
    // What they came with, as they first put it: the first sentence of the answer.
    let said = |t: &str| {
        // Whole, as the person wrote it: a report has room, and a cut phrase reads wrong.
        let first = crate::engine::first_sentence(t, 400);
        let first = without_filler(&first).to_owned();
        if listen::speaks_as_i(&first) {
            format!("you said {}", listen::second_person(&first))
        } else {
            format!("you came to work on: {first}")
        }
    };
    // The first field of the first step is the heart of every framework (goal, topic, wish...).
    if let Some(first) = framework.steps.first().and_then(|s| s.fields.first())
        && let Some(v) = state.value(&first.id)
    {
        let more = later_answer(state, &first.id, FollowUpKind::SayMore)
            .map(|m| {
                format!(
                    " — {}",
                    lower_first(&listen::second_person(&report_heart(m)))
                )
            })
            .unwrap_or_default();
        parts.push(format!(
            "{}{more}.",
            capitalise(&said(&v.display(state.zone())))
        ));
    }
    if let Some(now) = ["current_state", "situation", "their_view"]
        .iter()
        .find_map(|f| fuller(state, f))
    {
        let heart = without_filler(&report_heart(&now)).to_owned();
        parts.push(format!(
            "Where things stand: {}.",
            lower_first(&listen::second_person(&heart))
        ));
    }
    if let (Some(Value::Scale(n)), Some(FieldKind::Scale { max, .. })) = (
        state.value("current_scale"),
        field_def(framework, "current_scale").map(|f| &f.kind),
    ) {
        parts.push(format!(
            "Today you put yourself at {} out of {max}.",
            a_number(*n)
        ));
    }
    let live = |p: &&crate::engine::ProposedAction| p.status != ProposalStatus::Dropped;
    let accepted: Vec<String> = state
        .proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Accepted)
        .map(|p| match p.due_ms {
            Some(ms) => format!("{} (by {})", p.title, crate::dates::label(ms, state.zone())),
            None => p.title.clone(),
        })
        .collect();
    let undecided = state
        .proposals
        .iter()
        .filter(|p| p.status == ProposalStatus::Proposed)
        .count();
    if !accepted.is_empty() {
        parts.push(format!("Your next steps: {}.", accepted.join("; ")));
    }
    if undecided > 0 {
        parts.push(format!(
            "{} {} kept when you close, unless you drop {}.",
            capitalise(&count_noun(undecided, "more proposed action")),
            if undecided == 1 { "is" } else { "are" },
            if undecided == 1 { "it" } else { "them" }
        ));
    }
    if framework.id == "WOOP"
        && let Some(Value::Text(rule)) = state.value("if_then_plan")
    {
        parts.push(format!(
            "Your standing rule: “{}” — not a task to tick off, but a plan for the moment the obstacle shows up.",
            rule.trim().trim_end_matches('.')
        ));
    }
    let mut insights = Vec::new();
    let mut risks = Vec::new();
    let answered = |field: &str, kind: FollowUpKind| {
        state
            .steps
            .iter()
            .flat_map(|s| s.follow_ups.iter())
            .rev()
            .find(|f| f.field_id == field && f.kind == kind)
    };
    for step in &framework.steps {
        for field in &step.fields {
            let Some(value) = state.value(&field.id) else {
                if field.required && !state.ended_early {
                    risks.push(format!("“{}” was left open.", field.label));
                }
                continue;
            };
            match (&field.kind, value) {
                // How the session felt is for the product to learn from, not an insight.
                (FieldKind::Scale { .. }, _) if field.id == "satisfaction" => {}
                (FieldKind::Scale { min, max, .. }, Value::Scale(n)) => {
                    // A measure taken again later: the latest value tells the story.
                    if let Some(rest) = field.id.strip_prefix("initial_")
                        && state.value(&format!("final_{rest}")).is_some()
                    {
                        continue;
                    }
                    if let Some(rest) = field.id.strip_prefix("final_")
                        && let Some(Value::Scale(before)) = state.value(&format!("initial_{rest}"))
                    {
                        let moved = |what: &str| match answered(&field.id, FollowUpKind::Moved) {
                            Some(a) if !listen::is_nothing(&a.answer) => {
                                format!(" {what}: “{}”.", report_heart(&a.answer))
                            }
                            _ => String::new(),
                        };
                        let label = field.label.trim_end_matches(" now");
                        insights.push(if before == n {
                            format!(
                                "{label} held steady at {n} out of {max}.{}",
                                moved("What kept it there")
                            )
                        } else {
                            format!(
                                "{label} went from {before} to {n} out of {max}.{}",
                                moved("What moved it")
                            )
                        });
                        continue;
                    }
                    let span = (max - min).max(1);
                    let floor = answered(&field.id, FollowUpKind::Floor)
                        .filter(|a| !listen::is_nothing(&a.answer))
                        .map(|a| format!(" It rests on “{}”.", report_heart(&a.answer)))
                        .unwrap_or_default();
                    if (n - min) * 10 < span * 6 {
                        let raise = match answered(&field.id, FollowUpKind::Raise)
                            .filter(|a| !listen::is_nothing(&a.answer))
                        {
                            Some(a) => format!(
                                " What would raise it, in your words: “{}”.",
                                report_heart(&a.answer)
                            ),
                            None => " What would move it up one point?".to_owned(),
                        };
                        insights.push(format!(
                            "{}: {} out of {max}.{floor}{raise}",
                            field.label,
                            a_number(*n)
                        ));
                    } else {
                        insights.push(format!(
                            "{}: {} out of {max}, a good foundation.{floor}",
                            field.label,
                            a_number(*n)
                        ));
                    }
                }
                (_, Value::List(items))
                    if STRENGTHS.contains(&field.id.as_str()) && !items.is_empty() =>
                {
                    let opening = match field.id.as_str() {
                        "past_exceptions" => "It has gone better before",
                        "affirmations" => "What you're already doing well",
                        _ => "You already have things working for you",
                    };
                    insights.push(format!("{opening}: {}.", quoted_list(items)));
                }
                (_, Value::List(items))
                    if HURDLES.contains(&field.id.as_str()) && !items.is_empty() =>
                {
                    risks.push(format!("{}: {}.", field.label, quoted_list(items)));
                }
                (_, Value::Text(t))
                    if matches!(
                        field.id.as_str(),
                        "inner_obstacle" | "obstacle" | "limiting_belief"
                    ) =>
                {
                    risks.push(format!("{}: {}.", field.label, report_heart(t)));
                }
                _ => {}
            }
        }
    }
    let undated = state
        .proposals
        .iter()
        .filter(live)
        .filter(|p| p.due_ms.is_none())
        .count();
    if undated > 0 {
        risks.push(if undated == 1 {
            "1 action without a date tends to drift: give it a day.".to_owned()
        } else {
            format!("{undated} actions without a date tend to drift: give each a day.")
        });
    }
    // After a safety pause the report is kind, not a list of what's left undone.
    if state.ended_early {
        risks.retain(|r| !r.ends_with("was left open."));
    }
    dedupe(&mut insights);
    dedupe(&mut risks);
    Summary {
        summary: parts.join(" "),
        insights,
        risks,
    }
}

/// The heart of an answer as a report says it: up to 40 words, ending at a whole phrase.
fn report_heart(text: &str) -> String {
    listen::heart_within(text, 40)
}

/// What the person said when the coach followed up `field` with `kind`, if they did.
fn later_answer<'s>(state: &'s SessionState, field: &str, kind: FollowUpKind) -> Option<&'s str> {
    state
        .steps
        .iter()
        .flat_map(|s| s.follow_ups.iter())
        .find(|f| f.field_id == field && f.kind == kind && !listen::is_nothing(&f.answer))
        .map(|f| f.answer.as_str())
}

/// A written answer as the person meant it: when they said more about a one-word answer, or
/// put the coach right about its heart, that is what counts.
fn fuller(state: &SessionState, field: &str) -> Option<String> {
    let Some(Value::Text(t)) = state.value(field) else {
        return None;
    };
    let later = later_answer(state, field, FollowUpKind::SayMore).or_else(|| {
        later_answer(state, field, FollowUpKind::HeartCheck).filter(|a| !listen::is_yes(a))
    });
    Some(later.unwrap_or(t).to_owned())
}

fn dedupe(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalogue;
    use crate::frameworks::Field;

    /// 2026-01-15T10:00:00Z, a Thursday.
    const NOW: i64 = 1_768_471_200_000;

    fn answer_for(field: &Field) -> String {
        match &field.kind {
            FieldKind::Text { .. } => format!("Honestly, my answer about {}", field.label),
            FieldKind::List { .. } => "first thing; second thing by Friday".into(),
            FieldKind::Scale { min, max, .. } => ((min + max) / 2).to_string(),
            FieldKind::Choice { options } => options[0].clone(),
            FieldKind::Date => "by Friday".into(),
            FieldKind::Actions { .. } => "Call Sam by Friday\nDraft the plan in 3 days".into(),
            FieldKind::Options { .. } => "Ask for a transfer; Retrain at night".into(),
        }
    }

    /// A GROW session at its Will step, with `chosen` picked.
    fn grow_at_will(fw: &Framework) -> SessionState {
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        while s.current_step(fw).unwrap().id != "will" {
            while let Some(field) = s.pending_field(fw).cloned() {
                s.answer(fw, &answer_for(&field), NOW).unwrap();
            }
            s.proceed(fw).unwrap();
        }
        s
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
        respond(fw, &mut s, "Lead the platform team", NOW).unwrap();
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
    fn it_says_back_the_heart_of_the_answer_in_the_second_person() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        let r = respond(
            fw,
            &mut s,
            "We had a reorg in March and nobody told us much. I want to lead the platform team \
             by the summer. It matters.",
            NOW,
        )
        .unwrap()
        .text;
        assert!(
            r.contains("you want to lead the platform team by the summer."),
            "the clause with the want, not the first sentence: {r}"
        );
        assert!(!r.contains("reorg"), "{r}");
        let next = s.pending_field(fw).unwrap();
        assert!(r.ends_with(&next.prompt), "then the next question: {r}");
        // The next reply is phrased differently.
        let r2 = respond(
            fw,
            &mut s,
            "I've been passed over twice and I'm tired of waiting",
            NOW,
        )
        .unwrap()
        .text;
        assert_ne!(r.split(' ').next(), r2.split(' ').next(), "{r} / {r2}");
        assert!(r2.contains("you've been passed over twice"), "{r2}");
        assert!(r2.contains("tired"), "{r2}");
        // Long answers are never quoted whole.
        let long = "I want ".to_owned() + &"very ".repeat(60) + "much to get there.";
        s.amend(fw, "goal", Some("goal")).unwrap();
        let r = respond(fw, &mut s, &long, NOW).unwrap().text;
        assert!(r.contains('…'), "{r}");
        assert!(r.split_whitespace().count() < 40, "{r}");
    }

    #[test]
    fn it_names_the_feelings_that_were_named_and_no_others() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("CLEAR").unwrap();
        let s = SessionState::new(fw);
        let said = |t: &str| reflect_text(&s, t);
        assert_eq!(
            said("Light. Proud. Like a real researcher and not a fraud."),
            "“Light, proud, like a real researcher and not a fraud” — I hear you. That's worth noticing."
        );
        assert_eq!(
            said("Guilty. Scared."),
            "Guilty and scared — that's a lot to carry."
        );
        assert_eq!(
            said("I feel guilty and scared about taking Dad's car keys away"),
            "So you feel guilty and scared about taking Dad's car keys away. That's a lot to carry."
        );
        let plain = said("We meet every Tuesday and the agenda is always too long");
        for feeling in ["guilty", "scared", "hard", "carry", "worth noticing"] {
            assert!(!plain.contains(feeling), "no feeling invented: {plain}");
        }
        // A list of feelings in CLEAR is met as feelings, not as an inventory.
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        s.answer(fw, "Sort out the tension with Priya", NOW)
            .unwrap();
        s.answer(fw, "We can talk without it turning into a fight", NOW)
            .unwrap();
        s.proceed(fw).unwrap();
        s.answer(fw, "She rewrote my design doc without asking", NOW)
            .unwrap();
        s.answer(fw, "Being trusted with my own work", NOW).unwrap();
        let r = respond(
            fw,
            &mut s,
            "frustrated; embarrassed; a bit relieved it's out",
            NOW,
        )
        .unwrap()
        .text;
        assert!(
            r.starts_with(
                "Relieved, and frustrated and embarrassed too — both can be true at once."
            ),
            "{r}"
        );
        assert!(!r.contains("That's 3"), "{r}");
    }

    #[test]
    fn after_a_scale_it_asks_what_puts_it_there_and_what_would_raise_it() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = grow_at_will(fw);
        respond(fw, &mut s, "Call Sam by Friday", NOW).unwrap();
        let r = respond(fw, &mut s, "about a 3 out of 10", NOW)
            .unwrap()
            .text;
        assert_eq!(r, "A 3 out of 10. What puts you at a 3 and not a 1?");
        assert_eq!(s.phase, Phase::Asking);
        let r = respond(fw, &mut s, "I already booked the gym once", NOW)
            .unwrap()
            .text;
        assert!(r.ends_with("And what would make it a 5?"), "{r}");
        assert!(r.contains("you already booked the gym once"), "{r}");
        let r = respond(fw, &mut s, "A friend to go with", NOW)
            .unwrap()
            .text;
        let obstacles = &fw.steps[3].fields[2];
        assert!(r.ends_with(&obstacles.prompt), "then it moves on: {r}");
        let kept = &s.steps[3].follow_ups;
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].kind, FollowUpKind::Floor);
        assert_eq!(kept[1].answer, "A friend to go with");
        // The report keeps both answers with the number.
        let sum = summarise(fw, &s);
        assert!(
            sum.insights.iter().any(|i| i
                == "Commitment: a 3 out of 10. It rests on “I already booked the gym once”. What would raise it, in your words: “A friend to go with”."),
            "{:?}",
            sum.insights
        );
    }

    #[test]
    fn the_report_summary_says_long_answers_in_whole_phrases() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        let goal = "Finish the grant application for the community garden project before the \
                    council's spring deadline so that the kids' programme can run again next \
                    summer with proper funding and a paid coordinator";
        assert!(goal.len() > 160, "longer than a reply may quote");
        s.answer(fw, goal, NOW).unwrap();
        let sum = summarise(fw, &s);
        assert!(sum.summary.contains(goal), "{}", sum.summary);
        assert!(!sum.summary.contains('…'), "{}", sum.summary);
    }

    #[test]
    fn an_action_without_a_date_is_asked_when() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = grow_at_will(fw);
        let r = respond(
            fw,
            &mut s,
            "Call Sam by Friday\nBuy proper shoes\nRead the handbook",
            NOW,
        )
        .unwrap()
        .text;
        assert!(
            r.ends_with("“Buy proper shoes” — when will you do that?"),
            "{r}"
        );
        // Not a date: said so, and asked again; nothing changes.
        let err = respond(fw, &mut s, "when I can", NOW).unwrap_err();
        assert!(
            err.to_string().starts_with("I couldn't find a date"),
            "{err}"
        );
        assert!(s.follow_up.is_some());
        let r = respond(fw, &mut s, "Saturday", NOW).unwrap().text;
        assert!(
            r.starts_with("Buy proper shoes — Sat 17 Jan 2026.")
                && r.ends_with("“Read the handbook” — when will you do that?"),
            "one question for each undated action: {r}"
        );
        s.skip(fw).unwrap();
        let Some(Value::Actions(a)) = s.value("actions") else {
            panic!()
        };
        assert_eq!(
            a[1].due_ms
                .map(|ms| crate::dates::label(ms, crate::dates::Zone::UTC))
                .as_deref(),
            Some("Sat 17 Jan 2026")
        );
        assert_eq!(a[2].due_ms, None, "skipped: left undated");
        assert_eq!(s.pending_field(fw).unwrap().id, "commitment");
    }

    #[test]
    fn a_follow_up_can_be_skipped_for_free_and_ends_with_any_other_move() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = grow_at_will(fw);
        respond(fw, &mut s, "Call Sam by Friday", NOW).unwrap();
        respond(fw, &mut s, "8", NOW).unwrap();
        assert!(s.follow_up.is_some());
        assert_eq!(next_prompt(fw, &s), "What puts you at an 8 and not a 1?");
        s.skip(fw).unwrap();
        assert!(s.follow_up.is_none());
        assert!(
            s.steps[3].skipped.is_empty(),
            "a skipped follow-up costs no skip"
        );
        assert_eq!(s.pending_field(fw).unwrap().id, "obstacles");
        // Proceeding drops an open follow-up too.
        s.amend(fw, "will", Some("commitment")).unwrap();
        respond(fw, &mut s, "6", NOW).unwrap();
        assert!(s.follow_up.is_some());
        s.proceed(fw).unwrap();
        assert!(s.follow_up.is_none());
        // At the top of the scale there is nothing to raise.
        s.amend(fw, "will", Some("commitment")).unwrap();
        let r = respond(fw, &mut s, "10", NOW).unwrap().text;
        assert!(
            r.starts_with("A 10 out of 10 — that's as strong as it gets."),
            "{r}"
        );
        assert!(s.follow_up.is_none());
    }

    #[test]
    fn after_options_it_asks_what_else_until_that_is_all_at_most_twice() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("GROW").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        while s.current_step(fw).unwrap().id != "options" {
            while let Some(field) = s.pending_field(fw).cloned() {
                s.answer(fw, &answer_for(&field), NOW).unwrap();
            }
            s.proceed(fw).unwrap();
        }
        let r = respond(fw, &mut s, "Ask for a transfer; Retrain at night", NOW)
            .unwrap()
            .text;
        assert!(
            r.ends_with("What else could you do? Or say “that's all” and we'll weigh them up."),
            "{r}"
        );
        let r = respond(fw, &mut s, "Talk to my manager", NOW).unwrap().text;
        assert!(
            r.starts_with("Talk to my manager — good, more to choose from."),
            "{r}"
        );
        assert!(r.ends_with("What else?"), "{r}");
        let r = respond(fw, &mut s, "Freelance on weekends; ask for a transfer", NOW)
            .unwrap()
            .text;
        assert!(
            r.starts_with("Freelance on weekends — good"),
            "duplicates are not added: {r}"
        );
        assert!(s.follow_up.is_none(), "at most twice");
        assert_eq!(
            s.value("options").unwrap().items(),
            [
                "Ask for a transfer",
                "Retrain at night",
                "Talk to my manager",
                "Freelance on weekends"
            ]
        );
        // "That's all" ends it at once.
        s.amend(fw, "options", Some("options")).unwrap();
        respond(fw, &mut s, "Stay put", NOW).unwrap();
        let r = respond(fw, &mut s, "No, that's all.", NOW).unwrap().text;
        assert!(
            r.starts_with("Then let's work with what's on the table."),
            "{r}"
        );
        assert_eq!(s.value("options").unwrap().items(), ["Stay put"]);
        assert_eq!(s.pending_field(fw).unwrap().id, "chosen");
    }

    #[test]
    fn a_vague_goal_is_sharpened_short_answers_invited_long_ones_checked() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("FUEL").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        respond(fw, &mut s, "My dad's driving", NOW).unwrap();
        let r = respond(fw, &mut s, "Feel better about it", NOW)
            .unwrap()
            .text;
        assert_eq!(
            r,
            "“Feel better about it” — if you got there, what would you or others notice? \
             Something you could see, hear or count."
        );
        respond(fw, &mut s, "We agree on a date he stops", NOW).unwrap();
        assert_eq!(s.steps[0].follow_ups[0].kind, FollowUpKind::Sharpen);
        // A measurable outcome isn't questioned.
        s.amend(fw, "frame", Some("desired_outcome")).unwrap();
        respond(fw, &mut s, "A plan he agrees to by March", NOW).unwrap();
        assert!(s.follow_up.is_none());
        s.proceed(fw).unwrap();
        let r = respond(fw, &mut s, "Complicated.", NOW).unwrap().text;
        assert!(
            r == "“Complicated” — could you say a little more about that?"
                || r == "“Complicated” — tell me a bit more: what's behind that?",
            "{r}"
        );
        respond(fw, &mut s, "He's proud and the car is his freedom", NOW).unwrap();
        // A long answer gets a one-line check of its heart.
        s.amend(fw, "understand", Some("their_view")).unwrap();
        let long = "It started last winter when he scraped the gate. Then he got lost driving \
                    home from the shop he has used for thirty years, and my sister found him two \
                    towns over. He laughs it off. My mum won't say anything because she depends \
                    on him for lifts. I'm scared he will hurt someone and I feel like the only \
                    one willing to say it out loud, which makes me the bad guy at every family \
                    dinner.";
        let r = respond(fw, &mut s, long, NOW).unwrap().text;
        assert!(r.contains("Is that the heart of it?"), "{r}");
        let r = respond(fw, &mut s, "Yes, exactly", NOW).unwrap().text;
        assert!(r.starts_with("Good — then let's keep that in view."), "{r}");
    }

    #[test]
    fn it_remembers_where_the_person_started() {
        let cat = Catalogue::builtin().unwrap();
        let fw = cat.get("COMPASS").unwrap();
        let mut s = SessionState::new(fw);
        s.give_consent().unwrap();
        let mut said_past_success = false;
        while !s.is_complete() {
            let step = s.current_step(fw).unwrap().id.clone();
            while s.phase == Phase::Asking {
                let prompt = next_prompt(fw, &s);
                if step == "mapping" && s.steps[s.current].captured.is_empty() {
                    said_past_success = prompt.contains("you handled the move to Leeds well");
                }
                let answer = if s.follow_up.is_some() {
                    "Talking it through".to_owned()
                } else {
                    let field = s.pending_field(fw).unwrap().clone();
                    match field.id.as_str() {
                        "initial_confidence" => "3".into(),
                        "final_confidence" => "6".into(),
                        "past_success" => "I handled the move to Leeds well".into(),
                        _ => answer_for(&field),
                    }
                };
                let r = respond(fw, &mut s, &answer, NOW).unwrap().text;
                if answer == "6" {
                    assert!(
                        r.ends_with("When we started you were at 3; now you say 6 — what moved?"),
                        "{r}"
                    );
                }
            }
            s.proceed(fw).unwrap();
        }
        assert!(
            said_past_success,
            "the plan step brings the past success back"
        );
        let sum = summarise(fw, &s);
        assert!(
            sum.insights.iter().any(|i| i
                .starts_with("Confidence now went from 3 to 6 out of 10.")
                || i.contains("from 3 to 6 out of 10")),
            "{:?}",
            sum.insights
        );
        assert!(
            !sum.insights
                .iter()
                .any(|i| i.contains("Confidence at the start")),
            "the first reading is not reported on its own: {:?}",
            sum.insights
        );
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
                while s.phase == Phase::Asking {
                    let answer = match (&s.follow_up, s.pending_field(&fw)) {
                        (Some(_), _) => "Something I had not noticed before".to_owned(),
                        (None, Some(field)) => answer_for(field),
                        (None, None) => unreachable!(),
                    };
                    let r = respond(&fw, &mut s, &answer, NOW).unwrap().text;
                    let step = &fw.steps[s.current];
                    let asked: Vec<&Field> = step
                        .fields
                        .iter()
                        .filter(|f| r.contains(f.prompt.as_str()))
                        .collect();
                    match (&s.follow_up, s.pending_field(&fw)) {
                        (Some(f), _) => {
                            assert!(r.ends_with(&f.question), "{}: {r}", fw.id);
                            assert!(asked.is_empty(), "{}: only the follow-up: {r}", fw.id);
                        }
                        (None, Some(next)) => {
                            assert_eq!(asked.len(), 1, "{} {}: one question: {r}", fw.id, step.id);
                            assert_eq!(asked[0].id, next.id, "{}: {r}", fw.id);
                            assert!(
                                !s.steps[s.current].captured.contains_key(&next.id),
                                "{}: never an answered one",
                                fw.id
                            );
                        }
                        (None, None) => {
                            assert!(asked.is_empty(), "{}: nothing left to ask: {r}", fw.id);
                            assert!(r.contains("proceed"), "{}: invites confirming: {r}", fw.id);
                        }
                    }
                    assert_eq!(
                        r.matches('?').count().min(1),
                        usize::from(s.phase == Phase::Asking),
                        "{}: {r}",
                        fw.id
                    );
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
                    "actions" => {
                        "Call Sam by Friday\nDraft the plan in 3 days\nRead the handbook".to_owned()
                    }
                    _ => answer_for(&field),
                };
                s.answer(fw, &text, NOW).unwrap();
            }
            s.proceed(fw).unwrap();
        }
        s.propose_actions(fw);
        s.proposals[0].status = ProposalStatus::Accepted;
        s.proposals[1].status = ProposalStatus::Dropped;
        let sum = summarise(fw, &s);
        assert_eq!(
            sum.summary,
            "You came to work on: Lead the platform team. Where things stand: you run two \
             projects and mentor one person. Your next steps: Call Sam (by Fri 16 Jan 2026). \
             1 more proposed action is kept when you close, unless you drop it.",
        );
        assert!(
            sum.insights
                .iter()
                .any(|i| i == "Commitment: a 4 out of 10. What would move it up one point?"),
            "a low scale becomes a question: {:?}",
            sum.insights
        );
        assert!(
            sum.risks
                .iter()
                .any(|r| r == "1 action without a date tends to drift: give it a day."),
            "{:?}",
            sum.risks
        );
        assert!(
            !sum.risks.iter().any(|r| r.contains("left open")),
            "{:?}",
            sum.risks
        );
        // Nothing is said twice.
        let mut all = sum.insights.clone();
        all.extend(sum.risks.clone());
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn numbers_take_the_right_article() {
        assert_eq!(a_number(8), "an 8");
        assert_eq!(a_number(11), "an 11");
        assert_eq!(a_number(7), "a 7");
        assert_eq!(a_number(1), "a 1");
    }
}
