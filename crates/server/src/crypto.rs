//! Tokens, keyed hashes, encryption at rest and password hashing.
//!
//! Every token is 256 bits from the OS CSPRNG and is stored only as its SHA-256. Keys for
//! signing and encryption are derived from the server key, one per purpose.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Fills `buf` from the operating system's CSPRNG.
pub fn os_random(buf: &mut [u8]) {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .expect("the OS random number generator is available");
}

/// A fresh 256-bit token, URL-safe (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    os_random(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores for a token: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Purpose-bound keys derived from the server key.
#[derive(Clone)]
pub struct Keys {
    mac: [u8; 32],
    enc: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

fn derive(secret: &str, purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"coachflux/");
    h.update(purpose.as_bytes());
    h.update(b"/");
    h.update(secret.as_bytes());
    h.finalize().into()
}

const ENCRYPTED_PREFIX: &str = "v1.";

impl Keys {
    pub fn from_secret(secret_hex: &str) -> Self {
        Self {
            mac: derive(secret_hex, "mac/v1"),
            enc: derive(secret_hex, "enc/v1"),
        }
    }

    /// HMAC-SHA256 of `message`, hex.
    pub fn sign(&self, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.mac).expect("any key length works");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn verify(&self, message: &str, signature: &str) -> bool {
        constant_time_eq(&self.sign(message), signature)
    }

    /// XChaCha20-Poly1305 with a random nonce: `v1.<base64url(nonce || ciphertext)>`.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new_from_slice(&self.enc).expect("32-byte key");
        let mut nonce_bytes = [0u8; 24];
        os_random(&mut nonce_bytes);
        let nonce = XNonce::try_from(&nonce_bytes[..]).expect("24-byte nonce");
        let ciphertext = cipher
            .encrypt(&nonce, plaintext)
            .expect("encryption of a small buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{ENCRYPTED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// `None` when the text was not produced by [`Keys::encrypt`] with this key.
    pub fn decrypt(&self, text: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD
            .decode(text.strip_prefix(ENCRYPTED_PREFIX)?)
            .ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let cipher = XChaCha20Poly1305::new_from_slice(&self.enc).ok()?;
        cipher
            .decrypt(&XNonce::try_from(nonce).ok()?, ciphertext)
            .ok()
    }
}

/// argon2id with the OWASP parameters: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes off the async runtime: argon2 takes tens of milliseconds of CPU.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Verifies off the async runtime. With no stored hash (unknown account, or an account
/// without a password) it still runs a full verification against a fixed hash, so the answer
/// takes as long either way.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let real = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    argon2()
        .hash_password(b"coachflux timing equaliser")
        .map(|h| h.to_string())
        .expect("argon2 hashes a constant")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_unique() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }

    #[test]
    fn signatures_bind_key_and_message() {
        let k = Keys::from_secret(&"ab".repeat(32));
        let other = Keys::from_secret(&"cd".repeat(32));
        let sig = k.sign("hello");
        assert!(k.verify("hello", &sig));
        assert!(!k.verify("hellO", &sig));
        assert!(!other.verify("hello", &sig));
    }

    #[test]
    fn encryption_round_trips_and_detects_tampering() {
        let k = Keys::from_secret(&"ab".repeat(32));
        let sealed = k.encrypt(b"JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(k.decrypt(&sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_ne!(k.encrypt(b"x"), k.encrypt(b"x"), "random nonces");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(k.decrypt(&tampered).is_none());
        assert!(
            Keys::from_secret(&"cd".repeat(32))
                .decrypt(&sealed)
                .is_none()
        );
        assert!(k.decrypt("plaintext").is_none());
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_owasp_parameters() {
        let hash = hash_password("correct horse battery staple".into())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery staple".into(), Some(hash.clone())).await);
        assert!(!verify_password("correct horse battery stapl".into(), Some(hash.clone())).await);
        // No truncation: a long password differing only at the end is a different password.
        let long = "x".repeat(127);
        let h = hash_password(format!("{long}a")).await.unwrap();
        assert!(!verify_password(format!("{long}b"), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}
