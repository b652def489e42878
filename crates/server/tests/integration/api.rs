//! The JSON API over HTTP on both engines: a member with a token runs GROW and manages action
//! items; authorization, validation problems, pagination, idempotency, visitors.

use crate::dual_test;
use crate::harness::{Client, TestApp, spawn_with};
use coachflux_domain::Clock;
use reqwest::Method;
use serde_json::{Value, json};

pub const PASSWORD: &str = "a long and unusual passphrase 42";

/// Signs up through the API, confirms the address with the emailed token, signs in, and
/// returns a client with the session token.
pub async fn member(app: &TestApp, email: &str) -> Client {
    let api = app.api();
    let (status, body) = api
        .post_json(
            "/auth/signup",
            json!({"email": email, "password": PASSWORD, "name": "Ada", "acceptTerms": true}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let token = crate::identity::verification_token(app, email).await;
    let (status, body) = api
        .post_json("/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(
        (status, body["verified"].as_str()),
        (200, Some("email")),
        "{body}"
    );
    let (status, body) = api
        .post_json("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "{body}");
    api.with_token(body["token"].as_str().unwrap())
}

/// Answers and confirms every step until the plan is ready.
pub async fn run_to_plan(api: &Client, id: &str) -> Value {
    let (status, mut s) = api
        .post_json(&format!("/sessions/{id}/consent"), json!({}))
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
                    .post_json(&format!("/sessions/{id}/turns"), json!({"input": input}))
                    .await;
                assert_eq!(status, 200, "{next}");
                s = next;
            }
            "confirming" => {
                let (status, next) = api
                    .post_json(&format!("/sessions/{id}/proceed"), json!({}))
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

async fn a_member_runs_grow_and_manages_actions_with_a_personal_token(app: TestApp) {
    let session_api = member(&app, "ada@example.com").await;
    let (status, created) = session_api
        .post_json(
            "/tokens",
            json!({"name": "script", "scopes": ["read", "write"], "expiresInDays": 30}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("cfp_"));
    let api = session_api.with_token(token);

    let (status, me) = api.get_json("/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "ada@example.com");
    let keys: Vec<&String> = me.as_object().unwrap().keys().collect();
    for secret in ["passwordHash", "password_hash", "totpSecret", "token"] {
        assert!(
            !keys.iter().any(|k| *k == secret),
            "{secret} never leaves: {keys:?}"
        );
    }

    let (status, fw) = api.get_json("/frameworks").await;
    assert_eq!(status, 200);
    assert_eq!(fw["items"].as_array().unwrap().len(), 6);
    assert!(
        fw["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["locked"].is_null()),
        "members may start every framework"
    );

    let (status, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["phase"], "consent");
    assert!(s["anonymousId"].is_null());

    let plan = run_to_plan(&api, &id).await;
    let proposals = plan["proposals"].as_array().unwrap();
    assert!(!proposals.is_empty(), "{plan}");
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/proposals/0"),
            json!({"decision": "accept", "title": "Book the planning meeting"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["proposals"][0]["status"], "accepted");
    let (status, closed) = api
        .post_json(&format!("/sessions/{id}/close"), json!({}))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["phase"], "closed");
    assert_eq!(closed["status"], "completed");

    let (status, got) = api.get_json(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200);
    let reflections = got["reflections"].as_array().unwrap();
    assert!(
        reflections
            .iter()
            .any(|r| r["userInput"] == "Lead the platform team by summer"),
        "every answer is saved"
    );

    let (status, report) = api.get_json(&format!("/sessions/{id}/report")).await;
    assert_eq!(status, 200);
    let text = report.to_string();
    assert!(text.contains("Lead the platform team by summer"), "{text}");
    assert_eq!(report["actions"][0]["title"], "Book the planning meeting");
    let md = api
        .request(Method::GET, &format!("/sessions/{id}/report"))
        .bearer_auth(token)
        .header("Accept", "text/markdown")
        .send()
        .await
        .unwrap();
    assert!(
        md.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    assert!(md.text().await.unwrap().contains("# 🌱 GROW"));

    // The kept proposal became an action item; create, edit, complete, delete another.
    let (_, list) = api.get_json("/actions").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["title"] == "Book the planning meeting")
    );
    let (status, a) = api.post_json("/actions", json!({"title": "Write the team charter", "due": "in 3 days", "priority": "high", "tags": ["career"]})).await;
    assert_eq!(status, 201, "{a}");
    let expected = coachflux_domain::dates::parse_due(
        "in 3 days",
        app.clock.now_ms(),
        coachflux_domain::dates::Zone::UTC,
    )
    .unwrap()
    .at_ms;
    assert_eq!(a["dueDate"].as_i64(), Some(expected));
    assert_eq!(a["tags"], json!(["career"]));
    let aid = a["id"].as_str().unwrap().to_owned();
    let (status, a) = api
        .call(
            Method::PATCH,
            &format!("/actions/{aid}"),
            Some(json!({"title": "Write and share the charter", "completed": true})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["title"].as_str(), a["completed"].as_bool()),
        (Some("Write and share the charter"), Some(true))
    );
    assert_eq!(a["priority"], "high", "unnamed fields stay");
    // Completing it again (a retry, a second tab) changes nothing and counts once.
    app.clock.advance_ms(60_000);
    let (status, again) = api
        .call(
            Method::PATCH,
            &format!("/actions/{aid}"),
            Some(json!({"completed": true})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["completedAt"], a["completedAt"],
        "the first completion time stays"
    );
    let (status, again) = api
        .post_json(&format!("/actions/{aid}/complete"), json!({}))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["completedAt"], a["completedAt"],
        "and so through /complete"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE event_name = 'action_item_completed'")
            .await,
        1
    );
    let (_, done) = api.get_json("/actions?status=completed").await;
    assert_eq!(done["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.call(Method::DELETE, &format!("/actions/{aid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(api.get_json(&format!("/actions/{aid}")).await.0, 404);

    // Deleting the session takes its reflections and items with it.
    assert_eq!(
        api.call(Method::DELETE, &format!("/sessions/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(api.get_json(&format!("/sessions/{id}")).await.0, 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 0);
    app.stop().await;
}
dual_test!(a_member_runs_grow_and_manages_actions_with_a_personal_token);

async fn other_people_get_404_read_tokens_cannot_write_and_revoked_tokens_stop_working(
    app: TestApp,
) {
    let ada = member(&app, "ada@example.com").await;
    let bob = member(&app, "bob@example.com").await;
    let (_, s) = ada
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let (_, a) = ada
        .post_json("/actions", json!({"title": "Ada's item", "sessionId": sid}))
        .await;
    let aid = a["id"].as_str().unwrap().to_owned();
    for path in [
        format!("/sessions/{sid}"),
        format!("/sessions/{sid}/report"),
        format!("/actions/{aid}"),
    ] {
        let (status, body) = bob.get_json(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["code"], "not_found");
    }
    assert_eq!(
        bob.post_json(&format!("/sessions/{sid}/turns"), json!({"input": "hi"}))
            .await
            .0,
        404
    );
    for path in [
        "consent", "skip", "proceed", "back", "resume", "close", "end",
    ] {
        assert_eq!(
            bob.post_json(&format!("/sessions/{sid}/{path}"), json!({}))
                .await
                .0,
            404,
            "{path}"
        );
    }
    assert_eq!(
        bob.post_json(&format!("/sessions/{sid}/amend"), json!({"step": "goal"}))
            .await
            .0,
        404
    );
    assert_eq!(
        bob.post_json(
            &format!("/sessions/{sid}/proposals/0"),
            json!({"decision": "accept"})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        bob.call(Method::DELETE, &format!("/sessions/{sid}"), None)
            .await
            .0,
        404
    );
    let (_, ada_now) = ada.get_json(&format!("/sessions/{sid}")).await;
    assert_eq!(ada_now["phase"], "consent", "nothing Bob sent touched it");
    assert_eq!(
        bob.call(Method::DELETE, &format!("/actions/{aid}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        bob.call(
            Method::PATCH,
            &format!("/actions/{aid}"),
            Some(json!({"completed": true}))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM action_items WHERE completed = 0")
            .await,
        1
    );

    let (_, t) = ada
        .post_json("/tokens", json!({"name": "reader", "scopes": ["read"]}))
        .await;
    let reader = ada.with_token(t["token"].as_str().unwrap());
    assert_eq!(reader.get_json("/actions").await.0, 200);
    let (status, body) = reader.post_json("/actions", json!({"title": "nope"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert_eq!(
        reader
            .post_json("/sessions", json!({"framework": "GROW"}))
            .await
            .0,
        403
    );
    assert_eq!(
        reader
            .post_json(
                "/tokens",
                json!({"name": "more", "scopes": ["read", "write"]})
            )
            .await
            .0,
        403
    );
    assert_eq!(
        reader
            .call(
                Method::DELETE,
                &format!("/tokens/{}", t["id"].as_str().unwrap()),
                None
            )
            .await
            .0,
        403
    );
    let (_, devices) = ada.get_json("/me/sessions").await;
    let device = devices["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reader
            .call(Method::DELETE, &format!("/me/sessions/{device}"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        ada.get_json("/me").await.0,
        200,
        "the device session still works"
    );

    let tid = t["id"].as_str().unwrap();
    assert_eq!(
        bob.call(Method::DELETE, &format!("/tokens/{tid}"), None)
            .await
            .0,
        404,
        "not Bob's token"
    );
    assert_eq!(
        ada.call(Method::DELETE, &format!("/tokens/{tid}"), None)
            .await
            .0,
        204
    );
    let r = reader.send(Method::GET, "/actions", None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // Logging out ends the session token.
    assert_eq!(bob.post_json("/auth/logout", json!({})).await.0, 204);
    assert_eq!(bob.get_json("/me").await.0, 401);
    app.stop().await;
}
dual_test!(other_people_get_404_read_tokens_cannot_write_and_revoked_tokens_stop_working);

async fn bad_requests_get_problems_and_change_nothing(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    let before = app.count("SELECT COUNT(*) FROM action_items").await;
    let r = api
        .request(Method::POST, "/actions")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = api
        .request(Method::POST, "/actions")
        .body("title=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (status, body) = api
        .post_json("/actions", json!({"title": "", "due": "someday maybe"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"title") && fields.contains(&"due"),
        "{body}"
    );
    let (status, body) = api.post_json("/actions", json!({"title": 5})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed"))
    );
    let (status, body) = api
        .post_json("/sessions", json!({"framework": "NOPE"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed")),
        "{body}"
    );
    let (status, body) = api.get_json("/frameworks/NOPE").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    // Tokens: a name, known scopes, a sensible expiry.
    let tokens_before = app.count("SELECT COUNT(*) FROM api_tokens").await;
    for (body, field) in [
        (json!({"name": "", "scopes": ["read"]}), "name"),
        (json!({"name": "x", "scopes": ["admin"]}), "scopes"),
        (
            json!({"name": "x", "scopes": ["read"], "expiresInDays": 0}),
            "expiresInDays",
        ),
        (
            json!({"name": "x", "scopes": ["read"], "expiresInDays": 100_000}),
            "expiresInDays",
        ),
    ] {
        let (status, problem) = api.post_json("/tokens", body.clone()).await;
        assert_eq!(status, 422, "{body}: {problem}");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.iter().any(|f| f.contains(field)),
            "{body}: {problem}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens").await,
        tokens_before
    );
    // A wrong password.
    let (status, body) = app
        .api()
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": "not it at all"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );
    let (status, body) = api.get_json("/actions?limit=500").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_limit"))
    );
    let (status, body) = api.get_json("/actions?cursor=%%%").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = api.get_json("/no-such-thing").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    // A body declared too big is refused from its headers, before any of it is read.
    let headers = format!(
        "Authorization: Bearer {}\r\nContent-Type: application/json\r\n",
        api.token.as_ref().unwrap()
    );
    let answer =
        crate::harness::post_declaring(app.addr, "/api/v1/actions", &headers, 2 * 1024 * 1024)
            .await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, before);
    app.stop().await;
}
dual_test!(bad_requests_get_problems_and_change_nothing);

async fn pages_are_stable_while_rows_are_inserted(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    // Every action item belongs to a session.
    assert_eq!(
        api.post_json("/sessions", json!({"framework": "GROW"}))
            .await
            .0,
        201
    );
    let mut created = Vec::new();
    for i in 0..5 {
        app.clock.advance_ms(1_000);
        let (_, a) = api
            .post_json("/actions", json!({"title": format!("Item {i}")}))
            .await;
        created.push(a["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for round in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/actions?limit=2&cursor={c}"),
            None => "/actions?limit=2".to_owned(),
        };
        let (status, page) = api.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned()),
        );
        // Someone adds an item between pages.
        app.clock.advance_ms(1_000);
        api.post_json("/actions", json!({"title": format!("Late {round}")}))
            .await;
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(
        seen, created,
        "each original item exactly once, newest first"
    );
    app.stop().await;
}
dual_test!(pages_are_stable_while_rows_are_inserted);

async fn idempotency_keys_replay_the_first_result(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    assert_eq!(
        api.post_json("/sessions", json!({"framework": "GROW"}))
            .await
            .0,
        201
    );
    let send = |body: Value| {
        let api = api.clone();
        async move {
            api.request(Method::POST, "/actions")
                .header("Idempotency-Key", "abc-123")
                .json(&body)
                .send()
                .await
                .unwrap()
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
    let bad = api
        .request(Method::POST, "/actions")
        .header("Idempotency-Key", "k2")
        .json(&json!({"title": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let good = api
        .request(Method::POST, "/actions")
        .header("Idempotency-Key", "k2")
        .json(&json!({"title": "Fixed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 201);
    // Once the created item is deleted, its key is free again: no replay of a ghost.
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(
        api.call(Method::DELETE, &format!("/actions/{first_id}"), None)
            .await
            .0,
        204
    );
    let fresh = send(json!({"title": "Once"})).await;
    assert_eq!(fresh.status(), 201);
    assert!(!fresh.headers().contains_key("idempotent-replayed"));
    let fresh: Value = fresh.json().await.unwrap();
    assert_ne!(fresh["id"], first["id"]);
    // A client that keeps cookies and authenticates with its bearer token needs no CSRF
    // token: the Authorization header is what a forged cross-site request can't send.
    let with_cookie = api
        .request(Method::POST, "/actions")
        .header("Cookie", "cf_anon=whatever")
        .json(&json!({"title": "From a cookie jar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 201);
    app.stop().await;
}
dual_test!(idempotency_keys_replay_the_first_result);

async fn a_visitor_uses_an_anonymous_id_and_signing_up_moves_the_session(app: TestApp) {
    let visitor = app.api();
    let (status, s) = visitor
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["isAnonymous"], true);
    assert!(s["expiresAt"].as_i64().unwrap() > app.clock.now_ms());
    let anon = s["anonymousId"].as_str().unwrap().to_owned();
    let sid = s["id"].as_str().unwrap().to_owned();
    assert_eq!(
        visitor.get_json(&format!("/sessions/{sid}")).await.0,
        401,
        "without an id: who are you?"
    );
    let (_, other) = app
        .api()
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let stranger = visitor
        .clone()
        .with_visitor(other["anonymousId"].as_str().unwrap());
    assert_eq!(
        stranger.get_json(&format!("/sessions/{sid}")).await.0,
        404,
        "another visitor's id: not yours"
    );
    // An id of the right shape that this server didn't hand out is no id at all.
    let (status, body) = visitor
        .clone()
        .with_visitor(&"x".repeat(43))
        .get_json(&format!("/sessions/{sid}"))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_anonymous_id"))
    );
    let visitor = visitor.with_visitor(&anon.clone());
    assert_eq!(
        visitor
            .post_json(&format!("/sessions/{sid}/consent"), json!({}))
            .await
            .0,
        200
    );
    let (_, list) = visitor.get_json("/sessions").await;
    assert_eq!(list["items"][0]["id"], sid.as_str());
    let (status, body) = visitor
        .post_json("/sessions", json!({"framework": "COMPASS"}))
        .await;
    assert_eq!(status, 422, "COMPASS is for members: {body}");
    let (_, fw) = visitor.get_json("/frameworks/COMPASS").await;
    assert!(fw["locked"].as_str().unwrap().contains("members"));

    let (status, body) = visitor
        .post_json(
            "/auth/signup",
            json!({"email": "vera@example.com", "password": PASSWORD, "acceptTerms": true}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let token = crate::identity::verification_token(&app, "vera@example.com").await;
    assert_eq!(
        visitor
            .post_json("/auth/verify-email", json!({"token": token}))
            .await
            .0,
        200
    );
    // Signing in with the visitor's id moves their sessions into the account.
    let (status, signed) = visitor
        .post_json(
            "/auth/login",
            json!({"email": "vera@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let member = app.api().with_token(signed["token"].as_str().unwrap());
    let (status, s) = member.get_json(&format!("/sessions/{sid}")).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["isAnonymous"], false);
    assert!(s["expiresAt"].is_null());
    assert_eq!(s["userId"], signed["user"]["id"]);
    let (status, body) = app.api().with_visitor("short").get_json("/sessions").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_anonymous_id"))
    );
    app.stop().await;
}
dual_test!(a_visitor_uses_an_anonymous_id_and_signing_up_moves_the_session);

async fn the_openapi_document_and_reference_page_describe_every_route(app: TestApp) {
    let api = app.api();
    let (status, doc) = api.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/sessions/{id}/turns",
        "/api/v1/actions/{id}",
        "/api/v1/tokens",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let page = reqwest::get(format!("http://{}/api/docs", app.addr))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("/api/v1/sessions/{id}/turns") && html.contains("Idempotency-Key"),
        "reference lists operations"
    );
    assert!(!html.contains("cdn"), "served from the binary");
    app.stop().await;
}
dual_test!(the_openapi_document_and_reference_page_describe_every_route);

async fn api_requests_are_rate_limited_per_token(engine: crate::harness::Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_API_RATE_LIMIT", "5")]).await else {
        return;
    };
    // A member (signed up on the website) with two personal tokens (signing in through the API
    // counts against this address's budget).
    crate::identity::signup(&app, &app.browser, "ada@example.com").await;
    let (status, signed) = app
        .api()
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": crate::identity::PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let ada = app.api().with_token(signed["token"].as_str().unwrap());
    let (_, t) = ada.post_json("/tokens", json!({"name": "one"})).await;
    let one = app.api().with_token(t["token"].as_str().unwrap());
    let (_, t) = ada.post_json("/tokens", json!({"name": "two"})).await;
    let two = app.api().with_token(t["token"].as_str().unwrap());

    let api = app.api();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = api.send(Method::GET, "/frameworks", None).await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
        }
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429],
        "five a minute, the sign-in included"
    );
    // Each token has its own budget.
    for _ in 0..5 {
        assert_eq!(one.get_json("/me").await.0, 200);
    }
    assert_eq!(
        one.get_json("/me").await.0,
        429,
        "token one has used its minute"
    );
    assert_eq!(two.get_json("/me").await.0, 200, "token two has its own");
    app.clock.advance_ms(61_000);
    assert_eq!(api.get_json("/frameworks").await.0, 200, "a new window");
    assert_eq!(one.get_json("/me").await.0, 200);
    app.stop().await;
}

crate::on_both_engines!(api_requests_are_rate_limited_per_token);

async fn tokens_are_created_in_settings_shown_once_and_revocable(app: TestApp) {
    let b = app.new_browser();
    crate::identity::signup(&app, &b, "ada@example.com").await;
    let (status, page, _) = b
        .submit(
            "/settings/tokens",
            &[
                ("name", "Laptop script"),
                ("write", "on"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let token = crate::harness::extract(
        &page,
        "<code id=\"new-token\" class=\"token-value\">",
        "</code>",
    )
    .expect("token shown");
    assert!(token.starts_with("cfp_"));
    let (_, again, _) = b.page("/settings").await;
    assert!(
        again.contains("Laptop script") && !again.contains(&token),
        "listed, never shown again"
    );
    let api = app.api().with_token(&token);
    let (status, me) = api.get_json("/me").await;
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("ada@example.com"))
    );
    let id: String = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let hash: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_ne!(hash, token, "stored hashed");
    let (status, _, _) = b
        .submit(
            "/settings/tokens",
            &[("name", ""), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        b.submit(&format!("/settings/tokens/{id}/revoke"), &[])
            .await
            .0,
        303
    );
    assert_eq!(api.get_json("/me").await.0, 401);
    app.stop().await;
}
dual_test!(tokens_are_created_in_settings_shown_once_and_revocable);

async fn the_account_its_email_preferences_devices_and_tokens_through_the_api(app: TestApp) {
    let ada = member(&app, "ada@example.com").await;
    let bob = member(&app, "bob@example.com").await;
    let (status, me) = ada
        .call(Method::PATCH, "/me", Some(json!({"name": "Ada Lovelace"})))
        .await;
    assert_eq!(
        (status, me["name"].as_str()),
        (200, Some("Ada Lovelace")),
        "{me}"
    );
    let (status, body) = ada
        .call(
            Method::PATCH,
            "/me",
            Some(json!({"picture": "http://plain.example/me.png"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "picture", "{body}");
    assert_eq!(
        ada.get_json("/me").await.1["picture"],
        Value::Null,
        "nothing changed"
    );
    let (status, body) = ada
        .call(Method::PATCH, "/me", Some(json!({"name": 7})))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("name")),
        "the field at fault is named: {body}"
    );

    let (status, prefs) = ada.get_json("/me/email-preferences").await;
    assert_eq!(status, 200);
    assert_eq!(prefs["actionReminders"], true, "{prefs}");
    let wanted = json!({"productUpdates": false, "newsletter": true, "actionReminders": false, "marketingEmails": false});
    let (status, got) = ada
        .call(Method::PUT, "/me/email-preferences", Some(wanted.clone()))
        .await;
    assert_eq!((status, &got), (200, &wanted));
    assert_eq!(ada.get_json("/me/email-preferences").await.1, wanted);
    let (status, body) = ada
        .call(
            Method::PUT,
            "/me/email-preferences",
            Some(json!({"newsletter": true})),
        )
        .await;
    assert_eq!(status, 422, "every preference is required: {body}");
    let (_, t) = ada
        .post_json("/tokens", json!({"name": "reader", "scopes": ["read"]}))
        .await;
    let reader = ada.with_token(t["token"].as_str().unwrap());
    assert_eq!(
        reader
            .call(Method::PUT, "/me/email-preferences", Some(wanted.clone()))
            .await
            .0,
        403
    );
    assert_eq!(
        reader
            .call(Method::PATCH, "/me", Some(json!({"name": "x"})))
            .await
            .0,
        403
    );

    // A second device; the device list pages and marks the current one.
    let (_, second) = app
        .api()
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let laptop = app.api().with_token(second["token"].as_str().unwrap());
    let (status, first_page) = ada.get_json("/me/sessions?limit=1").await;
    assert_eq!(status, 200, "{first_page}");
    assert_eq!(first_page["items"].as_array().unwrap().len(), 1);
    let cursor = first_page["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second_page) = ada
        .get_json(&format!("/me/sessions?limit=1&cursor={cursor}"))
        .await;
    assert!(second_page["nextCursor"].is_null());
    let devices: Vec<Value> = [first_page, second_page]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .collect();
    assert_eq!(devices.iter().filter(|d| d["current"] == true).count(), 1);
    let other = devices.iter().find(|d| d["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        bob.call(Method::DELETE, &format!("/me/sessions/{other}"), None)
            .await
            .0,
        404,
        "not Bob's device"
    );
    assert_eq!(laptop.get_json("/me").await.0, 200);
    assert_eq!(
        ada.call(Method::DELETE, &format!("/me/sessions/{other}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        laptop.get_json("/me").await.0,
        401,
        "that device is signed out"
    );

    // Tokens: listed without their secret; one that expires stops working.
    let (status, created) = ada
        .post_json(
            "/tokens",
            json!({"name": "nightly", "scopes": ["read", "write"], "expiresInDays": 1}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, list) = ada.get_json("/tokens?limit=100").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nightly", "reader"], "newest first");
    assert!(
        !list.to_string().contains("cfp_"),
        "never the secret: {list}"
    );
    let nightly = ada.with_token(created["token"].as_str().unwrap());
    assert_eq!(nightly.get_json("/me").await.0, 200);
    app.clock.advance_ms(24 * 3_600_000 + 1);
    assert_eq!(nightly.get_json("/me").await.0, 401, "expired");
    app.stop().await;
}
dual_test!(the_account_its_email_preferences_devices_and_tokens_through_the_api);

async fn signing_in_with_two_factor_magic_links_and_resets_through_the_api(app: TestApp) {
    let b = app.new_browser();
    crate::identity::signup(&app, &b, "ada@example.com").await;
    let (secret, _) = crate::identity::enable_two_factor(&app, &b).await;
    let api = app.api();
    let (status, body) = api
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": crate::identity::PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["twoFactorRequired"], true);
    assert!(
        body["token"].is_null(),
        "no session before the second factor"
    );
    let challenge = body["challenge"].as_str().unwrap().to_owned();
    let (status, body) = api
        .post_json(
            "/auth/2fa",
            json!({"challenge": challenge, "code": "000000"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = api
        .post_json(
            "/auth/2fa",
            json!({"challenge": "forged", "code": "123456"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("start again"),
        "a forged challenge reads as an expired one: {body}"
    );
    app.clock.advance_ms(30_000);
    let code = coachflux_domain::totp::code_for_step(
        &secret,
        coachflux_domain::totp::step_at(app.clock.now_ms()),
        6,
    );
    let (status, body) = api
        .post_json("/auth/2fa", json!({"challenge": challenge, "code": code}))
        .await;
    assert_eq!(status, 200, "{body}");
    let signed = api.with_token(body["token"].as_str().unwrap());
    assert_eq!(signed.get_json("/me").await.1["totpEnabled"], true);
    let (status, body) = api
        .post_json("/auth/2fa", json!({"challenge": challenge, "code": code}))
        .await;
    assert_ne!(status, 200, "a challenge and a code are used once: {body}");

    // Magic links and resets: the same answer for known and unknown addresses.
    let (status, known) = api
        .post_json("/auth/magic-link", json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(status, 202);
    let (status, unknown) = api
        .post_json("/auth/magic-link", json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!((status, &unknown), (202, &known));
    app.last_email("ada@example.com", "magic_link").await;
    assert!(app.emails_to("nobody@example.com").await.is_empty());
    let (status, _) = api
        .post_json("/auth/password-reset", json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(status, 202);
    app.last_email("ada@example.com", "password_reset").await;
    let (status, body) = api
        .post_json("/auth/password-reset", json!({"email": "not an address"}))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("email")),
        "{body}"
    );
    app.stop().await;
}
dual_test!(signing_in_with_two_factor_magic_links_and_resets_through_the_api);

async fn every_move_of_a_session_and_the_action_filters_through_the_api(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let (status, body) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "Too soon"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed")),
        "consent first: {body}"
    );
    api.post_json(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    let (status, s) = api
        .post_json(&format!("/sessions/{id}/skip"), json!({}))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["steps"][0]["skipped"], json!(["goal"]));
    let (_, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "It matters for my career"}),
        )
        .await;
    assert!(s["steps"][0]["captured"]["why_now"].is_string(), "{s}");
    // The skipped required question comes back; answer everything, then amend one field.
    let mut s = s;
    for _ in 0..6 {
        if s["phase"] != "asking" {
            break;
        }
        let input = match s["pendingField"]["kind"].as_str().unwrap() {
            "list" => "Ship v2\nHire two",
            "date" => "by June",
            _ => "Lead the platform team",
        };
        s = api
            .post_json(&format!("/sessions/{id}/turns"), json!({"input": input}))
            .await
            .1;
    }
    assert_eq!(s["phase"], "confirming", "{s}");
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/amend"),
            json!({"step": "goal", "field": "goal"}),
        )
        .await;
    assert_eq!(
        (status, s["pendingField"]["id"].as_str()),
        (200, Some("goal")),
        "{s}"
    );
    assert_eq!(
        s["draft"], "Lead the platform team",
        "the answer to edit: {s}"
    );
    let (status, body) = api
        .post_json(&format!("/sessions/{id}/amend"), json!({"step": "will"}))
        .await;
    assert_eq!(status, 422, "a step not reached yet: {body}");
    let (_, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "Become the team lead"}),
        )
        .await;
    assert_eq!(s["steps"][0]["captured"]["goal"], "Become the team lead");
    let (_, s) = api
        .post_json(&format!("/sessions/{id}/proceed"), json!({}))
        .await;
    assert_eq!(s["step"], "reality");
    let (status, s) = api
        .post_json(&format!("/sessions/{id}/back"), json!({}))
        .await;
    assert_eq!(
        (status, s["step"].as_str(), s["phase"].as_str()),
        (200, Some("goal"), Some("confirming"))
    );
    api.post_json(&format!("/sessions/{id}/proceed"), json!({}))
        .await;

    // The safety screen pauses; resume goes on; end stops it for good.
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "I want to kill myself"}),
        )
        .await;
    assert_eq!((status, s["paused"].as_bool()), (200, Some(true)), "{s}");
    // What it found, who to talk to, and a few kind words instead of a question.
    assert_eq!(s["safety"], "suicide", "{s}");
    assert!(!s["helplines"].as_array().unwrap().is_empty(), "{s}");
    assert!(
        s["prompt"]
            .as_str()
            .unwrap()
            .contains("talk to someone who can help right now"),
        "{s}"
    );
    assert_eq!(
        api.post_json(&format!("/sessions/{id}/turns"), json!({"input": "more"}))
            .await
            .0,
        422
    );
    let (_, s) = api
        .post_json(&format!("/sessions/{id}/resume"), json!({}))
        .await;
    assert_eq!(s["paused"], false);
    assert!(s.get("safety").is_none(), "{s}");
    assert!(
        s["prompt"]
            .as_str()
            .unwrap()
            .starts_with("Welcome back, and take your time."),
        "{s}"
    );
    let (status, s) = api
        .post_json(&format!("/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(
        (status, s["phase"].as_str(), s["status"].as_str()),
        (200, Some("closed"), Some("abandoned")),
        "{s}"
    );
    let (_, report) = api.get_json(&format!("/sessions/{id}/report")).await;
    assert_eq!(report["endedEarly"], true);
    // Ended after the pause: a kind summary and the helplines, no risks left open.
    assert!(
        !report["helplines"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(report["risks"], json!([]), "{report}");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .starts_with("You ended this session after we paused it"),
        "{report}"
    );
    assert_eq!(
        api.post_json(&format!("/sessions/{id}/end"), json!({}))
            .await
            .0,
        422,
        "already closed"
    );

    // Action filters and completing.
    let item = |title: &str, due: &str, priority: &str, tags: Value| {
        let api = api.clone();
        let body = json!({"title": title, "due": due, "priority": priority, "tags": tags, "sessionId": id});
        async move {
            api.post_json("/actions", body).await.1["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let late = item("Late one", "2026-01-10", "high", json!(["work"])).await;
    let soon = item("Soon one", "Friday", "medium", json!(["work", "writing"])).await;
    let later = item("Later one", "2026-03-01", "low", json!([])).await;
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        titles(&api.get_json("/actions?status=overdue").await.1),
        ["Late one"]
    );
    assert_eq!(
        titles(&api.get_json("/actions?status=week").await.1),
        ["Soon one"]
    );
    assert_eq!(
        titles(&api.get_json("/actions?priority=low").await.1),
        ["Later one"]
    );
    assert_eq!(
        titles(&api.get_json("/actions?tag=writing").await.1),
        ["Soon one"]
    );
    let overdue = &api.get_json(&format!("/actions/{late}")).await.1;
    assert_eq!(overdue["overdue"], true, "{overdue}");
    let (status, done) = api
        .post_json(&format!("/actions/{soon}/complete"), json!({}))
        .await;
    assert_eq!((status, done["completed"].as_bool()), (200, Some(true)));
    assert!(done["completedAt"].is_i64());
    assert_eq!(
        titles(&api.get_json("/actions?status=completed").await.1),
        ["Soon one"]
    );
    assert_eq!(
        titles(&api.get_json("/actions?status=open").await.1),
        ["Later one", "Late one"]
    );
    let (status, body) = api.get_json("/actions?status=someday").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let _ = later;
    app.stop().await;
}
dual_test!(every_move_of_a_session_and_the_action_filters_through_the_api);

async fn a_visitor_who_logs_in_through_the_api_keeps_their_session(app: TestApp) {
    member(&app, "vera@example.com").await;
    let visitor = app.api();
    let (_, s) = visitor
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let visitor = visitor.with_visitor(s["anonymousId"].as_str().unwrap());
    let (status, signed) = visitor
        .post_json(
            "/auth/login",
            json!({"email": "vera@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let vera = app.api().with_token(signed["token"].as_str().unwrap());
    let (status, s) = vera.get_json(&format!("/sessions/{sid}")).await;
    assert_eq!(
        (status, s["isAnonymous"].as_bool()),
        (200, Some(false)),
        "{s}"
    );
    let (_, list) = vera.get_json("/sessions").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}
dual_test!(a_visitor_who_logs_in_through_the_api_keeps_their_session);

async fn session_pages_are_stable_and_sessions_and_tokens_honour_idempotency_keys(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    let mut created = Vec::new();
    for _ in 0..4 {
        app.clock.advance_ms(1_000);
        created.push(
            api.post_json("/sessions", json!({"framework": "GROW"}))
                .await
                .1["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let (_, first) = api.get_json("/sessions?limit=3").await;
    app.clock.advance_ms(1_000);
    api.post_json("/sessions", json!({"framework": "WOOP"}))
        .await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, rest) = api
        .get_json(&format!("/sessions?limit=3&cursor={cursor}"))
        .await;
    let seen: Vec<String> = [first, rest]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    created.reverse();
    assert_eq!(
        seen, created,
        "each session once, newest first, while another was added"
    );

    let post = |path: &'static str, body: Value, key: &'static str| {
        let api = api.clone();
        async move {
            let r = api
                .request(Method::POST, path)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (
                r.status().as_u16(),
                replayed,
                r.json::<Value>().await.unwrap(),
            )
        }
    };
    let (s1, r1, a) = post("/sessions", json!({"framework": "CLEAR"}), "session-1").await;
    let (s2, r2, b) = post("/sessions", json!({"framework": "CLEAR"}), "session-1").await;
    assert_eq!((s1, r1, s2, r2), (201, false, 201, true));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM coaching_sessions WHERE framework = 'CLEAR'")
            .await,
        1
    );
    assert_eq!(
        post("/sessions", json!({"framework": "WOOP"}), "session-1")
            .await
            .0,
        422
    );

    let (s1, _, t1) = post("/tokens", json!({"name": "ci"}), "token-1").await;
    let (s2, r2, t2) = post("/tokens", json!({"name": "ci"}), "token-1").await;
    assert_eq!((s1, s2, r2), (201, 201, true));
    assert_eq!(
        t1["token"], t2["token"],
        "a lost response can be fetched again"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE name = 'ci'")
            .await,
        1
    );
    // The stored response never holds the secret in the clear.
    let secret = t1["token"].as_str().unwrap();
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT response_body FROM idempotency_keys WHERE response_body IS NOT NULL",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|b| !b.contains(secret) && !b.contains("cfp_") && !b.contains("CLEAR")),
        "{stored:?}"
    );
    // The records belong to the account: its export lists them.
    let (_, export) = api.get_json("/me/export").await;
    assert_eq!(
        export["apiRequests"].as_array().unwrap().len(),
        2,
        "{}",
        export["apiRequests"]
    );
    app.stop().await;
}
dual_test!(session_pages_are_stable_and_sessions_and_tokens_honour_idempotency_keys);

async fn the_site_s_own_script_calls_the_api_with_its_cookie_and_csrf_token(app: TestApp) {
    let b = app.new_browser();
    crate::identity::signup(&app, &b, "ada@example.com").await;
    crate::coaching::start(&b, "GROW").await;
    let r = b.get("/api/v1/me").await;
    assert_eq!(r.status(), 200, "the session cookie authenticates");
    let r = b
        .request(Method::POST, "/api/v1/actions")
        .json(&json!({"title": "From the page"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "csrf_failed");
    let token = b.csrf().await;
    let r = b
        .request(Method::POST, "/api/v1/actions")
        .header("X-CSRF-Token", &token)
        .json(&json!({"title": "From the page"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = b
        .request(Method::POST, "/api/v1/actions")
        .header("X-CSRF-Token", &token)
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({"title": "Forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a cross-site call is refused");
    assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 1);
    app.stop().await;
}
dual_test!(the_site_s_own_script_calls_the_api_with_its_cookie_and_csrf_token);

async fn frameworks_page_in_catalogue_order(app: TestApp) {
    let api = app.api();
    let (_, all) = api.get_json("/frameworks?limit=100").await;
    let all: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all, ["GROW", "CLEAR", "COMPASS", "OSKAR", "FUEL", "WOOP"]);
    let mut seen = Vec::new();
    let mut path = "/frameworks?limit=4".to_owned();
    loop {
        let (status, page) = api.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/frameworks?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, all, "each once, in order");
    let (status, body) = api.get_json("/frameworks?cursor=bogus").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{body}"
    );
    app.stop().await;
}
dual_test!(frameworks_page_in_catalogue_order);

async fn the_coach_follows_up_and_the_answers_are_kept_through_the_api(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let turn = |input: &'static str| {
        let api = &api;
        let id = &id;
        async move {
            let (status, s) = api
                .post_json(&format!("/sessions/{id}/turns"), json!({"input": input}))
                .await;
            assert_eq!(status, 200, "{s}");
            s
        }
    };
    api.post_json(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    turn("Get fitter").await;
    // A one-word answer to a reflective question: one invitation to say more.
    let s = turn("Doctor.").await;
    assert_eq!(s["followUp"]["kind"], "say_more", "{s}");
    assert_eq!(s["followUp"]["field"], "why_now", "{s}");
    assert!(
        s["followUp"]["question"]
            .as_str()
            .unwrap()
            .starts_with("“Doctor” —"),
        "{s}"
    );
    assert_eq!(s["prompt"], s["followUp"]["question"], "{s}");
    assert!(
        s["pendingField"].is_null(),
        "the next answer goes to the follow-up: {s}"
    );
    assert_eq!(s["canSkip"], true, "{s}");
    let s = turn("My blood pressure was high at my check-up").await;
    assert!(s["followUp"].is_null(), "{s}");
    assert_eq!(s["pendingField"]["id"], "success_criteria", "{s}");
    assert_eq!(
        s["steps"][0]["followUps"],
        json!([{"field": "why_now", "kind": "say_more",
            "question": "“Doctor” — could you say a little more about that?",
            "answer": "My blood pressure was high at my check-up"}]),
        "{s}"
    );
    assert_eq!(s["steps"][0]["captured"]["why_now"], "Doctor.");
    // A vague measure of success: one question to make it visible; skipping it is free.
    let s = turn("Feel better").await;
    assert_eq!(s["followUp"]["kind"], "sharpen", "{s}");
    let (status, s) = api
        .post_json(&format!("/sessions/{id}/skip"), json!({}))
        .await;
    assert_eq!(status, 200, "{s}");
    assert!(s["followUp"].is_null(), "{s}");
    assert_eq!(s["steps"][0]["skipped"], json!([]), "no skip spent: {s}");
    assert_eq!(s["pendingField"]["id"], "timeframe", "{s}");
    let s = turn("by the end of March").await;
    assert_eq!(s["phase"], "confirming", "{s}");
    app.stop().await;
}
dual_test!(the_coach_follows_up_and_the_answers_are_kept_through_the_api);

/// Answers an OSKAR session through the API (passing the coach's follow-ups) and closes it;
/// returns what the session said when it reached its review step.
async fn oskar_to_the_end(api: &Client) -> Value {
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "OSKAR"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    api.post_json(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    let mut at_review = Value::Null;
    for _ in 0..60 {
        let (_, s) = api.get_json(&format!("/sessions/{id}")).await;
        if s["step"] == "review" && at_review.is_null() {
            at_review = s.clone();
        }
        let (path, body) = match s["phase"].as_str().unwrap() {
            "asking" if s["followUp"].is_object() => ("skip", json!({})),
            "asking" => {
                let input = match s["pendingField"]["kind"].as_str().unwrap() {
                    "scale" => "4",
                    "list" => "My physio exercises",
                    "date" => "in 3 days",
                    _ => "Running again without pain",
                };
                ("turns", json!({"input": input}))
            }
            "confirming" => ("proceed", json!({})),
            "complete" => ("close", json!({})),
            _ => return at_review,
        };
        let (status, body) = api.post_json(&format!("/sessions/{id}/{path}"), body).await;
        assert!(status < 300, "{path}: {body}");
    }
    panic!("the session did not close");
}

async fn since_last_time_is_asked_only_in_a_later_session(app: TestApp) {
    let api = member(&app, "ada@example.com").await;
    let first = oskar_to_the_end(&api).await;
    assert_eq!(first["phase"], "confirming", "{first}");
    assert!(first["pendingField"].is_null(), "{first}");
    assert!(
        first["prompt"]
            .as_str()
            .unwrap()
            .contains("This is your first OSKAR session"),
        "{first}"
    );
    let second = oskar_to_the_end(&api).await;
    assert_eq!(second["pendingField"]["id"], "what_changed", "{second}");
    app.stop().await;
}
dual_test!(since_last_time_is_asked_only_in_a_later_session);

async fn distress_that_is_not_a_crisis_gets_a_check_in_and_the_session_goes_on(app: TestApp) {
    let (api, id) = consented_grow(&app).await;
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "Honestly I feel hopeless about this job and I want out"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["paused"], false, "a concern doesn't pause: {s}");
    assert_eq!(s["safetyLevel"], "concern", "{s}");
    assert!(!s["helplines"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(
        s["steps"][0]["captured"]["goal"], "Honestly I feel hopeless about this job and I want out",
        "the answer is taken: {s}"
    );
    let (_, full) = api.get_json(&format!("/sessions/{id}")).await;
    let reply = full["reflections"][0]["payload"]["reply"].as_str().unwrap();
    assert!(
        reply.starts_with("That sounds really hard, and I'm glad you said it."),
        "{reply}"
    );
    assert_eq!(full["reflections"][0]["payload"]["concern"], true);
    assert_eq!(full["reflections"][0]["payload"]["concernFrom"], "screen");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM safety_incidents").await,
        0,
        "not an incident"
    );
    // The next answer, without distress: no level, no helplines.
    let (_, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "It matters because I have been stuck for two years"}),
        )
        .await;
    assert!(s.get("safetyLevel").is_none(), "{s}");
    assert_eq!(s["helplines"], json!([]), "{s}");
    // A crisis is still a crisis.
    let (_, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "I feel hopeless and I want to kill myself"}),
        )
        .await;
    assert_eq!(
        (
            s["paused"].as_bool(),
            s["safetyLevel"].as_str(),
            s["safetyForSomeoneElse"].as_bool()
        ),
        (Some(true), Some("crisis"), Some(false)),
        "{s}"
    );
    app.stop().await;
}
dual_test!(distress_that_is_not_a_crisis_gets_a_check_in_and_the_session_goes_on);

/// Words no phrase list knows: the screen's model pauses the session on its own reading, and
/// checks in (with its own, asking words) where it is less sure.
async fn the_risk_model_pauses_and_checks_in_where_the_lists_know_nothing(app: TestApp) {
    let (api, id) = consented_grow(&app).await;
    let fading = "I feel like I'm fading and I don't know how much longer I can hold on";
    let (status, s) = api
        .post_json(&format!("/sessions/{id}/turns"), json!({"input": fading}))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (s["paused"].as_bool(), s["safetyLevel"].as_str()),
        (Some(false), Some("concern")),
        "{s}"
    );
    assert!(!s["helplines"].as_array().unwrap().is_empty(), "{s}");
    let (_, full) = api.get_json(&format!("/sessions/{id}")).await;
    let reply = full["reflections"][0]["payload"]["reply"].as_str().unwrap();
    assert!(
        reply.starts_with(coachflux_domain::safety::MODEL_CHECK_IN),
        "{reply}"
    );
    assert_eq!(
        full["reflections"][0]["payload"]["concernFrom"],
        "screen_model"
    );
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "I've stopped seeing a future for myself, I keep thinking everyone would cope fine without me around"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (
            s["paused"].as_bool(),
            s["safetyLevel"].as_str(),
            s["safety"].as_str()
        ),
        (Some(true), Some("crisis"), Some("suicide")),
        "{s}"
    );
    assert!(!s["helplines"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM safety_incidents WHERE category = 'suicide'")
            .await,
        1
    );
    let (_, full) = api.get_json(&format!("/sessions/{id}")).await;
    assert_eq!(
        full["reflections"][1]["payload"]["safetyFrom"], "screen_model",
        "the model's pauses can be counted apart: {full}"
    );
    app.stop().await;
}
dual_test!(the_risk_model_pauses_and_checks_in_where_the_lists_know_nothing);

async fn a_danger_to_someone_else_pauses_with_help_for_supporting_them(app: TestApp) {
    let (api, id) = consented_grow(&app).await;
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "My sister said she wants to end her life and I don't know what to do"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (
            s["paused"].as_bool(),
            s["safety"].as_str(),
            s["safetyForSomeoneElse"].as_bool()
        ),
        (Some(true), Some("suicide"), Some(true)),
        "{s}"
    );
    let prompt = s["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("It sounds like someone you care about may be in danger"),
        "{prompt}"
    );
    assert!(prompt.contains("talk you through what to say and do"));
    assert!(!s["helplines"].as_array().unwrap().is_empty(), "{s}");
    // Resumed, the session goes on and the flag is gone with the pause.
    let (_, s) = api
        .post_json(&format!("/sessions/{id}/resume"), json!({}))
        .await;
    assert_eq!(s["paused"], false, "{s}");
    assert!(s.get("safetyForSomeoneElse").is_none(), "{s}");
    app.stop().await;
}
dual_test!(a_danger_to_someone_else_pauses_with_help_for_supporting_them);

async fn a_medical_emergency_pauses_with_the_emergency_number_first(app: TestApp) {
    let (api, id) = consented_grow(&app).await;
    let (status, s) = api
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "Sorry, my dad just collapsed and isn't responding"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (
            s["paused"].as_bool(),
            s["safety"].as_str(),
            s["safetyLevel"].as_str()
        ),
        (Some(true), Some("medical"), Some("crisis")),
        "{s}"
    );
    assert!(
        s["prompt"]
            .as_str()
            .unwrap()
            .starts_with("This sounds like a medical emergency for someone with you."),
        "{s}"
    );
    assert_eq!(s["safetyForSomeoneElse"], true, "{s}");
    assert_eq!(
        s["helplines"][0]["name"], "Emergency services: call now",
        "{s}"
    );
    // The incident is stored under its own category (the schema allows it on both engines).
    let category: String = sqlx::query_scalar("SELECT category FROM safety_incidents")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(category, "medical");
    app.stop().await;
}
dual_test!(a_medical_emergency_pauses_with_the_emergency_number_first);

/// A member with a GROW session they consented to.
async fn consented_grow(app: &TestApp) -> (Client, String) {
    let api = member(app, "ada@example.com").await;
    let (_, s) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    api.post_json(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    (api, id)
}

/// Creates an action due `due`, naming `zone` in the `X-Time-Zone` header when given.
async fn action_due(api: &Client, zone: Option<&str>, due: &str) -> Value {
    let mut request = api
        .request(Method::POST, "/actions")
        .json(&json!({"title": "Call Sam", "due": due}));
    if let Some(zone) = zone {
        request = request.header("X-Time-Zone", zone);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

dual_test!(dates_are_days_in_the_persons_time_zone);
/// "Tomorrow" is the person's tomorrow and ends with their day: the `X-Time-Zone` header names
/// the zone until the account has one, and the account's wins after.
async fn dates_are_days_in_the_persons_time_zone(app: TestApp) {
    use coachflux_domain::clock::{DAY_MS, HOUR_MS};
    use coachflux_domain::dates::from_ymd;
    let (api, _) = consented_grow(&app).await;
    // Noon UTC on Thursday 15 January is 01:00 on Friday in Auckland (UTC+13 in summer) and
    // 04:00 on Thursday in Los Angeles (UTC-8).
    app.clock.advance_ms(2 * HOUR_MS);
    let end_of = |d: u32| from_ymd(2026, 1, d) + DAY_MS - 1;
    let a = action_due(&api, None, "tomorrow").await;
    assert_eq!(
        a["dueDate"].as_i64(),
        Some(end_of(16)),
        "UTC without a zone"
    );
    let auckland = action_due(&api, Some("Pacific/Auckland"), "tomorrow").await;
    assert_eq!(
        auckland["dueDate"].as_i64(),
        Some(end_of(17) - 13 * HOUR_MS),
        "the end of Saturday in Auckland"
    );
    let a = action_due(&api, Some("not a zone"), "tomorrow").await;
    assert_eq!(
        a["dueDate"].as_i64(),
        Some(end_of(16)),
        "a bad header is ignored"
    );

    let (status, me) = api
        .call(
            Method::PATCH,
            "/me",
            Some(json!({"timeZone": "america/los_angeles"})),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["timeZone"], "America/Los_Angeles");
    assert_eq!(me["name"], "Ada", "unnamed fields stay");
    let a = action_due(&api, Some("Pacific/Auckland"), "today").await;
    assert_eq!(
        a["dueDate"].as_i64(),
        Some(end_of(15) + 8 * HOUR_MS),
        "the account's zone wins: the end of Thursday in Los Angeles"
    );
    // An edit that leaves the date out leaves it exactly as it was, whatever the zone now.
    let (status, edited) = api
        .call(
            Method::PATCH,
            &format!("/actions/{}", auckland["id"].as_str().unwrap()),
            Some(json!({"title": "Call Sam again"})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["dueDate"], auckland["dueDate"], "{edited}");
    assert_eq!(a["overdue"], false);

    let (status, problem) = api
        .call(Method::PATCH, "/me", Some(json!({"timeZone": "Mars/Base"})))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem.to_string().contains("Pick a time zone"),
        "{problem}"
    );
    let (_, me) = api.get_json("/me").await;
    assert_eq!(me["timeZone"], "America/Los_Angeles", "unchanged");
    let (status, me) = api
        .call(Method::PATCH, "/me", Some(json!({"timeZone": null})))
        .await;
    assert_eq!((status, &me["timeZone"]), (200, &Value::Null));
    let again = action_due(&api, Some("Pacific/Auckland"), "tomorrow").await;
    assert_eq!(
        again["dueDate"], auckland["dueDate"],
        "un-picked, the client's zone counts again"
    );
    let stored = action_due(&api, None, "tomorrow").await;
    assert_eq!(
        stored["dueDate"].as_i64(),
        Some(end_of(16) + 8 * HOUR_MS),
        "a client that names no zone: the stored one (Los Angeles), not UTC"
    );
    // `null` clears the other fields too; a field left out stays.
    let (status, me) = api
        .call(Method::PATCH, "/me", Some(json!({"name": null})))
        .await;
    assert_eq!((status, &me["name"]), (200, &Value::Null), "{me}");
}

dual_test!(a_visitors_answers_are_read_in_their_time_zone);
/// A visitor's "tomorrow" in a session is their tomorrow: GROW's timeframe, answered at 01:00
/// on Friday in Auckland (noon on Thursday in UTC), is Saturday.
async fn a_visitors_answers_are_read_in_their_time_zone(app: TestApp) {
    app.clock.advance_ms(2 * coachflux_domain::clock::HOUR_MS);
    // Started with no zone named (UTC), answered from Auckland: the zone of the answer counts.
    let (status, s) = app
        .api()
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let visitor = Client::builder(app.addr)
        .api()
        .header(
            reqwest::header::HeaderName::from_static("x-time-zone"),
            "Pacific/Auckland",
        )
        .build()
        .with_visitor(s["anonymousId"].as_str().unwrap());
    let (_, mut s) = visitor
        .post_json(&format!("/sessions/{id}/consent"), json!({}))
        .await;
    for _ in 0..8 {
        if s["pendingField"]["id"] == "timeframe" {
            break;
        }
        let path = if s["followUp"].is_object() {
            "skip"
        } else {
            "turns"
        };
        let input = match s["pendingField"]["kind"].as_str() {
            Some("list") => "I run the planning",
            _ => "Lead the platform team",
        };
        s = visitor
            .post_json(&format!("/sessions/{id}/{path}"), json!({"input": input}))
            .await
            .1;
    }
    assert_eq!(s["pendingField"]["id"], "timeframe", "{s}");
    let (status, s) = visitor
        .post_json(
            &format!("/sessions/{id}/turns"),
            json!({"input": "tomorrow"}),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s["steps"][0]["captured"]["timeframe"], "tomorrow (Sat 17 Jan 2026)",
        "{s}"
    );
}
