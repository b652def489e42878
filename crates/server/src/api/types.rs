//! The JSON shapes of API v1: the seed's field names in camelCase, ids as strings, times as
//! integer milliseconds since the epoch. Secrets (password hashes, TOTP secrets, token hashes)
//! have no field here, so they can't be returned.

use crate::services::coaching::{self, Loaded};
use coachflux_domain::coach;
use coachflux_domain::engine::{MAX_SKIPS_PER_STEP, Phase, ProposalStatus};
use coachflux_domain::frameworks::{FieldKind, Framework};
use coachflux_store::{action_items::ActionItem, api_tokens::ApiToken, auth_sessions, users};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------
// Account

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"productUpdates": true, "newsletter": false,
    "actionReminders": true, "marketingEmails": false}))]
pub struct EmailPreferences {
    pub product_updates: bool,
    pub newsletter: bool,
    pub action_reminders: bool,
    pub marketing_emails: bool,
}

impl From<users::EmailPreferences> for EmailPreferences {
    fn from(p: users::EmailPreferences) -> Self {
        Self {
            product_updates: p.product_updates,
            newsletter: p.newsletter,
            action_reminders: p.action_reminders,
            marketing_emails: p.marketing_emails,
        }
    }
}

impl From<&EmailPreferences> for users::EmailPreferences {
    fn from(p: &EmailPreferences) -> Self {
        Self {
            product_updates: p.product_updates,
            newsletter: p.newsletter,
            action_reminders: p.action_reminders,
            marketing_emails: p.marketing_emails,
        }
    }
}

/// The signed-in member.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c", "email": "ada@example.com",
    "emailVerified": true, "name": "Ada", "picture": null, "role": "member",
    "subscriptionStatus": "free", "totpEnabled": false, "createdAt": 1768471200000_i64,
    "lastLoginAt": 1768471200000_i64, "emailPreferences": {"productUpdates": true,
    "newsletter": false, "actionReminders": true, "marketingEmails": false}}))]
pub struct Me {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    pub role: String,
    pub subscription_status: String,
    pub totp_enabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub email_preferences: EmailPreferences,
}

impl From<&users::User> for Me {
    fn from(u: &users::User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            picture: u.picture.clone(),
            role: u.role.clone(),
            subscription_status: u.subscription_status.clone(),
            totp_enabled: u.totp_enabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
            email_preferences: u.email_preferences.into(),
        }
    }
}

/// Profile changes; a field left out stays as it is, `null` or "" clears it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Ada Lovelace",
    "picture": "https://images.example.com/ada.png"}))]
pub struct MeUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 100)]
    pub name: Option<Option<String>>,
    /// An https:// image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<Option<String>>,
}

/// Proof that the member is asking: their password; accounts without one send a two-factor
/// code, and accounts with neither repeat their email address.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple", "code": null,
    "confirmEmail": null, "reason": "I've finished my coaching programme."}))]
pub struct DeletionRequest {
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub password: Option<String>,
    #[serde(default)]
    #[schema(max_length = 20)]
    pub code: Option<String>,
    #[serde(default)]
    #[schema(max_length = 320)]
    pub confirm_email: Option<String>,
    /// Why they are leaving (optional).
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// A deletion request was accepted: the account is switched off now and erased at `eraseAt`
/// unless the member signs in on the website before then and keeps it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"eraseAt": 1771063200000_i64}))]
pub struct DeletionScheduled {
    /// Milliseconds since the Unix epoch.
    pub erase_at: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d2-8d5f-7b21-a2c3-3f6e9dab1c2d",
    "device": "Firefox on Linux",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
    "ip": "203.0.113.7", "createdAt": 1768471200000_i64, "lastActivityAt": 1768474800000_i64,
    "expiresAt": 1768561200000_i64, "current": true}))]
