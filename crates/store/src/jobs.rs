//! Scheduled jobs: a lease row per job so that, however many instances share the database,
//! each due run happens exactly once, and a history of runs.

use crate::{Conn, Result};
use sqlx::Row;

/// Takes the lease of `job` for `holder` until `now + lease_ms`, if nobody holds it. With
/// `schedule_next`, only when the job is due, and the next run is scheduled in the same
/// statement: a run that outlives its lease can't be started again by another instance
/// before its next turn. Without it (a run by hand), the schedule is left alone. One
/// conditional UPDATE decides, so exactly one of several concurrent claimers wins.
pub async fn claim(
    conn: &mut Conn,
    job: &str,
    holder: &str,
    now: i64,
    lease_ms: i64,
    schedule_next: Option<i64>,
) -> Result<bool> {
    sqlx::query(
        "INSERT INTO job_leases (job_name, holder, lease_until, next_run_at, updated_at) \
         VALUES ($1, NULL, 0, 0, $2) ON CONFLICT (job_name) DO NOTHING",
    )
    .bind(job)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let done = match schedule_next {
        Some(next) => {
            sqlx::query(
                "UPDATE job_leases SET holder = $2, lease_until = $3, updated_at = $4, next_run_at = $5 \
                 WHERE job_name = $1 AND lease_until <= $4 AND next_run_at <= $4",
            )
            .bind(job)
            .bind(holder)
            .bind(now + lease_ms)
            .bind(now)
            .bind(next)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE job_leases SET holder = $2, lease_until = $3, updated_at = $4 \
                 WHERE job_name = $1 AND lease_until <= $4",
            )
            .bind(job)
            .bind(holder)
            .bind(now + lease_ms)
            .bind(now)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Extends a lease its holder still has; `false` when it was lost.
pub async fn renew(
    conn: &mut Conn,
    job: &str,
    holder: &str,
    lease_until: i64,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE job_leases SET lease_until = $3, updated_at = $4 WHERE job_name = $1 AND holder = $2",
    )
    .bind(job)
    .bind(holder)
    .bind(lease_until)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease back (the next run was scheduled when it was claimed).
pub async fn release(conn: &mut Conn, job: &str, holder: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE job_leases SET holder = NULL, lease_until = 0, updated_at = $3 \
         WHERE job_name = $1 AND holder = $2",
    )
    .bind(job)
    .bind(holder)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Runs of `job` still marked running when its lease was free again: their instance stopped
/// (or hung past its lease) before finishing. Marked failed so the history doesn't lie.
pub async fn close_interrupted_runs(conn: &mut Conn, job: &str, now: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE job_runs SET outcome = 'failed', finished_at = $2, \
         error = 'interrupted: the instance stopped before the run finished' \
         WHERE job_name = $1 AND outcome = 'running'",
    )
    .bind(job)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// When a job runs next (0: as soon as a scheduler looks), if it ever ran.
pub async fn next_run_at(conn: &mut Conn, job: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT next_run_at FROM job_leases WHERE job_name = $1")
        .bind(job)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("next_run_at")).transpose()?)
}

pub async fn start_run(
    conn: &mut Conn,
    id: &str,
    job: &str,
    instance: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO job_runs (id, job_name, instance, started_at, outcome) \
         VALUES ($1, $2, $3, $4, 'running')",
    )
    .bind(id)
    .bind(job)
    .bind(instance)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn finish_run(
    conn: &mut Conn,
    id: &str,
    outcome: &str,
    counts: &str,
    error: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE job_runs SET outcome = $2, counts = $3, error = $4, finished_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(outcome)
    .bind(counts)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    pub job_name: String,
    pub instance: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: String,
    /// JSON object of counts, e.g. `{"deleted": 3}`.
    pub counts: String,
    pub error: Option<String>,
}

/// When each job last finished a run, and last finished one successfully (ms), across every
/// instance: `(job, last finished, last ok)`.
pub async fn last_finished(conn: &mut Conn) -> Result<Vec<(String, i64, Option<i64>)>> {
    let rows = sqlx::query(
        "SELECT job_name, MAX(finished_at) AS last_finished, \
         MAX(CASE WHEN outcome = 'ok' THEN finished_at END) AS last_ok \
         FROM job_runs WHERE finished_at IS NOT NULL GROUP BY job_name ORDER BY job_name",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("job_name")?,
                r.try_get("last_finished")?,
                r.try_get("last_ok")?,
            ))
        })
        .collect()
}

/// The latest runs, newest first (of one job, or of all).
pub async fn recent_runs(conn: &mut Conn, job: Option<&str>, limit: i64) -> Result<Vec<Run>> {
    let rows = sqlx::query(
        "SELECT id, job_name, instance, started_at, finished_at, outcome, counts, error \
         FROM job_runs WHERE ($1 IS NULL OR job_name = $1) \
         ORDER BY started_at DESC, id DESC LIMIT $2",
    )
    .bind(job)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Run {
                id: r.try_get("id")?,
                job_name: r.try_get("job_name")?,
                instance: r.try_get("instance")?,
                started_at: r.try_get("started_at")?,
                finished_at: r.try_get("finished_at")?,
                outcome: r.try_get("outcome")?,
                counts: r.try_get("counts")?,
                error: r.try_get("error")?,
            })
        })
        .collect()
}
