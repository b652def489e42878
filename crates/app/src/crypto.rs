//! Tokens, keyed hashes, encryption at rest and password hashing.
//!
//! Every token is 256 bits from the OS CSPRNG and is stored only as its SHA-256. Keys for
//! signing and encryption are derived from the server key, one per purpose.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
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

/// Sealed before values were bound to a purpose (no associated data).
const LEGACY_PREFIX: &str = "v1.";
/// Sealed with the purpose as associated data: a value sealed for one use opens for no other.
const SEALED_PREFIX: &str = "v2.";

/// What a sealed value is for. The name is authenticated with the ciphertext, so a value
/// copied from one place (a cookie, a column) into another fails to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A TOTP secret in `users.totp_secret`.
    TotpSecret,
    /// A stored API answer replayed for an `Idempotency-Key`.
    IdempotentResponse,
    /// The OpenID Connect flow cookie between start and callback.
    OidcFlow,
    /// An email body waiting in the outbox.
    MailBody,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::TotpSecret => b"coachflux/totp-secret",
            Purpose::IdempotentResponse => b"coachflux/idempotent-response",
            Purpose::OidcFlow => b"coachflux/oidc-flow",
            Purpose::MailBody => b"coachflux/mail-body",
        }
    }

    /// Values of these purposes were stored before sealing was bound to purposes; they still
    /// open (and are sealed the new way when written again). Short-lived values never were.
    fn reads_legacy(self) -> bool {
        matches!(self, Purpose::TotpSecret | Purpose::IdempotentResponse)
    }
}

impl Keys {
    pub fn from_secret(secret_hex: &str) -> Self {
        Self {
            mac: derive(secret_hex, "mac/v1"),
            enc: derive(secret_hex, "enc/v1"),
        }
    }

    /// HMAC-SHA256 of `message`, hex.
    pub fn sign(&self, message: &str) -> String {
        hex::encode(self.mac_bytes(message.as_bytes()))
    }

    fn mac_bytes(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.mac).expect("any key length works");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    pub fn verify(&self, message: &str, signature: &str) -> bool {
        constant_time_eq(&self.sign(message), signature)
    }

