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
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
    if !url.starts_with("sqlite:") {
        return Err("COACHFLUX_DATABASE_URL is not a sqlite: URL".to_owned());
    }
    coachflux_store::sqlite_file(url)
        .ok_or_else(|| "an in-memory SQLite database cannot be backed up or restored".into())
}

fn io_err(what: &str, path: &Path, e: &io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

fn fsync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync the directory", dir, &e))
}

/// Creates (or truncates) a file only its owner can read.
fn create_private(path: &Path) -> Result<File, String> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_err("cannot create", path, &e))
}

fn private(path: &Path) -> Result<(), String> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("cannot restrict", path, &e))
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
    let out = create_private(to)?;
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
    let out = create_private(to)?;
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
    coachflux_store::backup::sqlite_integrity(path)
        .await
        .map_err(|e| e.to_string())
}

fn write_manifest(dir: &Path, stem: &str, m: &Manifest) -> Result<PathBuf, String> {
    let path = dir.join(format!("{stem}.manifest.json"));
    let tmp = dir.join(format!(".{stem}.manifest.json.partial"));
    let text = serde_json::to_vec_pretty(m).map_err(|e| e.to_string())?;
    let mut f = create_private(&tmp)?;
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
    // Backups hold everyone's data: only the operator's account may read them.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| io_err("cannot restrict", dir, &e))?;
    let stem = format!("coachflux-{}-{}", store.engine().as_str(), stamp(now));
    let (name, partial) = match store.engine() {
        Engine::Sqlite => {
            let raw = dir.join(format!(".{stem}.db.partial"));
            let _ = fs::remove_file(&raw);
            store
                .snapshot_sqlite_into(&raw)
                .await
                .map_err(|e| format!("the snapshot failed: {e}"))?;
            let checked = sqlite_integrity(&raw).await;
            let name = format!("{stem}.sqlite.gz");
            let partial = dir.join(format!(".{name}.partial"));
            let zipped = match checked {
                Ok(()) => {
                    let (from, to) = (raw.clone(), partial.clone());
                    blocking(move || gzip(&from, &to)).await
                }
                Err(e) => Err(e),
            };
            let _ = fs::remove_file(&raw);
            zipped?;
            (name, partial)
        }
        Engine::Postgres => {
            let name = format!("{stem}.pgdump");
            let partial = dir.join(format!(".{name}.partial"));
            let out = pg_tool("pg_dump", config.database_url.as_str())
                .arg("--format=custom")
                .arg("--no-owner")
                .arg("--file")
                .arg(&partial)
                .output()
                .await
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
            private(&partial)?;
            File::open(&partial)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_err("cannot sync", &partial, &e))?;
            (name, partial)
        }
    };
    let (sha256, bytes) = {
        let p = partial.clone();
        blocking(move || sha256_file(&p)).await?
    };
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
            schema_version: store.schema_version().await,
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
    let Ok(db) = sqlite_path(config.database_url.as_str()) else {
        return Ok(None);
    };
    let path = serve_lock_path(&db);
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io_err("cannot create", &path, &e))?;
    f.lock_shared()
        .map_err(|e| io_err("cannot lock", &path, &e))?;
    Ok(Some(f))
}

