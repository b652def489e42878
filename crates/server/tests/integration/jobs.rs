//! Scheduled jobs, each rule tested at its boundary on both engines, and the leases that make
//! a due job run exactly once across instances.

use crate::dual_test;
use crate::harness::{T0, TestApp};
use crate::identity::signup;
use coachflux::jobs::{self, Job};
use coachflux_domain::Clock;
use coachflux_domain::clock::{DAY_MS, HOUR_MS};

async fn run(app: &TestApp, job: Job, at: i64) -> serde_json::Value {
    let counts = jobs::run_leased(&app.state, job, "test-instance", at, true)
        .await
        .expect("the job runs")
        .expect("nobody else holds the lease");
    serde_json::Value::Object(counts)
}

async fn visitor_session(app: &TestApp) -> (crate::harness::Browser, String) {
    let b = app.new_browser();
    let (status, _, location) = b.submit("/sessions", &[("framework", "GROW")]).await;
    assert_eq!(status, 303);
    let path = location.unwrap();
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(
        &format!("{path}/turn"),
        &[("input", "Lead the platform team")],
    )
    .await;
    (b, path)
}

dual_test! {
    async fn visitor_sessions_go_after_24_hours_but_migrated_ones_stay(app) {
        let (_, expiring) = visitor_session(&app).await;
        let (member, kept) = visitor_session(&app).await;
        signup(&app, &member, "ada@example.com").await;
        assert_eq!(app.count("SELECT COUNT(*) FROM session_reflections").await, 2);

        let counts = run(&app, Job::AnonymousSessions, T0 + DAY_MS - 1).await;
        assert_eq!(counts["deleted"], 0, "one millisecond early");
        let counts = run(&app, Job::AnonymousSessions, T0 + DAY_MS).await;
        assert_eq!(counts["deleted"], 1);
        assert_eq!(counts["abandoned"], 1, "it was left unfinished");
        let props: String = sqlx::query_scalar("SELECT properties FROM events WHERE event_name = 'session_abandoned'")
            .fetch_one(app.store.pool()).await.unwrap();
        assert!(props.contains(expiring.rsplit('/').next().unwrap()) && props.contains("\"expired\""), "{props}");
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM coaching_sessions").fetch_all(app.store.pool()).await.unwrap();
        assert_eq!(ids, [kept.rsplit('/').next().unwrap()], "{expiring} went, the migrated one stayed");
        assert_eq!(app.count("SELECT COUNT(*) FROM session_reflections").await, 1, "its reflections went with it");
        let counts = run(&app, Job::AnonymousSessions, T0 + 30 * DAY_MS).await;
        assert_eq!(counts["deleted"], 0, "an account's session never expires");
        app.stop().await;
    }
}

