//! WeCube `key=value;...` parameter strings: qcloud's `provider_params`
//! (`Region=ap-shanghai;AvailableZone=ap-shanghai-1;SecretID=...;SecretKey=...`) and alicloud's
//! `identityParams` (`accessKeyId=...;secret=...`) / `cloudParams` (`regionId=...`).
//!
//! Errors name the entry position or the key, never a value: values may be secrets.

use std::fmt;

use crate::Credential;

/// Why a `provider_params` string was rejected or lacks a key. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError(String);

impl ParamsError {
    /// The message, e.g. ``provider_params is missing `SecretKey` ``.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamsError {}

/// A parsed `key=value;key=value` string, in its original order.
///
/// Its `Debug` output lists the keys only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ProviderParams {
    entries: Vec<(String, String)>,
    /// The field the string came from, named in errors (`provider_params`, `identityParams`).
    label: String,
}

impl fmt::Debug for ProviderParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderParams")
            .field(
                "keys",
                &self.entries.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ProviderParams {
    /// Parse: split on `;`, trim each entry, split it on the first `=` (so a value may contain
    /// `=`), trim key and value. One trailing empty entry (`a=1;`) is allowed; any other
    /// empty entry, an entry without `=`, an empty key or a repeated key is an error.
    pub fn parse(text: &str) -> Result<Self, ParamsError> {
        Self::parse_labeled(text, "provider_params")
    }

    /// [`ProviderParams::parse`] for a string from the field `label` (e.g. `identityParams`),
    /// which errors name.
    pub fn parse_labeled(text: &str, label: &str) -> Result<Self, ParamsError> {
        let mut entries: Vec<(String, String)> = Vec::new();
        let parts: Vec<&str> = text.split(';').collect();
        let last = parts.len() - 1;
        for (index, part) in parts.iter().enumerate() {
            let position = index + 1;
            let part = part.trim();
            if part.is_empty() {
                if index == last {
                    continue;
                }
                return Err(ParamsError(format!("{label} entry {position} is empty")));
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(ParamsError(format!(
                    "{label} entry {position} is not of the form key=value"
                )));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                return Err(ParamsError(format!(
                    "{label} entry {position} has an empty key"
                )));
            }
            if entries.iter().any(|(k, _)| k == key) {
                return Err(ParamsError(format!(
                    "{label} entry {position} repeats the key `{key}`"
                )));
            }
            entries.push((key.to_owned(), value.to_owned()));
        }
        Ok(Self {
            entries,
            label: label.to_owned(),
        })
    }

    /// The value of `key` (case-sensitive), if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`; absent or empty is the error ``provider_params is missing `key` ``.
    pub fn require(&self, key: &str) -> Result<&str, ParamsError> {
        self.require_any(&[key])
    }

    /// The value of the first of `keys` that is present and non-empty (for alternative
    /// spellings such as `SecretID`/`SecretId`); the error names the first spelling.
    pub fn require_any(&self, keys: &[&str]) -> Result<&str, ParamsError> {
        keys.iter()
            .filter_map(|key| self.get(key))
            .find(|value| !value.is_empty())
            .ok_or_else(|| {
                ParamsError(format!(
                    "{} is missing `{}`",
                    self.label,
                    keys.first().copied().unwrap_or_default()
                ))
            })
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

/// The Tencent keys of a `provider_params` string: `Region`, `AvailableZone`, `SecretID`
/// (or `SecretId`) and `SecretKey`. Its `Debug` output hides the secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct TencentParams {
    region: String,
    zone: Option<String>,
    secret_id: String,
    secret_key: String,
}

impl fmt::Debug for TencentParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TencentParams")
            .field("region", &self.region)
            .field("zone", &self.zone)
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

impl TencentParams {
    /// Parse a `provider_params` string and require `Region`, `SecretID` and `SecretKey`.
    pub fn parse(text: &str) -> Result<Self, ParamsError> {
        Self::from_params(&ProviderParams::parse(text)?)
    }

    /// Require `Region`, `SecretID` (or `SecretId`) and `SecretKey`; `AvailableZone` is optional.
    pub fn from_params(params: &ProviderParams) -> Result<Self, ParamsError> {
        Ok(Self {
            region: params.require("Region")?.to_owned(),
            zone: params
                .get("AvailableZone")
                .filter(|z| !z.is_empty())
                .map(str::to_owned),
            secret_id: params.require_any(&["SecretID", "SecretId"])?.to_owned(),
            secret_key: params.require("SecretKey")?.to_owned(),
        })
    }

    /// `Region`, e.g. `ap-shanghai`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `AvailableZone`, e.g. `ap-shanghai-1`, if given.
    pub fn zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }

    /// `AvailableZone`, or the error ``provider_params is missing `AvailableZone` ``.
    pub fn require_zone(&self) -> Result<&str, ParamsError> {
        self.zone()
            .ok_or_else(|| ParamsError("provider_params is missing `AvailableZone`".to_owned()))
    }

    /// The public `SecretID`.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// Hand the key pair to the host as an opaque [`Credential`] (the host also starts
    /// redacting the secret from logs).
    pub fn credential(&self) -> Credential {
        Credential::inline(&self.secret_id, &self.secret_key)
    }
}

/// The Capital Online keys of a `provider_params` string: `Region` (optional: Capital Online
/// signs no region; routes use it as the default `RegionId`), `AccessKeyId` and
/// `AccessKeySecret`. Its `Debug` output hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct CdsParams {
    region: Option<String>,
    access_key_id: String,
    access_key_secret: String,
}

