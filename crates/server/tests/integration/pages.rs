use crate::dual_test;
use crate::harness::TestApp;
use crate::harness::text_of;
use coachflux_domain::Catalogue;
use reqwest::Method;

async fn home_lists_the_six_frameworks(app: TestApp) {
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = text_of(&r.text().await.unwrap());
    for fw in Catalogue::builtin().unwrap().frameworks {
        assert!(html.contains(&fw.name), "home lacks {}", fw.name);
        // Icons are SVG drawn for CoachFlux: emoji show as empty boxes without an emoji font.
        assert!(!html.contains(&fw.emoji), "home shows {}'s emoji", fw.name);
        assert!(
            html.contains(&fw.tagline),
            "home lacks {}'s tagline",
            fw.name
        );
        assert!(html.contains(&format!("href=\"/frameworks/{}\"", fw.id)));
        for step in &fw.steps {
            assert!(
                html.contains(&step.name),
                "home lacks step {} of {}",
                step.name,
                fw.id
            );
        }
    }
    for icon in [
        "icon-grow",
        "icon-clear",
        "icon-compass",
        "icon-oskar",
        "icon-fuel",
        "icon-woop",
    ] {
        assert!(
            html.contains(&format!(r#"<svg class="icon {icon}""#)),
            "{icon}"
        );
    }
    assert!(html.contains("<title>"), "a real page with a title");
    assert!(
        html.contains("/static/app.css?v="),
        "styled by our stylesheet"
    );
    app.stop().await;
}
dual_test!(home_lists_the_six_frameworks);

async fn the_home_page_starts_a_session_in_one_click(app: TestApp) {
    let b = app.new_browser();
    let (status, html, _) = b.page("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Start a free GROW session"), "{html}");
    assert_eq!(
        html.matches("icon-lock").count(),
        1,
        "the members note, once"
    );
    // The hero's form: one click from the first screen to the first question.
    assert!(html.contains(r#"<input type="hidden" name="framework" value="GROW"><button type="submit" class="button button-large" id="hero-start">"#));
    let (status, _, location) = b.submit("/sessions", &[("framework", "GROW")]).await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with("/sessions/"));
    app.stop().await;
}
dual_test!(the_home_page_starts_a_session_in_one_click);

async fn frameworks_page_lists_every_framework_in_catalogue_order(app: TestApp) {
    let (status, html) = app.page("/frameworks").await;
    assert_eq!(status, 200);
    let html = text_of(&html);
    let positions: Vec<usize> = ["GROW", "CLEAR", "COMPASS", "OSKAR", "FUEL", "WOOP"]
        .iter()
        .map(|id| {
            html.find(&format!("id=\"fw-{id}\""))
                .unwrap_or_else(|| panic!("{id} missing"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "catalogue order: {positions:?}"
    );
    // A visitor is told once for the page what they can start and how to unlock the rest; the
    // locked cards say so quietly.
    assert_eq!(html.matches("icon-lock").count(), 1, "said once");
    assert!(
        html.contains("As a visitor you can try GROW now; create a free account (or log in) to use every framework."),
        "{html}"
    );
    let compass = &html[positions[2]..positions[3]];
    assert!(compass.contains("For members"), "{compass}");
    let grow = &html[positions[0]..positions[1]];
    assert!(!grow.contains("For members"), "{grow}");
    app.stop().await;
}
dual_test!(frameworks_page_lists_every_framework_in_catalogue_order);

async fn framework_page_shows_steps_questions_and_fields(app: TestApp) {
    let catalogue = Catalogue::builtin().unwrap();
    for fw in &catalogue.frameworks {
        let (status, html) = app.page(&format!("/frameworks/{}", fw.id)).await;
        assert_eq!(status, 200, "{}", fw.id);
        let html = text_of(&html);
        assert!(html.contains(&fw.description));
        assert!(html.contains(&fw.estimated_time));
        for step in &fw.steps {
            assert!(html.contains(&step.name));
            assert!(
                html.contains(&step.description),
                "{}: {}",
                fw.id,
                step.description
            );
            for q in &step.questions {
                assert!(
                    html.contains(q.as_str()),
                    "{}: question {q:?} missing",
                    fw.id
                );
            }
            for field in &step.fields {
                assert!(
                    html.contains(&field.label),
                    "{}: field {} missing",
                    fw.id,
                    field.label
                );
            }
        }
    }
    // Lower-case ids work too.
    assert_eq!(app.page("/frameworks/grow").await.0, 200);
    app.stop().await;
}
dual_test!(framework_page_shows_steps_questions_and_fields);

async fn unknown_framework_is_a_404_page(app: TestApp) {
    let r = app.get("/frameworks/NOPE").await;
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = text_of(&r.text().await.unwrap());
    assert!(html.contains("We couldn't find that page"));
    assert!(html.contains("href=\"/\""), "a way back");
    app.stop().await;
}
dual_test!(unknown_framework_is_a_404_page);

async fn unknown_route_is_a_404_page_with_security_headers(app: TestApp) {
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), 404);
    let h = r.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert!(h.contains_key("referrer-policy"));
    assert!(h.contains_key("x-request-id"));
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="),
        "HSTS because the public URL is https"
    );
    assert!(text_of(&r.text().await.unwrap()).contains("We couldn't find that page"));
    app.stop().await;
}
dual_test!(unknown_route_is_a_404_page_with_security_headers);

async fn wrong_method_is_a_405_page(app: TestApp) {
    let token = app.browser.csrf().await;
    let r = app
        .browser
        .request(Method::POST, "/")
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().contains_key("allow"));
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("405"));
    app.stop().await;
}
dual_test!(wrong_method_is_a_405_page);

