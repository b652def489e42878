//! The key lists read through their indexes on both engines: each statement's plan names the
//! index its `WHERE` and `ORDER BY` are served by, and sorts nothing in a temporary structure.
//! PostgreSQL is asked with sequential scans, bitmap scans and sorts priced out, since on a
//! small table it would rightly prefer them; the question is whether the index can serve the
//! statement, its order included (a plan that still sorts could not do without).

use crate::dual_test;
use crate::harness::{Engine, TestApp};
use coachflux_store::{action_items, api_tokens, auth_sessions, coaching, outbox};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

type Bind = for<'q> fn(Query<'q, Any, AnyArguments>) -> Query<'q, Any, AnyArguments>;

/// The plan of `sql` with `bind`'s parameters, as one line of text.
async fn plan(app: &TestApp, sql: &str, bind: Bind) -> String {
    let mut tx = app.store.pool().begin().await.unwrap();
    let explain = match app.engine {
        Engine::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Engine::Postgres => {
            for off in [
                "SET LOCAL enable_seqscan = off",
                "SET LOCAL enable_bitmapscan = off",
                "SET LOCAL enable_sort = off",
            ] {
                sqlx::query(off).execute(&mut *tx).await.unwrap();
            }
            format!("EXPLAIN {sql}")
        }
    };
    let rows = bind(sqlx::query(sqlx::AssertSqlSafe(explain.clone())))
        .fetch_all(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{explain}: {e}"));
    let column = match app.engine {
        Engine::Sqlite => "detail",
        Engine::Postgres => "QUERY PLAN",
    };
    rows.iter()
        .map(|r| r.try_get::<String, _>(column).unwrap())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Asserts that `sql` is served by one of `indexes` without a sort of its own.
async fn uses(app: &TestApp, what: &str, sql: &str, bind: Bind, indexes: &[&str]) {
    let plan = plan(app, sql, bind).await;
    assert!(
        indexes.iter().any(|index| plan.contains(index)),
        "{what} should use one of {indexes:?}: {plan}"
    );
    for sorting in [
        "TEMP B-TREE",
        "Sort",
        "Seq Scan",
        "SCAN action_items",
        "SCAN coaching_sessions",
    ] {
        assert!(
            !plan.contains(sorting),
            "{what} should not {sorting}: {plan}"
        );
    }
}

async fn key_lists_read_through_their_indexes(app: TestApp) {
    uses(
        &app,
        "actions, newest first",
        action_items::page_sql(action_items::Part::Newest),
        |q| {
            q.bind("u1")
                .bind("open")
                .bind("")
                .bind("")
                .bind(0_i64)
                .bind(0_i64)
                .bind(i64::MAX)
                .bind("")
                .bind(21_i64)
        },
        &["action_items_by_user_created"],
    )
    .await;
    uses(
        &app,
        "actions, soonest due first",
        action_items::page_sql(action_items::Part::Dated),
        |q| {
            q.bind("u1")
                .bind("")
                .bind("")
                .bind("")
                .bind(0_i64)
                .bind(0_i64)
                .bind(i64::MIN)
                .bind(i64::MIN)
                .bind("")
                .bind(51_i64)
        },
        &["action_items_by_user_due"],
    )
    .await;
    uses(
        &app,
        "actions without a due date",
        action_items::page_sql(action_items::Part::Undated),
        |q| {
            q.bind("u1")
                .bind("")
                .bind("")
                .bind("")
                .bind(0_i64)
                .bind(0_i64)
                .bind(i64::MIN)
                .bind("")
                .bind(51_i64)
        },
        // Either walks the person's items in an order it can use: the due index (undated
        // items sort first in it on SQLite) or the creation index, filtering the dated out.
        &["action_items_by_user_due", "action_items_by_user_created"],
    )
    .await;
    uses(
        &app,
        "a member's sessions",
        coaching::PAGE_FOR_USER,
        |q| q.bind("u1").bind(i64::MAX).bind("").bind(21_i64),
        &["coaching_sessions_by_user_created"],
    )
    .await;
    uses(
        &app,
        "a visitor's sessions",
        coaching::PAGE_FOR_VISITOR,
        |q| {
            q.bind("a1")
                .bind(i64::MAX)
                .bind("")
                .bind(21_i64)
                .bind(0_i64)
        },
        &["coaching_sessions_by_anonymous_created"],
    )
    .await;
    uses(
        &app,
        "API tokens",
        api_tokens::PAGE,
        |q| q.bind("u1").bind(i64::MAX).bind("").bind(21_i64),
        &["api_tokens_by_user_created"],
    )
    .await;
    uses(
        &app,
        "signed-in devices",
        auth_sessions::PAGE_ACTIVE,
        |q| {
            q.bind("u1")
                .bind(0_i64)
                .bind(i64::MAX)
                .bind("")
                .bind(21_i64)
        },
        &["sessions_by_user_created"],
    )
    .await;
    uses(
        &app,
        "the mail log",
        outbox::PAGE,
        |q| q.bind(i64::MAX).bind("").bind(51_i64),
        &["email_outbox_by_created_id"],
    )
    .await;
    app.stop().await;
}
dual_test!(key_lists_read_through_their_indexes);
