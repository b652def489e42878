//! Cursor pagination and `Idempotency-Key` handling shared by the API's endpoints.

use crate::caller::Caller;
use crate::problem::ApiError;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coachflux_app::AppState;
use coachflux_app::services::idempotency::{self, Claim};
use coachflux_domain::paging::{Cursor, Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// Declares a page of a list type with its OpenAPI example.
macro_rules! page {
    ($name:ident, $item:ty, $example:tt) => {
        /// One page of a list; pass `nextCursor` as `cursor` for the next (absent on the last).
        #[derive(Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        #[schema(example = json!($example))]
        pub struct $name {
            pub items: Vec<$item>,
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use page;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= MAX_LIMIT) => {
                Ok(usize::try_from(n).unwrap_or(DEFAULT_LIMIT))
            }
            Some(_) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_limit",
                "limit must be between 1 and 100.",
            )),
        }
    }

    /// The page asked for: the limit, and where the previous page ended (lists are ordered
    /// newest first; the cursor is opaque to callers).
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        let limit = i64::try_from(self.limit()?).unwrap_or(20);
        let Some(raw) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(PageRequest::first(limit));
        };
        let after = URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| Cursor::from_text(&text))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_cursor",
                    "That cursor isn't one this API gave out.",
                )
            })?;
        Ok(PageRequest {
            limit,
            after: Some(after),
        })
    }
}

/// The `nextCursor` of a page.
pub fn next_cursor<T>(page: &Page<T>) -> Option<String> {
    page.next.as_ref().map(encode)
}

/// A cursor as callers see it: opaque.
pub fn encode(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(cursor.to_text())
}

/// A JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, Json(body)).into_response()
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Runs a create once per `Idempotency-Key`: the same key with the same request replays the
/// first response (with `Idempotent-Replayed: true`), with a different request is 422, and
/// while the first is still running is 409. Without the header it just runs.
pub async fn idempotent<F>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    request: &str,
    work: F,
) -> Result<Response, ApiError>
where
    F: Future<Output = Result<(StatusCode, serde_json::Value), ApiError>>,
{
    // A caller we can't tell apart from others behind the same address (no account, no
    // visitor id yet) has nobody to replay a first answer to: keys only apply to known callers.
    let unidentified = caller.user.is_none() && caller.anonymous_id.is_none();
    let key = match headers.get(IDEMPOTENCY_HEADER) {
        None => {
            let (status, body) = work.await?;
            return Ok(json_response(status, &body));
        }
        Some(_) if unidentified => {
            let (status, body) = work.await?;
            return Ok(json_response(status, &body));
        }
        Some(v) => v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 visible characters.",
                )
            })?
            .to_owned(),
    };
    let owner = caller.bucket();
    let user_id = caller.user.as_ref().map(|u| u.user.id.as_str());
    match idempotency::claim(state, &owner, user_id, &key, request).await? {
        Claim::Fresh => {}
        Claim::Reused => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
            ));
        }
        Claim::InUse => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being processed.",
            ));
        }
        Claim::Unreadable => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_unreadable",
                "The first response to this Idempotency-Key can't be replayed; use a new key.",
            ));
        }
        Claim::Replay(status, body) => {
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(r);
        }
    }
    match work.await {
        Ok((status, body)) => {
            let text = body.to_string();
            let created = body.get("id").and_then(|v| v.as_str());
            idempotency::complete(state, &owner, &key, status.as_u16(), &text, created).await?;
            Ok((status, [(header::CONTENT_TYPE, "application/json")], text).into_response())
        }
        Err(e) => {
            // A failed request doesn't use the key up: the client may fix it and retry.
            idempotency::release(state, &owner, &key).await?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: Option<i64>, cursor: Option<String>) -> PageQuery {
        PageQuery { limit, cursor }
    }

    #[test]
    fn a_cursor_handed_out_reads_back() {
        let page = Page {
            items: vec![()],
            next: Some(Cursor::new(&[5], "abc")),
        };
        let next = next_cursor(&page);
        assert_eq!(
            q(Some(2), next).request().unwrap(),
            PageRequest {
                limit: 2,
                after: Some(Cursor::new(&[5], "abc"))
            }
        );
        assert_eq!(q(None, None).request().unwrap(), PageRequest::first(20));
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        assert!(q(Some(0), None).request().is_err());
        assert!(q(Some(101), None).request().is_err());
        assert!(q(None, Some("not base64 !".into())).request().is_err());
        assert!(
            q(None, Some(URL_SAFE_NO_PAD.encode("x:y")))
                .request()
                .is_err()
        );
    }
}
