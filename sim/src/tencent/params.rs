//! Typed reads of an API 3.0 JSON body, with Tencent's errors for missing, unknown and mistyped
//! parameters. A JSON `null` counts as absent, as in Tencent's SDKs.

use serde_json::{Map, Value};

use super::error::TcError;

/// The body of one call: a JSON object.
pub(crate) struct Params<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    /// The body must be a JSON object.
    pub(crate) fn new(body: &'a Value) -> Result<Self, TcError> {
        body.as_object().map(|map| Self { map }).ok_or_else(|| {
            TcError::new(
                "InvalidParameter",
                "The request body must be a JSON object.",
            )
        })
    }

    /// Reject any parameter not in `allowed` (`UnknownParameter`, as Tencent does).
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), TcError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(TcError::unknown_parameter(unknown)),
            None => Ok(()),
        }
    }

    /// The raw value, if present and not null.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// An optional string.
    pub(crate) fn str(&self, name: &str) -> Result<Option<&'a str>, TcError> {
        self.get(name)
            .map(|v| v.as_str().ok_or_else(|| TcError::parameter_type(name)))
            .transpose()
    }

    /// A required string.
    pub(crate) fn required_str(&self, name: &str) -> Result<&'a str, TcError> {
        self.str(name)?
            .ok_or_else(|| TcError::missing_parameter(name))
    }

    /// An optional array of strings.
    pub(crate) fn str_list(&self, name: &str) -> Result<Option<Vec<&'a str>>, TcError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| TcError::parameter_type(name))?;
        items
            .iter()
            .map(|item| item.as_str().ok_or_else(|| TcError::parameter_type(name)))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An optional non-negative integer, given as a JSON number or a decimal string (Tencent
    /// declares `Offset`/`Limit` of `DescribeVpcs` as strings; SDKs send either).
    pub(crate) fn uint(&self, name: &str) -> Result<Option<u64>, TcError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => return Err(TcError::parameter_type(name)),
        };
        parsed.map(Some).ok_or_else(|| {
            TcError::new(
                "InvalidParameterValue",
                format!("The value of parameter `{name}` is not a valid integer."),
            )
        })
    }

    /// An optional boolean, given as a JSON boolean or `"true"`/`"false"`.
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, TcError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "TRUE" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" || s == "FALSE" => Ok(Some(false)),
            Some(_) => Err(TcError::parameter_type(name)),
        }
    }
}
