//! Scheduled jobs, each rule tested at its boundary on both engines, and the leases that make
//! a due job run exactly once across instances.

use crate::dual_test;
use crate::harness::{Client, T0, TestApp};
use crate::identity::signup;
use coachflux::jobs::{self, Job};
use coachflux_domain::Clock;
use coachflux_domain::clock::{DAY_MS, HOUR_MS};

async fn run(app: &TestApp, job: Job, at: i64) -> serde_json::Value {
    let counts = jobs::run_leased(
        &app.state,
        job,
        "test-instance",
        jobs::Trigger::ByHand { at },
    )
    .await
    .expect("the job runs")
    .expect("nobody else holds the lease");
    serde_json::Value::Object(counts)
}

async fn visitor_session(app: &TestApp) -> (Client, String) {
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

async fn visitor_sessions_go_after_24_hours_but_migrated_ones_stay(app: TestApp) {
    let (_, expiring) = visitor_session(&app).await;
    let (member, kept) = visitor_session(&app).await;
    signup(&app, &member, "ada@example.com").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM session_reflections").await,
        2
    );

    let counts = run(&app, Job::AnonymousSessions, T0 + DAY_MS - 1).await;
    assert_eq!(counts["deleted"], 0, "one millisecond early");
    let counts = run(&app, Job::AnonymousSessions, T0 + DAY_MS).await;
    assert_eq!(counts["deleted"], 1);
    assert_eq!(counts["abandoned"], 1, "it was left unfinished");
    let props: String =
        sqlx::query_scalar("SELECT properties FROM events WHERE event_name = 'session_abandoned'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert!(
        props.contains(expiring.rsplit('/').next().unwrap()) && props.contains("\"expired\""),
        "{props}"
    );
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM coaching_sessions")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        ids,
        [kept.rsplit('/').next().unwrap()],
        "{expiring} went, the migrated one stayed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM session_reflections").await,
        1,
        "its reflections went with it"
    );
    let counts = run(&app, Job::AnonymousSessions, T0 + 30 * DAY_MS).await;
    assert_eq!(counts["deleted"], 0, "an account's session never expires");
    app.stop().await;
}
dual_test!(visitor_sessions_go_after_24_hours_but_migrated_ones_stay);

