//! Applies a `signing` scheme to an outgoing request, just before it is sent.

use time::OffsetDateTime;
use time::macros::format_description;
use url::Url;

use super::sign::{aliyun_rpc, cds, tc3};
use crate::bindings::signed_http::{JsonLogin, Signing, Tc3};
use crate::capabilities::credentials::CredentialEntry;

/// A request ready to be signed: the destination URL and the headers and body to send.
pub struct Prepared {
    /// Where it goes (after the operator's mapping).
    pub url: Url,
    /// HTTP method name (upper-case).
    pub method: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// Body to send.
    pub body: Vec<u8>,
}

impl Prepared {
    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Host` header the client will send (host, plus the port when it is not the default).
    fn host_header(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

/// Signs `req` in place. `now` is the signing time in Unix seconds; `nonce` is unique per call.
pub fn apply(
    signing: &Signing,
    credential: Option<&CredentialEntry>,
    req: &mut Prepared,
    now: i64,
    nonce: &str,
) -> Result<(), String> {
    let needs_credential = || {
        credential
            .ok_or_else(|| "this signing scheme needs a credential, and none was given".to_string())
    };
    match signing {
        Signing::None => Ok(()),
        Signing::Bearer => {
            let cred = needs_credential()?;
            req.headers.push((
                "authorization".into(),
                format!("Bearer {}", cred.secret.expose()),
            ));
            Ok(())
        }
        Signing::Tc3(params) => sign_tc3(params, needs_credential()?, req, now),
        Signing::AliyunRpc => sign_rpc(needs_credential()?, req, now, nonce, aliyun_rpc::sign),
        Signing::Cds => sign_rpc(needs_credential()?, req, now, nonce, cds::sign),
        Signing::JsonLogin(fields) => json_login(fields, needs_credential()?, req),
    }
}

/// Writes the credential's id and secret into the JSON object body as the named fields.
fn json_login(
    fields: &JsonLogin,
    cred: &CredentialEntry,
    req: &mut Prepared,
) -> Result<(), String> {
    if fields.user_field.is_empty() || fields.password_field.is_empty() {
        return Err("json-login needs non-empty field names".into());
    }
    let mut body = if req.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err("json-login needs a JSON object body (or an empty one)".into()),
        }
    };
    body.insert(fields.user_field.clone(), cred.id.clone().into());
    body.insert(
        fields.password_field.clone(),
        cred.secret.expose().to_string().into(),
    );
    req.body = serde_json::Value::Object(body).to_string().into_bytes();
    req.headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    req.headers
        .push(("content-type".into(), "application/json".into()));
    Ok(())
}

fn sign_tc3(
    params: &Tc3,
    cred: &CredentialEntry,
    req: &mut Prepared,
    now: i64,
) -> Result<(), String> {
    if !req.has_header("content-type") {
        req.headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ));
    }
    let content_type = req.header("content-type").unwrap_or_default().to_string();
    let host = req.host_header();
    let query = req.url.query().unwrap_or_default().to_string();
    let signature = tc3::sign(&tc3::Tc3Request {
        method: &req.method,
        canonical_uri: req.url.path(),
        canonical_query: &query,
        headers: &[("content-type", &content_type), ("host", &host)],
        payload: &req.body,
        service: &params.service,
        timestamp: now,
        secret_id: &cred.id,
        secret_key: cred.secret.expose(),
    });
    req.headers.extend([
        ("authorization".to_string(), signature.authorization),
        ("x-tc-action".to_string(), params.action.clone()),
        ("x-tc-version".to_string(), params.version.clone()),
        ("x-tc-timestamp".to_string(), now.to_string()),
    ]);
    if let Some(region) = &params.region {
        req.headers.push(("x-tc-region".into(), region.clone()));
    }
    Ok(())
}

/// Alibaba RPC and Capital Online: common parameters into the query, then the signature.
fn sign_rpc(
    cred: &CredentialEntry,
    req: &mut Prepared,
    now: i64,
    nonce: &str,
    sign: fn(&str, &[(String, String)], &str) -> String,
) -> Result<(), String> {
    let timestamp = OffsetDateTime::from_unix_timestamp(now)
        .map_err(|e| e.to_string())?
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .map_err(|e| e.to_string())?;
    let mut params: Vec<(String, String)> = req
        .url
        .query_pairs()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut set_default = |key: &str, value: String| {
        if !params.iter().any(|(k, _)| k == key) {
            params.push((key.to_string(), value));
        }
    };
    set_default("Format", "JSON".into());
    set_default("SignatureMethod", "HMAC-SHA1".into());
    set_default("SignatureVersion", "1.0".into());
    set_default("SignatureNonce", nonce.to_string());
    set_default("Timestamp", timestamp);
    params.retain(|(k, _)| k != "AccessKeyId");
    params.push(("AccessKeyId".into(), cred.id.clone()));
    let signature = sign(&req.method, &params, cred.secret.expose());
    params.push(("Signature".into(), signature));
    let query = aliyun_rpc::canonical_query(&params);
    req.url.set_query(Some(&query));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::credentials::Secret;

    fn cred() -> CredentialEntry {
        CredentialEntry {
            id: "testid".into(),
            secret: Secret::new("testsecret"),
            clear_text: crate::capabilities::credentials::ClearText::Anywhere,
        }
    }

    fn prepared(url: &str, method: &str) -> Prepared {
        Prepared {
            url: Url::parse(url).unwrap(),
            method: method.into(),
            headers: vec![],
            body: br#"{"VpcName":"a"}"#.to_vec(),
        }
    }

    #[test]
    fn tc3_adds_the_tencent_headers_and_a_verifiable_authorization() {
        let mut req = prepared("http://127.0.0.1:9000/", "POST");
        let params = Tc3 {
            service: "vpc".into(),
            action: "CreateVpc".into(),
            version: "2017-03-12".into(),
            region: Some("ap-shanghai".into()),
        };
        apply(
            &Signing::Tc3(params),
            Some(&cred()),
            &mut req,
            1_551_113_065,
            "n",
        )
        .unwrap();
        let auth = req.header("authorization").unwrap().to_string();
        assert!(auth.starts_with("TC3-HMAC-SHA256 Credential=testid/2019-02-25/vpc/tc3_request, SignedHeaders=content-type;host, Signature="), "{auth}");
        let expected = tc3::sign(&tc3::Tc3Request {
            method: "POST",
            canonical_uri: "/",
            canonical_query: "",
            headers: &[
                ("content-type", "application/json; charset=utf-8"),
                ("host", "127.0.0.1:9000"),
            ],
            payload: &req.body,
            service: "vpc",
            timestamp: 1_551_113_065,
            secret_id: "testid",
            secret_key: "testsecret",
        });
        assert_eq!(auth, expected.authorization);
        assert_eq!(req.header("x-tc-action"), Some("CreateVpc"));
        assert_eq!(req.header("x-tc-region"), Some("ap-shanghai"));
        assert_eq!(req.header("x-tc-timestamp"), Some("1551113065"));
    }

    #[test]
    fn rpc_signing_reproduces_the_documented_aliyun_example() {
        // The DescribeRegions example of sign_vectors.json, built the way a plugin would.
        let mut req = prepared(
            "https://ecs.aliyuncs.com/?Action=DescribeRegions&Version=2014-05-26&Format=XML",
            "GET",
        );
        apply(
            &Signing::AliyunRpc,
            Some(&cred()),
            &mut req,
            1_456_231_584, // 2016-02-23T12:46:24Z
            "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        )
        .unwrap();
        let query = req.url.query().unwrap();
        assert!(
            query.contains("Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D"),
            "{query}"
        );
        assert!(query.contains("AccessKeyId=testid"));
    }

    #[test]
    fn signing_without_a_credential_is_an_error_not_a_panic() {
        let mut req = prepared("https://x/", "GET");
        assert!(apply(&Signing::Bearer, None, &mut req, 0, "n").is_err());
        assert!(apply(&Signing::None, None, &mut req, 0, "n").is_ok());
    }

    fn login() -> Signing {
        Signing::JsonLogin(JsonLogin {
            user_field: "username".into(),
            password_field: "password".into(),
        })
    }

    #[test]
    fn json_login_writes_id_and_secret_into_the_body() {
        let mut req = prepared("https://x/user/login", "POST");
        req.body = br#"{"username":"spoofed","keep":1}"#.to_vec();
        req.headers
            .push(("Content-Type".into(), "text/plain".into()));
        apply(&login(), Some(&cred()), &mut req, 0, "n").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"username": "testid", "password": "testsecret", "keep": 1})
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.headers.len(), 1, "one content-type only");
    }

    #[test]
    fn json_login_accepts_an_empty_body_and_refuses_a_non_object() {
        let mut req = prepared("https://x/", "POST");
        req.body.clear();
        apply(&login(), Some(&cred()), &mut req, 0, "n").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["password"], "testsecret");
        let mut req = prepared("https://x/", "POST");
        req.body = b"[1]".to_vec();
        let err = apply(&login(), Some(&cred()), &mut req, 0, "n").unwrap_err();
        assert!(err.contains("JSON object"), "{err}");
        assert!(apply(&login(), None, &mut prepared("https://x/", "POST"), 0, "n").is_err());
    }

    #[test]
    fn bearer_sends_the_secret_as_token() {
        let mut req = prepared("https://x/", "GET");
        apply(&Signing::Bearer, Some(&cred()), &mut req, 0, "n").unwrap();
        assert_eq!(req.header("authorization"), Some("Bearer testsecret"));
    }
}
