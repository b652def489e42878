//! Settings, each declared once in [`settings!`] below: its name, type, default, reader and
//! the sentence that documents it. From that one declaration come the TOML file's keys (the
//! names, lower-case), the `COACHFLUX_*` environment variables, their `*_FILE` variants (the
//! value read from a file, for secrets mounted by an orchestrator), `coachflux config`
//! (redacted) and the table in README.md (`coachflux config --markdown`; a test keeps them
//! equal). Precedence: defaults, then the file, then the environment. A bad value is one line
//! naming where it came from.
//!
//! Why a declarative macro over one struct rather than serde or a layered-config crate: the
//! environment and the file give text and TOML scalars that all go through the same reader,
//! so an error can name the exact variable; and the doc sentence and default must be data at
//! run time for the README table, which serde's derive doesn't keep.

mod values;

pub use values::{
    CoachKind, Helplines, JobSchedule, Limit, LogFormat, MailTransport, Secret, Shown,
    UrlWithPassword, parse::secret_key as parse_secret_key, redact_url,
};

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use values::parse;

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

/// One declared setting, for the README table and the file's key check.
#[derive(Debug)]
pub struct Setting {
    /// The file's key; the variable is `COACHFLUX_` and this in upper case.
    pub key: &'static str,
    /// The default as text (empty: unset), read like any value; `{other}` stands for the
    /// effective value of another setting.
    pub default: &'static str,
    pub doc: &'static str,
}

macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $key:ident: $ty:ty = $default:literal => $parse:expr,
            )+
        }
        derived {
            $( $(#[doc = $ddoc:literal])+ $dkey:ident: $dty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[doc = $doc])+ pub $key: $ty, )+
            $( $(#[doc = $ddoc])+ pub $dkey: $dty, )*
        }

        /// Every declared setting, in declaration order.
        pub const SETTINGS: &[Setting] = &[
            $( Setting { key: stringify!($key), default: $default, doc: concat!($($doc, "\n"),+) }, )+
        ];

        impl $name {
            fn declared(raw: &Raw) -> Result<Self, ConfigError> {
                Ok(Self {
                    $( $key: raw.read(stringify!($key), $parse)?, )+
                    $( $dkey: Default::default(), )*
                })
            }

            fn declared_lines(&self) -> Vec<(String, String)> {
                vec![ $( (env_name(stringify!($key)), Shown::shown(&self.$key)), )+ ]
            }
        }
    };
}

settings! {
    #[derive(Clone)]
    pub struct Config {
        /// Address and port to listen on (`:0` picks a free port).
        bind: SocketAddr = "127.0.0.1:8080" => parse::socket_addr,
        /// SQLite database, server key, daily backups (`backups/`); created `0700` (files
        /// `0600`), and a directory other users can read is refused at start.
        data_dir: PathBuf = "./data" => parse::dir,
        /// `sqlite:` or `postgres://` URL; its password is never printed.
        database_url: UrlWithPassword = "sqlite://{data_dir}/coachflux.db?mode=rwc" => parse::database_url,
        /// The URL people use; links in emails are built from it; `https://` turns on HSTS.
        public_url: String = "http://{bind}" => parse::public_url,
        /// 64 hex characters (32 bytes) that encrypt secrets at rest; unset, it is read from or
        /// generated into `<data dir>/secret.key`.
        secret_key: Option<Secret> = "" => parse::optional_secret_key,
        /// Log filter, e.g. `info,coachflux=debug,sqlx=warn`.
        log: String = "info" => parse::log_filter,
        /// `text` or `json`.
        log_format: LogFormat = "text" => parse::log_format,
        /// Database pool size per instance (1 to 1000).
        db_max_connections: u32 = "10" => parse::number(1, 1_000),
        /// Request bodies above this get 413.
        max_body_bytes: usize = "1048576" => parse::number(1_024, 1 << 30),
        /// A request still running after this gets 503.
        request_timeout_secs: u64 = "30" => parse::number(1, 3_600),
        /// Where email goes: `log` (the outbox and the log) or `smtp`; setting
        /// `COACHFLUX_SMTP_URL` alone selects `smtp`.
        mail_transport: MailTransport = "log" => parse::mail_transport,
        /// SMTP server: `smtp://host:port` (plain, a local relay),
        /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`;
        /// the password is never printed.
        smtp_url: Option<UrlWithPassword> = "" => parse::smtp_url,
        /// Sender of every email.
        mail_from: String = "CoachFlux <coachflux@localhost>" => parse::mailbox,
        /// How often the mail worker looks for due mail when nothing wakes it.
        outbox_poll_ms: u64 = "2000" => parse::number(10, 600_000),
        /// Whether this instance delivers the outbox (safe on several at once).
        mail_worker: bool = "true" => parse::flag,
        /// A TOML file of helplines by country laid over the built-in table (see Helplines).
        helplines_file: Helplines = "" => parse::helplines,
        /// API requests per minute per token (or per visitor id / address without one).
        api_rate_limit: i64 = "600" => parse::number(1, 1_000_000),
        /// `builtin` (offline) or `openai` (any OpenAI-compatible endpoint, see below).
        coach: CoachKind = "builtin" => parse::coach,
        /// The model API's base, usually ending in `/v1`; needed for the `openai` coach.
        openai_base_url: Option<UrlWithPassword> = "" => parse::optional_api_url,
        /// Sent as a bearer token; optional for local servers; never printed.
        openai_api_key: Option<Secret> = "" => parse::optional_secret,
        /// The model name; needed for the `openai` coach.
        openai_model: Option<String> = "" => parse::optional_text,
        /// Seconds per model call.
        openai_timeout_secs: u64 = "30" => parse::number(1, 600),
        /// Tokens per answer.
        openai_max_tokens: u32 = "600" => parse::number(16, 32_000),
        /// Sampling temperature, 0 to 2.
        openai_temperature: f32 = "0.4" => parse::decimal(0.0, 2.0),
        /// Prompt budget in tokens; the oldest turns are dropped first.
        openai_context_tokens: usize = "6000" => parse::number(500, 1_000_000),
        /// Model calls per person per UTC day, then the built-in coach answers.
        coach_daily_calls: i64 = "200" => parse::number(1, 1_000_000),
        /// Whether this instance runs the job scheduler (the lease rows make it safe on all).
        jobs: bool = "true" => parse::flag,
        /// How often the scheduler looks for due jobs, in seconds.
        job_tick_secs: u64 = "30" => parse::number(1, 3_600),
        /// Per-job intervals that differ from the defaults: `purge=2h,anonymous-sessions=5m`
        /// (units s, m, h, d).
        job_schedule: JobSchedule = "" => parse::job_schedule,
        /// Sessions a free member keeps (e.g. `3`); `unlimited`: every account keeps its whole
        /// history, as on an instance without billing.
        free_history: Limit = "unlimited" => parse::limit(1, 10_000),
        /// Days of daily backups kept in `<data dir>/backups`.
        backup_keep_days: i64 = "30" => parse::number(1, 3_650),
        /// Password hashes (argon2id, 19 MiB each) run at once; others wait up to 5 s, then get
        /// `503` with `Retry-After`; `auto`: one per core, at most 6.
        hash_concurrency: usize = "auto" => parse::number_or_auto(1, 256, crate::crypto::default_hash_concurrency),
        /// Comma-separated addresses or networks of reverse proxies whose `X-Forwarded-For`
        /// names the client (`10.0.0.0/8, 192.168.1.7`); rate limits key on that client.
        trusted_proxies: Vec<ipnet::IpNet> = "" => parse::networks,
        /// The longest a personal API token lives, in days (also its default); older tokens
        /// stop working.
        api_token_max_days: i64 = "90" => parse::number(1, 3_650),
        /// `/metrics` answers only `Authorization: Bearer <this>` (at least 16 characters).
        metrics_token: Option<Secret> = "" => parse::optional_token,
        /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9090`), not on the public
        /// listener; without it or a token, `/metrics` is not served.
        metrics_bind: Option<SocketAddr> = "" => parse::optional_socket_addr,
    }
    derived {
        /// OpenID Connect providers, from `COACHFLUX_OIDC_<NAME>_*` or `[oidc.<name>]`.
        oidc: Vec<OidcProvider>,
        /// The `openai` coach's endpoint (`None`: the built-in coach).
        openai: Option<OpenAiConfig>,
    }
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

pub fn env_name(key: &str) -> String {
    format!("COACHFLUX_{}", key.to_ascii_uppercase())
}

fn err(source: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        source: source.to_owned(),
        message: message.into(),
    }
}

fn declared(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The raw text of each setting that was given, with where it came from.
#[derive(Default)]
struct Raw {
    values: BTreeMap<&'static str, (String, String)>,
}

impl Raw {
    fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// Where `key`'s value came from (its variable when it wasn't given).
    fn source(&self, key: &str) -> String {
        self.values
            .get(key)
            .map_or_else(|| env_name(key), |(src, _)| src.clone())
    }

    /// The text `key` is read from: the given value, else its default with `{other}` filled in.
    fn text(&self, key: &str) -> String {
        if let Some((_, v)) = self.values.get(key) {
            return v.clone();
        }
        let mut out = String::new();
        let mut rest = declared(key).map_or("", |s| s.default);
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push_str(&rest[..open]);
            out.push_str(self.text(&rest[open + 1..open + close]).trim());
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn read<T>(
        &self,
        key: &'static str,
        parse: impl Fn(&str) -> parse::Parsed<T>,
    ) -> Result<T, ConfigError> {
        parse(&self.text(key)).map_err(|m| {
            let source = match self.values.get(key) {
                Some((src, _)) => src.clone(),
                None => format!("the default of {}", env_name(key)),
            };
            err(&source, m)
        })
    }
}

/// A setting's value and its `_FILE` variant as given, each with where it came from.
#[derive(Default)]
struct Given {
    value: Option<(String, String)>,
    file: Option<(String, String)>,
}

impl Given {
    /// Sets `key` from the value or from the file the `_FILE` variant names, refusing both.
    fn put(
        self,
        into: &mut BTreeMap<&'static str, (String, String)>,
        key: &'static str,
    ) -> Result<(), ConfigError> {
        match (self.value, self.file) {
            (Some((src, _)), Some((file_src, _))) => Err(err(
                &src,
                format!("set either this or {file_src}, not both"),
            )),
            (Some(given), None) => {
                into.insert(key, given);
                Ok(())
            }
            (None, Some((src, path))) => {
                let text = std::fs::read_to_string(path.trim())
                    .map_err(|e| err(&src, format!("cannot read {path:?} ({e})")))?;
                let text = text.trim_end_matches(['\n', '\r']).to_owned();
                into.insert(key, (format!("{src} ({})", path.trim()), text));
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// From the environment: `name` and `name_FILE`.
    fn env(env: &impl Fn(&str) -> Option<String>, name: &str) -> Self {
        let file = format!("{name}_FILE");
        Self {
            value: env(name).map(|v| (name.to_owned(), v)),
            file: env(&file).map(|v| (file, v)),
        }
    }
}

/// A TOML scalar as the text the readers take (lists of text are joined with commas).
fn toml_text(source: &str, value: toml::Value) -> Result<String, ConfigError> {
    match value {
        toml::Value::String(s) => Ok(s),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(n) => Ok(n.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s),
                _ => Err(err(source, "a list here holds text only")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(",")),
        _ => Err(err(source, "must be text, a number or true/false")),
    }
}

const OIDC_FIELDS: [(&str, &str); 4] = [
    ("issuer", "ISSUER"),
    ("client_id", "CLIENT_ID"),
    ("secret", "SECRET"),
    ("label", "LABEL"),
];

type OidcRaw = BTreeMap<String, BTreeMap<&'static str, (String, String)>>;

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
        let mut raw = Raw::default();
        let mut oidc = OidcRaw::new();
        if let Some(path) = file {
            read_file(path, &mut raw, &mut oidc)?;
        }
        for setting in SETTINGS {
            Given::env(&env, &env_name(setting.key)).put(&mut raw.values, setting.key)?;
        }
        for var in env_names {
            let Some(name) = var
                .strip_prefix("COACHFLUX_OIDC_")
                .and_then(|rest| rest.strip_suffix("_ISSUER"))
            else {
                continue;
            };
            let entry = oidc.entry(name.to_ascii_lowercase()).or_default();
            for (key, suffix) in OIDC_FIELDS {
                Given::env(&env, &format!("COACHFLUX_OIDC_{name}_{suffix}")).put(entry, key)?;
            }
        }
        let mut config = Self::declared(&raw)?;
        config.finish(&raw)?;
        config.oidc = resolve_oidc(oidc)?;
        Ok(config)
    }

    /// The rules between settings.
    fn finish(&mut self, raw: &Raw) -> Result<(), ConfigError> {
        if !raw.has("mail_transport") && self.smtp_url.is_some() {
            self.mail_transport = MailTransport::Smtp;
        }
        if self.mail_transport == MailTransport::Smtp && self.smtp_url.is_none() {
            return Err(err(
                &raw.source("mail_transport"),
                "smtp needs COACHFLUX_SMTP_URL",
            ));
        }
        self.openai = match self.coach {
            CoachKind::Builtin => None,
            CoachKind::OpenAi => {
                let missing =
                    |key: &str| err(&env_name(key), "is required when COACHFLUX_COACH=openai");
                Some(OpenAiConfig {
                    base_url: self
                        .openai_base_url
                        .as_ref()
                        .ok_or_else(|| missing("openai_base_url"))?
                        .as_str()
                        .to_owned(),
                    api_key: self.openai_api_key.clone(),
                    model: self
                        .openai_model
                        .clone()
                        .ok_or_else(|| missing("openai_model"))?,
                    timeout_secs: self.openai_timeout_secs,
                    max_tokens: self.openai_max_tokens,
                    temperature: self.openai_temperature,
                    context_tokens: self.openai_context_tokens,
                })
            }
        };
        Ok(())
    }

    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The effective configuration as `KEY = value` lines, secrets redacted.
    pub fn redacted_lines(&self) -> Vec<(String, String)> {
        let mut lines = self.declared_lines();
        for p in &self.oidc {
            let n = p.name.to_ascii_uppercase();
            lines.extend([
                (format!("COACHFLUX_OIDC_{n}_ISSUER"), p.issuer.clone()),
                (format!("COACHFLUX_OIDC_{n}_CLIENT_ID"), p.client_id.clone()),
                (
                    format!("COACHFLUX_OIDC_{n}_SECRET"),
                    p.client_secret.shown(),
                ),
                (format!("COACHFLUX_OIDC_{n}_LABEL"), p.label.clone()),
            ]);
        }
        lines
    }

    /// The settings as the Markdown table README.md carries (`coachflux config --markdown`).
    pub fn reference_markdown() -> String {
        let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
        for s in SETTINGS {
            let default = if s.default.is_empty() {
                "unset".to_owned()
            } else {
                format!("`{}`", s.default)
            };
            let doc = s
                .doc
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
                .replace('|', "\\|");
            out.push_str(&format!(
                "| `{}` | {default} | {} |\n",
                env_name(s.key),
                doc.trim()
            ));
        }
        out
    }
}

/// Reads the TOML file: declared keys (and their `_file` variants) and `[oidc.<name>]` tables;
/// anything else is refused, so a misspelt key isn't silently ignored.
fn read_file(path: &Path, raw: &mut Raw, oidc: &mut OidcRaw) -> Result<(), ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(&shown, format!("cannot read the config file ({e})")))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| err(&shown, one_line(&e.to_string())))?;
    if let Some(providers) = table.remove("oidc") {
        let source = format!("{shown}: oidc");
        let toml::Value::Table(providers) = providers else {
            return Err(err(&source, "must be a table of providers: [oidc.google]"));
        };
        for (name, fields) in providers {
            let source = format!("{source}.{name}");
            let toml::Value::Table(fields) = fields else {
                return Err(err(
                    &source,
                    "must be a table (issuer, client_id, secret, label)",
                ));
            };
            let known = |key: &str| OIDC_FIELDS.iter().map(|(k, _)| *k).find(|k| *k == key);
            let entry = oidc.entry(name.to_ascii_lowercase()).or_default();
            for (key, given) in pairs(&format!("{source}."), fields, known)? {
                given.put(entry, key)?;
            }
        }
    }
    let known = |key: &str| declared(key).map(|s| s.key);
    for (key, given) in pairs(&format!("{shown}: "), table, known)? {
        given.put(&mut raw.values, key)?;
    }
    Ok(())
}

/// A table's keys, each with its `_file` variant, as the names `known` recognises; an unknown
/// key is an error naming it (`prefix` and the key).
fn pairs(
    prefix: &str,
    table: toml::Table,
    known: impl Fn(&str) -> Option<&'static str>,
) -> Result<BTreeMap<&'static str, Given>, ConfigError> {
    let mut out: BTreeMap<&'static str, Given> = BTreeMap::new();
    for (key, value) in table {
        let source = format!("{prefix}{key}");
        let (name, is_file) = match known(&key) {
            Some(name) => (name, false),
            None => match key.strip_suffix("_file").and_then(&known) {
                Some(name) => (name, true),
                None => {
                    return Err(err(
                        &source,
                        "unknown setting (`coachflux config --markdown` lists them)",
                    ));
                }
            },
        };
        let text = toml_text(&source, value)?;
        let given = out.entry(name).or_default();
        if is_file {
            given.file = Some((source, text));
        } else {
            given.value = Some((source, text));
        }
    }
    Ok(out)
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn resolve_oidc(raw: OidcRaw) -> Result<Vec<OidcProvider>, ConfigError> {
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
        assert_eq!(
            c.database_url.as_str(),
            "sqlite://./data/coachflux.db?mode=rwc"
        );
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
            c.helplines_file.table.for_country(Some("de"))[0].name,
            "TelefonSeelsorge"
        );
        assert_eq!(
            c.helplines_file.table.for_country(Some("GB"))[0].name,
            "Samaritans"
        );
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
        assert!(e.message.contains("unknown setting"), "{e}");
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

    #[test]
    fn every_default_is_a_valid_value() {
        let c = load(&[]).unwrap();
        assert_eq!(
            c.hash_concurrency,
            crate::crypto::default_hash_concurrency()
        );
        assert_eq!(c.free_history, Limit(None));
        assert_eq!(c.max_body_bytes, 1 << 20);
        assert!(c.job_schedule.0.is_empty());
        assert!(c.helplines_file.file.is_none());
        let c = load(&[
            ("COACHFLUX_DATA_DIR", "/srv/cf"),
            ("COACHFLUX_BIND", "0.0.0.0:9000"),
        ])
        .unwrap();
        assert_eq!(
            c.database_url.as_str(),
            "sqlite:///srv/cf/coachflux.db?mode=rwc",
            "a default may name another setting"
        );
        assert_eq!(c.public_url, "http://0.0.0.0:9000");
    }

    #[test]
    fn file_variants_read_the_value_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = "cd".repeat(32);
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, format!("{key}\n")).unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "scrape-token-from-a-file\n").unwrap();
        let c = load(&[
            ("COACHFLUX_SECRET_KEY_FILE", key_file.to_str().unwrap()),
            ("COACHFLUX_METRICS_TOKEN_FILE", token_file.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(c.secret_key.as_ref().unwrap().expose(), key);
        assert_eq!(
            c.metrics_token.as_ref().unwrap().expose(),
            "scrape-token-from-a-file"
        );
        let e = load(&[
            ("COACHFLUX_SECRET_KEY", key.as_str()),
            ("COACHFLUX_SECRET_KEY_FILE", key_file.to_str().unwrap()),
        ])
        .unwrap_err();
        assert_eq!(e.source, "COACHFLUX_SECRET_KEY");
        assert!(e.message.contains("COACHFLUX_SECRET_KEY_FILE"), "{e}");
        let e = load(&[("COACHFLUX_SECRET_KEY_FILE", "/nonexistent/key")]).unwrap_err();
        assert_eq!(e.source, "COACHFLUX_SECRET_KEY_FILE");
        assert!(e.message.contains("cannot read"), "{e}");
        std::fs::write(&key_file, "not-hex\n").unwrap();
        let e = load(&[("COACHFLUX_SECRET_KEY_FILE", key_file.to_str().unwrap())]).unwrap_err();
        assert!(
            e.source.starts_with("COACHFLUX_SECRET_KEY_FILE"),
            "a bad value read from a file names the variable: {e}"
        );
        assert!(!format!("{e}").contains("not-hex"), "{e}");
    }

    #[test]
    fn the_file_takes_toml_values_and_provider_tables() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("oidc-secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let file = dir.path().join("coachflux.toml");
        std::fs::write(
            &file,
            format!(
                "db_max_connections = 7\nmail_worker = false\nopenai_temperature = 0.7\n\
                 trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\n\
                 [oidc.corp]\nissuer = \"https://id.example.com\"\nclient_id = \"cid\"\n\
                 secret_file = {:?}\n",
                secret.to_str().unwrap()
            ),
        )
        .unwrap();
        let c = Config::from_sources(Some(&file), |_| None).unwrap();
        assert_eq!(c.db_max_connections, 7);
        assert!(!c.mail_worker);
        assert!((c.openai_temperature - 0.7).abs() < 1e-6);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.oidc[0].name, "corp");
        assert_eq!(c.oidc[0].client_secret.expose(), "s3cret");
        std::fs::write(&file, "db_max_connections = 0\n").unwrap();
        let e = Config::from_sources(Some(&file), |_| None).unwrap_err();
        assert!(e.source.ends_with(": db_max_connections"), "{e}");
        std::fs::write(
            &file,
            "[oidc.corp]\nissuer = \"https://x\"\nclientid = \"c\"\n",
        )
        .unwrap();
        let e = Config::from_sources(Some(&file), |_| None).unwrap_err();
        assert!(e.source.ends_with("oidc.corp.clientid"), "{e}");
    }

    #[test]
    fn the_readme_table_is_the_declaration() {
        let readme = include_str!("../../../../README.md");
        let start = "<!-- settings: `coachflux config --markdown` -->\n";
        let end = "<!-- /settings -->";
        let from = readme.find(start).expect("README marks the settings table") + start.len();
        let to = from + readme[from..].find(end).expect("the table's end is marked");
        assert_eq!(
            &readme[from..to],
            Config::reference_markdown(),
            "README.md's settings table is out of date: paste `coachflux config --markdown`"
        );
        for s in SETTINGS {
            assert!(!s.doc.trim().is_empty(), "{} has no doc", s.key);
        }
    }
}
