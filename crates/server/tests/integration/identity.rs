//! Accounts end to end over HTTP, through the email outbox, on both engines.

use crate::dual_test;
use crate::harness::{Client, TestApp, extract};
use coachflux_domain::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use coachflux_domain::totp::{self, TotpSecret};
use reqwest::Method;

pub const PASSWORD: &str = "plum tractor lantern 42";

/// Fills in the sign-up form in `b` (nobody is signed in yet: the address isn't confirmed).
pub async fn submit_signup(b: &Client, email: &str) {
    let (status, _, location) = b
        .submit(
            "/signup",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("name", "Ada"),
                ("accept_terms", "on"),
            ],
        )
        .await;
    assert_eq!(status, 303, "sign-up redirects");
    assert_eq!(location.as_deref(), Some("/signup/sent"));
}

/// The token of the newest verification link sent to `email`.
pub async fn verification_token(app: &TestApp, email: &str) -> String {
    let mail = app.last_email(email, "verify_email").await;
    app.link_in(&mail)
        .trim_start_matches("/verify-email?token=")
        .to_owned()
}

/// Signs up in `b`, confirms the address with the emailed link in the same browser (which
/// signs it in), and returns the new user's id.
pub async fn signup(app: &TestApp, b: &Client, email: &str) -> String {
    submit_signup(b, email).await;
    let token = verification_token(app, email).await;
    let (status, _, location) = b.submit("/verify-email", &[("token", &token)]).await;
    // Home, or the visitor's session the sign-up saved.
    assert!(
        status == 303
            && location
                .as_deref()
                .is_some_and(|l| l == "/" || l.starts_with("/sessions/")),
        "the link signs in: {status} {location:?}"
    );
    let mut conn = app.store.conn().await.unwrap();
    coachflux_store::users::find_by_email(&mut conn, email)
        .await
        .unwrap()
        .expect("account exists")
        .id
}

pub async fn login(b: &Client, email: &str, password: &str) -> (u16, String, Option<String>) {
    b.submit("/login", &[("email", email), ("password", password)])
        .await
}

async fn signed_in(b: &Client) -> bool {
    b.get("/settings").await.status() == 200
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-cf_session=") && !c.starts_with("__Host-cf_session=;"))
}

