//! A request's parameters as one JSON object, whether they came in the query (GET) or the body
//! (POST), so validation and corrections work the same on both.

use serde_json::{Map, Value};

use crate::Failure;

/// Parameters by name.
pub type Params = Map<String, Value>;

/// Decodes a query string (`a=1&b=x%20y`) into string parameters; a repeated name keeps the
/// last value.
pub fn from_query(query: &str) -> Params {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), Value::String(decode(v)))
        })
        .collect()
}

/// A JSON object body (an empty body is `{}`); anything else is `param_invalid`.
pub fn from_body(body: &[u8]) -> Result<Params, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Params::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::invalid("the body must be a JSON object")),
        Err(e) => Err(Failure::invalid(&format!(
            "the body is not valid JSON ({e})"
        ))),
    }
}

/// Encodes string, number and boolean parameters as a query string (others are skipped:
/// BridgX's GET routes take scalars only).
pub fn to_query(params: &Params) -> Vec<(String, String)> {
    params
        .iter()
        .filter_map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), v))
        })
        .collect()
}

/// Whether `name` is present and not empty (an empty string or `null` counts as missing, as
/// Go's `binding:"required"` treats zero values).
pub fn present(params: &Params, name: &str) -> bool {
    match params.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_decode_and_encode() {
        let p = from_query("provider=AlibabaCloud&vpc_name=a%20b+c&empty=&x=%zz");
        assert_eq!(p["vpc_name"], "a b c");
        assert_eq!(p["x"], "%zz");
        assert!(!present(&p, "empty"));
        assert!(present(&p, "provider"));
        let q = to_query(
            &json!({"a": "1", "n": 2, "o": {}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(q, vec![("a".into(), "1".into()), ("n".into(), "2".into())]);
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(from_body(b"").unwrap().is_empty());
        assert!(from_body(b"[1]").is_err());
        assert!(from_body(b"{").is_err());
        assert_eq!(from_body(br#"{"a":1}"#).unwrap()["a"], 1);
    }
}