/// A member with one session and one action item; returns the item's id.
async fn member_with_item(app: &TestApp, email: &str, due: &str) -> (Client, String) {
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

async fn completed_items_are_archived_90_days_after_completion(app: TestApp) {
    let (b, id) = member_with_item(&app, "ada@example.com", "").await;
    assert_eq!(
        b.submit(&format!("/actions/{id}/complete"), &[]).await.0,
        303
    );
    let counts = run(&app, Job::ArchiveActions, T0 + 90 * DAY_MS - 1).await;
    assert_eq!(counts["archived"], 0);
    let counts = run(&app, Job::ArchiveActions, T0 + 90 * DAY_MS).await;
    assert_eq!(counts["archived"], 1);
    let (_, page, _) = b.page("/actions?status=completed").await;
    assert!(
        !page.contains("Book the planning meeting"),
        "hidden from the default lists"
    );
    let (_, page, _) = b.page("/actions?status=archived").await;
    assert!(
        page.contains("Book the planning meeting"),
        "shown under Archived"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM action_items").await,
        1,
        "archived, not deleted"
    );
    app.stop().await;
}
dual_test!(completed_items_are_archived_90_days_after_completion);

async fn each_item_due_within_a_day_is_reminded_once(app: TestApp) {
    // One item due tomorrow, one in a week.
    let (_, soon) = member_with_item(&app, "ada@example.com", "tomorrow").await;
    let (b2, later) = member_with_item(&app, "bob@example.com", "in 7 days").await;
    // Carol's item is due tomorrow too, but she has done it already.
    let (_, done) = member_with_item(&app, "carol@example.com", "tomorrow").await;
    sqlx::query("UPDATE action_items SET completed = 1, completed_at = $2 WHERE id = $1")
        .bind(&done)
        .bind(T0)
        .execute(app.store.pool())
        .await
        .unwrap();
    let due: i64 = sqlx::query_scalar("SELECT due_date FROM action_items WHERE id = $1")
        .bind(&soon)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE users SET time_zone = 'Pacific/Auckland' WHERE email = $1")
        .bind("ada@example.com")
        .execute(app.store.pool())
        .await
        .unwrap();
    let counts = run(&app, Job::ActionReminders, due - DAY_MS - 1).await;
    assert_eq!(
        (counts["emails"].as_i64(), counts["notifications"].as_i64()),
        (Some(0), Some(0)),
        "not yet within 24 h"
    );
    let counts = run(&app, Job::ActionReminders, due - DAY_MS).await;
    assert_eq!(
        (counts["emails"].as_i64(), counts["notifications"].as_i64()),
        (Some(1), Some(1))
    );
    // The day is named in Ada's time zone: Friday's end in UTC is Saturday in Auckland.
    let message: String = sqlx::query_scalar("SELECT message FROM notifications")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(message.ends_with("is due Sat 17 Jan 2026."), "{message}");
    let mail = app.last_email("ada@example.com", "action_reminder").await;
    assert!(
        mail.subject.contains("Book the planning meeting"),
        "{}",
        mail.subject
    );
    let sent: i64 = sqlx::query_scalar("SELECT reminder_sent FROM action_items WHERE id = $1")
        .bind(&soon)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(sent, 1);
    assert!(
        app.emails_to("carol@example.com")
            .await
            .iter()
            .all(|m| m.template != "action_reminder"),
        "a completed item isn't reminded"
    );
    let counts = run(&app, Job::ActionReminders, due - 2 * HOUR_MS).await;
    assert_eq!(counts["notifications"], 0, "once per item");
    // With reminder emails turned off: the in-app notification only.
    let (status, _, _) = b2
        .submit("/settings/preferences", &[("product_updates", "on")])
        .await;
    assert_eq!(status, 303);
    let bob_due: i64 = sqlx::query_scalar("SELECT due_date FROM action_items WHERE id = $1")
        .bind(&later)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let counts = run(&app, Job::ActionReminders, bob_due - DAY_MS + HOUR_MS).await;
    assert_eq!(
        (counts["emails"].as_i64(), counts["notifications"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM notifications").await, 2);
    app.stop().await;
}
dual_test!(each_item_due_within_a_day_is_reminded_once);

async fn expired_tokens_sessions_and_old_mail_are_purged(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    b.submit("/forgot-password", &[("email", "ada@example.com")])
        .await;
    app.outbox.deliver_due().await.unwrap();
    assert!(app.count("SELECT COUNT(*) FROM password_resets").await >= 1);
    assert!(
        app.count("SELECT COUNT(*) FROM email_outbox WHERE status = 'sent'")
            .await
            >= 2
    );
    let sessions = app.count("SELECT COUNT(*) FROM sessions").await;
    // A personal API token that expires after a day.
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, expires_at, created_at) \
                 SELECT 'tok-1', id, 'script', 'hash-1', 'read', $1, $2 FROM users",
    )
    .bind(T0 + DAY_MS)
    .bind(T0)
    .execute(app.store.pool())
    .await
    .unwrap();
    let counts = run(&app, Job::Purge, T0 + DAY_MS - 1).await;
    assert_eq!(
        counts["password_resets"], 1,
        "the reset link expired after an hour"
    );
    assert_eq!(counts["api_tokens"], 0, "one millisecond before it expires");
    assert_eq!(counts["sessions"], 0, "one millisecond before a day idle");
    let counts = run(&app, Job::Purge, T0 + DAY_MS).await;
    assert_eq!(counts["api_tokens"], 1, "an expired API token");
    assert_eq!(
        counts["sessions"], sessions,
        "the device session expired after a day idle"
    );
    let counts = run(&app, Job::Purge, T0 + 30 * DAY_MS - 1).await;
    assert_eq!(
        counts["email_outbox"], 0,
        "delivered mail is kept for 30 days"
    );
    let counts = run(&app, Job::Purge, T0 + 30 * DAY_MS).await;
    assert!(counts["email_outbox"].as_i64().unwrap() >= 2, "{counts}");
    assert_eq!(
        counts["job_runs"], 0,
        "the history of runs is kept for 90 days"
    );
    let counts = run(&app, Job::Purge, T0 + 90 * DAY_MS).await;
    assert_eq!(
        counts["job_runs"], 4,
        "the four finished runs before this one: {counts}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM job_runs").await,
        1,
        "the running one stays"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        1,
        "accounts are untouched"
    );
    app.stop().await;
}
dual_test!(expired_tokens_sessions_and_old_mail_are_purged);

async fn a_due_job_runs_once_however_many_instances_ask(app: TestApp) {
    let now = app.clock.now_ms();
    let mut conn = app.store.conn().await.unwrap();
    let mut winners = 0;
    for instance in ["a", "b", "c"] {
        if coachflux_store::jobs::claim(
            &mut conn,
            "purge",
            instance,
            now,
            60_000,
            Some(now + HOUR_MS),
        )
        .await
        .unwrap()
        {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "one lease");
    drop(conn);
    // Concurrent claimers on separate connections: still one.
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut conn = store.conn().await.unwrap();
                coachflux_store::jobs::claim(
                    &mut conn,
                    "archive-actions",
                    &format!("i{i}"),
                    now,
                    60_000,
                    Some(now + HOUR_MS),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    // Through the scheduler's path: the first run schedules the next; until then, nothing.
    let scheduled = jobs::Trigger::Scheduled;
    assert!(
        jobs::run_leased(&app.state, Job::AnonymousSessions, "x", scheduled)
            .await
            .unwrap()
            .is_some()
    );
    app.clock.advance_ms(1_000);
    assert!(
        jobs::run_leased(&app.state, Job::AnonymousSessions, "y", scheduled)
            .await
            .unwrap()
            .is_none(),
        "not due again yet"
    );
    app.clock
        .advance_ms(Job::AnonymousSessions.default_interval_ms() - 1_000);
    assert!(
        jobs::run_leased(&app.state, Job::AnonymousSessions, "y", scheduled)
            .await
            .unwrap()
            .is_some()
    );
    let mut conn = app.store.conn().await.unwrap();
    let runs = coachflux_store::jobs::recent_runs(&mut conn, Some("anonymous-sessions"), 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.outcome == "ok" && r.finished_at.is_some())
    );
    drop(conn);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("job_runs_total{job=\"anonymous-sessions\",outcome=\"ok\"} 2"),
        "{metrics}"
    );
    // The last run and last success come from the shared history, whichever instance ran it.
    let gauge = |name: &str| -> f64 {
        let prefix = format!("{name}{{job=\"anonymous-sessions\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("{name}: {metrics}"))
            .parse()
            .unwrap()
    };
    #[allow(clippy::cast_precision_loss)]
    let last = runs[0].finished_at.unwrap() as f64 / 1000.0;
    assert!((gauge("job_last_run_timestamp_seconds") - last).abs() < 0.01);
    assert!((gauge("job_last_success_timestamp_seconds") - last).abs() < 0.01);
    app.stop().await;
}
dual_test!(a_due_job_runs_once_however_many_instances_ask);

async fn a_run_that_outlives_its_lease_is_not_started_twice_and_a_dead_one_is_taken_over(
    app: TestApp,
) {
    let now = app.clock.now_ms();
    let interval = Job::Purge.default_interval_ms();
    let mut conn = app.store.conn().await.unwrap();
    // An instance claims purge and starts, then goes quiet (it died, or hangs).
    assert!(
        coachflux_store::jobs::claim(
            &mut conn,
            "purge",
            "dead",
            now,
            60_000,
            Some(now + interval)
        )
        .await
        .unwrap()
    );
    coachflux_store::jobs::start_run(&mut conn, "run-of-the-dead", "purge", "dead", now)
        .await
        .unwrap();
    drop(conn);
    // Its lease runs out, but the job isn't due again until its next turn.
    app.clock.advance_ms(61_000);
    assert!(
        jobs::run_leased(&app.state, Job::Purge, "alive", jobs::Trigger::Scheduled)
            .await
            .unwrap()
            .is_none()
    );
    app.clock.advance_ms(interval);
    assert!(
        jobs::run_leased(&app.state, Job::Purge, "alive", jobs::Trigger::Scheduled)
            .await
            .unwrap()
            .is_some()
    );
    let (outcome, error): (String, Option<String>) =
        sqlx::query_as("SELECT outcome, error FROM job_runs WHERE id = 'run-of-the-dead'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(outcome, "failed", "the dead run no longer shows as running");
    assert!(error.unwrap().contains("interrupted"));
    // A run by hand with the clock set far ahead leaves the schedule alone.
    let mut conn = app.store.conn().await.unwrap();
    let next = coachflux_store::jobs::next_run_at(&mut conn, "purge")
        .await
        .unwrap();
    drop(conn);
    run(&app, Job::Purge, now + 365 * DAY_MS).await;
    let mut conn = app.store.conn().await.unwrap();
    assert_eq!(
        coachflux_store::jobs::next_run_at(&mut conn, "purge")
            .await
            .unwrap(),
        next
    );
    drop(conn);
    app.stop().await;
}
dual_test!(a_run_that_outlives_its_lease_is_not_started_twice_and_a_dead_one_is_taken_over);

/// Waits until `job_runs` has `n` finished runs (or fails after 30 s).
async fn wait_for_runs(app: &TestApp, n: i64) {
    for _ in 0..300 {
        if app
            .count("SELECT COUNT(*) FROM job_runs WHERE outcome <> 'running'")
            .await
            >= n
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{n} job runs did not happen");
}

async fn runs_per_job(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT job_name, COUNT(*) FROM job_runs GROUP BY job_name ORDER BY job_name")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}

async fn two_schedulers_on_one_database_run_each_due_job_once(engine: crate::harness::Engine) {
    let tick = [("COACHFLUX_JOB_TICK_SECS", "1")];
    let Some(quiet) = crate::harness::spawn_with(engine, &tick).await else {
        return;
    };
    // COACHFLUX_JOBS=false (the harness default): this instance schedules nothing.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert_eq!(
        quiet.count("SELECT COUNT(*) FROM job_runs").await,
        0,
        "no scheduler when disabled"
    );
    let on = [("COACHFLUX_JOBS", "true"), ("COACHFLUX_JOB_TICK_SECS", "1")];
    let a = quiet.another_instance(&on).await;
    let b = quiet.another_instance(&on).await;
    let all = jobs::ALL.len() as i64;
    wait_for_runs(&quiet, all).await;
    // A few more ticks on both instances: nothing is due again.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let once: Vec<(String, i64)> = jobs::ALL.iter().map(|j| (j.name().to_owned(), 1)).collect();
    let mut once_sorted = once.clone();
    once_sorted.sort();
    assert_eq!(
        runs_per_job(&quiet).await,
        once_sorted,
        "every job ran once, on one of the two"
    );
    assert_eq!(
        quiet
            .count("SELECT COUNT(*) FROM job_runs WHERE outcome <> 'ok'")
            .await,
        0
    );
    // 15 minutes later on both clocks: the two 15-minute jobs are due again, once each.
    a.clock.advance_ms(15 * 60_000);
    b.clock.advance_ms(15 * 60_000);
    wait_for_runs(&quiet, all + 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let runs = runs_per_job(&quiet).await;
    for (job, n) in &runs {
        let expected = if job == "anonymous-sessions" || job == "action-reminders" {
            2
        } else {
            1
        };
        assert_eq!(*n, expected, "{job}: {runs:?}");
    }
    a.stop().await;
    b.stop().await;
    quiet.stop().await;
}
crate::on_both_engines!(two_schedulers_on_one_database_run_each_due_job_once);

async fn staff_see_each_job_and_its_recent_runs(app: TestApp) {
    let b = &app.browser;
    let uid = signup(&app, b, "ada@example.com").await;
    run(&app, Job::Purge, T0).await;
    assert_eq!(
        b.get("/admin/jobs").await.status(),
        404,
        "members don't see it"
    );
    crate::identity::make_staff(&app, b, &uid).await;
    let (status, page, _) = b.page("/admin/jobs").await;
    assert_eq!(status, 200);
    for job in jobs::ALL {
        assert!(page.contains(job.name()), "{} listed", job.name());
    }
    assert!(
        page.contains("account-erasure") && page.contains("1 h"),
        "{page}"
    );
    assert!(
        page.contains("2026-01-15 10:00 UTC") && page.contains("test-instance"),
        "the run is listed: {page}"
    );
    app.stop().await;
}
dual_test!(staff_see_each_job_and_its_recent_runs);