pub struct DeviceSession {
    pub id: String,
    /// "Firefox on Linux".
    pub device: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: i64,
    pub last_activity_at: i64,
    pub expires_at: i64,
    /// The session making this request.
    pub current: bool,
}

impl DeviceSession {
    pub fn new(s: &auth_sessions::AuthSession, current: &str) -> Self {
        Self {
            id: s.id.clone(),
            device: crate::auth::describe_device(&s.user_agent),
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            created_at: s.created_at,
            last_activity_at: s.last_activity_at,
            expires_at: s.expires_at.min(s.absolute_expires_at),
            current: s.id == current,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d5-3c4d-7e5f-8a61-7b8c9d0e1f2a", "name": "My script",
    "scopes": ["read", "write"], "expiresAt": 1776247200000_i64, "lastUsedAt": null,
    "createdAt": 1768471200000_i64}))]
pub struct ApiTokenInfo {
    pub id: String,
    pub name: String,
    /// `read`, or `read` and `write`.
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

impl From<&ApiToken> for ApiTokenInfo {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            scopes: t.scopes.split(' ').map(str::to_owned).collect(),
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            created_at: t.created_at,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "My script", "scopes": ["read", "write"], "expiresInDays": 30,
    "password": "plum tractor lantern 42"}))]
pub struct NewApiToken {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `["read"]` (the default) or `["read", "write"]`.
    #[serde(default)]
    pub scopes: Vec<Scope>,
    /// Days until the token stops working: at most the instance's cap (90 unless the operator
    /// changed it), which is also the default.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
    /// Your current password, to confirm it's you. Not needed within 10 minutes of signing in
    /// (or of confirming before).
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// For an account without a password: a code from its authenticator app.
    #[serde(default, skip_serializing)]
    pub code: Option<String>,
}

/// A new token: `token` is shown this once and never again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"token": "cfp_5hxZoQnZgsSGpix0h9c6MR8osUjaXvI-Tu_Dw2vwwAs",
    "id": "0193f1d5-3c4d-7e5f-8a61-7b8c9d0e1f2a", "name": "My script",
    "scopes": ["read", "write"], "expiresAt": 1776247200000_i64, "lastUsedAt": null,
    "createdAt": 1768471200000_i64}))]
pub struct CreatedApiToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiTokenInfo,
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Keep the session for 30 days of inactivity instead of 24 hours.
    #[serde(default)]
    pub remember: bool,
}

/// Either a session token, or (with 2FA on) a challenge for `POST /auth/2fa`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"twoFactorRequired": false,
    "token": "JBONU9QfloyBfwhMa9S0tu0k7K2qgi5WQQ1HMWtI5ic", "challenge": null,
    "user": {"id": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c",
        "email": "ada@example.com", "emailVerified": true, "name": "Ada", "picture": null,
        "role": "member", "subscriptionStatus": "free", "totpEnabled": false,
        "createdAt": 1768471200000_i64, "lastLoginAt": 1768471200000_i64,
        "emailPreferences": {"productUpdates": true, "newsletter": false,
        "actionReminders": true, "marketingEmails": false}}}))]
pub struct LoginResponse {
    pub two_factor_required: bool,
    /// Send as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Send with the code to `POST /auth/2fa` within 5 minutes.
    pub challenge: Option<String>,
    pub user: Option<Me>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"challenge": "UrRxTWUuEej_C4SJT6M52qI1O064AxB8ARyYYZpmtIM",
    "code": "492817"}))]
pub struct TwoFactorRequest {
    pub challenge: String,
    /// A 6-digit code from the authenticator app, or a recovery code.
    pub code: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "a long and unusual passphrase", "name": "Ada", "acceptTerms": true}))]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    pub accept_terms: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct EmailRequest {
    pub email: String,
}

/// The link from a verification email.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"token": "q3M1hZr9xW0bC6uD2eF5gH8iJ4kL7mN0pQ3rS6tU9vw"}))]
pub struct VerifyEmailRequest {
    /// The `token` parameter of the link.
    pub token: String,
}

