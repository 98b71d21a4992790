//! Secrets at rest: the AES-256-GCM key, the redacting [`Secret`] type, seal and open.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;

use crate::{Result, StoreError};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// The 256-bit key that encrypts account secrets; without it stored secrets are unreadable.
///
/// Keep it outside the database (a key file in the data directory, or an env var) so that a copy
/// of the database alone does not reveal secrets. `Debug` does not print it.
#[derive(Clone)]
pub struct SecretsKey([u8; KEY_LEN]);

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(***)")
    }
}

impl SecretsKey {
    /// A keyed fingerprint of `parts` (HMAC-SHA256 under this key, separated by `domain`), in
    /// hex. Lets brokers sharing the key compare requests that may carry inline secrets
    /// without storing anything a guessed secret could be checked against.
    pub fn fingerprint(&self, domain: &str, parts: &[&[u8]]) -> String {
        use hmac::digest::KeyInit;
        use hmac::{Hmac, Mac};
        // HMAC zero-pads a key shorter than the hash's 64-byte block: the same MAC as keying
        // with the 32 bytes, with no fallible constructor.
        let mut block = [0u8; 64];
        block[..KEY_LEN].copy_from_slice(&self.0);
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new(&block.into());
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            // Length-prefixed, so no two different lists of parts hash alike.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Wraps raw key bytes, e.g. from a KMS or a test.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SecretsKey(bytes)
    }

    /// A fresh random key (thread-local CSPRNG seeded from the OS).
    pub fn generate() -> Self {
        SecretsKey(rand::random())
    }

    /// Decodes a key given as base64 (standard or URL-safe, padding optional), for an env var or
    /// config value.
    pub fn from_base64(text: &str) -> Result<Self> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| StoreError::Crypto("secrets key is not valid base64".into()))?;
        let bytes: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            StoreError::Crypto(format!(
                "secrets key must decode to {KEY_LEN} bytes, got {}",
                bytes.len()
            ))
        })?;
        Ok(SecretsKey(bytes))
    }

    /// The key as standard base64, to hand to [`SecretsKey::from_base64`] elsewhere (e.g. CI).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Reads the raw 32-byte key file at `path`, or creates it with a random key (mode 0600 on
    /// Unix) if it does not exist, so a first start needs no setup.
    ///
    /// A file of any other size is refused rather than "fixed": replacing it would make every
    /// stored secret unreadable.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        let shown = path.display();
        match std::fs::File::open(path) {
            Ok(mut file) => {
                let mut bytes = Vec::with_capacity(KEY_LEN);
                file.read_to_end(&mut bytes).map_err(|e| {
                    StoreError::Crypto(format!("cannot read secrets key file {shown}: {e}"))
                })?;
                let bytes: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    StoreError::Crypto(format!(
                        "secrets key file {shown} has {} bytes, expected exactly {KEY_LEN}; \
                         refusing to use or overwrite it (restore the original key file)",
                        bytes.len()
                    ))
                })?;
                Ok(SecretsKey(bytes))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let key = SecretsKey::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let created = options.open(path).and_then(|mut file| {
                    file.write_all(&key.0)?;
                    file.sync_all()
                });
                match created {
                    Ok(()) => Ok(key),
                    // Another process created it between our open and create: use theirs.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::load_or_create(path),
                    Err(e) => Err(StoreError::Crypto(format!(
                        "cannot create secrets key file {shown}: {e}"
                    ))),
                }
            }
            Err(e) => Err(StoreError::Crypto(format!(
                "cannot open secrets key file {shown}: {e}"
            ))),
        }
    }

    /// Encrypts `plain` with a fresh random nonce; returns `nonce || ciphertext`.
    pub(crate) fn seal(&self, aad: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto("encryption failed".into()))?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Decrypts a `nonce || ciphertext` blob sealed for the same `aad`.
    pub(crate) fn open(&self, aad: &str, blob: &[u8]) -> Result<Vec<u8>> {
        let failed = || {
            StoreError::Crypto(format!(
                "cannot decrypt the secret of account {aad}: wrong secrets key, or the stored \
                 value was tampered with or copied from another account"
            ))
        };
        if blob.len() < NONCE_LEN {
            return Err(failed());
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| failed())
    }
}

/// An account secret (cloud secret key, BridgX password) in plain text, in memory only.
///
/// `Debug` prints `***` and there is no `Display`, so a secret cannot slip into a log line by
/// formatting a struct that holds it; call [`Secret::expose`] exactly where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a plain-text secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The plain text, for the signer; do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_the_same_aad() {
        let key = SecretsKey::generate();
        let blob = key.seal("t/p/a", b"hunter2").unwrap();
        assert_eq!(key.open("t/p/a", &blob).unwrap(), b"hunter2");
        assert!(key.open("t/p/b", &blob).is_err());
    }

    #[test]
    fn two_seals_of_one_secret_use_different_nonces() {
        let key = SecretsKey::generate();
        assert_ne!(key.seal("a", b"x").unwrap(), key.seal("a", b"x").unwrap());
    }

    #[test]
    fn a_fingerprint_depends_on_the_key_the_domain_and_each_part() {
        let (key, other) = (SecretsKey::generate(), SecretsKey::generate());
        let print = key.fingerprint("d", &[b"ab", b"c"]);
        assert_eq!(print, key.fingerprint("d", &[b"ab", b"c"]));
        assert_ne!(print, other.fingerprint("d", &[b"ab", b"c"]));
        assert_ne!(print, key.fingerprint("e", &[b"ab", b"c"]));
        assert_ne!(print, key.fingerprint("d", &[b"a", b"bc"]));
        // HMAC-SHA256 (RFC 4231 test case 2's construction, with a 32-byte key here).
        use hmac::{Hmac, Mac};
        let mut reference = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        for part in [&b"d"[..], b"x"] {
            reference.update(&(part.len() as u64).to_be_bytes());
            reference.update(part);
        }
        assert_eq!(
            SecretsKey::from_bytes([7u8; 32]).fingerprint("d", &[b"x"]),
            hex::encode(reference.finalize().into_bytes())
        );
    }

    #[test]
    fn a_truncated_blob_is_a_crypto_error_not_a_panic() {
        let key = SecretsKey::generate();
        assert!(matches!(
            key.open("a", b"short"),
            Err(StoreError::Crypto(_))
        ));
    }
}
