//! The schema: both engines identical, every table/field/index of the seed present with its
//! optionality, and the constraints the domain relies on enforced.

use crate::dual_test;
use crate::harness::TestApp;
use crate::harness::{Engine, fresh_database};
use coachflux_store::schema::Schema;
use coachflux_store::{ConnectOptions, Store, StoreError};

/// The seed's tables, fields (snake_case; nested objects flattened with their prefix; `?` marks
/// an optional field) and indexes (name without the table prefix, columns).
/// (index name without the table prefix, its columns)
type SeedIndex = (&'static str, &'static [&'static str]);
/// (table, fields, indexes)
type SeedTable = (&'static str, &'static [&'static str], &'static [SeedIndex]);

const SEED: &[SeedTable] = &[
    (
        "users",
        &[
            "email",
            "email_verified",
            "name?",
            "picture?",
            "password_hash?",
            "provider?",
            "provider_id?",
            "totp_secret?",
            "totp_enabled",
            "subscription_status",
            "stripe_customer_id?",
            "stripe_subscription_id?",
            "email_preferences_product_updates",
            "email_preferences_newsletter",
            "email_preferences_action_reminders",
            "email_preferences_marketing_emails",
            "onboarding_completed",
            "preferred_framework?",
            "created_at",
            "last_login_at?",
            "last_active_at?",
        ],
        &[
            ("by_email", &["email"]),
            ("by_provider", &["provider", "provider_id"]),
            ("by_stripe_customer", &["stripe_customer_id"]),
        ],
    ),
    (
        "sessions",
        &[
            "user_id",
            "token",
            "expires_at",
            "last_activity_at",
            "device_info_user_agent",
            "device_info_ip",
            "device_info_location?",
            "is_active",
            "created_at",
        ],
        &[
            ("by_token", &["token"]),
            ("by_user", &["user_id"]),
            ("by_expiry", &["expires_at"]),
        ],
    ),
    (
        "email_verifications",
        &["user_id", "token", "expires_at", "verified", "created_at"],
        &[("by_token", &["token"]), ("by_user", &["user_id"])],
    ),
    (
        "password_resets",
        &["user_id", "token", "expires_at", "used", "created_at"],
        &[("by_token", &["token"]), ("by_user", &["user_id"])],
    ),
    (
        "magic_links",
        &["user_id", "token", "expires_at", "used", "created_at"],
        &[("by_token", &["token"])],
    ),
    (
        "organizations",
        &[
            "name",
            "slug",
            "domain?",
            "logo?",
            "plan",
            "seat_count",
            "used_seats",
            "stripe_customer_id?",
            "settings_sso_enabled",
            "settings_custom_branding",
            "settings_data_residency?",
            "created_at",
        ],
        &[("by_slug", &["slug"]), ("by_domain", &["domain"])],
    ),
    (
        "org_members",
        &["org_id", "user_id", "role", "joined_at"],
        &[
            ("by_org", &["org_id"]),
            ("by_user", &["user_id"]),
            ("by_org_and_user", &["org_id", "user_id"]),
        ],
    ),
    (
        "coaching_sessions",
        &[
            "user_id?",
            "org_id?",
            "framework",
            "step",
            "state",
            "is_anonymous",
            "anonymous_id?",
            "closed_at?",
            "expires_at?",
            "created_at",
            "updated_at",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_org", &["org_id"]),
            ("by_anonymous", &["anonymous_id"]),
            ("by_expiry", &["expires_at"]),
            ("by_created", &["created_at"]),
        ],
    ),
    (
        "session_reflections",
        &["session_id", "step", "user_input", "payload", "created_at"],
        &[
            ("by_session", &["session_id"]),
            ("by_step", &["session_id", "step"]),
        ],
    ),
    (
        "action_items",
        &[
            "user_id",
            "session_id",
            "title",
            "description?",
            "due_date?",
            "completed",
            "completed_at?",
            "priority",
            "tags",
            "reminder_sent",
            "created_at",
            "updated_at",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_session", &["session_id"]),
            ("by_due_date", &["user_id", "due_date"]),
            ("by_completed", &["user_id", "completed"]),
        ],
    ),
    (
        "subscriptions",
        &[
            "user_id",
            "stripe_subscription_id",
            "stripe_price_id",
            "status",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "trial_end?",
            "created_at",
            "updated_at",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_stripe_id", &["stripe_subscription_id"]),
            ("by_status", &["status"]),
        ],
    ),
    (
        "invoices",
        &[
            "user_id",
            "stripe_invoice_id",
            "amount",
            "currency",
            "status",
            "paid_at?",
            "invoice_pdf?",
            "created_at",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_stripe_id", &["stripe_invoice_id"]),
        ],
    ),
    (
        "coupons",
        &[
            "code",
            "stripe_coupon_id",
            "percent_off?",
            "amount_off?",
            "currency?",
            "duration",
            "duration_in_months?",
            "max_redemptions?",
            "times_redeemed",
            "active",
            "expires_at?",
            "created_at",
        ],
        &[("by_code", &["code"]), ("by_active", &["active"])],
    ),
    (
        "resources",
        &[
            "title",
            "description",
            "type",
            "category",
            "file_url?",
            "thumbnail_url?",
            "access_level",
            "download_count",
            "tags",
            "published",
            "created_at",
            "updated_at",
        ],
        &[
            ("by_type", &["type"]),
            ("by_access", &["access_level"]),
            ("by_published", &["published"]),
        ],
    ),
    (
        "events",
        &[
            "user_id?",
            "anonymous_id?",
            "event_name",
            "properties",
            "timestamp",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_event", &["event_name"]),
            ("by_timestamp", &["timestamp"]),
        ],
    ),
    (
        "user_metrics",
        &[
            "user_id",
            "sessions_completed",
            "actions_created",
            "actions_completed",
            "frameworks_used",
            "last_session_at?",
            "total_time_spent",
            "updated_at",
        ],
        &[("by_user", &["user_id"])],
    ),
    (
        "feedback",
        &[
            "user_id?",
            "session_id?",
            "type",
            "rating?",
            "message",
            "status",
            "created_at",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_status", &["status"]),
            ("by_type", &["type"]),
        ],
    ),
    (
        "support_tickets",
        &[
            "user_id",
            "subject",
            "description",
            "status",
            "priority",
            "assigned_to?",
            "created_at",
            "updated_at",
            "resolved_at?",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_status", &["status"]),
            ("by_assigned", &["assigned_to"]),
        ],
    ),
    (
        "frameworks",
        &[
            "id",
            "name",
            "emoji",
            "tagline",
            "description",
            "best_for",
            "steps",
            "estimated_time",
            "difficulty",
            "category",
            "tags",
            "is_available",
            "coming_soon",
            "usage_count",
            "created_at",
        ],
        &[
            ("by_category", &["category"]),
            ("by_available", &["is_available"]),
        ],
    ),
    (
        "notifications",
        &[
            "user_id",
            "type",
            "title",
            "message",
            "action_url?",
            "read",
            "read_at?",
            "created_at",
        ],
        &[
            ("by_user", &["user_id"]),
            ("by_read", &["user_id", "read"]),
            ("by_created", &["user_id", "created_at"]),
        ],
    ),
];

/// Tables the product needs beyond the seed.
const BEYOND_SEED: &[&str] = &[
    "oauth_identities",
    "totp_recovery_codes",
    "api_tokens",
    "audit_log",
    "job_leases",
    "job_runs",
    "email_outbox",
    "safety_incidents",
    "processed_webhook_events",
    "rate_limits",
    "idempotency_keys",
];

async fn migrated(url: &str) -> (Store, Schema) {
    let store = Store::connect(&ConnectOptions::new(url))
        .await
        .expect("connects");
    store.migrate().await.expect("migrates");
    let schema = store.describe_schema().await.expect("describes");
    (store, schema)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_are_identical() {
    let _shared = crate::harness::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = fresh_database(Engine::Sqlite, dir.path()).await.unwrap();
    let Some(pg_url) = fresh_database(Engine::Postgres, dir.path()).await else {
        return;
    };
    let (lite, a) = migrated(&sqlite_url).await;
    let (pg, b) = migrated(&pg_url).await;
    let names_a: Vec<_> = a.keys().collect();
    let names_b: Vec<_> = b.keys().collect();
    assert_eq!(names_a, names_b, "the same tables");
    for (name, ta) in &a {
        let tb = &b[name];
        assert_eq!(
            ta.columns, tb.columns,
            "columns of {name} (sqlite left, postgres right)"
        );
        assert_eq!(
            ta.indexes, tb.indexes,
            "indexes of {name} (sqlite left, postgres right)"
        );
        assert_eq!(ta.primary_key, tb.primary_key, "primary key of {name}");
    }
    assert!(a.len() >= SEED.len() + BEYOND_SEED.len());
    lite.close().await;
    pg.close().await;
}

async fn every_seed_table_field_and_index_exists(app: TestApp) {
    let schema = app.store.describe_schema().await.unwrap();
    for (table, fields, indexes) in SEED {
        let t = schema
            .get(*table)
            .unwrap_or_else(|| panic!("table {table} missing"));
        assert_eq!(t.primary_key, ["id"], "{table} is keyed by id");
        for field in *fields {
            let (name, optional) = match field.strip_suffix('?') {
                Some(n) => (n, true),
                None => (*field, false),
            };
            let col = t
                .columns
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{table}.{name} missing"));
            assert_eq!(col.nullable, optional, "{table}.{name} optionality");
        }
        for (index, columns) in *indexes {
            let full = format!("{table}_{index}");
            let i = t
                .indexes
                .get(&full)
                .unwrap_or_else(|| panic!("index {full} missing"));
            assert_eq!(&i.columns, columns, "columns of {full}");
        }
    }
    for table in BEYOND_SEED {
        assert!(schema.contains_key(*table), "table {table} missing");
    }
    // The uniques the domain relies on.
    for unique in [
        "users_by_email",
        "sessions_by_token",
        "email_verifications_by_token",
        "password_resets_by_token",
        "magic_links_by_token",
        "organizations_by_slug",
        "org_members_by_org_and_user",
        "coupons_by_code",
        "user_metrics_by_user",
    ] {
        let table = schema
            .iter()
            .find(|(_, t)| t.indexes.contains_key(unique))
            .unwrap()
            .1;
        assert!(table.indexes[unique].unique, "{unique} must be unique");
    }
    assert!(
        schema["users"].columns.iter().any(|c| c.name == "role"),
        "staff/admin role"
    );
    app.stop().await;
}
dual_test!(every_seed_table_field_and_index_exists);

async fn exec(store: &Store, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(store.pool())
        .await
        .map(|_| ())
}

const USER: &str = "INSERT INTO users (id, email, created_at) VALUES";

async fn constraints_refuse_what_the_domain_forbids(app: TestApp) {
    let s = &app.store;
    exec(s, &format!("{USER} ('u1', 'ada@example.com', 1)"))
        .await
        .unwrap();
    assert!(
        exec(s, &format!("{USER} ('u2', 'ada@example.com', 1)"))
            .await
            .is_err(),
        "unique email"
    );
    assert!(
        exec(s, &format!("{USER} ('u3', 'Ada@Example.com', 1)"))
            .await
            .is_err(),
        "lower-case email"
    );
    assert!(exec(s, "INSERT INTO users (id, email, created_at, subscription_status) VALUES ('u4', 'b@example.com', 1, 'gold')").await.is_err(), "enum check");
    assert!(exec(s, "INSERT INTO users (id, email, created_at, totp_enabled) VALUES ('u5', 'c@example.com', 1, 2)").await.is_err(), "flag check");
    exec(s, "INSERT INTO organizations (id, name, slug, plan, seat_count, used_seats, created_at) VALUES ('o1', 'Acme', 'acme', 'team', 5, 0, 1)").await.unwrap();
    assert!(exec(s, "INSERT INTO organizations (id, name, slug, plan, seat_count, used_seats, created_at) VALUES ('o2', 'Acme 2', 'acme', 'team', 5, 0, 1)").await.is_err(), "unique slug");
    exec(s, "INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ('m1', 'o1', 'u1', 'owner', 1)").await.unwrap();
    assert!(exec(s, "INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ('m2', 'o1', 'u1', 'member', 1)").await.is_err(), "one membership per org and user");
    assert!(exec(s, "INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ('m3', 'o1', 'nobody', 'member', 1)").await.is_err(), "foreign key");
    assert!(exec(s, "INSERT INTO feedback (id, type, message, status, rating, created_at) VALUES ('f1', 'general', 'hi', 'new', 6, 1)").await.is_err(), "rating 1-5");
    assert!(exec(s, "INSERT INTO coaching_sessions (id, framework, step, is_anonymous, created_at, updated_at) VALUES ('s0', 'NOPE', 'goal', 1, 1, 1)").await.is_err(), "framework must exist");
    app.stop().await;
}
dual_test!(constraints_refuse_what_the_domain_forbids);

async fn deleting_a_user_cascades_and_keeps_anonymised_analytics(app: TestApp) {
    let s = &app.store;
    exec(s, &format!("{USER} ('u1', 'ada@example.com', 1)"))
        .await
        .unwrap();
    exec(s, "INSERT INTO sessions (id, user_id, token, expires_at, last_activity_at, device_info_user_agent, device_info_ip, created_at, absolute_expires_at) VALUES ('d1', 'u1', 'h1', 9, 1, 'ua', '127.0.0.1', 1, 9)").await.unwrap();
    exec(s, "INSERT INTO coaching_sessions (id, user_id, framework, step, is_anonymous, created_at, updated_at) VALUES ('s1', 'u1', 'GROW', 'goal', 0, 1, 1)").await.unwrap();
    exec(s, "INSERT INTO session_reflections (id, session_id, step, user_input, created_at) VALUES ('r1', 's1', 'goal', 'x', 1)").await.unwrap();
    exec(s, "INSERT INTO action_items (id, user_id, session_id, title, priority, created_at, updated_at) VALUES ('a1', 'u1', 's1', 't', 'high', 1, 1)").await.unwrap();
    exec(s, "INSERT INTO events (id, user_id, event_name, timestamp) VALUES ('e1', 'u1', 'session_started', 1)").await.unwrap();
    exec(s, "DELETE FROM users WHERE id = 'u1'").await.unwrap();
    for table in [
        "sessions",
        "coaching_sessions",
        "session_reflections",
        "action_items",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(n, 0, "{table} rows of a deleted user are gone");
    }
    let owner: Option<String> = sqlx::query_scalar("SELECT user_id FROM events WHERE id = 'e1'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(owner, None, "the event stays, unlinked");
    app.stop().await;
}
dual_test!(deleting_a_user_cascades_and_keeps_anonymised_analytics);

async fn a_database_migrated_by_a_newer_version_is_refused(app: TestApp) {
    let s = &app.store;
    let blob = match app.engine {
        Engine::Sqlite => "X'00'",
        Engine::Postgres => "'\\x00'::bytea",
    };
    exec(s, &format!("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101000000, 'from the future', TRUE, {blob}, 0)")).await.unwrap();
    match s.migrate().await {
        Err(StoreError::NewerSchema(v)) => assert_eq!(v, 99990101000000),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    app.stop().await;
}
dual_test!(a_database_migrated_by_a_newer_version_is_refused);
