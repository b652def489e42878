//! The coaching journey over HTTP on both engines: a visitor completes GROW, the report holds
//! every captured field, sign-up moves the session into the account with its action items,
//! nobody else can see it, plan rules, the safety screen.

use crate::dual_test;
use crate::harness::{Client, TestApp};
use crate::identity::signup;
use coachflux_domain::frameworks::{Field, FieldKind};
use coachflux_domain::{Catalogue, Clock, Framework};
use reqwest::Method;

fn answer_for(field: &Field) -> String {
    match &field.kind {
        FieldKind::Text { .. } => format!("My honest answer about {}", field.label.to_lowercase()),
        FieldKind::List { .. } => "talk to my manager\nblock two hours a week".into(),
        FieldKind::Scale { max, .. } => (max - 2).to_string(),
        FieldKind::Choice { options } => options.last().unwrap().clone(),
        FieldKind::Date => "in 3 days".into(),
        FieldKind::Actions { .. } => "Call Sam by Friday\nDraft the proposal in 3 days".into(),
        FieldKind::Options { .. } => "Ask for a transfer\nRetrain in the evenings".into(),
    }
}

pub fn grow() -> Framework {
    Catalogue::builtin().unwrap().get("GROW").unwrap().clone()
}

/// Starts a session in `b`; returns its path.
pub async fn start(b: &Client, framework: &str) -> String {
    let (status, _, location) = b.submit("/sessions", &[("framework", framework)]).await;
    assert_eq!(status, 303, "starting {framework}");
    location.unwrap()
}

/// Answers every question of every step, confirming each step; then keeps the first two
/// proposals.
pub async fn complete(b: &Client, path: &str, fw: &Framework) {
    answer_every_step(b, path, fw).await;
    for index in 0..2 {
        assert_eq!(
            b.submit(
                &format!("{path}/proposals/{index}"),
                &[("decision", "accept")]
            )
            .await
            .0,
            303
        );
    }
}

/// Answers every question of every step, confirming each step, up to the action plan.
async fn answer_every_step(b: &Client, path: &str, fw: &Framework) {
    assert_eq!(
        b.submit(&format!("{path}/consent"), &[("consent", "on")])
            .await
            .0,
        303
    );
    for step in &fw.steps {
        for field in &step.fields {
            let (status, _, _) = b
                .submit(&format!("{path}/turn"), &[("input", &answer_for(field))])
                .await;
            assert_eq!(status, 303, "{}/{}", step.id, field.id);
            pass_follow_ups(b, path).await;
        }
        let (status, page, _) = b.submit(&format!("{path}/proceed"), &[]).await;
        assert_eq!(status, 303, "proceed from {}: {page}", step.id);
    }
    let (_, page, _) = b.page(path).await;
    assert!(page.contains("Your action plan"), "{page}");
}

async fn reflections(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM session_reflections WHERE session_id = $1")
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn a_visitor_completes_grow_gets_a_report_and_keeps_it_by_signing_up(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    let id = path.trim_start_matches("/sessions/").to_owned();
    let (anonymous, expires): (i64, Option<i64>) =
        sqlx::query_as("SELECT is_anonymous, expires_at FROM coaching_sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(anonymous, 1);
    assert_eq!(
        expires,
        Some(crate::harness::T0 + 24 * 3_600_000),
        "a visitor's session lives 24 h"
    );

    complete(&b, &path, &fw).await;
    let answers: usize = fw.steps.iter().map(|s| s.fields.len()).sum();
    assert_eq!(
        reflections(&app, &id).await,
        answers as i64,
        "every answer is saved"
    );
    let (status, _, location) = b.submit(&format!("{path}/close"), &[]).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some(format!("{path}/report").as_str()))
    );
    let (status, report, _) = b.page(&format!("{path}/report")).await;
    assert_eq!(status, 200);
    // Every captured field appears with its answer, in its step's section.
    for step in &fw.steps {
        let section =
            crate::harness::extract(&report, &format!("<h2>{}</h2>", step.name), "</section>")
                .unwrap_or_else(|| panic!("report lacks the {} section", step.name));
        for field in &step.fields {
            let shown = match &field.kind {
                FieldKind::List { .. } => "talk to my manager; block two hours a week".to_owned(),
                // The actions are the report's action plan (as kept), not repeated here.
                FieldKind::Actions { .. } => {
                    assert!(
                        !section.contains(&format!("<dt>{}</dt>", field.label)),
                        "{section}"
                    );
                    continue;
                }
                FieldKind::Options { .. } => {
                    "Ask for a transfer; Retrain in the evenings".to_owned()
                }
                FieldKind::Date => "in 3 days (Sun 18 Jan 2026)".to_owned(),
                _ => answer_for(field),
            };
            assert!(
                section.contains(&format!("<dt>{}</dt><dd>{}", field.label, shown)),
                "{} / {}: {shown} not in {section}",
                step.name,
                field.label
            );
        }
    }
    assert!(
        report.contains("Call Sam") && report.contains("Fri 16 Jan 2026"),
        "parsed due date in the plan"
    );
    let md = b.get(&format!("{path}/report.md")).await;
    assert_eq!(md.headers()["content-type"], "text/markdown; charset=utf-8");
    let md = md.text().await.unwrap();
    assert!(md.starts_with("# ") && md.contains("## Action plan") && md.contains("- [ ] Call Sam"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM action_items").await,
        0,
        "a visitor has no action items yet"
    );

    // Someone else, signed in or not, cannot see it.
    let stranger = app.new_browser();
    assert_eq!(stranger.get(&path).await.status(), 404);
    signup(&app, &stranger, "eve@example.com").await;
    assert_eq!(stranger.get(&format!("{path}/report")).await.status(), 404);

    // Signing up in the same browser moves the session into the account.
    let uid = signup(&app, &b, "ada@example.com").await;
    let row: (Option<String>, i64, Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT user_id, is_anonymous, anonymous_id, expires_at FROM coaching_sessions WHERE id = $1",
    ).bind(&id).fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(row, (Some(uid.clone()), 0, None, None));
    let items: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT title, due_date FROM action_items WHERE user_id = $1 ORDER BY title",
    )
    .bind(&uid)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].0, "Call Sam");
    assert_eq!(
        items[0].1,
        Some(coachflux_domain::dates::from_ymd(2026, 1, 16) + 86_400_000 - 1),
        "by Friday"
    );
    assert_eq!(b.get(&format!("{path}/report")).await.status(), 200);
    for name in [
        "session_started",
        "session_step_completed",
        "session_completed",
        "action_item_created",
    ] {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE event_name = $1 AND user_id = $2",
        )
        .bind(name)
        .bind(&uid)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert!(n >= 1, "event {name}");
    }
    app.stop().await;
}
dual_test!(a_visitor_completes_grow_gets_a_report_and_keeps_it_by_signing_up);

