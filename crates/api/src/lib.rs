//! The public JSON API, v1: the same services as the web pages behind bearer tokens, RFC 9457
//! problems, cursor pagination and idempotency keys, described by an OpenAPI 3.1 document
//! generated from this code.

mod actions;
mod auth;
pub mod caller;
mod frameworks;
mod me;
mod paging;
pub mod problem;
mod respond;
mod sessions;
mod tokens;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use coachflux_app::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CoachFlux API",
        version = "1.0.0",
        description = "Everything a member can do in the CoachFlux web app, as JSON. \
Authenticate with `Authorization: Bearer <token>`: a session token from `POST /api/v1/auth/login`, \
or a personal API token (`cfp_...`, scopes `read` or `read write`) created in settings or with \
`POST /api/v1/tokens`. Visitors send `X-Anonymous-Id` (handed out by their first \
`POST /api/v1/sessions`); signing in with it moves their sessions into the account. Dates a \
person writes (\"by Friday\") are days in their time zone: the `timeZone` they picked, else an \
`X-Time-Zone: Europe/Berlin` header, else the zone named at their last sign-in, else UTC; a due \
date is the end of that day. Errors are \
RFC 9457 `application/problem+json` with a stable `code`. Lists are cursor-paginated \
(`limit` ≤ 100, `cursor` = the previous page's `nextCursor`). POSTs that create things honour \
`Idempotency-Key`. Times are integer milliseconds since the Unix epoch.",
        license(name = "Proprietary")
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "auth", description = "Signing in without cookies"),
        (name = "me", description = "The account, its email preferences, its devices, its data export and deletion"),
        (name = "tokens", description = "Personal API tokens"),
        (name = "frameworks", description = "The coaching frameworks"),
        (name = "sessions", description = "Coaching sessions, step by step, and their reports"),
        (name = "actions", description = "Action items"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        add_common_problems(openapi);
        let components = openapi.components.get_or_insert_with(Default::default);
        // The catalogue is embedded in the binary: the framework ids a session can start
        // with are known when the document is built.
        if let Ok(catalogue) = coachflux_domain::Catalogue::builtin()
            && let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(o))) =
                components.schemas.get_mut("NewSession")
            && let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(f))) =
                o.properties.get_mut("framework")
        {
            f.enum_values = Some(
                catalogue
                    .frameworks
                    .iter()
                    .filter(|fw| fw.is_available && !fw.coming_soon)
                    .map(|fw| serde_json::Value::String(fw.id.clone()))
                    .collect(),
            );
        }
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "cf_session",
                "The web app's own session cookie (named __Host-cf_session over https). Calls \
                 that change something must also send the page's CSRF token in X-CSRF-Token; \
                 cross-site requests are refused.",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/auth/login, or a personal API token (cfp_...).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "anonymous",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Anonymous-Id",
                "A visitor's id, handed out with their first session.",
            ))),
        );
    }
}

/// Every operation can answer these problems (malformed input, authentication, a missing
/// resource, rate limits; with a body also its size, type and validation); each operation's
/// own annotation lists the ones specific to it. The wording is `problem::refusals`'s.
fn add_common_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use problem::refusals::{
        BadRequest, Invalid, NotFound, NotJson, TooLarge, TooMany, Unauthorized,
    };
    use utoipa::IntoResponses;
    let always = [
        BadRequest::responses(),
        Unauthorized::responses(),
        NotFound::responses(),
        TooMany::responses(),
    ];
    let with_body = [
        TooLarge::responses(),
        NotJson::responses(),
        Invalid::responses(),
    ];
    for item in openapi.paths.paths.values_mut() {
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            let has_body = op.request_body.is_some();
            let common = always.iter().chain(with_body.iter().filter(|_| has_body));
            for (code, response) in common.flatten() {
                op.responses
                    .responses
                    .entry(code.clone())
                    .or_insert_with(|| response.clone());
            }
        }
    }
}

/// Every area's endpoints, with the document they declare.
fn areas() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(me::router())
        .merge(tokens::router())
        .merge(frameworks::router())
        .merge(sessions::router())
        .merge(actions::router())
        .split_for_parts()
}

/// The OpenAPI document as JSON (built once).
pub fn openapi_json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let (_, mut doc) = areas();
        Security.modify(&mut doc);
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

/// The API under `/api/v1`: every area, the OpenAPI document, and problems for anything else.
pub fn router() -> Router<AppState> {
    let (v1, _) = areas();
    v1.route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1", any(not_found))
        .route("/api/v1/{*rest}", any(not_found))
        .layer(axum::middleware::map_response(no_store))
}

/// API answers are personal: never cached by browsers or proxies.
async fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    r
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_json(),
    )
        .into_response()
}

async fn not_found() -> Response {
    problem::for_status(StatusCode::NOT_FOUND)
}

/// Whether a request is for the JSON API: errors that the framework or a layer produce for
/// it (405, 413, timeouts...) become problems instead of HTML pages.
pub fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api/v1")
}

#[cfg(test)]
mod tests {
    use super::openapi_json;

    /// The operations and schemas of the document, in `operations.txt`'s format.
    fn listing(doc: &serde_json::Value) -> String {
        let mut ops: Vec<String> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                ops.push(format!(
                    "{} {path} {}",
                    method.to_uppercase(),
                    op["operationId"].as_str().unwrap()
                ));
            }
        }
        ops.sort_by(|a, b| {
            let key = |s: &String| {
                let mut p = s.split(' ');
                let m = p.next().unwrap().to_owned();
                (p.next().unwrap().to_owned(), m)
            };
            key(a).cmp(&key(b))
        });
        let mut schemas: Vec<String> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| format!("schema {k}"))
            .collect();
        schemas.sort();
        format!("{}\n\n{}\n", ops.join("\n"), schemas.join("\n"))
    }

    /// The API keeps its operations (ids, methods, paths) and schemas: `operations.txt` is the
    /// document as it stood before the areas were split; a change to the API shows up here.
    #[test]
    fn the_document_lists_the_same_operations_and_schemas() {
        let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
        assert_eq!(listing(&doc), include_str!("operations.txt"));
    }

    #[test]
    fn the_document_has_examples_security_schemes_and_framework_ids() {
        let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for s in ["bearer", "anonymous", "cookie"] {
            assert!(schemes.contains_key(s), "{s}");
        }
        let ids =
            doc["components"]["schemas"]["NewSession"]["properties"]["framework"]["enum"].clone();
        assert_eq!(
            ids,
            serde_json::json!(["GROW", "CLEAR", "COMPASS", "OSKAR", "FUEL", "WOOP"])
        );
        let missing: Vec<&String> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, s)| {
                s["type"] == "object" && s.get("example").is_none() && s.get("examples").is_none()
            })
            .map(|(name, _)| name)
            .collect();
        assert!(
            missing.is_empty(),
            "object schemas without an example: {missing:?}"
        );
    }
}
