use crate::dual_test;
use crate::harness::TestApp;
use coachflux_domain::Catalogue;

async fn healthz_and_readyz_answer_when_the_database_is_migrated(app: TestApp) {
    let (status, body) = app.page("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = app.page("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    app.stop().await;
}
dual_test!(healthz_and_readyz_answer_when_the_database_is_migrated);

async fn readyz_is_503_when_the_database_is_gone(app: TestApp) {
    app.server_store.close().await;
    let (status, body) = app.page("/readyz").await;
    assert_eq!(status, 503);
    assert!(
        !body.contains("sqlx") && !body.contains("pool"),
        "no internals: {body}"
    );
    // Liveness does not depend on the database.
    assert_eq!(app.page("/healthz").await.0, 200);
    // A page that needs the database is a 500 page that leaks nothing.
    let (status, html) = app.page("/").await;
    assert_eq!(status, 500);
    assert!(html.contains("Something went wrong on our side"));
    assert!(!html.to_lowercase().contains("pool"), "leaked: {html}");
    app.stop().await;
}
dual_test!(readyz_is_503_when_the_database_is_gone);

async fn metrics_count_requests_by_route_and_report_the_pool(app: TestApp) {
    for _ in 0..2 {
        assert_eq!(app.page("/").await.0, 200);
    }
    assert_eq!(app.page("/frameworks/GROW").await.0, 200);
    assert_eq!(app.page("/nope").await.0, 404);
    let text = app.metrics().await;
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.starts_with(needle))
            .map(str::to_owned)
    };
    assert_eq!(
        line("http_requests_total{method=\"GET\",route=\"/\",status=\"200\"}").as_deref(),
        Some("http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 2")
    );
    assert!(
        line("http_requests_total{method=\"GET\",route=\"/frameworks/{id}\",status=\"200\"} 1")
            .is_some(),
        "route templates, not raw paths:\n{text}"
    );
    assert!(
        line("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1").is_some()
    );
    assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/\""));
    assert!(line("db_pool_connections ").is_some(), "{text}");
    assert!(line("db_pool_max_connections 4").is_some(), "{text}");
    app.stop().await;
}
dual_test!(metrics_count_requests_by_route_and_report_the_pool);

async fn seeding_is_idempotent_and_keeps_usage_and_creation_time(app: TestApp) {
    let store = &app.store;
    store.increment_framework_usage("GROW").await.unwrap();
    store.increment_framework_usage("GROW").await.unwrap();
    let before = store.get_framework("GROW").await.unwrap().unwrap();
    assert_eq!(before.usage_count, 2);

    let mut catalogue = Catalogue::builtin().unwrap();
    catalogue.frameworks[0].tagline = "A refreshed tagline".to_owned();
    let later = crate::harness::T0 + 86_400_000;
    store
        .seed_frameworks(&catalogue.frameworks, later)
        .await
        .unwrap();
    store
        .seed_frameworks(&catalogue.frameworks, later)
        .await
        .unwrap();

    let after = store.get_framework("GROW").await.unwrap().unwrap();
    assert_eq!(after.usage_count, 2, "re-seeding never resets usage");
    assert_eq!(after.created_at, before.created_at, "nor creation time");
    assert_eq!(
        after.framework.tagline, "A refreshed tagline",
        "content is refreshed"
    );
    assert_eq!(after.framework.steps, catalogue.frameworks[0].steps);
    assert_eq!(
        store.list_frameworks().await.unwrap().len(),
        6,
        "no duplicates"
    );
    app.stop().await;
}
dual_test!(seeding_is_idempotent_and_keeps_usage_and_creation_time);

async fn stored_frameworks_round_trip_every_catalogue_field(app: TestApp) {
    let catalogue = Catalogue::builtin().unwrap();
    let stored: Vec<_> = app
        .store
        .list_frameworks()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.framework)
        .collect();
    assert_eq!(stored, catalogue.frameworks);
    app.stop().await;
}
dual_test!(stored_frameworks_round_trip_every_catalogue_field);
