//! The JSON API over HTTP on both engines: a member with a token runs GROW and manages action
//! items; authorization, validation problems, pagination, idempotency, visitors.

use crate::dual_test;
use crate::harness::{TestApp, spawn_with};
use coachflux_domain::Clock;
use reqwest::Method;
use serde_json::{Value, json};

/// A cookie-less API client, optionally with a bearer token and a visitor id.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    anonymous: Option<String>,
}

impl Api {
    fn new(app: &TestApp) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{}/api/v1", app.addr),
            token: None,
            anonymous: None,
        }
    }

    fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        if let Some(a) = &self.anonymous {
            r = r.header("X-Anonymous-Id", a);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.expect("request reaches the server")
    }

    /// (status, JSON body or Null)
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let r = self.send(method, path, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
}

const PASSWORD: &str = "a long and unusual passphrase 42";

/// Signs up through the API and returns a client with the session token.
async fn member(app: &TestApp, email: &str) -> Api {
    let api = Api::new(app);
    let (status, body) = api
        .post(
            "/auth/signup",
            json!({"email": email, "password": PASSWORD, "name": "Ada", "acceptTerms": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    api.with_token(body["token"].as_str().unwrap())
}

/// Answers and confirms every step until the plan is ready.
async fn run_to_plan(api: &Api, id: &str) -> Value {
    let (status, mut s) = api
        .post(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    assert_eq!(status, 200, "{s}");
    let answers = [
        "Lead the platform team by summer",
        "It lets me shape the roadmap",
        "The team ships every month\nI run the planning",
        "by June",
    ];
    let mut n = 0;
    for _ in 0..60 {
        match s["phase"].as_str().unwrap() {
            "asking" => {
                let field = &s["pendingField"];
                let input = match field["kind"].as_str().unwrap_or("text") {
                    "scale" => field["max"].as_i64().unwrap().to_string(),
                    "choice" => field["options"][0].as_str().unwrap().to_owned(),
                    "date" => "in 3 days".to_owned(),
                    "list" | "actions" | "options" => "First thing\nSecond thing".to_owned(),
                    _ => answers[n % answers.len()].to_owned(),
                };
                n += 1;
                let (status, next) = api
                    .post(&format!("/sessions/{id}/turns"), json!({"input": input}))
                    .await;
                assert_eq!(status, 200, "{next}");
                s = next;
            }
            "confirming" => {
                let (status, next) = api
                    .post(&format!("/sessions/{id}/proceed"), json!({}))
                    .await;
                assert_eq!(status, 200, "{next}");
                s = next;
            }
            _ => break,
        }
    }
    assert_eq!(s["phase"], "complete", "{s}");
    s
}

dual_test! {
    async fn a_member_runs_grow_and_manages_actions_with_a_personal_token(app) {
        let session_api = member(&app, "ada@example.com").await;
        let (status, created) = session_api.post("/tokens", json!({"name": "script", "scopes": ["read", "write"], "expiresInDays": 30})).await;
        assert_eq!(status, 201, "{created}");
        let token = created["token"].as_str().unwrap();
        assert!(token.starts_with("cfp_"));
        let api = session_api.with_token(token);

        let (status, me) = api.get("/me").await;
        assert_eq!(status, 200);
        assert_eq!(me["email"], "ada@example.com");
        let keys: Vec<&String> = me.as_object().unwrap().keys().collect();
        for secret in ["passwordHash", "password_hash", "totpSecret", "token"] {
            assert!(!keys.iter().any(|k| *k == secret), "{secret} never leaves: {keys:?}");
        }

        let (status, fw) = api.get("/frameworks").await;
        assert_eq!(status, 200);
        assert_eq!(fw["items"].as_array().unwrap().len(), 6);
        assert!(fw["items"].as_array().unwrap().iter().all(|f| f["locked"].is_null()), "members may start every framework");

        let (status, s) = api.post("/sessions", json!({"framework": "GROW"})).await;
        assert_eq!(status, 201, "{s}");
        let id = s["id"].as_str().unwrap().to_owned();
        assert_eq!(s["phase"], "consent");
        assert!(s["anonymousId"].is_null());

        let plan = run_to_plan(&api, &id).await;
        let proposals = plan["proposals"].as_array().unwrap();
        assert!(!proposals.is_empty(), "{plan}");
        let (status, s) = api.post(&format!("/sessions/{id}/proposals/0"), json!({"decision": "accept", "title": "Book the planning meeting"})).await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["proposals"][0]["status"], "accepted");
        let (status, closed) = api.post(&format!("/sessions/{id}/close"), json!({})).await;
        assert_eq!(status, 200, "{closed}");
        assert_eq!(closed["phase"], "closed");
        assert_eq!(closed["status"], "completed");

        let (status, got) = api.get(&format!("/sessions/{id}")).await;
        assert_eq!(status, 200);
        let reflections = got["reflections"].as_array().unwrap();
        assert!(reflections.iter().any(|r| r["userInput"] == "Lead the platform team by summer"), "every answer is saved");

        let (status, report) = api.get(&format!("/sessions/{id}/report")).await;
        assert_eq!(status, 200);
        let text = report.to_string();
        assert!(text.contains("Lead the platform team by summer"), "{text}");
        assert_eq!(report["actions"][0]["title"], "Book the planning meeting");
        let md = api.client.get(format!("{}/sessions/{id}/report", api.base))
            .bearer_auth(token).header("Accept", "text/markdown").send().await.unwrap();
        assert!(md.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
        assert!(md.text().await.unwrap().contains("# 🌱 GROW"));

        // The kept proposal became an action item; create, edit, complete, delete another.
        let (_, list) = api.get("/actions").await;
        assert!(list["items"].as_array().unwrap().iter().any(|a| a["title"] == "Book the planning meeting"));
        let (status, a) = api.post("/actions", json!({"title": "Write the team charter", "due": "in 3 days", "priority": "high", "tags": ["career"]})).await;
        assert_eq!(status, 201, "{a}");
        let expected = coachflux_domain::dates::parse_due("in 3 days", app.clock.now_ms()).unwrap().at_ms;
        assert_eq!(a["dueDate"].as_i64(), Some(expected));
        assert_eq!(a["tags"], json!(["career"]));
        let aid = a["id"].as_str().unwrap().to_owned();
        let (status, a) = api.call(Method::PATCH, &format!("/actions/{aid}"), Some(json!({"title": "Write and share the charter", "completed": true}))).await;
        assert_eq!(status, 200, "{a}");
        assert_eq!((a["title"].as_str(), a["completed"].as_bool()), (Some("Write and share the charter"), Some(true)));
        assert_eq!(a["priority"], "high", "unnamed fields stay");
        let (_, done) = api.get("/actions?status=completed").await;
        assert_eq!(done["items"].as_array().unwrap().len(), 1);
        assert_eq!(api.call(Method::DELETE, &format!("/actions/{aid}"), None).await.0, 204);
        assert_eq!(api.get(&format!("/actions/{aid}")).await.0, 404);

        // Deleting the session takes its reflections and items with it.
        assert_eq!(api.call(Method::DELETE, &format!("/sessions/{id}"), None).await.0, 204);
        assert_eq!(api.get(&format!("/sessions/{id}")).await.0, 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 0);
        app.stop().await;
    }
}

dual_test! {
    async fn other_people_get_404_read_tokens_cannot_write_and_revoked_tokens_stop_working(app) {
        let ada = member(&app, "ada@example.com").await;
        let bob = member(&app, "bob@example.com").await;
        let (_, s) = ada.post("/sessions", json!({"framework": "GROW"})).await;
        let sid = s["id"].as_str().unwrap().to_owned();
        let (_, a) = ada.post("/actions", json!({"title": "Ada's item", "sessionId": sid})).await;
        let aid = a["id"].as_str().unwrap().to_owned();
        for path in [format!("/sessions/{sid}"), format!("/sessions/{sid}/report"), format!("/actions/{aid}")] {
            let (status, body) = bob.get(&path).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(body["code"], "not_found");
        }
        assert_eq!(bob.post(&format!("/sessions/{sid}/turns"), json!({"input": "hi"})).await.0, 404);
        assert_eq!(bob.call(Method::DELETE, &format!("/actions/{aid}"), None).await.0, 404);
        assert_eq!(bob.call(Method::PATCH, &format!("/actions/{aid}"), Some(json!({"completed": true}))).await.0, 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM action_items WHERE completed = 0").await, 1);

        let (_, t) = ada.post("/tokens", json!({"name": "reader", "scopes": ["read"]})).await;
        let reader = ada.with_token(t["token"].as_str().unwrap());
        assert_eq!(reader.get("/actions").await.0, 200);
        let (status, body) = reader.post("/actions", json!({"title": "nope"})).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("insufficient_scope")));
        assert_eq!(reader.post("/sessions", json!({"framework": "GROW"})).await.0, 403);

        let tid = t["id"].as_str().unwrap();
        assert_eq!(bob.call(Method::DELETE, &format!("/tokens/{tid}"), None).await.0, 404, "not Bob's token");
        assert_eq!(ada.call(Method::DELETE, &format!("/tokens/{tid}"), None).await.0, 204);
        let r = reader.send(Method::GET, "/actions", None).await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        assert_eq!(r.headers()["content-type"], "application/problem+json");

        // Logging out ends the session token.
        assert_eq!(bob.post("/auth/logout", json!({})).await.0, 204);
        assert_eq!(bob.get("/me").await.0, 401);
        app.stop().await;
    }
}

dual_test! {
    async fn bad_requests_get_problems_and_change_nothing(app) {
        let api = member(&app, "ada@example.com").await;
        let before = app.count("SELECT COUNT(*) FROM action_items").await;
        let r = api.client.post(format!("{}/actions", api.base)).bearer_auth(api.token.as_ref().unwrap())
            .header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let r = api.client.post(format!("{}/actions", api.base)).bearer_auth(api.token.as_ref().unwrap())
            .body("title=x").send().await.unwrap();
        assert_eq!(r.status(), 415);
        let (status, body) = api.post("/actions", json!({"title": "", "due": "someday maybe"})).await;
        assert_eq!(status, 422);
        assert_eq!(body["code"], "validation_failed");
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"title") && fields.contains(&"due"), "{body}");
        let (status, body) = api.post("/actions", json!({"title": 5})).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")));
        let (status, body) = api.post("/sessions", json!({"framework": "NOPE"})).await;
        assert!(status == 404 || status == 422, "{status} {body}");
        let (status, body) = api.get("/actions?limit=500").await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_limit")));
        let (status, body) = api.get("/actions?cursor=%%%").await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = api.get("/no-such-thing").await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
        let big = "x".repeat(2 * 1024 * 1024);
        let r = api.client.post(format!("{}/actions", api.base)).bearer_auth(api.token.as_ref().unwrap())
            .header("content-type", "application/json").body(format!("{{\"title\":\"{big}\"}}")).send().await.unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, before);
        app.stop().await;
    }
}

