//! The `coachflux` binary as an operator meets it: help, version, config errors, start-up
//! failures as one clear line, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn coachflux(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_coachflux"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COACHFLUX_DATA_DIR", dir.join("data"))
        .env("COACHFLUX_LOG", "info")
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> (Output, String, String) {
    let out = c.output().expect("coachflux runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The last line of stderr, which must be the one-line reason; and no panic anywhere.
fn assert_one_line_failure(stderr: &str, needle: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("coachflux: "), "{stderr}");
    assert!(last.contains(needle), "expected {needle:?} in {last:?}");
}

#[test]
fn version_and_help_describe_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout, _) = run(coachflux(dir.path()).arg("--version"));
    assert!(out.status.success());
    assert_eq!(
        stdout.trim(),
        format!("coachflux {}", env!("CARGO_PKG_VERSION"))
    );
    let (out, stdout, _) = run(coachflux(dir.path()).arg("--help"));
    assert!(out.status.success());
    for command in ["serve", "migrate", "config"] {
        assert!(
            stdout.contains(command),
            "--help lists {command}:\n{stdout}"
        );
    }
    let (out, _, _) = run(coachflux(dir.path()).args(["migrate", "--help"]));
    assert!(out.status.success());
}

#[test]
fn a_bad_config_value_stops_start_up_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("COACHFLUX_BIND", "not-an-address"),
        ("COACHFLUX_LOG_FORMAT", "yaml"),
        ("COACHFLUX_DATABASE_URL", "mysql://localhost/x"),
        ("COACHFLUX_SECRET_KEY", "too-short"),
    ] {
        let (out, _, stderr) = run(coachflux(dir.path()).env(var, value));
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert_one_line_failure(&stderr, var);
    }
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "bind = 12\n").unwrap();
    let (out, _, stderr) = run(coachflux(dir.path()).arg("--config").arg(&file));
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_failure(&stderr, "bad.toml");
}

#[test]
fn config_prints_the_effective_values_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let key = "ab".repeat(32);
    let (out, stdout, _) = run(coachflux(dir.path())
        .arg("config")
        .env("COACHFLUX_SECRET_KEY", &key)
        .env(
            "COACHFLUX_DATABASE_URL",
            "postgres://cf:hunter2@db.internal/cf",
        )
        .env("COACHFLUX_BIND", "0.0.0.0:9999"));
    assert!(out.status.success());
    assert!(stdout.contains("COACHFLUX_BIND = 0.0.0.0:9999"), "{stdout}");
    assert!(
        stdout.contains("COACHFLUX_SECRET_KEY = <redacted>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("postgres://cf:<redacted>@db.internal/cf"),
        "{stdout}"
    );
    assert!(!stdout.contains(&key) && !stdout.contains("hunter2"));
}

#[test]
fn an_unwritable_data_dir_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (out, _, stderr) = run(coachflux(dir.path())
        .arg("migrate")
        .env("COACHFLUX_DATA_DIR", file.join("data")));
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_failure(&stderr, "COACHFLUX_DATA_DIR");
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(coachflux(dir.path())
        .arg("migrate")
        .env("COACHFLUX_SECRET_KEY", "ab".repeat(32))
        .env(
            "COACHFLUX_DATABASE_URL",
            "postgres://cf:hunter2@127.0.0.1:1/cf",
        ));
    assert_eq!(out.status.code(), Some(1));
    assert_one_line_failure(&stderr, "cannot reach the database");
    assert!(
        !stderr.contains("hunter2"),
        "the password never prints: {stderr}"
    );
}

#[test]
fn migrate_creates_the_database_and_a_private_server_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(coachflux(dir.path()).arg("migrate"));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("database is at migration"), "{stdout}");
    let data = dir.path().join("data");
    assert!(data.join("coachflux.db").is_file());
    let key_path = data.join("secret.key");
    let key = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(key.len(), 64);
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is readable by its owner only");
    // Running again keeps the key and is a no-op for the schema.
    let (out, _, _) = run(coachflux(dir.path()).arg("migrate"));
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), key);
}

#[test]
fn serve_answers_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = coachflux(dir.path())
        .env("COACHFLUX_BIND", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    let addr = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        let line = lines.next().expect("server logs its address").unwrap();
        if let Some(i) = line.find("serving at http://") {
            let rest = &line[i + "serving at http://".len()..];
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let body = http_get(&addr, "/");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("GROW") && body.contains("WOOP"));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("shutdown complete")),
        "{rest:?}"
    );
}

