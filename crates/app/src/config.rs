//! Typed configuration: defaults, then an optional TOML file, then `COACHFLUX_*` environment
//! variables. A bad value is reported in one line naming where it came from.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The OpenAI-compatible endpoint the `openai` coach talks to.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    /// Optional for local servers.
    pub api_key: Option<Secret>,
    pub model: String,
    pub timeout_secs: u64,
    pub max_tokens: u32,
    pub temperature: f32,
    /// How much conversation goes into a prompt, in (approximate) tokens.
    pub context_tokens: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// Keep mail in the outbox, readable in the admin mail log, and print it to the log.
    Log,
    /// Deliver through `COACHFLUX_SMTP_URL`.
    Smtp,
}

/// An OpenID Connect provider people can sign in with (Google, LinkedIn, or any issuer).
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// Lower-case name used in URLs: `/auth/oidc/<name>/start`.
    pub name: String,
    /// What the button says: "Continue with <label>".
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
}

#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Where people reach this instance; every link in emails is built from it.
    pub public_url: String,
    /// 32-byte server key (hex). `None` until the server's start-up loads or
    /// generates it.
    pub secret_key: Option<Secret>,
    pub log: String,
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub mail_transport: MailTransport,
    /// `smtp://host:port` (plain, for a local relay), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465` (TLS).
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// How often the outbox worker looks for due mail when nothing wakes it.
    pub outbox_poll_ms: u64,
    /// Whether this process delivers the outbox (several instances may all do it safely).
    pub mail_worker: bool,
    pub oidc: Vec<OidcProvider>,
    /// `None`: the built-in coach; `Some`: the OpenAI-compatible coach.
    pub openai: Option<OpenAiConfig>,
    /// Model calls per person per day (UTC) before the built-in coach takes over.
    pub coach_daily_calls: i64,
    /// Whether this instance runs the job scheduler (turn off on dedicated web nodes; the
    /// lease rows make it safe on all of them).
    pub jobs: bool,
    /// How often the scheduler looks for due jobs.
    pub job_tick_secs: u64,
    /// Per-job intervals that differ from the defaults, by job name.
    pub job_schedule: BTreeMap<String, i64>,
    /// How many sessions a free member keeps (`None`: unlimited). Unset, every account has
    /// the full product, as on an instance without billing.
    pub free_history: Option<i64>,
    /// Days of daily backups kept under `<data dir>/backups`.
    pub backup_keep_days: i64,
    /// API requests per minute per token (or per visitor id / address without one).
    pub api_rate_limit: i64,
    /// An operator's helplines file laid over the built-in table, and the resulting table.
    pub helplines_file: Option<PathBuf>,
    pub helplines: Arc<coachflux_domain::safety::HelplineTable>,
    /// How many password hashes (19 MiB, tens of ms each) may run at once; the rest wait.
    pub hash_concurrency: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The longest a personal API token lives, in days.
    pub api_token_max_days: i64,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>`.
    pub metrics_token: Option<Secret>,
    /// When set, `/metrics` is served on this address only (not on `bind`).
    pub metrics_bind: Option<SocketAddr>,
}

/// Debug output goes to logs: show the effective values with secrets (and the database
/// password) redacted.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.redacted_lines()).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable or `file: key` the bad value came from.
    pub source: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The TOML file's shape: the same names as the environment variables, lower-case, without the
/// prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    secret_key: Option<String>,
    secret_key_file: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    db_max_connections: Option<u32>,
    max_body_bytes: Option<u64>,
    request_timeout_secs: Option<u64>,
    mail_transport: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    outbox_poll_ms: Option<u64>,
    mail_worker: Option<bool>,
    helplines_file: Option<String>,
    api_rate_limit: Option<u64>,
    coach: Option<String>,
    openai_base_url: Option<String>,
    openai_api_key: Option<String>,
    openai_model: Option<String>,
    openai_timeout_secs: Option<u64>,
    openai_max_tokens: Option<u64>,
    openai_temperature: Option<f64>,
    openai_context_tokens: Option<u64>,
    coach_daily_calls: Option<u64>,
    jobs: Option<bool>,
    job_tick_secs: Option<u64>,
    job_schedule: Option<String>,
    free_history: Option<u64>,
    backup_keep_days: Option<u64>,
    hash_concurrency: Option<u64>,
    trusted_proxies: Option<String>,
    api_token_max_days: Option<u64>,
    metrics_token: Option<String>,
    metrics_bind: Option<String>,
    #[serde(default)]
    oidc: BTreeMap<String, FileOidc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOidc {
    issuer: Option<String>,
    client_id: Option<String>,
    secret: Option<String>,
    label: Option<String>,
}

/// Where each raw value came from, so errors can name it.
struct Raw {
    values: BTreeMap<&'static str, (String, String)>,
}

impl Raw {
    fn get(&self, key: &'static str) -> Option<(&str, &str)> {
        self.values
            .get(key)
            .map(|(source, value)| (source.as_str(), value.as_str()))
    }
}

const KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "public_url",
    "secret_key",
    "secret_key_file",
    "log",
    "log_format",
    "db_max_connections",
    "max_body_bytes",
    "request_timeout_secs",
    "mail_transport",
    "smtp_url",
    "mail_from",
    "outbox_poll_ms",
    "mail_worker",
    "helplines_file",
    "api_rate_limit",
    "coach",
    "openai_base_url",
    "openai_api_key",
    "openai_model",
    "openai_timeout_secs",
    "openai_max_tokens",
    "openai_temperature",
    "openai_context_tokens",
    "coach_daily_calls",
    "jobs",
    "job_tick_secs",
    "job_schedule",
    "free_history",
    "backup_keep_days",
    "hash_concurrency",
    "trusted_proxies",
    "api_token_max_days",
    "metrics_token",
    "metrics_bind",
];

pub fn env_name(key: &str) -> String {
    format!("COACHFLUX_{}", key.to_ascii_uppercase())
}

fn err(source: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        source: source.to_owned(),
        message: message.into(),
    }
}

impl Config {
    /// Loads from the process environment and, when given, a TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("COACHFLUX_"))
            .collect();
        Self::from_sources_with_names(file, |name| std::env::var(name).ok(), &names)
    }

    /// Loads with an explicit environment lookup (tests pass a map).
    pub fn from_sources(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::from_sources_with_names(file, env, &[])
    }

    /// Like [`Config::from_sources`], with the names of the environment variables that are set
    /// (to find `COACHFLUX_OIDC_<NAME>_ISSUER` providers).
    pub fn from_sources_with_names(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        env_names: &[String],
    ) -> Result<Self, ConfigError> {
        let mut oidc_raw: BTreeMap<String, BTreeMap<&'static str, (String, String)>> =
            BTreeMap::new();
        let mut raw = Raw {
            values: BTreeMap::new(),
        };
        if let Some(path) = file {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| err(&shown, format!("cannot read the config file ({e})")))?;
            let parsed: FileConfig =
                toml::from_str(&text).map_err(|e| err(&shown, one_line(&e.to_string())))?;
            let mut put = |key: &'static str, v: Option<String>| {
                if let Some(v) = v {
                    raw.values.insert(key, (format!("{shown}: {key}"), v));
                }
            };
            put("bind", parsed.bind);
            put("data_dir", parsed.data_dir);
            put("database_url", parsed.database_url);
            put("public_url", parsed.public_url);
            put("secret_key", parsed.secret_key);
            put("secret_key_file", parsed.secret_key_file);
            put("log", parsed.log);
            put("log_format", parsed.log_format);
            put(
                "db_max_connections",
                parsed.db_max_connections.map(|v| v.to_string()),
            );
            put(
                "max_body_bytes",
                parsed.max_body_bytes.map(|v| v.to_string()),
            );
            put(
                "request_timeout_secs",
                parsed.request_timeout_secs.map(|v| v.to_string()),
            );
            put("mail_transport", parsed.mail_transport);
            put("smtp_url", parsed.smtp_url);
            put("mail_from", parsed.mail_from);
            put(
                "outbox_poll_ms",
                parsed.outbox_poll_ms.map(|v| v.to_string()),
            );
            put("mail_worker", parsed.mail_worker.map(|v| v.to_string()));
            put("helplines_file", parsed.helplines_file);
            put(
                "api_rate_limit",
                parsed.api_rate_limit.map(|v| v.to_string()),
            );
            put("coach", parsed.coach);
            put("openai_base_url", parsed.openai_base_url);
            put("openai_api_key", parsed.openai_api_key);
            put("openai_model", parsed.openai_model);
            put(
                "openai_timeout_secs",
                parsed.openai_timeout_secs.map(|v| v.to_string()),
            );
            put(
                "openai_max_tokens",
                parsed.openai_max_tokens.map(|v| v.to_string()),
            );
            put(
                "openai_temperature",
                parsed.openai_temperature.map(|v| v.to_string()),
            );
            put(
                "openai_context_tokens",
                parsed.openai_context_tokens.map(|v| v.to_string()),
            );
            put(
                "coach_daily_calls",
                parsed.coach_daily_calls.map(|v| v.to_string()),
            );
            put("jobs", parsed.jobs.map(|v| v.to_string()));
            put("job_tick_secs", parsed.job_tick_secs.map(|v| v.to_string()));
            put("job_schedule", parsed.job_schedule);
            put("free_history", parsed.free_history.map(|v| v.to_string()));
            put(
                "backup_keep_days",
                parsed.backup_keep_days.map(|v| v.to_string()),
            );
            put(
                "hash_concurrency",
                parsed.hash_concurrency.map(|v| v.to_string()),
            );
            put("trusted_proxies", parsed.trusted_proxies);
            put(
                "api_token_max_days",
                parsed.api_token_max_days.map(|v| v.to_string()),
            );
            put("metrics_token", parsed.metrics_token);
            put("metrics_bind", parsed.metrics_bind);
            for (name, p) in parsed.oidc {
                let entry = oidc_raw.entry(name.to_ascii_lowercase()).or_default();
                for (key, value) in [
                    ("issuer", p.issuer),
                    ("client_id", p.client_id),
                    ("secret", p.secret),
                    ("label", p.label),
                ] {
                    if let Some(v) = value {
                        entry.insert(key, (format!("{shown}: oidc.{name}.{key}"), v));
                    }
                }
            }
        }
        for key in KEYS {
            let name = env_name(key);
            if let Some(v) = env(&name) {
                raw.values.insert(key, (name, v));
            }
        }
        for var in env_names {
            let Some(name) = var
                .strip_prefix("COACHFLUX_OIDC_")
                .and_then(|rest| rest.strip_suffix("_ISSUER"))
            else {
                continue;
            };
            let entry = oidc_raw.entry(name.to_ascii_lowercase()).or_default();
            for (key, suffix) in [
                ("issuer", "ISSUER"),
                ("client_id", "CLIENT_ID"),
                ("secret", "SECRET"),
                ("label", "LABEL"),
            ] {
                let var = format!("COACHFLUX_OIDC_{name}_{suffix}");
                if let Some(v) = env(&var) {
                    entry.insert(key, (var, v));
                }
            }
        }
        let mut config = Self::resolve(&raw)?;
        config.oidc = resolve_oidc(oidc_raw)?;
        Ok(config)
    }

    fn resolve(raw: &Raw) -> Result<Self, ConfigError> {
        let bind = match raw.get("bind") {
            Some((src, v)) => v.trim().parse::<SocketAddr>().map_err(|_| {
                err(
                    src,
                    format!(
                        "{v:?} is not a socket address (expected host:port, e.g. 127.0.0.1:8080)"
                    ),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = match raw.get("data_dir") {
            Some((src, v)) if v.trim().is_empty() => return Err(err(src, "must not be empty")),
            Some((_, v)) => PathBuf::from(v),
            None => PathBuf::from("./data"),
        };
        let database_url = match raw.get("database_url") {
            Some((src, v)) => {
                let v = v.trim();
                if coachflux_store::Engine::from_url(v).is_none() {
                    return Err(err(
                        src,
                        "must start with sqlite: or postgres:// (e.g. postgres://user@localhost/coachflux)",
                    ));
                }
                v.to_owned()
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("coachflux.db").display()
            ),
        };
        let public_url = match raw.get("public_url") {
            Some((src, v)) => parse_public_url(v).map_err(|m| err(src, m))?,
            None => format!("http://{bind}"),
        };
        let secret_key = match (raw.get("secret_key"), raw.get("secret_key_file")) {
            (Some((src, _)), Some(_)) => {
                return Err(err(src, "set either the key or the key file, not both"));
            }
            (Some((src, v)), None) => Some(parse_secret_key(v).map_err(|m| err(src, m))?),
            (None, Some((src, path))) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| err(src, format!("cannot read {path:?} ({e})")))?;
                Some(parse_secret_key(&text).map_err(|m| err(src, m))?)
            }
            (None, None) => None,
        };
        let log = match raw.get("log") {
            Some((src, v)) => {
                tracing_subscriber::EnvFilter::try_new(v)
                    .map_err(|e| err(src, format!("{v:?} is not a log filter ({e})")))?;
                v.to_owned()
            }
            None => "info".to_owned(),
        };
        let log_format = match raw.get("log_format") {
            Some((_, "text")) | None => LogFormat::Text,
            Some((_, "json")) => LogFormat::Json,
            Some((src, v)) => return Err(err(src, format!("{v:?} must be text or json"))),
        };
        let db_max_connections = parse_number(raw, "db_max_connections", 10, 1, 1_000)?;
        let max_body_bytes = parse_number(raw, "max_body_bytes", 1 << 20, 1_024, 1 << 30)?;
        let request_timeout_secs = parse_number(raw, "request_timeout_secs", 30, 1, 3_600)?;
        let smtp_url = match raw.get("smtp_url") {
            Some((src, v)) => {
                let v = v.trim();
                let scheme_ok = v.starts_with("smtp://") || v.starts_with("smtps://");
                let parsed = url::Url::parse(v).ok().filter(|u| u.host_str().is_some());
                if !scheme_ok || parsed.is_none() {
                    return Err(err(
                        src,
                        "must be smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465",
                    ));
                }
                Some(Secret::new(v))
            }
            None => None,
        };
        let mail_transport = match raw.get("mail_transport") {
            Some((_, "log")) => MailTransport::Log,
            Some((src, "smtp")) => {
                if smtp_url.is_none() {
                    return Err(err(src, "smtp needs COACHFLUX_SMTP_URL"));
                }
                MailTransport::Smtp
            }
            Some((src, v)) => return Err(err(src, format!("{v:?} must be log or smtp"))),
            None if smtp_url.is_some() => MailTransport::Smtp,
            None => MailTransport::Log,
        };
        let mail_from = match raw.get("mail_from") {
            Some((src, v)) => {
                v.parse::<lettre::message::Mailbox>().map_err(|_| {
                    err(
                        src,
                        format!("{v:?} is not a mailbox (e.g. CoachFlux <coach@example.com>)"),
                    )
                })?;
                v.trim().to_owned()
            }
            None => "CoachFlux <coachflux@localhost>".to_owned(),
        };
        let outbox_poll_ms = parse_number(raw, "outbox_poll_ms", 2_000, 10, 600_000)?;
        let mail_worker = parse_bool(raw, "mail_worker", true)?;
        let api_rate_limit = parse_number(raw, "api_rate_limit", 600, 1, 1_000_000)?;
        let openai = match raw.get("coach") {
            None | Some((_, "builtin")) => None,
            Some((_, "openai")) => Some(parse_openai(raw)?),
            Some((src, v)) => return Err(err(src, format!("{v:?} must be builtin or openai"))),
        };
        let coach_daily_calls = parse_number(raw, "coach_daily_calls", 200, 1, 1_000_000)?;
        let jobs = parse_bool(raw, "jobs", true)?;
        let job_tick_secs = parse_number(raw, "job_tick_secs", 30, 1, 3_600)?;
        let job_schedule = match raw.get("job_schedule") {
            Some((src, v)) => parse_job_schedule(v).map_err(|m| err(src, m))?,
            None => BTreeMap::new(),
        };
        let free_history = match raw.get("free_history") {
            None | Some((_, "unlimited")) => None,
            Some(_) => Some(parse_number(raw, "free_history", 3, 1, 10_000)?),
        };
        let backup_keep_days = parse_number(raw, "backup_keep_days", 30, 1, 3_650)?;
        let (helplines_file, helplines) = match raw.get("helplines_file") {
            Some((src, path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| err(src, format!("cannot read {path:?} ({e})")))?;
                let table = coachflux_domain::safety::HelplineTable::with_overrides(&text)
                    .map_err(|m| err(src, format!("{path}: {m}")))?;
                (Some(PathBuf::from(path)), table)
            }
            None => (None, coachflux_domain::safety::HelplineTable::builtin()),
        };
        let hash_concurrency = parse_number(
            raw,
            "hash_concurrency",
            crate::crypto::default_hash_concurrency() as u64,
            1,
            256,
        )?;
        let trusted_proxies = match raw.get("trusted_proxies") {
            Some((src, v)) => parse_networks(v).map_err(|m| err(src, m))?,
            None => Vec::new(),
        };
        let api_token_max_days = parse_number(raw, "api_token_max_days", 90, 1, 3_650)?;
        let metrics_token = match raw.get("metrics_token") {
            Some((src, v)) if v.trim().len() < 16 => {
                return Err(err(src, "use at least 16 characters"));
            }
            Some((_, v)) => Some(Secret::new(v.trim())),
            None => None,
        };
        let metrics_bind = match raw.get("metrics_bind") {
            Some((src, v)) => Some(v.trim().parse::<SocketAddr>().map_err(|_| {
                err(
                    src,
                    format!("{v:?} is not a socket address (e.g. 127.0.0.1:9090)"),
                )
            })?),
            None => None,
        };
        Ok(Self {
            hash_concurrency: usize::try_from(hash_concurrency).unwrap_or(1),
            trusted_proxies,
            api_token_max_days: i64::try_from(api_token_max_days).unwrap_or(90),
            metrics_token,
            metrics_bind,
            bind,
            data_dir,
            database_url,
            public_url,
            secret_key,
            log,
            log_format,
            db_max_connections: u32::try_from(db_max_connections).unwrap_or(u32::MAX),
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            request_timeout_secs,
            mail_transport,
            smtp_url,
            mail_from,
            outbox_poll_ms,
            mail_worker,
            oidc: Vec::new(),
            api_rate_limit: i64::try_from(api_rate_limit).unwrap_or(i64::MAX),
            openai,
            coach_daily_calls: i64::try_from(coach_daily_calls).unwrap_or(i64::MAX),
            jobs,
            job_tick_secs,
            job_schedule,
            free_history: free_history.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            backup_keep_days: i64::try_from(backup_keep_days).unwrap_or(i64::MAX),
            helplines_file,
            helplines: Arc::new(helplines),
        })
    }

    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The effective configuration as `KEY = value` lines, secrets redacted.
    pub fn redacted_lines(&self) -> Vec<(String, String)> {
        let secret = match &self.secret_key {
            Some(_) => "<redacted>".to_owned(),
            None => format!(
                "<redacted> (read from or generated into {})",
                self.data_dir.join("secret.key").display()
            ),
        };
        vec![
            (env_name("bind"), self.bind.to_string()),
            (env_name("data_dir"), self.data_dir.display().to_string()),
            (env_name("database_url"), redact_url(&self.database_url)),
            (env_name("public_url"), self.public_url.clone()),
            (env_name("secret_key"), secret),
            (env_name("log"), self.log.clone()),
            (
                env_name("log_format"),
                match self.log_format {
                    LogFormat::Text => "text",
                    LogFormat::Json => "json",
                }
                .to_owned(),
            ),
            (
                env_name("db_max_connections"),
                self.db_max_connections.to_string(),
            ),
            (env_name("max_body_bytes"), self.max_body_bytes.to_string()),
            (
                env_name("request_timeout_secs"),
                self.request_timeout_secs.to_string(),
            ),
            (
                env_name("mail_transport"),
                match self.mail_transport {
                    MailTransport::Log => "log",
                    MailTransport::Smtp => "smtp",
                }
                .to_owned(),
            ),
            (
                env_name("smtp_url"),
                self.smtp_url
                    .as_ref()
                    .map_or_else(|| "(unset)".to_owned(), |u| redact_url(u.expose())),
            ),
            (env_name("mail_from"), self.mail_from.clone()),
            (env_name("outbox_poll_ms"), self.outbox_poll_ms.to_string()),
            (env_name("mail_worker"), self.mail_worker.to_string()),
            (env_name("api_rate_limit"), self.api_rate_limit.to_string()),
            (
                env_name("coach"),
                if self.openai.is_some() {
                    "openai"
                } else {
                    "builtin"
                }
                .to_owned(),
            ),
            (
                env_name("coach_daily_calls"),
                self.coach_daily_calls.to_string(),
            ),
            (
                env_name("free_history"),
                self.free_history
                    .map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
            ),
            (
                env_name("backup_keep_days"),
                self.backup_keep_days.to_string(),
            ),
            (
                env_name("hash_concurrency"),
                self.hash_concurrency.to_string(),
            ),
            (
                env_name("trusted_proxies"),
                if self.trusted_proxies.is_empty() {
                    "(none)".to_owned()
                } else {
                    self.trusted_proxies
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                },
            ),
            (
                env_name("api_token_max_days"),
                self.api_token_max_days.to_string(),
            ),
            (
                env_name("metrics_token"),
                if self.metrics_token.is_some() {
                    "<redacted>"
                } else {
                    "(unset)"
                }
                .to_owned(),
            ),
            (
                env_name("metrics_bind"),
                self.metrics_bind
                    .map_or_else(|| "(unset)".to_owned(), |a| a.to_string()),
            ),
            (
                env_name("helplines_file"),
                self.helplines_file.as_ref().map_or_else(
                    || "(built-in table)".to_owned(),
                    |p| p.display().to_string(),
                ),
            ),
        ]
        .into_iter()
        .chain(self.openai.iter().flat_map(|o| {
            [
                (env_name("openai_base_url"), redact_url(&o.base_url)),
                (
                    env_name("openai_api_key"),
                    if o.api_key.is_some() {
                        "<redacted>"
                    } else {
                        "(unset)"
                    }
                    .to_owned(),
                ),
                (env_name("openai_model"), o.model.clone()),
                (env_name("openai_timeout_secs"), o.timeout_secs.to_string()),
                (env_name("openai_max_tokens"), o.max_tokens.to_string()),
                (env_name("openai_temperature"), o.temperature.to_string()),
                (
                    env_name("openai_context_tokens"),
                    o.context_tokens.to_string(),
                ),
            ]
        }))
        .chain(self.oidc.iter().flat_map(|p| {
            let n = p.name.to_ascii_uppercase();
            [
                (format!("COACHFLUX_OIDC_{n}_ISSUER"), p.issuer.clone()),
                (format!("COACHFLUX_OIDC_{n}_CLIENT_ID"), p.client_id.clone()),
                (
                    format!("COACHFLUX_OIDC_{n}_SECRET"),
                    "<redacted>".to_owned(),
                ),
                (format!("COACHFLUX_OIDC_{n}_LABEL"), p.label.clone()),
            ]
        }))
        .collect()
    }
}

fn parse_number(
    raw: &Raw,
    key: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match raw.get(key) {
        None => Ok(default),
        Some((src, v)) => match v.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(err(
                src,
                format!("{v:?} must be a whole number from {min} to {max}"),
            )),
        },
    }
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A comma-separated list of addresses or networks: `10.0.0.0/8, 192.168.1.7, ::1`.
fn parse_networks(v: &str) -> Result<Vec<ipnet::IpNet>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("{s:?} is not an IP address or network (e.g. 10.0.0.0/8, 192.168.1.7)")
                })
        })
        .collect()
}

fn resolve_oidc(
    raw: BTreeMap<String, BTreeMap<&'static str, (String, String)>>,
) -> Result<Vec<OidcProvider>, ConfigError> {
    let mut out = Vec::new();
    for (name, values) in raw {
        let get = |key: &str| values.get(key).map(|(src, v)| (src.as_str(), v.trim()));
        let Some((issuer_src, issuer)) = get("issuer") else {
            let (src, _) = values.values().next().expect("an entry has a value");
            return Err(err(src, format!("the {name} provider needs an issuer")));
        };
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return Err(err(issuer_src, "provider names are letters and digits"));
        }
        let ok_url = url::Url::parse(issuer)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
        let Some(url) = ok_url else {
            return Err(err(
                issuer_src,
                format!("{issuer:?} is not an issuer URL (e.g. https://accounts.google.com)"),
            ));
        };
        // Tokens and keys fetched over plain http could be read or swapped on the way; only a
        // provider on this machine (development, tests) may use it.
        if url.scheme() == "http" && !is_loopback_host(&url) {
            return Err(err(
                issuer_src,
                format!(
                    "{issuer:?} uses plain http: an issuer must use https (http only on loopback, for development)"
                ),
            ));
        }
        let missing = |key: &str| {
            err(
                issuer_src,
                format!(
                    "the {name} provider also needs COACHFLUX_OIDC_{}_{}",
                    name.to_ascii_uppercase(),
                    key
                ),
            )
        };
        let client_id = get("client_id")
            .ok_or_else(|| missing("CLIENT_ID"))?
            .1
            .to_owned();
        let secret = get("secret").ok_or_else(|| missing("SECRET"))?.1.to_owned();
        let label = get("label").map_or_else(
            || match name.as_str() {
                "google" => "Google".to_owned(),
                "linkedin" => "LinkedIn".to_owned(),
                other => {
                    let mut c = other.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                }
            },
            |(_, l)| l.to_owned(),
        );
        out.push(OidcProvider {
            name,
            label,
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: Secret::new(secret),
        });
    }
    Ok(out)
}

/// `name=15m,other=1h`: per-job intervals (s, m, h or d), names from `coachflux jobs list`.
fn parse_job_schedule(v: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, every) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} must look like purge=1h"))?;
        let name = name.trim();
        if coachflux_domain::jobs::Job::from_name(name).is_none() {
            let known: Vec<&str> = coachflux_domain::jobs::ALL
                .iter()
                .map(|j| j.name())
                .collect();
            return Err(format!("unknown job {name:?} (jobs: {})", known.join(", ")));
        }
        let every = every.trim();
        let (number, unit) = every.split_at(every.len().saturating_sub(1));
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("{every:?} needs a unit: s, m, h or d")),
        };
        let n: i64 = number
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{every:?} is not a positive duration"))?;
        out.insert(name.to_owned(), n * unit_ms);
    }
    Ok(out)
}

fn parse_openai(raw: &Raw) -> Result<OpenAiConfig, ConfigError> {
    let missing = |key: &'static str| {
        err(
            &env_name(key),
            "is required when COACHFLUX_COACH=openai".to_owned(),
        )
    };
    let (src, base) = raw
        .get("openai_base_url")
        .ok_or_else(|| missing("openai_base_url"))?;
    let base = base.trim().trim_end_matches('/');
    let ok = url::Url::parse(base)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        return Err(err(
            src,
            format!("{base:?} must be an http(s) URL such as https://api.openai.com/v1"),
        ));
    }
    let model = raw
        .get("openai_model")
        .map(|(_, m)| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .ok_or_else(|| missing("openai_model"))?;
    let temperature = match raw.get("openai_temperature") {
        None => 0.4,
        Some((src, v)) => match v.trim().parse::<f32>() {
            Ok(t) if (0.0..=2.0).contains(&t) => t,
            _ => return Err(err(src, format!("{v:?} must be a number from 0 to 2"))),
        },
    };
    Ok(OpenAiConfig {
        base_url: base.to_owned(),
        api_key: raw
            .get("openai_api_key")
            .map(|(_, k)| k.trim())
            .filter(|k| !k.is_empty())
            .map(Secret::new),
        model,
        timeout_secs: parse_number(raw, "openai_timeout_secs", 30, 1, 600)?,
        max_tokens: u32::try_from(parse_number(raw, "openai_max_tokens", 600, 16, 32_000)?)
            .unwrap_or(600),
        temperature,
        context_tokens: usize::try_from(parse_number(
            raw,
            "openai_context_tokens",
            6_000,
            500,
            1_000_000,
        )?)
        .unwrap_or(6_000),
    })
}

fn parse_bool(raw: &Raw, key: &'static str, default: bool) -> Result<bool, ConfigError> {
    match raw.get(key) {
        None => Ok(default),
        Some((src, v)) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(err(src, format!("{v:?} must be true or false"))),
        },
    }
}

fn parse_public_url(v: &str) -> Result<String, String> {
    let v = v.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| format!("{v:?} must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#']) {
        return Err(format!(
            "{v:?} is not a base URL (expected e.g. https://coach.example.com)"
        ));
    }
    Ok(v.to_owned())
}

pub fn parse_secret_key(v: &str) -> Result<Secret, String> {
    let v = v.trim();
    if v.len() != 64 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(
            "must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`"
                .to_owned(),
        );
    }
    Ok(Secret::new(v.to_ascii_lowercase()))
}

