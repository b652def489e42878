//! Starts the real CoachFlux server on a free loopback port against a fresh database, on
//! SQLite or PostgreSQL, and talks HTTP to it.
//!
//! PostgreSQL: `COACHFLUX_TEST_DATABASE_URL` (an admin URL; each test gets its own database in
//! that server) or, when unset, a throwaway cluster started once per test process with the
//! Debian binaries and removed when the process ends. With `CI` set, a PostgreSQL that cannot
//! be started fails the test instead of skipping it.

pub use crate::client::Client;
use coachflux::Server;
use coachflux::config::Config;
use coachflux::mail::worker::Outbox;
use coachflux_domain::{FixedClock, SharedClock};
use coachflux_store::outbox::OutboxEmail;
use coachflux_store::{ConnectOptions, Store};
use reqwest::Method;
use sqlx::Connection;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// 2026-01-15T10:00:00Z, a Thursday.
pub const T0: i64 = 1_768_471_200_000;
pub const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// An override value that removes a setting the harness sets by default.
pub const UNSET: &str = "(unset)";
/// What tests send to read `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[allow(dead_code)] // Not every test binary module uses every handle.
pub struct TestApp {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub clock: Arc<FixedClock>,
    /// A second handle on the same database, for assertions.
    pub store: Store,
    /// The server's own store (closing it makes the app lose its database).
    pub server_store: Store,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Where `/metrics` is served when `COACHFLUX_METRICS_BIND` gives it a listener.
    pub metrics_addr: Option<SocketAddr>,
    pub outbox: Outbox,
    pub public_url: String,
    /// The default browser.
    pub browser: Client,
    /// The server's state, for running jobs and services directly.
    pub state: coachflux::state::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Another browser with its own cookies (another device).
    pub fn new_browser(&self) -> Client {
        Client::browser(self.addr)
    }

    /// A cookie-less API caller (paths under `/api/v1`).
    pub fn api(&self) -> Client {
        Client::api(self.addr)
    }

    /// A bare client with nothing of its own (see [`Client::plain`]).
    pub fn plain(&self) -> Client {
        Client::plain(self.addr)
    }

    /// Every email queued to `to`, newest first, as stored (bodies sealed).
    pub async fn sealed_emails_to(&self, to: &str) -> Vec<OutboxEmail> {
        let mut conn = self.store.conn().await.unwrap();
        coachflux_store::outbox::list_for_address(&mut conn, to)
            .await
            .unwrap()
    }

    /// Every email queued to `to`, newest first, bodies opened as the recipient reads them.
    pub async fn emails_to(&self, to: &str) -> Vec<OutboxEmail> {
        self.sealed_emails_to(to)
            .await
            .iter()
            .map(|e| {
                coachflux::mail::opened(&self.state.keys, e).expect("a body this server sealed")
            })
            .collect()
    }

    /// `/metrics` with the operator's token.
    pub async fn metrics(&self) -> String {
        let r = self
            .browser
            .with_token(METRICS_TOKEN)
            .request(Method::GET, "/metrics")
            .send()
            .await
            .expect("request reaches the server");
        assert_eq!(r.status(), 200, "metrics answer");
        r.text().await.expect("a body")
    }

    /// The newest email of kind `template` to `to`.
    pub async fn last_email(&self, to: &str, template: &str) -> OutboxEmail {
        self.emails_to(to)
            .await
            .into_iter()
            .find(|e| e.template == template)
            .unwrap_or_else(|| panic!("no {template} email to {to}"))
    }

    /// The path and query of the first link in an email that starts with the public URL.
    pub fn link_in(&self, email: &OutboxEmail) -> String {
        let start = email
            .body_text
            .find(&self.public_url)
            .unwrap_or_else(|| panic!("no link to {} in:\n{}", self.public_url, email.body_text));
        let rest = &email.body_text[start + self.public_url.len()..];
        rest.split_whitespace().next().unwrap().to_owned()
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(path).await
    }

    /// GET a page and return (status, body).
    pub async fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("a body"))
    }

    /// Stops the server but keeps its data directory (and SQLite file) until the returned
    /// guard is dropped.
    pub async fn stop_keeping_files(mut self) -> tempfile::TempDir {
        self.shut_down().await;
        let placeholder = tempfile::tempdir().expect("a temporary directory");
        std::mem::replace(&mut self._dir, placeholder)
    }

    pub async fn stop(mut self) {
        self.shut_down().await;
    }

    async fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task joins")
                .expect("server stops cleanly");
        }
        self.store.close().await;
    }
}

