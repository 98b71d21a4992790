//! A tiny TC3-HMAC-SHA256 client, written apart from `broker_sim::tencent::verify` so the tests
//! do not check the simulator against itself.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Signs with the style of Tencent's current SDKs: `content-type;host;x-tc-action`.
pub const SIGNED_HEADERS: &str = "content-type;host;x-tc-action";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// One API call to send.
#[derive(Clone)]
pub struct Call {
    pub secret_id: String,
    pub secret_key: String,
    pub service: String,
    pub action: String,
    pub version: Option<String>,
    pub region: Option<String>,
    /// The body that is signed.
    pub body: String,
    /// The body that is sent, when a test wants it to differ from the signed one.
    pub sent_body: Option<String>,
    pub timestamp: i64,
}

impl Call {
    /// A `vpc` call in `ap-guangzhou` with the second demo key pair, signed now.
    pub fn vpc(action: &str, body: Value) -> Self {
        let (id, key) = broker_sim::DEMO_CREDENTIALS[1];
        Call {
            secret_id: id.into(),
            secret_key: key.into(),
            service: "vpc".into(),
            action: action.into(),
            version: Some("2017-03-12".into()),
            region: Some("ap-guangzhou".into()),
            body: body.to_string(),
            sent_body: None,
            timestamp: time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// The `Authorization` header for this call sent to `host`.
    pub fn authorization(&self, host: &str) -> String {
        let date = time::OffsetDateTime::from_unix_timestamp(self.timestamp)
            .unwrap()
            .date()
            .to_string();
        let canonical = format!(
            "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{}\n\n{SIGNED_HEADERS}\n{}",
            self.action.to_lowercase(),
            sha_hex(&self.body)
        );
        let scope = format!("{date}/{}/tc3_request", self.service);
        let to_sign = format!(
            "TC3-HMAC-SHA256\n{}\n{scope}\n{}",
            self.timestamp,
            sha_hex(&canonical)
        );
        let key = hmac(
            &hmac(
                &hmac(format!("TC3{}", self.secret_key).as_bytes(), &date),
                &self.service,
            ),
            "tc3_request",
        );
        let signature = hex::encode(hmac(&key, &to_sign));
        format!(
            "TC3-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            self.secret_id
        )
    }

    /// The request, ready to send to the simulator at `base` (`http://127.0.0.1:PORT`).
    pub fn request(&self, http: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
        let host = base.trim_start_matches("http://");
        let mut request = http
            .post(format!("{base}/"))
            .header("content-type", CONTENT_TYPE)
            .header("authorization", self.authorization(host))
            .header("x-tc-action", &self.action)
            .header("x-tc-timestamp", self.timestamp.to_string());
        if let Some(version) = &self.version {
            request = request.header("x-tc-version", version);
        }
        if let Some(region) = &self.region {
            request = request.header("x-tc-region", region);
        }
        request.body(self.sent_body.clone().unwrap_or_else(|| self.body.clone()))
    }

    /// Send and return `Response` from the JSON answer (which must be HTTP 200).
    pub async fn send(&self, base: &str) -> Value {
        let answer = self
            .request(&reqwest::Client::new(), base)
            .send()
            .await
            .expect("simulator answers");
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.expect("JSON answer");
        let response = body["Response"].clone();
        assert!(
            response["RequestId"]
                .as_str()
                .is_some_and(|id| id.len() == 36),
            "RequestId in {body}"
        );
        response
    }
}

/// The error code of a `Response`, if it is an error.
pub fn error_code(response: &Value) -> Option<&str> {
    response["Error"]["Code"].as_str()
}
