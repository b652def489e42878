//! Backups and restores.
//!
//! A backup is one compressed file plus a manifest (`*.manifest.json`) holding its SHA-256,
//! size, engine and schema version. SQLite: `VACUUM INTO` a temporary file (a consistent
//! snapshot while the server runs), `PRAGMA integrity_check`, gzip, fsync, atomic rename.
//! PostgreSQL: `pg_dump --format=custom` (compressed by pg_dump).
//!
//! A restore checks the manifest's checksum and the snapshot's integrity before touching the
//! live database, refuses while a server uses it (unless forced), swaps it in atomically, and
//! then re-applies the deletion ledger of the database it replaced, so an account erased after
//! the backup was taken stays erased.

use crate::config::Config;
use crate::services::privacy::{reapply_ledger, rfc3339};
use coachflux_store::privacy::LedgerEntry;
use coachflux_store::{ConnectOptions, Engine, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const FORMAT: &str = "coachflux-backup/1";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    /// The backup file's name, in the same directory as the manifest.
    pub file: String,
    pub engine: String,
    pub sha256: String,
    pub bytes: u64,
    pub created_at: String,
    pub created_at_ms: i64,
    /// The newest migration applied in the snapshot.
    pub schema_version: i64,
}

#[derive(Debug)]
pub struct Made {
    pub file: PathBuf,
    pub manifest: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug)]
pub struct Restored {
    pub engine: Engine,
    pub taken_at: String,
    /// Accounts and sessions removed again from the ledger.
    pub erased_accounts: u64,
    pub deleted_sessions: u64,
}

/// `20260115T100000Z`
fn stamp(now: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The file of a `sqlite:` URL (`sqlite://./data/x.db?mode=rwc` → `./data/x.db`).
pub fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| "COACHFLUX_DATABASE_URL is not a sqlite: URL".to_owned())?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err("an in-memory SQLite database cannot be backed up or restored".into());
    }
    Ok(PathBuf::from(path))
}

fn io_err(what: &str, path: &Path, e: &io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

fn fsync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync the directory", dir, &e))
}

fn sha256_file(path: &Path) -> Result<(String, u64), String> {
    let mut f = BufReader::new(File::open(path).map_err(|e| io_err("cannot read", path, &e))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| io_err("cannot read", path, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

fn gzip(from: &Path, to: &Path) -> Result<(), String> {
    let mut input = BufReader::new(File::open(from).map_err(|e| io_err("cannot read", from, &e))?);
    let out = File::create(to).map_err(|e| io_err("cannot create", to, &e))?;
    let mut enc =
        flate2::write::GzEncoder::new(BufWriter::new(out), flate2::Compression::default());
    io::copy(&mut input, &mut enc).map_err(|e| io_err("cannot compress into", to, &e))?;
    let out = enc
        .finish()
        .and_then(|w| w.into_inner().map_err(io::IntoInnerError::into_error))
        .map_err(|e| io_err("cannot compress into", to, &e))?;
    out.sync_all().map_err(|e| io_err("cannot sync", to, &e))
}

fn gunzip(from: &Path, to: &Path) -> Result<(), String> {
    let input = BufReader::new(File::open(from).map_err(|e| io_err("cannot read", from, &e))?);
    let mut dec = flate2::read::GzDecoder::new(input);
    let out = File::create(to).map_err(|e| io_err("cannot create", to, &e))?;
    let mut w = BufWriter::new(out);
    io::copy(&mut dec, &mut w).map_err(|_| {
        format!(
            "{} is not a complete gzip file (corrupt or truncated); nothing was changed",
            from.display()
        )
    })?;
    let out = w
        .into_inner()
        .map_err(|e| io_err("cannot write", to, e.error()))?;
    out.sync_all().map_err(|e| io_err("cannot sync", to, &e))
}

/// `PRAGMA integrity_check` on a SQLite file, opened read-only.
async fn sqlite_integrity(path: &Path) -> Result<(), String> {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts)
        .await
        .map_err(|e| format!("{} is not a SQLite database ({e})", path.display()))?;
    let result: Result<Vec<String>, _> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await;
    conn.close().await.ok();
    match result {
        Ok(lines) if lines == ["ok"] => Ok(()),
        Ok(lines) => Err(format!(
            "{} failed its integrity check: {}",
            path.display(),
            lines.join("; ")
        )),
        Err(e) => Err(format!(
            "{} failed its integrity check ({e})",
            path.display()
        )),
    }
}

async fn schema_version(store: &Store) -> i64 {
    store
        .migration_status()
        .await
        .ok()
        .and_then(|s| s.applied.last().copied())
        .unwrap_or(0)
}

fn write_manifest(dir: &Path, stem: &str, m: &Manifest) -> Result<PathBuf, String> {
    let path = dir.join(format!("{stem}.manifest.json"));
    let tmp = dir.join(format!(".{stem}.manifest.json.partial"));
    let text = serde_json::to_vec_pretty(m).map_err(|e| e.to_string())?;
    let mut f = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, &e))?;
    f.write_all(&text)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("cannot write", &tmp, &e))?;
    fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename into", &path, &e))?;
    Ok(path)
}

