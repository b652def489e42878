//! Personal API tokens: listed, created (shown once), revoked.

use crate::caller::Caller;
use crate::paging::{PageQuery, idempotent, next_cursor};
use crate::problem::refusals::{Forbidden, Invalid, KeyInUse};
use crate::problem::{ApiJson, ApiQuery, Problem};
use crate::respond::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use coachflux_app::AppState;
use coachflux_app::services::api_tokens;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This area's endpoints, each declared once by its `#[utoipa::path]`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokens, create_token))
        .routes(routes!(revoke_token))
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0193f1d5-3c4d-7e5f-8a61-7b8c9d0e1f2a", "name": "My script",
    "scopes": ["read", "write"], "expiresAt": 1776247200000_i64, "lastUsedAt": null,
    "createdAt": 1768471200000_i64}))]
pub struct ApiTokenInfo {
    pub id: String,
    pub name: String,
    /// `read`, or `read` and `write`.
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

impl From<&coachflux_app::model::ApiToken> for ApiTokenInfo {
    fn from(t: &coachflux_app::model::ApiToken) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            scopes: t.scopes.split(' ').map(str::to_owned).collect(),
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            created_at: t.created_at,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "My script", "scopes": ["read", "write"], "expiresInDays": 30,
    "password": "plum tractor lantern 42"}))]
pub struct NewApiToken {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `["read"]` (the default) or `["read", "write"]`.
    #[serde(default)]
    pub scopes: Vec<Scope>,
    /// Days until the token stops working: at most the instance's cap (90 unless the operator
    /// changed it), which is also the default.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
    /// Your current password, to confirm it's you. Not needed within 10 minutes of signing in
    /// (or of confirming before).
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// For an account without a password: a code from its authenticator app.
    #[serde(default, skip_serializing)]
    pub code: Option<String>,
}

/// A new token: `token` is shown this once and never again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"token": "cfp_5hxZoQnZgsSGpix0h9c6MR8osUjaXvI-Tu_Dw2vwwAs",
    "id": "0193f1d5-3c4d-7e5f-8a61-7b8c9d0e1f2a", "name": "My script",
    "scopes": ["read", "write"], "expiresAt": 1776247200000_i64, "lastUsedAt": null,
    "createdAt": 1768471200000_i64}))]
pub struct CreatedApiToken {
    pub token: String,
    #[serde(flatten)]
    pub info: ApiTokenInfo,
}

crate::paging::page!(ApiTokenPage, ApiTokenInfo, {"items": [
    {"id": "0193f1d5-3c4d-7e5f-8a61-7b8c9d0e1f2a", "name": "My script",
        "scopes": ["read", "write"], "expiresAt": 1776247200000_i64, "lastUsedAt": null,
        "createdAt": 1768471200000_i64}],
    "nextCursor": null});

// ---------------------------------------------------------------------------------------------
// Endpoints

/// The account's personal API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = ApiTokenPage),
    ))]
pub async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    let user = caller.member()?;
    let page = api_tokens::page(&state, &user.user.id, &q.request()?).await?;
    ok(&ApiTokenPage {
        items: page.items.iter().map(ApiTokenInfo::from).collect(),
        next_cursor: next_cursor(&page),
    })
}

/// Creates a personal API token; the secret is in this response only. It needs a session (not
/// another token), a confirmed email address, and a recent sign-in: within 10 minutes of
/// `POST /auth/login`, or send `password` (or `code`) to confirm it's you.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    request_body = NewApiToken,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key returns the first result")),
    responses(
        (status = 201, body = CreatedApiToken),
        (status = 403, description = "A token can't create tokens; the email isn't confirmed; or confirm it's you first (code reauthentication_required)", body = Problem, content_type = "application/problem+json"),
        KeyInUse,
        Invalid,
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewApiToken>,
) -> ApiResult {
    let mut user = caller.writer()?.clone();
    if body.password.is_some() || body.code.is_some() {
        user = coachflux_app::services::credentials::confirm(
            &state,
            &caller.meta,
            &user,
            body.password.clone().unwrap_or_default(),
            body.code.as_deref().unwrap_or(""),
            false,
        )
        .await?;
    }
    let request = canonical("POST /tokens", &body);
    idempotent(&state, &caller, &headers, &request, async {
        let (token, record) = api_tokens::create(
            &state,
            &caller.meta,
            &user,
            &body.name,
            &body
                .scopes
                .iter()
                .map(|s| match s {
                    Scope::Read => "read".to_owned(),
                    Scope::Write => "write".to_owned(),
                })
                .collect::<Vec<_>>(),
            body.expires_in_days,
        )
        .await?;
        Ok((
            StatusCode::CREATED,
            to_value(&CreatedApiToken {
                token,
                info: ApiTokenInfo::from(&record),
            })?,
        ))
    })
    .await
}

/// Revokes a token: the next request with it is 401.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        Forbidden,
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let user = caller.writer()?;
    api_tokens::revoke(&state, &caller.meta, &user.user.id, &id).await?;
    forget_created(&state, &id).await?;
    no_content()
}

// ---------------------------------------------------------------------------------------------
