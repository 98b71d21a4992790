//! BridgX's session tokens: HS256 JWTs with the claims BridgX issues (`user_id`, `name`,
//! `user_type`, `org_id`, `nbf`, `exp`), checked the way its `CheckTokenAuth` middleware does.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The claims of a valid token that the handlers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The user's name.
    pub name: String,
    /// The organisation whose cloud accounts and clusters the user sees.
    pub org_id: u64,
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A token for `claims` valid from `now_secs` for `lifetime_secs`, signed with `key`.
pub fn issue(
    key: &[u8],
    claims: &Claims,
    user_id: u64,
    now_secs: u64,
    lifetime_secs: u64,
) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = json!({
        "user_id": user_id,
        "name": claims.name,
        "user_type": 1,
        "org_id": claims.org_id,
        "nbf": now_secs,
        "exp": now_secs + lifetime_secs,
    });
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(key, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// The claims of `token` if its signature is `key`'s and it is valid at `now_secs`.
pub fn verify(key: &[u8], token: &str, now_secs: u64) -> Option<Claims> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut check = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    check.update(signing_input.as_bytes());
    check.verify_slice(&signature).ok()?;
    let (_, payload) = signing_input.split_once('.')?;
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let nbf = payload["nbf"].as_u64()?;
    let exp = payload["exp"].as_u64()?;
    if now_secs < nbf || now_secs >= exp {
        return None;
    }
    Some(Claims {
        name: payload["name"].as_str()?.to_owned(),
        org_id: payload["org_id"].as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_only_under_their_key() {
        let claims = Claims {
            name: "root".into(),
            org_id: 1,
        };
        let token = issue(b"bridgx", &claims, 1, 1000, 60);
        assert_eq!(verify(b"bridgx", &token, 1000), Some(claims.clone()));
        assert_eq!(verify(b"bridgx", &token, 1059), Some(claims));
        assert_eq!(verify(b"bridgx", &token, 1060), None, "expired");
        assert_eq!(verify(b"other", &token, 1000), None, "other key");
        assert_eq!(verify(b"bridgx", "not.a.token", 1000), None);
    }
}