dual_test! {
    async fn pages_are_stable_while_rows_are_inserted(app) {
        let api = member(&app, "ada@example.com").await;
        // Every action item belongs to a session.
        assert_eq!(api.post("/sessions", json!({"framework": "GROW"})).await.0, 201);
        let mut created = Vec::new();
        for i in 0..5 {
            app.clock.advance_ms(1_000);
            let (_, a) = api.post("/actions", json!({"title": format!("Item {i}")})).await;
            created.push(a["id"].as_str().unwrap().to_owned());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for round in 0..10 {
            let path = match &cursor {
                Some(c) => format!("/actions?limit=2&cursor={c}"),
                None => "/actions?limit=2".to_owned(),
            };
            let (status, page) = api.get(&path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(page["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()));
            // Someone adds an item between pages.
            app.clock.advance_ms(1_000);
            api.post("/actions", json!({"title": format!("Late {round}")})).await;
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        created.reverse();
        assert_eq!(seen, created, "each original item exactly once, newest first");
        app.stop().await;
    }
}

dual_test! {
    async fn idempotency_keys_replay_the_first_result(app) {
        let api = member(&app, "ada@example.com").await;
        assert_eq!(api.post("/sessions", json!({"framework": "GROW"})).await.0, 201);
        let send = |body: Value| {
            let api = api.clone();
            async move {
                api.client.post(format!("{}/actions", api.base)).bearer_auth(api.token.as_ref().unwrap())
                    .header("Idempotency-Key", "abc-123").json(&body).send().await.unwrap()
            }
        };
        let first = send(json!({"title": "Once"})).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = send(json!({"title": "Once"})).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = again.json().await.unwrap();
        assert_eq!(first["id"], again["id"]);
        assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 1);
        let other = send(json!({"title": "Different"})).await;
        assert_eq!(other.status(), 422);
        // A request that failed doesn't use the key up.
        let bad = api.client.post(format!("{}/actions", api.base)).bearer_auth(api.token.as_ref().unwrap())
            .header("Idempotency-Key", "k2").json(&json!({"title": ""})).send().await.unwrap();
        assert_eq!(bad.status(), 422);
        let good = api.client.post(format!("{}/actions", api.base)).bearer_auth(api.token.as_ref().unwrap())
            .header("Idempotency-Key", "k2").json(&json!({"title": "Fixed"})).send().await.unwrap();
        assert_eq!(good.status(), 201);
        // Once the created item is deleted, its key is free again: no replay of a ghost.
        let first_id = first["id"].as_str().unwrap();
        assert_eq!(api.call(Method::DELETE, &format!("/actions/{first_id}"), None).await.0, 204);
        let fresh = send(json!({"title": "Once"})).await;
        assert_eq!(fresh.status(), 201);
        assert!(!fresh.headers().contains_key("idempotent-replayed"));
        let fresh: Value = fresh.json().await.unwrap();
        assert_ne!(fresh["id"], first["id"]);
        app.stop().await;
    }
}

dual_test! {
    async fn a_visitor_uses_an_anonymous_id_and_signing_up_moves_the_session(app) {
        let visitor = Api::new(&app);
        let (status, s) = visitor.post("/sessions", json!({"framework": "GROW"})).await;
        assert_eq!(status, 201, "{s}");
        assert_eq!(s["isAnonymous"], true);
        assert!(s["expiresAt"].as_i64().unwrap() > app.clock.now_ms());
        let anon = s["anonymousId"].as_str().unwrap().to_owned();
        let sid = s["id"].as_str().unwrap().to_owned();
        assert_eq!(visitor.get(&format!("/sessions/{sid}")).await.0, 401, "without an id: who are you?");
        let stranger = Api { anonymous: Some("x".repeat(43)), ..visitor.clone() };
        assert_eq!(stranger.get(&format!("/sessions/{sid}")).await.0, 404, "another visitor's id: not yours");
        let visitor = Api { anonymous: Some(anon.clone()), ..visitor };
        assert_eq!(visitor.post(&format!("/sessions/{sid}/consent"), json!({})).await.0, 200);
        let (_, list) = visitor.get("/sessions").await;
        assert_eq!(list["items"][0]["id"], sid.as_str());
        let (status, body) = visitor.post("/sessions", json!({"framework": "COMPASS"})).await;
        assert_eq!(status, 422, "COMPASS is for members: {body}");
        let (_, fw) = visitor.get("/frameworks/COMPASS").await;
        assert!(fw["locked"].as_str().unwrap().contains("members"));

        let (status, signed) = visitor.post("/auth/signup", json!({"email": "vera@example.com", "password": PASSWORD, "acceptTerms": true})).await;
        assert_eq!(status, 201, "{signed}");
        let member = Api::new(&app).with_token(signed["token"].as_str().unwrap());
        let (status, s) = member.get(&format!("/sessions/{sid}")).await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["isAnonymous"], false);
        assert!(s["expiresAt"].is_null());
        assert_eq!(s["userId"], signed["user"]["id"]);
        let (status, body) = Api { anonymous: Some("short".into()), ..Api::new(&app) }.get("/sessions").await;
        assert_eq!((status, body["code"].as_str()), (401, Some("invalid_anonymous_id")));
        app.stop().await;
    }
}

dual_test! {
    async fn the_openapi_document_and_reference_page_describe_every_route(app) {
        let api = Api::new(&app);
        let (status, doc) = api.get("/openapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for p in ["/api/v1/auth/login", "/api/v1/me", "/api/v1/sessions/{id}/turns", "/api/v1/actions/{id}", "/api/v1/tokens"] {
            assert!(paths.contains_key(p), "{p}");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        let page = reqwest::get(format!("http://{}/api/docs", app.addr)).await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("/api/v1/sessions/{id}/turns") && html.contains("Idempotency-Key"), "reference lists operations");
        assert!(!html.contains("cdn"), "served from the binary");
        app.stop().await;
    }
}

async fn api_requests_are_rate_limited_per_token(engine: crate::harness::Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_API_RATE_LIMIT", "5")]).await else {
        return;
    };
    let api = Api::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = api.send(Method::GET, "/frameworks", None).await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    app.clock.advance_ms(61_000);
    assert_eq!(api.get("/frameworks").await.0, 200, "a new window");
    app.stop().await;
}

crate::on_both_engines!(api_requests_are_rate_limited_per_token);

dual_test! {
    async fn tokens_are_created_in_settings_shown_once_and_revocable(app) {
        let b = app.new_browser();
        crate::identity::signup(&app, &b, "ada@example.com").await;
        let (status, page, _) = b.submit("/settings/tokens", &[("name", "Laptop script"), ("write", "on"), ("expires_in_days", "30")]).await;
        assert_eq!(status, 200, "{page}");
        let token = crate::harness::extract(&page, "<code id=\"new-token\" class=\"token-value\">", "</code>").expect("token shown");
        assert!(token.starts_with("cfp_"));
        let (_, again, _) = b.page("/settings").await;
        assert!(again.contains("Laptop script") && !again.contains(&token), "listed, never shown again");
        let api = Api::new(&app).with_token(&token);
        let (status, me) = api.get("/me").await;
        assert_eq!((status, me["email"].as_str()), (200, Some("ada@example.com")));
        let id: String = sqlx::query_scalar("SELECT id FROM api_tokens").fetch_one(app.store.pool()).await.unwrap();
        let hash: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(app.store.pool()).await.unwrap();
        assert_ne!(hash, token, "stored hashed");
        let (status, _, _) = b.submit("/settings/tokens", &[("name", ""), ("expires_in_days", "30")]).await;
        assert_eq!(status, 422);
        assert_eq!(b.submit(&format!("/settings/tokens/{id}/revoke"), &[]).await.0, 303);
        assert_eq!(api.get("/me").await.0, 401);
        app.stop().await;
    }
}
