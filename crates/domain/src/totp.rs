//! Time-based one-time passwords (RFC 6238) for two-factor sign-in, with the parameters every
//! authenticator app supports: HMAC-SHA1, 6 digits, 30-second steps. The HOTP arithmetic comes
//! from `totp-rs`; this module adds the product's rules around it: clock-skew window, replay
//! refusal, constant-time comparison, tolerant input.

use std::fmt;
use std::fmt::Write as _;

use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret};

pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: usize = 6;

const STEP_MS: i64 = STEP_SECONDS as i64 * 1_000;
/// 160 bits: the HMAC-SHA1 output size, which RFC 4226 section 4 recommends.
const SECRET_BYTES: usize = 20;
/// How many steps either side of "now" a code may come from, for phone clocks that drift and
/// codes typed just as they roll over. RFC 6238 section 5.2 recommends one.
const ALLOWED_SKEW_STEPS: i64 = 1;

/// A TOTP shared secret (20 random bytes from the OS CSPRNG, as RFC 4226 recommends).
///
/// Equality is constant-time and `Debug` never prints the bytes, so a secret that ends up in a
/// log line or an assertion message does not leak.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A fresh secret from the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// If the OS cannot supply randomness. Enrolment cannot proceed safely without it, and a
    /// weaker fallback would be worse than failing the request.
    pub fn generate() -> Self {
        let mut bytes = vec![0; SECRET_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator failed");
        Self(bytes)
    }

    pub fn from_bytes(b: Vec<u8>) -> Self {
        Self(b)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32, upper-case, without padding: what authenticator apps expect when the
    /// secret is typed in instead of scanned.
    pub fn to_base32(&self) -> String {
        Secret::from(self.0.as_slice()).to_base32()
    }

    /// Parses base32 as people copy it: any case, with spaces between groups, with or without
    /// `=` padding. `None` for anything else, including an empty secret.
    pub fn from_base32(s: &str) -> Option<Self> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let unpadded = compact.trim_end_matches('=');
        // Base32 groups encode 5 bytes in 8 chars; these remainders cannot come from any input.
        if unpadded.is_empty() || matches!(unpadded.len() % 8, 1 | 3 | 6) {
            return None;
        }
        let secret = Secret::try_from_base32(unpadded).ok()?;
        Some(Self(secret.as_bytes().to_vec()))
    }
}

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TotpSecret {}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The time step containing `now_ms` (floor(now/30s)), also for instants before 1970.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(STEP_MS)
}

/// The code for one step with the given number of digits (6 in the product, 8 for the RFC
/// vectors), zero-padded on the left.
///
/// The step is the HOTP counter (RFC 4226) as a 64-bit big-endian integer, so a negative step
/// uses its two's-complement bits, as the RFC reference implementation would.
///
/// # Panics
///
/// If `digits` is not between 6 and 8, the range RFC 4226 allows.
pub fn code_for_step(secret: &TotpSecret, step: i64, digits: usize) -> String {
    assert!(
        (6..=8).contains(&digits),
        "HOTP codes have 6 to 8 digits, not {digits}"
    );
    let digits = u8::try_from(digits).unwrap_or(8);
    // With a one-second step, totp-rs's "time" is the counter itself, so any step maps to
    // exactly one counter and no multiplication can overflow.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_step_duration(1)
        .with_skew(0)
        .with_secret(secret.as_bytes())
        // `build` insists on a secret of at least 16 bytes; secrets we generate have 20,
        // and the length is the caller's business for imported ones.
        .build_noncompliant()
        .generate(step.cast_unsigned())
        .to_string()
}

