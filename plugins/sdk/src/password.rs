//! The WeCube password cipher and generator (same algorithm as the qcloud and alicloud plugins).
//!
//! Key: the first 16 characters of the lower-case hex `md5(guid + seed)`, used as ASCII bytes;
//! the IV equals the key. AES-128-CBC with PKCS#7 padding; the ciphertext is written as
//! lower-case hex behind the [`CIPHER_PREFIX`] marker.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use md5::{Digest, Md5};

type Encryptor = cbc::Encryptor<aes::Aes128>;
type Decryptor = cbc::Decryptor<aes::Aes128>;

/// Marker in front of every encrypted password (`{cipher_a}` + hex).
pub const CIPHER_PREFIX: &str = "{cipher_a}";

/// Length of a generated password: 8 letters then 4 digits.
pub const GENERATED_LEN: usize = 12;

/// Why a password could not be decrypted or generated. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// The ciphertext is not hex, or not a whole number of AES blocks.
    Malformed,
    /// Padding or UTF-8 check failed: wrong guid or seed, or a corrupted value.
    WrongKey,
    /// The random source failed.
    Random(String),
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::Malformed => {
                f.write_str("encrypted password is not valid hex ciphertext")
            }
            PasswordError::WrongKey => {
                f.write_str("encrypted password does not decrypt with this guid and seed")
            }
            PasswordError::Random(why) => write!(f, "random source failed: {why}"),
        }
    }
}

impl std::error::Error for PasswordError {}

fn key(guid: &str, seed: &str) -> [u8; 16] {
    let digest = Md5::new()
        .chain_update(guid.as_bytes())
        .chain_update(seed.as_bytes())
        .finalize();
    let hex = hex::encode(digest);
    let mut key = [0u8; 16];
    key.copy_from_slice(&hex.as_bytes()[..16]);
    key
}

/// Encrypt `password` for the resource `guid` with `seed`: `{cipher_a}` + hex. A value that
/// already starts with `{cipher_a}` is returned unchanged.
pub fn encrypt(guid: &str, seed: &str, password: &str) -> String {
    if password.starts_with(CIPHER_PREFIX) {
        return password.to_owned();
    }
    let key = key(guid, seed);
    let cipher = Encryptor::new(&key.into(), &key.into())
        .encrypt_padded_vec_mut::<Pkcs7>(password.as_bytes());
    format!("{CIPHER_PREFIX}{}", hex::encode(cipher))
}

/// Decrypt a value made by [`encrypt`]. A value without the `{cipher_a}` prefix is plaintext and
/// returned unchanged.
pub fn decrypt(guid: &str, seed: &str, value: &str) -> Result<String, PasswordError> {
    let Some(hex_text) = value.strip_prefix(CIPHER_PREFIX) else {
        return Ok(value.to_owned());
    };
    let cipher = hex::decode(hex_text).map_err(|_| PasswordError::Malformed)?;
    if cipher.is_empty() || cipher.len() % 16 != 0 {
        return Err(PasswordError::Malformed);
    }
    let key = key(guid, seed);
    let plain = Decryptor::new(&key.into(), &key.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&cipher)
        .map_err(|_| PasswordError::WrongKey)?;
    String::from_utf8(plain).map_err(|_| PasswordError::WrongKey)
}

/// A fresh random password: 8 ASCII letters, at least one lower-case and one upper-case,
/// followed by 4 digits (the qcloud format). It always has three character classes, as Tencent's
/// rule for instance passwords requires (8–30 characters, at least three of lower, upper, digit,
/// special). Uses the platform's random source (WASI `random` inside the sandbox).
pub fn generate() -> Result<String, PasswordError> {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"0123456789";
    loop {
        let mut password = String::with_capacity(GENERATED_LEN);
        for alphabet in [LETTERS; 8].into_iter().chain([DIGITS; 4]) {
            password.push(pick(alphabet)?);
        }
        // Rejection (about 1 draw in 128) keeps the letters uniform over the accepted set.
        if password.bytes().any(|b| b.is_ascii_lowercase())
            && password.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Ok(password);
        }
    }
}

