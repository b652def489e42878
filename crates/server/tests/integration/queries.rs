//! The main pages and the API's lists run a fixed number of database statements, however long
//! the person's lists grow: every list is paged in SQL, and nothing is read row by row (no N+1).
//! And reading writes nothing: no rate-limit counter, no "last used" stamp on every request.
//! Statements are counted from sqlx's own log events while no other test runs.

use crate::harness::{Client, Engine, Statements, TestApp, spawn_with};
use serde_json::json;

/// No page or list needs more than this many statements.
const MOST: usize = 12;

/// What each request costs, in statements.
async fn costs(
    statements: &Statements,
    web: &Client,
    api: &Client,
    session: &str,
) -> Vec<(String, usize)> {
    let pages = [
        "/dashboard".to_owned(),
        "/actions".to_owned(),
        "/actions?status=open&tag=writing".to_owned(),
        "/sessions".to_owned(),
        "/settings".to_owned(),
        format!("/sessions/{session}"),
    ];
    let lists = [
        "/actions",
        "/actions?status=overdue&priority=high",
        "/sessions",
        "/tokens",
        "/me/sessions",
        "/me",
    ];
    let mut out = Vec::new();
    for (client, paths) in [(web, &pages[..]), (api, &lists.map(String::from)[..])] {
        for path in paths {
            // Once first, so a credential's once-a-minute stamp isn't counted against the page.
            assert_eq!(client.get(path).await.status(), 200, "{path}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let (ran, r) = statements.during(client.get(path)).await;
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(ran.writes, 0, "{path} is a read: it writes nothing");
            out.push((format!("{}{path}", client.url("")), ran.statements));
        }
    }
    out
}

async fn pages_and_lists_cost_no_more_with_60_rows_than_with_2(engine: Engine) {
    let statements = Statements::count().await;
    let Some(app) = spawn_with(engine, &[("COACHFLUX_API_RATE_LIMIT", "100000")]).await else {
        return;
    };
    let (web, api) = member(&app).await;
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let session = s["id"].as_str().unwrap().to_owned();
    api.post_json(
        "/actions",
        json!({"title": "Write the plan", "tags": ["writing"]}),
    )
    .await;

    let small = costs(&statements, &web, &api, &session).await;
    for _ in 0..10 {
        api.post_json("/sessions", json!({"framework": "GROW"}))
            .await;
    }
    for i in 0..50 {
        let (status, body) = api
            .post_json(
                "/actions",
                json!({"title": format!("Step {i}"), "tags": ["writing"], "priority": "high",
                       "due": "2026-02-10"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let large = costs(&statements, &web, &api, &session).await;

    for ((path, few), (_, many)) in small.iter().zip(&large) {
        // Never more with more rows (a list in due order may need one statement fewer once
        // its dated items fill the page).
        assert!(
            many <= few,
            "{path}: {few} statements with 2 rows, {many} with 60"
        );
        assert!(*many <= MOST, "{path}: {many} statements");
        assert!(*many >= 1, "{path}: the counter sees statements");
    }

    // Who is calling and their account come in one statement, for a device session's token
    // and for a personal API token alike.
    let me = |costs: &[(String, usize)]| costs.iter().find(|(p, _)| p.ends_with("/me")).unwrap().1;
    assert_eq!(me(&large), 1, "GET /me with a session token");
    let (status, created) = api
        .post_json(
            "/tokens",
            json!({"name": "script", "scopes": ["read"], "password": crate::identity::PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let script = app.api().with_token(created["token"].as_str().unwrap());
    assert_eq!(script.get("/me").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (ran, r) = statements.during(script.get("/me")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(ran.statements, 1, "GET /me with a personal API token");
    app.stop().await;
}

/// A member signed in on the website and holding an API session token.
async fn member(app: &TestApp) -> (Client, Client) {
    let web = app.new_browser();
    crate::identity::signup(app, &web, "ada@example.com").await;
    let (status, signed) = app
        .api()
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": crate::identity::PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let api = app.api().with_token(signed["token"].as_str().unwrap());
    (web, api)
}

mod pages_and_lists_cost_no_more_with_60_rows_than_with_2 {
    use crate::harness::Engine;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::pages_and_lists_cost_no_more_with_60_rows_than_with_2(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::pages_and_lists_cost_no_more_with_60_rows_than_with_2(Engine::Postgres).await;
    }
}
