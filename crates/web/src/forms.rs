//! Helpers shared by pages with forms.

use axum::response::Response;
use coachflux_app::AppState;
use coachflux_app::error::{AppError, FieldError};
use coachflux_app::services::accounts::Started;
use coachflux_http::cookies;

/// Validation messages by field, for templates.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field to report an error as `aria-invalid` on.
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
}

/// Splits a service error into the messages a form shows, or the error to answer with.
pub fn form_errors(e: AppError) -> Result<FormErrors, AppError> {
    match e {
        AppError::Invalid(errors) => Ok(FormErrors(errors)),
        other => Err(other),
    }
}

/// A checkbox is "on" when present.
pub fn checked(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|v| !v.is_empty() && v != "off" && v != "false")
}

/// Where to go after signing in: `next` when it is a path on this site, else `/` (no open
/// redirects).
pub fn safe_next(next: Option<&str>) -> String {
    next.and_then(local_path).unwrap_or_else(|| "/".to_owned())
}

/// `text` as a `data:text/plain` URL, for a download link that needs no server round trip.
pub fn text_data_url(text: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    format!(
        "data:text/plain;charset=utf-8,{}",
        utf8_percent_encode(text, NON_ALPHANUMERIC)
    )
}

/// Where a sign-in lands when the person wasn't on their way somewhere.
pub const SIGNED_IN_HOME: &str = "/dashboard";

/// `next` for a sign-in (password, 2FA, magic link, provider): a path on this site, else the
/// dashboard.
pub fn sign_in_next(next: Option<&str>) -> String {
    next.and_then(local_path)
        .unwrap_or_else(|| SIGNED_IN_HOME.to_owned())
}

/// `next` as a path on this site, or `None`. Every control, whitespace and invisible format
/// character is refused outright: browsers drop tabs and line breaks inside URLs, so
/// `/<TAB>/evil.example` would become `//evil.example`, another site. What remains is resolved
/// the way a browser resolves it, must stay on our origin, and is answered in that resolved
/// form, which can't start with `//` or `/\`.
fn local_path(next: &str) -> Option<String> {
    if next.len() > 2_000
        || !next.starts_with('/')
        || next.contains('\\')
        || next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || coachflux_domain::text::is_format(c))
    {
        return None;
    }
    let base = url::Url::parse("https://coachflux.invalid/").expect("a valid base");
    let url = base.join(next).ok()?;
    if url.origin() != base.origin() {
        return None;
    }
    let mut out = url.path().to_owned();
    if let Some(q) = url.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = url.fragment() {
        out.push('#');
        out.push_str(f);
    }
    (out.starts_with('/') && !out.starts_with("//")).then_some(out)
}

/// Sets the session cookie (persistent when "remember me") and the device cookie when new,
/// and starts a new CSRF secret: a token read before signing in is worth nothing after.
pub fn set_session_cookies(state: &AppState, response: &mut Response, started: &Started) {
    let names = &state.cookies;
    rotate_csrf(state, response);
    let max_age = started
        .remember
        .then_some(coachflux_app::auth::IDLE_REMEMBER_MS);
    cookies::set(
        names,
        response,
        names.session,
        started.token.clone(),
        max_age,
    );
    if let Some(device) = &started.new_device_cookie {
        cookies::set(
            names,
            response,
            names.device,
            device.clone(),
            Some(400 * coachflux_domain::clock::DAY_MS),
        );
    }
}

/// A fresh CSRF cookie, for a change of who is signed in (sign-in and sign-out).
pub fn rotate_csrf(state: &AppState, response: &mut Response) {
    let names = &state.cookies;
    cookies::set(
        names,
        response,
        names.csrf,
        coachflux_app::crypto::random_token(),
        None,
    );
}

pub fn set_cookie(
    state: &AppState,
    response: &mut Response,
    name: &'static str,
    value: String,
    max_age_ms: i64,
) {
    cookies::set(&state.cookies, response, name, value, Some(max_age_ms));
}

pub fn clear_cookie(state: &AppState, response: &mut Response, name: &'static str) {
    cookies::clear(&state.cookies, response, name);
}

#[cfg(test)]
mod tests {
    use super::safe_next;
    use proptest::prelude::*;

    #[test]
    fn next_only_follows_local_paths() {
        assert_eq!(safe_next(Some("/settings")), "/settings");
        assert_eq!(
            safe_next(Some("/sessions/abc?tab=plan#step-2")),
            "/sessions/abc?tab=plan#step-2"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/\u{200B}/evil.example")), "/");
        assert_eq!(safe_next(Some("/.//evil.example")), "/");
        assert_eq!(safe_next(Some("/a/..//evil.example")), "/");
        assert_eq!(safe_next(Some("/../settings")), "/settings");
        assert_eq!(safe_next(Some("javascript:alert(1)")), "/");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(safe_next(None), "/");
    }

    /// Pieces attackers combine into redirect targets.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/".to_owned()),
            Just("\\".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("\t".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just(" ".to_owned()),
            Just("%09".to_owned()),
            Just("%2f".to_owned()),
            Just("%5c".to_owned()),
            Just("evil.example".to_owned()),
            Just("@evil.example".to_owned()),
            Just(":".to_owned()),
            Just("https:".to_owned()),
            Just("javascript:".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{200B}".to_owned()),
            Just("\u{202E}".to_owned()),
            Just("\u{3000}".to_owned()),
            Just("settings".to_owned()),
            "[a-z0-9]{1,4}",
            any::<char>().prop_map(String::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

        /// Whatever comes in, what goes out resolves on our own origin, from any page of it,
        /// and carries nothing a browser would strip or reinterpret.
        #[test]
        fn any_next_stays_on_this_site(parts in proptest::collection::vec(piece(), 0..10)) {
            let input = parts.concat();
            let out = safe_next(Some(&input));
            prop_assert!(out.starts_with('/'), "{out:?}");
            prop_assert!(!out.starts_with("//") && !out.contains('\\'), "{out:?}");
            prop_assert!(
                !out.chars().any(|c| c.is_control() || c.is_whitespace() || !c.is_ascii()),
                "{out:?}"
            );
            for page in ["https://coach.example/", "https://coach.example/a/b/c?x=1"] {
                let here = url::Url::parse(page).unwrap();
                let there = here.join(&out).unwrap();
                prop_assert_eq!(there.origin(), here.origin(), "{:?} -> {:?}", input, out);
            }
        }
    }
}