/// One uniformly chosen byte of `alphabet` (rejection sampling, no modulo bias).
fn pick(alphabet: &[u8]) -> Result<char, PasswordError> {
    let n = alphabet.len();
    let limit = 256 - 256 % n;
    loop {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(|e| PasswordError::Random(e.to_string()))?;
        let b = usize::from(byte[0]);
        if b < limit {
            return Ok(char::from(alphabet[b % n]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with: key=$(printf '0001_0000000011wecube-seed' | md5sum | cut -c1-16)
    // (eeb1833e8a467f7d); printf 'Abcdefgh1234' | openssl enc -aes-128-cbc -K <hex key> -iv <hex key>
    const GUID: &str = "0001_0000000011";
    const SEED: &str = "wecube-seed";
    const VECTOR: &str = "{cipher_a}3e2118479597ee6e615138f22b3fc57a";
    const LONG: &str = "a-much-longer-password-of-40-characters!";
    const LONG_VECTOR: &str = "{cipher_a}5840155fd0137ba6b0c5a1021a7315ef2ceceea4bb76a2e0809ecd0c38e80990f9957f81df127fa5b96d3674c2bc02bd";

    #[test]
    fn encryption_matches_the_openssl_vector() {
        assert_eq!(&key(GUID, SEED), b"eeb1833e8a467f7d");
        assert_eq!(encrypt(GUID, SEED, "Abcdefgh1234"), VECTOR);
        assert_eq!(encrypt(GUID, SEED, LONG), LONG_VECTOR);
    }

    #[test]
    fn decrypt_reverses_the_vectors_and_round_trips() {
        assert_eq!(decrypt(GUID, SEED, VECTOR).unwrap(), "Abcdefgh1234");
        assert_eq!(decrypt(GUID, SEED, LONG_VECTOR).unwrap(), LONG);
        for password in ["", "x", "exactly16bytes!!", "密码-unicode"] {
            let encrypted = encrypt("g", "s", password);
            assert_eq!(decrypt("g", "s", &encrypted).unwrap(), password);
        }
    }

    #[test]
    fn an_already_encrypted_value_passes_through_and_plaintext_decrypts_to_itself() {
        assert_eq!(encrypt("other", "other", VECTOR), VECTOR);
        assert_eq!(decrypt(GUID, SEED, "plain-text").unwrap(), "plain-text");
    }

    #[test]
    fn bad_ciphertexts_and_wrong_keys_are_errors() {
        assert_eq!(
            decrypt(GUID, SEED, "{cipher_a}zz"),
            Err(PasswordError::Malformed)
        );
        assert_eq!(
            decrypt(GUID, SEED, "{cipher_a}abcd"),
            Err(PasswordError::Malformed)
        );
        assert_eq!(
            decrypt(GUID, SEED, "{cipher_a}"),
            Err(PasswordError::Malformed)
        );
        // A wrong seed almost always breaks the padding; it must never yield the password.
        assert_ne!(
            decrypt(GUID, "wrong", VECTOR).ok().as_deref(),
            Some("Abcdefgh1234")
        );
    }

    #[test]
    fn generated_passwords_are_eight_letters_of_both_cases_then_four_digits() {
        for _ in 0..500 {
            let a = generate().unwrap();
            assert_eq!(a.len(), GENERATED_LEN);
            assert!(a[..8].bytes().all(|b| b.is_ascii_alphabetic()), "{a}");
            assert!(a[..8].bytes().any(|b| b.is_ascii_lowercase()), "{a}");
            assert!(a[..8].bytes().any(|b| b.is_ascii_uppercase()), "{a}");
            assert!(a[8..].bytes().all(|b| b.is_ascii_digit()), "{a}");
        }
        assert_ne!(generate().unwrap(), generate().unwrap());
    }
}
