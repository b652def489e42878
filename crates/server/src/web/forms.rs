//! Helpers shared by pages with forms.

use crate::error::{AppError, FieldError};
use crate::services::accounts::Started;
use crate::state::AppState;
use axum::http::{HeaderValue, header};
use axum::response::Response;

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

/// Only local paths are followed after sign-in (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains(['\r', '\n']) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Sets the session cookie (persistent when "remember me") and the device cookie when new.
pub fn set_session_cookies(state: &AppState, response: &mut Response, started: &Started) {
    let names = &state.cookies;
    let max_age = started.remember.then_some(crate::auth::IDLE_REMEMBER_MS);
    append_cookie(
        response,
        &names
            .build(names.session, started.token.clone(), max_age)
            .to_string(),
    );
    if let Some(device) = &started.new_device_cookie {
        append_cookie(
            response,
            &names
                .build(
                    names.device,
                    device.clone(),
                    Some(400 * coachflux_domain::clock::DAY_MS),
                )
                .to_string(),
        );
    }
}

pub fn set_cookie(
    state: &AppState,
    response: &mut Response,
    name: &'static str,
    value: String,
    max_age_ms: i64,
) {
    append_cookie(
        response,
        &state
            .cookies
            .build(name, value, Some(max_age_ms))
            .to_string(),
    );
}

pub fn clear_cookie(state: &AppState, response: &mut Response, name: &'static str) {
    append_cookie(response, &state.cookies.removal(name).to_string());
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_follows_local_paths() {
        assert_eq!(safe_next(Some("/settings")), "/settings");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