async fn oversized_body_is_a_413_page(app: TestApp) {
    let answer = crate::harness::post_declaring(app.addr, "/frameworks", "", 2 * 1024 * 1024).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        text_of(&answer).contains("that was too much to send"),
        "{answer}"
    );
    app.stop().await;
}
dual_test!(oversized_body_is_a_413_page);

async fn malformed_path_is_a_400_page_not_a_500(app: TestApp) {
    let r = app.get("/frameworks/%FF%FE").await;
    assert_eq!(r.status(), 400);
    let html = text_of(&r.text().await.unwrap());
    assert!(html.contains("That request didn't make sense"));
    app.stop().await;
}
dual_test!(malformed_path_is_a_400_page_not_a_500);

async fn stylesheet_is_embedded_and_cacheable(app: TestApp) {
    let r = app.get("/static/app.css").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let css = r.text().await.unwrap();
    assert!(css.contains("prefers-color-scheme: dark"));
    assert_eq!(app.get("/favicon.svg").await.status(), 200);
    app.stop().await;
}
dual_test!(stylesheet_is_embedded_and_cacheable);

async fn pages_are_compressed_when_asked(app: TestApp) {
    let r = app
        .browser
        .request(Method::GET, "/")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    app.stop().await;
}
dual_test!(pages_are_compressed_when_asked);

