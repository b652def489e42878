//! `/api/docs`: the API reference, rendered on the server from the OpenAPI document, in the
//! site's layout (no CDN, no script).

use crate::PageCtx;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use coachflux_app::AppState;
use serde_json::Value;

pub struct Operation {
    pub method: String,
    pub path: String,
    pub anchor: String,
    pub summary: String,
    pub auth: String,
    pub params: Vec<(String, String, String)>,
    pub body: String,
    pub responses: Vec<(String, String)>,
}

pub struct Tag {
    pub name: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

pub struct Schema {
    pub name: String,
    pub fields: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_docs.html")]
pub struct DocsPage {
    l: crate::Layout,
    origin: String,
    intro: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
}

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if let Some(items) = v.get("items") {
        return format!("array of {}", schema_name(items));
    }
    if let Some(one) = v.get("oneOf").and_then(Value::as_array) {
        return one.iter().map(schema_name).collect::<Vec<_>>().join(" or ");
    }
    match v.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "object".into(),
    }
}

/// `/api/docs`, presenting `openapi` (the API's OpenAPI document).
pub fn router(openapi: &'static str) -> Router<AppState> {
    Router::new().route(
        "/api/docs",
        get(move |state: State<AppState>, ctx: PageCtx| page(state, ctx, openapi)),
    )
}

fn build(openapi: &str) -> (String, Vec<Tag>, Vec<Schema>) {
    let doc: Value = serde_json::from_str(openapi).unwrap_or(Value::Null);
    let intro = doc["info"]["description"].as_str().unwrap_or("").to_owned();
    let mut tags: Vec<Tag> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| Tag {
            name: t["name"].as_str().unwrap_or("").to_owned(),
            description: t["description"].as_str().unwrap_or("").to_owned(),
            operations: Vec::new(),
        })
        .collect();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let tag = op["tags"][0].as_str().unwrap_or("");
                let auth = op["security"]
                    .as_array()
                    .map(|reqs| {
                        let names: Vec<String> = reqs
                            .iter()
                            .filter_map(Value::as_object)
                            .map(|o| o.keys().next().map_or("none".to_owned(), |k| k.clone()))
                            .collect();
                        names.join(", ")
                    })
                    .unwrap_or_else(|| "none".into());
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        (
                            format!(
                                "{} ({})",
                                p["name"].as_str().unwrap_or(""),
                                p["in"].as_str().unwrap_or("")
                            ),
                            schema_name(&p["schema"]),
                            p["description"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect();
                let body = op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|_| {
                        schema_name(&op["requestBody"]["content"]["application/json"]["schema"])
                    })
                    .unwrap_or_default();
                let responses = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| {
                        let schema = r["content"]
                            .as_object()
                            .and_then(|c| c.values().next())
                            .map(|c| schema_name(&c["schema"]))
                            .unwrap_or_default();
                        let text = r["description"].as_str().unwrap_or("").to_owned();
                        (
                            status.clone(),
                            if schema.is_empty() {
                                text
                            } else {
                                format!("{schema} — {text}")
                            },
                        )
                    })
                    .collect();
                let operation = Operation {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    anchor: op["operationId"].as_str().unwrap_or("").to_owned(),
                    summary: op["summary"]
                        .as_str()
                        .or(op["description"].as_str())
                        .unwrap_or("")
                        .to_owned(),
                    auth,
                    params,
                    body,
                    responses,
                };
                if let Some(t) = tags.iter_mut().find(|t| t.name == tag) {
                    t.operations.push(operation);
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| Schema {
            name: name.clone(),
            fields: s["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, f)| {
                    (
                        field.clone(),
                        schema_name(f),
                        f["description"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
        })
        .collect();
    (intro, tags, schemas)
}

async fn page(State(state): State<AppState>, ctx: PageCtx, openapi: &'static str) -> DocsPage {
    let (intro, tags, schemas) = build(openapi);
    DocsPage {
        l: ctx.layout("API reference — CoachFlux", "api"),
        origin: state.config.public_url.clone(),
        intro,
        tags,
        schemas,
    }
}