    /// XChaCha20-Poly1305 with a random nonce and `purpose` as associated data:
    /// `v2.<base64url(nonce || ciphertext)>`.
    pub fn seal(&self, purpose: Purpose, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new_from_slice(&self.enc).expect("32-byte key");
        let mut nonce_bytes = [0u8; 24];
        os_random(&mut nonce_bytes);
        let nonce = XNonce::try_from(&nonce_bytes[..]).expect("24-byte nonce");
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: purpose.label(),
                },
            )
            .expect("encryption of a small buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// `None` when the text was not produced by [`Keys::seal`] with this key for `purpose`.
    pub fn open(&self, purpose: Purpose, text: &str) -> Option<Vec<u8>> {
        let (raw, aad): (&str, &[u8]) = if let Some(rest) = text.strip_prefix(SEALED_PREFIX) {
            (rest, purpose.label())
        } else if let Some(rest) = text.strip_prefix(LEGACY_PREFIX)
            && purpose.reads_legacy()
        {
            (rest, b"")
        } else {
            return None;
        };
        let raw = URL_SAFE_NO_PAD.decode(raw).ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let cipher = XChaCha20Poly1305::new_from_slice(&self.enc).ok()?;
        cipher
            .decrypt(
                &XNonce::try_from(nonce).ok()?,
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }

    /// A new visitor id: 16 random bytes and 16 bytes of their MAC, base64url (43 characters).
    /// Only ids this server issued pass [`Keys::is_anonymous_id`], so a client can't mint
    /// fresh identities (and rate-limit buckets) for itself.
    pub fn new_anonymous_id(&self) -> String {
        let mut bytes = [0u8; 32];
        os_random(&mut bytes[..16]);
        let tag = self.mac_bytes(&[b"anonymous-id:".as_slice(), &bytes[..16]].concat());
        bytes[16..].copy_from_slice(&tag[..16]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn is_anonymous_id(&self, value: &str) -> bool {
        if value.len() != 43 {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(value) else {
            return false;
        };
        if bytes.len() != 32 {
            return false;
        }
        let tag = self.mac_bytes(&[b"anonymous-id:".as_slice(), &bytes[..16]].concat());
        bool::from(tag[..16].ct_eq(&bytes[16..]))
    }
}

/// The OWASP parameters for argon2id: 19 MiB, 2 passes, 1 lane, 32-byte output.
fn params() -> Params {
    Params::new(19_456, 2, 1, Some(32)).expect("valid argon2 parameters")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// Memory one argon2id run takes (the `m` parameter above, in bytes).
pub const HASH_MEMORY_BYTES: usize = 19_456 * 1024;
/// What concurrent hashing may use by default: with 19 MiB each, six at once.
const HASH_MEMORY_BUDGET_BYTES: usize = 128 * 1024 * 1024;

/// The default bound on concurrent hashes: one per core, within the memory budget.
pub fn default_hash_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.clamp(1, HASH_MEMORY_BUDGET_BYTES / HASH_MEMORY_BYTES)
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the whole wait: the caller should answer 503.
    #[error("password hashing is busy")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// The working memory of one argon2id run, kept and reused. Allocating 19 MiB per hash
/// fragments the heap: measured with 500 sign-ins at once, the process grew by about 2 MB per
/// hash and kept it (over 500 MB), whatever the bound on concurrent hashes.
type Memory = Box<[Block]>;

/// Password hashing with a bound. Each argon2id run takes 19 MiB and tens of milliseconds of a
/// core, so at most `concurrency` run at once (on the blocking pool, off the async runtime),
/// each in one of `concurrency` reusable memory areas; the rest wait in line up to `wait` and
/// are then refused. A flood of sign-ins costs bounded memory and threads instead of one hash
/// per request.
#[derive(Clone)]
pub struct Hashing {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    /// One area per permit, made on first use (an idle server doesn't hold them).
    memory: std::sync::Arc<std::sync::Mutex<Vec<Option<Memory>>>>,
    wait: std::time::Duration,
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashing")
            .field("available", &self.permits.available_permits())
            .field("wait", &self.wait)
            .finish()
    }
}

impl Hashing {
    pub fn new(concurrency: usize, wait: std::time::Duration) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency)),
            memory: std::sync::Arc::new(std::sync::Mutex::new(
                (0..concurrency).map(|_| None).collect(),
            )),
            wait,
        }
    }

    /// Takes one hashing slot until the returned permit is dropped: a drill (or a test) can fill
    /// the bound and watch sign-ins queue and be refused.
    pub async fn reserve(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// Runs `work` with a memory area on the blocking pool once a slot is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|e| HashError::Failed(e.into()))?;
        let areas = self.memory.clone();
        let span = tracing::Span::current();
        let out = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            // A permit stands for an area (as many of each); should one have been lost to a
            // panic, a new one is made.
            let taken = areas.lock().expect("hashing memory lock").pop().flatten();
            let mut area = taken.unwrap_or_else(|| {
                vec![Block::default(); params().block_count()].into_boxed_slice()
            });
            let out = work(&mut area);
            areas.lock().expect("hashing memory lock").push(Some(area));
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.into()))?;
        Ok(out)
    }

    /// A new argon2id PHC string for `password`, with a fresh 16-byte salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |memory| hash_with(memory, password.as_bytes()))
            .await?
            .map_err(HashError::Failed)
    }

    /// Whether `password` matches `stored`. With no stored hash (unknown account, or an
    /// account without a password) it still runs a full verification against a fixed hash, so
    /// the answer takes as long either way.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.run(move |memory| {
            let real = stored.is_some();
            let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            verify_with(memory, password.as_bytes(), &stored) && real
        })
        .await
    }
}