pub fn test_config_with(database_url: &str, data_dir: &Path, overrides: &[(&str, &str)]) -> Config {
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("COACHFLUX_BIND", "127.0.0.1:0".into());
    env.insert("COACHFLUX_DATA_DIR", data_dir.display().to_string());
    env.insert("COACHFLUX_DATABASE_URL", database_url.to_owned());
    env.insert("COACHFLUX_SECRET_KEY", SECRET_KEY.into());
    env.insert("COACHFLUX_LOG", "warn".into());
    env.insert("COACHFLUX_DB_MAX_CONNECTIONS", "4".into());
    env.insert("COACHFLUX_PUBLIC_URL", "https://coach.example.test".into());
    // Tests deliver mail explicitly (`app.outbox.deliver_due()`), so timing is theirs.
    env.insert("COACHFLUX_MAIL_WORKER", "false".into());
    // Tests run jobs explicitly, at the times they choose.
    env.insert("COACHFLUX_JOBS", "false".into());
    env.insert("COACHFLUX_METRICS_TOKEN", METRICS_TOKEN.into());
    for (k, v) in overrides {
        if *v == UNSET {
            env.remove(k);
        } else {
            env.insert(k, (*v).to_owned());
        }
    }
    let names: Vec<String> = env.keys().map(|k| (*k).to_owned()).collect();
    Config::from_sources_with_names(None, |k| env.get(k).cloned(), &names)
        .expect("test config is valid")
}

/// A fresh, empty database URL for `engine`, or `None` when PostgreSQL is unavailable outside CI.
pub async fn fresh_database(engine: Engine, dir: &Path) -> Option<String> {
    match engine {
        Engine::Sqlite => Some(format!(
            "sqlite://{}?mode=rwc",
            dir.join("coachflux.db").display()
        )),
        Engine::Postgres => match postgres_admin_url() {
            Ok(admin) => Some(create_pg_database(admin).await),
            Err(reason) => {
                // In CI, and whenever scripts/test runs the suite, PostgreSQL is part of the
                // contract: failing to start it fails the test instead of skipping it.
                if std::env::var_os("CI").is_some()
                    || std::env::var_os("COACHFLUX_REQUIRE_POSTGRES").is_some()
                {
                    panic!("PostgreSQL is required but could not be started: {reason}");
                }
                eprintln!("SKIPPED (PostgreSQL unavailable: {reason})");
                None
            }
        },
    }
}

pub async fn spawn(engine: Engine) -> Option<TestApp> {
    spawn_with(engine, &[]).await
}

/// Starts an app with extra `COACHFLUX_*` settings.
pub async fn spawn_with(engine: Engine, overrides: &[(&str, &str)]) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(engine, dir.path()).await?;
    Some(spawn_on(engine, database_url, dir, overrides).await)
}

impl TestApp {
    /// Another instance of the server on the same database (its own clock and data dir), as
    /// when several instances share one PostgreSQL.
    pub async fn another_instance(&self, overrides: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        spawn_on(self.engine, self.database_url.clone(), dir, overrides).await
    }
}

async fn spawn_on(
    engine: Engine,
    database_url: String,
    dir: tempfile::TempDir,
    overrides: &[(&str, &str)],
) -> TestApp {
    let data_dir = dir.path().join("data");
    let clock = Arc::new(FixedClock::new(T0));
    let shared: SharedClock = clock.clone();
    let server = Server::build(
        test_config_with(&database_url, &data_dir, overrides),
        shared,
    )
    .await
    .expect("server starts");
    let addr = server.local_addr();
    let metrics_addr = server.metrics_addr();
    let server_store = server.store().clone();
    let outbox = server.state().outbox.clone();
    let public_url = server.state().config.public_url.clone();
    let state = server.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = rx.await;
    }));
    let store = Store::connect(&ConnectOptions::new(&database_url))
        .await
        .expect("assertion store connects");
    let browser = Client::browser(addr);
    TestApp {
        addr,
        engine,
        clock,
        store,
        server_store,
        database_url,
        data_dir,
        metrics_addr,
        outbox,
        public_url,
        browser,
        state,
        shutdown: Some(tx),
        task: Some(task),
        _dir: dir,
    }
}

