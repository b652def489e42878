//! TOTP second factor (RFC 6238) with single-use recovery codes. Secrets are encrypted with the
//! server key; a code's time step can be used once.

use super::{audit, credentials};
use crate::auth::CurrentUser;
use crate::crypto::{self, Purpose};
use crate::error::AppError;
use crate::mail::messages;
use crate::state::AppState;
use coachflux_domain::request::RequestMeta;
use coachflux_domain::totp::{self, TotpSecret};
use coachflux_store::users::User;
use coachflux_store::{Conn, recovery_codes, users};
use serde_json::json;

pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "CoachFlux";
/// No look-alike characters (0/o, 1/l/i): 31 symbols, about 4.95 bits each.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// 24 symbols: about 119 bits, beyond any offline search even of a leaked keyed hash.
const CODE_CHARS: usize = 24;
/// Codes issued before they grew (10 symbols) still work once each until replaced.
const LEGACY_CODE_CHARS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    Totp,
    RecoveryCode,
}

impl Factor {
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
        }
    }
}

/// What the setup page shows.
pub struct Setup {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

fn open_secret(state: &AppState, user: &User) -> Option<TotpSecret> {
    let sealed = user.totp_secret.as_deref()?;
    let bytes = state.keys.open(Purpose::TotpSecret, sealed)?;
    TotpSecret::from_base32(std::str::from_utf8(&bytes).ok()?)
}

fn recovery_hash(state: &AppState, code: &str) -> String {
    state.keys.sign(&format!("recovery:{code}"))
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Checks a TOTP code (each time step once) or, failing that, a recovery code (each once).
pub async fn check_code(
    state: &AppState,
    conn: &mut Conn,
    user: &User,
    code: &str,
    now: i64,
) -> Result<Option<Factor>, AppError> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == totp::DIGITS && digits.chars().all(|c| c.is_ascii_digit()) {
        let Some(secret) = open_secret(state, user) else {
            return Ok(None);
        };
        if let Some(step) = totp::verify(&secret, &digits, now, user.totp_last_step)
            && users::advance_totp_step(conn, &user.id, step).await?
        {
            return Ok(Some(Factor::Totp));
        }
        return Ok(None);
    }
    let normalised = normalise_recovery(code);
    if matches!(normalised.len(), CODE_CHARS | LEGACY_CODE_CHARS)
        && recovery_codes::consume(conn, &user.id, &recovery_hash(state, &normalised), now).await?
    {
        return Ok(Some(Factor::RecoveryCode));
    }
    Ok(None)
}

/// Starts (or resumes) setup: a secret is stored, encrypted, but not yet enabled. Changing how
/// the account signs in needs a session that just proved who it is.
pub async fn begin_setup(state: &AppState, current: &CurrentUser) -> Result<Setup, AppError> {
    let user = &current.user;
    credentials::require_recent(state, current)?;
    if user.totp_enabled {
        return Err(AppError::invalid(
            "code",
            "Two-factor authentication is already on.",
        ));
    }
    let secret = match open_secret(state, user) {
        Some(s) => s,
        None => {
            let s = TotpSecret::generate();
            let sealed = state
                .keys
                .seal(Purpose::TotpSecret, s.to_base32().as_bytes());
            let mut conn = state.store.conn().await?;
            users::set_totp(
                &mut conn,
                &user.id,
                Some(&sealed),
                false,
                state.clock.now_ms(),
            )
            .await?;
            s
        }
    };
    let uri = totp::otpauth_uri(&secret, ISSUER, &user.email);
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| anyhow::anyhow!("qr code: {e}"))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(Setup {
        secret_base32: secret.to_base32(),
        otpauth_uri: uri,
        qr_svg,
    })
}

/// One symbol of a code, uniformly: bytes at or above the largest multiple of the alphabet's
/// size are drawn again, so no symbol is likelier than another.
fn random_symbol() -> char {
    loop {
        let mut b = [0u8; 1];
        crypto::os_random(&mut b);
        if let Some(c) = symbol(b[0]) {
            return c;
        }
    }
}

/// The symbol a random byte stands for, or `None` for the few bytes that would favour some.
fn symbol(b: u8) -> Option<char> {
    let n = CODE_ALPHABET.len();
    let v = usize::from(b);
    (v < 256 - 256 % n).then(|| CODE_ALPHABET[v % n] as char)
}

/// Ten codes like `k7mqxa-3hzpre-wdn8cu-f2vtgy`.
fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = (0..CODE_CHARS).map(|_| random_symbol()).collect();
            chars
                .chunks(6)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