/// The deletion ledger of the database at `url`. An unreadable ledger stops a restore (it is
/// what keeps erased people erased) unless the operator forces it.
async fn read_ledger(url: &str, force: bool) -> Result<Vec<LedgerEntry>, String> {
    let read = async {
        let mut opts = ConnectOptions::new(url);
        opts.max_connections = 1;
        let store = Store::connect(&opts).await.map_err(|e| e.to_string())?;
        let entries = match store.conn().await {
            Ok(mut conn) => coachflux_store::privacy::ledger(&mut conn)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        store.close().await;
        entries
    };
    match read.await {
        Ok(entries) => Ok(entries),
        Err(e) if force => {
            tracing::warn!(error = %e, "the live database's deletion ledger is unreadable; restoring without it (--force)");
            Ok(Vec::new())
        }
        Err(e) => Err(format!(
            "cannot read the deletion ledger of the live database ({e}); without it erased \
             accounts could come back. Pass --force to restore anyway. Nothing was changed."
        )),
    }
}

/// Brings a database up to date and re-applies `ledger` to it.
async fn finish(url: &str, ledger: &[LedgerEntry], now: i64) -> Result<(u64, u64), String> {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections = 1;
    let store = Store::connect(&opts)
        .await
        .map_err(|e| format!("cannot open the restored database: {e}"))?;
    let result = async {
        store
            .migrate()
            .await
            .map_err(|e| format!("cannot bring the restored database up to date: {e}"))?;
        reapply_ledger(&store, ledger, now)
            .await
            .map_err(|e| format!("cannot re-apply the deletion ledger: {e}"))
    }
    .await;
    if store.engine() == Engine::Sqlite {
        // Leave one self-contained file: no WAL beside it to lose in the rename.
        let _ = store.leave_single_file().await;
    }
    store.close().await;
    result
}

/// Replaces the live database with the backup `file`. Nothing is touched unless the file
/// matches its manifest and passes its integrity check.
pub async fn restore(
    config: &Config,
    file: &Path,
    force: bool,
    now: i64,
) -> Result<Restored, String> {
    restore_with_ledger(config, file, force, None, now).await
}

/// [`restore`], re-applying also the deletion ledger of the database at `ledger_from`: the
/// one being replaced when the backup goes into a new, empty database instead of over it.
pub async fn restore_with_ledger(
    config: &Config,
    file: &Path,
    force: bool,
    ledger_from: Option<&str>,
    now: i64,
) -> Result<Restored, String> {
    let m = verify(file)?;
    let extra = match ledger_from {
        Some(url) => read_ledger(url, false).await?,
        None => Vec::new(),
    };
    let engine = Engine::from_url(config.database_url.as_str()).ok_or_else(|| {
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
    let (erased_accounts, deleted_sessions) = match engine {
        Engine::Sqlite => restore_sqlite(config, file, force, extra, now).await?,
        Engine::Postgres => restore_postgres(config, file, force, &m, extra, now).await?,
    };
    Ok(Restored {
        engine,
        taken_at: m.created_at,
        erased_accounts,
        deleted_sessions,
    })
}

/// SQLite: the backup is decompressed, checked, migrated and cleared of everything in the
/// ledger as a separate file, and only then renamed over the live database, all under the lock
/// that keeps servers out.
async fn restore_sqlite(
    config: &Config,
    file: &Path,
    force: bool,
    extra: Vec<LedgerEntry>,
    now: i64,
) -> Result<(u64, u64), String> {
    let live = sqlite_path(config.database_url.as_str())?;
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
    let mut ledger = if live.exists() {
        read_ledger(config.database_url.as_str(), force).await?
    } else {
        Vec::new()
    };
    ledger.extend(extra);
    let tmp = dir.join(".coachflux-restore.partial");
    let prepared = async {
        let (from, to) = (file.to_path_buf(), tmp.clone());
        blocking(move || gunzip(&from, &to)).await?;
        sqlite_integrity(&tmp)
            .await
            .map_err(|e| format!("{e}. Nothing was changed."))?;
        finish(&format!("sqlite://{}?mode=rw", tmp.display()), &ledger, now).await
    }
    .await;
    let counts = match prepared {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err("cannot sync", &tmp, &e))?;
    // The old database's journal files must not be applied to the new one. They are moved
    // aside (not deleted) until the new database is in place, so a failed swap loses nothing.
    let journals: Vec<(PathBuf, PathBuf)> = ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut p = live.clone().into_os_string();
            p.push(suffix);
            let aside = dir.join(format!(".coachflux-restore.old{suffix}"));
            (PathBuf::from(p), aside)
        })
        .filter(|(p, _)| p.exists())
        .collect();
    let put_back = |moved: &[(PathBuf, PathBuf)]| {
        for (p, aside) in moved {
            let _ = fs::rename(aside, p);
        }
    };
    let mut moved = Vec::new();
    for (p, aside) in journals {
        if let Err(e) = fs::rename(&p, &aside) {
            put_back(&moved);
            let _ = fs::remove_file(&tmp);
            return Err(format!(
                "{}. Nothing was changed.",
                io_err("cannot move aside", &p, &e)
            ));
        }
        moved.push((p, aside));
    }
    if let Err(e) = fs::rename(&tmp, &live) {
        put_back(&moved);
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "{}. Nothing was changed.",
            io_err("cannot move the restored database to", &live, &e)
        ));
    }
    fsync_dir(&dir)?;
    for (_, aside) in &moved {
        let _ = fs::remove_file(aside);
    }
    drop(lock);
    Ok(counts)
}

