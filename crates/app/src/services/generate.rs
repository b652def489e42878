//! `coachflux dev generate`: fills a database with people who have a history (sessions with
//! their reflections, action items, events and progress figures), for benchmarks and for
//! trying the product with realistic volumes. Everything is derived from a seed, so two runs
//! with the same plan write the same words at the same times (ids aside from their random
//! part, which also comes from the seed).
//!
//! Sessions are real: each framework's state is made by driving the coaching engine through
//! it once (answering every question, confirming every step), so a generated session's page
//! renders and its report reads like one a person completed.

use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::clock::DAY_MS;
use coachflux_domain::engine::SessionState;
use coachflux_domain::frameworks::{FieldKind, Framework};
use coachflux_store::generate::{Cell, Table, insert};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// What to make.
#[derive(Debug, Clone)]
pub struct Plan {
    pub people: u64,
    pub sessions_per_person: u64,
    pub reflections_per_session: u64,
    pub actions_per_person: u64,
    pub seed: u64,
    /// Everyone signs in with this password.
    pub password: String,
    /// Rows written per transaction.
    pub rows_per_commit: usize,
}

/// What was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    pub people: u64,
    pub sessions: u64,
    pub reflections: u64,
    pub action_items: u64,
    pub events: u64,
    /// The first person's address (the one a token is made for).
    pub first_email: String,
}

/// Rows written per transaction unless the plan says otherwise.
pub const ROWS_PER_COMMIT: usize = 20_000;

/// A framework's finished session, as the engine leaves it.
struct Template {
    framework: String,
    last_step: String,
    steps: Vec<String>,
    /// The state JSON of a completed session.
    completed: String,
    answers: Vec<String>,
}

const FIRST: &[&str] = &[
    "Ada", "Sam", "Priya", "Jonas", "Mei", "Omar", "Lucia", "Kwame", "Ines", "Tomas", "Aiko",
    "Ravi",
];
const LAST: &[&str] = &[
    "Lovelace", "Okafor", "Nair", "Berg", "Chen", "Haddad", "Rossi", "Mensah", "Silva", "Novak",
];
const TITLES: &[&str] = &[
    "Call Sam about the hand-over",
    "Draft the project plan",
    "Book a one-to-one with my manager",
    "Write down three wins from this week",
    "Block two hours of focus time",
    "Ask for feedback on the proposal",
    "Read the first chapter",
    "Go for a run before work",
    "Update the team on the deadline",
    "Say no to one meeting",
];
const SAYINGS: &[&str] = &[
    "I want to feel confident leading the team meeting without over-preparing.",
    "Right now I spend most evenings catching up on email, and I'm tired.",
    "I could ask Priya for help, or move the deadline, or cut the scope.",
    "I'll start with a short conversation with my manager on Monday.",
    "What gets in the way is that I say yes before I think.",
    "On a scale of one to ten I'm at a six, and a seven would feel like progress.",
];
/// How long a generated session lasts.
const SESSION_MS: i64 = 20 * 60_000;
const TAGS: &[&str] = &["work", "health", "team", "learning", "home"];
const PRIORITIES: &[&str] = &["low", "medium", "high"];

/// An answer the engine accepts for a field of this kind.
fn sample_answer(kind: &FieldKind, i: usize) -> String {
    match kind {
        FieldKind::Text { .. } => SAYINGS[i % SAYINGS.len()].to_owned(),
        FieldKind::List { .. } => "Talk to Priya, Move the deadline, Cut the scope".to_owned(),
        FieldKind::Scale { min, max, .. } => ((min + max) / 2).to_string(),
        FieldKind::Choice { options } => options.first().cloned().unwrap_or_default(),
        FieldKind::Date => "in 2 weeks".to_owned(),
        FieldKind::Actions { .. } => "Call Sam by Friday, Draft the plan in 3 days".to_owned(),
        FieldKind::Options { .. } => "Stay in the role, Ask for a move".to_owned(),
    }
}

/// Drives the engine through `framework`, answering each question, to a completed session.
fn template(framework: &Framework, now: i64) -> Option<Template> {
    let mut s = SessionState::new(framework);
    s.give_consent().ok()?;
    let mut answers = Vec::new();
    for _ in 0..200 {
        if s.is_complete() {
            break;
        }
        if let Some(field) = s.pending_field(framework).cloned() {
            let answer = sample_answer(&field.kind, answers.len());
            if s.answer(framework, &answer, now).is_ok() {
                answers.push(answer);
            } else {
                s.skip(framework).ok()?;
            }
        } else {
            s.proceed(framework).ok()?;
        }
    }
    s.propose_actions(framework);
    s.close().ok()?;
    Some(Template {
        framework: framework.id.clone(),
        last_step: framework.steps.last()?.id.clone(),
        steps: framework.steps.iter().map(|st| st.id.clone()).collect(),
        completed: serde_json::to_string(&s).ok()?,
        answers,
    })
}