/// What a verification link confirmed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"verified": "email"}))]
pub struct EmailVerified {
    /// `email`: the account's address is confirmed; `emailChanged`: the account now uses the
    /// new address.
    pub verified: String,
}

/// A request was accepted; the outcome arrives by email.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "message": "If that address has an account, a sign-in link is on its way."}))]
pub struct Accepted {
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Frameworks

/// The example framework step of the OpenAPI document (GROW's first).
fn step_example() -> Json {
    serde_json::json!({"id": "goal", "name": "Goal", "description":
    "Pin down what you want to walk away with, today and further ahead, and how \
    you will know you have got there.",
    "fields": [{"id": "goal", "label": "Your goal", "required": true, "kind": "text",
    "maxLen": 500, "min": null, "max": null, "options": []},
    {"id": "why_now", "label": "Why now", "required": false, "kind": "text",
    "maxLen": 1000, "min": null, "max": null, "options": []},
    {"id": "success_criteria", "label": "How you'll know you've succeeded",
    "required": true, "kind": "list", "maxLen": 200, "min": null, "max": 5, "options": []},
    {"id": "timeframe", "label": "Timeframe", "required": true, "kind": "date",
    "maxLen": null, "min": null, "max": null, "options": []}]})
}

/// The example framework of the OpenAPI document (GROW's first step).
fn framework_example() -> Json {
    serde_json::json!({"id": "GROW", "name": "GROW",
    "expansion": "Goal, Reality, Options, Will", "emoji": "🌱",
    "tagline": "Set a clear goal, see where you stand, and choose your next move.",
    "description": "GROW takes you from what you want to what you will actually do about it.",
    "bestFor": ["Setting a goal and a plan to reach it", "Getting unstuck on a decision"],
    "estimatedTime": "20 min", "difficulty": "beginner",
    "tags": ["goals", "planning", "decisions", "performance"], "isAvailable": true,
    "steps": [step_example()],
    "locked": null})
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = framework_example)]
pub struct FrameworkOut {
    pub id: String,
    pub name: String,
    pub expansion: String,
    pub emoji: String,
    pub tagline: String,
    pub description: String,
    pub best_for: Vec<String>,
    pub estimated_time: String,
    /// beginner, intermediate or advanced.
    pub difficulty: String,
    pub tags: Vec<String>,
    pub is_available: bool,
    pub steps: Vec<FrameworkStep>,
    /// Why the caller can't start it, when they can't.
    pub locked: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = step_example)]
pub struct FrameworkStep {
    pub id: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "constraints", "label": "What's in the way", "required": true,
    "kind": "list", "maxLen": 200, "min": null, "max": 10, "options": []}))]
pub struct FieldOut {
    pub id: String,
    pub label: String,
    pub required: bool,
    /// text, list, scale, choice, date, actions or options.
    pub kind: String,
    /// Text and list: the most characters; scale: the range; choice: the options.
    pub max_len: Option<u32>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub options: Vec<String>,
}

fn field_out(f: &coachflux_domain::frameworks::Field) -> FieldOut {
    let mut out = FieldOut {
        id: f.id.clone(),
        label: f.label.clone(),
        required: f.required,
        kind: String::new(),
        max_len: None,
        min: None,
        max: None,
        options: Vec::new(),
    };
    match &f.kind {
        FieldKind::Text { max_len } => {
            out.kind = "text".into();
            out.max_len = Some(*max_len);
        }
        FieldKind::List {
            max_items,
            item_max_len,
            ..
        } => {
            out.kind = "list".into();
            out.max = i32::try_from(*max_items).ok();
            out.max_len = Some(*item_max_len);
        }
        FieldKind::Scale { min, max, .. } => {
            out.kind = "scale".into();
            out.min = Some(*min);
            out.max = Some(*max);
        }
        FieldKind::Choice { options } => {
            out.kind = "choice".into();
            out.options = options.clone();
        }
        FieldKind::Date => out.kind = "date".into(),
        FieldKind::Actions { max_items, .. } => {
            out.kind = "actions".into();
            out.max = i32::try_from(*max_items).ok();
        }
        FieldKind::Options { max_items, .. } => {
            out.kind = "options".into();
            out.max = i32::try_from(*max_items).ok();
        }
    }
    out
}

