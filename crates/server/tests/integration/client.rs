//! The one HTTP client of the integration tests: a browser (its own cookie jar, the CSRF token
//! taken from a page, forms) and an API caller (bearer token, visitor id, JSON) in one type, so
//! no test builds requests by hand.

use crate::harness::{extract, text_of};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};

/// What a browser sends as its user agent unless told otherwise.
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    addr: SocketAddr,
    /// Put before every path: "" for pages, "/api/v1" for API callers.
    prefix: &'static str,
    /// Sent as `Authorization: Bearer`.
    pub token: Option<String>,
    /// Sent as `X-Anonymous-Id`.
    pub anonymous: Option<String>,
}

/// How a [`Client`] is made: a browser by default.
pub struct ClientBuilder {
    addr: SocketAddr,
    api: bool,
    root: bool,
    user_agent: Option<String>,
    local_ip: Option<IpAddr>,
    headers: HeaderMap,
}

impl ClientBuilder {
    /// An API caller: paths under `/api/v1`, no cookies, no browser user agent.
    pub fn api(mut self) -> Self {
        self.api = true;
        self.user_agent = None;
        self
    }

    /// Paths from the root (not under `/api/v1`).
    pub fn root(mut self) -> Self {
        self.root = true;
        self
    }

    /// A browser whose language preference is `accept_language` (e.g. "en-GB,en;q=0.9").
    pub fn language(self, accept_language: &str) -> Self {
        self.header(reqwest::header::ACCEPT_LANGUAGE, accept_language)
    }

    pub fn user_agent(mut self, ua: &str) -> Self {
        self.user_agent = Some(ua.to_owned());
        self
    }

    /// Requests come from another loopback address (e.g. 127.0.0.77), so the server sees a
    /// distinct client IP.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.local_ip = Some(ip.parse().expect("an IP address"));
        self
    }

    /// A header sent with every request.
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers
            .insert(name, HeaderValue::from_str(value).expect("header value"));
        self
    }

    pub fn build(self) -> Client {
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(!self.api)
            .default_headers(self.headers);
        if let Some(ua) = self.user_agent {
            http = http.user_agent(ua);
        }
        if let Some(ip) = self.local_ip {
            http = http.local_address(ip);
        }
        Client {
            http: http.build().expect("http client"),
            addr: self.addr,
            prefix: if self.api && !self.root {
                "/api/v1"
            } else {
                ""
            },
            token: None,
            anonymous: None,
        }
    }
}

impl Client {
    pub fn builder(addr: SocketAddr) -> ClientBuilder {
        ClientBuilder {
            addr,
            api: false,
            root: false,
            user_agent: Some(FIREFOX.to_owned()),
            local_ip: None,
            headers: HeaderMap::new(),
        }
    }

    /// A browser with its own cookie jar (a device).
    pub fn browser(addr: SocketAddr) -> Self {
        Self::builder(addr).build()
    }

    /// A cookie-less API caller.
    pub fn api(addr: SocketAddr) -> Self {
        Self::builder(addr).api().build()
    }

    /// A bare client: no cookie jar, no user agent, paths from the root; its requests carry
    /// only what the test adds (a stranger, a script, a forger).
    pub fn plain(addr: SocketAddr) -> Self {
        Self::builder(addr).api().root().build()
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// The same client, sending `X-Anonymous-Id: <id>` (a visitor).
    pub fn with_visitor(&self, id: &str) -> Self {
        Self {
            anonymous: Some(id.to_owned()),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.addr, self.prefix)
    }

    /// A request with this client's credentials, for anything the helpers below don't say.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, self.url(path));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        if let Some(a) = &self.anonymous {
            r = r.header("X-Anonymous-Id", a);
        }
        r
    }

    // --- Pages -------------------------------------------------------------------------------

    pub async fn get(&self, path: &str) -> reqwest::Response {
        sent(self.request(Method::GET, path)).await
    }

    /// (status, decoded text, Location header)
    pub async fn page(&self, path: &str) -> (u16, String, Option<String>) {
        read_page(self.get(path).await).await
    }

    /// The CSRF token of this browser, from a page's form.
    pub async fn csrf(&self) -> String {
        let page = self
            .http
            .get(format!("http://{}/frameworks", self.addr))
            .send()
            .await
            .expect("request reaches the server");
        let html = page.text().await.expect("a body");
        extract(&html, "<meta name=\"csrf-token\" content=\"", "\"")
            .expect("pages carry a CSRF token")
    }

    /// Posts a form with this browser's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &token));
        sent(self.request(Method::POST, path).form(&form)).await
    }

    /// Posts and returns (status, decoded text, Location).
    pub async fn submit(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, Option<String>) {
        read_page(self.post(path, fields).await).await
    }

    // --- JSON --------------------------------------------------------------------------------

    /// Sends `body` (if any) as JSON.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self.request(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        sent(r).await
    }

    /// (status, JSON body or Null)
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let r = self.send(method, path, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
}

async fn sent(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("request reaches the server")
}

async fn read_page(r: reqwest::Response) -> (u16, String, Option<String>) {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().expect("an ASCII location").to_owned());
    (status, text_of(&r.text().await.expect("a body")), location)
}
