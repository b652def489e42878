use crate::auth::CookieNames;
use crate::config::{Config, MailTransport};
use crate::crypto::Keys;
use crate::mail::transport::Transport;
use crate::mail::worker::Outbox;
use crate::metrics::Metrics;
use coachflux_domain::SharedClock;
use coachflux_domain::random::Entropy;
use coachflux_store::Store;
use std::sync::Arc;

/// How long a sign-in waits for a free hashing slot before it is answered 503.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Everything a handler needs. Cloning it (every middleware and extractor does, per request)
/// is one reference count: the parts live behind a single `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Parts {
    pub config: Arc<Config>,
    /// Reached only through the services: neither face touches the database.
    pub(crate) store: Store,
    pub clock: SharedClock,
    pub metrics: Metrics,
    pub keys: Keys,
    pub cookies: Arc<CookieNames>,
    pub outbox: Outbox,
    pub entropy: Entropy,
    pub oidc: crate::services::oidc::Oidc,
    /// Who answers turns and writes reports: the model coach when an OpenAI-compatible
    /// endpoint is configured, the built-in coach otherwise.
    pub coach: Arc<dyn crate::services::coach::Coach>,
    /// Where the coach records model calls and checks budgets.
    pub calls: crate::services::llm::CallLog,
    /// Password hashing, bounded in concurrency.
    pub hashing: crate::crypto::Hashing,
    /// The per-instance API request budget (in memory: an API read writes nothing).
    pub api_limiter: crate::services::limits::ApiLimiter,
    /// Which credentials this instance stamped "last used" lately.
    pub stamps: crate::auth::Stamps,
    /// The framework catalogue, read at most every 30 s.
    pub catalogue: crate::services::coaching::Catalogue,
}

impl AppState {
    pub fn new(config: Config, store: Store, clock: SharedClock) -> Result<Self, String> {
        let secret = config
            .secret_key
            .as_ref()
            .ok_or("the server key is not loaded")?
            .expose()
            .to_owned();
        let keys = Keys::from_secret(&secret);
        let entropy = Entropy::from_os();
        let transport = match (config.mail_transport, &config.smtp_url) {
            (MailTransport::Smtp, Some(url)) => Transport::smtp(url.as_str())?,
            _ => Transport::Log,
        };
        let from = config.mail_from.parse().map_err(|_| {
            format!(
                "COACHFLUX_MAIL_FROM: {:?} is not a mailbox",
                config.mail_from
            )
        })?;
        let unsubscribe = {
            let keys = keys.clone();
            let public_url = config.public_url.clone();
            Box::new(move |email: &coachflux_store::outbox::OutboxEmail| {
                let list = crate::mail::messages::list_for_template(&email.template)?;
                let user_id = email.user_id.as_deref()?;
                Some(crate::services::accounts::unsubscribe_url(
                    &keys,
                    &public_url,
                    user_id,
                    list,
                ))
            })
        };
        let outbox = Outbox::new(
            store.clone(),
            keys.clone(),
            clock.clone(),
            transport,
            from,
            entropy.clone(),
            unsubscribe,
        );
        let coach: Arc<dyn crate::services::coach::Coach> = match config.openai.clone() {
            Some(openai) => Arc::new(crate::services::coach::ModelCoach::new(
                crate::services::llm::LlmClient::new(openai)?,
            )),
            None => Arc::new(crate::services::coach::BuiltinCoach),
        };
        let config_hash_concurrency = config.hash_concurrency;
        let metrics = Metrics::new();
        let calls = crate::services::llm::CallLog::new(
            store.clone(),
            metrics.clone(),
            clock.clone(),
            config
                .openai
                .as_ref()
                .map(|o| o.model.clone())
                .unwrap_or_default(),
            config.coach_daily_calls,
        );
        let api_limiter =
            crate::services::limits::ApiLimiter::new(config.api_rate_limit, clock.clone());
        Ok(Self(Arc::new(Parts {
            coach,
            cookies: Arc::new(CookieNames::new(config.is_https())),
            config: Arc::new(config),
            store,
            clock,
            metrics,
            calls,
            keys,
            outbox,
            entropy,
            oidc: crate::services::oidc::Oidc::new(),
            hashing: crate::crypto::Hashing::new(config_hash_concurrency, HASH_WAIT),
            api_limiter,
            stamps: crate::auth::Stamps::default(),
            catalogue: crate::services::coaching::Catalogue::default(),
        })))
    }

    /// An absolute link built from `COACHFLUX_PUBLIC_URL` (never from the request's Host).
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.config.public_url, path_and_query)
    }
}
