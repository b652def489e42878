//! Sign-in with OpenID Connect against a real provider (oidc-provider) on loopback, on both
//! engines, including the ways it must fail.

use crate::harness::{Client, Engine, TestApp, extract, oidc_issuer, spawn_with};
use crate::identity::{PASSWORD, enable_two_factor, login, signup};
use coachflux_domain::{Clock, SystemClock};

async fn app_with_provider(engine: Engine) -> Option<TestApp> {
    let issuer = oidc_issuer()?;
    let app = spawn_with(
        engine,
        &[
            ("COACHFLUX_OIDC_TEST_ISSUER", issuer),
            ("COACHFLUX_OIDC_TEST_CLIENT_ID", "coachflux"),
            ("COACHFLUX_OIDC_TEST_SECRET", "coachflux-secret"),
        ],
    )
    .await?;
    // The provider stamps tokens with the real time.
    app.clock.set(SystemClock.now_ms());
    Some(app)
}

fn attr(tag: &str, name: &str) -> Option<String> {
    extract(tag, &format!(" {name}=\""), "\"")
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        let origin: String = base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        format!("{origin}{location}")
    }
}

/// Plays the person at the provider: follows redirects, fills the login form with `login`,
/// accepts consent, and returns the callback path (with its query) the provider sends back.
async fn at_provider(start: &str, login: &str) -> String {
    // The person's browser at the provider (another server, absolute URLs): not a client of
    // CoachFlux, so not the harness's `Client`.
    let idp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let mut request = idp.get(start);
    let mut url = start.to_owned();
    for _ in 0..12 {
        let r = request.send().await.unwrap();
        if let Some(location) = r.headers().get("location") {
            let next = absolute(&url, location.to_str().unwrap());
            if let Some(path) = next.strip_prefix("https://coach.example.test") {
                return path.to_owned();
            }
            url = next;
            request = idp.get(&url);
            continue;
        }
        let html = r.text().await.unwrap();
        let form = extract(&html, "<form", "</form>")
            .unwrap_or_else(|| panic!("no form at {url}:\n{html}"));
        let action = absolute(&url, &attr(&form, "action").unwrap());
        let mut fields: Vec<(String, String)> = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = input.split('>').next().unwrap();
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let value = match name.as_str() {
                "login" => login.to_owned(),
                "password" => "any password".to_owned(),
                _ => attr(tag, "value").unwrap_or_default(),
            };
            fields.push((name, value));
        }
        request = idp.post(&action).form(&fields);
        url = action;
    }
    panic!("the provider never redirected back");
}

/// Starts a sign-in from `b`; returns the provider URL it was sent to.
async fn start(b: &Client, path: &str) -> String {
    let r = b.get(path).await;
    assert_eq!(r.status(), 303, "start redirects to the provider");
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn user_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM users").await
}

async fn signs_up_and_back_in_with_the_provider(engine: Engine) {
    let Some(app) = app_with_provider(engine).await else {
        return;
    };
    let b = app.new_browser();
    let (_, page, _) = b.page("/login").await;
    assert!(page.contains("Continue with Test"));
    let to = start(&b, "/auth/oidc/test/start").await;
    assert!(
        to.contains("code_challenge_method=S256") && to.contains("nonce=") && to.contains("state="),
        "{to}"
    );
    let callback = at_provider(&to, "alice").await;
    let (status, _, location) = b.page(&callback).await;
    assert_eq!((status, location.as_deref()), (303, Some("/dashboard")));
    assert_eq!(b.get("/settings").await.status(), 200, "signed in");
    let (email, verified, password): (String, i64, Option<String>) =
        sqlx::query_as("SELECT email, email_verified, password_hash FROM users")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), verified, password),
        ("alice@idp.example", 1, None)
    );
    let (issuer, subject): (String, String) =
        sqlx::query_as("SELECT issuer, subject FROM oauth_identities")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (issuer.as_str(), subject.as_str()),
        (oidc_issuer().unwrap(), "alice")
    );

    b.submit("/logout", &[]).await;
    let to = start(&b, "/auth/oidc/test/start?next=/settings").await;
    let callback = at_provider(&to, "alice").await;
    let (_, _, location) = b.page(&callback).await;
    assert_eq!(location.as_deref(), Some("/settings"));
    assert_eq!(user_count(&app).await, 1, "the same account");
    app.stop().await;
}