/// The text between `start` and the next `end`.
pub fn extract(haystack: &str, start: &str, end: &str) -> Option<String> {
    let i = haystack.find(start)? + start.len();
    let j = haystack[i..].find(end)? + i;
    Some(haystack[i..j].to_owned())
}

/// Runs one test body against a fresh app on `engine`.
pub async fn run<F, Fut>(engine: Engine, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let _shared = shared().await;
    if let Some(app) = spawn(engine).await {
        body(app).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Counting database statements

/// Tests hold this for reading while they run; a test that counts statements holds it for
/// writing, so nothing else in the process talks to a database meanwhile.
fn alone() -> &'static tokio::sync::RwLock<()> {
    static LOCK: OnceLock<tokio::sync::RwLock<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::RwLock::new(()))
}

/// Held by every test that may run a statement (see [`Statements`]).
pub async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    alone().read().await
}

static STATEMENTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static COMMITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts every statement sqlx runs in this process (its `sqlx::query` log events), and the
/// ones that write.
struct CountStatements;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut sql = Statement(String::new());
        event.record(&mut sql);
        let verb = sql.0.trim_start().to_ascii_uppercase();
        if ["INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT"]
            .iter()
            .any(|w| verb.starts_with(w))
        {
            WRITES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        if verb.starts_with("COMMIT") {
            COMMITS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The statement text of a `sqlx::query` event.
struct Statement(String);

impl tracing::field::Visit for Statement {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        // Short statements come whole in `summary`, with an empty `db.statement`.
        if (field.name() == "db.statement" && !value.trim().is_empty())
            || (self.0.is_empty() && field.name() == "summary")
        {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}").trim_matches('"').to_owned();
        if (field.name() == "db.statement" && !text.trim().is_empty())
            || (self.0.is_empty() && field.name() == "summary")
        {
            self.0 = text;
        }
    }
}

/// What a piece of work ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub statements: usize,
    /// Statements that write (or open and close a write transaction).
    pub writes: usize,
    /// Transactions committed.
    pub commits: usize,
}

/// While held, no other test runs a statement, and [`Statements::during`] counts them.
pub struct Statements {
    _alone: tokio::sync::RwLockWriteGuard<'static, ()>,
}

impl Statements {
    /// Waits until every other test is done with its database, then keeps them waiting.
    pub async fn count() -> Self {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            use tracing_subscriber::layer::SubscriberExt;
            let only_statements = tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE);
            let subscriber = tracing_subscriber::registry().with(
                tracing_subscriber::Layer::with_filter(CountStatements, only_statements),
            );
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other subscriber in the test process");
        });
        Self {
            _alone: alone().write().await,
        }
    }

    /// What `work` ran.
    pub async fn during<T>(&self, work: impl Future<Output = T>) -> (Ran, T) {
        use std::sync::atomic::Ordering::SeqCst;
        let (statements, writes, commits) = (
            STATEMENTS.load(SeqCst),
            WRITES.load(SeqCst),
            COMMITS.load(SeqCst),
        );
        let out = work.await;
        let ran = Ran {
            statements: STATEMENTS.load(SeqCst) - statements,
            writes: WRITES.load(SeqCst) - writes,
            commits: COMMITS.load(SeqCst) - commits,
        };
        (ran, out)
    }
}

/// Runs `async fn $name(app: TestApp)` once on SQLite and once on PostgreSQL, each with a fresh
/// app (`dual_test!(name);` after the function).
#[macro_export]
macro_rules! dual_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::run($crate::harness::Engine::Sqlite, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::run($crate::harness::Engine::Postgres, super::$name).await;
            }
        }
    };
}

/// Runs `async fn $name(engine: Engine)` once per engine, for tests that start their own app
/// (custom settings, a peer on loopback).
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let _shared = $crate::harness::shared().await;
                super::$name($crate::harness::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let _shared = $crate::harness::shared().await;
                super::$name($crate::harness::Engine::Postgres).await;
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

fn postgres_admin_url() -> Result<&'static str, String> {
    static ADMIN: OnceLock<Result<String, String>> = OnceLock::new();
    ADMIN
        .get_or_init(|| match std::env::var("COACHFLUX_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Ok(url),
            _ => start_cluster(),
        })
        .as_deref()
        .map_err(Clone::clone)
}

