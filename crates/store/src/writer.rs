//! SQLite writes, one at a time and several per commit.
//!
//! SQLite lets one connection write at a time. Left to itself, a second writer finds the lock
//! taken and its busy handler *sleeps* (1, 2, 5, 10… ms) before trying again, so a burst of
//! writes from the pool's connections spends most of its time asleep. Two things here keep
//! writes moving instead:
//!
//! - **The write lock is taken in the process first.** [`crate::Store::begin`] waits its turn
//!   on an async mutex (FIFO, bounded by the busy timeout) before `BEGIN IMMEDIATE`, so it
//!   almost never meets a held SQLite lock. Other processes (a `coachflux backup`, an operator's
//!   `sqlite3`) still meet the busy timeout as before.
//! - **Group commit.** [`crate::Store::batched`] hands a short, database-only job to one writer
//!   task. The task takes every job waiting (up to [`MAX_BATCH`]), runs each inside its own
//!   `SAVEPOINT` in one `BEGIN IMMEDIATE` transaction (a job that fails is rolled back to its
//!   savepoint, leaving the others), then commits once: one `fsync` for the batch, still
//!   `synchronous = FULL`. Each caller hears back only after that commit, so an acknowledged
//!   write is a durable one. A failed commit fails every job of the batch.
//!
//! PostgreSQL needs neither: it runs each job in its own transaction from the pool.

use crate::{Conn, StoreError};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::{AnyPool, Executor};
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc, oneshot};

/// The most jobs one commit carries.
pub const MAX_BATCH: usize = 64;
/// Jobs waiting for the writer beyond this make their callers wait to hand them over.
const QUEUE: usize = 1024;

type Erased = Box<dyn Any + Send>;
type Run = Box<dyn for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<Erased, Erased>> + Send>;

/// How a job ended, as the writer reports it.
pub(crate) enum Ended {
    /// The job ran and its transaction committed (`Ok`), or the job itself failed (`Err`,
    /// rolled back to its savepoint): either way, what the job returned.
    Ran(Result<Erased, Erased>),
    /// The batch could not begin or commit; nothing of the job is stored.
    Lost(StoreError),
}

struct Job {
    run: Run,
    reply: oneshot::Sender<Ended>,
}

/// The writer lock and the group-commit queue of one SQLite database.
#[derive(Debug)]
pub(crate) struct Writer {
    lock: Arc<Mutex<()>>,
    wait: Duration,
    queue: mpsc::Sender<JobBox>,
}

/// A job on its way to the writer task (boxed so the channel's slots stay small).
pub(crate) struct JobBox(Box<Job>);

impl std::fmt::Debug for JobBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobBox")
    }
}

impl Writer {
    /// Starts the writer task; it ends when the last handle to the store is dropped.
    pub(crate) fn start(pool: AnyPool, wait: Duration) -> Arc<Writer> {
        let lock = Arc::new(Mutex::new(()));
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(serve(pool, lock.clone(), jobs));
        Arc::new(Writer { lock, wait, queue })
    }

    /// This process's turn to write, waited for at most the busy timeout.
    pub(crate) async fn turn(&self) -> crate::Result<OwnedMutexGuard<()>> {
        tokio::time::timeout(self.wait, self.lock.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Busy)
    }

    /// Queues a job and waits for the commit that carries it.
    pub(crate) async fn submit(&self, run: Run) -> Ended {
        let (reply, answer) = oneshot::channel();
        let job = JobBox(Box::new(Job { run, reply }));
        if self.queue.send(job).await.is_err() {
            return Ended::Lost(StoreError::Unreachable("the writer has stopped".into()));
        }
        answer.await.unwrap_or_else(|_| {
            Ended::Lost(StoreError::Unreachable("the writer has stopped".into()))
        })
    }
}

/// Wraps a typed job for the writer: its value and its error travel type-erased and are
/// unwrapped by [`crate::Store::batched`], which made them.
pub(crate) fn erase<T, E, F>(job: F) -> Run
where
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    Box::new(move |conn: &mut Conn| {
        async move {
            match job(conn).await {
                Ok(v) => Ok(Box::new(v) as Erased),
                Err(e) => Err(Box::new(e) as Erased),
            }
        }
        .boxed()
    })
}

async fn serve(pool: AnyPool, lock: Arc<Mutex<()>>, mut jobs: mpsc::Receiver<JobBox>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Unbounded on purpose: a job handed over must run or be refused as a whole, never
        // time out in its caller and then commit. Holders of the turn are short transactions.
        let _turn = lock.lock().await;
        commit_batch(&pool, batch.drain(..).map(|j| *j.0).collect()).await;
    }
}

async fn commit_batch(pool: &AnyPool, batch: Vec<Job>) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => return lose(batch.into_iter().map(|j| j.reply), &e),
    };
    if let Err(e) = conn.execute("BEGIN IMMEDIATE").await {
        return lose(batch.into_iter().map(|j| j.reply), &e);
    }
    let mut kept = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        match run_one(&mut conn, job.run).await {
            Ok(Ok(value)) => kept.push((job.reply, value)),
            // Undone already, whatever becomes of the batch: its caller hears it now.
            Ok(Err(ended)) => {
                let _ = job.reply.send(ended);
            }
            // The savepoints themselves failed: what the transaction holds is unknown, so
            // none of it is kept and nobody is told their write was stored.
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                let replies = kept.into_iter().map(|(reply, _)| reply);
                let rest = std::iter::once(job.reply).chain(jobs.map(|j| j.reply));
                return lose(replies.chain(rest), &e);
            }
        }
    }
    match conn.execute("COMMIT").await {
        Ok(_) => {
            for (reply, value) in kept {
                let _ = reply.send(Ended::Ran(Ok(value)));
            }
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            lose(kept.into_iter().map(|(reply, _)| reply), &e);
        }
    }
}

/// Runs one job inside its savepoint. `Ok(Ok(value))`: kept (until the batch commits);
/// `Ok(Err(ended))`: the job failed or panicked and its changes are undone; `Err`: a savepoint
/// statement failed.
async fn run_one(conn: &mut Conn, run: Run) -> Result<Result<Erased, Ended>, sqlx::Error> {
    conn.execute("SAVEPOINT job").await?;
    let result = AssertUnwindSafe(run(conn)).catch_unwind().await;
    if let Ok(Ok(value)) = result {
        conn.execute("RELEASE job").await?;
        return Ok(Ok(value));
    }
    conn.execute("ROLLBACK TO job").await?;
    conn.execute("RELEASE job").await?;
    Ok(Err(match result {
        Ok(Err(error)) => Ended::Ran(Err(error)),
        _ => Ended::Lost(panicked()),
    }))
}

/// What the caller of a job that panicked hears (its changes undone).
pub(crate) fn panicked() -> StoreError {
    StoreError::Batch("the write failed unexpectedly and was undone".into())
}

/// Tells every caller of a batch that nothing of it was stored.
fn lose(replies: impl IntoIterator<Item = oneshot::Sender<Ended>>, e: &sqlx::Error) {
    tracing::error!(error = %e, "a batch of writes could not be committed");
    for reply in replies {
        let _ = reply.send(Ended::Lost(StoreError::Batch(e.to_string())));
    }
}