async fn an_email_match_never_links_an_account_by_itself(engine: Engine) {
    let Some(app) = app_with_provider(engine).await else {
        return;
    };
    let b = app.new_browser();
    let uid = signup(&app, &b, "bob@idp.example").await;
    b.submit("/logout", &[]).await;
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "bob").await;
    let (status, page, _) = b.page(&callback).await;
    // The answer says nothing about the address having an account; its owner hears of it.
    assert_eq!(status, 200);
    assert!(page.contains("Check your email"), "{page}");
    assert!(!page.contains("already"), "{page}");
    let note = app
        .last_email("bob@idp.example", "provider_sign_in_existing")
        .await;
    assert!(
        note.body_text.contains("connect Test under Settings"),
        "{}",
        note.body_text
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_identities").await, 0);
    assert_eq!(b.get("/settings").await.status(), 303, "not signed in");

    // Linking needs the account signed in.
    let (status, _, location) = b.page("/auth/oidc/test/start?link=1").await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with("/login"));
    assert_eq!(login(&b, "bob@idp.example", PASSWORD).await.0, 303);
    let to = start(&b, "/auth/oidc/test/start?link=1").await;
    let callback = at_provider(&to, "bob").await;
    let (_, _, location) = b.page(&callback).await;
    assert_eq!(location.as_deref(), Some("/settings#connected"));
    let (_, page, _) = b.page("/settings").await;
    assert!(page.contains("Connected accounts") && page.contains("bob@idp.example"));
    b.submit("/logout", &[]).await;
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "bob").await;
    assert_eq!(b.page(&callback).await.0, 303);
    let owner: String = sqlx::query_scalar("SELECT user_id FROM oauth_identities")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(owner, uid);
    app.stop().await;
}

/// Asserts the callback is refused with the generic page and signs nobody in.
async fn refused(app: &TestApp, b: &Client, callback: &str) {
    let (status, page, _) = b.page(callback).await;
    assert_eq!(status, 400, "{callback}");
    assert!(page.contains("Signing in with Test didn't work"));
    assert_eq!(
        b.get("/settings").await.status(),
        303,
        "nobody is signed in"
    );
    assert_eq!(user_count(app).await, 0);
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let start = url.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let end = url[start..].find('&').map_or(url.len(), |i| start + i);
    format!("{}{}{}", &url[..start], value, &url[end..])
}

async fn every_tampered_or_stale_answer_is_refused(engine: Engine) {
    let Some(app) = app_with_provider(engine).await else {
        return;
    };
    // Tampered state.
    let b = app.new_browser();
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "carol").await;
    let state = extract(&callback, "state=", "&").unwrap();
    refused(&app, &b, &callback.replace(&state, "forged-state")).await;
    // The callback in a browser that never started the flow.
    let thief = app.new_browser();
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "carol").await;
    refused(&app, &thief, &callback).await;
    // The provider's own error.
    let to = start(&b, "/auth/oidc/test/start").await;
    let state = extract(&format!("{to}&"), "state=", "&").unwrap();
    refused(
        &app,
        &b,
        &format!("/auth/oidc/test/callback?error=access_denied&state={state}"),
    )
    .await;
    // A nonce other than ours in the ID token.
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&replace_param(&to, "nonce", "someone-elses-nonce"), "carol").await;
    refused(&app, &b, &callback).await;
    // A code issued to another client (its tokens' audience is not ours).
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&replace_param(&to, "client_id", "another-app"), "carol").await;
    refused(&app, &b, &callback).await;
    // An expired ID token: the provider's tokens live 60 s.
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "carol").await;
    app.clock.advance_ms(5 * 60_000);
    refused(&app, &b, &callback).await;
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'login_failure'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let all = reasons.join("\n");
    for reason in [
        "state mismatch",
        "no flow cookie",
        "provider error",
        "ID token",
        "token endpoint",
    ] {
        assert!(all.contains(reason), "an audit row says {reason:?}:\n{all}");
    }
    app.stop().await;
}

async fn two_factor_still_applies_after_the_provider(engine: Engine) {
    let Some(app) = app_with_provider(engine).await else {
        return;
    };
    let b = app.new_browser();
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "dave").await;
    b.page(&callback).await;
    enable_two_factor(&app, &b).await;
    b.submit("/logout", &[]).await;
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "dave").await;
    let (_, _, location) = b.page(&callback).await;
    assert_eq!(location.as_deref(), Some("/login/2fa?next=%2Fdashboard"));
    assert_eq!(b.get("/settings").await.status(), 303);
    app.stop().await;
}