fn hash_with(memory: &mut [Block], password: &[u8]) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    os_random(&mut salt);
    let mut out = [0u8; 32];
    argon2()
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|e| anyhow::anyhow!("argon2: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Recomputes the hash of `password` with the stored salt and parameters (in `memory` when it
/// is large enough, as it is for every hash this server made) and compares in constant time.
fn verify_with(memory: &mut [Block], password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(phc.algorithm.as_str()),
        Params::try_from(&phc),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let done = match memory.get_mut(..blocks) {
        Some(area) => argon.hash_password_into_with_memory(password, salt, &mut out, area),
        // A hash made with more memory than ours (other parameters, long ago): its own area.
        None => argon.hash_password_into(password, salt, &mut out),
    };
    done.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut memory = vec![Block::default(); params().block_count()];
    hash_with(&mut memory, b"coachflux timing equaliser").expect("argon2 hashes a constant")
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
    fn sealing_round_trips_and_detects_tampering() {
        let k = Keys::from_secret(&"ab".repeat(32));
        let sealed = k.seal(Purpose::TotpSecret, b"JBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with("v2."));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            k.open(Purpose::TotpSecret, &sealed).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_ne!(
            k.seal(Purpose::TotpSecret, b"x"),
            k.seal(Purpose::TotpSecret, b"x"),
            "random nonces"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(k.open(Purpose::TotpSecret, &tampered).is_none());
        assert!(
            Keys::from_secret(&"cd".repeat(32))
                .open(Purpose::TotpSecret, &sealed)
                .is_none()
        );
        assert!(k.open(Purpose::TotpSecret, "plaintext").is_none());
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_purpose() {
        let k = Keys::from_secret(&"ab".repeat(32));
        let flow = k.seal(Purpose::OidcFlow, b"{}");
        assert!(k.open(Purpose::OidcFlow, &flow).is_some());
        for other in [
            Purpose::TotpSecret,
            Purpose::IdempotentResponse,
            Purpose::MailBody,
        ] {
            assert!(k.open(other, &flow).is_none(), "{other:?}");
        }
    }

    /// What `Keys` sealed before purposes were bound: no associated data, prefix `v1.`.
    fn legacy_seal(k: &Keys, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new_from_slice(&k.enc).unwrap();
        let nonce_bytes = [7u8; 24];
        let nonce = XNonce::try_from(&nonce_bytes[..]).unwrap();
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&cipher.encrypt(&nonce, plaintext).unwrap());
        format!("v1.{}", URL_SAFE_NO_PAD.encode(out))
    }

    #[test]
    fn values_sealed_before_purposes_open_only_where_they_were_stored() {
        let k = Keys::from_secret(&"ab".repeat(32));
        let old = legacy_seal(&k, b"JBSWY3DPEHPK3PXP");
        assert_eq!(
            k.open(Purpose::TotpSecret, &old).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
        assert!(k.open(Purpose::IdempotentResponse, &old).is_some());
        assert!(k.open(Purpose::OidcFlow, &old).is_none());
        assert!(k.open(Purpose::MailBody, &old).is_none());
    }

    #[test]
    fn only_issued_anonymous_ids_are_accepted() {
        let k = Keys::from_secret(&"ab".repeat(32));
        let id = k.new_anonymous_id();
        assert_eq!(id.len(), 43);
        assert!(k.is_anonymous_id(&id));
        assert_ne!(id, k.new_anonymous_id());
        // A well-formed id the server didn't issue, or one from another server's key.
        assert!(!k.is_anonymous_id(&random_token()));
        assert!(!Keys::from_secret(&"cd".repeat(32)).is_anonymous_id(&id));
        let mut forged = id.clone();
        forged.replace_range(0..1, if id.starts_with('A') { "B" } else { "A" });
        assert!(!k.is_anonymous_id(&forged));
        assert!(!k.is_anonymous_id("short"));
        assert!(!k.is_anonymous_id(&format!("{}!", &id[..42])));
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_owasp_parameters() {
        let h = Hashing::new(2, Duration::from_secs(30));
        let hash = h.hash("correct horse battery staple".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            h.verify("correct horse battery staple".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("correct horse battery stapl".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        // No truncation: a long password differing only at the end is a different password.
        let long = "x".repeat(127);
        let hashed = h.hash(format!("{long}a")).await.unwrap();
        assert!(!h.verify(format!("{long}b"), Some(hashed)).await.unwrap());
        assert!(!h.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        // What earlier versions stored: the crate's own PHC strings.
        let stored = argon2()
            .hash_password(b"an older passphrase")
            .unwrap()
            .to_string();
        let h = Hashing::new(1, Duration::from_secs(30));
        assert!(
            h.verify("an older passphrase".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("an older passphrasE".into(), Some(stored))
                .await
                .unwrap()
        );
        // And theirs verify ours.
        use argon2::password_hash::PasswordVerifier;
        let ours = h.hash("a newer passphrase".into()).await.unwrap();
        assert!(
            argon2()
                .verify_password(b"a newer passphrase", ours.as_str())
                .is_ok()
        );
        assert!(
            !h.verify("x".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashing_runs_at_most_its_bound_at_once_and_refuses_after_the_wait() {
        let h = Hashing::new(1, Duration::from_millis(50));
        // Hold the only slot, as a long hash would.
        let held = h.reserve().await;
        assert!(matches!(
            h.verify("pw".into(), None).await,
            Err(HashError::Busy)
        ));
        drop(held);
        assert!(!h.verify("pw".into(), None).await.unwrap());
        assert_eq!(h.permits.available_permits(), 1, "the slot is given back");
    }

    #[test]
    fn the_default_bound_fits_the_cores_and_the_memory_budget() {
        let n = default_hash_concurrency();
        assert!(n >= 1);
        assert!(n * HASH_MEMORY_BYTES <= HASH_MEMORY_BUDGET_BYTES);
    }
}