/// A minimal HTTP/1.1 GET over a std TcpStream (no async runtime in this test).
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn jobs_are_listed_and_run_by_hand_with_the_clock_set() {
    let _shared = crate::harness::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(coachflux(dir.path()).args(["jobs", "list"]));
    assert!(out.status.success(), "{stderr}");
    for job in [
        "anonymous-sessions",
        "archive-actions",
        "action-reminders",
        "purge",
        "account-erasure",
        "free-history",
        "backup",
    ] {
        assert!(stdout.contains(job), "{stdout}");
    }
    assert!(stdout.contains("never"), "{stdout}");
    let (out, stdout, stderr) = run(coachflux(dir.path()).args([
        "jobs",
        "run",
        "anonymous-sessions",
        "--now",
        "2026-03-01T09:00:00Z",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(
            "anonymous-sessions ran at 2026-03-01 09:00 UTC: {\"abandoned\":0,\"deleted\":0}"
        ),
        "{stdout}"
    );
    // The run is recorded when it really happened; the schedule is left alone.
    let (_, stdout, _) = run(coachflux(dir.path()).args(["jobs", "list"]));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("anonymous-sessions"))
        .unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        line.contains(&format!("{today} ")) && line.contains("UTC ok"),
        "{line}"
    );
    assert!(line.contains("at the next start"), "{line}");
    // Another instance holds the lease (by the real clock): a drill set in the future waits
    // its turn instead of taking the lease over.
    {
        use sqlx::Connection;
        let db = dir.path().join("data").join("coachflux.db");
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::query(
            "UPDATE job_leases SET holder = 'other-instance', lease_until = $1 \
             WHERE job_name = 'anonymous-sessions'",
        )
        .bind(chrono::Utc::now().timestamp_millis() + 3_600_000)
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let (out, _, stderr) = run(coachflux(dir.path()).args([
        "jobs",
        "run",
        "anonymous-sessions",
        "--now",
        "2030-01-01T00:00:00Z",
    ]));
    assert!(!out.status.success());
    assert!(stderr.contains("running on another instance"), "{stderr}");
    let (out, _, stderr) = run(coachflux(dir.path()).args(["jobs", "run", "vacuum"]));
    assert!(!out.status.success());
    assert_one_line_failure(&stderr, "unknown job \"vacuum\"");
    let (out, _, stderr) =
        run(coachflux(dir.path()).args(["jobs", "run", "purge", "--now", "yesterday"]));
    assert!(!out.status.success());
    assert!(stderr.contains("not an RFC 3339 time"), "{stderr}");
}

#[tokio::test]
async fn export_user_backup_and_restore_from_the_command_line() {
    let _shared = crate::harness::shared().await;
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(coachflux(dir.path()).arg("migrate"));
    assert!(out.status.success(), "{stderr}");
    let db = dir.path().join("data").join("coachflux.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, created_at) \
         VALUES ('u1', 'ada@example.com', 'Ada', '$argon2id$secret', 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let (out, stdout, stderr) = run(coachflux(dir.path()).args(["export-user", "Ada@Example.com"]));
    assert!(out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["user"]["email"], "ada@example.com");
    assert!(doc["exportedAt"].is_i64() && doc["sessions"].is_array());
    assert!(!stdout.contains("argon2"), "no password hash in an export");
    let (out, _, stderr) = run(coachflux(dir.path()).args(["export-user", "nobody@example.com"]));
    assert!(!out.status.success());
    assert_one_line_failure(&stderr, "no account has the email address");

    let backups = dir.path().join("backups");
    let (out, stdout, stderr) = run(coachflux(dir.path()).args(["backup", "--to"]).arg(&backups));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("backup written: "), "{stdout}");
    let file = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".sqlite.gz"))
        .expect("a compressed snapshot");
    assert!(
        file.with_file_name(
            file.file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".sqlite.gz", ".manifest.json")
        )
        .exists()
    );

    let (out, stdout, stderr) = run(coachflux(dir.path()).arg("restore").arg(&file));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("restored the sqlite database"),
        "{stdout}"
    );
    let (out, _, stderr) = run(coachflux(dir.path()).args(["export-user", "ada@example.com"]));
    assert!(
        out.status.success(),
        "the restored database serves: {stderr}"
    );

    let (out, _, stderr) = run(coachflux(dir.path()).args(["restore", "nowhere.sqlite.gz"]));
    assert!(!out.status.success());
    assert_one_line_failure(&stderr, "nowhere.sqlite.gz does not exist");

    // An erasure asked for outside the app: confirmed, immediate, and it survives a restore.
    let (out, _, stderr) =
        run(coachflux(dir.path()).args(["admin", "erase-user", "--email", "ada@example.com"]));
    assert!(!out.status.success());
    assert_one_line_failure(&stderr, "add --yes to confirm");
    let (out, stdout, stderr) = run(coachflux(dir.path()).args([
        "admin",
        "erase-user",
        "--email",
        "ada@example.com",
        "--yes",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("ada@example.com is erased; the final email went out"),
        "{stdout}"
    );
    let (out, _, stderr) = run(coachflux(dir.path()).args(["export-user", "ada@example.com"]));
    assert!(!out.status.success());
    assert_one_line_failure(&stderr, "no account has the email address");
    let (out, stdout, stderr) = run(coachflux(dir.path()).arg("restore").arg(&file));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("deletions re-applied: 1 account(s)"),
        "{stdout}"
    );
    let (out, _, _) = run(coachflux(dir.path()).args(["export-user", "ada@example.com"]));
    assert!(
        !out.status.success(),
        "the restore did not bring the erased account back"
    );
}