async fn visitors_try_grow_and_members_get_every_framework(app: TestApp) {
    let b = app.new_browser();
    let (_, page, _) = b.page("/frameworks/COMPASS").await;
    assert!(
        page.contains("COMPASS is for members"),
        "a locked framework says why"
    );
    let (status, page, _) = b.submit("/sessions", &[("framework", "COMPASS")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Create a free account"));
    signup(&app, &b, "ada@example.com").await;
    let (_, page, _) = b.page("/frameworks/COMPASS").await;
    assert!(page.contains("Start a COMPASS session"));
    let path = start(&b, "COMPASS").await;
    assert_eq!(b.get(&path).await.status(), 200);
    let usage: i64 = sqlx::query_scalar("SELECT usage_count FROM frameworks WHERE id = 'COMPASS'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(usage, 1);
    app.stop().await;
}
dual_test!(visitors_try_grow_and_members_get_every_framework);

async fn crisis_language_pauses_the_session_and_shows_helplines(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    // A workplace idiom is just an answer.
    b.submit(
        &format!("{path}/turn"),
        &[(
            "input",
            "This deadline is killing me, I want to ship by March",
        )],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(!page.contains("Let's pause here"));
    b.submit(
        &format!("{path}/turn"),
        &[("input", "Honestly I want to end my life")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("Let's pause here"), "{page}");
    assert!(
        page.contains("findahelpline.com") || page.contains("emergency"),
        "helplines shown"
    );
    let (category, resolution): (String, String) =
        sqlx::query_as("SELECT category, resolution FROM safety_incidents")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (category.as_str(), resolution.as_str()),
        ("suicide", "open")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM session_reflections").await,
        2,
        "the words are kept, not passed to a coach"
    );
    assert_eq!(
        b.submit(&format!("{path}/turn"), &[("input", "more")])
            .await
            .0,
        422,
        "paused"
    );
    assert_eq!(b.submit(&format!("{path}/resume"), &[]).await.0, 303);
    assert_eq!(
        b.submit(&format!("{path}/turn"), &[("input", "Ship the beta")])
            .await
            .0,
        303
    );
    let resolution: String = sqlx::query_scalar("SELECT resolution FROM safety_incidents")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(resolution, "resumed");
    app.stop().await;
}
dual_test!(crisis_language_pauses_the_session_and_shows_helplines);

async fn a_visitor_sees_the_helplines_of_the_country_their_browser_names(app: TestApp) {
    let b = Client::builder(app.addr).language("en-GB,en;q=0.9").build();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(
        &format!("{path}/turn"),
        &[("input", "I keep thinking I want to hurt myself")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("<strong>Samaritans</strong>: Call 116 123"),
        "{page}"
    );
    assert!(
        page.contains("<strong>Emergency services</strong>: 999"),
        "{page}"
    );
    // One tap calls: the first line is the primary action, and every number is a link.
    assert!(
        page.contains(r#"<a class="button button-large" id="get-help" href="tel:116123">Get help now: call <span class="nowrap">116 123</span></a>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"href="tel:116123">Call 116 123<"#),
        "{page}"
    );
    assert!(page.contains(r#"href="tel:999">Call 999<"#), "{page}");
    assert!(
        page.contains(
            r#"<button type="submit" class="button button-secondary">I'm OK to continue</button>"#
        ),
        "continuing is not the primary action"
    );
    assert_eq!(
        page.matches("paused the session").count()
            + page.matches("The session paused here").count(),
        1,
        "one message about the pause, in the card: {page}"
    );
    let country: Option<String> = sqlx::query_scalar("SELECT country FROM safety_incidents")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(country.as_deref(), Some("GB"));
    // Without a region in the language preference: the international default.
    let b = Client::builder(app.addr).language("de").build();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(
        &format!("{path}/turn"),
        &[("input", "I want to hurt myself")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(!page.contains("Samaritans"), "{page}");
    assert!(page.contains("112 in the EU"), "{page}");
    // No number to call there: help is the international directory.
    assert!(
        page.contains(r#"id="get-help" href="https://findahelpline.com">Get help now</a>"#),
        "{page}"
    );
    app.stop().await;
}
dual_test!(a_visitor_sees_the_helplines_of_the_country_their_browser_names);

async fn skip_amend_and_resume_exactly_where_we_left_off(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    assert_eq!(b.submit(&format!("{path}/skip"), &[]).await.0, 303);
    assert_eq!(b.submit(&format!("{path}/skip"), &[]).await.0, 303);
    let (status, page, _) = b.submit(&format!("{path}/skip"), &[]).await;
    assert_eq!(status, 422);
    assert!(page.contains("at most two"));
    let (_, page, _) = b.page(&path).await;
    assert!(
        !page.contains("Skip this question"),
        "no Skip where it can't be taken: {page}"
    );
    let fw = grow();
    // Answer until the step is ready (skipped required questions come back).
    for _ in 0..6 {
        let (_, page, _) = b.page(&path).await;
        if page.contains("Here's what we captured") {
            break;
        }
        b.submit(
            &format!("{path}/turn"),
            &[("input", "by the end of the month")],
        )
        .await;
    }
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("Here's what we captured"), "{page}");
    assert_eq!(
        b.submit(
            &format!("{path}/amend"),
            &[("step", "goal"), ("field", "goal")]
        )
        .await
        .0,
        303
    );
    // The previous answer is in the box to edit, and a refused answer keeps what was typed.
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains(">by the end of the month</textarea>"),
        "{page}"
    );
    let long = "Become the team lead ".repeat(100);
    let (status, page, _) = b.submit(&format!("{path}/turn"), &[("input", &long)]).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!(">{long}</textarea>")),
        "nothing typed is lost to an error: {page}"
    );
    b.submit(
        &format!("{path}/turn"),
        &[("input", "Become the team lead")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(
        !page.contains(">by the end of the month</textarea>"),
        "answered: the box is empty again"
    );
    // A new browser tab (same cookies) resumes on the same question.
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("Become the team lead"));
    assert!(page.contains("Here's what we captured"));
    assert_eq!(b.submit(&format!("{path}/proceed"), &[]).await.0, 303);
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains(&fw.steps[1].name));
    app.stop().await;
}
dual_test!(skip_amend_and_resume_exactly_where_we_left_off);

async fn action_items_are_filtered_edited_completed_and_deleted_by_their_owner(app: TestApp) {
    let b = app.new_browser();
    let uid = signup(&app, &b, "ada@example.com").await;
    // Action items belong to a session.
    let (status, page, _) = b.submit("/actions", &[("title", "Read a book")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("start one first"));
    start(&b, "GROW").await;
    for (title, due, priority, tags) in [
        ("Call Sam", "2026-01-10", "high", "work"),
        ("Draft proposal", "Friday", "medium", "work, writing"),
        ("Book a coach", "", "low", ""),
    ] {
        assert_eq!(
            b.submit(
                "/actions",
                &[
                    ("title", title),
                    ("due", due),
                    ("priority", priority),
                    ("tags", tags)
                ]
            )
            .await
            .0,
            303
        );
    }
    let (status, page, _) = b
        .submit(
            "/actions",
            &[
                ("title", "Bad date"),
                ("due", "someday maybe"),
                ("priority", "high"),
                ("tags", "home, admin"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Use a date like"));
    // The refused form comes back as it was typed, to correct rather than retype.
    for kept in [
        "value=\"Bad date\"",
        "value=\"someday maybe\"",
        "value=\"high\" selected",
        "value=\"home, admin\"",
    ] {
        assert!(page.contains(kept), "{kept} in {page}");
    }
    let (_, page, _) = b.page("/actions?status=overdue").await;
    assert!(
        page.contains("Call Sam") && !page.contains("Draft proposal"),
        "overdue filter"
    );
    let (_, all, _) = b.page("/actions").await;
    let card = |title: &str| {
        let at = all.find(title).unwrap_or_else(|| panic!("{title} listed"));
        let start = all[..at].rfind("<li class=\"card action").unwrap();
        all[start..at].to_owned()
    };
    assert!(
        card("Call Sam").contains("action-overdue"),
        "an overdue item stands out"
    );
    assert!(!card("Draft proposal").contains("action-overdue"));
    let (_, page, _) = b.page("/actions?status=week").await;
    assert!(page.contains("Draft proposal") && !page.contains("Call Sam"));
    let (_, page, _) = b.page("/actions?tag=writing").await;
    assert!(page.contains("Draft proposal") && !page.contains("Book a coach"));
    let (_, page, _) = b.page("/actions?priority=low").await;
    assert!(page.contains("Book a coach") && !page.contains("Draft proposal"));

    let id: String = sqlx::query_scalar("SELECT id FROM action_items WHERE title = 'Call Sam'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        b.submit(&format!("/actions/{id}/complete"), &[]).await.0,
        303
    );
    // Without JavaScript the reloaded page confirms it.
    let (_, page, _) = b.page("/actions").await;
    assert!(page.contains("Marked as done."), "{page}");
    let (_, page, _) = b.page("/actions?status=completed").await;
    assert!(page.contains("Call Sam"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE event_name = 'action_item_completed'")
            .await,
        1
    );
    assert_eq!(b.submit(&format!("/actions/{id}/reopen"), &[]).await.0, 303);
    assert_eq!(
        b.submit(
            &format!("/actions/{id}"),
            &[
                ("title", "Call Sam back"),
                ("due", "in 3 days"),
                ("priority", "high"),
                ("tags", "")
            ]
        )
        .await
        .0,
        303
    );
    let (title, completed): (String, i64) =
        sqlx::query_as("SELECT title, completed FROM action_items WHERE id = $1")
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!((title.as_str(), completed), ("Call Sam back", 0));

    // Someone else can't touch it.
    let eve = app.new_browser();
    signup(&app, &eve, "eve@example.com").await;
    assert_eq!(
        eve.post(&format!("/actions/{id}/delete"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        eve.post(&format!("/actions/{id}/complete"), &[])
            .await
            .status(),
        404
    );
    assert!(!eve.page("/actions").await.1.contains("Call Sam"));

    assert_eq!(b.submit(&format!("/actions/{id}/delete"), &[]).await.0, 303);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM action_items WHERE user_id = $1")
        .bind(&uid)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 2);
    app.stop().await;
}
dual_test!(action_items_are_filtered_edited_completed_and_deleted_by_their_owner);

async fn deleting_a_session_removes_its_reflections_and_actions(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let path = start(&b, "GROW").await;
    complete(&b, &path, &fw).await;
    b.submit(&format!("{path}/close"), &[]).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 2);
    let (_, page, _) = b.page(&format!("{path}/delete")).await;
    assert!(
        page.contains("2 action items will be deleted") || page.contains("and 2 action items"),
        "{page}"
    );
    let eve = app.new_browser();
    assert_eq!(eve.post(&format!("{path}/delete"), &[]).await.status(), 404);
    assert_eq!(b.submit(&format!("{path}/delete"), &[]).await.0, 303);
    for table in ["coaching_sessions", "session_reflections", "action_items"] {
        assert_eq!(
            app.count(match table {
                "coaching_sessions" => "SELECT COUNT(*) FROM coaching_sessions",
                "session_reflections" => "SELECT COUNT(*) FROM session_reflections",
                _ => "SELECT COUNT(*) FROM action_items",
            })
            .await,
            0,
            "{table}"
        );
    }
    app.stop().await;
}
dual_test!(deleting_a_session_removes_its_reflections_and_actions);

async fn the_calendar_feed_is_valid_icalendar_behind_a_revocable_secret(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    start(&b, "GROW").await;
    b.submit(
        "/actions",
        &[("title", "Call Sam, then write notes"), ("due", "Friday")],
    )
    .await;
    b.submit("/actions", &[("title", "No date")]).await;
    let (status, page, _) = b.submit("/actions/calendar", &[]).await;
    assert_eq!(status, 200);
    let url = crate::harness::extract(
        &page,
        "<code class=\"secret\" id=\"calendar-url\">",
        "</code>",
    )
    .unwrap();
    let path = url
        .strip_prefix("https://coach.example.test")
        .unwrap()
        .to_owned();
    // One tap subscribes in the calendar app; the link can be copied too (with JavaScript).
    assert!(
        page.contains(&format!(
            r#"<a class="button" href="webcal://coach.example.test{path}">Subscribe in my calendar app</a>"#
        )),
        "{page}"
    );
    assert!(page.contains(r#"data-copy="calendar-url""#));
    let stranger = app.plain();
    let r = stranger.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
    let body = r.text().await.unwrap();
    let calendar: icalendar::Calendar = body.parse().expect("valid iCalendar");
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1, "only dated items");
    use icalendar::Component;
    assert_eq!(events[0].get_summary(), Some("Call Sam, then write notes"));
    assert!(body.contains("DTSTART;VALUE=DATE:20260116"));
    assert_eq!(
        stranger
            .request(Method::GET, "/calendar/forged.ics")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    b.submit("/actions/calendar/revoke", &[]).await;
    assert_eq!(
        stranger
            .request(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "revoked"
    );
    app.stop().await;
}
dual_test!(the_calendar_feed_is_valid_icalendar_behind_a_revocable_secret);

async fn user_metrics_follow_the_journey_and_the_dashboard_draws_them(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    let uid = signup(&app, &b, "ada@example.com").await;
    // A new member is welcomed with one way in, not charts of zeros.
    let (_, page, _) = b.page("/dashboard").await;
    assert!(
        page.contains("Your first session is about 20 minutes away"),
        "{page}"
    );
    assert!(page.contains(r#"<input type="hidden" name="framework" value="GROW"><button type="submit" class="button">Start a GROW session</button>"#));
    assert!(!page.contains("<svg"), "no empty charts");
    let path = start(&b, "GROW").await;
    let (_, page, _) = b.page("/dashboard").await;
    assert!(!page.contains("Your first session"));
    assert!(
        page.contains("Pick up where you left off") && page.contains(&path),
        "continue the open session"
    );
    app.clock.advance_ms(60_000);
    complete(&b, &path, &fw).await;
    app.clock.advance_ms(20 * 60_000);
    b.submit(&format!("{path}/close"), &[]).await;
    let id: String = sqlx::query_scalar("SELECT id FROM action_items WHERE title = 'Call Sam'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    b.submit(&format!("/actions/{id}/complete"), &[]).await;
    let row: (i64, i64, i64, String, Option<i64>, i64) = sqlx::query_as(
        "SELECT sessions_completed, actions_created, actions_completed, frameworks_used, last_session_at, total_time_spent FROM user_metrics WHERE user_id = $1",
    ).bind(&uid).fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(
        (row.0, row.1, row.2, row.3.as_str()),
        (1, 2, 1, "[\"GROW\"]")
    );
    assert_eq!(row.4, Some(app.clock.now_ms()));
    // A minute answering, then 20 minutes away before closing: the pause counts 15.
    assert_eq!(row.5, 60 + 15 * 60, "seconds spent in the session");
    let (status, page, _) = b.page("/dashboard").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<strong>16</strong> minutes of coaching"),
        "{page}"
    );
    // The week's bar is this calendar week's, labelled with its Monday.
    let monday = coachflux_domain::dates::week_starts(
        app.clock.now_ms(),
        coachflux_domain::dates::Zone::default(),
        1,
    )[0];
    assert!(
        page.contains(&coachflux_domain::dates::day_month(
            monday,
            coachflux_domain::dates::Zone::default()
        )),
        "{page}"
    );
    assert!(page.contains("<svg") && page.contains("50% of your action items are done"));
    assert!(page.contains("Sessions completed per week"));
    assert!(!page.contains("Pick up where you left off"));

    // Items made and ticked off by hand add to the counters; they agree with a recount.
    b.submit("/actions", &[("title", "Book the room")]).await;
    b.submit("/actions", &[("title", "Send the notes")]).await;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM action_items WHERE title IN ('Book the room', 'Send the notes') ORDER BY title",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    for (path, id) in [
        ("complete", &ids[0]),
        ("complete", &ids[1]),
        ("reopen", &ids[0]),
    ] {
        b.submit(&format!("/actions/{id}/{path}"), &[]).await;
    }
    b.submit(&format!("/actions/{}/complete", ids[1]), &[])
        .await; // already done: no change
    let mut conn = app.store.conn().await.unwrap();
    let counted = coachflux_store::metrics::get(&mut conn, &uid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((counted.actions_created, counted.actions_completed), (4, 2));
    let recounted = coachflux_store::metrics::recompute(&mut conn, &uid, counted.updated_at)
        .await
        .unwrap();
    assert_eq!(counted, recounted, "the counters agree with a recount");
    drop(conn);

    // An hour later, a second session done at once: the time between sessions isn't coaching.
    app.clock.advance_ms(60 * 60_000);
    let second = start(&b, "GROW").await;
    complete(&b, &second, &fw).await;
    b.submit(&format!("{second}/close"), &[]).await;
    let spent: i64 =
        sqlx::query_scalar("SELECT total_time_spent FROM user_metrics WHERE user_id = $1")
            .bind(&uid)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(spent, 60 + 15 * 60, "each session's own time only");
    app.stop().await;
}
dual_test!(user_metrics_follow_the_journey_and_the_dashboard_draws_them);

async fn a_closed_session_can_be_rated_and_emailed(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let path = start(&b, "GROW").await;
    let id = path.trim_start_matches("/sessions/").to_owned();
    assert_eq!(
        b.post(&format!("{path}/rating"), &[("rating", "5")])
            .await
            .status(),
        422,
        "only once closed"
    );
    complete(&b, &path, &fw).await;
    b.submit(&format!("{path}/close"), &[]).await;
    assert_eq!(
        b.post(&format!("{path}/rating"), &[("rating", "9")])
            .await
            .status(),
        422
    );
    assert_eq!(
        b.submit(
            &format!("{path}/rating"),
            &[("rating", "4"), ("comment", "Useful")]
        )
        .await
        .0,
        303
    );
    assert_eq!(
        b.submit(&format!("{path}/rating"), &[("rating", "5")])
            .await
            .0,
        303,
        "a new rating replaces the old"
    );
    let (rating, kind, status): (i64, String, String) =
        sqlx::query_as("SELECT rating, type, status FROM feedback WHERE session_id = $1")
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (rating, kind.as_str(), status.as_str()),
        (5, "general", "new")
    );
    let (_, page, _) = b.page(&format!("{path}/report")).await;
    assert!(page.contains("Thanks for rating it 5 out of 5"));

    assert_eq!(b.submit(&format!("{path}/report/email"), &[]).await.0, 303);
    let mail = app.last_email("ada@example.com", "session_report").await;
    assert!(mail.subject.contains("GROW"));
    assert!(
        mail.body_text.contains("Call Sam")
            && mail
                .body_text
                .contains(&format!("https://coach.example.test{path}/report"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE event_name = 'report_emailed'")
            .await,
        1
    );
    app.stop().await;
}
dual_test!(a_closed_session_can_be_rated_and_emailed);

async fn the_framework_helper_recommends_one_and_deleting_unfinished_work_counts_as_abandoned(
    app: TestApp,
) {
    let b = app.new_browser();
    let (status, page, _) = b.page("/frameworks/helper?focus=change&minutes=20").await;
    assert_eq!(status, 200);
    assert!(page.contains("Try COMPASS"));
    // Locked for a visitor: how to unlock it, in place, and what they can start now.
    assert!(page.contains("COMPASS is for members."), "{page}");
    assert!(page.contains("Or start now with GROW"), "{page}");
    assert!(
        page.contains(r#"value="GROW"><button type="submit" class="button" id="start-instead">"#)
    );
    // A member can start it from the recommendation.
    let member = app.new_browser();
    signup(&app, &member, "ada@example.com").await;
    let (_, page, _) = member
        .page("/frameworks/helper?focus=change&minutes=20")
        .await;
    assert!(
        page.contains("Start COMPASS now") && !page.contains("is for members"),
        "{page}"
    );
    let (_, page, _) = b.page("/frameworks/helper?focus=change&minutes=10").await;
    assert!(page.contains("Try WOOP"));
    let (_, page, _) = b.page("/frameworks/helper").await;
    assert!(page.contains("What's on your mind?") && !page.contains("Try "));
    let path = start(&b, "GROW").await;
    assert_eq!(b.submit(&format!("{path}/delete"), &[]).await.0, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE event_name = 'session_abandoned'")
            .await,
        1
    );
    app.stop().await;
}
dual_test!(the_framework_helper_recommends_one_and_deleting_unfinished_work_counts_as_abandoned);

async fn a_visitor_who_logs_in_finds_their_session_once_however_often_they_sign_in(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    let uid = signup(&app, &b, "ada@example.com").await;
    assert_eq!(b.submit("/logout", &[]).await.0, 303);
    // Signed out, the same browser tries GROW as a visitor.
    let path = start(&b, "GROW").await;
    let id = path.trim_start_matches("/sessions/").to_owned();
    let anonymous_id: String =
        sqlx::query_scalar("SELECT anonymous_id FROM coaching_sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    complete(&b, &path, &fw).await;
    b.submit(&format!("{path}/close"), &[]).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 0);
    // The visitor's report asks them to keep the plan, at the top.
    let (_, report, _) = b.page(&format!("{path}/report")).await;
    assert!(report.contains("Keep this plan"), "{report}");
    assert!(
        report.find("Keep this plan") < report.find("Action plan"),
        "the card comes first"
    );

    let (status, _, location) =
        crate::identity::login(&b, "ada@example.com", crate::identity::PASSWORD).await;
    assert_eq!(status, 303);
    // They land on the report they were reading, told it is saved.
    assert_eq!(location.as_deref(), Some(format!("{path}/report").as_str()));
    let (_, report, _) = b.page(&format!("{path}/report")).await;
    assert!(report.contains("Saved to your account"), "{report}");
    assert!(!report.contains("Keep this plan"), "{report}");
    let row: (Option<String>, i64, Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT user_id, is_anonymous, anonymous_id, expires_at FROM coaching_sessions WHERE id = $1",
    ).bind(&id).fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(
        row,
        (Some(uid.clone()), 0, None, None),
        "logging in moves it like signing up"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM action_items").await, 2);
    let sessions_completed: i64 =
        sqlx::query_scalar("SELECT sessions_completed FROM user_metrics WHERE user_id = $1")
            .bind(&uid)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(sessions_completed, 1);

    // Signing in again, or running the migration again, changes nothing.
    b.submit("/logout", &[]).await;
    crate::identity::login(&b, "ada@example.com", crate::identity::PASSWORD).await;
    let mut conn = app.store.conn().await.unwrap();
    let moved = coachflux::services::coaching::migrate_anonymous(
        &mut conn,
        &anonymous_id,
        &uid,
        app.clock.now_ms(),
    )
    .await
    .unwrap();
    assert!(moved.is_empty());
    drop(conn);
    assert_eq!(app.count("SELECT COUNT(*) FROM coaching_sessions").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM action_items").await,
        2,
        "no duplicated items"
    );
    assert_eq!(b.get(&format!("{path}/report")).await.status(), 200);
    app.stop().await;
}
dual_test!(a_visitor_who_logs_in_finds_their_session_once_however_often_they_sign_in);

async fn a_paused_session_can_be_ended_and_keeps_what_was_said(app: TestApp) {
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let path = start(&b, "GROW").await;
    let id = path.trim_start_matches("/sessions/").to_owned();
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(&format!("{path}/turn"), &[("input", "Find a calmer job")])
        .await;
    b.submit(
        &format!("{path}/turn"),
        &[("input", "Some days I want to kill myself")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("Let's pause here") && page.contains("End the session"),
        "{page}"
    );
    let (status, _, location) = b.submit(&format!("{path}/end"), &[]).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some(format!("{path}/report").as_str()))
    );
    let (status, report, _) = b.page(&format!("{path}/report")).await;
    assert_eq!(status, 200);
    assert!(
        report.contains("ended before every step was done"),
        "{report}"
    );
    assert!(
        report.contains("Find a calmer job"),
        "what was said is kept"
    );
    // A short, kind summary with who to talk to, not an analysis of what was left open.
    assert!(
        report.contains("You ended this session after we paused it, and that's completely okay."),
        "{report}"
    );
    assert!(report.contains("Someone to talk to"), "{report}");
    assert!(report.contains("class=\"helplines\""), "{report}");
    assert!(!report.contains("was left open"), "{report}");
    assert!(!report.contains("Risks to watch"), "{report}");
    let (status, closed_at): (String, Option<i64>) =
        sqlx::query_as("SELECT status, closed_at FROM coaching_sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), closed_at),
        ("abandoned", Some(app.clock.now_ms()))
    );
    let resolution: String = sqlx::query_scalar("SELECT resolution FROM safety_incidents")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(resolution, "closed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE event_name = 'session_abandoned'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM user_metrics WHERE sessions_completed > 0")
            .await,
        0,
        "ended is not completed"
    );
    // Nothing changes any more.
    assert_eq!(b.submit(&format!("{path}/resume"), &[]).await.0, 303);
    assert_eq!(
        b.submit(&format!("{path}/turn"), &[("input", "more")])
            .await
            .0,
        422
    );
    assert_eq!(b.submit(&format!("{path}/end"), &[]).await.0, 422);
    app.stop().await;
}
dual_test!(a_paused_session_can_be_ended_and_keeps_what_was_said);

async fn the_action_plan_is_edited_before_keeping_and_earlier_steps_can_be_reopened(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    let uid = signup(&app, &b, "ada@example.com").await;
    let path = start(&b, "GROW").await;
    complete(&b, &path, &fw).await;
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("Change an earlier step") && page.contains("Reopen Reality"),
        "{page}"
    );
    // Reopening a step from the plan keeps its answers; confirming it comes back to the plan.
    assert_eq!(
        b.submit(&format!("{path}/amend"), &[("step", "reality")])
            .await
            .0,
        303
    );
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("Here's what we captured") && page.contains("My honest answer about"),
        "{page}"
    );
    assert_eq!(b.submit(&format!("{path}/proceed"), &[]).await.0, 303);
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("Your action plan"), "{page}");
    assert_eq!(
        page.matches(">Kept</span></p>").count(),
        2,
        "the plan keeps the decisions made before: {page}"
    );

    let (status, page, _) = b
        .submit(
            &format!("{path}/proposals/0"),
            &[
                ("decision", "accept"),
                ("title", "Call Sam about the role"),
                ("due", "someday"),
                ("priority", "low"),
                ("tags", ""),
            ],
        )
        .await;
    assert_eq!(status, 422, "a due date we can't read is refused");
    assert!(page.contains("Use a date like"), "{page}");
    assert_eq!(
        b.submit(
            &format!("{path}/proposals/0"),
            &[
                ("decision", "accept"),
                ("title", "Call Sam about the role"),
                ("due", "2026-02-02"),
                ("priority", "low"),
                ("tags", "career, network"),
            ]
        )
        .await
        .0,
        303
    );
    assert_eq!(
        b.submit(&format!("{path}/proposals/1"), &[("decision", "drop")])
            .await
            .0,
        303
    );
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("value=\"2026-02-02\"") && page.contains("Mon 2 Feb 2026"),
        "{page}"
    );
    // Each card says whether it is kept; closing is the plan's one primary action.
    assert!(page.contains(r#"<span class="badge badge-beginner">Kept</span>"#));
    assert!(page.contains(r#"<span class="badge badge-dropped">Dropped</span>"#));
    let plan = &page[page.find("id=\"plan\"").unwrap()..];
    assert_eq!(plan.matches("class=\"button\"").count(), 1, "{plan}");
    assert!(plan.contains(r#"class="button" id="close-session">Close and keep 1 action<"#));
    b.submit(&format!("{path}/close"), &[]).await;
    let items: Vec<(String, Option<i64>, String, String)> = sqlx::query_as(
        "SELECT title, due_date, priority, tags FROM action_items WHERE user_id = $1",
    )
    .bind(&uid)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        items,
        vec![(
            "Call Sam about the role".to_owned(),
            Some(coachflux_domain::dates::from_ymd(2026, 2, 2) + 86_400_000 - 1),
            "low".to_owned(),
            "[\"career\",\"network\"]".to_owned(),
        )],
        "the edited action, and not the dropped one"
    );
    app.stop().await;
}
dual_test!(the_action_plan_is_edited_before_keeping_and_earlier_steps_can_be_reopened);

async fn compass_optional_questions_can_be_left_and_the_report_scores_the_session(app: TestApp) {
    let fw = Catalogue::builtin()
        .unwrap()
        .get("COMPASS")
        .unwrap()
        .clone();
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let path = start(&b, "COMPASS").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    let mut left_open = 0;
    for step in &fw.steps {
        for field in step.fields.iter().filter(|f| f.required) {
            // Optional questions asked before a required one are answered.
            loop {
                let (_, page, _) = b.page(&path).await;
                let label = crate::harness::extract(&page, "<legend>", "</legend>")
                    .or_else(|| crate::harness::extract(&page, "<label for=\"input\">", "</label>"))
                    .unwrap_or_default();
                let asked = step
                    .fields
                    .iter()
                    .find(|f| label.starts_with(&f.label))
                    .expect("a question of this step");
                assert_eq!(
                    b.submit(&format!("{path}/turn"), &[("input", &answer_for(asked))])
                        .await
                        .0,
                    303
                );
                pass_follow_ups(&b, &path).await;
                if asked.id == field.id {
                    break;
                }
            }
        }
        let (_, page, _) = b.page(&path).await;
        if page.contains("the rest of its questions are optional") {
            left_open += 1;
        } else {
            assert!(
                page.contains("Here's what we captured"),
                "{}: {page}",
                step.id
            );
        }
        assert_eq!(
            b.submit(&format!("{path}/proceed"), &[]).await.0,
            303,
            "{}",
            step.id
        );
    }
    assert!(left_open >= 1, "some optional questions were left");
    b.submit(&format!("{path}/close"), &[]).await;
    let (_, report, _) = b.page(&format!("{path}/report")).await;
    let scale = |id: &str| {
        let f = fw
            .steps
            .iter()
            .flat_map(|s| &s.fields)
            .find(|f| f.id == id)
            .unwrap();
        answer_for(f).parse::<i32>().unwrap()
    };
    let mindset = answer_for(
        fw.steps
            .iter()
            .flat_map(|s| &s.fields)
            .find(|f| f.id == "final_mindset")
            .unwrap(),
    );
    let expected = coachflux_domain::compass::score(&coachflux_domain::compass::CompassInputs {
        initial_confidence: scale("initial_confidence"),
        final_confidence: scale("final_confidence"),
        final_action_clarity: scale("final_action_clarity"),
        final_mindset: &mindset,
        satisfaction: scale("satisfaction"),
        action_commitment: scale("action_commitment"),
    })
    .unwrap();
    assert!(
        report.contains(&format!("COMPASS success score: {}", expected.total)),
        "{report}"
    );
    assert!(
        report.contains(&format!("Commitment: {}", expected.commitment)),
        "{report}"
    );
    let md = b
        .get(&format!("{path}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        md.contains(&format!("## COMPASS success score: {}", expected.total)),
        "{md}"
    );
    app.stop().await;
}
dual_test!(compass_optional_questions_can_be_left_and_the_report_scores_the_session);

async fn closing_keeps_every_action_that_was_not_dropped(app: TestApp) {
    let fw = grow();
    let b = app.new_browser();
    signup(&app, &b, "ada@example.com").await;
    let path = start(&b, "GROW").await;
    answer_every_step(&b, &path, &fw).await;
    let (_, page, _) = b.page(&path).await;
    let proposed = page.matches("class=\"proposal proposal-").count();
    assert!(proposed >= 2, "{page}");
    let dropped = crate::harness::extract(
        &page,
        r#"id="proposal-1" type="text" name="title" value=""#,
        "\"",
    )
    .unwrap();
    // Edit the first, drop the second, leave the rest as they were proposed.
    assert_eq!(
        b.submit(
            &format!("{path}/proposals/0"),
            &[("decision", "accept"), ("title", "Call Sam this week")]
        )
        .await
        .0,
        303
    );
    assert_eq!(
        b.submit(&format!("{path}/proposals/1"), &[("decision", "drop")])
            .await
            .0,
        303
    );
    let (_, page, _) = b.page(&path).await;
    let kept = proposed - 1;
    assert!(
        page.contains(&format!("Close and keep {kept} action")),
        "the close button says what it keeps: {page}"
    );
    assert!(
        page.contains(r#"<span class="badge badge-dropped">Dropped</span> <span class="muted">Left out when you close</span>"#),
        "{page}"
    );
    assert_eq!(b.submit(&format!("{path}/close"), &[]).await.0, 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM action_items").await,
        i64::try_from(kept).unwrap()
    );
    let (_, report, _) = b.page(&format!("{path}/report")).await;
    let plan = crate::harness::extract(&report, "<ul class=\"plan\">", "</ul>").unwrap();
    assert_eq!(
        plan.matches("<li>").count(),
        kept,
        "all but the dropped one: {plan}"
    );
    assert!(plan.contains("Call Sam this week"), "{plan}");
    // The dropped action is nowhere in the report: the step's own list gives way to the plan.
    assert!(!report.contains(&dropped), "{dropped} in {report}");
    let md = b
        .get(&format!("{path}/report.md"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(md.matches("- [ ] ").count(), kept, "{md}");
    assert!(!md.contains(&dropped), "{md}");
    app.stop().await;
}
dual_test!(closing_keeps_every_action_that_was_not_dropped);

/// Skips the built-in coach's follow-up questions (what puts a scale there, what else...)
/// until it asks the next question of the step.
pub async fn pass_follow_ups(b: &Client, path: &str) {
    for _ in 0..5 {
        let (_, page, _) = b.page(path).await;
        if !page.contains("data-follow-up=") {
            return;
        }
        let (status, _, _) = b.submit(&format!("{path}/skip"), &[]).await;
        assert_eq!(status, 303, "a follow-up can always be skipped");
    }
    panic!("the coach kept following up");
}

async fn the_coach_follows_up_on_a_page_and_shows_what_was_added(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(&format!("{path}/turn"), &[("input", "Get fitter")])
        .await;
    b.submit(&format!("{path}/turn"), &[("input", "Doctor.")])
        .await;
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("data-follow-up=\"say_more\""), "{page}");
    assert!(
        page.contains("“Doctor” — could you say a little more about that?"),
        "the follow-up is asked: {page}"
    );
    assert!(
        page.contains("<label for=\"input\">Your answer"),
        "it takes words: {page}"
    );
    assert!(page.contains("Skip this question"), "{page}");
    b.submit(
        &format!("{path}/turn"),
        &[("input", "My blood pressure was high at my check-up")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(!page.contains("data-follow-up="), "{page}");
    b.submit(
        &format!("{path}/turn"),
        &[("input", "I walk up the hill to work without stopping")],
    )
    .await;
    b.submit(&format!("{path}/turn"), &[("input", "by the end of March")])
        .await;
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains(
            "<dt>Why now — more on this</dt>\n    <dd>My blood pressure was high at my check-up"
        ),
        "what was added is kept under the answer: {page}"
    );
    assert!(
        page.contains("blood pressure was high at your check-up"),
        "said back in the second person: {page}"
    );
    app.stop().await;
}
dual_test!(the_coach_follows_up_on_a_page_and_shows_what_was_added);

async fn a_check_in_after_distress_shows_the_helplines_under_the_reply(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(
        &format!("{path}/turn"),
        &[("input", "I can't cope with the workload any more")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(
        page.contains("That sounds really hard, and I&#39;m glad you said it.")
            || page.contains("That sounds really hard, and I'm glad you said it."),
        "{page}"
    );
    assert!(page.contains("helplines-offered"), "{page}");
    assert!(
        !page.contains("Let's pause here"),
        "the session goes on: {page}"
    );
    assert!(
        page.contains("data-stream") || page.contains("/turn"),
        "{page}"
    );
    app.stop().await;
}
dual_test!(a_check_in_after_distress_shows_the_helplines_under_the_reply);

async fn a_medical_emergency_on_the_page_says_to_call_now(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    b.submit(
        &format!("{path}/turn"),
        &[("input", "My dad just collapsed and isn't responding")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    assert!(page.contains("Let's pause here"), "{page}");
    assert!(
        page.contains(
            "This sounds like a medical emergency for someone with you. Please call your local \
             emergency number now (it's below) and stay with them."
        ),
        "the card's words fit what was found: {page}"
    );
    let first = crate::harness::extract(&page, "<ul class=\"helplines\">", "</ul>").unwrap();
    assert!(
        first
            .trim_start()
            .starts_with("<li class=\"helpline\"><strong>Emergency services: call now</strong>"),
        "{first}"
    );
    // No country known, so no number to dial: no "Get help now" to a directory website.
    assert!(!page.contains("get-help"), "{page}");
    app.stop().await;
}
dual_test!(a_medical_emergency_on_the_page_says_to_call_now);

/// What the page asks now: the coach's bubble waiting for an answer, or the last reply (which
/// ends with the question when it asks it).
fn asking(page: &str) -> String {
    const COACH: &str =
        r#"<div class="bubble bubble-coach"><span class="visually-hidden">Coach: </span>"#;
    crate::harness::extract(
        page,
        r#"<div class="bubble bubble-coach" id="prompt"><span class="visually-hidden">Coach: </span>"#,
        "</div>",
    )
    .or_else(|| {
        let last = page.rfind(COACH)?;
        crate::harness::extract(&page[last..], COACH, "</div>")
    })
    .unwrap_or_else(|| panic!("a question: {page}"))
}

/// Whether `question` is shown as the coach's bubble right above the answer `answer`.
fn asked_above(page: &str, question: &str, answer: &str) -> bool {
    let (Some(q), Some(a)) = (
        page.find(&format!("Coach: </span>{question}</div>")),
        page.find(&format!("You: </span>{answer}</div>")),
    ) else {
        return false;
    };
    q < a && page[q..a].matches("class=\"bubble").count() == 1
}

async fn the_transcript_keeps_each_question_and_says_what_was_skipped(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    b.submit(&format!("{path}/consent"), &[("consent", "on")])
        .await;
    let (_, page, _) = b.page(&path).await;
    let first = asking(&page);
    b.submit(
        &format!("{path}/turn"),
        &[("input", "Lead the platform team by summer")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    // The opening question stays in the conversation, above its answer.
    assert!(
        asked_above(&page, &first, "Lead the platform team by summer"),
        "{page}"
    );
    // A skipped question leaves a line; the one asked next is kept above its answer.
    let skipped = asking(&page);
    assert_eq!(b.submit(&format!("{path}/skip"), &[]).await.0, 303);
    let (_, page, _) = b.page(&path).await;
    assert_eq!(
        page.matches("<p class=\"transcript-note\">Skipped: ")
            .count(),
        1,
        "{page}"
    );
    let next = asking(&page);
    assert_ne!(next, skipped);
    b.submit(&format!("{path}/turn"), &[("input", "By the end of June")])
        .await;
    let (_, page, _) = b.page(&path).await;
    assert!(asked_above(&page, &next, "By the end of June"), "{page}");
    let note = page.find("Skipped: ").unwrap();
    assert!(
        note < page.find(&format!("Coach: </span>{next}</div>")).unwrap(),
        "the skip is said before the next question"
    );
    // A question the previous reply already asked isn't repeated.
    let third = asking(&page);
    b.submit(
        &format!("{path}/turn"),
        &[("input", "I lead one team of four today")],
    )
    .await;
    let (_, page, _) = b.page(&path).await;
    // (The reply that asked it sits right above the answer, with nothing added between.)
    assert!(asked_above(&page, &third, "I lead one team of four today"));
    assert_eq!(page.matches(&format!("{third}</div>")).count(), 1, "{page}");
    app.stop().await;
}
dual_test!(the_transcript_keeps_each_question_and_says_what_was_skipped);

async fn finished_steps_fold_away_and_the_current_one_stays_open(app: TestApp) {
    let b = app.new_browser();
    let path = start(&b, "GROW").await;
    answer_every_step(&b, &path, &grow()).await;
    let (_, page, _) = b.page(&path).await;
    let folded = page.matches("<details class=\"step-turns\">").count();
    assert_eq!(
        folded, 4,
        "Goal to Will fold; Review, the last, is open: {page}"
    );
    for step in ["Goal", "Reality", "Options", "Will"] {
        assert!(
            page.contains(&format!("<summary>{step} · ")),
            "{step}: {page}"
        );
    }
    assert!(!page.contains("<summary>Review · "), "{page}");
    // Folded, not gone: every answer is still on the page.
    let answers: i64 = app.count("SELECT COUNT(*) FROM session_reflections").await;
    assert_eq!(
        i64::try_from(page.matches("<div class=\"bubble bubble-person\">").count()).unwrap(),
        answers
    );
    app.stop().await;
}
dual_test!(finished_steps_fold_away_and_the_current_one_stays_open);
