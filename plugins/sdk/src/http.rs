//! HTTP helpers: building outgoing requests, sending them, and building responses.

use crate::{
    Credential, Header, HttpError, IncomingResponse, Method, OutgoingRequest, Response, Signing,
};

/// `content-type` of every JSON response the helpers build.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Builder for an [`OutgoingRequest`]: `RequestBuilder::new(Method::Post, url).json(&v).build()`.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    request: OutgoingRequest,
}

impl RequestBuilder {
    /// Start a request with `method` to the absolute `url` (its host must be declared).
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            request: OutgoingRequest {
                method,
                url: url.into(),
                query: Vec::new(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
            },
        }
    }

    /// Append a query parameter (signed by `aliyun-rpc` and `cds` signing).
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.query.push((key.into(), value.into()));
        self
    }

    /// Append a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push(Header {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Set the raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.request.body = body.into();
        self
    }

    /// Set a JSON body and `content-type: application/json; charset=utf-8`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json; charset=utf-8")
            .body(value.to_string())
    }

    /// Set the per-call timeout (the host caps it at the operator's maximum).
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.request.timeout_ms = Some(ms);
        self
    }

    /// The finished request.
    pub fn build(self) -> OutgoingRequest {
        self.request
    }
}

/// Sign and send `request` through the host. `credential` is required unless `signing` is
/// [`Signing::None`].
pub fn send(
    request: &OutgoingRequest,
    signing: &Signing,
    credential: Option<&Credential>,
) -> Result<IncomingResponse, HttpError> {
    crate::bindings::cloud_broker::plugin::signed_http::send(request, signing, credential)
}

/// A readable one-line description of an [`HttpError`] (the generated `Display` is `Debug`).
pub fn describe_http_error(error: &HttpError) -> String {
    match error {
        HttpError::Denied(why) => format!("egress denied: {why}"),
        HttpError::InvalidRequest(why) => format!("invalid request: {why}"),
        HttpError::Timeout => "upstream timed out".to_owned(),
        HttpError::ResponseTooLarge(cap) => {
            format!("upstream response larger than the {cap}-byte cap")
        }
        HttpError::Transport(why) => format!("transport error: {why}"),
        HttpError::BudgetExhausted => "host call budget exhausted".to_owned(),
    }
}

/// The upper-case name of `method`, e.g. `POST`.
pub fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
    }
}

/// The first header called `name` (compared case-insensitively).
pub fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// A response with `status`, the given `content-type` and body.
pub fn response(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
    Response {
        status,
        headers: vec![Header {
            name: "content-type".to_owned(),
            value: content_type.to_owned(),
        }],
        body: body.into(),
    }
}

/// A JSON response: `status` and `value` serialised, `content-type: application/json`.
pub fn json_response(status: u16, value: &serde_json::Value) -> Response {
    response(status, JSON_CONTENT_TYPE, value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_response_sets_status_content_type_and_body() {
        let r = json_response(201, &serde_json::json!({"a": "b"}));
        assert_eq!(r.status, 201);
        assert_eq!(header(&r.headers, "Content-Type"), Some(JSON_CONTENT_TYPE));
        assert_eq!(r.body, br#"{"a":"b"}"#);
    }

    #[test]
    fn builder_collects_query_headers_body_and_timeout() {
        let r = RequestBuilder::new(Method::Post, "https://x.example/")
            .query("a", "1")
            .json(&serde_json::json!({}))
            .timeout_ms(5)
            .build();
        assert_eq!(r.query, vec![("a".to_owned(), "1".to_owned())]);
        assert_eq!(
            header(&r.headers, "content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.body, b"{}");
        assert_eq!(r.timeout_ms, Some(5));
    }
}