/// `coachflux dev generate` fills a new database with people whose history reads like real use:
/// they sign in, their lists, session pages and reports open, their progress figures agree with
/// their rows; and it refuses a database that already has accounts.
async fn a_generated_database_reads_like_real_use(app: crate::harness::TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let generate = |extra: &[&str]| {
        let mut c = coachflux(dir.path());
        c.env("COACHFLUX_DATABASE_URL", &app.database_url)
            .env("COACHFLUX_SECRET_KEY", crate::harness::SECRET_KEY)
            .args([
                "dev",
                "generate",
                "--people",
                "3",
                "--sessions-per-person",
                "2",
            ])
            .args([
                "--reflections-per-session",
                "3",
                "--actions-per-person",
                "4",
            ])
            // Commits fall in the middle of a person's rows (children after their parents).
            .args(["--rows-per-commit", "7"])
            .args(extra);
        run(&mut c)
    };
    let (out, stdout, stderr) = generate(&["--token-file", token_file.to_str().unwrap()]);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("made 3 people, 6 sessions, 18 reflections, 12 action items, 12 events"),
        "{stdout}"
    );
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the token file is private");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM session_reflections").await,
        18
    );

    // The figures agree with a recount, for everyone.
    let users: Vec<String> = sqlx::query_scalar("SELECT id FROM users")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let mut conn = app.store.conn().await.unwrap();
    for user in &users {
        let stored = coachflux_store::metrics::get(&mut conn, user)
            .await
            .unwrap()
            .unwrap();
        let recounted = coachflux_store::metrics::recompute(&mut conn, user, stored.updated_at)
            .await
            .unwrap();
        assert_eq!(stored, recounted);
    }
    drop(conn);

    // The token reads the first person's data; their sessions open and report.
    let token = std::fs::read_to_string(&token_file).unwrap();
    let api = app.api().with_token(token.trim());
    let (status, actions) = api.get_json("/actions?limit=50").await;
    assert_eq!(status, 200, "{actions}");
    assert_eq!(actions["items"].as_array().unwrap().len(), 4);
    let (_, sessions) = api.get_json("/sessions?limit=10").await;
    let session = sessions["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(sessions["items"][0]["status"], "completed");
    let (status, report) = api.get_json(&format!("/sessions/{session}/report")).await;
    assert_eq!(status, 200, "{report}");
    assert!(!report["steps"].as_array().unwrap().is_empty(), "{report}");

    // Anyone generated signs in with the password; their pages render.
    let b = app.new_browser();
    b.submit(
        "/login",
        &[
            ("email", "person1@generated.example"),
            ("password", "generated-password"),
        ],
    )
    .await;
    for path in ["/dashboard", "/actions", "/sessions"] {
        let (status, page, _) = b.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains("action=\"/logout\""), "{path} signed in");
    }

    let (out, _, stderr) = generate(&[]);
    assert!(!out.status.success());
    assert_one_line_failure(&stderr, "already has accounts");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 3);
    app.stop().await;
}
crate::dual_test!(a_generated_database_reads_like_real_use);
