//! The public JSON API, v1: the same services as the web pages behind bearer tokens, RFC 9457
//! problems, cursor pagination and idempotency keys, described by an OpenAPI 3.1 document
//! generated from this code.

pub mod caller;
mod docs;
mod handlers;
mod paging;
pub mod problem;
mod types;

use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CoachFlux API",
        version = "1.0.0",
        description = "Everything a member can do in the CoachFlux web app, as JSON. \
Authenticate with `Authorization: Bearer <token>`: a session token from `POST /api/v1/auth/login`, \
or a personal API token (`cfp_...`, scopes `read` or `read write`) created in settings or with \
`POST /api/v1/tokens`. Visitors send `X-Anonymous-Id` (handed out by their first \
`POST /api/v1/sessions`); signing in with it moves their sessions into the account. Errors are \
RFC 9457 `application/problem+json` with a stable `code`. Lists are cursor-paginated \
(`limit` ≤ 100, `cursor` = the previous page's `nextCursor`). POSTs that create things honour \
`Idempotency-Key`. Times are integer milliseconds since the Unix epoch.",
        license(name = "Proprietary")
    ),
    servers((url = "/", description = "This server")),
    paths(
        handlers::login, handlers::two_factor, handlers::logout, handlers::signup, handlers::verify_email,
        handlers::magic_link, handlers::password_reset,
        handlers::me, handlers::update_me, handlers::preferences, handlers::set_preferences,
        handlers::device_sessions, handlers::revoke_device_session, handlers::export_me, handlers::request_deletion,
        handlers::tokens, handlers::create_token, handlers::revoke_token,
        handlers::frameworks, handlers::framework,
        handlers::sessions, handlers::create_session, handlers::session, handlers::delete_session,
        handlers::consent, handlers::turn, handlers::skip, handlers::proceed, handlers::back,
        handlers::resume, handlers::amend, handlers::proposal, handlers::close, handlers::end, handlers::report,
        handlers::list_actions, handlers::create_action, handlers::action, handlers::update_action,
        handlers::complete_action, handlers::delete_action,
    ),
    modifiers(&Security),
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

/// Every operation can answer these problems (malformed input, authentication, body limits,
/// rate limits, validation); each operation's own annotation lists the ones specific to it.
fn add_common_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
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
            let responses = &mut op.responses.responses;
            let mut add = |code: &str, text: &str| {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| problem(text).into());
            };
            add("400", "Malformed request (query, header or JSON)");
            add("401", "Missing, invalid, expired or revoked credentials");
            add("404", "No such resource of yours");
            add("429", "Too many requests; see Retry-After");
            if has_body {
                add("413", "The body is larger than we accept");
                add("415", "The body isn't JSON");
                add("422", "The input didn't check out");
            }
        }
    }
}

/// The OpenAPI document as JSON (built once).
pub fn openapi_json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

pub fn router() -> Router<AppState> {
    use handlers as h;
    let v1 = Router::new()
        .route("/auth/login", post(h::login))
        .route("/auth/2fa", post(h::two_factor))
        .route("/auth/logout", post(h::logout))
        .route("/auth/signup", post(h::signup))
        .route("/auth/verify-email", post(h::verify_email))
        .route("/auth/magic-link", post(h::magic_link))
        .route("/auth/password-reset", post(h::password_reset))
        .route("/me", get(h::me).patch(h::update_me))
        .route(
            "/me/email-preferences",
            get(h::preferences).put(h::set_preferences),
        )
        .route("/me/sessions", get(h::device_sessions))
        .route("/me/export", get(h::export_me))
        .route("/me/deletion", post(h::request_deletion))
        .route(
            "/me/sessions/{id}",
            axum::routing::delete(h::revoke_device_session),
        )
        .route("/tokens", get(h::tokens).post(h::create_token))
        .route("/tokens/{id}", axum::routing::delete(h::revoke_token))
        .route("/frameworks", get(h::frameworks))
        .route("/frameworks/{id}", get(h::framework))
        .route("/sessions", get(h::sessions).post(h::create_session))
        .route("/sessions/{id}", get(h::session).delete(h::delete_session))
        .route("/sessions/{id}/consent", post(h::consent))
        .route("/sessions/{id}/turns", post(h::turn))
        .route("/sessions/{id}/skip", post(h::skip))
        .route("/sessions/{id}/proceed", post(h::proceed))
        .route("/sessions/{id}/back", post(h::back))
        .route("/sessions/{id}/resume", post(h::resume))
        .route("/sessions/{id}/end", post(h::end))
        .route("/sessions/{id}/amend", post(h::amend))
        .route("/sessions/{id}/proposals/{index}", post(h::proposal))
        .route("/sessions/{id}/close", post(h::close))
        .route("/sessions/{id}/report", get(h::report))
        .route("/actions", get(h::list_actions).post(h::create_action))
        .route(
            "/actions/{id}",
            get(h::action)
                .patch(h::update_action)
                .delete(h::delete_action),
        )
        .route("/actions/{id}/complete", post(h::complete_action))
        .route("/openapi.json", get(openapi))
        .fallback(not_found);
    Router::new()
        .nest(
            "/api/v1",
            v1.layer(axum::middleware::map_response(no_store)),
        )
        .route("/api/docs", get(docs::page))
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

    /// Every route `router()` registers (read from this file) with its methods.
    fn registered_routes() -> Vec<(String, Vec<&'static str>)> {
        let src = include_str!("mod.rs");
        let body = &src[src.find("let v1 = Router::new()").unwrap()
            ..src.find(".fallback(not_found)").unwrap()];
        body.split(".route(")
            .skip(1)
            .map(|call| {
                let path = call.trim_start().trim_start_matches('"');
                let path = path[..path.find('"').unwrap()].to_owned();
                let methods = ["get", "post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|m| {
                        call.contains(&format!("{m}(h::")) || call.contains(&format!("{m}(openapi"))
                    })
                    .collect();
                (path, methods)
            })
            .collect()
    }

    #[test]
    fn every_route_and_method_is_in_the_openapi_document() {
        let doc: serde_json::Value = serde_json::from_str(openapi_json()).unwrap();
        let routes = registered_routes();
        assert!(routes.len() > 30, "the routes were read: {routes:?}");
        let mut documented = 0;
        for (path, methods) in &routes {
            assert!(!methods.is_empty(), "{path}: no methods read");
            if path == "/openapi.json" {
                continue;
            }
            let full = format!("/api/v1{path}");
            for m in methods {
                assert!(
                    doc["paths"][&full][m].is_object(),
                    "{} {full} is served but not in the OpenAPI document",
                    m.to_uppercase()
                );
                documented += 1;
            }
        }
        let in_doc: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(
            documented, in_doc,
            "and the document describes nothing that isn't served"
        );
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