impl FrameworkOut {
    pub fn new(f: &Framework, locked: Option<String>) -> Self {
        Self {
            id: f.id.clone(),
            name: f.name.clone(),
            expansion: f.expansion.clone(),
            emoji: f.emoji.clone(),
            tagline: f.tagline.clone(),
            description: f.description.clone(),
            best_for: f.best_for.clone(),
            estimated_time: f.estimated_time.clone(),
            difficulty: f.difficulty.as_str().to_owned(),
            tags: f.tags.clone(),
            is_available: f.is_available && !f.coming_soon,
            steps: f
                .steps
                .iter()
                .map(|s| FrameworkStep {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    description: s.description.clone(),
                    fields: s.fields.iter().map(field_out).collect(),
                })
                .collect(),
            locked,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Coaching sessions

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
    /// The field the next answer fills.
    pub pending_field: Option<FieldOut>,
    pub can_skip: bool,
    pub can_go_back: bool,
    pub steps: Vec<SessionStep>,
    pub proposals: Vec<Proposal>,
    /// Included when one session is fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reflections: Option<Vec<ReflectionOut>>,
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

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Consent => "consent",
        Phase::Asking => "asking",
        Phase::Confirming => "confirming",
        Phase::Complete => "complete",
        Phase::Closed => "closed",
    }
}

impl Session {
    pub fn new(l: &Loaded, with_reflections: bool) -> Self {
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
                status: if st.confirmed {
                    "done"
                } else if i == e.current {
                    "current"
                } else {
                    "todo"
                }
                .into(),
                captured: st
                    .captured
                    .iter()
                    .map(|(k, v)| (k.clone(), v.display()))
                    .collect(),
                skipped: st.skipped.clone(),
            })
            .collect();
        Self {
            id: l.row.id.clone(),
            user_id: l.row.user_id.clone(),
            framework: l.row.framework.clone(),
            step: l.row.step.clone(),
            status: l.row.status.clone(),
            phase: phase_name(e.phase).into(),
            paused: e.paused,
            is_anonymous: l.row.is_anonymous,
            expires_at: l.row.expires_at,
            created_at: l.row.created_at,
            updated_at: l.row.updated_at,
            closed_at: l.row.closed_at,
            completed_at: l.row.completed_at,
            prompt: if e.paused {
                String::new()
            } else {
                coach::next_prompt(fw, e)
            },
            pending_field: if asking {
                e.pending_field(fw).map(field_out)
            } else {
                None
            },
            can_skip: asking
                && e.steps
                    .get(e.current)
                    .is_some_and(|s| s.skipped.len() < MAX_SKIPS_PER_STEP),
            can_go_back: e.current > 0
                && !e.paused
                && matches!(e.phase, Phase::Asking | Phase::Confirming),
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

impl From<&coachflux_store::coaching::CoachingSession> for SessionSummary {
    fn from(r: &coachflux_store::coaching::CoachingSession) -> Self {
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

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
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
    pub fn new(id: &str, r: &coaching::Report) -> Self {
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
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Action items

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d4-2b3c-7d4e-9f50-6a7b8c9d0e1f",
    "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c",
    "sessionId": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Email Priya the draft",
    "description": null, "dueDate": 1768607999999_i64, "completed": false, "completedAt": null,
    "priority": "high", "tags": ["career"], "reminderSent": false,
    "createdAt": 1768472700000_i64, "updatedAt": 1768472700000_i64, "archivedAt": null,
    "overdue": false}))]
pub struct Action {
    pub id: String,
    pub user_id: String,
    pub session_id: String,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<i64>,
    pub completed: bool,
    pub completed_at: Option<i64>,
    /// low, medium or high.
    pub priority: String,
    pub tags: Vec<String>,
    pub reminder_sent: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived_at: Option<i64>,
    /// Not completed and due before now.
    pub overdue: bool,
}

impl Action {
    pub fn new(a: &ActionItem, now: i64) -> Self {
        Self {
            id: a.id.clone(),
            user_id: a.user_id.clone(),
            session_id: a.session_id.clone(),
            title: a.title.clone(),
            description: a.description.clone(),
            due_date: a.due_date,
            completed: a.completed,
            completed_at: a.completed_at,
            priority: a.priority.clone(),
            tags: serde_json::from_str(&a.tags).unwrap_or_default(),
            reminder_sent: a.reminder_sent,
            created_at: a.created_at,
            updated_at: a.updated_at,
            archived_at: a.archived_at,
            overdue: !a.completed && a.due_date.is_some_and(|d| d < now),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"title": "Book a meeting with my manager", "due": "by Friday", "priority": "high", "tags": ["career"]}))]
