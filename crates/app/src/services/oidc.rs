//! Sign-in with OpenID Connect providers: authorization code flow with PKCE (S256), state and
//! nonce, the issuer checked per provider, the ID token validated (signature, issuer, audience,
//! expiry, nonce). Identities are keyed by (issuer, subject); an email address alone never
//! links an identity to an existing account, and linking needs the account to be signed in.

use super::accounts::{self, LoginOutcome};
use super::audit;
use crate::auth::CurrentUser;
use crate::config::OidcProvider;
use crate::crypto::Purpose;
use crate::error::AppError;
use crate::state::AppState;
use coachflux_domain::clock::MINUTE_MS;
use coachflux_domain::email::EmailAddress;
use coachflux_domain::ids::new_id;
use coachflux_domain::request::RequestMeta;
use coachflux_store::users::NewUser;
use coachflux_store::{StoreError, oauth_identities, users};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::RwLock;

/// How long a started sign-in may take at the provider.
pub const FLOW_TTL_MS: i64 = 10 * MINUTE_MS;
/// Provider metadata and keys are fetched again after this long.
const METADATA_TTL_MS: i64 = 60 * MINUTE_MS;

#[derive(Clone)]
pub struct Oidc {
    http: HttpClient,
    metadata: Arc<RwLock<HashMap<String, (i64, CoreProviderMetadata)>>>,
}

impl Default for Oidc {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug)]
pub struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// reqwest 0.13 (rustls/ring) as the HTTP client of the openidconnect crate.
#[derive(Clone)]
pub struct HttpClient(reqwest::Client);

type HttpFuture<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>>
            + Send
            + 'c,
    >,
>;

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = HttpFuture<'c>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(self.0.clone(), request))
    }
}

async fn send(
    client: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let mut builder = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (k, v) in &parts.headers {
        builder = builder.header(k, v);
    }
    let resp = builder.send().await.map_err(|e| HttpError(e.to_string()))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .bytes()
        .await
        .map_err(|e| HttpError(e.to_string()))?
        .to_vec();
    let mut out = openidconnect::HttpResponse::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// What travels in the encrypted flow cookie between start and callback.
#[derive(Serialize, Deserialize)]
struct Flow {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    /// Set when a signed-in person is connecting this provider to their account.
    link_user: Option<String>,
    expires: i64,
}

pub enum Finished {
    SignedIn(LoginOutcome, String),
    Linked,
    /// "Check your email": the same answer whether the provider's address belongs to an
    /// account this identity isn't connected to (its owner is told how to connect it) or a
    /// new account was made for an address the provider didn't vouch for (a verification link
    /// went out, which signs in the browser holding `binding`).
    CheckEmail {
        binding: String,
    },
}

impl Oidc {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            // Never follow redirects on the token endpoint (SSRF hardening, RFC 6749 §3.2).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .expect("an HTTP client");
        Self {
            http: HttpClient(http),
            metadata: Arc::default(),
        }
    }

    async fn metadata(
        &self,
        provider: &OidcProvider,
        now: i64,
    ) -> Result<CoreProviderMetadata, String> {
        if let Some((at, m)) = self.metadata.read().await.get(&provider.name)
            && now - at < METADATA_TTL_MS
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone()).map_err(|e| e.to_string())?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        self.metadata
            .write()
            .await
            .insert(provider.name.clone(), (now, m.clone()));
        Ok(m)
    }
}

fn provider<'a>(state: &'a AppState, name: &str) -> Result<&'a OidcProvider, AppError> {
    state
        .config
        .oidc
        .iter()
        .find(|p| p.name == name)
        .ok_or(AppError::NotFound)
}

fn redirect_uri(state: &AppState, p: &OidcProvider) -> String {
    state.link(&format!("/auth/oidc/{}/callback", p.name))
}

fn failed(p: &OidcProvider) -> AppError {
    AppError::invalid(
        "form",
        format!("Signing in with {} didn't work. Please try again.", p.label),
    )
}

