//! Batched writes (`Store::batched`): on SQLite the jobs that arrive together share one commit,
//! each inside its own savepoint, so one failing (or panicking) job undoes only its own
//! changes; on PostgreSQL each job is its own transaction. Either way a caller hears back only
//! once its write is committed.

use crate::harness::{Engine, Statements, spawn_with};
use coachflux_store::{Conn, StoreError, events};

const JOBS: usize = 40;

/// What a job does.
#[derive(Clone, Copy)]
enum Job {
    Keep,
    Fail,
    Panic,
}

async fn record(conn: &mut Conn, i: usize, job: Job) -> Result<usize, StoreError> {
    events::record(conn, &format!("e{i}"), None, None, "batched", "{}", 1).await?;
    match job {
        Job::Keep => Ok(i),
        Job::Fail => Err(StoreError::Corrupt(format!("job {i} refuses"))),
        Job::Panic => panic!("job {i} panics"),
    }
}

async fn jobs_that_arrive_together_share_a_commit_and_fail_alone(engine: Engine) {
    let counting = Statements::count().await;
    let Some(app) = spawn_with(engine, &[]).await else {
        return;
    };
    let store = app.store.clone();
    let (ran, results) = counting
        .during(async {
            // While a transaction holds the write turn the jobs queue up behind it.
            let holder = store.begin().await.unwrap();
            let mut waiting = Vec::new();
            for i in 0..JOBS {
                let job = match i {
                    7 => Job::Fail,
                    23 => Job::Panic,
                    _ => Job::Keep,
                };
                let store = store.clone();
                waiting.push(tokio::spawn(async move {
                    store
                        .batched(move |conn| Box::pin(record(conn, i, job)))
                        .await
                }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            holder.commit().await.unwrap();
            let mut results = Vec::new();
            for w in waiting {
                results.push(w.await.unwrap());
            }
            results
        })
        .await;
    drop(counting);
    for (i, r) in results.iter().enumerate() {
        match i {
            7 | 23 => assert!(r.is_err(), "job {i} reports its failure"),
            _ => assert_eq!(r.as_ref().ok(), Some(&i), "job {i} is acknowledged"),
        }
    }
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT id FROM events WHERE event_name = 'batched' ORDER BY id")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let mut kept: Vec<String> = (0..JOBS)
        .filter(|i| ![7, 23].contains(i))
        .map(|i| format!("e{i}"))
        .collect();
    kept.sort();
    assert_eq!(
        stored, kept,
        "every acknowledged write, and nothing of the failed ones"
    );
    if app.engine == Engine::Sqlite {
        // The first job may have been taken before the queue filled: at most two batches, and
        // at least one commit of the writer's own (not the pool's, which sqlx doesn't log).
        assert!(
            (1..=3).contains(&ran.commits),
            "{JOBS} jobs took {} commits, not one or two",
            ran.commits
        );
    }
    app.stop().await;
}

// Counting statements needs the process to itself, so this is not a `dual_test!`.
mod jobs_that_arrive_together_share_a_commit_and_fail_alone {
    use crate::harness::Engine;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::jobs_that_arrive_together_share_a_commit_and_fail_alone(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::jobs_that_arrive_together_share_a_commit_and_fail_alone(Engine::Postgres).await;
    }
}