/// Collects rows and writes them a transaction at a time.
struct Writer<'a> {
    state: &'a AppState,
    pending: Vec<(Table, Vec<Cell>)>,
    per_commit: usize,
}

impl Writer<'_> {
    async fn push(&mut self, table: Table, row: Vec<Cell>) -> Result<(), AppError> {
        self.pending.push((table, row));
        if self.pending.len() >= self.per_commit {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what was collected, parents before children.
    async fn flush(&mut self) -> Result<(), AppError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut by_table: Vec<(Table, Vec<Vec<Cell>>)> = [
            Table::Users,
            Table::Sessions,
            Table::Reflections,
            Table::ActionItems,
            Table::Events,
            Table::UserMetrics,
        ]
        .into_iter()
        .map(|t| (t, Vec::new()))
        .collect();
        for (table, row) in self.pending.drain(..) {
            if let Some((_, rows)) = by_table.iter_mut().find(|(t, _)| *t == table) {
                rows.push(row);
            }
        }
        let mut tx = self.state.store.begin().await?;
        for (table, rows) in by_table.iter().filter(|(_, rows)| !rows.is_empty()) {
            insert(&mut tx, *table, rows).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A UUIDv7 for `at_ms` whose random part comes from the seeded generator.
fn id(rng: &mut StdRng, at_ms: i64) -> String {
    let random: [u8; 10] = rng.random();
    coachflux_domain::ids::id_at(at_ms, random)
}

/// Makes `plan.people` people with their histories, ending `now`. Only into a database
/// without accounts: generated people never mix with real ones.
pub async fn people(state: &AppState, plan: &Plan, now: i64) -> Result<Made, AppError> {
    if coachflux_store::users::any(&mut *state.store.conn().await?).await? {
        return Err(AppError::invalid(
            "database",
            "This database already has accounts: generate into a new one (another \
             COACHFLUX_DATA_DIR or COACHFLUX_DATABASE_URL).",
        ));
    }
    let frameworks = state.store.list_frameworks().await?;
    let templates: Vec<Template> = frameworks
        .iter()
        .filter(|f| f.framework.is_available)
        .filter_map(|f| template(&f.framework, now))
        .collect();
    if templates.is_empty() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "no framework could be completed by the generator"
        )));
    }
    let password_hash = state.hashing.hash(plan.password.clone()).await?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut w = Writer {
        state,
        pending: Vec::new(),
        per_commit: plan.rows_per_commit.max(1),
    };
    let mut made = Made::default();
    // A year of history, oldest first.
    let start = now - 365 * DAY_MS;
    for p in 0..plan.people {
        let joined = start + rng.random_range(0..30 * DAY_MS);
        let user = id(&mut rng, joined);
        let email = format!("person{p}@generated.example");
        if p == 0 {
            made.first_email.clone_from(&email);
        }
        let name = format!(
            "{} {}",
            FIRST[rng.random_range(0..FIRST.len())],
            LAST[rng.random_range(0..LAST.len())]
        );
        w.push(
            Table::Users,
            vec![
                Cell::Text(user.clone()),
                Cell::Text(email),
                Cell::Int(1),
                Cell::Text(name),
                Cell::Text(password_hash.clone()),
                Cell::Text("email".into()),
                Cell::Int(joined),
                Cell::Int(now - DAY_MS),
                Cell::Int(now - DAY_MS),
                Cell::Int(joined),
                Cell::Int(1),
            ],
        )
        .await?;
        made.people += 1;
        // Sessions spread over the year; each lasts about twenty minutes.
        let span = (now - joined).max(1);
        let step = span / i64::try_from(plan.sessions_per_person.max(1)).unwrap_or(1);
        let mut sessions = Vec::new();
        let mut used = Vec::new();
        let mut last_closed = None;
        let mut time_spent_ms = 0;
        for s in 0..plan.sessions_per_person {
            let t = &templates[rng.random_range(0..templates.len())];
            let opened = joined + step * i64::try_from(s).unwrap_or(0);
            let closed = opened + SESSION_MS;
            let session = id(&mut rng, opened);
            w.push(
                Table::Sessions,
                vec![
                    Cell::Text(session.clone()),
                    Cell::Text(user.clone()),
                    Cell::Text(t.framework.clone()),
                    Cell::Text(t.last_step.clone()),
                    Cell::Text(t.completed.clone()),
                    Cell::Text("completed".into()),
                    Cell::Int(closed),
                    Cell::Int(closed),
                    Cell::Int(opened),
                    Cell::Int(closed),
                ],
            )
            .await?;
            made.sessions += 1;
            for r in 0..plan.reflections_per_session {
                let r_usize = usize::try_from(r).unwrap_or(0);
                let at = opened + i64::try_from(r).unwrap_or(0) * 60_000;
                let said = t
                    .answers
                    .get(r_usize)
                    .cloned()
                    .unwrap_or_else(|| SAYINGS[r_usize % SAYINGS.len()].to_owned());
                let payload = json!({
                    "reply": "Thank you. What would tell you that you're getting there?",
                    "captured": {},
                    "coach": "built-in",
                });
                w.push(
                    Table::Reflections,
                    vec![
                        Cell::Text(id(&mut rng, at)),
                        Cell::Text(session.clone()),
                        Cell::Text(t.steps[r_usize % t.steps.len()].clone()),
                        Cell::Text(said),
                        Cell::Text(payload.to_string()),
                        Cell::Int(at),
                    ],
                )
                .await?;
                made.reflections += 1;
            }
            if !used.contains(&t.framework) {
                used.push(t.framework.clone());
            }
            last_closed = Some(closed);
            // As the metrics count it: the gaps between start, answers and close, each up to
            // the pause limit.
            let mut moments = vec![opened, closed];
            moments.extend(
                (0..plan.reflections_per_session)
                    .map(|r| opened + i64::try_from(r).unwrap_or(0) * 60_000),
            );
            moments.sort_unstable();
            time_spent_ms += moments
                .windows(2)
                .map(|w| (w[1] - w[0]).min(coachflux_store::metrics::PAUSE_MS))
                .sum::<i64>();
            sessions.push((session, closed));
        }
        let (mut created_items, mut completed) = (0, 0);
        for a in 0..plan.actions_per_person {
            let Some((session, closed)) = sessions
                .get(usize::try_from(a).unwrap_or(0) % sessions.len().max(1))
                .cloned()
            else {
                break;
            };
            let created = closed + i64::try_from(a).unwrap_or(0) * 1_000;
            let due = created + rng.random_range(1..30) * DAY_MS;
            let done = due < now && rng.random_range(0..10) < 6;
            let item = id(&mut rng, created);
            let tags = json!([TAGS[rng.random_range(0..TAGS.len())]]).to_string();
            w.push(
                Table::ActionItems,
                vec![
                    Cell::Text(item.clone()),
                    Cell::Text(user.clone()),
                    Cell::Text(session.clone()),
                    Cell::Text(TITLES[rng.random_range(0..TITLES.len())].to_owned()),
                    Cell::NoText,
                    Cell::Int(due),
                    Cell::Int(i64::from(done)),
                    Cell::from(done.then_some(due - DAY_MS)),
                    Cell::Text(PRIORITIES[rng.random_range(0..PRIORITIES.len())].to_owned()),
                    Cell::Text(tags),
                    Cell::Int(created),
                    Cell::Int(created),
                ],
            )
            .await?;
            w.push(
                Table::Events,
                vec![
                    Cell::Text(id(&mut rng, created)),
                    Cell::Text(user.clone()),
                    Cell::Text("action_item_created".into()),
                    Cell::Text(json!({"sessionId": session}).to_string()),
                    Cell::Int(created),
                ],
            )
            .await?;
            made.action_items += 1;
            made.events += 1;
            created_items += 1;
            completed += i64::from(done);
        }
        used.sort();
        w.push(
            Table::UserMetrics,
            vec![
                Cell::Text(id(&mut rng, now)),
                Cell::Text(user),
                Cell::Int(i64::try_from(sessions.len()).unwrap_or(i64::MAX)),
                Cell::Int(created_items),
                Cell::Int(completed),
                Cell::Text(json!(used).to_string()),
                Cell::from(last_closed),
                Cell::Int(time_spent_ms / 1_000),
                Cell::Int(now),
            ],
        )
        .await?;
    }
    w.flush().await?;
    Ok(made)
}

/// A read-write personal API token for the account at `email` (valid `days`), for scripts
/// that drive a generated database; the secret is returned once.
pub async fn token_for(
    state: &AppState,
    email: &str,
    days: i64,
    now: i64,
) -> Result<String, AppError> {
    let mut conn = state.store.conn().await?;
    let user = coachflux_store::users::find_by_email(&mut conn, email)
        .await?
        .ok_or(AppError::NotFound)?;
    let (token, token_hash) = crate::services::api_tokens::new_secret();
    coachflux_store::api_tokens::insert(
        &mut conn,
        &coachflux_store::api_tokens::NewApiToken {
            id: &coachflux_domain::ids::new_id(),
            user_id: &user.id,
            name: "generated",
            token_hash: &token_hash,
            scopes: "read write",
            expires_at: Some(now + days * DAY_MS),
            now,
        },
    )
    .await?;
    Ok(token)
}