fn tool_missing(tool: &str) -> String {
    format!(
        "{tool} was not found on PATH: install the PostgreSQL client tools matching your \
         server's major version (Debian/Ubuntu: apt install postgresql-client) and try again"
    )
}

/// Takes a consistent snapshot of the live database into `dir` while the server may be
/// running. Only a complete, verified backup ever appears under its final name.
pub async fn create(store: &Store, config: &Config, dir: &Path, now: i64) -> Result<Made, String> {
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, &e))?;
    let stem = format!("coachflux-{}-{}", store.engine().as_str(), stamp(now));
    let (name, partial) = match store.engine() {
        Engine::Sqlite => {
            let raw = dir.join(format!(".{stem}.db.partial"));
            let _ = fs::remove_file(&raw);
            let quoted = raw.display().to_string().replace('\'', "''");
            sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{quoted}'")))
                .execute(store.pool())
                .await
                .map_err(|e| format!("the snapshot failed: {e}"))?;
            let checked = sqlite_integrity(&raw).await;
            let name = format!("{stem}.sqlite.gz");
            let partial = dir.join(format!(".{name}.partial"));
            let zipped = checked.and_then(|()| gzip(&raw, &partial));
            let _ = fs::remove_file(&raw);
            zipped?;
            (name, partial)
        }
        Engine::Postgres => {
            let name = format!("{stem}.pgdump");
            let partial = dir.join(format!(".{name}.partial"));
            let out = Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--no-owner")
                .arg("--file")
                .arg(&partial)
                .arg("--dbname")
                .arg(&config.database_url)
                .output()
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        tool_missing("pg_dump")
                    } else {
                        format!("cannot run pg_dump: {e}")
                    }
                })?;
            if !out.status.success() {
                let _ = fs::remove_file(&partial);
                return Err(format!(
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            File::open(&partial)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_err("cannot sync", &partial, &e))?;
            (name, partial)
        }
    };
    let (sha256, bytes) = sha256_file(&partial)?;
    let file = dir.join(&name);
    fs::rename(&partial, &file).map_err(|e| io_err("cannot rename into", &file, &e))?;
    let manifest = write_manifest(
        dir,
        &stem,
        &Manifest {
            format: FORMAT.into(),
            file: name,
            engine: store.engine().as_str().into(),
            sha256: sha256.clone(),
            bytes,
            created_at: rfc3339(now),
            created_at_ms: now,
            schema_version: schema_version(store).await,
        },
    )?;
    fsync_dir(dir)?;
    Ok(Made {
        file,
        manifest,
        bytes,
        sha256,
    })
}

/// Deletes backups (and their manifests) taken before `cutoff`; returns how many.
pub fn prune(dir: &Path, cutoff: i64) -> Result<u64, String> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !(name.starts_with("coachflux-") && name.ends_with(".manifest.json")) {
            continue;
        }
        let Ok(m) = read_manifest(&path) else {
            continue;
        };
        if m.created_at_ms < cutoff {
            let _ = fs::remove_file(dir.join(&m.file));
            fs::remove_file(&path).map_err(|e| io_err("cannot remove", &path, &e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn read_manifest(path: &Path) -> Result<Manifest, String> {
    let text = fs::read(path).map_err(|e| io_err("cannot read the manifest", path, &e))?;
    let m: Manifest = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not a backup manifest ({e})", path.display()))?;
    if m.format != FORMAT {
        return Err(format!(
            "{} has format {:?}; this version reads {FORMAT}",
            path.display(),
            m.format
        ));
    }
    Ok(m)
}

/// The manifest beside a backup file (`x.sqlite.gz` → `x.manifest.json`).
fn manifest_for(file: &Path) -> Result<PathBuf, String> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{} is not a backup file", file.display()))?;
    let stem = name
        .strip_suffix(".sqlite.gz")
        .or_else(|| name.strip_suffix(".pgdump"))
        .ok_or_else(|| {
            format!(
                "{name} is not a CoachFlux backup (expected a .sqlite.gz or .pgdump file made by `coachflux backup`)"
            )
        })?;
    Ok(file.with_file_name(format!("{stem}.manifest.json")))
}

/// Verifies a backup against its manifest; returns the manifest.
pub fn verify(file: &Path) -> Result<Manifest, String> {
    if !file.is_file() {
        return Err(format!("{} does not exist", file.display()));
    }
    let manifest_path = manifest_for(file)?;
    let m = read_manifest(&manifest_path)?;
    let (sha256, bytes) = sha256_file(file)?;
    if bytes != m.bytes || sha256 != m.sha256 {
        return Err(format!(
            "{} does not match its manifest ({} bytes, expected {}; checksum {}): the file is \
             corrupt or truncated. Nothing was changed.",
            file.display(),
            bytes,
            m.bytes,
            if sha256 == m.sha256 { "ok" } else { "differs" }
        ));
    }
    Ok(m)
}

/// The file every serving process holds a shared lock on while it uses a SQLite database, so
/// that a restore can tell whether the database is in use.
pub fn serve_lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".serve-lock");
    db.with_file_name(name)
}

