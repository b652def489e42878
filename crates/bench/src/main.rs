//! `coachflux-ceiling`: what this machine can do at best, for `bench/run` to divide by.
//!
//! - `http ADDR`: a bare axum handler answering `{"status":"ok"}` on every path, on the same
//!   runtime settings as CoachFlux (multi-threaded tokio, one worker per core).
//! - `sqlite-commits FILE SECONDS`: one writer committing one row per transaction in a loop, with
//!   CoachFlux's pragmas (WAL, `synchronous = FULL`, foreign keys, busy timeout); prints rows/s.
//! - `argon2 [RUNS]`: the median time of one argon2id hash with CoachFlux's parameters (through
//!   its own bounded hasher, one at a time), in milliseconds.

use anyhow::{Context, bail};
use sqlx::Connection;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["http", addr] => http(addr).await,
        ["sqlite-commits", file, seconds] => sqlite_commits(file, seconds.parse()?).await,
        ["argon2"] => argon2(9).await,
        ["argon2", runs] => argon2(runs.parse()?).await,
        _ => bail!(
            "usage: coachflux-ceiling http ADDR | sqlite-commits FILE SECONDS | argon2 [RUNS]"
        ),
    }
}

async fn http(addr: &str) -> anyhow::Result<()> {
    let app =
        axum::Router::new().fallback(|| async { axum::Json(serde_json::json!({"status": "ok"})) });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn sqlite_commits(file: &str, seconds: u64) -> anyhow::Result<()> {
    let url = format!("sqlite://{file}?mode=rwc");
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 5000",
        "CREATE TABLE IF NOT EXISTS items (id TEXT NOT NULL PRIMARY KEY, user_id TEXT NOT NULL, \
         title TEXT NOT NULL, created_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS items_by_user ON items (user_id, created_at, id)",
    ] {
        sqlx::query(pragma).execute(&mut conn).await?;
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut n: u64 = 0;
    while Instant::now() < until {
        n += 1;
        sqlx::query("INSERT INTO items (id, user_id, title, created_at) VALUES ($1, $2, $3, $4)")
            .bind(format!("{n:020}"))
            .bind("u1")
            .bind("Bench item")
            .bind(i64::try_from(n).unwrap_or(0))
            .execute(&mut conn)
            .await?;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = n as f64 / started.elapsed().as_secs_f64();
    println!("{rate:.0}");
    Ok(())
}

async fn argon2(runs: usize) -> anyhow::Result<()> {
    let hashing = coachflux_app::crypto::Hashing::new(1, Duration::from_secs(60));
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        hashing.hash("plum tractor lantern 42".to_owned()).await?;
        times.push(started.elapsed());
    }
    times.sort();
    println!("{:.1}", times[times.len() / 2].as_secs_f64() * 1000.0);
    Ok(())
}