async fn terms_and_privacy_are_real_pages_the_operator_can_replace(app: TestApp) {
    let b = app.new_browser();
    // Defaults shipped in the binary, linked from every page's footer and from sign-up.
    let (status, home, _) = b.page("/").await;
    assert_eq!(status, 200);
    assert!(
        home.contains(r#"<a href="/terms">Terms of use</a>"#),
        "{home}"
    );
    assert!(home.contains(r#"<a href="/privacy">Privacy</a>"#), "{home}");
    let (_, signup, _) = b.page("/signup").await;
    assert!(
        signup.contains(r#"href="/terms" target="_blank""#),
        "{signup}"
    );
    assert!(
        signup.contains(r#"href="/privacy" target="_blank""#),
        "{signup}"
    );
    let (status, terms, _) = b.page("/terms").await;
    assert_eq!(status, 200);
    assert!(terms.contains("<h1>Terms of use</h1>"), "{terms}");
    assert!(terms.contains("<h2>What CoachFlux is</h2>"), "{terms}");
    assert!(terms.contains("not therapy"), "{terms}");
    let (status, privacy, _) = b.page("/privacy").await;
    assert_eq!(status, 200);
    assert!(privacy.contains("<h1>Privacy</h1>"), "{privacy}");
    assert!(privacy.contains("<h2>Your rights</h2>"), "{privacy}");
    assert_eq!(privacy.matches("<h1").count(), 1, "one h1 on the page");

    // The operator's file wins at once, without a restart; its raw HTML is shown as text.
    let pages = app.data_dir.join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(
        pages.join("terms.md"),
        "# Acme's terms\n\nBe kind. <script>alert(1)</script> [x](javascript:alert(1))\n",
    )
    .unwrap();
    // The raw body (the browser helper decodes entities).
    let (status, terms) = app.page("/terms").await;
    assert_eq!(status, 200);
    assert!(
        terms.contains("<h2>Acme&#39;s terms</h2>") || terms.contains("<h2>Acme's terms</h2>"),
        "{terms}"
    );
    assert!(
        !terms.contains("What CoachFlux is"),
        "the default is replaced"
    );
    assert!(!terms.contains("<script>alert"), "{terms}");
    assert!(terms.contains("&lt;script&gt;"), "{terms}");
    assert!(!terms.contains("javascript:"), "{terms}");
    // Privacy still has its default.
    let (_, privacy, _) = b.page("/privacy").await;
    assert!(privacy.contains("<h2>Your rights</h2>"));

    // A file the server can't show fails the page rather than publishing the default terms.
    std::fs::write(pages.join("privacy.md"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let (status, page) = app.page("/privacy").await;
    assert_eq!(status, 500);
    assert!(!page.contains("Your rights"));
    assert!(
        !page.contains(&pages.display().to_string()),
        "no path leaks"
    );
    app.stop().await;
}
dual_test!(terms_and_privacy_are_real_pages_the_operator_can_replace);

async fn a_date_box_reads_the_phrase_on_the_persons_calendar(app: TestApp) {
    use coachflux_domain::Clock;
    use coachflux_domain::dates::{self, Zone};
    let read = |zone: Option<&'static str>, text: &str| {
        let mut r = app
            .plain()
            .request(Method::GET, &format!("/dates/preview?text={text}"));
        if let Some(z) = zone {
            r = r.header("cookie", format!("cf_tz={z}"));
        }
        async move {
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("no-store")
            );
            r.json::<serde_json::Value>().await.unwrap()["date"].clone()
        }
    };
    let now = app.clock.now_ms();
    let mut readings = Vec::new();
    for zone in [
        None,
        Some("Pacific/Kiritimati"),
        Some("America/Los_Angeles"),
    ] {
        let z = zone.and_then(Zone::named).unwrap_or_default();
        let expected = dates::label(dates::parse_due("tomorrow", now, z).unwrap().at_ms, z);
        assert_eq!(read(zone, "tomorrow").await, expected.as_str(), "{zone:?}");
        readings.push(expected);
    }
    assert_ne!(
        readings[0], readings[1],
        "at 10:00 UTC it is already tomorrow in Kiritimati"
    );
    assert_eq!(
        read(None, "by%20Friday").await,
        dates::label(
            dates::parse_due("by Friday", now, Zone::default())
                .unwrap()
                .at_ms,
            Zone::default()
        )
        .as_str()
    );
    assert_eq!(read(None, "someday%20maybe").await, serde_json::Value::Null);
    assert_eq!(read(None, &"1".repeat(300)).await, serde_json::Value::Null);
    assert_eq!(read(None, "").await, serde_json::Value::Null);
    // A reading stores nothing.
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM events").await, 0);
    app.stop().await;
}
dual_test!(a_date_box_reads_the_phrase_on_the_persons_calendar);

async fn a_shared_link_shows_a_title_and_a_picture(app: TestApp) {
    let (status, home) = app.page("/").await;
    assert_eq!(status, 200);
    assert!(
        home.contains(
            r#"<meta property="og:image" content="https://coach.example.test/static/social.png">"#
        ),
        "{home}"
    );
    assert!(home.contains(r#"<meta name="twitter:card" content="summary_large_image">"#));
    assert!(home.contains(r#"<meta property="og:title" content="CoachFlux"#));
    let r = app.get("/static/social.png").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // 1200 × 630, as Open Graph asks.
    assert_eq!(&png[16..24], &[0, 0, 4, 176, 0, 0, 2, 118]);
    app.stop().await;
}
dual_test!(a_shared_link_shows_a_title_and_a_picture);
