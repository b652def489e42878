//! The identity persistence modules of the store, on both engines: accounts, signed-in
//! devices, single-use links, the email outbox, the audit log, rate limits and recovery codes.
//! The atomic statements (single use, replay, claims) are checked where they matter: a second
//! attempt must lose.

use crate::dual_test;
use crate::harness::T0;
use crate::harness::TestApp;
use coachflux_domain::account::{Role, SubscriptionStatus};
use coachflux_domain::ids::new_id;
use coachflux_domain::paging::PageRequest;
use coachflux_store::{
    Conn, StoreError, audit, auth_sessions, one_time_tokens, outbox, rate_limits, recovery_codes,
    users,
};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

async fn new_user(conn: &mut Conn, email: &str) -> String {
    let id = new_id();
    users::insert(
        conn,
        &users::NewUser {
            id: &id,
            email,
            name: None,
            password_hash: Some("$argon2id$v=19$fake"),
            provider: Some("email"),
            email_verified: false,
            role: Role::Member,
            now: T0,
        },
    )
    .await
    .expect("insert user");
    id
}

async fn users_insert_find_update(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let id = new_id();
    users::insert(
        &mut c,
        &users::NewUser {
            id: &id,
            email: "ada@example.com",
            name: Some("Ada"),
            password_hash: Some("$argon2id$hash"),
            provider: Some("email"),
            email_verified: false,
            role: Role::Member,
            now: T0,
        },
    )
    .await
    .unwrap();

    let u = users::get(&mut c, &id).await.unwrap().expect("user exists");
    assert_eq!(u.email, "ada@example.com");
    assert_eq!(u.name.as_deref(), Some("Ada"));
    assert_eq!(u.password_hash.as_deref(), Some("$argon2id$hash"));
    assert_eq!(u.provider.as_deref(), Some("email"));
    assert!(!u.email_verified);
    assert!(!u.totp_enabled);
    assert_eq!(u.totp_secret, None);
    assert_eq!(u.role, Role::Member);
    assert_eq!(u.subscription_status, SubscriptionStatus::Free);
    assert_eq!((u.created_at, u.updated_at), (T0, T0));
    assert_eq!(u.last_login_at, None);
    assert_eq!(
        u.email_preferences,
        users::EmailPreferences {
            product_updates: false,
            newsletter: false,
            action_reminders: true,
            marketing_emails: false,
        },
        "opt-in lists off, reminders on"
    );
    assert!(users::get(&mut c, &new_id()).await.unwrap().is_none());

    let found = users::find_by_email(&mut c, "ada@example.com")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(id.clone()));
    assert!(
        users::find_by_email(&mut c, "nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // The same address again, under another id: a conflict naming the email.
    let dup = users::insert(
        &mut c,
        &users::NewUser {
            id: &new_id(),
            email: "ada@example.com",
            name: None,
            password_hash: None,
            provider: Some("google"),
            email_verified: true,
            role: Role::Member,
            now: T0,
        },
    )
    .await;
    assert!(matches!(dup, Err(StoreError::Conflict("email"))), "{dup:?}");

    users::set_email_verified(&mut c, &id, T0 + 1)
        .await
        .unwrap();
    users::set_password_hash(&mut c, &id, "$argon2id$new", T0 + 2)
        .await
        .unwrap();
    users::update_profile(
        &mut c,
        &id,
        Some("Ada L."),
        Some("https://img/a.png"),
        users::ZoneChange::Choose("Europe/Berlin"),
        T0 + 3,
    )
    .await
    .unwrap();
    let prefs = users::EmailPreferences {
        product_updates: false,
        newsletter: true,
        action_reminders: false,
        marketing_emails: true,
    };
    users::set_email_preferences(&mut c, &id, &prefs, T0 + 4)
        .await
        .unwrap();
    users::set_role(&mut c, &id, Role::Staff, T0 + 5)
        .await
        .unwrap();
    users::record_login(&mut c, &id, T0 + 6).await.unwrap();
    let u = users::get(&mut c, &id).await.unwrap().unwrap();
    assert!(u.email_verified);
    assert_eq!(u.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(u.name.as_deref(), Some("Ada L."));
    assert_eq!(u.time_zone.as_deref(), Some("Europe/Berlin"));
    assert!(u.time_zone_chosen);
    assert_eq!(u.picture.as_deref(), Some("https://img/a.png"));
    assert_eq!(u.email_preferences, prefs);
    assert_eq!(u.role, Role::Staff);
    assert_eq!(u.last_login_at, Some(T0 + 6));
    assert_eq!(u.last_active_at, Some(T0 + 6));
    assert_eq!(
        u.updated_at,
        T0 + 5,
        "a login is not a change to the account"
    );

    // A browser's zone doesn't replace a chosen one.
    assert!(
        !users::set_browser_time_zone(&mut c, &id, "Asia/Tokyo", T0 + 7)
            .await
            .unwrap()
    );
    users::update_profile(&mut c, &id, None, None, users::ZoneChange::Keep, T0 + 7)
        .await
        .unwrap();
    let u = users::get(&mut c, &id).await.unwrap().unwrap();
    assert_eq!(
        (
            u.name,
            u.picture,
            u.time_zone.as_deref(),
            u.time_zone_chosen
        ),
        (None, None, Some("Europe/Berlin"), true)
    );
    users::update_profile(
        &mut c,
        &id,
        None,
        None,
        users::ZoneChange::FollowBrowser(None),
        T0 + 7,
    )
    .await
    .unwrap();
    assert!(
        users::set_browser_time_zone(&mut c, &id, "Asia/Tokyo", T0 + 7)
            .await
            .unwrap()
    );
    let u = users::get(&mut c, &id).await.unwrap().unwrap();
    assert_eq!(
        (u.time_zone.as_deref(), u.time_zone_chosen),
        (Some("Asia/Tokyo"), false)
    );

    // Changing the address: verified at once; taking another account's address conflicts.
    let other = new_user(&mut c, "grace@example.com").await;
    users::set_email(&mut c, &other, "grace.h@example.com", T0 + 8)
        .await
        .unwrap();
    let g = users::get(&mut c, &other).await.unwrap().unwrap();
    assert_eq!(g.email, "grace.h@example.com");
    assert!(g.email_verified);
    assert_eq!(g.updated_at, T0 + 8);
    let taken = users::set_email(&mut c, &other, "ada@example.com", T0 + 9).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("email"))),
        "{taken:?}"
    );

    // A transaction sees its own writes and a rollback leaves nothing behind.
    let mut tx = app.store.begin().await.unwrap();
    let rolled = new_user(&mut tx, "rolled@example.com").await;
    assert!(users::get(&mut tx, &rolled).await.unwrap().is_some());
    tx.rollback().await.unwrap();
    assert!(users::get(&mut c, &rolled).await.unwrap().is_none());

    drop(c);
    app.stop().await;
}
dual_test!(users_insert_find_update);