/// Starts a sign-in (or, with `link`, connecting the provider to a signed-in account, which
/// adds a way in and so needs a session that just proved who it is). Returns the provider URL
/// to redirect to and the encrypted flow cookie.
pub async fn start(
    state: &AppState,
    name: &str,
    next: &str,
    link: Option<&CurrentUser>,
) -> Result<(String, String), AppError> {
    let p = provider(state, name)?;
    if let Some(current) = link {
        super::credentials::require_recent(state, current)?;
    }
    let link_user = link.map(|c| c.user.id.as_str());
    let now = state.clock.now_ms();
    let metadata = state.oidc.metadata(p, now).await.map_err(|e| {
        tracing::warn!(provider = %p.name, error = %e, "OIDC provider unavailable");
        failed(p)
    })?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(
        RedirectUrl::new(redirect_uri(state, p)).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let flow = Flow {
        provider: p.name.clone(),
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: next.to_owned(),
        link_user: link_user.map(str::to_owned),
        expires: now + FLOW_TTL_MS,
    };
    let sealed = state.keys.seal(
        Purpose::OidcFlow,
        serde_json::to_string(&flow)
            .map_err(anyhow::Error::from)?
            .as_bytes(),
    );
    Ok((url.to_string(), sealed))
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Completes the flow. Every failure is the same message for the person; the reason goes to
/// the audit log.
pub async fn finish(
    state: &AppState,
    meta: &RequestMeta,
    name: &str,
    callback: Callback,
    cookie: Option<&str>,
    current: Option<&CurrentUser>,
) -> Result<Finished, AppError> {
    let p = provider(state, name)?.clone();
    match verify(state, &p, callback, cookie, current).await {
        Ok(v) => complete(state, meta, &p, v).await,
        Err(reason) => {
            tracing::info!(provider = %p.name, %reason, "OIDC sign-in refused");
            let mut conn = state.store.conn().await?;
            audit::record(
                &mut conn,
                current.map(|c| c.user.id.as_str()),
                "login_failure",
                Some(meta),
                json!({"method": "oidc", "provider": p.name, "reason": reason}),
                state.clock.now_ms(),
            )
            .await?;
            Err(failed(&p))
        }
    }
}

struct Verified {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    next: String,
    link_user: Option<String>,
}

/// Checks everything the provider sent back; `Err` carries a reason for the audit log.
async fn verify(
    state: &AppState,
    p: &OidcProvider,
    callback: Callback,
    cookie: Option<&str>,
    current: Option<&CurrentUser>,
) -> Result<Verified, String> {
    let now = state.clock.now_ms();
    let flow: Flow = cookie
        .and_then(|c| state.keys.open(Purpose::OidcFlow, c))
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("no flow cookie")?;
    if flow.provider != p.name || flow.expires <= now {
        return Err("flow expired or for another provider".into());
    }
    if let Some(error) = callback.error {
        return Err(format!(
            "provider error: {}",
            error.chars().take(80).collect::<String>()
        ));
    }
    let returned_state = callback.state.ok_or("no state")?;
    if !crate::crypto::constant_time_eq(&returned_state, &flow.state) {
        return Err("state mismatch".into());
    }
    if let Some(iss) = &callback.iss
        && iss.trim_end_matches('/') != p.issuer
    {
        return Err("issuer mismatch in the authorization response".into());
    }
    if let Some(link) = &flow.link_user
        && current.map(|c| &c.user.id) != Some(link)
    {
        return Err("linking needs the same signed-in account".into());
    }
    let code = callback.code.ok_or("no code")?;
    let metadata = state.oidc.metadata(p, now).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(state, p)).map_err(|e| e.to_string())?);
    let http = &state.oidc.http;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| format!("token endpoint: {e}"))?;
    let id_token = token.id_token().ok_or("no ID token")?;
    let clock = state.clock.clone();
    let verifier = client.id_token_verifier().set_time_fn(move || {
        chrono::DateTime::from_timestamp_millis(clock.now_ms()).unwrap_or_default()
    });
    let claims = id_token
        .claims(&verifier, &Nonce::new(flow.nonce.clone()))
        .map_err(|e| format!("ID token: {e}"))?;
    let subject = claims.subject().to_string();
    let mut email = claims.email().map(|e| e.to_string());
    let mut email_verified = claims.email_verified().unwrap_or(false);
    let mut name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string());
    if email.is_none() {
        // Some providers put profile claims only behind the userinfo endpoint.
        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|e| e.to_string())?
            .request_async(http)
            .await
            .map_err(|e| format!("userinfo: {e}"))?;
        email = info.email().map(|e| e.to_string());
        email_verified = info.email_verified().unwrap_or(false);
        name = name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.to_string()));
    }
    Ok(Verified {
        subject,
        email,
        email_verified,
        name,
        next: flow.next,
        link_user: flow.link_user,
    })
}

