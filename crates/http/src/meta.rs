//! The facts about a request that services take ([`RequestMeta`]): the client's address
//! (through trusted proxies), its user agent, and this browser's device and visitor cookies.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum_extra::extract::cookie::CookieJar;
use coachflux_app::AppState;
use coachflux_app::auth::CurrentUser;
use coachflux_domain::dates::Zone;
use coachflux_domain::request::RequestMeta;
use std::net::SocketAddr;

/// Extracts the [`RequestMeta`] of a request.
#[derive(Debug, Clone)]
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(
                || "unknown".to_owned(),
                |c| client_ip(c.0.ip(), &parts.headers, &state.config.trusted_proxies).to_string(),
            );
        let user_agent: String = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown device")
            .chars()
            .take(300)
            .collect();
        let jar = CookieJar::from_headers(&parts.headers);
        let device_cookie = jar
            .get(state.cookies.device)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 43);
        let anonymous_id = anonymous_id(state, &jar);
        let time_zone = client_zone(&parts.headers).map(|z| z.name().to_owned());
        Ok(Meta(RequestMeta {
            ip,
            user_agent,
            device_cookie,
            anonymous_id,
            time_zone,
        }))
    }
}

/// The cookie this site's script sets to the browser's time zone (its `Intl` name), so that a
/// visitor's dates, or a member's before they choose a zone, are days on their calendar.
pub const ZONE_COOKIE: &str = "cf_tz";
/// The header an API client names the person's time zone with (an IANA name).
pub const ZONE_HEADER: &str = "x-time-zone";

/// The person's time zone: the one they chose, else the one the client names (the API header,
/// then the browser's cookie), else the one their browser named at their last sign-in, else
/// UTC. A name that isn't a zone is ignored.
pub fn zone(user: Option<&CurrentUser>, headers: &HeaderMap) -> Zone {
    let stored = user.and_then(|u| u.user.time_zone.as_deref().and_then(Zone::named));
    let chosen = user.is_some_and(|u| u.user.time_zone_chosen);
    stored
        .filter(|_| chosen)
        .or_else(|| client_zone(headers))
        .or(stored)
        .unwrap_or_default()
}

/// The zone the client names: the API header, else the browser's cookie.
fn client_zone(headers: &HeaderMap) -> Option<Zone> {
    headers
        .get(ZONE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Zone::named)
        .or_else(|| {
            CookieJar::from_headers(headers)
                .get(ZONE_COOKIE)
                .and_then(|c| Zone::named(c.value()))
        })
}

/// This browser's visitor id, when its cookie holds one this server issued.
pub fn anonymous_id(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(state.cookies.anonymous)
        .map(|c| c.value().to_owned())
        .filter(|v| state.keys.is_anonymous_id(v))
}

/// The client's address. The peer is the client unless it is one of the trusted proxies: then
/// `X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
/// trusted proxies, and the first other address is the client. A client can put anything at
/// the left of that header, so nothing left of the last untrusted hop is believed.
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Proxies append well-formed addresses; anything else came from the client, and
        // nothing left of it can be believed.
        let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_is_the_accounts_else_the_header_else_the_browsers_cookie() {
        use axum::http::HeaderValue;
        let mut h = HeaderMap::new();
        assert_eq!(zone(None, &h), Zone::UTC);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("cf_csrf=x; cf_tz=Asia/Tokyo"),
        );
        assert_eq!(zone(None, &h).name(), "Asia/Tokyo");
        h.insert(ZONE_HEADER, HeaderValue::from_static("Europe/Berlin"));
        assert_eq!(zone(None, &h).name(), "Europe/Berlin");
        // What isn't a zone is ignored, not read as UTC over a good one.
        h.insert(ZONE_HEADER, HeaderValue::from_static("Mars/Base"));
        assert_eq!(zone(None, &h).name(), "Asia/Tokyo");
        h.insert(header::COOKIE, HeaderValue::from_static("cf_tz=<script>"));
        assert_eq!(zone(None, &h), Zone::UTC);
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        use axum::http::{HeaderMap, HeaderValue};
        use std::net::IpAddr;
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"),
        );
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // No proxy trusted (the default): the header is ignored.
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &[]), ip("10.0.0.1"));
        // A direct client can't claim an address.
        assert_eq!(
            client_ip(ip("198.51.100.4"), &h, &trusted),
            ip("198.51.100.4")
        );
        // Behind trusted proxies: the last address they didn't add; the spoofed left part is
        // not believed.
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        // Garbage in the header stops the walk at the last hop a proxy added.
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(client_ip(ip("10.0.0.1"), &bad, &trusted), ip("10.0.0.1"));
        let mut mixed = HeaderMap::new();
        mixed.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, junk, 10.0.0.7"),
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &mixed, &trusted), ip("10.0.0.7"));
        // Several header lines count as one list.
        let mut two = HeaderMap::new();
        two.append("x-forwarded-for", HeaderValue::from_static("192.0.2.1"));
        two.append("x-forwarded-for", HeaderValue::from_static("10.0.0.3"));
        assert_eq!(client_ip(ip("10.0.0.1"), &two, &trusted), ip("192.0.2.1"));
    }
}