/// Makes the browser's session look signed in more than ten minutes ago (the provider's tokens
/// follow the real clock, so the app's can't jump ahead).
async fn stale(app: &TestApp) {
    sqlx::query("UPDATE sessions SET authenticated_at = authenticated_at - 660000")
        .execute(app.store.pool())
        .await
        .unwrap();
}

async fn an_address_the_provider_did_not_confirm_is_confirmed_by_email_first(engine: Engine) {
    let Some(app) = app_with_provider(engine).await else {
        return;
    };
    let b = app.new_browser();
    let to = start(&b, "/auth/oidc/test/start").await;
    let callback = at_provider(&to, "unverified-carl").await;
    let (status, page, _) = b.page(&callback).await;
    assert_eq!(status, 200);
    assert!(page.contains("Check your email"), "{page}");
    assert_eq!(b.get("/settings").await.status(), 303, "not signed in yet");
    let token = crate::identity::verification_token(&app, "unverified-carl@idp.example").await;
    let (status, _, location) = b.submit("/verify-email", &[("token", &token)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/")));
    assert_eq!(
        b.get("/settings").await.status(),
        200,
        "the link signed this browser in"
    );
    app.stop().await;
}

async fn adding_a_way_in_needs_a_recent_sign_in(engine: Engine) {
    let Some(app) = app_with_provider(engine).await else {
        return;
    };
    // A passwordless account (made with the provider) setting its first password.
    let b = app.new_browser();
    let to = start(&b, "/auth/oidc/test/start").await;
    b.page(&at_provider(&to, "pat").await).await;
    stale(&app).await;
    let (status, _, location) = b
        .submit(
            "/settings/password",
            &[("new_password", "a first passphrase here")],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/settings/confirm?next=%2Fsettings%23password"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL")
            .await,
        0
    );
    let (_, page, _) = b
        .page("/settings/confirm?next=%2Fsettings%23password")
        .await;
    let again = "/auth/oidc/test/start?next=%2Fsettings%23password";
    assert!(
        page.contains(&again.replace('&', "&amp;")),
        "sign in again with the provider: {page}"
    );
    let to = start(&b, again).await;
    let (_, _, location) = b.page(&at_provider(&to, "pat").await).await;
    assert_eq!(location.as_deref(), Some("/settings#password"));
    let (status, _, _) = b
        .submit(
            "/settings/password",
            &[("new_password", "a first passphrase here")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL")
            .await,
        1
    );

    // Connecting a provider to a password account.
    let bob = app.new_browser();
    signup(&app, &bob, "bob@example.com").await;
    stale(&app).await;
    let (status, _, location) = bob.page("/auth/oidc/test/start?link=1").await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/settings/confirm?next=%2Fsettings%23connected"))
    );
    let (status, _, _) = bob
        .submit(
            "/settings/confirm",
            &[("password", PASSWORD), ("next", "/settings#connected")],
        )
        .await;
    assert_eq!(status, 303);
    let to = start(&bob, "/auth/oidc/test/start?link=1").await;
    let (_, _, location) = bob.page(&at_provider(&to, "bobby").await).await;
    assert_eq!(location.as_deref(), Some("/settings#connected"));
    app.stop().await;
}

crate::on_both_engines!(signs_up_and_back_in_with_the_provider);
crate::on_both_engines!(an_address_the_provider_did_not_confirm_is_confirmed_by_email_first);
crate::on_both_engines!(adding_a_way_in_needs_a_recent_sign_in);
crate::on_both_engines!(an_email_match_never_links_an_account_by_itself);
crate::on_both_engines!(every_tampered_or_stale_answer_is_refused);
crate::on_both_engines!(two_factor_still_applies_after_the_provider);

async fn providers_appear_only_when_configured(app: TestApp) {
    let (_, page, _) = app.browser.page("/login").await;
    assert!(!page.contains("Continue with"));
    assert_eq!(
        app.browser.get("/auth/oidc/google/start").await.status(),
        404
    );
    app.stop().await;
}
crate::dual_test!(providers_appear_only_when_configured);