async fn sign_up_confirm_log_out_and_log_back_in(app: TestApp) {
    let b = &app.browser;
    submit_signup(b, "ada@example.com").await;
    let (status, sent, _) = b.page("/signup/sent").await;
    assert_eq!(status, 200);
    assert!(sent.contains("Check your email"), "{sent}");
    assert!(
        !signed_in(b).await,
        "nobody is signed in before the address is confirmed"
    );

    let email = app.last_email("ada@example.com", "verify_email").await;
    assert!(
        email
            .body_html
            .contains("<a href=\"https://coach.example.test/verify-email?token=")
    );
    let link = app.link_in(&email);
    assert!(link.starts_with("/verify-email?token="));
    // Opening the link changes nothing by itself (mail scanners follow links).
    let (status, page, _) = b.page(&link).await;
    assert_eq!(status, 200);
    assert!(page.contains("Confirm my email"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email_verified = 1")
            .await,
        0
    );
    let token = link.trim_start_matches("/verify-email?token=");
    let (status, _, location) = b.submit("/verify-email", &[("token", token)]).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/")),
        "the browser that signed up is signed in"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email_verified = 1")
            .await,
        1
    );
    let (_, home, _) = b.page("/").await;
    assert!(home.contains("Welcome to CoachFlux"), "a welcome flash");
    assert!(home.contains("Ada"), "the header names the person");
    assert!(!home.contains("Please confirm your email address"));
    let uid = {
        let mut conn = app.store.conn().await.unwrap();
        coachflux_store::users::find_by_email(&mut conn, "ada@example.com")
            .await
            .unwrap()
            .unwrap()
            .id
    };
    // Used once.
    b.submit("/verify-email", &[("token", token)]).await;
    assert!(
        b.page("/settings")
            .await
            .1
            .contains("invalid or has expired")
    );

    let (status, _, location) = b.submit("/logout", &[]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/")));
    let (status, _, location) = b.page("/settings").await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/login?next=%2Fsettings"))
    );

    let (status, _, location) = b
        .submit(
            "/login",
            &[
                ("email", "ADA@example.com"),
                ("password", PASSWORD),
                ("next", "/settings"),
            ],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/settings")));
    assert!(signed_in(b).await);
    for (action, n) in [
        ("signup", 1),
        ("email_verified", 1),
        ("logout", 1),
        ("login_success", 2),
    ] {
        let got: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE user_id = $1 AND action = $2")
                .bind(&uid)
                .bind(action)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(got, n, "audit rows for {action}");
    }
    app.stop().await;
}
dual_test!(sign_up_confirm_log_out_and_log_back_in);

async fn a_confirmation_link_opened_in_another_browser_confirms_without_signing_in(app: TestApp) {
    submit_signup(&app.browser, "ada@example.com").await;
    let token = verification_token(&app, "ada@example.com").await;
    let phone = app.new_browser();
    let (status, _, location) = phone.submit("/verify-email", &[("token", &token)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/login")));
    assert!(
        phone
            .page("/login")
            .await
            .1
            .contains("your email address is confirmed")
    );
    assert!(!signed_in(&phone).await, "a forwarded link signs nobody in");
    assert!(!signed_in(&app.browser).await);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email_verified = 1")
            .await,
        1
    );
    let (status, _, _) = login(&phone, "ada@example.com", PASSWORD).await;
    assert_eq!(status, 303);
    assert!(signed_in(&phone).await);
    app.stop().await;
}
dual_test!(a_confirmation_link_opened_in_another_browser_confirms_without_signing_in);

async fn sign_up_refuses_bad_input_and_creates_nothing(app: TestApp) {
    let b = &app.browser;
    for (fields, message) in [
        (
            vec![
                ("email", "not-an-email"),
                ("password", PASSWORD),
                ("accept_terms", "on"),
            ],
            "doesn't look like an email",
        ),
        (
            vec![
                ("email", "a@example.com"),
                ("password", "short"),
                ("accept_terms", "on"),
            ],
            "at least 8 characters",
        ),
        (
            vec![
                ("email", "a@example.com"),
                ("password", "password123"),
                ("accept_terms", "on"),
            ],
            "too easy to guess",
        ),
        (
            vec![
                ("email", "a@example.com"),
                ("password", &"x".repeat(129)),
                ("accept_terms", "on"),
            ],
            "at most 128",
        ),
        (
            vec![("email", "a@example.com"), ("password", PASSWORD)],
            "accept the terms",
        ),
    ] {
        let (status, page, _) = b.submit("/signup", &fields).await;
        assert_eq!(status, 422, "{fields:?}");
        assert!(
            page.contains(message),
            "{message:?} not in the page for {fields:?}"
        );
        // The terms box comes back as the person left it.
        let ticked = fields.iter().any(|(k, _)| *k == "accept_terms");
        assert_eq!(
            page.contains(r#"value="on" required checked"#),
            ticked,
            "{fields:?}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    app.stop().await;
}
dual_test!(sign_up_refuses_bad_input_and_creates_nothing);

async fn signing_up_with_a_taken_address_answers_like_a_new_one_and_tells_its_owner(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    // The same form, once for a taken address and once for a free one.
    let answer = |email: &'static str| {
        let b = app.new_browser();
        async move {
            let r = b
                .post(
                    "/signup",
                    &[
                        ("email", email),
                        ("password", "another long passphrase"),
                        ("accept_terms", "on"),
                    ],
                )
                .await;
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            let mut cookies: Vec<String> = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
                .collect();
            cookies.sort();
            let body = r.text().await.unwrap();
            (status, location, cookies, body, signed_in(&b).await)
        }
    };
    let taken = answer("ada@example.com").await;
    let free = answer("bea@example.com").await;
    assert_eq!(taken, free, "nothing tells a taken address from a free one");
    assert_eq!(
        (taken.0, taken.1.as_deref(), taken.4),
        (303, Some("/signup/sent"), false)
    );
    app.last_email("ada@example.com", "signup_existing").await;
    app.last_email("bea@example.com", "verify_email").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
    app.stop().await;
}
dual_test!(signing_up_with_a_taken_address_answers_like_a_new_one_and_tells_its_owner);

async fn wrong_password_and_unknown_email_get_the_same_answer(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    let b = app.new_browser();
    let (s1, p1, _) = login(&b, "ada@example.com", "wrong password here").await;
    let (s2, p2, _) = login(&b, "nobody@example.com", "wrong password here").await;
    assert_eq!((s1, s2), (422, 422));
    let msg = "That email and password don't match an account.";
    assert!(p1.contains(msg) && p2.contains(msg));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failure'")
            .await,
        2
    );
    app.stop().await;
}
dual_test!(wrong_password_and_unknown_email_get_the_same_answer);

async fn failed_logins_are_rate_limited_per_ip_and_account(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    signup(&app, &app.new_browser(), "bob@example.com").await;
    let b = app.new_browser();
    for _ in 0..5 {
        assert_eq!(
            login(&b, "ada@example.com", "not the password").await.0,
            422
        );
    }
    let r = b
        .post(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60 * 2, "Retry-After {retry}");
    // Even the right password waits out the block.
    assert_eq!(login(&b, "ada@example.com", PASSWORD).await.0, 429);
    // Another account from the same IP is unaffected.
    assert_eq!(login(&b, "bob@example.com", PASSWORD).await.0, 303);
    app.clock.advance_ms(HOUR_MS);
    assert_eq!(login(&b, "ada@example.com", PASSWORD).await.0, 303);
    app.stop().await;
}
dual_test!(failed_logins_are_rate_limited_per_ip_and_account);

async fn sessions_slide_with_activity_and_end_at_their_limits(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    let b = app.new_browser();
    let r = b
        .post(
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    let cookie = session_cookie(&r).expect("a session cookie");
    assert!(
        !cookie.contains("Max-Age"),
        "without 'remember me' the cookie ends with the browser: {cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    // Activity every 20 h keeps it alive past 24 h...
    for _ in 0..3 {
        app.clock.advance_ms(20 * HOUR_MS);
        assert!(signed_in(&b).await);
    }
    // ...but 25 h of silence ends it.
    app.clock.advance_ms(25 * HOUR_MS);
    assert!(!signed_in(&b).await);

    let r = b
        .post(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("remember", "on"),
            ],
        )
        .await;
    let cookie = session_cookie(&r).unwrap();
    assert!(
        cookie.contains("Max-Age=2592000"),
        "remember me lasts 30 days: {cookie}"
    );
    // Active daily, a remembered session still ends at its absolute limit (90 days).
    for _ in 0..89 {
        app.clock.advance_ms(DAY_MS);
        assert!(signed_in(&b).await);
    }
    app.clock.advance_ms(DAY_MS + MINUTE_MS);
    assert!(!signed_in(&b).await);
    app.stop().await;
}
dual_test!(sessions_slide_with_activity_and_end_at_their_limits);

async fn login_issues_a_fresh_session_id_never_a_planted_one(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    // A browser without a cookie store, so the test controls every cookie it sends.
    let raw = app.plain();
    let r = raw
        .request(Method::GET, "/frameworks")
        .send()
        .await
        .unwrap();
    let csrf_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-cf_csrf="))
        .unwrap();
    let token = extract(
        &r.text().await.unwrap(),
        "<meta name=\"csrf-token\" content=\"",
        "\"",
    )
    .unwrap();
    // A session id an attacker managed to plant before the victim logs in.
    let planted = "A".repeat(43);
    let r = raw
        .request(Method::POST, "/login")
        .header(
            "cookie",
            format!("{csrf_cookie}; __Host-cf_session={planted}"),
        )
        .form(&[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("_csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = session_cookie(&r).unwrap();
    assert!(!cookie.contains(&planted), "login sets a new id");
    assert!(cookie.contains("Secure"), "served behind https: {cookie}");
    let r = raw
        .request(Method::GET, "/settings")
        .header("cookie", format!("__Host-cf_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the planted id never authenticates");
    app.stop().await;
}
dual_test!(login_issues_a_fresh_session_id_never_a_planted_one);

async fn password_reset_sets_a_new_password_and_signs_every_device_out(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    let other = app.new_browser();
    assert_eq!(login(&other, "ada@example.com", PASSWORD).await.0, 303);
    let b = app.new_browser();
    // Unknown and known addresses get the same page; only the known one gets mail.
    let (s1, p1, _) = b
        .submit("/forgot-password", &[("email", "nobody@example.com")])
        .await;
    let (s2, p2, _) = b
        .submit("/forgot-password", &[("email", "ada@example.com")])
        .await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(
        p1.replace("nobody@example.com", ""),
        p2.replace("ada@example.com", "")
    );
    assert!(app.emails_to("nobody@example.com").await.is_empty());
    let link = app.link_in(&app.last_email("ada@example.com", "password_reset").await);
    let token = link.trim_start_matches("/reset-password?token=").to_owned();
    assert_eq!(b.page(&link).await.0, 200);
    let (status, page, _) = b
        .submit("/reset-password", &[("token", &token), ("password", "123")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("at least 8"));
    let (status, _, location) = b
        .submit(
            "/reset-password",
            &[("token", &token), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/login")));
    assert!(!signed_in(&other).await, "other devices are signed out");
    assert!(!signed_in(&app.browser).await);
    app.last_email("ada@example.com", "password_changed").await;
    assert_eq!(login(&b, "ada@example.com", PASSWORD).await.0, 422);
    assert_eq!(
        login(&b, "ada@example.com", "a brand new passphrase")
            .await
            .0,
        303
    );
    // Single use.
    let (_, _, location) = b.page(&link).await;
    assert_eq!(location.as_deref(), Some("/forgot-password"));
    // Expiry: a new link is dead after an hour.
    app.clock.advance_ms(HOUR_MS);
    app.new_browser()
        .submit("/forgot-password", &[("email", "ada@example.com")])
        .await;
    let link = app.link_in(&app.last_email("ada@example.com", "password_reset").await);
    app.clock.advance_ms(HOUR_MS + 1);
    assert_eq!(b.page(&link).await.2.as_deref(), Some("/forgot-password"));
    // A forged token is simply unknown.
    assert_eq!(
        b.page("/reset-password?token=forged").await.2.as_deref(),
        Some("/forgot-password")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'password_reset'")
            .await,
        1
    );
    app.stop().await;
}
dual_test!(password_reset_sets_a_new_password_and_signs_every_device_out);

async fn magic_links_work_once_for_ten_minutes_in_the_browser_that_asked(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    let asker = app.new_browser();
    let (status, page, _) = asker
        .submit("/login/magic", &[("email", "ada@example.com")])
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Check your email"));
    let link = app.link_in(&app.last_email("ada@example.com", "magic_link").await);
    let token = link
        .trim_start_matches("/login/magic/confirm?token=")
        .to_owned();
    // Opened elsewhere: refused.
    let thief = app.new_browser();
    thief.get("/login").await;
    let (_, _, location) = thief
        .submit("/login/magic/confirm", &[("token", &token)])
        .await;
    assert_eq!(location.as_deref(), Some("/login/magic"));
    assert!(!signed_in(&thief).await);
    // In the asking browser: signed in.
    let (status, _, location) = asker
        .submit("/login/magic/confirm", &[("token", &token)])
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/dashboard")));
    assert!(signed_in(&asker).await);
    // Once only.
    let again = app.new_browser();
    again
        .submit("/login/magic", &[("email", "ada@example.com")])
        .await;
    let (_, _, location) = again
        .submit("/login/magic/confirm", &[("token", &token)])
        .await;
    assert_eq!(location.as_deref(), Some("/login/magic"));
    // Ten minutes.
    let link = app.link_in(&app.last_email("ada@example.com", "magic_link").await);
    let token = link
        .trim_start_matches("/login/magic/confirm?token=")
        .to_owned();
    app.clock.advance_ms(10 * MINUTE_MS + 1);
    let (_, _, location) = again
        .submit("/login/magic/confirm", &[("token", &token)])
        .await;
    assert_eq!(location.as_deref(), Some("/login/magic"));
    // Unknown addresses get the same page and no mail; requests are limited per address.
    let (_, page, _) = again
        .submit("/login/magic", &[("email", "nobody@example.com")])
        .await;
    assert!(page.contains("Check your email"));
    assert!(app.emails_to("nobody@example.com").await.is_empty());
    assert_eq!(
        again
            .post("/login/magic", &[("email", "ada@example.com")])
            .await
            .status(),
        200
    );
    assert_eq!(
        again
            .post("/login/magic", &[("email", "ada@example.com")])
            .await
            .status(),
        429
    );
    app.stop().await;
}
dual_test!(magic_links_work_once_for_ten_minutes_in_the_browser_that_asked);

/// Turns 2FA on for the signed-in `b`; returns the secret and the recovery codes.
pub async fn enable_two_factor(app: &TestApp, b: &Client) -> (TotpSecret, Vec<String>) {
    let (status, page, _) = b.page("/settings/2fa").await;
    assert_eq!(status, 200);
    assert!(page.contains("<svg"), "a server-rendered QR code");
    let key = extract(&page, "<code class=\"secret\">", "</code>").unwrap();
    let secret = TotpSecret::from_base32(&key).unwrap();
    let (status, _, _) = b
        .submit("/settings/2fa/confirm", &[("code", "000000")])
        .await;
    assert_eq!(status, 422, "a wrong code does not turn it on");
    let code = totp::code_for_step(&secret, totp::step_at(app.clock.now_ms()), 6);
    let (status, page, _) = b.submit("/settings/2fa/confirm", &[("code", &code)]).await;
    assert_eq!(status, 200);
    let codes: Vec<String> = page
        .split("<code>")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes");
    // They download as a text file without JavaScript (and copy and print with it).
    assert!(page.contains(r#"download="coachflux-recovery-codes.txt""#));
    let file = extract(&page, "href=\"data:text/plain;charset=utf-8,", "\"").unwrap();
    let file = percent_decoded(&file);
    assert!(file.starts_with("CoachFlux recovery codes for "), "{file}");
    for code in &codes {
        assert!(file.contains(&format!("\n{code}\n")), "{code} in {file}");
    }
    assert!(page.contains(r#"data-copy="recovery-codes""#) && page.contains("data-print"));
    (secret, codes)
}

use coachflux_domain::Clock;

fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Confirms it's the person with the password and a fresh code, so this session counts as
/// signed in with the second factor (as staff pages need).
pub async fn prove_second_factor(app: &TestApp, b: &Client, secret: &TotpSecret) {
    app.clock.advance_ms(31_000);
    let code = totp::code_for_step(secret, totp::step_at(app.clock.now_ms()), 6);
    let (status, page, _) = b
        .submit(
            "/settings/confirm",
            &[
                ("password", PASSWORD),
                ("code", &code),
                ("second_factor", "1"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{page}");
}

/// Makes the account staff with two-factor on, proved by this session.
pub async fn make_staff(app: &TestApp, b: &Client, user_id: &str) -> TotpSecret {
    sqlx::query("UPDATE users SET role = 'staff' WHERE id = $1")
        .bind(user_id)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (secret, _) = enable_two_factor(app, b).await;
    prove_second_factor(app, b, &secret).await;
    secret
}

async fn two_factor_protects_sign_in_and_refuses_replays(app: TestApp) {
    let b = &app.browser;
    signup(&app, b, "ada@example.com").await;
    let (secret, codes) = enable_two_factor(&app, b).await;
    let stored: String = sqlx::query_scalar("SELECT totp_secret FROM users")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(
        !stored.contains(&secret.to_base32()),
        "the secret is encrypted at rest"
    );
    app.last_email("ada@example.com", "two_factor_changed")
        .await;

    let d = app.new_browser();
    let (status, _, location) = login(&d, "ada@example.com", PASSWORD).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/login/2fa?next=%2Fdashboard"))
    );
    assert!(!signed_in(&d).await, "the password alone is not enough");
    // The code used to turn 2FA on cannot be used again in its time step.
    let used = totp::code_for_step(&secret, totp::step_at(app.clock.now_ms()), 6);
    assert_eq!(d.submit("/login/2fa", &[("code", &used)]).await.0, 422);
    app.clock.advance_ms(30_000);
    let code = totp::code_for_step(&secret, totp::step_at(app.clock.now_ms()), 6);
    let (status, _, location) = d.submit("/login/2fa", &[("code", &code)]).await;
    // Where they were going: nowhere in particular, so the dashboard.
    assert_eq!((status, location.as_deref()), (303, Some("/dashboard")));
    assert!(signed_in(&d).await);

    // Replay: the same code, same step, from another browser.
    let e = app.new_browser();
    login(&e, "ada@example.com", PASSWORD).await;
    assert_eq!(e.submit("/login/2fa", &[("code", &code)]).await.0, 422);
    // A recovery code works once.
    assert_eq!(
        e.submit("/login/2fa", &[("code", &codes[0].to_uppercase())])
            .await
            .0,
        303
    );
    // After the second factor, the person lands where they were going.
    let g = app.new_browser();
    let (_, _, location) = g
        .submit(
            "/login",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/actions?status=open"),
            ],
        )
        .await;
    let to = location.unwrap();
    assert_eq!(to, "/login/2fa?next=%2Factions%3Fstatus%3Dopen");
    let (_, form, _) = g.page(&to).await;
    assert!(
        form.contains(r#"name="next" value="/actions?status=open""#),
        "{form}"
    );
    let (status, _, location) = g
        .submit(
            "/login/2fa",
            &[("code", &codes[1]), ("next", "/actions?status=open")],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/actions?status=open"))
    );
    let f = app.new_browser();
    login(&f, "ada@example.com", PASSWORD).await;
    assert_eq!(f.submit("/login/2fa", &[("code", &codes[0])]).await.0, 422);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'recovery_code_used'")
            .await,
        2
    );
    // Guessing is locked out (the recovery sign-in above cleared earlier failures).
    for _ in 0..4 {
        assert_eq!(f.submit("/login/2fa", &[("code", "123456")]).await.0, 422);
    }
    assert_eq!(
        f.post("/login/2fa", &[("code", "123456")]).await.status(),
        429
    );
    app.clock.advance_ms(30_000);
    let fresh = totp::code_for_step(&secret, totp::step_at(app.clock.now_ms()), 6);
    assert_eq!(
        f.post("/login/2fa", &[("code", &fresh)]).await.status(),
        429,
        "even a right code waits out the lock"
    );
    app.stop().await;
}
dual_test!(two_factor_protects_sign_in_and_refuses_replays);

async fn two_factor_can_be_turned_off_only_with_the_password(app: TestApp) {
    let b = &app.browser;
    signup(&app, b, "ada@example.com").await;
    enable_two_factor(&app, b).await;
    let (status, page, _) = b
        .submit("/settings/2fa/disable", &[("password", "not my password")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("That isn't your current password."));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE totp_enabled = 1")
            .await,
        1
    );
    let (status, _, _) = b
        .submit("/settings/2fa/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE totp_enabled = 1 OR totp_secret IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM totp_recovery_codes").await,
        0
    );
    for action in ["2fa_enabled", "2fa_disabled"] {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "{action}");
    }
    app.stop().await;
}
dual_test!(two_factor_can_be_turned_off_only_with_the_password);

async fn settings_change_profile_preferences_password_and_email(app: TestApp) {
    let b = &app.browser;
    let uid = signup(&app, b, "ada@example.com").await;
    let other = app.new_browser();
    login(&other, "ada@example.com", PASSWORD).await;

    assert_eq!(
        b.submit(
            "/settings/profile",
            &[
                ("name", "Ada Lovelace"),
                ("picture", "https://img.example.com/ada.png")
            ]
        )
        .await
        .0,
        303
    );
    let (status, page, _) = b
        .submit(
            "/settings/profile",
            &[("name", "Ada"), ("picture", "javascript:alert(1)")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Use an https:// link"));
    let (_, page, _) = b.page("/settings").await;
    assert!(page.contains("Ada Lovelace"));
    // Every section has its link at the top, API tokens included.
    for section in [
        "profile",
        "email",
        "password",
        "preferences",
        "two-factor",
        "devices",
        "tokens",
        "your-data",
    ] {
        assert!(
            page.contains(&format!("<a href=\"#{section}\">")),
            "{section}"
        );
    }

    assert_eq!(
        b.submit("/settings/preferences", &[("newsletter", "on")])
            .await
            .0,
        303
    );
    let row: (i64, i64, i64) = sqlx::query_as("SELECT email_preferences_newsletter, email_preferences_action_reminders, email_preferences_product_updates FROM users")
        .fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(row, (1, 0, 0));

    let (status, page, _) = b
        .submit(
            "/settings/password",
            &[
                ("current_password", "wrong one"),
                ("new_password", "fresh passphrase here"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("That isn't your current password."));
    assert_eq!(
        b.submit(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "fresh passphrase here")
            ]
        )
        .await
        .0,
        303
    );
    assert!(signed_in(b).await, "this device stays signed in");
    assert!(!signed_in(&other).await, "other devices are signed out");
    app.last_email("ada@example.com", "password_changed").await;

    let (status, _, _) = b
        .submit(
            "/settings/email",
            &[("new_email", "lovelace@example.com"), ("password", "wrong")],
        )
        .await;
    assert_eq!(status, 422, "re-authentication is required");
    assert_eq!(
        b.submit(
            "/settings/email",
            &[
                ("new_email", "lovelace@example.com"),
                ("password", "fresh passphrase here")
            ]
        )
        .await
        .0,
        303
    );
    let link = app.link_in(&app.last_email("lovelace@example.com", "email_change").await);
    let token = link.trim_start_matches("/verify-email?token=");
    assert_eq!(b.submit("/verify-email", &[("token", token)]).await.0, 303);
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(&uid)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(email, "lovelace@example.com");
    app.last_email("ada@example.com", "email_changed").await;
    for action in [
        "password_changed",
        "email_change_requested",
        "email_changed",
    ] {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(n, 1, "{action}");
    }
    app.stop().await;
}
dual_test!(settings_change_profile_preferences_password_and_email);

async fn device_sessions_are_listed_and_revocable_by_their_owner_only(app: TestApp) {
    let a = &app.browser;
    signup(&app, a, "ada@example.com").await;
    let phone = Client::builder(app.addr)
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1")
        .build();
    assert_eq!(login(&phone, "ada@example.com", PASSWORD).await.0, 303);
    let (_, page, _) = a.page("/settings").await;
    assert!(page.contains("Safari on iOS"), "devices are named");
    assert!(page.contains("This device"));
    let phone_session: String =
        sqlx::query_scalar("SELECT id FROM sessions WHERE device_info_user_agent LIKE '%iPhone%'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();

    // Another user cannot touch it.
    let mallory = app.new_browser();
    signup(&app, &mallory, "mallory@example.com").await;
    let r = mallory
        .post(&format!("/settings/sessions/{phone_session}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 404);
    assert!(signed_in(&phone).await);

    let (status, _, _) = a
        .submit(&format!("/settings/sessions/{phone_session}/revoke"), &[])
        .await;
    assert_eq!(status, 303);
    assert!(
        !signed_in(&phone).await,
        "revocation takes effect on the next request"
    );
    assert!(signed_in(a).await);
    login(&phone, "ada@example.com", PASSWORD).await;
    a.submit("/settings/sessions/revoke-others", &[]).await;
    assert!(!signed_in(&phone).await);
    assert!(signed_in(a).await);
    app.stop().await;
}
dual_test!(device_sessions_are_listed_and_revocable_by_their_owner_only);

async fn a_sign_in_from_a_new_device_sends_an_alert(app: TestApp) {
    let a = &app.browser;
    signup(&app, a, "ada@example.com").await;
    a.submit("/logout", &[]).await;
    login(a, "ada@example.com", PASSWORD).await;
    assert!(
        app.emails_to("ada@example.com")
            .await
            .iter()
            .all(|e| e.template != "new_device"),
        "a known browser is not new"
    );
    let laptop = app.new_browser();
    login(&laptop, "ada@example.com", PASSWORD).await;
    let alert = app.last_email("ada@example.com", "new_device").await;
    assert!(alert.body_text.contains("Firefox on Linux"));
    assert!(alert.body_text.contains("127.0.0.1"));
    app.stop().await;
}
dual_test!(a_sign_in_from_a_new_device_sends_an_alert);

async fn state_changing_requests_need_the_csrf_token(app: TestApp) {
    let b = &app.browser;
    signup(&app, b, "ada@example.com").await;
    let r = b
        .request(Method::POST, "/settings/profile")
        .form(&[("name", "Hacked")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .request(Method::POST, "/settings/profile")
        .form(&[("name", "Hacked"), ("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let token = b.csrf().await;
    let r = b
        .request(Method::POST, "/settings/profile")
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "Hacked"), ("_csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a cross-site form post is refused");
    // Another browser's token is worthless here.
    let other = app.new_browser().csrf().await;
    let r = b
        .request(Method::POST, "/logout")
        .form(&[("_csrf", &other)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE name = 'Hacked'")
            .await,
        0
    );
    assert!(signed_in(b).await);
    app.stop().await;
}
dual_test!(state_changing_requests_need_the_csrf_token);

async fn signed_in_pages_are_not_cached(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    let r = app.browser.get("/settings").await;
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    app.stop().await;
}
dual_test!(signed_in_pages_are_not_cached);

async fn one_click_unsubscribe_needs_only_the_signed_link(app: TestApp) {
    let uid = signup(&app, &app.browser, "ada@example.com").await;
    // Product updates are opt-in: none until the person turns them on.
    assert_eq!(
        app.count("SELECT email_preferences_product_updates FROM users")
            .await,
        0
    );
    let (_, settings, _) = app.browser.page("/settings").await;
    assert!(
        settings.contains(r#"name="product_updates" type="checkbox" value="on">"#),
        "shown unticked"
    );
    assert_eq!(
        app.browser
            .submit(
                "/settings/preferences",
                &[("product_updates", "on"), ("action_reminders", "on")],
            )
            .await
            .0,
        303
    );
    let keys = coachflux::crypto::Keys::from_secret(crate::harness::SECRET_KEY);
    let url = coachflux::services::accounts::unsubscribe_url(
        &keys,
        "",
        &uid,
        coachflux::mail::List::ActionReminders,
    );
    let stranger = app.plain();
    let r = stranger
        .request(Method::POST, &url)
        .body("List-Unsubscribe=One-Click")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.count("SELECT email_preferences_action_reminders FROM users")
            .await,
        0
    );
    let tampered = url.replace("l=action_reminders", "l=newsletter");
    assert_eq!(
        stranger
            .request(Method::POST, &tampered)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // The GET shows a confirmation page and changes nothing.
    let product = coachflux::services::accounts::unsubscribe_url(
        &keys,
        "",
        &uid,
        coachflux::mail::List::ProductUpdates,
    );
    assert_eq!(
        stranger
            .request(Method::GET, &product)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.count("SELECT email_preferences_product_updates FROM users")
            .await,
        1
    );
    app.stop().await;
}
dual_test!(one_click_unsubscribe_needs_only_the_signed_link);

async fn the_mail_log_is_for_staff_with_two_factor(app: TestApp) {
    let b = &app.browser;
    let uid = signup(&app, b, "ada@example.com").await;
    assert_eq!(
        b.get("/admin/mail").await.status(),
        404,
        "members don't see it"
    );
    sqlx::query("UPDATE users SET role = 'staff' WHERE id = $1")
        .bind(&uid)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, _, location) = b.page("/admin/mail").await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/settings/2fa")),
        "staff must turn on 2FA first"
    );
    let (secret, _) = enable_two_factor(&app, b).await;
    // Turning 2FA on in this session isn't signing in with it: the session proves it first.
    let (status, _, location) = b.page("/admin/mail").await;
    assert_eq!(
        (status, location.as_deref()),
        (
            303,
            Some("/settings/confirm?next=%2Fadmin%2Fmail&second_factor=1")
        )
    );
    let (status, page, _) = b
        .submit(
            "/settings/confirm",
            &[
                ("password", PASSWORD),
                ("next", "/admin/mail"),
                ("second_factor", "1"),
            ],
        )
        .await;
    assert_eq!(status, 422, "the password alone doesn't do");
    assert!(page.contains("code from your authenticator app"), "{page}");
    app.clock.advance_ms(31_000);
    let code = totp::code_for_step(&secret, totp::step_at(app.clock.now_ms()), 6);
    let (status, _, location) = b
        .submit(
            "/settings/confirm",
            &[
                ("password", PASSWORD),
                ("code", &code),
                ("next", "/admin/mail"),
                ("second_factor", "1"),
            ],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/admin/mail")));
    let (status, page, _) = b.page("/admin/mail").await;
    assert_eq!(status, 200);
    assert!(page.contains("Confirm your email address for CoachFlux"));
    let mail = app.last_email("ada@example.com", "verify_email").await;
    let (status, page, _) = b.page(&format!("/admin/mail/{}", mail.id)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Please confirm that this is your email address"),
        "staff read the words"
    );
    assert!(
        !page.contains("verify-email?token="),
        "but never a link: {page}"
    );
    assert!(page.contains("[link withheld: only the recipient sees it]"));
    // Staff cannot turn 2FA off.
    assert_eq!(
        b.post("/settings/2fa/disable", &[("password", PASSWORD)])
            .await
            .status(),
        403
    );
    app.stop().await;
}
dual_test!(the_mail_log_is_for_staff_with_two_factor);

async fn links_in_email_come_from_the_public_url_not_the_host_header(app: TestApp) {
    signup(&app, &app.browser, "ada@example.com").await;
    let b = app.new_browser();
    let token = b.csrf().await;
    b.request(Method::POST, "/forgot-password")
        .header("host", "evil.example")
        .form(&[("email", "ada@example.com"), ("_csrf", &token)])
        .send()
        .await
        .unwrap();
    let email = app.last_email("ada@example.com", "password_reset").await;
    assert!(
        email
            .body_text
            .contains("https://coach.example.test/reset-password?token=")
    );
    assert!(!email.body_text.contains("evil.example"));
    app.stop().await;
}
dual_test!(links_in_email_come_from_the_public_url_not_the_host_header);

async fn audit_and_outbox_never_hold_passwords_or_secrets(app: TestApp) {
    let b = &app.browser;
    signup(&app, b, "ada@example.com").await;
    let (secret, _) = enable_two_factor(&app, b).await;
    login(&app.new_browser(), "ada@example.com", "a wrong guess 123").await;
    let details: Vec<String> = sqlx::query_scalar("SELECT details FROM audit_log")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let mails: Vec<String> = sqlx::query_scalar("SELECT body_text FROM email_outbox")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    for text in details.iter().chain(mails.iter()) {
        assert!(
            !text.contains(PASSWORD) && !text.contains("a wrong guess 123"),
            "{text}"
        );
        assert!(!text.contains(&secret.to_base32()), "{text}");
    }
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token FROM sessions")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit())),
        "only SHA-256 of tokens is stored"
    );
    app.stop().await;
}
dual_test!(audit_and_outbox_never_hold_passwords_or_secrets);

async fn plain_http_development_uses_plain_cookie_names(engine: crate::harness::Engine) {
    let Some(app) =
        crate::harness::spawn_with(engine, &[("COACHFLUX_PUBLIC_URL", "http://127.0.0.1:8080")])
            .await
    else {
        return;
    };
    let b = &app.browser;
    submit_signup(b, "ada@example.com").await;
    let token = verification_token(&app, "ada@example.com").await;
    let r = b.post("/verify-email", &[("token", &token)]).await;
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("cf_session="))
        .expect("plain name on http");
    assert!(!session.contains("Secure"));
    assert!(!r.headers().contains_key("strict-transport-security"));
    assert!(signed_in(b).await);
    app.stop().await;
}

crate::on_both_engines!(plain_http_development_uses_plain_cookie_names);

dual_test!(a_browser_time_zone_becomes_the_accounts_until_the_person_picks_one);
/// Signing in from a browser in Tokyo gives an account Tokyo's zone (reminders and the
/// calendar feed have no browser to ask), and a later sign-in from Lima moves it to Lima's, until
/// the person picks one in their settings: then it stays wherever they sign in, until they
/// empty the field. The field refuses what isn't a zone.
async fn a_browser_time_zone_becomes_the_accounts_until_the_person_picks_one(app: TestApp) {
    let browser = |zone: &str| {
        Client::builder(app.addr)
            .header(
                reqwest::header::HeaderName::from_static("x-time-zone"),
                zone,
            )
            .build()
    };
    let tokyo = browser("Asia/Tokyo");
    let uid = signup(&app, &tokyo, "kei@example.com").await;
    let zone = |app: &TestApp| {
        let store = app.store.clone();
        let uid = uid.clone();
        async move {
            let mut conn = store.conn().await.unwrap();
            let user = coachflux_store::users::get(&mut conn, &uid)
                .await
                .unwrap()
                .unwrap();
            (user.time_zone, user.time_zone_chosen)
        }
    };
    assert_eq!(zone(&app).await, (Some("Asia/Tokyo".into()), false));
    let (_, page, _) = tokyo.page("/settings").await;
    assert!(
        page.contains(r#"value="" data-detect-zone"#),
        "not chosen: {page}"
    );
    assert!(page.contains("Not chosen: your dates follow"), "{page}");
    assert!(page.contains(r#"<option value="Europe/Berlin">"#));

    let lima = browser("America/Lima");
    assert_eq!(login(&lima, "kei@example.com", PASSWORD).await.0, 303);
    assert_eq!(
        zone(&app).await,
        (Some("America/Lima".into()), false),
        "a zone the person didn't choose follows their browser"
    );

    let (status, page, _) = tokyo
        .submit(
            "/settings/profile",
            &[("name", "Kei"), ("time_zone", "Mars/Olympus_Mons")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Pick a time zone from the list"), "{page}");
    assert_eq!(
        zone(&app).await,
        (Some("America/Lima".into()), false),
        "unchanged"
    );
    let (status, _, _) = tokyo
        .submit(
            "/settings/profile",
            &[("name", "Kei"), ("time_zone", "europe/berlin")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(zone(&app).await, (Some("Europe/Berlin".into()), true));
    let (_, page, _) = tokyo.page("/settings").await;
    assert!(
        page.contains(r#"value="Europe/Berlin" data-detect-zone"#),
        "{page}"
    );
    assert!(page.contains("You chose it"), "{page}");

    assert_eq!(
        login(&browser("Asia/Tokyo"), "kei@example.com", PASSWORD)
            .await
            .0,
        303
    );
    assert_eq!(
        zone(&app).await,
        (Some("Europe/Berlin".into()), true),
        "a chosen zone stays"
    );
    // Saving the profile with the zone as it is keeps the choice.
    let (status, _, _) = tokyo
        .submit(
            "/settings/profile",
            &[("name", "Kei M."), ("time_zone", "Europe/Berlin")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(zone(&app).await, (Some("Europe/Berlin".into()), true));
    // Emptied, the browser's zone is used again, and stored for reminders at once.
    let (status, _, _) = tokyo
        .submit("/settings/profile", &[("name", "Kei"), ("time_zone", "")])
        .await;
    assert_eq!(status, 303);
    assert_eq!(zone(&app).await, (Some("Asia/Tokyo".into()), false));
    assert_eq!(login(&lima, "kei@example.com", PASSWORD).await.0, 303);
    assert_eq!(zone(&app).await, (Some("America/Lima".into()), false));
}
