//! The parameters of one action: the JSON body of a POST action or the query of a GET action
//! (where every value is a string, lists are comma-separated).

use serde_json::{Map, Value};

use super::error::CdsError;

/// An action's parameters, read with the API's validation errors.
pub struct Params(pub Map<String, Value>);

impl Params {
    /// The raw value of the first present spelling of `names`.
    pub fn get(&self, names: &[&str]) -> Option<&Value> {
        names
            .iter()
            .find_map(|n| self.0.get(*n))
            .filter(|v| !v.is_null())
    }

    /// A string (a number is read as its text); absent or empty is `None`.
    pub fn opt_str(&self, name: &str) -> Option<String> {
        self.opt_str_any(&[name])
    }

    /// [`Params::opt_str`] over alternative spellings (`PrivateId`/`PrivateID`).
    pub fn opt_str_any(&self, names: &[&str]) -> Option<String> {
        match self.get(names)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A required string.
    pub fn str(&self, name: &str) -> Result<String, CdsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(CdsError::missing_parameter(name)),
            Some(_) => self
                .opt_str(name)
                .ok_or_else(|| CdsError::invalid_parameter_value(name)),
        }
    }

    /// An optional whole number (a JSON number or its text).
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, CdsError> {
        match self.get(&[name]) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| CdsError::invalid_parameter_value(name)),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| CdsError::invalid_parameter_value(name)),
            Some(_) => Err(CdsError::invalid_parameter_value(name)),
        }
    }

    /// A required whole number.
    pub fn u64(&self, name: &str) -> Result<u64, CdsError> {
        self.opt_u64(name)?
            .ok_or_else(|| CdsError::missing_parameter(name))
    }

    /// A list of strings: a JSON array, a JSON array in text, or comma-separated text.
    pub fn str_list(&self, name: &str) -> Result<Vec<String>, CdsError> {
        let bad = || CdsError::invalid_parameter_value(name);
        match self.get(&[name]) {
            None => Err(CdsError::missing_parameter(name)),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
                .collect(),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                let parsed: Vec<String> = serde_json::from_str(s).map_err(|_| bad())?;
                Ok(parsed)
            }
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()),
            Some(_) => Err(bad()),
        }
    }

    /// A list of objects (a JSON array, or its text); absent is empty.
    pub fn objects(&self, name: &str) -> Result<Vec<Map<String, Value>>, CdsError> {
        let bad = || CdsError::invalid_parameter_value(name);
        let value = match self.get(&[name]) {
            None => return Ok(Vec::new()),
            Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
            Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| bad())?,
            Some(v) => v.clone(),
        };
        match value {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(o) => Ok(o),
                    _ => Err(bad()),
                })
                .collect(),
            _ => Err(bad()),
        }
    }

    /// An optional object (or its text).
    pub fn object(&self, name: &str) -> Result<Option<Params>, CdsError> {
        match self.get(&[name]) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::Object(o)) => Ok(Some(Params(o.clone()))),
            Some(Value::String(s)) => match serde_json::from_str(s) {
                Ok(Value::Object(o)) => Ok(Some(Params(o))),
                _ => Err(CdsError::invalid_parameter_value(name)),
            },
            Some(_) => Err(CdsError::invalid_parameter_value(name)),
        }
    }
}
