//! Crash durability: the real `coachflux` binary is killed with SIGKILL in the middle of a write
//! load and started again. Every write the client saw acknowledged is there, and on SQLite
//! `PRAGMA integrity_check` says ok.

use crate::harness::{Client, Engine, SECRET_KEY, fresh_database};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: usize = 4;
/// Acknowledged writes to wait for before pulling the plug.
const BEFORE_KILL: usize = 150;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the binary on `port` and waits until it answers. The caller kills and waits for it.
#[allow(clippy::zombie_processes)]
async fn start(dir: &Path, url: &str, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_coachflux"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COACHFLUX_DATA_DIR", dir.join("data"))
        .env("COACHFLUX_DATABASE_URL", url)
        .env("COACHFLUX_SECRET_KEY", SECRET_KEY)
        .env("COACHFLUX_BIND", format!("127.0.0.1:{port}"))
        .env("COACHFLUX_JOBS", "false")
        .env("COACHFLUX_API_RATE_LIMIT", "1000000")
        .env("COACHFLUX_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coachflux starts");
    let started = Instant::now();
    let client = Client::plain(SocketAddr::from(([127, 0, 0, 1], port)));
    loop {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start");
        }
        if let Ok(r) = client.request(Method::GET, "/readyz").send().await
            && r.status() == 200
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn crash_durability(engine: Engine) {
    coachflux::startup::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(engine, dir.path()).await else {
        return;
    };
    let port = free_port();
    let mut server = start(dir.path(), &url, port).await;
    let client = Client::api(SocketAddr::from(([127, 0, 0, 1], port)));
    let credentials = json!({"email": "ada@example.com", "password": "plum tractor lantern 42", "acceptTerms": true});
    let r = client
        .request(Method::POST, "/auth/signup")
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // An account whose address isn't confirmed yet can sign in and write.
    let signed_in: Value = client
        .request(Method::POST, "/auth/login")
        .json(&json!({"email": "ada@example.com", "password": "plum tractor lantern 42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_in["token"]
        .as_str()
        .expect("a session token")
        .to_owned();
    let r = client
        .request(Method::POST, "/sessions")
        .bearer_auth(&token)
        .json(&json!({"framework": "GROW"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Writers create action items as fast as they can and note each acknowledged id.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, token) = (client.clone(), token.clone());
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let sent = client
                    .request(Method::POST, "/actions")
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("writer {w} item {n}")}))
                    .send()
                    .await;
                let Ok(r) = sent else { break };
                if r.status() != 201 {
                    break;
                }
                let Ok(body) = r.json::<Value>().await else {
                    break;
                };
                acked
                    .lock()
                    .unwrap()
                    .push(body["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < BEFORE_KILL {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the write load stalled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().expect("SIGKILL"); // std's Child::kill sends SIGKILL on Unix.
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= BEFORE_KILL);

    let mut server = start(dir.path(), &url, port).await;
    let mut missing = Vec::new();
    for id in &acked {
        let r = client
            .request(Method::GET, &format!("/actions/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes were lost: {missing:?}",
        missing.len(),
        acked.len()
    );
    let pid = server.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    server.wait().unwrap();

    if engine == Engine::Sqlite {
        let file = coachflux::backup::sqlite_path(&url).unwrap();
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&file);
        let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts)
            .await
            .unwrap();
        let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(check, ["ok"]);
        conn.close().await.unwrap();
    }
}
crate::on_both_engines!(crash_durability);
