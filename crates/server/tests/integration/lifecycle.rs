//! The data lifecycle on both engines: account deletion with its 7-day grace period (kept by
//! signing in, erased after), the GDPR export from settings, the API and the CLI, the free
//! plan's history limit, and backups restored with the deletion ledger re-applied.

use crate::coaching::{complete, grow, start};
use crate::dual_test;
use crate::harness::{Client, Engine, T0, TestApp, extract, spawn_with};
use crate::identity::{PASSWORD, login, signup};
use coachflux::jobs::{self, Job};
use coachflux_domain::clock::{DAY_MS, HOUR_MS};
use coachflux_store::privacy;
use reqwest::Method;
use serde_json::Value;

const EMAIL: &str = "zelda.quixote@example.com";
const NAME: &str = "Zelda Quixote";
const IP: &str = "127.0.0.77";

async fn run(app: &TestApp, job: Job, at: i64) -> Value {
    let counts = jobs::run_leased(
        &app.state,
        job,
        "test-instance",
        jobs::Trigger::ByHand { at },
    )
    .await
    .expect("the job runs")
    .expect("nobody else holds the lease");
    Value::Object(counts)
}

async fn user_row(app: &TestApp, email: &str) -> Option<coachflux_store::users::User> {
    let mut conn = app.store.conn().await.unwrap();
    coachflux_store::users::find_by_email(&mut conn, email)
        .await
        .unwrap()
}

/// A member with a full history: a closed, rated GROW session with its action items, a
/// profile name, an API token, emails. Their requests come from `IP`.
async fn member_with_history(app: &TestApp) -> (Client, String) {
    member_with(app, None).await
}

/// [`member_with_history`], who first tried CoachFlux as a visitor in the same browser (a
/// session the safety screen paused); returns the visitor id too.
async fn member_with_visitor_past(app: &TestApp) -> (Client, String, String) {
    let mut visitor = String::new();
    let (b, id) = member_with(app, Some(&mut visitor)).await;
    (b, id, visitor)
}

