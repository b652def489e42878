//! What the services know about the request they serve: where it comes from and which
//! browser it is. Built by the web and API faces from HTTP; services never see HTTP itself.

/// Where a request comes from, for device sessions, audit rows and rate limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client's address (behind trusted proxies, the one they name).
    pub ip: String,
    pub user_agent: String,
    /// The long-lived device cookie's value, if the browser has one.
    pub device_cookie: Option<String>,
    /// The visitor id of this browser's anonymous coaching sessions, if any (one the server
    /// issued: the faces check its signature).
    pub anonymous_id: Option<String>,
    /// The time zone the browser (or API client) names, checked to be one: an account without
    /// a zone of its own takes it when it signs in here.
    pub time_zone: Option<String>,
}

/// A short human name for a browser from its user agent ("Firefox on Linux").
pub fn describe_device(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        "A browser"
    };
    let os = if ua.contains("Windows") {
        " on Windows"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        " on iOS"
    } else if ua.contains("Android") {
        " on Android"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        " on macOS"
    } else if ua.contains("Linux") {
        " on Linux"
    } else {
        ""
    };
    format!("{browser}{os}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_readable_names() {
        assert_eq!(
            describe_device(
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
            ),
            "Firefox on Linux"
        );
        assert_eq!(
            describe_device(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
            ),
            "Chrome on Windows"
        );
        assert_eq!(describe_device("curl/8.5.0"), "curl");
    }
}
