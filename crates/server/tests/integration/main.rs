//! One integration test binary (it links once). Every test that touches the database runs on
//! SQLite and on PostgreSQL through `dual_test!`.

mod client;
mod harness;

mod api;
mod cli;
mod coaching;
mod durability;
mod faces;
mod identity;
mod jobs;
mod lifecycle;
mod llm;
mod oidc;
mod ops;
mod pages;
mod plans;
mod queries;
mod schema;
mod security;
mod smtp;
mod store_identity;
mod writes;
