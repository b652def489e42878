//! Who is calling the API: `Authorization: Bearer` with a device-session token (from
//! `POST /api/v1/auth/login`) or a personal API token (`cfp_...`), the site's own cookie
//! session (CSRF-checked by the middleware), or a visitor known by `X-Anonymous-Id`.

use crate::problem::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use coachflux_app::AppState;
use coachflux_app::auth::CurrentUser;
use coachflux_app::crypto::hash_token;
use coachflux_app::model::ApiToken;
use coachflux_app::services::accounts;
use coachflux_app::services::api_tokens::{self as tokens, TOKEN_PREFIX};
use coachflux_app::services::coaching::Actor;
use coachflux_domain::request::RequestMeta;
use coachflux_http::Meta;

pub const ANONYMOUS_HEADER: &str = "x-anonymous-id";

#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<CurrentUser>,
    /// Set when a personal API token authenticated the request.
    pub token: Option<ApiToken>,
    pub anonymous_id: Option<String>,
    pub meta: RequestMeta,
    /// Where the caller probably is, for helplines: their account's country, else the region
    /// their `Accept-Language` names (as the pages do).
    pub country: Option<String>,
    /// The person's time zone: their account's, else the `X-Time-Zone` header's, else UTC.
    pub zone: coachflux_domain::dates::Zone,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.user.clone(),
            anonymous_id: self.anonymous_id.clone(),
            zone: self.zone,
        }
    }

    /// The member, or 401.
    pub fn member(&self) -> Result<&CurrentUser, ApiError> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("Sign in (send a bearer token) to use this."))
    }

    /// Someone the API can tell apart: a member or a visitor with an id; else 401.
    pub fn identified(&self) -> Result<(), ApiError> {
        if self.user.is_none() && self.anonymous_id.is_none() {
            return Err(ApiError::unauthorized(
                "Send a bearer token, or the X-Anonymous-Id of your visitor sessions.",
            ));
        }
        Ok(())
    }

    /// Refuses writes by a token without the `write` scope.
    pub fn require_write(&self) -> Result<(), ApiError> {
        self.identified()?;
        match &self.token {
            Some(t) if !t.can_write() => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "This API token is read-only; create one with the write scope.",
            )),
            _ => Ok(()),
        }
    }

    /// The member, allowed to write.
    pub fn writer(&self) -> Result<&CurrentUser, ApiError> {
        let user = self.member()?;
        self.require_write()?;
        Ok(user)
    }

    /// Whose requests share a rate-limit bucket.
    pub fn bucket(&self) -> String {
        match (&self.token, &self.user, &self.anonymous_id) {
            (Some(t), _, _) => format!("token:{}", t.id),
            (None, Some(u), _) => format!("session:{}", u.session_id),
            (None, None, Some(a)) => format!("anon:{}", hash_token(a)),
            _ => format!("ip:{}", self.meta.ip),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let meta = match Meta::from_request_parts(parts, state).await {
            Ok(Meta(m)) => m,
            Err(never) => match never {},
        };
        let mut token = None;
        let user = match parts.headers.get(header::AUTHORIZATION) {
            Some(value) => {
                let raw = value.to_str().unwrap_or("");
                let bearer = raw
                    .split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, t)| t.trim())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| ApiError::unauthorized("Use Authorization: Bearer <token>."))?;
                let invalid =
                    || ApiError::unauthorized("The token is invalid, expired or revoked.");
                if bearer.starts_with(TOKEN_PREFIX) {
                    let (t, current) = tokens::authenticate(state, bearer)
                        .await?
                        .ok_or_else(invalid)?;
                    token = Some(t);
                    Some(current)
                } else {
                    Some(
                        accounts::session_user(state, bearer)
                            .await?
                            .ok_or_else(invalid)?,
                    )
                }
            }
            None => parts.extensions.get::<CurrentUser>().cloned(),
        };
        let anonymous_id = match parts.headers.get(ANONYMOUS_HEADER) {
            Some(v) => {
                let v = v.to_str().unwrap_or("");
                if !state.keys.is_anonymous_id(v) {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_anonymous_id",
                        "X-Anonymous-Id must be an id this API gave you (in a POST /api/v1/sessions answer).",
                    ));
                }
                Some(v.to_owned())
            }
            None => meta.anonymous_id.clone(),
        };
        let mut meta = meta;
        // Signing in through the API migrates the visitor's sessions, like the web does.
        meta.anonymous_id.clone_from(&anonymous_id);
        let country = coachflux_domain::safety::country_for(
            user.as_ref().and_then(|u| u.user.country.as_deref()),
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let zone = coachflux_http::meta::zone(user.as_ref(), &parts.headers);
        let caller = Caller {
            user,
            token,
            anonymous_id,
            meta,
            country,
            zone,
        };
        state.api_limiter.check(&caller.bucket())?;
        if caller.user.is_none() && caller.anonymous_id.is_some() {
            // Visitors share their address's budget too, however many ids they collect.
            state.api_limiter.check(&format!("ip:{}", caller.meta.ip))?;
        }
        Ok(caller)
    }
}
