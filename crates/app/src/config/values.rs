//! The value types of the settings, how each is read from text, and how each is shown by
//! `coachflux config` (secrets never).

use coachflux_domain::safety::HelplineTable;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How a value appears in `coachflux config` and in logs: secrets redacted.
pub trait Shown {
    fn shown(&self) -> String;
}

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

impl Shown for Secret {
    fn shown(&self) -> String {
        "<redacted>".to_owned()
    }
}

/// A URL that may carry a password (`postgres://user:pass@host/db`, `smtps://user:pass@…`):
/// shown with the password redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlWithPassword(String);

impl UrlWithPassword {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UrlWithPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Shown for UrlWithPassword {
    fn shown(&self) -> String {
        redact_url(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Shown for LogFormat {
    fn shown(&self) -> String {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
        .to_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// Keep mail in the outbox, readable in the admin mail log, and print it to the log.
    Log,
    /// Deliver through `COACHFLUX_SMTP_URL`.
    Smtp,
}

impl Shown for MailTransport {
    fn shown(&self) -> String {
        match self {
            Self::Log => "log",
            Self::Smtp => "smtp",
        }
        .to_owned()
    }
}

/// Which coach answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoachKind {
    /// The offline coach built into the binary.
    Builtin,
    /// A model behind an OpenAI-compatible endpoint.
    OpenAi,
}

impl Shown for CoachKind {
    fn shown(&self) -> String {
        match self {
            Self::Builtin => "builtin",
            Self::OpenAi => "openai",
        }
        .to_owned()
    }
}

/// The helplines shown when a conversation pauses: the built-in table, with an operator's
/// file laid over it.
#[derive(Clone)]
pub struct Helplines {
    pub file: Option<PathBuf>,
    pub table: Arc<HelplineTable>,
}

impl Shown for Helplines {
    fn shown(&self) -> String {
        self.file.as_ref().map_or_else(
            || "(built-in table)".to_owned(),
            |p| p.display().to_string(),
        )
    }
}

/// Per-job intervals that differ from the defaults: job name → milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSchedule(pub BTreeMap<String, i64>);

impl JobSchedule {
    pub fn get(&self, job: &str) -> Option<i64> {
        self.0.get(job).copied()
    }
}

impl Shown for JobSchedule {
    fn shown(&self) -> String {
        if self.0.is_empty() {
            return "(defaults)".to_owned();
        }
        self.0
            .iter()
            .map(|(name, ms)| format!("{name}={}s", ms / 1_000))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A count with no limit as an option: `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<i64>);

impl Shown for Limit {
    fn shown(&self) -> String {
        self.0
            .map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
    }
}

impl<T: Shown> Shown for Option<T> {
    fn shown(&self) -> String {
        self.as_ref()
            .map_or_else(|| "unset".to_owned(), Shown::shown)
    }
}

impl Shown for Vec<ipnet::IpNet> {
    fn shown(&self) -> String {
        if self.is_empty() {
            return "(none)".to_owned();
        }
        self.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Shown for PathBuf {
    fn shown(&self) -> String {
        self.display().to_string()
    }
}

macro_rules! shown_as_display {
    ($($t:ty),+) => { $(impl Shown for $t { fn shown(&self) -> String { self.to_string() } })+ };
}
shown_as_display!(SocketAddr, String, bool, u32, u64, usize, i64, f32);

/// Hides the password in a URL.
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

/// Readers from text: each returns the value or a message saying what a good value looks
/// like. An empty text is "unset" for the optional settings.
pub mod parse {
    use super::*;

    pub type Parsed<T> = Result<T, String>;

    fn optional<T>(v: &str, parse: impl Fn(&str) -> Parsed<T>) -> Parsed<Option<T>> {
        let v = v.trim();
        if v.is_empty() {
            Ok(None)
        } else {
            parse(v).map(Some)
        }
    }

    pub fn socket_addr(v: &str) -> Parsed<SocketAddr> {
        v.trim().parse().map_err(|_| {
            format!("{v:?} is not a socket address (expected host:port, e.g. 127.0.0.1:8080)")
        })
    }

    pub fn optional_socket_addr(v: &str) -> Parsed<Option<SocketAddr>> {
        optional(v, socket_addr)
    }

    pub fn dir(v: &str) -> Parsed<PathBuf> {
        if v.trim().is_empty() {
            return Err("must not be empty".to_owned());
        }
        Ok(PathBuf::from(v))
    }

    pub fn database_url(v: &str) -> Parsed<UrlWithPassword> {
        let v = v.trim();
        if coachflux_store::Engine::from_url(v).is_none() {
            return Err(
                "must start with sqlite: or postgres:// (e.g. postgres://user@localhost/coachflux)"
                    .to_owned(),
            );
        }
        Ok(UrlWithPassword(v.to_owned()))
    }

    pub fn public_url(v: &str) -> Parsed<String> {
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

    pub fn secret_key(v: &str) -> Parsed<Secret> {
        let v = v.trim();
        if v.len() != 64 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(
                "must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`"
                    .to_owned(),
            );
        }
        Ok(Secret::new(v.to_ascii_lowercase()))
    }

    pub fn optional_secret_key(v: &str) -> Parsed<Option<Secret>> {
        optional(v, secret_key)
    }

    pub fn log_filter(v: &str) -> Parsed<String> {
        tracing_subscriber::EnvFilter::try_new(v)
            .map_err(|e| format!("{v:?} is not a log filter ({e})"))?;
        Ok(v.to_owned())
    }

    pub fn log_format(v: &str) -> Parsed<LogFormat> {
        match v.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{v:?} must be text or json")),
        }
    }