/// Hides the password in a database URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:<redacted>@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_sources(None, |k| env.get(k).cloned())
    }

    #[test]
    fn defaults_serve_sqlite_under_data() {
        let c = load(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./data/coachflux.db?mode=rwc");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.log_format, LogFormat::Text);
        assert!(c.secret_key.is_none());
    }

    #[test]
    fn a_helplines_file_extends_the_table_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("helplines.toml");
        std::fs::write(
            &good,
            "[countries.DE]\nemergency = \"112\"\nlines = [{ name = \"TelefonSeelsorge\", contact = \"Call 0800 111 0 111\" }]\n",
        )
        .unwrap();
        let c = load(&[("COACHFLUX_HELPLINES_FILE", good.to_str().unwrap())]).unwrap();
        assert_eq!(
            c.helplines.for_country(Some("de"))[0].name,
            "TelefonSeelsorge"
        );
        assert_eq!(c.helplines.for_country(Some("GB"))[0].name, "Samaritans");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[countries.Germany]\nemergency = \"112\"\n").unwrap();
        let e = load(&[("COACHFLUX_HELPLINES_FILE", bad.to_str().unwrap())]).unwrap_err();
        assert_eq!(e.source, "COACHFLUX_HELPLINES_FILE");
        assert!(e.message.contains("two-letter"), "{e}");
        let e = load(&[("COACHFLUX_HELPLINES_FILE", "/nonexistent/h.toml")]).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
    }

    #[test]
    fn the_openai_coach_needs_a_url_and_a_model_and_hides_the_key() {
        let c = load(&[
            ("COACHFLUX_COACH", "openai"),
            ("COACHFLUX_OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/"),
            ("COACHFLUX_OPENAI_MODEL", "llama3.2"),
            ("COACHFLUX_OPENAI_API_KEY", "sk-very-secret"),
            ("COACHFLUX_OPENAI_TEMPERATURE", "0.2"),
        ])
        .unwrap();
        let o = c.openai.as_ref().unwrap();
        assert_eq!(o.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!((o.timeout_secs, o.max_tokens), (30, 600));
        let lines = format!("{:?}", c.redacted_lines());
        assert!(
            lines.contains("llama3.2") && !lines.contains("sk-very-secret"),
            "{lines}"
        );
        assert!(
            load(&[]).unwrap().openai.is_none(),
            "the built-in coach by default"
        );
        for (vars, source) in [
            (vec![("COACHFLUX_COACH", "gpt")], "COACHFLUX_COACH"),
            (
                vec![("COACHFLUX_COACH", "openai")],
                "COACHFLUX_OPENAI_BASE_URL",
            ),
            (
                vec![
                    ("COACHFLUX_COACH", "openai"),
                    ("COACHFLUX_OPENAI_BASE_URL", "ftp://x"),
                ],
                "COACHFLUX_OPENAI_BASE_URL",
            ),
            (
                vec![
                    ("COACHFLUX_COACH", "openai"),
                    ("COACHFLUX_OPENAI_BASE_URL", "http://x/v1"),
                ],
                "COACHFLUX_OPENAI_MODEL",
            ),
            (
                vec![
                    ("COACHFLUX_COACH", "openai"),
                    ("COACHFLUX_OPENAI_BASE_URL", "http://x/v1"),
                    ("COACHFLUX_OPENAI_MODEL", "m"),
                    ("COACHFLUX_OPENAI_TEMPERATURE", "9"),
                ],
                "COACHFLUX_OPENAI_TEMPERATURE",
            ),
        ] {
            assert_eq!(load(&vars).unwrap_err().source, source, "{vars:?}");
        }
    }

    #[test]
    fn job_schedules_parse_and_bad_ones_are_named() {
        let c = load(&[("COACHFLUX_JOB_SCHEDULE", "purge=2h, anonymous-sessions=90s")]).unwrap();
        assert_eq!(
            crate::jobs::interval_ms(&c, crate::jobs::Job::Purge),
            7_200_000
        );
        assert_eq!(
            crate::jobs::interval_ms(&c, crate::jobs::Job::AnonymousSessions),
            90_000
        );
        assert_eq!(
            crate::jobs::interval_ms(&c, crate::jobs::Job::ArchiveActions),
            crate::jobs::Job::ArchiveActions.default_interval_ms()
        );
        for bad in ["purge", "purge=2", "nope=1h", "purge=0m", "purge=xh"] {
            let e = load(&[("COACHFLUX_JOB_SCHEDULE", bad)]).unwrap_err();
            assert_eq!(e.source, "COACHFLUX_JOB_SCHEDULE", "{bad}");
        }
    }

    #[test]
    fn bad_bind_names_the_variable() {
        let e = load(&[("COACHFLUX_BIND", "localhost")]).unwrap_err();
        assert_eq!(e.source, "COACHFLUX_BIND");
        assert!(
            e.to_string().starts_with("COACHFLUX_BIND: \"localhost\""),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for (var, value) in [
            ("COACHFLUX_LOG_FORMAT", "xml"),
            ("COACHFLUX_DATABASE_URL", "mysql://x"),
            ("COACHFLUX_PUBLIC_URL", "coach.example.com"),
            ("COACHFLUX_SECRET_KEY", "short"),
            ("COACHFLUX_DB_MAX_CONNECTIONS", "0"),
            ("COACHFLUX_REQUEST_TIMEOUT_SECS", "ten"),
            ("COACHFLUX_LOG", "info,[=bad"),
            ("COACHFLUX_SMTP_URL", "mail.example.com"),
            ("COACHFLUX_MAIL_TRANSPORT", "smtp"),
            ("COACHFLUX_MAIL_FROM", "not a mailbox"),
        ] {
            let e = load(&[(var, value)]).unwrap_err();
            assert_eq!(e.source, var, "{e}");
        }
    }

    #[test]
    fn file_values_are_overridden_by_env() {
        let dir = std::env::temp_dir().join(format!("cfcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("coachflux.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:9000\"\nlog = \"debug\"\n").unwrap();
        let c = Config::from_sources(Some(&file), |k| {
            (k == "COACHFLUX_LOG").then(|| "warn".to_owned())
        })
        .unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.log, "warn");
        std::fs::write(&file, "bnd = \"x\"\n").unwrap();
        let e = Config::from_sources(Some(&file), |_| None).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_never_print() {
        let key = "ab".repeat(32);
        let c = load(&[
            ("COACHFLUX_SECRET_KEY", key.as_str()),
            ("COACHFLUX_DATABASE_URL", "postgres://cf:hunter2@db/cf"),
        ])
        .unwrap();
        let shown = format!("{:?} {:?}", c, c.redacted_lines());
        assert!(!shown.contains(&key));
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("postgres://cf:<redacted>@db/cf"));
    }

    #[test]
    fn an_smtp_url_selects_smtp_and_is_redacted() {
        let c = load(&[(
            "COACHFLUX_SMTP_URL",
            "smtps://mailer:pa55@smtp.example.com:465",
        )])
        .unwrap();
        assert_eq!(c.mail_transport, MailTransport::Smtp);
        let shown = format!("{c:?}");
        assert!(!shown.contains("pa55"), "{shown}");
        assert!(shown.contains("smtps://mailer:<redacted>@smtp.example.com:465"));
        assert_eq!(load(&[]).unwrap().mail_transport, MailTransport::Log);
    }

    #[test]
    fn oidc_issuers_over_plain_http_are_refused_off_loopback() {
        let with_issuer = |issuer: &str| {
            let vars: HashMap<String, String> = [
                ("COACHFLUX_OIDC_CORP_ISSUER", issuer),
                ("COACHFLUX_OIDC_CORP_CLIENT_ID", "cid"),
                ("COACHFLUX_OIDC_CORP_SECRET", "s3cret"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let names: Vec<String> = vars.keys().cloned().collect();
            Config::from_sources_with_names(None, |k| vars.get(k).cloned(), &names)
        };
        let e = with_issuer("http://id.example.com/realms/staff").unwrap_err();
        assert_eq!(e.source, "COACHFLUX_OIDC_CORP_ISSUER");
        assert!(e.to_string().contains("https"), "{e}");
        assert!(with_issuer("https://id.example.com/realms/staff").is_ok());
        assert!(with_issuer("http://127.0.0.1:4455").is_ok());
        assert!(with_issuer("http://localhost:4455").is_ok());
        assert!(with_issuer("http://[::1]:4455").is_ok());
    }

    #[test]
    fn security_settings_parse_and_bad_ones_are_named() {
        let c = load(&[]).unwrap();
        assert!(
            c.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
        assert_eq!(c.api_token_max_days, 90);
        assert!(c.hash_concurrency >= 1);
        assert!(c.metrics_token.is_none() && c.metrics_bind.is_none());
        let c = load(&[
            ("COACHFLUX_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,::1"),
            ("COACHFLUX_HASH_CONCURRENCY", "3"),
            ("COACHFLUX_API_TOKEN_MAX_DAYS", "30"),
            ("COACHFLUX_METRICS_TOKEN", "a-long-scrape-token"),
            ("COACHFLUX_METRICS_BIND", "127.0.0.1:9090"),
        ])
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[0].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!(c.hash_concurrency, 3);
        assert_eq!(c.api_token_max_days, 30);
        assert!(!format!("{c:?}").contains("a-long-scrape-token"));
        for (var, value) in [
            ("COACHFLUX_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("COACHFLUX_HASH_CONCURRENCY", "0"),
            ("COACHFLUX_API_TOKEN_MAX_DAYS", "0"),
            ("COACHFLUX_METRICS_TOKEN", "short"),
            ("COACHFLUX_METRICS_BIND", "9090"),
        ] {
            let e = load(&[(var, value)]).unwrap_err();
            assert_eq!(e.source, var, "{e}");
        }
    }

    #[test]
    fn oidc_providers_come_from_their_variables() {
        let vars: HashMap<String, String> = [
            (
                "COACHFLUX_OIDC_GOOGLE_ISSUER",
                "https://accounts.google.com",
            ),
            ("COACHFLUX_OIDC_GOOGLE_CLIENT_ID", "cid"),
            ("COACHFLUX_OIDC_GOOGLE_SECRET", "s3cret"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let names: Vec<String> = vars.keys().cloned().collect();
        let c = Config::from_sources_with_names(None, |k| vars.get(k).cloned(), &names).unwrap();
        assert_eq!(c.oidc.len(), 1);
        assert_eq!(c.oidc[0].name, "google");
        assert_eq!(c.oidc[0].label, "Google");
        assert!(!format!("{c:?}").contains("s3cret"));
        let mut partial = vars.clone();
        partial.remove("COACHFLUX_OIDC_GOOGLE_SECRET");
        let e =
            Config::from_sources_with_names(None, |k| partial.get(k).cloned(), &names).unwrap_err();
        assert!(
            e.to_string().contains("COACHFLUX_OIDC_GOOGLE_SECRET"),
            "{e}"
        );
        assert!(
            load(&[]).unwrap().oidc.is_empty(),
            "no provider unless configured"
        );
    }

    #[test]
    fn https_public_url_is_detected() {
        let c = load(&[("COACHFLUX_PUBLIC_URL", "https://coach.example.com/")]).unwrap();
        assert!(c.is_https());
        assert_eq!(c.public_url, "https://coach.example.com");
    }
}
