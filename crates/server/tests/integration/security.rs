//! The security hardening's regression tests: each reproduces an attack or a gap found in a
//! review (OWASP ASVS 5.0 level 2) and fails without its fix. Database tests run on both
//! engines.

use crate::api::member;
use crate::dual_test;
use crate::harness::{Client, TestApp, UNSET, extract, spawn_with};
use crate::identity::{
    PASSWORD, enable_two_factor, login, signup, submit_signup, verification_token,
};
use coachflux_domain::Clock;
use coachflux_domain::clock::{DAY_MS, MINUTE_MS};
use coachflux_domain::totp::{self, TotpSecret};
use reqwest::Method;
use serde_json::{Value, json};

async fn signed_in(b: &Client) -> bool {
    b.get("/settings").await.status() == 200
}

/// Creates a personal API token in settings (the session is fresh) and returns it.
async fn token_from_settings(b: &Client) -> String {
    let (status, page, _) = b
        .submit(
            "/settings/tokens",
            &[
                ("name", "script"),
                ("write", "on"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    extract(
        &page,
        "<code id=\"new-token\" class=\"token-value\">",
        "</code>",
    )
    .expect("the new token is shown")
}

/// Creates the private calendar link and returns its path.
async fn calendar_path(b: &Client) -> String {
    let (status, page, _) = b.submit("/actions/calendar", &[]).await;
    assert_eq!(status, 200);
    let url = extract(
        &page,
        "<code class=\"secret\" id=\"calendar-url\">",
        "</code>",
    )
    .unwrap();
    url.strip_prefix("https://coach.example.test")
        .unwrap()
        .to_owned()
}

async fn status_of(app: &TestApp, path: &str) -> u16 {
    app.plain().get(path).await.status().as_u16()
}

async fn bearer_status(app: &TestApp, token: &str) -> u16 {
    app.api().with_token(token).get_json("/me").await.0
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

fn code_now(app: &TestApp, secret: &TotpSecret) -> String {
    totp::code_for_step(secret, totp::step_at(app.clock.now_ms()), 6)
}

// ---------------------------------------------------------------------------------------------
// High: every credential ends when the password changes.

async fn a_password_reset_ends_every_credential(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let token = token_from_settings(&b).await;
    let feed = calendar_path(&b).await;
    let laptop = app.new_browser();
    assert_eq!(login(&laptop, "ada@example.com", PASSWORD).await.0, 303);
    // A sign-in link and an email change, both still waiting.
    let asker = app.new_browser();
    asker
        .submit("/login/magic", &[("email", "ada@example.com")])
        .await;
    let magic = app.link_in(&app.last_email("ada@example.com", "magic_link").await);
    let magic = magic
        .trim_start_matches("/login/magic/confirm?token=")
        .to_owned();
    b.submit(
        "/settings/email",
        &[("new_email", "ada.new@example.com"), ("password", PASSWORD)],
    )
    .await;
    let change = app.link_in(&app.last_email("ada.new@example.com", "email_change").await);
    let change = change.trim_start_matches("/verify-email?token=").to_owned();
    assert_eq!(bearer_status(&app, &token).await, 200);
    assert_eq!(status_of(&app, &feed).await, 200);

    let stranger = app.new_browser();
    stranger
        .submit("/forgot-password", &[("email", "ada@example.com")])
        .await;
    let reset = app.link_in(&app.last_email("ada@example.com", "password_reset").await);
    let reset = reset.trim_start_matches("/reset-password?token=");
    let (status, _, _) = stranger
        .submit(
            "/reset-password",
            &[("token", reset), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(status, 303);

    assert_eq!(
        bearer_status(&app, &token).await,
        401,
        "API tokens are revoked"
    );
    assert_eq!(
        status_of(&app, &feed).await,
        404,
        "the calendar feed is revoked"
    );
    assert!(
        !signed_in(&b).await && !signed_in(&laptop).await,
        "every device is signed out"
    );
    let (_, _, location) = asker
        .submit("/login/magic/confirm", &[("token", &magic)])
        .await;
    assert_eq!(
        location.as_deref(),
        Some("/login/magic"),
        "the sign-in link is dead"
    );
    assert!(!signed_in(&asker).await);
    let (_, _, _) = app
        .new_browser()
        .submit("/verify-email", &[("token", &change)])
        .await;
    let email: String = sqlx::query_scalar("SELECT email FROM users")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(email, "ada@example.com", "the pending email change is dead");
    let details: String =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'password_reset'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["api_tokens_revoked"], 1, "{details}");
    assert_eq!(details["sign_in_links_ended"], 1, "{details}");
    assert_eq!(details["email_changes_ended"], 1, "{details}");
    assert_eq!(details["calendar_feed_revoked"], true, "{details}");
    app.stop().await;
}
dual_test!(a_password_reset_ends_every_credential);

async fn changing_the_password_ends_every_other_credential(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let token = token_from_settings(&b).await;
    let feed = calendar_path(&b).await;
    let laptop = app.new_browser();
    login(&laptop, "ada@example.com", PASSWORD).await;
    let (status, _, _) = b
        .submit(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(signed_in(&b).await, "this device stays signed in");
    assert!(!signed_in(&laptop).await);
    assert_eq!(bearer_status(&app, &token).await, 401);
    assert_eq!(status_of(&app, &feed).await, 404);
    app.stop().await;
}
dual_test!(changing_the_password_ends_every_other_credential);

async fn someone_who_signed_up_with_your_address_loses_everything_when_you_reset(app: TestApp) {
    // The attacker signs up with the victim's address (never confirmed), signs in with their
    // own password, and turns on two-factor with their own phone.
    let attacker = app.new_browser();
    submit_signup(&attacker, "victim@example.com").await;
    assert_eq!(
        login(&attacker, "victim@example.com", PASSWORD).await.0,
        303
    );
    enable_two_factor(&app, &attacker).await;
    // An unconfirmed account can't mint API tokens.
    let (status, page, _) = attacker
        .submit(
            "/settings/tokens",
            &[("name", "backdoor"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Confirm your email address first"), "{page}");
    let api = app.api();
    let (_, challenge) = api
        .post_json(
            "/auth/login",
            json!({"email": "victim@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(challenge["twoFactorRequired"], true);
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens").await, 0);

    // The owner of the inbox resets the password.
    let victim = app.new_browser();
    victim
        .submit("/forgot-password", &[("email", "victim@example.com")])
        .await;
    let reset = app.link_in(&app.last_email("victim@example.com", "password_reset").await);
    let reset = reset.trim_start_matches("/reset-password?token=");
    victim
        .submit(
            "/reset-password",
            &[
                ("token", reset),
                ("password", "the real owner's passphrase"),
            ],
        )
        .await;
    assert!(!signed_in(&attacker).await, "the attacker's session ended");
    // Their second factor went with it: the owner signs in with the password alone.
    let (status, _, location) =
        login(&victim, "victim@example.com", "the real owner's passphrase").await;
    assert_eq!((status, location.as_deref()), (303, Some("/dashboard")));
    assert!(signed_in(&victim).await);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email_verified = 1 AND totp_enabled = 0")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM totp_recovery_codes").await,
        0
    );
    app.stop().await;
}
dual_test!(someone_who_signed_up_with_your_address_loses_everything_when_you_reset);

async fn api_tokens_need_a_session_a_confirmed_address_and_a_recent_sign_in(app: TestApp) {
    let ada = member(&app, "ada@example.com").await;
    let (status, created) = ada
        .post_json(
            "/tokens",
            json!({"name": "one", "scopes": ["read", "write"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    // The lifetime is capped (90 days by default), and the default.
    assert_eq!(
        created["expiresAt"].as_i64(),
        Some(app.clock.now_ms() + 90 * DAY_MS)
    );
    let (status, body) = ada
        .post_json("/tokens", json!({"name": "long", "expiresInDays": 91}))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("expiresInDays")),
        "{body}"
    );
    // A token can't mint tokens, whatever its scopes.
    let one = app.api().with_token(created["token"].as_str().unwrap());
    let (status, body) = one
        .post_json(
            "/tokens",
            json!({"name": "two", "password": crate::api::PASSWORD}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // Ten minutes after signing in, the session must confirm it's you first.
    app.clock.advance_ms(11 * MINUTE_MS);
    let (status, body) = ada.post_json("/tokens", json!({"name": "later"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("reauthentication_required")),
        "{body}"
    );
    let (status, body) = ada
        .post_json(
            "/tokens",
            json!({"name": "later", "password": "not it at all"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = ada
        .post_json(
            "/tokens",
            json!({"name": "later", "password": crate::api::PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(audit_count(&app, "reauth_failure").await, 1);
    assert_eq!(audit_count(&app, "reauthenticated").await, 1);
    // No request ever stores the password, not even hashed, for an Idempotency-Key.
    let r = ada
        .request(Method::POST, "/tokens")
        .header("Idempotency-Key", "k1")
        .json(&json!({"name": "keyed", "password": crate::api::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let hashes: Vec<String> = sqlx::query_scalar("SELECT request_hash FROM idempotency_keys")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let without_password = r#"POST /tokens {"name":"keyed","scopes":[],"expiresInDays":null}"#;
    assert_eq!(hashes, [coachflux::crypto::hash_token(without_password)]);

    // A token lives no longer than its cap, even one stored without an expiry.
    let old = "cfp_an-old-token-from-before-the-cap-0000000000";
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, expires_at, created_at) \
                 SELECT 'old', id, 'old', $1, 'read', NULL, $2 FROM users",
    )
    .bind(coachflux::crypto::hash_token(old))
    .bind(app.clock.now_ms() - 91 * DAY_MS)
    .execute(app.store.pool())
    .await
    .unwrap();
    assert_eq!(bearer_status(&app, old).await, 401);
    assert_eq!(
        bearer_status(&app, created["token"].as_str().unwrap()).await,
        200
    );
    app.clock.advance_ms(90 * DAY_MS);
    assert_eq!(
        bearer_status(&app, created["token"].as_str().unwrap()).await,
        401,
        "expired"
    );
    app.stop().await;
}
dual_test!(api_tokens_need_a_session_a_confirmed_address_and_a_recent_sign_in);

async fn sensitive_settings_ask_to_confirm_it_is_you_after_ten_minutes(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    app.clock.advance_ms(11 * MINUTE_MS);
    for (path, next) in [("/settings/2fa", "%2Fsettings%2F2fa")] {
        let (status, _, location) = b.page(path).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some(format!("/settings/confirm?next={next}").as_str()))
        );
    }
    let (status, _, location) = b
        .submit(
            "/settings/tokens",
            &[("name", "late"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/settings/confirm?next=%2Fsettings%23tokens"))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens").await, 0);
    let (status, page, _) = b.page("/settings/confirm?next=%2Fsettings%2F2fa").await;
    assert_eq!(status, 200);
    assert!(page.contains("Confirm it's you"), "{page}");
    let (status, page, _) = b
        .submit(
            "/settings/confirm",
            &[("password", "wrong"), ("next", "/settings/2fa")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("That isn't your current password."));
    let (status, _, location) = b
        .submit(
            "/settings/confirm",
            &[("password", PASSWORD), ("next", "/settings/2fa")],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/settings/2fa")));
    assert_eq!(b.page("/settings/2fa").await.0, 200);
    token_from_settings(&b).await;
    app.stop().await;
}
dual_test!(sensitive_settings_ask_to_confirm_it_is_you_after_ten_minutes);

// ---------------------------------------------------------------------------------------------
// Medium.

async fn next_never_leaves_the_site(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "//evil.example",
        "/%5cevil.example",
        "https:evil.example",
        "/.//evil.example",
    ] {
        let (status, _, location) = b.page(&format!("/login?next={next}")).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/dashboard")),
            "{next}"
        );
    }
    let (_, _, location) = b.page("/login?next=/sessions%3Ftab%3Dplan").await;
    assert_eq!(location.as_deref(), Some("/sessions?tab=plan"));
    app.stop().await;
}
dual_test!(next_never_leaves_the_site);

async fn mail_is_sealed_at_rest_and_staff_never_see_a_link(app: TestApp) {
    submit_signup(&app.browser, "ada@example.com").await;
    let token = verification_token(&app, "ada@example.com").await;
    let stored = app.sealed_emails_to("ada@example.com").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].body_text.starts_with("v2.") && stored[0].body_html.starts_with("v2."));
    assert!(
        stored[0].body_redacted.contains("[link withheld"),
        "{}",
        stored[0].body_redacted
    );
    let columns: Vec<(String, String, String)> =
        sqlx::query_as("SELECT body_text, body_html, body_redacted FROM email_outbox")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    for (text, html, redacted) in columns {
        for column in [text, html, redacted] {
            assert!(
                !column.contains(&token) && !column.contains("token="),
                "{column}"
            );
        }
    }
    // The recipient's copy, opened with the server key, has it.
    let opened = app.last_email("ada@example.com", "verify_email").await;
    assert!(opened.body_text.contains(&token));
    app.stop().await;
}
dual_test!(mail_is_sealed_at_rest_and_staff_never_see_a_link);

#[tokio::test]
async fn the_data_directory_and_database_are_private() {
    let _shared = crate::harness::shared().await;
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let Some(app) = crate::harness::spawn(crate::harness::Engine::Sqlite).await else {
        return;
    };
    signup(&app, &app.browser, "ada@example.com").await;
    assert_eq!(mode(&app.data_dir), 0o700);
    let db = coachflux_store::sqlite_file(&app.database_url).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert!(path.exists(), "{}", path.display());
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    app.stop().await;

    // A data directory other users can read is refused, with the fix in the message.
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("data");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let url = format!("sqlite://{}?mode=rwc", open.join("coachflux.db").display());
    let config = crate::harness::test_config_with(&url, &open, &[]);
    let clock: coachflux_domain::SharedClock =
        std::sync::Arc::new(coachflux_domain::FixedClock::new(crate::harness::T0));
    let err = coachflux::Server::build(config, clock)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("chmod 700"), "{err}");
    assert!(!open.join("coachflux.db").exists(), "nothing was created");
}

async fn password_hashing_is_bounded_and_a_full_queue_answers_503(engine: crate::harness::Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_HASH_CONCURRENCY", "1")]).await else {
        return;
    };
    signup(&app, &app.browser, "ada@example.com").await;
    let held = app.state.hashing.reserve().await;
    let r = app
        .api()
        .send(
            reqwest::Method::POST,
            "/auth/login",
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "busy");
    let r = app
        .new_browser()
        .post(
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("nothing was changed"));
    drop(held);
    let (status, _) = app
        .api()
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200);
    app.stop().await;
}
crate::on_both_engines!(password_hashing_is_bounded_and_a_full_queue_answers_503);

async fn one_address_trying_many_accounts_is_stopped_before_hashing(app: TestApp) {
    let api = app.api();
    let mut statuses = Vec::new();
    for i in 0..22 {
        statuses.push(
            api.post_json(
                "/auth/login",
                json!({"email": format!("user{i}@example.com"), "password": "guess 123456"}),
            )
            .await
            .0,
        );
    }
    assert_eq!(&statuses[..20], &[422; 20]);
    assert_eq!(&statuses[20..], &[429, 429], "{statuses:?}");
    assert_eq!(
        audit_count(&app, "login_failure").await,
        20,
        "the refused ones were never checked"
    );
    app.stop().await;
}
dual_test!(one_address_trying_many_accounts_is_stopped_before_hashing);

async fn many_addresses_trying_one_account_pause_password_sign_in_but_not_email_links(
    app: TestApp,
) {
    signup(&app, &app.new_browser(), "ada@example.com").await;
    for i in 0..10 {
        let b = Client::builder(app.addr)
            .source_ip(&format!("127.0.0.{}", 10 + i))
            .build();
        assert_eq!(login(&b, "ada@example.com", "a wrong guess 1").await.0, 422);
    }
    let owner = Client::builder(app.addr).source_ip("127.0.0.99").build();
    let (status, page, _) = login(&owner, "ada@example.com", PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits");
    assert!(
        page.contains("You can still sign in with an email link"),
        "{page}"
    );
    let (status, body) = app
        .api()
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("account_locked"))
    );
    owner
        .submit("/login/magic", &[("email", "ada@example.com")])
        .await;
    let link = app.link_in(&app.last_email("ada@example.com", "magic_link").await);
    let token = link.trim_start_matches("/login/magic/confirm?token=");
    let (status, _, location) = owner
        .submit("/login/magic/confirm", &[("token", token)])
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/dashboard")));
    assert!(signed_in(&owner).await);
    app.stop().await;
}
dual_test!(many_addresses_trying_one_account_pause_password_sign_in_but_not_email_links);

async fn behind_a_trusted_proxy_limits_key_on_the_forwarded_client(engine: crate::harness::Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    let client = app.plain();
    let attempt = |from: String, i: usize| {
        let client = client.clone();
        async move {
            client
                .request(Method::POST, "/api/v1/auth/login")
                .header("X-Forwarded-For", format!("6.6.6.6, {from}"))
                .json(&json!({"email": format!("user{i}@example.com"), "password": "guess 123456"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Twenty-five people behind the proxy each get a wrong password: nobody is blocked.
    for i in 0..25 {
        assert_eq!(attempt(format!("198.51.100.{i}"), i).await, 422);
    }
    // One of them trying many accounts is, whatever they put at the left of the header.
    let mut last = 0;
    for i in 0..21 {
        last = attempt("203.0.113.7".into(), 100 + i).await;
    }
    assert_eq!(last, 429);
    app.stop().await;

    // Without a trusted proxy the header is the client's word: ignored.
    let Some(app) = spawn_with(engine, &[]).await else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..21 {
        let r = app
            .plain()
            .request(Method::POST, "/api/v1/auth/login")
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"email": format!("user{i}@example.com"), "password": "guess 123456"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses[20], 429, "{statuses:?}");
    app.stop().await;
}
crate::on_both_engines!(behind_a_trusted_proxy_limits_key_on_the_forwarded_client);

async fn re_authentication_is_throttled_and_audited(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    enable_two_factor(&app, &b).await;
    for _ in 0..5 {
        assert_eq!(
            b.submit("/settings/2fa/disable", &[("password", "not my password")])
                .await
                .0,
            422
        );
    }
    let r = b
        .post("/settings/2fa/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(
        r.status(),
        429,
        "the right password waits out the block too"
    );
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        b.submit("/settings/2fa/recovery-codes", &[("password", PASSWORD)])
            .await
            .0,
        429,
        "one limiter for every check"
    );
    let purposes: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'reauth_failure'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(purposes.len(), 5);
    assert!(
        purposes.iter().all(|d| d.contains("disable_2fa")),
        "{purposes:?}"
    );
    // Each attempt while blocked doubled the block (15, then 30 minutes).
    app.clock.advance_ms(16 * MINUTE_MS);
    assert_eq!(
        b.submit("/settings/2fa/disable", &[("password", PASSWORD)])
            .await
            .0,
        429
    );
    app.clock.advance_ms(61 * MINUTE_MS);
    assert_eq!(
        b.submit("/settings/2fa/disable", &[("password", PASSWORD)])
            .await
            .0,
        303
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE totp_enabled = 1")
            .await,
        0
    );
    app.stop().await;
}
dual_test!(re_authentication_is_throttled_and_audited);

// ---------------------------------------------------------------------------------------------
// Low.

async fn concurrent_wrong_passwords_are_counted_before_any_is_checked(app: TestApp) {
    signup(&app, &app.new_browser(), "ada@example.com").await;
    let api = app.api();
    let attempts = (0..30).map(|_| {
        let api = api.clone();
        async move {
            api.post_json(
                "/auth/login",
                json!({"email": "ada@example.com", "password": "a wrong guess 1"}),
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 25);
    assert_eq!(audit_count(&app, "login_failure").await, 5);
    app.stop().await;
}
dual_test!(concurrent_wrong_passwords_are_counted_before_any_is_checked);

async fn concurrent_wrong_codes_are_counted_before_any_is_checked(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let (secret, _) = enable_two_factor(&app, &b).await;
    let api = app.api();
    let (_, first) = api
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let challenge = first["challenge"].as_str().unwrap().to_owned();
    let right = code_now(&app, &secret);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let attempts = (0..25).map(|_| {
        let (api, challenge) = (api.clone(), challenge.clone());
        async move {
            api.post_json("/auth/2fa", json!({"challenge": challenge, "code": wrong}))
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(audit_count(&app, "2fa_failure").await, 5);
    app.stop().await;
}
dual_test!(concurrent_wrong_codes_are_counted_before_any_is_checked);

async fn a_second_factor_challenge_works_once(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let (secret, _) = enable_two_factor(&app, &b).await;
    let api = app.api();
    let (_, first) = api
        .post_json(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let challenge = first["challenge"].as_str().unwrap().to_owned();
    app.clock.advance_ms(31_000);
    let (status, signed) = api
        .post_json(
            "/auth/2fa",
            json!({"challenge": challenge, "code": code_now(&app, &secret)}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    app.clock.advance_ms(31_000);
    let (status, body) = api
        .post_json(
            "/auth/2fa",
            json!({"challenge": challenge, "code": code_now(&app, &secret)}),
        )
        .await;
    assert_eq!(status, 422, "a used challenge: {body}");
    assert!(
        body["detail"].as_str().unwrap().contains("start again"),
        "{body}"
    );
    app.stop().await;
}
dual_test!(a_second_factor_challenge_works_once);

async fn staff_pages_need_a_session_that_proved_the_second_factor(app: TestApp) {
    let b = app.new_browser();
    let uid = signup(&app, &b, "ada@example.com").await;
    let secret = crate::identity::make_staff(&app, &b, &uid).await;
    assert_eq!(b.page("/admin/jobs").await.0, 200);
    // The same staff member signing in with only the password elsewhere: not enough.
    let laptop = app.new_browser();
    sqlx::query("UPDATE users SET totp_enabled = 0 WHERE id = $1")
        .bind(&uid)
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(login(&laptop, "ada@example.com", PASSWORD).await.0, 303);
    sqlx::query("UPDATE users SET totp_enabled = 1 WHERE id = $1")
        .bind(&uid)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, _, location) = laptop.page("/admin/jobs").await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with("/settings/confirm"));
    crate::identity::prove_second_factor(&app, &laptop, &secret).await;
    assert_eq!(laptop.page("/admin/jobs").await.0, 200);
    app.stop().await;
}
dual_test!(staff_pages_need_a_session_that_proved_the_second_factor);

async fn visitors_are_limited_by_address_and_only_issued_ids_count(engine: crate::harness::Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_API_RATE_LIMIT", "5")]).await else {
        return;
    };
    let api = app.api();
    let (status, a) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    assert_eq!(status, 201, "{a}");
    let (_, b) = api
        .post_json("/sessions", json!({"framework": "GROW"}))
        .await;
    let as_visitor = |s: &Value| api.clone().with_visitor(s["anonymousId"].as_str().unwrap());
    let (va, vb) = (as_visitor(&a), as_visitor(&b));
    assert_eq!(va.get_json("/sessions").await.0, 200);
    assert_eq!(vb.get_json("/sessions").await.0, 200);
    assert_eq!(va.get_json("/sessions").await.0, 200);
    // Each id has used two of its five; the address has used six.
    assert_eq!(vb.get_json("/sessions").await.0, 429);
    app.stop().await;
}
crate::on_both_engines!(visitors_are_limited_by_address_and_only_issued_ids_count);

async fn an_idempotency_key_never_replays_one_visitor_to_another(app: TestApp) {
    let send = || async {
        app.plain()
            .request(Method::POST, "/api/v1/sessions")
            .header("Idempotency-Key", "same-key")
            .json(&json!({"framework": "GROW"}))
            .send()
            .await
            .unwrap()
    };
    let first = send().await;
    assert_eq!(first.status(), 201);
    let second = send().await;
    assert_eq!(second.status(), 201);
    assert!(!second.headers().contains_key("idempotent-replayed"));
    let (first, second): (Value, Value) =
        (first.json().await.unwrap(), second.json().await.unwrap());
    assert_ne!(
        first["anonymousId"], second["anonymousId"],
        "the second visitor can't read the first's session"
    );
    assert_ne!(first["id"], second["id"]);
    app.stop().await;
}
dual_test!(an_idempotency_key_never_replays_one_visitor_to_another);

async fn signing_up_through_the_api_answers_alike_for_taken_and_free_addresses(app: TestApp) {
    member(&app, "ada@example.com").await;
    let api = app.api();
    let taken = api.post_json("/auth/signup", json!({"email": "ada@example.com", "password": "another long passphrase", "acceptTerms": true})).await;
    let free = api.post_json("/auth/signup", json!({"email": "bea@example.com", "password": "another long passphrase", "acceptTerms": true})).await;
    assert_eq!(taken, free);
    assert_eq!(taken.0, 202);
    app.last_email("ada@example.com", "signup_existing").await;
    app.stop().await;
}
dual_test!(signing_up_through_the_api_answers_alike_for_taken_and_free_addresses);

async fn the_calendar_feed_stops_for_an_account_waiting_for_deletion(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let feed = calendar_path(&b).await;
    assert_eq!(status_of(&app, &feed).await, 200);
    assert_eq!(
        b.submit("/settings/delete", &[("password", PASSWORD)])
            .await
            .0,
        303
    );
    assert_eq!(status_of(&app, &feed).await, 404);
    app.stop().await;
}
dual_test!(the_calendar_feed_stops_for_an_account_waiting_for_deletion);

async fn control_and_invisible_characters_are_stripped_from_what_people_type(app: TestApp) {
    let ada = member(&app, "ada@example.com").await;
    assert_eq!(
        ada.post_json("/sessions", json!({"framework": "GROW"}))
            .await
            .0,
        201
    );
    let (status, item) = ada
        .post_json(
            "/actions",
            json!({"title": "Call\u{0} Sam\r\nat\u{202E} 9", "tags": ["wo\u{200B}rk"]}),
        )
        .await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["title"], "Call Sam at 9");
    assert_eq!(item["tags"], json!(["work"]));
    let (status, me) = ada
        .call(
            reqwest::Method::PATCH,
            "/me",
            Some(json!({"name": "\u{202E}Ada\u{2066} Lovelace\u{FEFF}"})),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["name"], "Ada Lovelace");
    let stored: String = sqlx::query_scalar("SELECT title FROM action_items")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, "Call Sam at 9");
    app.stop().await;
}
dual_test!(control_and_invisible_characters_are_stripped_from_what_people_type);

async fn metrics_need_the_operator_token(app: TestApp) {
    assert_eq!(status_of(&app, "/metrics").await, 401);
    let wrong = app
        .plain()
        .request(Method::GET, "/metrics")
        .bearer_auth("not-the-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(app.metrics().await.contains("http_requests_total"));
    app.stop().await;
}
dual_test!(metrics_need_the_operator_token);

async fn metrics_are_off_the_public_listener_unless_configured(engine: crate::harness::Engine) {
    let Some(app) = spawn_with(engine, &[("COACHFLUX_METRICS_TOKEN", UNSET)]).await else {
        return;
    };
    assert_eq!(
        status_of(&app, "/metrics").await,
        404,
        "no token, no public metrics"
    );
    app.stop().await;
    let Some(app) = spawn_with(
        engine,
        &[
            ("COACHFLUX_METRICS_TOKEN", UNSET),
            ("COACHFLUX_METRICS_BIND", "127.0.0.1:0"),
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(status_of(&app, "/metrics").await, 404);
    let own = app.metrics_addr.expect("a metrics listener");
    let text = reqwest::get(format!("http://{own}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("db_pool_connections"), "{text}");
    app.stop().await;
}
crate::on_both_engines!(metrics_are_off_the_public_listener_unless_configured);

async fn the_csrf_token_changes_when_someone_signs_in(app: TestApp) {
    signup(&app, &app.new_browser(), "ada@example.com").await;
    let b = app.new_browser();
    let before = b.csrf().await;
    assert_eq!(login(&b, "ada@example.com", PASSWORD).await.0, 303);
    let after = b.csrf().await;
    assert_ne!(before, after);
    let stale = b
        .request(Method::POST, "/settings/profile")
        .form(&[("name", "Mallory"), ("_csrf", before.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        403,
        "a token read before signing in is worth nothing after"
    );
    app.stop().await;
}
dual_test!(the_csrf_token_changes_when_someone_signs_in);
