//! Use cases. Each runs in one database transaction and holds the rules (validation,
//! authorization, rate limits, audit); pages and the API only parse input and render output.

pub mod accounts;
pub mod actions;
pub mod api_tokens;
pub mod audit;
pub mod coach;
pub mod coaching;
pub mod credentials;
pub mod dashboard;
pub mod generate;
pub mod idempotency;
pub mod legal;
pub mod limits;
pub mod llm;
pub mod oidc;
pub mod operator;
pub mod ops;
pub mod privacy;
pub mod staff;
pub mod two_factor;
