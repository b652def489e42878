//! The records the services hand to the web and API faces. They are the store's row types,
//! named here so the faces depend on this crate alone: every read and write they make goes
//! through a service.

pub use coachflux_store::action_items::{ActionItem, Filter as ActionFilter, Order as ActionOrder};
pub use coachflux_store::api_tokens::ApiToken;
pub use coachflux_store::auth_sessions::AuthSession;
pub use coachflux_store::coaching::{CoachingSession, Owner as SessionOwner, Reflection};
pub use coachflux_store::frameworks::FrameworkRecord;
pub use coachflux_store::jobs::Run as JobRun;
pub use coachflux_store::llm_calls::SessionUsage;
pub use coachflux_store::metrics::UserMetrics;
pub use coachflux_store::oauth_identities::OauthIdentity;
pub use coachflux_store::outbox::OutboxEmail;
pub use coachflux_store::users::{EmailPreferences, User};