async fn store_codes(
    state: &AppState,
    conn: &mut Conn,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, AppError> {
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| recovery_hash(state, &normalise_recovery(c)))
        .collect();
    recovery_codes::replace_all(conn, user_id, &hashes, now).await?;
    Ok(codes)
}

/// Turns 2FA on when the code proves the app has the secret. Returns the recovery codes, shown
/// once.
pub async fn confirm_setup(
    state: &AppState,
    meta: &RequestMeta,
    current: &CurrentUser,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let user = &current.user;
    credentials::require_recent(state, current)?;
    if user.totp_enabled {
        return Err(AppError::invalid(
            "code",
            "Two-factor authentication is already on.",
        ));
    }
    let Some(secret) = open_secret(state, user) else {
        return Err(AppError::invalid(
            "code",
            "Start the setup again: scan the new QR code.",
        ));
    };
    let now = state.clock.now_ms();
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = totp::verify(&secret, &digits, now, user.totp_last_step) else {
        return Err(AppError::invalid(
            "code",
            "That code didn't match. Check the time on your phone and try the newest code.",
        ));
    };
    let mut tx = state.store.begin().await?;
    let sealed = user.totp_secret.clone().unwrap_or_default();
    users::set_totp(&mut tx, &user.id, Some(&sealed), true, now).await?;
    users::advance_totp_step(&mut tx, &user.id, step).await?;
    let codes = store_codes(state, &mut tx, &user.id, now).await?;
    let notice = messages::two_factor_changed(&super::accounts::to_of(user), true);
    super::accounts::tell_and_record(
        state,
        &mut tx,
        &user.id,
        meta,
        &notice,
        ("2fa_enabled", json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(codes)
}

pub async fn disable(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    password: String,
    code: &str,
) -> Result<(), AppError> {
    if !user.totp_enabled {
        return Ok(());
    }
    if user.role.is_staff() {
        return Err(AppError::Forbidden(
            "Staff and admin accounts must keep two-factor authentication on.",
        ));
    }
    credentials::reauthenticate(state, meta, user, password, code, "disable_2fa", "password")
        .await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    users::set_totp(&mut tx, &user.id, None, false, now).await?;
    recovery_codes::replace_all(&mut tx, &user.id, &[], now).await?;
    let notice = messages::two_factor_changed(&super::accounts::to_of(user), false);
    super::accounts::tell_and_record(
        state,
        &mut tx,
        &user.id,
        meta,
        &notice,
        ("2fa_disabled", json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(())
}

pub async fn regenerate_codes(
    state: &AppState,
    meta: &RequestMeta,
    user: &User,
    password: String,
    code: &str,
) -> Result<Vec<String>, AppError> {
    if !user.totp_enabled {
        return Err(AppError::invalid(
            "password",
            "Turn on two-factor authentication first.",
        ));
    }
    credentials::reauthenticate(
        state,
        meta,
        user,
        password,
        code,
        "recovery_codes",
        "password",
    )
    .await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin().await?;
    let codes = store_codes(state, &mut tx, &user.id, now).await?;
    audit::record(
        &mut tx,
        Some(&user.id),
        "recovery_codes_regenerated",
        Some(meta),
        json!({}),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

pub async fn unused_codes(state: &AppState, user: &User) -> Result<i64, AppError> {
    let mut conn = state.store.conn().await?;
    Ok(recovery_codes::count_unused(&mut conn, &user.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_carry_over_100_bits_and_are_readable() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        let bits = CODE_CHARS as f64 * (CODE_ALPHABET.len() as f64).log2();
        assert!(bits >= 100.0, "{bits} bits");
        for c in &codes {
            assert_eq!(c.len(), 27, "{c}");
            assert_eq!(c.split('-').count(), 4, "{c}");
            assert_eq!(normalise_recovery(c).len(), CODE_CHARS);
            assert!(!c.contains(['0', '1', 'o', 'l', 'i']));
        }
        assert_eq!(normalise_recovery(" ABCDE-fgh23 "), "abcdefgh23");
    }

    #[test]
    fn every_symbol_stands_for_as_many_bytes() {
        let mut seen = std::collections::HashMap::new();
        for b in 0..=255u8 {
            if let Some(c) = symbol(b) {
                *seen.entry(c).or_insert(0u32) += 1;
            }
        }
        assert_eq!(seen.len(), CODE_ALPHABET.len());
        assert!(seen.values().all(|n| *n == 8), "{seen:?}");
    }
}