/// Taken by `serve` on SQLite and held until it exits.
pub fn hold_serve_lock(config: &Config) -> Result<Option<File>, String> {
    let Ok(db) = sqlite_path(&config.database_url) else {
        return Ok(None);
    };
    let path = serve_lock_path(&db);
    let f = File::create(&path).map_err(|e| io_err("cannot create", &path, &e))?;
    f.lock_shared()
        .map_err(|e| io_err("cannot lock", &path, &e))?;
    Ok(Some(f))
}

async fn read_ledger(url: &str) -> Vec<LedgerEntry> {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections = 1;
    let Ok(store) = Store::connect(&opts).await else {
        return Vec::new();
    };
    let entries = match store.conn().await {
        Ok(mut conn) => coachflux_store::privacy::ledger(&mut conn)
            .await
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    store.close().await;
    entries
}

/// Replaces the live database with the backup `file`. Nothing is touched unless the file
/// matches its manifest and passes its integrity check.
pub async fn restore(
    config: &Config,
    file: &Path,
    force: bool,
    now: i64,
) -> Result<Restored, String> {
    let m = verify(file)?;
    let engine = Engine::from_url(&config.database_url).ok_or_else(|| {
        "COACHFLUX_DATABASE_URL must start with sqlite: or postgres://".to_owned()
    })?;
    if m.engine != engine.as_str() {
        return Err(format!(
            "{} is a {} backup but COACHFLUX_DATABASE_URL is a {} database",
            file.display(),
            m.engine,
            engine.as_str()
        ));
    }
    let ledger = match engine {
        Engine::Sqlite => restore_sqlite(config, file, force).await?,
        Engine::Postgres => restore_postgres(config, file, force).await?,
    };
    let mut opts = ConnectOptions::new(&config.database_url);
    opts.max_connections = 2;
    let store = Store::connect(&opts)
        .await
        .map_err(|e| format!("cannot open the restored database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("cannot bring the restored database up to date: {e}"))?;
    let (erased_accounts, deleted_sessions) = reapply_ledger(&store, &ledger, now)
        .await
        .map_err(|e| format!("cannot re-apply the deletion ledger: {e}"))?;
    store.close().await;
    Ok(Restored {
        engine,
        taken_at: m.created_at,
        erased_accounts,
        deleted_sessions,
    })
}

async fn restore_sqlite(
    config: &Config,
    file: &Path,
    force: bool,
) -> Result<Vec<LedgerEntry>, String> {
    let live = sqlite_path(&config.database_url)?;
    let dir = live
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, &e))?;
    // A server holds a shared lock while it runs; an exclusive one here proves none does.
    let lock_path = serve_lock_path(&live);
    let lock = File::create(&lock_path).map_err(|e| io_err("cannot create", &lock_path, &e))?;
    if lock.try_lock().is_err() && !force {
        return Err(format!(
            "a CoachFlux server is using {}: stop it first (or pass --force and restart it \
             afterwards). Nothing was changed.",
            live.display()
        ));
    }
    let tmp = dir.join(".coachflux-restore.partial");
    gunzip(file, &tmp)?;
    if let Err(e) = sqlite_integrity(&tmp).await {
        let _ = fs::remove_file(&tmp);
        return Err(format!("{e}. Nothing was changed."));
    }
    let ledger = if live.exists() {
        read_ledger(&config.database_url).await
    } else {
        Vec::new()
    };
    // The old database's journal files must not be applied to the new one.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = live.clone().into_os_string();
        p.push(suffix);
        let _ = fs::remove_file(PathBuf::from(p));
    }
    fs::rename(&tmp, &live)
        .map_err(|e| io_err("cannot move the restored database to", &live, &e))?;
    fsync_dir(&dir)?;
    drop(lock);
    Ok(ledger)
}

async fn restore_postgres(
    config: &Config,
    file: &Path,
    force: bool,
) -> Result<Vec<LedgerEntry>, String> {
    // The archive's table of contents must read back in full before anything changes.
    let listed = Command::new("pg_restore")
        .arg("--list")
        .arg(file)
        .output()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                tool_missing("pg_restore")
            } else {
                format!("cannot run pg_restore: {e}")
            }
        })?;
    if !listed.status.success() {
        return Err(format!(
            "{} is not a readable pg_dump archive ({}). Nothing was changed.",
            file.display(),
            String::from_utf8_lossy(&listed.stderr).trim()
        ));
    }
    let mut conn = sqlx::postgres::PgConnection::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| format!("cannot check for running servers: {e}"))?;
    conn.close().await.ok();
    if others > 0 && !force {
        return Err(format!(
            "{others} other connection(s) use this database (a running CoachFlux server?): \
             stop them first, or pass --force. Nothing was changed."
        ));
    }
    let ledger = read_ledger(&config.database_url).await;
    let out = Command::new("pg_restore")
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
        ])
        .arg("--dbname")
        .arg(&config.database_url)
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run pg_restore: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pg_restore failed and rolled back; the database is as it was: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(ledger)
}