async fn complete(
    state: &AppState,
    meta: &RequestMeta,
    p: &OidcProvider,
    v: Verified,
) -> Result<Finished, AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let existing = oauth_identities::find(&mut tx, &p.issuer, &v.subject).await?;
    if let Some(link_user) = &v.link_user {
        match existing {
            Some(identity) if &identity.user_id == link_user => {}
            Some(_) => {
                return Err(AppError::invalid(
                    "form",
                    format!(
                        "That {} account is already connected to another CoachFlux account.",
                        p.label
                    ),
                ));
            }
            None => {
                oauth_identities::insert(
                    &mut tx,
                    &new_id(),
                    link_user,
                    &p.issuer,
                    &v.subject,
                    v.email.as_deref(),
                    now,
                )
                .await?;
                audit::record(
                    &mut tx,
                    Some(link_user),
                    "identity_linked",
                    Some(meta),
                    json!({"provider": p.name}),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        return Ok(Finished::Linked);
    }
    let user = match existing {
        Some(identity) => {
            oauth_identities::touch(&mut tx, &identity.id, now).await?;
            users::get(&mut tx, &identity.user_id)
                .await?
                .ok_or(AppError::NotFound)?
        }
        None => {
            let Some(email) = v.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) else {
                return Err(AppError::invalid(
                    "form",
                    format!(
                        "{} didn't share an email address, which CoachFlux needs.",
                        p.label
                    ),
                ));
            };
            let binding = crate::crypto::random_token();
            if users::find_by_email(&mut tx, email.as_str())
                .await?
                .is_some()
            {
                tell_owner(state, &mut tx, email.as_str(), p).await?;
                tx.commit().await?;
                state.outbox.wake();
                return Ok(Finished::CheckEmail { binding });
            }
            let id = new_id();
            let provider_column = match p.name.as_str() {
                "google" => Some("google"),
                "linkedin" => Some("linkedin"),
                _ => None,
            };
            match users::insert(
                &mut tx,
                &NewUser {
                    id: &id,
                    email: email.as_str(),
                    name: v.name.as_deref(),
                    password_hash: None,
                    provider: provider_column,
                    email_verified: v.email_verified,
                    role: coachflux_domain::account::Role::Member,
                    now,
                },
            )
            .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => {
                    drop(tx);
                    let mut tx = state.store.begin().await?;
                    tell_owner(state, &mut tx, email.as_str(), p).await?;
                    tx.commit().await?;
                    state.outbox.wake();
                    return Ok(Finished::CheckEmail { binding });
                }
                Err(e) => return Err(e.into()),
            }
            users::set_provider_id(&mut tx, &id, &v.subject).await?;
            oauth_identities::insert(
                &mut tx,
                &new_id(),
                &id,
                &p.issuer,
                &v.subject,
                Some(email.as_str()),
                now,
            )
            .await?;
            audit::record(
                &mut tx,
                Some(&id),
                "signup",
                Some(meta),
                json!({"method": "oidc", "provider": p.name}),
                now,
            )
            .await?;
            let user = users::get(&mut tx, &id).await?.ok_or(AppError::NotFound)?;
            if !v.email_verified {
                // The provider didn't vouch for the address: confirm it like a password
                // sign-up does, and answer the same way.
                accounts::send_verification(state, &mut tx, &user, &user.email, Some(&binding))
                    .await?;
                tx.commit().await?;
                state.outbox.wake();
                return Ok(Finished::CheckEmail { binding });
            }
            user
        }
    };
    let waiting = super::privacy::deletion_pending(&user, now);
    if user.disabled_at.is_some() && !waiting {
        return Err(failed(p));
    }
    if user.totp_enabled {
        let pending = accounts::pending_two_factor(state, &mut tx, &user.id, false, "oidc").await?;
        tx.commit().await?;
        return Ok(Finished::SignedIn(
            LoginOutcome::TwoFactor { pending },
            v.next,
        ));
    }
    if waiting {
        tx.commit().await?;
        return Ok(Finished::SignedIn(
            LoginOutcome::DeletionPending {
                restore: super::privacy::pending_restore(state, &user.id, false),
                erase_at: super::privacy::erase_at(&user).unwrap_or_default(),
            },
            v.next,
        ));
    }
    let method = format!("oidc:{}", p.name);
    let started = accounts::start_session(
        state,
        &mut tx,
        &user,
        meta,
        accounts::SignIn {
            remember: false,
            method: &method,
            second_factor: false,
        },
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Finished::SignedIn(LoginOutcome::Started(started), v.next))
}

/// Someone signed in with provider `p` using `address`, which already has an account this
/// identity isn't connected to: its owner learns how to connect it (the person signing in
/// learns nothing about the address).
async fn tell_owner(
    state: &AppState,
    conn: &mut coachflux_store::Conn,
    address: &str,
    p: &OidcProvider,
) -> Result<(), AppError> {
    if let Some(owner) = users::find_by_email(conn, address).await? {
        let msg = crate::mail::messages::provider_sign_in_attempt(
            &accounts::to_of(&owner),
            &p.label,
            &state.link("/login"),
        );
        accounts::enqueue(state, conn, &msg).await?;
    }
    Ok(())
}

/// The providers connected to an account, with the ones not yet connected.
pub struct Connections {
    pub connected: Vec<(OidcProvider, oauth_identities::OauthIdentity)>,
    pub available: Vec<OidcProvider>,
}

pub async fn connections(state: &AppState, user_id: &str) -> Result<Connections, AppError> {
    let mut conn = state.store.conn().await?;
    let identities = oauth_identities::list_for_user(&mut conn, user_id).await?;
    let mut connected = Vec::new();
    let mut available = Vec::new();
    for p in &state.config.oidc {
        match identities.iter().find(|i| i.issuer == p.issuer) {
            Some(i) => connected.push((p.clone(), i.clone())),
            None => available.push(p.clone()),
        }
    }
    Ok(Connections {
        connected,
        available,
    })
}

/// Disconnects a provider, as long as the account keeps a way to sign in.
pub async fn unlink(
    state: &AppState,
    meta: &RequestMeta,
    user: &users::User,
    identity_id: &str,
) -> Result<(), AppError> {
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let identities = oauth_identities::list_for_user(&mut tx, &user.id).await?;
    if user.password_hash.is_none() && identities.len() <= 1 {
        return Err(AppError::invalid(
            "identities",
            "Set a password first, so you can still sign in.",
        ));
    }
    if !oauth_identities::delete(&mut tx, &user.id, identity_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        Some(&user.id),
        "identity_unlinked",
        Some(meta),
        json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