    /// A whole number from `min` to `max`.
    pub fn number<T: TryFrom<u64>>(min: u64, max: u64) -> impl Fn(&str) -> Parsed<T> {
        move |v| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .and_then(|n| T::try_from(n).ok())
                .ok_or_else(|| format!("{v:?} must be a whole number from {min} to {max}"))
        }
    }

    /// A number, or `auto` for the value `auto` computes.
    pub fn number_or_auto<T: TryFrom<u64>>(
        min: u64,
        max: u64,
        auto: fn() -> T,
    ) -> impl Fn(&str) -> Parsed<T> {
        move |v| {
            if v.trim() == "auto" {
                return Ok(auto());
            }
            number(min, max)(v).map_err(|m| format!("{m}, or auto"))
        }
    }

    /// A number, or `unlimited`.
    pub fn limit(min: u64, max: u64) -> impl Fn(&str) -> Parsed<Limit> {
        move |v| {
            if v.trim() == "unlimited" {
                return Ok(Limit(None));
            }
            number(min, max)(v)
                .map(|n| Limit(Some(n)))
                .map_err(|m| format!("{m}, or unlimited"))
        }
    }

    pub fn decimal(min: f32, max: f32) -> impl Fn(&str) -> Parsed<f32> {
        move |v| {
            v.trim()
                .parse::<f32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| format!("{v:?} must be a number from {min} to {max}"))
        }
    }

    pub fn flag(v: &str) -> Parsed<bool> {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!("{v:?} must be true or false")),
        }
    }

    pub fn mail_transport(v: &str) -> Parsed<MailTransport> {
        match v.trim() {
            "log" => Ok(MailTransport::Log),
            "smtp" => Ok(MailTransport::Smtp),
            _ => Err(format!("{v:?} must be log or smtp")),
        }
    }

    pub fn smtp_url(v: &str) -> Parsed<Option<UrlWithPassword>> {
        optional(v, |v| {
            let scheme_ok = v.starts_with("smtp://") || v.starts_with("smtps://");
            let parsed = url::Url::parse(v).ok().filter(|u| u.host_str().is_some());
            if !scheme_ok || parsed.is_none() {
                return Err(
                    "must be smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465"
                        .to_owned(),
                );
            }
            Ok(UrlWithPassword(v.to_owned()))
        })
    }

    pub fn mailbox(v: &str) -> Parsed<String> {
        v.parse::<lettre::message::Mailbox>()
            .map_err(|_| format!("{v:?} is not a mailbox (e.g. CoachFlux <coach@example.com>)"))?;
        Ok(v.trim().to_owned())
    }

    pub fn coach(v: &str) -> Parsed<CoachKind> {
        match v.trim() {
            "builtin" => Ok(CoachKind::Builtin),
            "openai" => Ok(CoachKind::OpenAi),
            _ => Err(format!("{v:?} must be builtin or openai")),
        }
    }

    /// An http(s) base URL such as `https://api.openai.com/v1`, without the trailing slash.
    pub fn optional_api_url(v: &str) -> Parsed<Option<UrlWithPassword>> {
        optional(v, |v| {
            let v = v.trim_end_matches('/');
            let ok = url::Url::parse(v)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !ok {
                return Err(format!(
                    "{v:?} must be an http(s) URL such as https://api.openai.com/v1"
                ));
            }
            Ok(UrlWithPassword(v.to_owned()))
        })
    }

    pub fn optional_text(v: &str) -> Parsed<Option<String>> {
        optional(v, |v| Ok(v.to_owned()))
    }

    pub fn optional_secret(v: &str) -> Parsed<Option<Secret>> {
        optional(v, |v| Ok(Secret::new(v)))
    }

    /// A bearer token long enough not to be guessed.
    pub fn optional_token(v: &str) -> Parsed<Option<Secret>> {
        optional(v, |v| {
            if v.len() < 16 {
                return Err("use at least 16 characters".to_owned());
            }
            Ok(Secret::new(v))
        })
    }

    pub fn helplines(v: &str) -> Parsed<Helplines> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(Helplines {
                file: None,
                table: Arc::new(HelplineTable::builtin()),
            });
        }
        let text = std::fs::read_to_string(v).map_err(|e| format!("cannot read {v:?} ({e})"))?;
        let table = HelplineTable::with_overrides(&text).map_err(|m| format!("{v}: {m}"))?;
        Ok(Helplines {
            file: Some(PathBuf::from(v)),
            table: Arc::new(table),
        })
    }

    /// `name=15m,other=1h`: per-job intervals (s, m, h or d), names from `coachflux jobs list`.
    pub fn job_schedule(v: &str) -> Parsed<JobSchedule> {
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
        Ok(JobSchedule(out))
    }

    /// A comma-separated list of addresses or networks: `10.0.0.0/8, 192.168.1.7, ::1`.
    pub fn networks(v: &str) -> Parsed<Vec<ipnet::IpNet>> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!(
                            "{s:?} is not an IP address or network (e.g. 10.0.0.0/8, 192.168.1.7)"
                        )
                    })
            })
            .collect()
    }
}