async fn member_with(app: &TestApp, visitor: Option<&mut String>) -> (Client, String) {
    let b = Client::builder(app.addr).source_ip(IP).build();
    if let Some(visitor) = visitor {
        let path = start(&b, "GROW").await;
        b.submit(&format!("{path}/consent"), &[("consent", "on")])
            .await;
        b.submit(
            &format!("{path}/turn"),
            &[("input", "I have thought about ending my life")],
        )
        .await;
        *visitor = sqlx::query_scalar("SELECT anonymous_id FROM coaching_sessions WHERE id = $1")
            .bind(path.rsplit('/').next().unwrap())
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        let linked: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM safety_incidents WHERE anonymous_id = $1")
                .bind(visitor.as_str())
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(linked, 1, "the visitor's incident carries their visitor id");
    }
    let id = signup(app, &b, EMAIL).await;
    assert_eq!(
        b.submit("/settings/profile", &[("name", NAME)]).await.0,
        303
    );
    let path = start(&b, "GROW").await;
    complete(&b, &path, &grow()).await;
    assert_eq!(b.submit(&format!("{path}/close"), &[]).await.0, 303);
    assert_eq!(
        b.submit(
            &format!("{path}/rating"),
            &[("rating", "4"), ("comment", "Zelda found it useful")]
        )
        .await
        .0,
        303
    );
    let (status, page, _) = b
        .submit(
            "/settings/tokens",
            &[("name", "Zelda's laptop"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    // A failed sign-in from the same address leaves an audit row.
    login(
        &Client::builder(app.addr).source_ip(IP).build(),
        EMAIL,
        "not the password",
    )
    .await;
    // Rows of the tables no page of this test writes: a linked sign-in provider, recovery
    // codes, a notification, a support ticket, billing, and an organization seat.
    sqlx::query(
        "INSERT INTO organizations (id, name, slug, plan, seat_count, created_at) \
         VALUES ('org-1', 'Acme', 'acme', 'team', 5, $1)",
    )
    .bind(T0)
    .execute(app.store.pool())
    .await
    .unwrap();
    for sql in [
        "INSERT INTO oauth_identities (id, user_id, issuer, subject, created_at) \
         VALUES ('oi-1', $1, 'https://accounts.google.com', 'google-sub-1', $2)",
        "INSERT INTO totp_recovery_codes (id, user_id, code_hash, created_at) \
         VALUES ('rc-1', $1, 'c0ffee', $2)",
        "INSERT INTO notifications (id, user_id, type, title, message, created_at) \
         VALUES ('n-1', $1, 'system', 'Welcome', 'Welcome, Zelda', $2)",
        "INSERT INTO subscriptions (id, user_id, stripe_subscription_id, stripe_price_id, status, \
         current_period_start, current_period_end, created_at, updated_at) \
         VALUES ('s-1', $1, 'sub_1', 'price_1', 'canceled', $2, $2, $2, $2)",
        "INSERT INTO invoices (id, user_id, stripe_invoice_id, amount, currency, status, created_at) \
         VALUES ('i-1', $1, 'in_1', 900, 'eur', 'paid', $2)",
        "INSERT INTO org_members (id, org_id, user_id, role, joined_at) \
         VALUES ('om-1', 'org-1', $1, 'member', $2)",
    ] {
        sqlx::query(sql)
            .bind(&id)
            .bind(T0)
            .execute(app.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    sqlx::query(
        "INSERT INTO support_tickets (id, user_id, subject, description, created_at, updated_at) \
         VALUES ('t-1', $1, 'Billing', $2, $3, $3)",
    )
    .bind(&id)
    .bind(format!("{NAME} here, write to {EMAIL}"))
    .bind(T0)
    .execute(app.store.pool())
    .await
    .unwrap();
    (b, id)
}

/// Every value in every table, as text, one line per row.
async fn dump_everything(app: &TestApp) -> String {
    let schema = app.store.describe_schema().await.unwrap();
    let mut conn = app.store.conn().await.unwrap();
    let mut out = String::new();
    for name in schema.keys() {
        let rows = privacy::rows_as_json(
            &mut conn,
            &schema,
            name,
            "CAST($1 AS TEXT) IS NOT NULL",
            "all",
            &[],
        )
        .await
        .unwrap();
        for row in rows {
            out.push_str(name);
            out.push(' ');
            out.push_str(&Value::Object(row).to_string());
            out.push('\n');
        }
    }
    out
}

async fn a_deleted_account_can_be_kept_for_7_days_and_then_nothing_of_it_is_left(app: TestApp) {
    let (b, id, visitor) = member_with_visitor_past(&app).await;
    let before = dump_everything(&app).await;
    for needle in [id.as_str(), EMAIL, NAME, IP, visitor.as_str()] {
        assert!(before.contains(needle), "the test data holds {needle}");
    }
    for table in [
        "oauth_identities",
        "totp_recovery_codes",
        "notifications",
        "support_tickets",
        "subscriptions",
        "invoices",
        "org_members",
        "feedback",
        "api_tokens",
        "audit_log",
    ] {
        assert!(
            before
                .lines()
                .any(|l| l.starts_with(&format!("{table} ")) && l.contains(id.as_str())),
            "{table} holds a row of theirs"
        );
    }

    // A wrong password changes nothing.
    let (status, page, _) = b
        .submit(
            "/settings/delete",
            &[("password", "wrong"), ("reason", "Moving on")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("That isn't your current password."), "{page}");
    assert!(
        user_row(&app, EMAIL)
            .await
            .unwrap()
            .deletion_requested_at
            .is_none()
    );
    let too_long = "x".repeat(1001);
    assert_eq!(
        b.submit(
            "/settings/delete",
            &[("password", PASSWORD), ("reason", &too_long)]
        )
        .await
        .0,
        422
    );
    assert!(
        user_row(&app, EMAIL)
            .await
            .unwrap()
            .deletion_requested_at
            .is_none()
    );

    // The request: disabled at once, signed out everywhere, tokens revoked, an email.
    let (status, _, location) = b
        .submit(
            "/settings/delete",
            &[("password", PASSWORD), ("reason", "Moving on")],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/")));
    let u = user_row(&app, EMAIL).await.unwrap();
    assert_eq!(
        (u.deletion_requested_at, u.disabled_at),
        (Some(T0), Some(T0))
    );
    assert_eq!(u.deletion_reason.as_deref(), Some("Moving on"));
    assert_ne!(b.get("/settings").await.status(), 200, "signed out");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND is_active = 1")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL")
            .await,
        0
    );
    let mail = app.last_email(EMAIL, "deletion_scheduled").await;
    assert!(
        mail.body_text.contains("Thu 22 Jan 2026, 10:00 UTC"),
        "{}",
        mail.body_text
    );

    // Signing in within the grace period offers to keep the account; keeping it restores it.
    app.clock.set(T0 + 3 * DAY_MS);
    let b = Client::builder(app.addr).source_ip(IP).build();
    let r = b
        .post("/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Keep my account") && html.contains("Thu 22 Jan 2026, 10:00 UTC"),
        "{html}"
    );
    assert_ne!(
        b.get("/settings").await.status(),
        200,
        "not signed in until they choose"
    );
    let restore = extract(&html, "name=\"restore\" value=\"", "\"").unwrap();
    assert_eq!(
        b.submit("/account/keep", &[("restore", "forged.123.1.sig")])
            .await
            .0,
        422
    );
    let (status, _, location) = b.submit("/account/keep", &[("restore", &restore)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/dashboard")));
    assert_eq!(b.get("/settings").await.status(), 200, "signed in again");
    let u = user_row(&app, EMAIL).await.unwrap();
    assert_eq!((u.deletion_requested_at, u.disabled_at), (None, None));
    app.last_email(EMAIL, "deletion_canceled").await;

    // Asked again, and this time the 7 days run out.
    let asked = T0 + 3 * DAY_MS + HOUR_MS;
    app.clock.set(asked);
    assert_eq!(
        b.submit("/settings/delete", &[("password", PASSWORD)])
            .await
            .0,
        303
    );
    let counts = run(&app, Job::AccountErasure, asked + 7 * DAY_MS - 1).await;
    assert_eq!(counts["erased"], 0, "one millisecond early: {counts}");
    assert!(user_row(&app, EMAIL).await.is_some());
    let events_before = app.count("SELECT COUNT(*) FROM events").await;

    let counts = run(&app, Job::AccountErasure, asked + 7 * DAY_MS + 1000).await;
    assert_eq!(counts["erased"], 1, "{counts}");
    assert_eq!(
        counts["final_emails"], 1,
        "the last email went out first: {counts}"
    );
    let after = dump_everything(&app).await;
    for needle in [id.as_str(), EMAIL, NAME, IP, visitor.as_str()] {
        let hits: Vec<&str> = after.lines().filter(|l| l.contains(needle)).collect();
        assert!(
            hits.is_empty(),
            "{needle} is still in:\n{}",
            hits.join("\n")
        );
    }
    // Analytics keep their counts, with no link to the person.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events").await,
        events_before
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM events WHERE user_id IS NOT NULL OR anonymous_id IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM feedback WHERE rating = 4 AND message = ''")
            .await,
        1,
        "the rating stays, the text goes"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deletion_ledger WHERE subject = 'user'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM coaching_sessions").await, 0);

    // Gone means gone: the password no longer signs in, and a second run finds nobody.
    let (status, page, _) = login(&b, EMAIL, PASSWORD).await;
    assert_eq!(status, 422, "{page}");
    let counts = run(&app, Job::AccountErasure, asked + 30 * DAY_MS).await;
    assert_eq!(counts["erased"], 0);
    app.stop().await;
}
dual_test!(a_deleted_account_can_be_kept_for_7_days_and_then_nothing_of_it_is_left);

async fn deletion_through_the_api_and_no_api_access_while_it_waits(app: TestApp) {
    let api = app.plain();
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let login_api = || async {
        api.request(Method::POST, "/api/v1/auth/login")
            .json(&serde_json::json!({"email": "ada@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
    };
    let body: Value = login_api().await.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    let r = api
        .request(Method::POST, "/api/v1/tokens")
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "script", "scopes": ["read", "write"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let personal = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api
        .request(Method::POST, "/api/v1/me/deletion")
        .bearer_auth(&personal)
        .json(&serde_json::json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "a personal API token cannot delete the account"
    );
    let delete = |body: Value| {
        api.request(Method::POST, "/api/v1/me/deletion")
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = delete(serde_json::json!({"password": "wrong"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = delete(serde_json::json!({"password": PASSWORD, "reason": "x".repeat(1001)}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        user_row(&app, "ada@example.com")
            .await
            .unwrap()
            .deletion_requested_at
            .is_none()
    );
    let r = delete(serde_json::json!({"password": PASSWORD, "reason": "Too busy"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["eraseAt"], T0 + 7 * DAY_MS);
    let r = api
        .request(Method::GET, "/api/v1/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the token that asked stops working too");
    assert_ne!(
        b.get("/settings").await.status(),
        200,
        "and the browser is signed out"
    );

    // Staff switching the account off during the grace period outranks keeping it.
    sqlx::query("UPDATE users SET disabled_at = disabled_at + 1 WHERE email = 'ada@example.com'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, page, _) = login(&b, "ada@example.com", PASSWORD).await;
    assert_eq!(
        status, 422,
        "no keep page for an account staff disabled: {page}"
    );
    sqlx::query(
        "UPDATE users SET disabled_at = deletion_requested_at WHERE email = 'ada@example.com'",
    )
    .execute(app.store.pool())
    .await
    .unwrap();

    let r = login_api().await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "deletion_pending", "{body}");
    // After the grace period the keep page is no longer offered.
    app.clock.set(T0 + 7 * DAY_MS);
    let (status, page, _) = login(&b, "ada@example.com", PASSWORD).await;
    assert_eq!(status, 422, "{page}");
    app.stop().await;
}
dual_test!(deletion_through_the_api_and_no_api_access_while_it_waits);

async fn a_member_exports_everything_without_secrets(app: TestApp) {
    let (b, id) = member_with_history(&app).await;
    // One of the actions is archived: hidden from the lists, still theirs to export.
    sqlx::query(
        "UPDATE action_items SET completed = 1, completed_at = $1, archived_at = $1 \
                 WHERE id = (SELECT MIN(id) FROM action_items)",
    )
    .bind(T0)
    .execute(app.store.pool())
    .await
    .unwrap();
    let r = b.get("/settings/export").await;
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"coachflux-export-2026-01-15.json\""
    );
    let text = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["exportedAt"], T0, "milliseconds, like every time in it");
    assert_eq!(doc["user"]["id"], id.as_str());
    assert_eq!(doc["user"]["email"], EMAIL);
    assert_eq!(doc["user"]["name"], NAME);
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1);
    assert!(
        doc["sessions"][0]["reflections"].as_array().unwrap().len() >= 4,
        "sessions with their reflections"
    );
    assert_eq!(
        doc["sessions"][0]["reflections"][0]["sessionId"],
        doc["sessions"][0]["id"]
    );
    assert!(doc.get("reflections").is_none());
    assert_eq!(doc["actions"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["archivedAt"] == T0)
            .count(),
        1,
        "archived ones too"
    );
    assert_eq!(doc["subscriptions"][0]["stripeSubscriptionId"], "sub_1");
    assert_eq!(doc["invoices"][0]["amount"], 900);
    assert_eq!(doc["organizations"][0]["orgId"], "org-1");
    assert!(
        doc["supportTickets"][0]["description"]
            .as_str()
            .unwrap()
            .contains(EMAIL)
    );
    assert_eq!(doc["notifications"][0]["title"], "Welcome");
    assert_eq!(
        doc["connectedAccounts"][0]["issuer"],
        "https://accounts.google.com"
    );
    assert_eq!(doc["recoveryCodes"].as_array().unwrap().len(), 1);
    assert!(!text.contains("c0ffee"), "recovery code hashes stay out");
    assert!(
        doc["feedback"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Zelda found it useful"),
        "{}",
        doc["feedback"]
    );
    assert!(!doc["events"].as_array().unwrap().is_empty());
    assert!(!doc["auditLog"].as_array().unwrap().is_empty());
    assert_eq!(doc["apiTokens"][0]["name"], "Zelda's laptop");
    assert!(
        doc["emails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["template"] == "verify_email")
    );

    // No secrets: hashes of passwords, tokens and codes, one-time links.
    let secrets: Vec<String> = sqlx::query_scalar(
        "SELECT password_hash FROM users UNION ALL SELECT token_hash FROM api_tokens \
         UNION ALL SELECT token FROM sessions UNION ALL SELECT token FROM email_verifications",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert!(secrets.len() >= 4);
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "the export holds a secret");
    }
    assert!(!text.contains("argon2") && !text.contains("/verify-email?token="));

    // Every table that refers to a person is in it.
    let schema = app.store.describe_schema().await.unwrap();
    let exported: Vec<&str> = privacy::EXPORT.iter().map(|p| p.table).collect();
    for (table, t) in &schema {
        if t.columns.iter().any(|c| c.name == "user_id") {
            assert!(
                exported.contains(&table.as_str()),
                "{table} refers to users but is not exported"
            );
        }
    }

    // The same document from the API, with a session token.
    let api = app.plain();
    let r = api
        .request(Method::POST, "/api/v1/auth/login")
        .json(&serde_json::json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let bearer = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api
        .request(Method::GET, "/api/v1/me/export")
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let from_api: Value = r.json().await.unwrap();
    assert_eq!(from_api["user"]["id"], id.as_str());
    assert_eq!(from_api["actions"], doc["actions"]);
    assert_eq!(
        api.request(Method::GET, "/api/v1/me/export")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}
dual_test!(a_member_exports_everything_without_secrets);

async fn free_history(engine: Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_FREE_HISTORY", "3")]).await else {
        return;
    };
    let b = app.new_browser();
    let id = signup(&app, &b, "ada@example.com").await;
    let pro = app.new_browser();
    signup(&app, &pro, "bob@example.com").await;
    sqlx::query("UPDATE users SET subscription_status = 'active' WHERE email = 'bob@example.com'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let trial = app.new_browser();
    signup(&app, &trial, "carol@example.com").await;
    sqlx::query("UPDATE users SET subscription_status = 'trial' WHERE email = 'carol@example.com'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let mut paths = Vec::new();
    for i in 0..5 {
        app.clock.set(T0 + i * HOUR_MS);
        paths.push(start(&b, "GROW").await);
        start(&pro, "GROW").await;
        start(&trial, "GROW").await;
    }
    let (_, page, _) = b.page("/dashboard").await;
    assert!(
        page.contains("The free plan keeps your 3 most recent sessions"),
        "{page}"
    );
    assert!(page.contains("GROW from 2026-01-15"), "{page}");
    let (_, page, _) = pro.page("/dashboard").await;
    assert!(
        !page.contains("free plan keeps"),
        "pro members are unlimited"
    );
    let (_, page, _) = trial.page("/dashboard").await;
    assert!(!page.contains("free plan keeps"), "and so is a trial");

    let counts = run(&app, Job::FreeHistory, T0 + DAY_MS).await;
    assert_eq!(counts["deleted"], 2, "{counts}");
    let kept: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM coaching_sessions WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(&id)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let newest: Vec<String> = paths[2..]
        .iter()
        .map(|p| p.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(kept, newest, "the three newest stay");
    assert_eq!(app.count("SELECT COUNT(*) FROM coaching_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'bob@example.com'").await, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM coaching_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'carol@example.com'").await, 5);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM deletion_ledger WHERE subject = 'coaching_session'")
            .await,
        2
    );
    let (_, page, _) = b.page("/dashboard").await;
    assert!(
        page.contains("when you start another, your oldest session"),
        "{page}"
    );
    assert_eq!(
        run(&app, Job::FreeHistory, T0 + 2 * DAY_MS).await["deleted"],
        0
    );
    app.stop().await;
}
crate::on_both_engines!(free_history);

async fn without_billing_every_account_keeps_its_whole_history(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    for _ in 0..4 {
        start(&b, "GROW").await;
    }
    let (_, page, _) = b.page("/dashboard").await;
    assert!(!page.contains("free plan keeps"));
    assert_eq!(run(&app, Job::FreeHistory, T0 + DAY_MS).await["deleted"], 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM coaching_sessions").await, 4);
    app.stop().await;
}
dual_test!(without_billing_every_account_keeps_its_whole_history);

/// A backup taken while the server runs restores every row, except what was deleted since:
/// the ledger erases the account and the session again. Corrupt files are refused first.
async fn backup_and_restore(engine: Engine) {
    let Some(app) = spawn_with(engine, &[]).await else {
        return;
    };
    let ada = app.new_browser();
    signup(&app, &ada, "ada@example.com").await;
    let first = start(&ada, "GROW").await;
    let second = start(&ada, "GROW").await;
    let (gone, _) = member_with_history(&app).await;

    let dir = tempfile::tempdir().unwrap();
    let made = coachflux::backup::create(&app.server_store, &app.state.config, dir.path(), T0)
        .await
        .expect("the backup is taken while the server runs");
    assert!(made.file.exists() && made.manifest.exists());
    let manifest: Value = serde_json::from_slice(&std::fs::read(&made.manifest).unwrap()).unwrap();
    assert_eq!(manifest["sha256"], made.sha256.as_str());
    assert_eq!(manifest["engine"], engine_name(engine));
    coachflux::backup::verify(&made.file).expect("it verifies");

    // After the backup: Ada deletes a session, the other account asks to be deleted and is erased.
    assert_eq!(ada.submit(&format!("{first}/delete"), &[]).await.0, 303);
    assert_eq!(
        gone.submit("/settings/delete", &[("password", PASSWORD)])
            .await
            .0,
        303
    );
    assert_eq!(
        run(&app, Job::AccountErasure, T0 + 8 * DAY_MS).await["erased"],
        1
    );

    // A truncated copy is refused before anything is touched.
    let truncated = dir.path().join("copy").join(made.file.file_name().unwrap());
    std::fs::create_dir_all(truncated.parent().unwrap()).unwrap();
    let bytes = std::fs::read(&made.file).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(
        &made.manifest,
        truncated
            .parent()
            .unwrap()
            .join(made.manifest.file_name().unwrap()),
    )
    .unwrap();
    let config = app.state.config.clone();
    let err = coachflux::backup::restore(&config, &truncated, false, T0 + 9 * DAY_MS)
        .await
        .unwrap_err();
    assert!(
        err.contains("corrupt or truncated") && err.contains("Nothing was changed"),
        "{err}"
    );

    // A file whose checksum matches but which holds no database: refused by the integrity
    // check (SQLite) or the archive listing (PostgreSQL), the live database untouched.
    let forged = dir.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    let garbage = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&b"this is not a database, only words. ".repeat(200))
            .unwrap();
        gz.finish().unwrap()
    };
    let forged_file = forged.join(made.file.file_name().unwrap());
    std::fs::write(&forged_file, &garbage).unwrap();
    let mut forged_manifest = manifest.clone();
    forged_manifest["sha256"] = Value::String(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        &garbage,
    )));
    forged_manifest["bytes"] = Value::from(garbage.len());
    std::fs::write(
        forged.join(made.manifest.file_name().unwrap()),
        serde_json::to_vec(&forged_manifest).unwrap(),
    )
    .unwrap();
    coachflux::backup::verify(&forged_file).expect("its checksum matches");
    let err = coachflux::backup::restore(&config, &forged_file, true, T0 + 9 * DAY_MS)
        .await
        .unwrap_err();
    assert!(err.contains("Nothing was changed"), "{err}");
    assert!(
        err.contains("not a database")
            || err.contains("integrity")
            || err.contains("not a readable pg_dump archive"),
        "{err}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        1,
        "the live database is untouched"
    );

    let err = coachflux::backup::restore(&config, &made.file, false, T0 + 9 * DAY_MS)
        .await
        .unwrap_err();
    assert!(
        err.contains("stop them first") || err.contains("stop it first"),
        "a running server's database is not replaced: {err}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        1,
        "and nothing changed"
    );

    if engine == Engine::Postgres {
        // Without pg_dump on PATH, a backup says exactly what to install.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_coachflux"))
            .env_clear()
            .env("PATH", "/nonexistent")
            .env("COACHFLUX_DATA_DIR", app.data_dir.as_os_str())
            .env("COACHFLUX_DATABASE_URL", &app.database_url)
            .env("COACHFLUX_SECRET_KEY", crate::harness::SECRET_KEY)
            .args(["backup", "--to"])
            .arg(dir.path().join("no-tools"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("pg_dump was not found on PATH")
                && stderr.contains("postgresql-client"),
            "{stderr}"
        );
    }

    // The daily job writes into <data dir>/backups and keeps 30 days.
    let counts = run(&app, Job::Backup, T0).await;
    assert!(counts["bytes"].as_u64().unwrap() > 0, "{counts}");
    let counts = run(&app, Job::Backup, T0 + 30 * DAY_MS).await;
    assert_eq!(counts["pruned"], 0, "exactly 30 days old is kept: {counts}");
    let counts = run(&app, Job::Backup, T0 + 30 * DAY_MS + 1).await;
    assert_eq!(counts["pruned"], 1, "{counts}");
    let kept = std::fs::read_dir(app.data_dir.join("backups"))
        .unwrap()
        .count();
    assert_eq!(
        kept, 2,
        "one backup (taken twice in the same second) and its manifest"
    );
    let url = app.database_url.clone();
    if engine == Engine::Sqlite {
        // --force replaces the database under a running server (which must then restart).
        let restored = coachflux::backup::restore(&config, &made.file, true, T0 + 9 * DAY_MS)
            .await
            .expect("--force restores while the server runs");
        assert_eq!(
            (restored.erased_accounts, restored.deleted_sessions),
            (1, 1)
        );
        let fresh = coachflux_store::Store::connect(&coachflux_store::ConnectOptions::new(&url))
            .await
            .unwrap();
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(fresh.pool())
            .await
            .unwrap();
        assert_eq!(users, 1, "the erased account stays erased");
        fresh.close().await;
    }
    let _files = app.stop_keeping_files().await;

    let restored = coachflux::backup::restore(&config, &made.file, false, T0 + 9 * DAY_MS)
        .await
        .expect("the restore succeeds once the server is stopped");
    assert_eq!(
        (restored.erased_accounts, restored.deleted_sessions),
        (1, 1)
    );

    assert_eq!(
        emails_in(&url).await,
        ["ada@example.com"],
        "the erased account did not come back"
    );
    let store = coachflux_store::Store::connect(&coachflux_store::ConnectOptions::new(&url))
        .await
        .unwrap();
    let sessions: Vec<String> = sqlx::query_scalar("SELECT id FROM coaching_sessions")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(
        sessions,
        [second.rsplit('/').next().unwrap()],
        "nor did the deleted session"
    );
    let ledger: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deletion_ledger")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(ledger, 2, "the ledger itself survives the restore");
    store.close().await;

    // The backup can also go into a new, empty database (the way back from an upgrade, for a
    // backup older than the live schema), with no --force; --ledger-from brings the deletions
    // recorded in the database it replaces.
    let new_dir = tempfile::tempdir().unwrap();
    let new_url = crate::harness::fresh_database(engine, new_dir.path())
        .await
        .unwrap();
    let mut elsewhere = (*config).clone();
    elsewhere.database_url = coachflux::config::UrlWithPassword::new(new_url.clone());
    elsewhere.data_dir = new_dir.path().to_path_buf();
    let restored = coachflux::backup::restore_with_ledger(
        &elsewhere,
        &made.file,
        false,
        Some(&url),
        T0 + 9 * DAY_MS,
    )
    .await
    .expect("restores into an empty database");
    assert_eq!(
        (restored.erased_accounts, restored.deleted_sessions),
        (1, 1)
    );
    assert_eq!(
        emails_in(&new_url).await,
        ["ada@example.com"],
        "no erased account in the new one either"
    );
}
crate::on_both_engines!(backup_and_restore);

/// The accounts' addresses in the database at `url`, in order.
async fn emails_in(url: &str) -> Vec<String> {
    let store = coachflux_store::Store::connect(&coachflux_store::ConnectOptions::new(url))
        .await
        .unwrap();
    let emails = sqlx::query_scalar("SELECT email FROM users ORDER BY email")
        .fetch_all(store.pool())
        .await
        .unwrap();
    store.close().await;
    emails
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

async fn accounts_without_a_password_confirm_deletion_with_their_second_factor_or_address(
    app: TestApp,
) {
    use coachflux_domain::Clock;
    use coachflux_domain::totp;
    // Accounts made through an OpenID Connect provider have no password.
    let with_2fa = app.new_browser();
    let id = signup(&app, &with_2fa, "sso-2fa@example.com").await;
    let (secret, _) = crate::identity::enable_two_factor(&app, &with_2fa).await;
    let plain = app.new_browser();
    signup(&app, &plain, "sso@example.com").await;
    sqlx::query("UPDATE users SET password_hash = NULL")
        .execute(app.store.pool())
        .await
        .unwrap();

    let (_, page, _) = with_2fa.page("/settings").await;
    assert!(
        page.contains("Authenticator code") && !page.contains("id=\"delete-password\""),
        "{page}"
    );
    let (status, _, _) = with_2fa
        .submit("/settings/delete", &[("code", "000000")])
        .await;
    assert_eq!(status, 422, "a wrong code is refused");
    assert!(
        user_row(&app, "sso-2fa@example.com")
            .await
            .unwrap()
            .deletion_requested_at
            .is_none()
    );
    // The code of the next time step (the current one was spent turning 2FA on).
    app.clock.advance_ms(30_000);
    let code = totp::code_for_step(&secret, totp::step_at(app.clock.now_ms()), 6);
    let (status, _, _) = with_2fa
        .submit("/settings/delete", &[("code", &code)])
        .await;
    assert_eq!(status, 303);
    let u = user_row(&app, "sso-2fa@example.com").await.unwrap();
    assert_eq!(u.id, id);
    assert_eq!(u.deletion_requested_at, Some(app.clock.now_ms()));

    // Neither a password nor a second factor: the typed address confirms.
    let (_, page, _) = plain.page("/settings").await;
    assert!(page.contains("Type your email address"), "{page}");
    let (status, page, _) = plain
        .submit("/settings/delete", &[("confirm_email", "someone@else.com")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("exactly as it appears"), "{page}");
    assert!(
        user_row(&app, "sso@example.com")
            .await
            .unwrap()
            .deletion_requested_at
            .is_none()
    );
    assert_eq!(
        plain
            .submit("/settings/delete", &[("confirm_email", "SSO@example.com")])
            .await
            .0,
        303
    );
    assert!(
        user_row(&app, "sso@example.com")
            .await
            .unwrap()
            .deletion_requested_at
            .is_some()
    );
    app.stop().await;
}
dual_test!(accounts_without_a_password_confirm_deletion_with_their_second_factor_or_address);