async fn totp_steps_are_accepted_once(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let id = new_user(&mut c, "totp@example.com").await;

    users::set_totp(&mut c, &id, Some("sealed-secret"), true, T0 + 1)
        .await
        .unwrap();
    let u = users::get(&mut c, &id).await.unwrap().unwrap();
    assert_eq!(u.totp_secret.as_deref(), Some("sealed-secret"));
    assert!(u.totp_enabled);
    assert_eq!(u.totp_last_step, None);

    assert!(users::advance_totp_step(&mut c, &id, 100).await.unwrap());
    assert!(
        !users::advance_totp_step(&mut c, &id, 100).await.unwrap(),
        "replay refused"
    );
    assert!(
        !users::advance_totp_step(&mut c, &id, 99).await.unwrap(),
        "older step refused"
    );
    assert!(users::advance_totp_step(&mut c, &id, 101).await.unwrap());
    assert_eq!(
        users::get(&mut c, &id)
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(101)
    );
    assert!(
        !users::advance_totp_step(&mut c, &new_id(), 500)
            .await
            .unwrap(),
        "no such user"
    );

    // Concurrent use of the same code: exactly one wins.
    let (a, b) = {
        let mut c1 = app.store.conn().await.unwrap();
        let mut c2 = app.store.conn().await.unwrap();
        tokio::join!(
            users::advance_totp_step(&mut c1, &id, 200),
            users::advance_totp_step(&mut c2, &id, 200)
        )
    };
    assert!(
        a.unwrap() ^ b.unwrap(),
        "exactly one of two concurrent uses wins"
    );

    // A new secret restarts the replay guard; disabling clears the secret.
    users::set_totp(&mut c, &id, None, false, T0 + 2)
        .await
        .unwrap();
    let u = users::get(&mut c, &id).await.unwrap().unwrap();
    assert_eq!(
        (u.totp_secret, u.totp_enabled, u.totp_last_step),
        (None, false, None)
    );
    assert!(users::advance_totp_step(&mut c, &id, 5).await.unwrap());

    drop(c);
    app.stop().await;
}
dual_test!(totp_steps_are_accepted_once);

fn session<'a>(
    id: &'a str,
    user_id: &'a str,
    token_hash: &'a str,
    expires_at: i64,
    absolute_expires_at: i64,
    device_id: Option<&'a str>,
    now: i64,
) -> auth_sessions::NewAuthSession<'a> {
    auth_sessions::NewAuthSession {
        id,
        user_id,
        token_hash,
        expires_at,
        absolute_expires_at,
        user_agent: "Firefox",
        ip: "192.0.2.1",
        remember: false,
        device_id,
        second_factor: false,
        now,
    }
}