/// A member with one session and one action item; returns the item's id.
async fn member_with_item(
    app: &TestApp,
    email: &str,
    due: &str,
) -> (crate::harness::Browser, String) {
    let b = app.new_browser();
    signup(app, &b, email).await;
    assert_eq!(b.submit("/sessions", &[("framework", "GROW")]).await.0, 303);
    let (status, _, _) = b
        .submit(
            "/actions",
            &[
                ("title", "Book the planning meeting"),
                ("due", due),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let id: String = sqlx::query_scalar(
        "SELECT a.id FROM action_items a JOIN users u ON u.id = a.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    (b, id)
}

dual_test! {
    async fn completed_items_are_archived_90_days_after_completion(app) {
        let (b, id) = member_with_item(&app, "ada@example.com", "").await;
        assert_eq!(b.submit(&format!("/actions/{id}/complete"), &[]).await.0, 303);
        let counts = run(&app, Job::ArchiveActions, T0 + 90 * DAY_MS - 1).await;
        assert_eq!(counts["archived"], 0);
        let counts = run(&app, Job::ArchiveActions, T0 + 90 * DAY_MS).await;
        assert_eq!(counts["archived"], 1);
        let (_, page, _) = b.page("/actions?status=completed").await;
        assert!(!page.contains("Book the planning meeting"), "hidden from the default lists");
        let (_, page, _) = b.page("/actions?status=archived").await;
        assert!(page.contains("Book the planning meeting"), "shown under Archived");
        assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 1, "archived, not deleted");
        app.stop().await;
    }
}

dual_test! {
    async fn each_item_due_within_a_day_is_reminded_once(app) {
        // One item due tomorrow, one in a week.
        let (_, soon) = member_with_item(&app, "ada@example.com", "tomorrow").await;
        let (b2, later) = member_with_item(&app, "bob@example.com", "in 7 days").await;
        let due: i64 = sqlx::query_scalar("SELECT due_date FROM action_items WHERE id = $1").bind(&soon).fetch_one(app.store.pool()).await.unwrap();
        let counts = run(&app, Job::ActionReminders, due - DAY_MS - 1).await;
        assert_eq!((counts["emails"].as_i64(), counts["notifications"].as_i64()), (Some(0), Some(0)), "not yet within 24 h");
        let counts = run(&app, Job::ActionReminders, due - DAY_MS).await;
        assert_eq!((counts["emails"].as_i64(), counts["notifications"].as_i64()), (Some(1), Some(1)));
        let mail = app.last_email("ada@example.com", "action_reminder").await;
        assert!(mail.subject.contains("Book the planning meeting"), "{}", mail.subject);
        let sent: i64 = sqlx::query_scalar("SELECT reminder_sent FROM action_items WHERE id = $1").bind(&soon).fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(sent, 1);
        let counts = run(&app, Job::ActionReminders, due - 2 * HOUR_MS).await;
        assert_eq!(counts["notifications"], 0, "once per item");
        // With reminder emails turned off: the in-app notification only.
        let (status, _, _) = b2.submit("/settings/preferences", &[("product_updates", "on")]).await;
        assert_eq!(status, 303);
        let bob_due: i64 = sqlx::query_scalar("SELECT due_date FROM action_items WHERE id = $1").bind(&later).fetch_one(app.store.pool()).await.unwrap();
        let counts = run(&app, Job::ActionReminders, bob_due - DAY_MS + HOUR_MS).await;
        assert_eq!((counts["emails"].as_i64(), counts["notifications"].as_i64()), (Some(0), Some(1)));
        assert_eq!(app.count("SELECT COUNT(*) FROM notifications").await, 2);
        app.stop().await;
    }
}

dual_test! {
    async fn expired_tokens_sessions_and_old_mail_are_purged(app) {
        let b = app.new_browser();
        signup(&app, &b, "ada@example.com").await;
        b.submit("/forgot-password", &[("email", "ada@example.com")]).await;
        app.outbox.deliver_due().await.unwrap();
        assert!(app.count("SELECT COUNT(*) FROM password_resets").await >= 1);
        assert!(app.count("SELECT COUNT(*) FROM email_outbox WHERE status = 'sent'").await >= 2);
        let sessions = app.count("SELECT COUNT(*) FROM sessions").await;
        let counts = run(&app, Job::Purge, T0 + 29 * DAY_MS).await;
        assert_eq!(counts["email_outbox"], 0, "delivered mail is kept for 30 days");
        assert_eq!(counts["password_resets"], 1, "the reset link expired after an hour");
        assert_eq!(counts["sessions"], sessions, "the device session expired after a day idle");
        let counts = run(&app, Job::Purge, T0 + 30 * DAY_MS).await;
        assert!(counts["email_outbox"].as_i64().unwrap() >= 2, "{counts}");
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1, "accounts are untouched");
        app.stop().await;
    }
}

dual_test! {
    async fn a_due_job_runs_once_however_many_instances_ask(app) {
        let now = app.clock.now_ms();
        let mut conn = app.store.conn().await.unwrap();
        let mut winners = 0;
        for instance in ["a", "b", "c"] {
            if coachflux_store::jobs::claim(&mut conn, "purge", instance, now, 60_000, false).await.unwrap() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "one lease");
        drop(conn);
        // Concurrent claimers on separate connections: still one.
        let tasks: Vec<_> = (0..4).map(|i| {
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut conn = store.conn().await.unwrap();
                coachflux_store::jobs::claim(&mut conn, "archive-actions", &format!("i{i}"), now, 60_000, false).await.unwrap()
            })
        }).collect();
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1);
        // Through the scheduler's path: the first run schedules the next; until then, nothing.
        assert!(jobs::run_leased(&app.state, Job::AnonymousSessions, "x", now, false).await.unwrap().is_some());
        assert!(jobs::run_leased(&app.state, Job::AnonymousSessions, "y", now + 1_000, false).await.unwrap().is_none(), "not due again yet");
        let later = now + Job::AnonymousSessions.default_interval_ms();
        assert!(jobs::run_leased(&app.state, Job::AnonymousSessions, "y", later, false).await.unwrap().is_some());
        let mut conn = app.store.conn().await.unwrap();
        let runs = coachflux_store::jobs::recent_runs(&mut conn, Some("anonymous-sessions"), 10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.outcome == "ok" && r.finished_at.is_some()));
        drop(conn);
        let metrics = reqwest::get(format!("http://{}/metrics", app.addr)).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("job_runs_total{job=\"anonymous-sessions\",outcome=\"ok\"} 2"), "{metrics}");
        app.stop().await;
    }
}

dual_test! {
    async fn staff_see_each_job_and_its_recent_runs(app) {
        let b = &app.browser;
        let uid = signup(&app, b, "ada@example.com").await;
        run(&app, Job::Purge, T0).await;
        assert_eq!(b.get("/admin/jobs").await.status(), 404, "members don't see it");
        sqlx::query("UPDATE users SET role = 'staff' WHERE id = $1")
            .bind(&uid)
            .execute(app.store.pool())
            .await
            .unwrap();
        crate::identity::enable_two_factor(&app, b).await;
        let (status, page, _) = b.page("/admin/jobs").await;
        assert_eq!(status, 200);
        for job in jobs::ALL {
            assert!(page.contains(job.name()), "{} listed", job.name());
        }
        assert!(page.contains("account-erasure") && page.contains("1 h"), "{page}");
        assert!(page.contains("2026-01-15 10:00 UTC") && page.contains("test-instance"), "the run is listed: {page}");
        app.stop().await;
    }
}