async fn create_pg_database(admin: &str) -> String {
    let name = format!("cf_test_{}", uuid_simple());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("connect to the PostgreSQL admin database: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    replace_database(admin, &name)
}

/// The admin URL with its database name replaced.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn uuid_simple() -> String {
    coachflux_domain::ids::new_id().replace('-', "")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn find_pg_bin() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| {
            "initdb/pg_ctl not found (install Debian's postgresql, or set COACHFLUX_TEST_DATABASE_URL)"
                .to_owned()
        })
}

fn start_cluster() -> Result<String, String> {
    let bin = find_pg_bin()?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!(
        "coachflux-pg-{}-{}",
        std::process::id(),
        uuid_simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    if root {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| e.to_string())?;
    }
    let as_pg = |program: &Path| -> Command {
        if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    };
    let pgdata = dir.join("pgdata");
    let out = as_pg(&bin.join("initdb"))
        .arg("-D")
        .arg(&pgdata)
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    let out = as_pg(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(&pgdata)
        .args(["-o", &opts, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "start"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("run pg_ctl: {e}"))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        return Err(format!(
            "pg_ctl start failed: {} {log}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Stop the cluster and remove its files once this test process has exited.
    let pg_ctl = bin.join("pg_ctl");
    let stop = if root {
        format!(
            "runuser -u postgres -- {} -D {} -m immediate stop",
            pg_ctl.display(),
            pgdata.display()
        )
    } else {
        format!(
            "{} -D {} -m immediate stop",
            pg_ctl.display(),
            pgdata.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start the cluster watchdog: {e}"))?;
    eprintln!("started a throwaway PostgreSQL cluster on 127.0.0.1:{port}");
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// Decodes the HTML character references the templates emit, so tests can look for
/// catalogue text as a person would read it.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect: oidc-provider (npm) on loopback, one per test process.

pub const OIDC_REDIRECT: &str = "https://coach.example.test/auth/oidc/test/callback";

/// The issuer URL of the test provider, started on first use.
pub fn oidc_issuer() -> Option<&'static str> {
    static ISSUER: OnceLock<Result<String, String>> = OnceLock::new();
    match ISSUER.get_or_init(start_oidc_provider) {
        Ok(issuer) => Some(issuer.as_str()),
        Err(reason) => {
            if std::env::var_os("CI").is_some()
                || std::env::var_os("COACHFLUX_REQUIRE_POSTGRES").is_some()
            {
                panic!("the OIDC test provider is required but could not start: {reason}");
            }
            eprintln!("SKIPPED (OIDC provider unavailable: {reason})");
            None
        }
    }
}

fn start_oidc_provider() -> Result<String, String> {
    use std::io::BufRead;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let e2e = root.join("e2e");
    if !e2e.join("node_modules/oidc-provider").is_dir() {
        return Err("e2e/node_modules/oidc-provider is missing (run: npm ci --prefix e2e)".into());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut child = Command::new("node")
        .arg(e2e.join("oidc/provider.mjs"))
        .arg(port.to_string())
        .arg(OIDC_REDIRECT)
        .current_dir(&e2e)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start node: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    // Keep reading: a closed pipe would kill the provider on its next write.
    std::thread::spawn(move || for _ in reader.lines() {});
    let issuer = line
        .trim()
        .strip_prefix("ready ")
        .ok_or_else(|| format!("the provider said {line:?}"))?
        .to_owned();
    // Stop the provider when this test process ends.
    let script = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; kill {} 2>/dev/null",
        std::process::id(),
        child.id()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Dropping a `Child` neither waits for nor kills it; the watchdog above stops it.
    drop(child);
    Ok(issuer)
}

/// Sends a POST whose headers declare a `declared`-byte body and sends none of it, and returns
/// the whole answer (status line, headers, body), lower-cased. For body limits: a client still
/// writing megabytes when the 413 arrives would see a broken pipe instead of the answer.
pub async fn post_declaring(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    declared: usize,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {declared}\r\n\
         Connection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}