async fn auth_sessions_expire_and_revoke(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let ada = new_user(&mut c, "ada@example.com").await;
    let bob = new_user(&mut c, "bob@example.com").await;

    let s1 = new_id();
    let mut first = session(
        &s1,
        &ada,
        "hash-1",
        T0 + HOUR,
        T0 + 24 * HOUR,
        Some("dev-a"),
        T0,
    );
    first.remember = true;
    auth_sessions::insert(&mut c, &first).await.unwrap();

    let found = auth_sessions::find_active_with_user(&mut c, "hash-1", T0 + 1)
        .await
        .unwrap()
        .expect("active session");
    assert_eq!(found.1.id, ada, "the session's account comes with it");
    let found = found.0;
    assert_eq!(found.id, s1);
    assert_eq!(found.user_id, ada);
    assert_eq!((found.created_at, found.last_activity_at), (T0, T0));
    assert_eq!(
        (found.expires_at, found.absolute_expires_at),
        (T0 + HOUR, T0 + 24 * HOUR)
    );
    assert_eq!(
        (found.user_agent.as_str(), found.ip.as_str()),
        ("Firefox", "192.0.2.1")
    );
    assert_eq!(found.location, None);
    assert!(found.is_active && found.remember);
    assert_eq!(found.revoked_at, None);
    assert_eq!(found.device_id.as_deref(), Some("dev-a"));
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-unknown", T0)
            .await
            .unwrap()
            .is_none()
    );

    // Idle expiry, and touch sliding it.
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-1", T0 + HOUR)
            .await
            .unwrap()
            .is_none()
    );
    auth_sessions::touch(&mut c, &s1, T0 + 30 * MINUTE, T0 + 90 * MINUTE)
        .await
        .unwrap();
    let touched = auth_sessions::find_active_with_user(&mut c, "hash-1", T0 + HOUR)
        .await
        .unwrap()
        .expect("touch extended the idle expiry")
        .0;
    assert_eq!(touched.last_activity_at, T0 + 30 * MINUTE);

    // Absolute expiry wins over a later idle expiry.
    let s2 = new_id();
    auth_sessions::insert(
        &mut c,
        &session(
            &s2,
            &ada,
            "hash-2",
            T0 + 10 * HOUR,
            T0 + 2 * HOUR,
            Some("dev-b"),
            T0 + 1,
        ),
    )
    .await
    .unwrap();
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-2", T0 + HOUR)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-2", T0 + 2 * HOUR)
            .await
            .unwrap()
            .is_none()
    );

    // Revocation is scoped to the owner.
    assert!(
        !auth_sessions::revoke(&mut c, &bob, &s1, T0 + 2)
            .await
            .unwrap(),
        "not bob's session"
    );
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-1", T0 + 3)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        auth_sessions::revoke(&mut c, &ada, &s1, T0 + 3)
            .await
            .unwrap()
    );
    assert!(
        !auth_sessions::revoke(&mut c, &ada, &s1, T0 + 4)
            .await
            .unwrap(),
        "already revoked"
    );
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-1", T0 + 5)
            .await
            .unwrap()
            .is_none()
    );

    // Listing: active and unexpired only, newest sign-in first, a page at a time.
    let s3 = new_id();
    let s4 = new_id();
    auth_sessions::insert(
        &mut c,
        &session(
            &s3,
            &ada,
            "hash-3",
            T0 + HOUR,
            T0 + 24 * HOUR,
            None,
            T0 + 10,
        ),
    )
    .await
    .unwrap();
    auth_sessions::insert(
        &mut c,
        &session(
            &s4,
            &ada,
            "hash-4",
            T0 + HOUR,
            T0 + 24 * HOUR,
            None,
            T0 + 20,
        ),
    )
    .await
    .unwrap();
    auth_sessions::touch(&mut c, &s3, T0 + 30, T0 + HOUR)
        .await
        .unwrap();
    let bobs = new_id();
    auth_sessions::insert(
        &mut c,
        &session(&bobs, &bob, "hash-b", T0 + HOUR, T0 + 24 * HOUR, None, T0),
    )
    .await
    .unwrap();
    let first = auth_sessions::page_active(&mut c, &ada, T0 + 40, &PageRequest::first(2))
        .await
        .unwrap();
    let listed: Vec<String> = first.items.into_iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![s4.clone(), s3.clone()]);
    let rest = auth_sessions::page_active(
        &mut c,
        &ada,
        T0 + 40,
        &PageRequest {
            limit: 2,
            after: first.next,
        },
    )
    .await
    .unwrap();
    let listed: Vec<String> = rest.items.into_iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![s2.clone()]);
    assert_eq!(rest.next, None);

    // Sign out everywhere but here.
    let n = auth_sessions::revoke_all_for_user(&mut c, &ada, Some(&s4), T0 + 50)
        .await
        .unwrap();
    assert_eq!(n, 2, "s2 and s3; s1 was already revoked");
    let listed = auth_sessions::page_active(&mut c, &ada, T0 + 60, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec![s4.as_str()]
    );
    assert!(
        auth_sessions::find_active_with_user(&mut c, "hash-b", T0 + 60)
            .await
            .unwrap()
            .is_some(),
        "bob untouched"
    );
    assert_eq!(
        auth_sessions::revoke_all_for_user(&mut c, &ada, None, T0 + 70)
            .await
            .unwrap(),
        1
    );
    assert!(
        auth_sessions::page_active(&mut c, &ada, T0 + 80, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Devices: remembered even after their sessions ended, per user.
    assert!(
        auth_sessions::device_seen_before(&mut c, &ada, "dev-a")
            .await
            .unwrap()
    );
    assert!(
        auth_sessions::device_seen_before(&mut c, &ada, "dev-b")
            .await
            .unwrap()
    );
    assert!(
        !auth_sessions::device_seen_before(&mut c, &ada, "dev-new")
            .await
            .unwrap()
    );
    assert!(
        !auth_sessions::device_seen_before(&mut c, &bob, "dev-a")
            .await
            .unwrap()
    );

    drop(c);
    app.stop().await;
}
dual_test!(auth_sessions_expire_and_revoke);

async fn one_time_tokens_are_single_use(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let ada = new_user(&mut c, "ada@example.com").await;
    let ttl = T0 + HOUR;

    // Email verification.
    let verification = |token: &'static str, email: &'static str, expires_at: i64| {
        one_time_tokens::NewEmailVerification {
            id: "",
            user_id: "",
            token_hash: token,
            email,
            browser_binding: (token == "ev-1").then_some("binding-hash"),
            expires_at,
            now: T0,
        }
    };
    for (token, email, expires_at) in [
        ("ev-1", "ada.new@example.com", ttl),
        ("ev-old", "ada@example.com", T0 + 10),
    ] {
        let id = new_id();
        let v = one_time_tokens::NewEmailVerification {
            id: &id,
            user_id: &ada,
            ..verification(token, email, expires_at)
        };
        one_time_tokens::insert_email_verification(&mut c, &v)
            .await
            .unwrap();
    }
    assert_eq!(
        one_time_tokens::consume_email_verification(&mut c, "ev-1", T0 + 1)
            .await
            .unwrap(),
        Some(one_time_tokens::UsedVerification {
            user_id: ada.clone(),
            email: "ada.new@example.com".to_owned(),
            browser_binding: Some("binding-hash".to_owned()),
        })
    );
    assert_eq!(
        one_time_tokens::consume_email_verification(&mut c, "ev-1", T0 + 2)
            .await
            .unwrap(),
        None,
        "used"
    );
    assert_eq!(
        one_time_tokens::consume_email_verification(&mut c, "ev-old", T0 + 10)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        one_time_tokens::consume_email_verification(&mut c, "ev-unknown", T0)
            .await
            .unwrap(),
        None
    );

    // Password reset: peek does not use the link, consume does, invalidate burns the rest.
    one_time_tokens::insert_password_reset(&mut c, &new_id(), &ada, "pr-1", ttl, T0)
        .await
        .unwrap();
    one_time_tokens::insert_password_reset(&mut c, &new_id(), &ada, "pr-2", ttl, T0)
        .await
        .unwrap();
    one_time_tokens::insert_password_reset(&mut c, &new_id(), &ada, "pr-3", ttl, T0)
        .await
        .unwrap();
    assert_eq!(
        one_time_tokens::peek_password_reset(&mut c, "pr-1", T0 + 1)
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        one_time_tokens::peek_password_reset(&mut c, "pr-1", T0 + 1)
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        one_time_tokens::peek_password_reset(&mut c, "pr-1", ttl)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        one_time_tokens::consume_password_reset(&mut c, "pr-1", ttl)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        one_time_tokens::consume_password_reset(&mut c, "pr-1", T0 + 2)
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        one_time_tokens::consume_password_reset(&mut c, "pr-1", T0 + 3)
            .await
            .unwrap(),
        None,
        "used"
    );
    assert_eq!(
        one_time_tokens::peek_password_reset(&mut c, "pr-1", T0 + 3)
            .await
            .unwrap(),
        None,
        "used"
    );
    one_time_tokens::invalidate_password_resets(&mut c, &ada)
        .await
        .unwrap();
    assert_eq!(
        one_time_tokens::peek_password_reset(&mut c, "pr-2", T0 + 4)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        one_time_tokens::consume_password_reset(&mut c, "pr-3", T0 + 4)
            .await
            .unwrap(),
        None
    );

    // Concurrent consumption of one reset link: exactly one wins.
    one_time_tokens::insert_password_reset(&mut c, &new_id(), &ada, "pr-race", ttl, T0)
        .await
        .unwrap();
    let (a, b) = {
        let mut c1 = app.store.conn().await.unwrap();
        let mut c2 = app.store.conn().await.unwrap();
        tokio::join!(
            one_time_tokens::consume_password_reset(&mut c1, "pr-race", T0 + 5),
            one_time_tokens::consume_password_reset(&mut c2, "pr-race", T0 + 5)
        )
    };
    assert_eq!([a.unwrap(), b.unwrap()].iter().flatten().count(), 1);

    // Magic link: bound to the browser; a wrong binding does not burn it.
    one_time_tokens::insert_magic_link(&mut c, &new_id(), &ada, "ml-1", "bind-a", ttl, T0)
        .await
        .unwrap();
    assert_eq!(
        one_time_tokens::consume_magic_link(&mut c, "ml-1", "bind-x", T0 + 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        one_time_tokens::consume_magic_link(&mut c, "ml-1", "bind-a", ttl)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        one_time_tokens::consume_magic_link(&mut c, "ml-1", "bind-a", T0 + 2)
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        one_time_tokens::consume_magic_link(&mut c, "ml-1", "bind-a", T0 + 3)
            .await
            .unwrap(),
        None,
        "used"
    );

    drop(c);
    app.stop().await;
}
dual_test!(one_time_tokens_are_single_use);

fn email<'a>(id: &'a str, to: &'a str, now: i64) -> outbox::NewEmail<'a> {
    outbox::NewEmail {
        id,
        user_id: None,
        to,
        template: "verify_email",
        subject: "Confirm your address",
        body_text: "text",
        body_html: "<p>html</p>",
        body_redacted: "redacted",
        transactional: true,
        now,
    }
}

async fn outbox_claims_once_and_retries(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let ada = new_user(&mut c, "ada@example.com").await;
    let lease = 5 * MINUTE;

    let e1 = new_id();
    let e2 = new_id();
    let e3 = new_id();
    let mut first = email(&e1, "ada@example.com", T0);
    first.user_id = Some(&ada);
    outbox::enqueue(&mut c, &first).await.unwrap();
    outbox::enqueue(&mut c, &email(&e2, "bob@example.com", T0 + 1))
        .await
        .unwrap();
    let mut later = email(&e3, "ada@example.com", T0 + 2);
    later.transactional = false;
    outbox::enqueue(&mut c, &later).await.unwrap();

    let got = outbox::get(&mut c, &e1).await.unwrap().expect("queued");
    assert_eq!(got.user_id.as_deref(), Some(ada.as_str()));
    assert_eq!(got.to_address, "ada@example.com");
    assert_eq!(
        (got.template.as_str(), got.subject.as_str()),
        ("verify_email", "Confirm your address")
    );
    assert_eq!(
        (got.body_text.as_str(), got.body_html.as_str()),
        ("text", "<p>html</p>")
    );
    assert_eq!((got.status.as_str(), got.attempts), ("pending", 0));
    assert_eq!((got.next_attempt_at, got.created_at), (T0, T0));
    assert_eq!(
        (got.locked_until, got.last_error, got.sent_at),
        (None, None, None)
    );
    assert!(got.transactional);
    assert!(
        !outbox::get(&mut c, &e3)
            .await
            .unwrap()
            .unwrap()
            .transactional
    );

    // Enqueued in a rolled-back transaction: never sent.
    let mut tx = app.store.begin().await.unwrap();
    outbox::enqueue(&mut tx, &email(&new_id(), "ghost@example.com", T0))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(
        outbox::list_for_address(&mut c, "ghost@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    // Only due rows, oldest first, limited.
    let claimed = outbox::claim_due(&mut c, T0 + 1, lease, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec![e1.as_str(), e2.as_str()]
    );
    for e in &claimed {
        assert_eq!(
            (e.status.as_str(), e.attempts, e.locked_until),
            ("sending", 1, Some(T0 + 1 + lease))
        );
    }
    // Claimed rows are not claimed again while leased; the third is due now.
    let again = outbox::claim_due(&mut c, T0 + 2, lease, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec![e3.as_str()]
    );
    assert!(
        outbox::claim_due(&mut c, T0 + 2, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Outcomes.
    outbox::mark_sent(&mut c, &e1, T0 + 3).await.unwrap();
    outbox::mark_retry(&mut c, &e2, T0 + MINUTE, "421 try later")
        .await
        .unwrap();
    outbox::mark_failed(&mut c, &e3, "550 no such user")
        .await
        .unwrap();
    let sent = outbox::get(&mut c, &e1).await.unwrap().unwrap();
    assert_eq!(
        (sent.status.as_str(), sent.sent_at, sent.locked_until),
        ("sent", Some(T0 + 3), None)
    );
    let retry = outbox::get(&mut c, &e2).await.unwrap().unwrap();
    assert_eq!(retry.status, "pending");
    assert_eq!(
        (retry.next_attempt_at, retry.locked_until),
        (T0 + MINUTE, None)
    );
    assert_eq!(retry.last_error.as_deref(), Some("421 try later"));
    let failed = outbox::get(&mut c, &e3).await.unwrap().unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.last_error.as_deref()),
        ("failed", Some("550 no such user"))
    );

    // A stale worker cannot reopen a row whose outcome is recorded.
    outbox::mark_retry(&mut c, &e1, T0 + MINUTE, "late")
        .await
        .unwrap();
    assert_eq!(
        outbox::get(&mut c, &e1).await.unwrap().unwrap().status,
        "sent"
    );

    // The retry becomes due at its time, with a second attempt counted.
    assert!(
        outbox::claim_due(&mut c, T0 + MINUTE - 1, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = outbox::claim_due(&mut c, T0 + MINUTE, lease, 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(
        (retried[0].id.as_str(), retried[0].attempts),
        (e2.as_str(), 2)
    );

    // A worker that crashed: once its lease is over, the row is claimable again.
    let lease_end = T0 + MINUTE + lease;
    assert!(
        outbox::claim_due(&mut c, lease_end, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "lease still held at its last ms"
    );
    let reclaimed = outbox::claim_due(&mut c, lease_end + 1, lease, 10)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(
        (reclaimed[0].id.as_str(), reclaimed[0].attempts),
        (e2.as_str(), 3)
    );
    assert_eq!(reclaimed[0].locked_until, Some(lease_end + 1 + lease));
    outbox::mark_sent(&mut c, &e2, lease_end + 2).await.unwrap();

    // Limit.
    let batch: Vec<String> = (0..5).map(|_| new_id()).collect();
    for (i, id) in batch.iter().enumerate() {
        outbox::enqueue(&mut c, &email(id, "many@example.com", T0 + 10 + i as i64))
            .await
            .unwrap();
    }
    let two = outbox::claim_due(&mut c, T0 + 2 * HOUR, lease, 2)
        .await
        .unwrap();
    assert_eq!(
        two.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        batch[..2].to_vec()
    );

    // Two workers claiming at the same moment share the rows, never both taking one.
    let (a, b) = {
        let mut c1 = app.store.conn().await.unwrap();
        let mut c2 = app.store.conn().await.unwrap();
        tokio::join!(
            outbox::claim_due(&mut c1, T0 + 2 * HOUR, lease, 10),
            outbox::claim_due(&mut c2, T0 + 2 * HOUR, lease, 10)
        )
    };
    let mut ids: Vec<String> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|e| e.id)
        .collect();
    ids.sort();
    let mut expected = batch[2..].to_vec();
    expected.sort();
    assert_eq!(ids, expected, "each due row claimed exactly once");

    // Listings, newest first.
    let first = outbox::page(&mut c, &PageRequest::first(3)).await.unwrap();
    let recent: Vec<String> = first.items.into_iter().map(|e| e.id).collect();
    assert_eq!(
        recent,
        vec![batch[4].clone(), batch[3].clone(), batch[2].clone()]
    );
    // Page after page, every email once, the last page saying so.
    let mut seen = recent.clone();
    let mut after = first.next;
    while let Some(cursor) = after {
        let page = outbox::page(
            &mut c,
            &PageRequest {
                limit: 3,
                after: Some(cursor),
            },
        )
        .await
        .unwrap();
        seen.extend(page.items.into_iter().map(|e| e.id));
        after = page.next;
    }
    assert_eq!(seen[3..5], [batch[1].clone(), batch[0].clone()]);
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_outbox")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (total as usize, total as usize));
    let ada_mail: Vec<String> = outbox::list_for_address(&mut c, "ada@example.com")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ada_mail, vec![e3.clone(), e1.clone()]);

    drop(c);
    app.stop().await;
}
dual_test!(outbox_claims_once_and_retries);

async fn audit_log_lists_newest_first(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let ada = new_user(&mut c, "ada@example.com").await;
    let staff = new_user(&mut c, "staff@example.com").await;
    let ids: Vec<String> = (0..3).map(|_| new_id()).collect();
    audit::record(
        &mut c,
        &audit::NewAudit {
            id: &ids[0],
            user_id: Some(&ada),
            actor_id: Some(&ada),
            action: "login_success",
            ip: Some("192.0.2.1"),
            user_agent: Some("Firefox"),
            details: r#"{"method":"password"}"#,
            now: T0,
        },
    )
    .await
    .unwrap();
    audit::record(
        &mut c,
        &audit::NewAudit {
            id: &ids[1],
            user_id: Some(&ada),
            actor_id: Some(&staff),
            action: "role_changed",
            ip: None,
            user_agent: None,
            details: "{}",
            now: T0 + 1,
        },
    )
    .await
    .unwrap();
    audit::record(
        &mut c,
        &audit::NewAudit {
            id: &ids[2],
            user_id: None,
            actor_id: None,
            action: "login_failure",
            ip: Some("192.0.2.9"),
            user_agent: None,
            details: "{}",
            now: T0 + 2,
        },
    )
    .await
    .unwrap();

    let ada_log = audit::list_for_user(&mut c, &ada, 10).await.unwrap();
    assert_eq!(
        ada_log.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec![ids[1].as_str(), ids[0].as_str()]
    );
    let first = &ada_log[1];
    assert_eq!(first.action, "login_success");
    assert_eq!(first.actor_id.as_deref(), Some(ada.as_str()));
    assert_eq!(
        (first.ip.as_deref(), first.user_agent.as_deref()),
        (Some("192.0.2.1"), Some("Firefox"))
    );
    assert_eq!(
        (first.details.as_str(), first.created_at),
        (r#"{"method":"password"}"#, T0)
    );
    assert_eq!(ada_log[0].actor_id.as_deref(), Some(staff.as_str()));
    assert_eq!(
        audit::list_for_user(&mut c, &ada, 1).await.unwrap().len(),
        1
    );
    let failures = audit::list_by_action(&mut c, "login_failure", 10)
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(
        (failures[0].user_id.as_deref(), failures[0].ip.as_deref()),
        (None, Some("192.0.2.9"))
    );

    drop(c);
    app.stop().await;
}
dual_test!(audit_log_lists_newest_first);

async fn rate_limits_window_block_and_backoff(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let w = MINUTE;
    let key = "login:192.0.2.1:ada@example.com";

    let fresh = rate_limits::check(&mut c, key, w, 3, T0).await.unwrap();
    assert_eq!(
        fresh,
        rate_limits::RateDecision {
            allowed: true,
            count: 0,
            retry_after_ms: 0
        }
    );
    for n in 1..=3 {
        let d = rate_limits::hit(&mut c, key, w, 3, T0 + n).await.unwrap();
        assert_eq!(
            d,
            rate_limits::RateDecision {
                allowed: true,
                count: n,
                retry_after_ms: 0
            }
        );
    }
    // The window holds 3: the next attempt would be refused until the window ends.
    let full = rate_limits::check(&mut c, key, w, 3, T0 + 10)
        .await
        .unwrap();
    assert!(!full.allowed);
    assert_eq!((full.count, full.retry_after_ms), (3, w + 1 - 10));

    // Over the limit: blocked for one window, then each attempt while blocked doubles it.
    let d4 = rate_limits::hit(&mut c, key, w, 3, T0 + 10).await.unwrap();
    assert_eq!(
        d4,
        rate_limits::RateDecision {
            allowed: false,
            count: 4,
            retry_after_ms: w
        }
    );
    let d5 = rate_limits::hit(&mut c, key, w, 3, T0 + 20).await.unwrap();
    assert_eq!(
        d5,
        rate_limits::RateDecision {
            allowed: false,
            count: 5,
            retry_after_ms: 2 * w
        }
    );
    let d6 = rate_limits::hit(&mut c, key, w, 3, T0 + 30).await.unwrap();
    assert_eq!(
        d6,
        rate_limits::RateDecision {
            allowed: false,
            count: 6,
            retry_after_ms: 4 * w
        }
    );
    let blocked_until = T0 + 30 + 4 * w;

    // The window has passed but the block has not: still refused (and longer).
    let check = rate_limits::check(&mut c, key, w, 3, T0 + 2 * w)
        .await
        .unwrap();
    assert!(!check.allowed);
    assert_eq!(check.retry_after_ms, blocked_until - (T0 + 2 * w));
    let d7 = rate_limits::hit(&mut c, key, w, 3, T0 + 2 * w)
        .await
        .unwrap();
    assert_eq!(
        d7,
        rate_limits::RateDecision {
            allowed: false,
            count: 7,
            retry_after_ms: 8 * w
        }
    );
    let blocked_until = T0 + 2 * w + 8 * w;

    // Once the block is over, a new window starts.
    let over = rate_limits::check(&mut c, key, w, 3, blocked_until)
        .await
        .unwrap();
    assert_eq!(
        over,
        rate_limits::RateDecision {
            allowed: true,
            count: 0,
            retry_after_ms: 0
        }
    );
    let d = rate_limits::hit(&mut c, key, w, 3, blocked_until)
        .await
        .unwrap();
    assert_eq!(
        d,
        rate_limits::RateDecision {
            allowed: true,
            count: 1,
            retry_after_ms: 0
        }
    );

    // A window that passes without a block simply resets.
    let other = "magic:ada@example.com";
    for n in 0..3 {
        assert!(
            rate_limits::hit(&mut c, other, w, 3, T0 + n)
                .await
                .unwrap()
                .allowed
        );
    }
    assert!(
        !rate_limits::check(&mut c, other, w, 3, T0 + w - 1)
            .await
            .unwrap()
            .allowed
    );
    let d = rate_limits::hit(&mut c, other, w, 3, T0 + w).await.unwrap();
    assert_eq!(
        d,
        rate_limits::RateDecision {
            allowed: true,
            count: 1,
            retry_after_ms: 0
        }
    );

    // The backoff is capped at a day.
    let capped = "2fa:user";
    let mut last = rate_limits::RateDecision {
        allowed: true,
        count: 0,
        retry_after_ms: 0,
    };
    for n in 0..40 {
        last = rate_limits::hit(&mut c, capped, HOUR, 1, T0 + n)
            .await
            .unwrap();
    }
    assert!(!last.allowed);
    assert_eq!((last.count, last.retry_after_ms), (40, 24 * HOUR));

    // Reset forgets the key; other keys are independent.
    rate_limits::reset(&mut c, key).await.unwrap();
    let d = rate_limits::check(&mut c, key, w, 3, blocked_until + 1)
        .await
        .unwrap();
    assert_eq!(d.count, 0);
    rate_limits::reset(&mut c, capped).await.unwrap();
    assert!(
        rate_limits::hit(&mut c, capped, HOUR, 1, T0 + 50)
            .await
            .unwrap()
            .allowed
    );

    // Concurrent attempts each count.
    let race = "signup:race@example.com";
    let (a, b) = {
        let mut c1 = app.store.conn().await.unwrap();
        let mut c2 = app.store.conn().await.unwrap();
        tokio::join!(
            rate_limits::hit(&mut c1, race, w, 1, T0),
            rate_limits::hit(&mut c2, race, w, 1, T0)
        )
    };
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.count + b.count, 3, "counts 1 and 2");
    assert!(a.allowed ^ b.allowed, "one allowed, one refused");

    drop(c);
    app.stop().await;
}
dual_test!(rate_limits_window_block_and_backoff);

async fn recovery_codes_are_single_use(app: TestApp) {
    let mut c = app.store.conn().await.unwrap();
    let ada = new_user(&mut c, "ada@example.com").await;
    let bob = new_user(&mut c, "bob@example.com").await;
    let codes: Vec<String> = (0..3).map(|i| format!("code-hash-{i}")).collect();

    recovery_codes::replace_all(&mut c, &ada, &codes, T0)
        .await
        .unwrap();
    assert_eq!(recovery_codes::count_unused(&mut c, &ada).await.unwrap(), 3);
    assert_eq!(recovery_codes::count_unused(&mut c, &bob).await.unwrap(), 0);
    assert!(
        !recovery_codes::consume(&mut c, &bob, "code-hash-0", T0 + 1)
            .await
            .unwrap(),
        "not bob's"
    );
    assert!(
        recovery_codes::consume(&mut c, &ada, "code-hash-0", T0 + 1)
            .await
            .unwrap()
    );
    assert!(
        !recovery_codes::consume(&mut c, &ada, "code-hash-0", T0 + 2)
            .await
            .unwrap(),
        "used"
    );
    assert!(
        !recovery_codes::consume(&mut c, &ada, "code-hash-x", T0 + 2)
            .await
            .unwrap()
    );
    assert_eq!(recovery_codes::count_unused(&mut c, &ada).await.unwrap(), 2);

    // A new set replaces the old one entirely, inside the caller's transaction too.
    let fresh: Vec<String> = (0..4).map(|i| format!("fresh-hash-{i}")).collect();
    let mut tx = app.store.begin().await.unwrap();
    recovery_codes::replace_all(&mut tx, &ada, &fresh, T0 + 3)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(recovery_codes::count_unused(&mut c, &ada).await.unwrap(), 4);
    assert!(
        !recovery_codes::consume(&mut c, &ada, "code-hash-1", T0 + 4)
            .await
            .unwrap(),
        "old set gone"
    );
    assert!(
        recovery_codes::consume(&mut c, &ada, "fresh-hash-1", T0 + 4)
            .await
            .unwrap()
    );
    assert_eq!(recovery_codes::count_unused(&mut c, &ada).await.unwrap(), 3);

    // Rolled back with the caller's transaction.
    let mut tx = app.store.begin().await.unwrap();
    recovery_codes::replace_all(&mut tx, &ada, &[], T0 + 5)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(recovery_codes::count_unused(&mut c, &ada).await.unwrap(), 3);

    recovery_codes::replace_all(&mut c, &ada, &[], T0 + 6)
        .await
        .unwrap();
    assert_eq!(recovery_codes::count_unused(&mut c, &ada).await.unwrap(), 0);

    drop(c);
    app.stop().await;
}
dual_test!(recovery_codes_are_single_use);