pub struct NewAction {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// A date (2026-03-01) or a phrase: "by Friday", "next week", "in 3 days".
    #[serde(default)]
    pub due: Option<String>,
    /// Default medium.
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The session it belongs to; the latest one when omitted.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// Changes to an item; fields left out stay as they are.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"title": "Email Priya the final draft", "description": null,
    "due": "next Monday", "priority": "medium", "tags": null, "completed": false}))]
pub struct ActionUpdate {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A date or phrase; "" clears the due date.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub completed: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Pages

macro_rules! page {
    ($name:ident, $item:ty, $example:tt) => {
        /// One page of a list; pass `nextCursor` as `cursor` for the next (absent on the last).
        #[derive(Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        #[schema(example = json!($example))]
        pub struct $name {
            pub items: Vec<$item>,
            pub next_cursor: Option<String>,
        }
    };
}

page!(FrameworkPage, FrameworkOut, {"items": [framework_example()], "nextCursor": null});
page!(SessionPage, SessionSummary, {"items": [
    {"id": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
        "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c", "framework": "GROW", "step": "reality",
        "status": "active", "isAnonymous": false, "expiresAt": null, "createdAt": 1768471200000_i64,
        "updatedAt": 1768471500000_i64, "closedAt": null, "completedAt": null}],
    "nextCursor": null});
page!(ActionPage, Action, {"items": [
    {"id": "0193f1d4-2b3c-7d4e-9f50-6a7b8c9d0e1f",
        "userId": "0193f1d2-7c4e-7a10-9c1b-2f5e8d9a0b1c",
        "sessionId": "0193f1d3-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Email Priya the draft",
        "description": null, "dueDate": 1768607999999_i64, "completed": false, "completedAt": null,
        "priority": "high", "tags": ["career"], "reminderSent": false,
        "createdAt": 1768472700000_i64, "updatedAt": 1768472700000_i64, "archivedAt": null,
        "overdue": false}],
    "nextCursor": null});
page!(DeviceSessionPage, DeviceSession, {"items": [
    {"id": "0193f1d2-8d5f-7b21-a2c3-3f6e9dab1c2d",
        "device": "Firefox on Linux",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
        "ip": "203.0.113.7", "createdAt": 1768471200000_i64, "lastActivityAt": 1768474800000_i64,
        "expiresAt": 1768561200000_i64, "current": true}],
    "nextCursor": null});
page!(ApiTokenPage, ApiTokenInfo, {"items": [
    {"id": "0193f1d5-3c4d-7e5f-8a61-7b8c9d0e1f2a", "name": "My script",
        "scopes": ["read", "write"], "expiresAt": 1776247200000_i64, "lastUsedAt": null,
        "createdAt": 1768471200000_i64}],
    "nextCursor": null});
