//! The pages and the API answer the same questions the same way: each asks the one service
//! (or domain rule) that knows.

use crate::api::{PASSWORD, member};
use crate::dual_test;
use crate::harness::{Client, TestApp};
use crate::identity::login;
use serde_json::{Value, json};

/// Signs `b` in as the API member `email` (same password).
async fn web_session_of(b: &Client, email: &str) {
    assert_eq!(login(b, email, PASSWORD).await.0, 303);
}

async fn an_ended_session_has_no_current_step_on_the_page_or_in_the_api(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.post_json(&format!("/sessions/{id}/consent"), json!({}))
            .await
            .0,
        200
    );
    api.post_json(
        &format!("/sessions/{id}/turns"),
        json!({"input": "Lead the platform team"}),
    )
    .await;
    let (status, ended) = api
        .post_json(&format!("/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(status, 200, "{ended}");
    let (_, s) = api.get_json(&format!("/sessions/{id}")).await;
    assert_eq!(s["phase"], "closed");
    let statuses: Vec<&str> = s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["status"].as_str().unwrap())
        .collect();
    assert!(!statuses.contains(&"current"), "API: {statuses:?}");
    let b = app.new_browser();
    web_session_of(&b, "ada@example.com").await;
    let (status, page, _) = b.page(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert!(!page.contains("aria-current=\"step\""), "page: {page}");
    assert_eq!(
        page.matches("class=\"step-todo\"").count(),
        statuses.iter().filter(|s| **s == "todo").count()
    );
    app.stop().await;
}
dual_test!(an_ended_session_has_no_current_step_on_the_page_or_in_the_api);

/// A visitor's crisis answer on `face`, from a browser or client whose language preference is
/// `accept_language`; returns the helplines the face shows.
async fn crisis_helplines_in_the_api(app: &TestApp, accept_language: &str) -> Vec<String> {
    let api = Client::builder(app.addr)
        .api()
        .language(accept_language)
        .build();
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let api = api.with_visitor(s["anonymousId"].as_str().unwrap());
    let id = s["id"].as_str().unwrap();
    api.post_json(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "I keep thinking I want to hurt myself"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["paused"], true);
    s["helplines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h: &Value| {
            format!(
                "{}: {}",
                h["name"].as_str().unwrap(),
                h["contact"].as_str().unwrap()
            )
        })
        .collect()
}

async fn helplines_follow_the_browser_language_in_the_api_as_on_the_pages(app: TestApp) {
    let gb = crisis_helplines_in_the_api(&app, "en-GB,en;q=0.9").await;
    assert!(
        gb.iter().any(|h| h.starts_with("Samaritans: Call 116 123")),
        "{gb:?}"
    );
    assert!(gb.contains(&"Emergency services: 999".to_owned()), "{gb:?}");
    let countries: Vec<Option<String>> = sqlx::query_scalar("SELECT country FROM safety_incidents")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        countries,
        [Some("GB".to_owned())],
        "the incident records where the person is"
    );
    let none = crisis_helplines_in_the_api(&app, "de").await;
    assert!(!none.iter().any(|h| h.contains("Samaritans")), "{none:?}");
    assert!(none.iter().any(|h| h.contains("112 in the EU")), "{none:?}");
    // And nothing is listed while the session isn't held by the screen.
    let api = app.api();
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    assert_eq!(s["helplines"], json!([]));
    app.stop().await;
}
dual_test!(helplines_follow_the_browser_language_in_the_api_as_on_the_pages);

/// Runs `coachflux admin ...` against the app's database.
fn admin(app: &TestApp, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coachflux"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COACHFLUX_DATA_DIR", dir.path().join("data"))
        .env("COACHFLUX_DATABASE_URL", &app.database_url)
        .env("COACHFLUX_SECRET_KEY", crate::harness::SECRET_KEY)
        .env("COACHFLUX_PUBLIC_URL", "https://coach.example.test")
        .env("COACHFLUX_LOG", "warn")
        .arg("admin")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn the_operator_s_commands_go_through_the_services(app: TestApp) {
    let b = app.new_browser();
    let uid = crate::identity::signup(&app, &b, "ada@example.com").await;
    crate::identity::enable_two_factor(&app, &b).await;

    let (ok, out) = admin(
        &app,
        &["set-role", "--email", "ADA@example.com", "--role", "staff"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("ada@example.com is now staff"), "{out}");
    app.last_email("ada@example.com", "role_changed").await;

    let (ok, out) = admin(&app, &["reset-2fa", "--email", "ada@example.com"]);
    assert!(ok, "{out}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE totp_enabled = 1")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM totp_recovery_codes").await,
        0
    );
    let notice = app
        .last_email("ada@example.com", "two_factor_changed")
        .await;
    assert!(
        notice.body_text.contains("turned off"),
        "{}",
        notice.body_text
    );
    assert_eq!(
        b.get("/settings").await.status(),
        303,
        "every device is signed out"
    );
    for action in ["role_changed", "2fa_reset"] {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE user_id = $1 AND action = $2")
                .bind(&uid)
                .bind(action)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(n, 1, "an audit row for {action}");
    }
    let (ok, out) = admin(&app, &["reset-2fa", "--email", "nobody@example.com"]);
    assert!(
        !ok && out.contains("no account has the email nobody@example.com"),
        "{out}"
    );
    let (ok, out) = admin(
        &app,
        &["set-role", "--email", "not an address", "--role", "staff"],
    );
    assert!(!ok, "{out}");
    app.stop().await;
}
dual_test!(the_operator_s_commands_go_through_the_services);