/// Checks a 6-digit code at `now_ms` with ±1 step of clock skew. Returns the step that matched,
/// or None. A step <= `last_used_step` is refused (replay protection): the caller stores the
/// returned step. Codes are compared in constant time. Input is tolerant of spaces ("123 456");
/// anything not 6 digits → None.
///
/// Every step in the window is computed and compared, so the time taken does not reveal which
/// one matched. If several match (a one-in-a-million coincidence) the latest wins, which
/// burns the most of the window against replay.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now_ms: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now_ms);
    let mut matched = None;
    for offset in -ALLOWED_SKEW_STEPS..=ALLOWED_SKEW_STEPS {
        let Some(step) = current.checked_add(offset) else {
            continue;
        };
        if last_used_step.is_some_and(|used| step <= used) {
            continue;
        }
        let expected = code_for_step(secret, step, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) {
            matched = Some(step);
        }
    }
    matched
}

/// otpauth://totp/{issuer}:{account}?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
/// with percent-encoding of issuer and account (Google's Key URI Format, which every
/// authenticator app reads from the enrolment QR code). The issuer appears both in the label
/// and as a parameter because older apps read one and newer apps the other.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    let account = percent_encode(account);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        secret = secret.to_base32(),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so that a `:`, `&`, `?`,
/// `#` or space in a name cannot change the structure of the URI.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND_MS: i64 = 1_000;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    fn now_at_step(step: i64) -> i64 {
        // Somewhere in the middle of the step, as a real "now" would be.
        step * STEP_MS + 17 * SECOND_MS
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let secret = rfc_secret();
        for (seconds, expected) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let step = step_at(seconds * SECOND_MS);
            assert_eq!(code_for_step(&secret, step, 8), expected, "T = {seconds}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_low_digits_of_the_rfc_vectors() {
        // Same dynamic truncation, modulo 10^6 instead of 10^8 (RFC 4226 section 5.3).
        let secret = rfc_secret();
        assert_eq!(code_for_step(&secret, step_at(59 * SECOND_MS), 6), "287082");
        assert_eq!(
            code_for_step(&secret, step_at(1_111_111_109 * SECOND_MS), 6),
            "081804"
        );
    }

    #[test]
    fn steps_are_floored_thirty_second_windows() {
        assert_eq!(step_at(0), 0);
        assert_eq!(step_at(29_999), 0);
        assert_eq!(step_at(30_000), 1);
        assert_eq!(step_at(59_000), 1);
        assert_eq!(step_at(-1), -1);
        assert_eq!(step_at(1_111_111_109_000), 37_037_036);
    }

    #[test]
    fn verify_accepts_the_current_previous_and_next_step() {
        let secret = TotpSecret::generate();
        let now_step = 57_000_000;
        let now = now_at_step(now_step);
        for step in [now_step - 1, now_step, now_step + 1] {
            let code = code_for_step(&secret, step, DIGITS);
            assert_eq!(verify(&secret, &code, now, None), Some(step));
        }
    }

    #[test]
    fn verify_rejects_codes_two_steps_away() {
        let secret = rfc_secret();
        let now_step = 57_000_000;
        let now = now_at_step(now_step);
        for step in [now_step - 2, now_step + 2] {
            let code = code_for_step(&secret, step, DIGITS);
            // Guard against a chance collision making the test meaningless.
            assert!(
                (now_step - 1..=now_step + 1)
                    .all(|near| code_for_step(&secret, near, DIGITS) != code)
            );
            assert_eq!(verify(&secret, &code, now, None), None);
        }
    }

    #[test]
    fn verify_refuses_a_replayed_or_older_step() {
        let secret = rfc_secret();
        let now_step = 57_000_000;
        let now = now_at_step(now_step);
        let code = code_for_step(&secret, now_step, DIGITS);

        let used = verify(&secret, &code, now, None).unwrap();
        assert_eq!(used, now_step);
        assert_eq!(verify(&secret, &code, now, Some(used)), None);
        assert_eq!(verify(&secret, &code, now + STEP_MS, Some(used)), None);

        // The previous step's code cannot be used after the current one was.
        let previous = code_for_step(&secret, now_step - 1, DIGITS);
        assert_eq!(verify(&secret, &previous, now, Some(used)), None);

        // The next step's code is still fine: it is a new step.
        let next = code_for_step(&secret, now_step + 1, DIGITS);
        assert_eq!(verify(&secret, &next, now, Some(used)), Some(now_step + 1));
    }

    #[test]
    fn verify_tolerates_spaces() {
        let secret = rfc_secret();
        let now_step = 57_000_000;
        let code = code_for_step(&secret, now_step, DIGITS);
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        assert_eq!(
            verify(&secret, &spaced, now_at_step(now_step), None),
            Some(now_step)
        );
    }

    #[test]
    fn verify_rejects_malformed_input() {
        let secret = rfc_secret();
        let now_step = 57_000_000;
        let now = now_at_step(now_step);
        let code = code_for_step(&secret, now_step, DIGITS);
        let eight = code_for_step(&secret, now_step, 8);
        for bad in [
            String::new(),
            "   ".to_owned(),
            code[..5].to_owned(),
            format!("{code}0"),
            eight,
            format!("{}-{}", &code[..3], &code[3..]),
            format!("+{}", &code[1..]),
            "12345a".to_owned(),
            "١٢٣٤٥٦".to_owned(),
            "１２３４５６".to_owned(),
        ] {
            assert_eq!(verify(&secret, &bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn verify_handles_extreme_clocks_without_panicking() {
        let secret = rfc_secret();
        for now in [i64::MIN, -1, 0, i64::MAX] {
            for last_used in [None, Some(i64::MIN), Some(i64::MAX)] {
                let _ = verify(&secret, "000000", now, last_used);
            }
        }
        assert_eq!(verify(&secret, "000000", i64::MAX, Some(i64::MAX)), None);
    }

    #[test]
    fn base32_round_trips() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), 20);
        let encoded = secret.to_base32();
        assert_eq!(encoded.len(), 32);
        assert!(
            encoded
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        );
        assert_eq!(TotpSecret::from_base32(&encoded), Some(secret.clone()));

        let spaced_lower: String = encoded
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|chunk| std::str::from_utf8(chunk).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(TotpSecret::from_base32(&spaced_lower), Some(secret));
    }

    #[test]
    fn base32_matches_rfc_4648_and_rejects_garbage() {
        let rfc = rfc_secret();
        assert_eq!(rfc.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("MZXW6YQ=").map(|s| s.as_bytes().to_vec()),
            Some(b"foob".to_vec())
        );
        assert_eq!(
            TotpSecret::from_base32("mzxw6ytb oi").map(|s| s.as_bytes().to_vec()),
            Some(b"foobar".to_vec())
        );
        for bad in [
            "",
            "  ",
            "====",
            "MZXW6YQ1",
            "MZXW6YQ!",
            "MZXW6YQÉ",
            "A",
            "ABC",
        ] {
            assert_eq!(TotpSecret::from_base32(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = rfc_secret();
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        assert_eq!(format!("{secret:#?}"), "TotpSecret(<redacted>)");
    }

    #[test]
    fn secrets_compare_by_value() {
        let a = rfc_secret();
        assert_eq!(a, TotpSecret::from_bytes(b"12345678901234567890".to_vec()));
        assert_ne!(a, TotpSecret::from_bytes(b"12345678901234567891".to_vec()));
        assert_ne!(a, TotpSecret::from_bytes(b"1234567890".to_vec()));
        assert_ne!(TotpSecret::generate(), TotpSecret::generate());
    }

    #[test]
    fn otpauth_uri_has_the_key_uri_shape() {
        let secret = rfc_secret();
        assert_eq!(
            otpauth_uri(&secret, "CoachFlux", "maria@example.com"),
            "otpauth://totp/CoachFlux:maria%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=CoachFlux&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            otpauth_uri(&secret, "Coach Flux: EU & co", "a?b#c/d"),
            "otpauth://totp/Coach%20Flux%3A%20EU%20%26%20co:a%3Fb%23c%2Fd\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Coach%20Flux%3A%20EU%20%26%20co&algorithm=SHA1&digits=6&period=30"
        );
        assert!(otpauth_uri(&secret, "Café", "x").starts_with("otpauth://totp/Caf%C3%A9:x?"));
    }
}