impl fmt::Debug for CdsParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CdsParams")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl CdsParams {
    /// Parse a `provider_params` string and require `AccessKeyId` and `AccessKeySecret`.
    pub fn parse(text: &str) -> Result<Self, ParamsError> {
        Self::from_params(&ProviderParams::parse(text)?)
    }

    /// Require `AccessKeyId` and `AccessKeySecret`; `Region` is optional.
    pub fn from_params(params: &ProviderParams) -> Result<Self, ParamsError> {
        Ok(Self {
            region: params
                .get("Region")
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            access_key_id: params.require("AccessKeyId")?.to_owned(),
            access_key_secret: params.require("AccessKeySecret")?.to_owned(),
        })
    }

    /// `Region`, e.g. `CN_Beijing_A`, if given.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The public `AccessKeyId`.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Hand the key pair to the host as an opaque [`Credential`].
    pub fn credential(&self) -> Credential {
        Credential::inline(&self.access_key_id, &self.access_key_secret)
    }
}

/// The Alibaba keys of an alicloud input: `accessKeyId` and `secret` from `identityParams`,
/// `regionId` from `cloudParams`. Its `Debug` output hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AliyunParams {
    access_key_id: String,
    secret: String,
    region: String,
    cloud: ProviderParams,
}

impl fmt::Debug for AliyunParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliyunParams")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl AliyunParams {
    /// Parse both strings; require `accessKeyId`, `secret` and `regionId`. Values are kept
    /// whole, `=` included (the original truncated them at the second `=`).
    pub fn parse(identity: &str, cloud: &str) -> Result<Self, ParamsError> {
        let identity = ProviderParams::parse_labeled(identity, "identityParams")?;
        let cloud = ProviderParams::parse_labeled(cloud, "cloudParams")?;
        Ok(Self {
            access_key_id: identity.require("accessKeyId")?.to_owned(),
            secret: identity.require("secret")?.to_owned(),
            region: cloud.require("regionId")?.to_owned(),
            cloud,
        })
    }

    /// `regionId`, e.g. `ap-southeast-1`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The public `accessKeyId`.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Any other `cloudParams` key (e.g. `regionGroup`), if present and non-empty.
    pub fn cloud_param(&self, key: &str) -> Option<&str> {
        self.cloud.get(key).filter(|v| !v.is_empty())
    }

    /// Hand the key pair to the host as an opaque [`Credential`].
    pub fn credential(&self) -> Credential {
        Credential::inline(&self.access_key_id, &self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_guide_example_and_trims_spaces() {
        let p = ProviderParams::parse(
            " Region=ap-shanghai ; AvailableZone=ap-shanghai-1;SecretID=id;SecretKey=key",
        )
        .unwrap();
        assert_eq!(p.get("Region"), Some("ap-shanghai"));
        assert_eq!(p.get("AvailableZone"), Some("ap-shanghai-1"));
        assert_eq!(p.require("SecretKey").unwrap(), "key");
        assert_eq!(
            p.keys().collect::<Vec<_>>(),
            ["Region", "AvailableZone", "SecretID", "SecretKey"]
        );
    }

    #[test]
    fn a_value_containing_equals_signs_is_kept_whole() {
        let p = ProviderParams::parse("SecretKey=abc=def==;Region=r").unwrap();
        assert_eq!(p.get("SecretKey"), Some("abc=def=="));
    }

    #[test]
    fn a_trailing_semicolon_is_ignored_and_empty_input_is_empty() {
        let p = ProviderParams::parse("Region=r;").unwrap();
        assert_eq!(p.keys().count(), 1);
        assert_eq!(ProviderParams::parse("").unwrap().keys().count(), 0);
    }

    #[test]
    fn malformed_entries_name_the_position_but_not_the_value() {
        let e = ProviderParams::parse("Region=r;topsecret;SecretKey=k").unwrap_err();
        assert_eq!(
            e.message(),
            "provider_params entry 2 is not of the form key=value"
        );
        assert!(!e.to_string().contains("topsecret"));
        let e = ProviderParams::parse("Region=r;=secretvalue").unwrap_err();
        assert_eq!(e.message(), "provider_params entry 2 has an empty key");
        let e = ProviderParams::parse("Region=r;;SecretKey=k").unwrap_err();
        assert_eq!(e.message(), "provider_params entry 2 is empty");
    }

    #[test]
    fn a_duplicate_key_is_an_error_naming_key_and_position() {
        let e = ProviderParams::parse("SecretKey=a;Region=r;SecretKey=b").unwrap_err();
        assert_eq!(
            e.message(),
            "provider_params entry 3 repeats the key `SecretKey`"
        );
        assert!(!e.message().contains("=b"));
    }

    #[test]
    fn require_reports_missing_and_empty_keys() {
        let p = ProviderParams::parse("Region=;SecretID=id").unwrap();
        assert_eq!(
            p.require("SecretKey").unwrap_err().to_string(),
            "provider_params is missing `SecretKey`"
        );
        assert_eq!(
            p.require("Region").unwrap_err().to_string(),
            "provider_params is missing `Region`"
        );
    }

    #[test]
    fn tencent_params_accept_both_secret_id_spellings_and_hide_the_key() {
        let t = TencentParams::parse("Region=ap-guangzhou;SecretId=AKID;SecretKey=sk-1").unwrap();
        assert_eq!(t.region(), "ap-guangzhou");
        assert_eq!(t.secret_id(), "AKID");
        assert_eq!(t.zone(), None);
        assert!(t.require_zone().is_err());
        assert!(!format!("{t:?}").contains("sk-1"));
        let t =
            TencentParams::parse("Region=r;AvailableZone=r-1;SecretID=AKID;SecretKey=k").unwrap();
        assert_eq!(t.zone(), Some("r-1"));
        assert_eq!(
            TencentParams::parse("SecretID=a;SecretKey=b")
                .unwrap_err()
                .to_string(),
            "provider_params is missing `Region`"
        );
    }

    #[test]
    fn cds_params_need_both_keys_keep_equals_in_the_secret_and_hide_it() {
        let c = CdsParams::parse("Region=CN_Beijing_A;AccessKeyId=AK;AccessKeySecret=s3cr=t==")
            .unwrap();
        assert_eq!(c.region(), Some("CN_Beijing_A"));
        assert_eq!(c.access_key_id(), "AK");
        assert_eq!(c.access_key_secret, "s3cr=t==");
        assert!(!format!("{c:?}").contains("s3cr"));
        assert_eq!(
            CdsParams::parse("AccessKeyId=AK;AccessKeySecret=x")
                .unwrap()
                .region(),
            None
        );
        assert_eq!(
            CdsParams::parse("Region=r;AccessKeyId=AK")
                .unwrap_err()
                .to_string(),
            "provider_params is missing `AccessKeySecret`"
        );
    }

    #[test]
    fn aliyun_params_keep_values_with_equals_signs_and_name_the_field() {
        let p = AliyunParams::parse(
            "accessKeyId=LTAI;secret=abc=def==",
            "regionId=ap-southeast-1;regionGroup=ap",
        )
        .unwrap();
        assert_eq!(p.access_key_id(), "LTAI");
        assert_eq!(p.secret, "abc=def==");
        assert_eq!(p.region(), "ap-southeast-1");
        assert_eq!(p.cloud_param("regionGroup"), Some("ap"));
        assert!(!format!("{p:?}").contains("abc=def"));
        let e = AliyunParams::parse("accessKeyId=a", "regionId=r").unwrap_err();
        assert_eq!(e.message(), "identityParams is missing `secret`");
        let e = AliyunParams::parse("accessKeyId=a;secret=s", "zone=z").unwrap_err();
        assert_eq!(e.message(), "cloudParams is missing `regionId`");
        let e = AliyunParams::parse("accessKeyId=a;oops", "regionId=r").unwrap_err();
        assert_eq!(
            e.message(),
            "identityParams entry 2 is not of the form key=value"
        );
    }
}
