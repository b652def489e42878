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

/// Where the previous page ended: the sort key of its last item. Lists are ordered by
/// `createdAt` descending, then id descending, so rows created meanwhile never shift a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
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

    pub fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        let Some(raw) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let bad = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "That cursor isn't one this API gave out.",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once(':').ok_or_else(bad)?;
        Ok(Some(Cursor {
            at: at.parse().map_err(|_| bad())?,
            id: id.to_owned(),
        }))
    }
}

pub fn encode_cursor(at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

/// One page of `items` (any order) sorted newest first by `key`, after `cursor`.
pub fn page_of<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (i64, String),
    q: &PageQuery,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|item| {
            cursor
                .as_ref()
                .is_none_or(|c| key(item) < (c.at, c.id.clone()))
        })
        .take(limit + 1)
        .collect();
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(|last| {
            let (at, id) = key(last);
            encode_cursor(at, &id)
        })
    } else {
        None
    };
    Ok((rest, next))
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
    fn pages_are_stable_and_end() {
        let items: Vec<(i64, String)> = (0..5).map(|i| (i, format!("id{i}"))).collect();
        let key = |x: &(i64, String)| x.clone();
        let (first, next) = page_of(items.clone(), key, &q(Some(2), None)).unwrap();
        assert_eq!(first.iter().map(|x| x.0).collect::<Vec<_>>(), [4, 3]);
        // A newer row arriving between pages doesn't shift the next one.
        let mut more = items.clone();
        more.push((9, "id9".into()));
        let (second, next) = page_of(more.clone(), key, &q(Some(2), next)).unwrap();
        assert_eq!(second.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 1]);
        let (third, next) = page_of(more, key, &q(Some(2), next)).unwrap();
        assert_eq!(third.iter().map(|x| x.0).collect::<Vec<_>>(), [0]);
        assert_eq!(next, None);
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        assert!(q(Some(0), None).limit().is_err());
        assert!(q(Some(101), None).limit().is_err());
        assert!(q(None, Some("not base64 !".into())).cursor().is_err());
        assert!(
            q(None, Some(URL_SAFE_NO_PAD.encode("x:y")))
                .cursor()
                .is_err()
        );
        assert_eq!(
            q(None, Some(encode_cursor(5, "abc"))).cursor().unwrap(),
            Some(Cursor {
                at: 5,
                id: "abc".into()
            })
        );
    }
}