/// The newest migration applied to the live PostgreSQL database (0 when it has none).
async fn live_schema_version(url: &str) -> i64 {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections = 1;
    match Store::connect(&opts).await {
        Ok(store) => {
            let v = store.schema_version().await;
            store.close().await;
            v
        }
        Err(_) => 0,
    }
}

/// Splits the password out of a PostgreSQL URL, so it travels in `PGPASSWORD` rather than on a
/// command line other local users can read.
fn without_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let password = u.password().map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            let _ = u.set_password(None);
            (u.to_string(), password)
        }
        Err(_) => (url.to_owned(), None),
    }
}

fn pg_tool(tool: &str, url: &str) -> tokio::process::Command {
    let (dbname, password) = without_password(url);
    let mut c = tokio::process::Command::new(tool);
    if let Some(p) = password {
        c.env("PGPASSWORD", p);
    }
    c.arg("--dbname").arg(dbname);
    c
}

async fn restore_postgres(
    config: &Config,
    file: &Path,
    force: bool,
    m: &Manifest,
    extra: Vec<LedgerEntry>,
    now: i64,
) -> Result<(u64, u64), String> {
    // The archive's table of contents must read back in full before anything changes.
    let listed = tokio::process::Command::new("pg_restore")
        .arg("--list")
        .arg(file)
        .output()
        .await
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
    let live_version = live_schema_version(config.database_url.as_str()).await;
    if live_version > m.schema_version {
        return Err(format!(
            "this backup has schema version {} but the database has {live_version}: restore it \
             into a new, empty database (createdb, point COACHFLUX_DATABASE_URL at it, and pass \
             --ledger-from with this database's URL so its deletions carry over) and switch \
             over. Nothing was changed.",
            m.schema_version
        ));
    }
    let target = coachflux_store::backup::inspect_pg_target(config.database_url.as_str(), !force)
        .await
        .map_err(|e| format!("cannot inspect the database: {e}"))?;
    let (others, has_ledger) = (target.other_connections, target.has_ledger);
    if others > 0 && !force {
        return Err(format!(
            "{others} other connection(s) use this database (a running CoachFlux server?): \
             stop them first, or pass --force. Nothing was changed."
        ));
    }
    // The ledger is kept in a file until it has been applied, so a restore that stops half-way
    // can simply be run again.
    let saved = config.data_dir.join("restore-ledger.json");
    let mut ledger = if has_ledger {
        read_ledger(config.database_url.as_str(), force).await?
    } else {
        Vec::new()
    };
    ledger.extend(extra);
    if let Ok(text) = fs::read(&saved)
        && let Ok(earlier) = serde_json::from_slice::<Vec<SavedEntry>>(&text)
    {
        ledger.extend(earlier.into_iter().map(SavedEntry::into_entry));
    }
    let text = serde_json::to_vec(&ledger.iter().map(SavedEntry::from).collect::<Vec<_>>())
        .map_err(|e| e.to_string())?;
    fs::write(&saved, text).map_err(|e| io_err("cannot write", &saved, &e))?;
    let out = pg_tool("pg_restore", config.database_url.as_str())
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
        ])
        .arg(file)
        .output()
        .await
        .map_err(|e| format!("cannot run pg_restore: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pg_restore failed and rolled back; the database is as it was: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let counts = finish(config.database_url.as_str(), &ledger, now)
        .await
        .map_err(|e| {
            format!(
                "{e}. The data is restored but not finished: run the same restore again (the \
             ledger is kept in {})",
                saved.display()
            )
        })?;
    let _ = fs::remove_file(&saved);
    Ok(counts)
}

/// A ledger entry as kept in `restore-ledger.json`.
#[derive(Serialize, Deserialize)]
struct SavedEntry {
    id: String,
    subject: String,
    subject_hash: String,
    deleted_at: i64,
}

impl SavedEntry {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id.clone(),
            subject: e.subject.clone(),
            subject_hash: e.subject_hash.clone(),
            deleted_at: e.deleted_at,
        }
    }

    fn into_entry(self) -> LedgerEntry {
        LedgerEntry {
            id: self.id,
            subject: self.subject,
            subject_hash: self.subject_hash,
            deleted_at: self.deleted_at,
        }
    }
}

/// Runs blocking file work (compression, hashing, fsync) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("a background task failed: {e}"))?
}
