//! Where a plugin may send requests: two layers, as in Spin.
//!
//! 1. By name: the URL's host must match a host the manifest declared (`vpc.tencentcloudapi.com`
//!    or a `*.aliyuncs.com` pattern), or the host of the `endpoint` of a stored account the
//!    request looked up (a per-tenant server such as BridgX, registered by the operator; a
//!    plugin cannot name such a host itself, and it still passes the address check below).
//!    The operator may narrow a plugin's declared hosts (`[plugin_limits.<name>] egress_hosts`)
//!    and map a declared host to another base URL (a private endpoint, a simulator); mapped
//!    destinations are trusted.
//! 2. By address: an unmapped destination must not resolve to a loopback, link-local (cloud
//!    metadata at 169.254.169.254), unspecified, multicast or broadcast address. This check
//!    runs on the addresses DNS actually returned (see `client.rs`), so a declared name that
//!    resolves to `127.0.0.1` is refused too.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use url::Url;

/// A host pattern: an exact name or `*.suffix` (one or more labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// Parses a declared host; errors say what was expected.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let p = pattern.trim().to_ascii_lowercase();
        let name = p.strip_prefix("*.").unwrap_or(&p);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(format!(
                "upstream host `{pattern}` is not a host name (expected e.g. `vpc.tencentcloudapi.com` or `*.aliyuncs.com`)"
            ));
        }
        Ok(Self(p))
    }

    /// Whether every host `other` matches is matched by this pattern too.
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self.0.strip_prefix("*."), other.0.strip_prefix("*.")) {
            (_, None) => self.matches(&other.0),
            (Some(mine), Some(theirs)) => theirs == mine || theirs.ends_with(&format!(".{mine}")),
            (None, Some(_)) => false,
        }
    }

    /// Whether `host` (lower-case) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => self.0 == host,
        }
    }
}

/// The operator's host → base URL mapping (shared by all plugins).
#[derive(Debug, Default, Clone)]
pub struct UpstreamMap {
    entries: Vec<(HostPattern, Url)>,
}

impl UpstreamMap {
    /// Builds the map; exact names win over patterns, longer patterns over shorter ones.
    pub fn new(map: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for (host, url) in map {
            let pattern = HostPattern::parse(host).map_err(anyhow::Error::msg)?;
            let url = Url::parse(url)
                .map_err(|e| anyhow::anyhow!("upstream mapping for `{host}`: {e}"))?;
            entries.push((pattern, url));
        }
        entries.sort_by_key(|(p, _)| (p.0.starts_with("*."), std::cmp::Reverse(p.0.len())));
        Ok(Self { entries })
    }

    fn lookup(&self, host: &str) -> Option<&Url> {
        self.entries
            .iter()
            .find(|(pattern, _)| pattern.matches(host))
            .map(|(_, url)| url)
    }
}

/// A plugin's egress policy: its declared hosts plus the operator's mapping.
#[derive(Debug, Clone)]
pub struct Egress {
    declared: Vec<HostPattern>,
    map: Arc<UpstreamMap>,
}

/// Where a request will actually go.
#[derive(Debug)]
pub struct Destination {
    /// The URL to send to (rewritten when the host is mapped).
    pub url: Url,
    /// Whether the operator mapped this host (mapped destinations skip the address check).
    pub mapped: bool,
}

impl Egress {
    /// Policy for a plugin that declared `declared`.
    pub fn new(declared: Vec<HostPattern>, map: Arc<UpstreamMap>) -> Self {
        Self { declared, map }
    }

    /// Checks `url` against the policy and applies the mapping. `account_hosts` are the exact
    /// hosts of the stored accounts' endpoints the request looked up; they count as declared.
    pub fn route(&self, url: &Url, account_hosts: &[String]) -> Result<Destination, String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "scheme `{}` is not allowed (use https)",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("URL `{url}` has no host"))?
            .to_ascii_lowercase();
        if !self.declared.iter().any(|p| p.matches(&host)) && !account_hosts.contains(&host) {
            return Err(format!(
                "host `{host}` is not declared in the plugin's manifest (upstream-hosts) nor the \
                 endpoint of an account this request looked up"
            ));
        }
        let Some(base) = self.map.lookup(&host) else {
            if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
                && let Some(why) = forbidden_address(ip)
            {
                return Err(format!("address {ip} is {why}"));
            }
            return Ok(Destination {
                url: url.clone(),
                mapped: false,
            });
        };
        let mut mapped = base.clone();
        let base_path = base.path().trim_end_matches('/');
        mapped.set_path(&format!("{base_path}{}", url.path()));
        mapped.set_query(url.query());
        Ok(Destination {
            url: mapped,
            mapped: true,
        })
    }
}

/// Why an address may not be reached by an unmapped destination, if it may not.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some("a loopback address"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address (cloud metadata)"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() => {
            Some("not a unicast address")
        }
        IpAddr::V6(v6) if v6.is_loopback() => Some("a loopback address"),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some("a link-local address"),
        IpAddr::V6(v6) if v6.is_unspecified() || v6.is_multicast() => Some("not a unicast address"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_pattern_covers_names_and_narrower_patterns_only() {
        let p = |s: &str| HostPattern::parse(s).unwrap();
        assert!(p("*.aliyuncs.com").covers(&p("ecs.aliyuncs.com")));
        assert!(p("*.aliyuncs.com").covers(&p("*.aliyuncs.com")));
        assert!(p("*.aliyuncs.com").covers(&p("*.cn.aliyuncs.com")));
        assert!(!p("*.aliyuncs.com").covers(&p("aliyuncs.com")));
        assert!(!p("ecs.aliyuncs.com").covers(&p("*.aliyuncs.com")));
        assert!(p("localhost").covers(&p("localhost")));
        assert!(!p("*.aliyuncs.com").covers(&p("*.evilaliyuncs.com")));
    }

    fn egress(declared: &[&str], map: &[(&str, &str)]) -> Egress {
        let map: BTreeMap<String, String> = map
            .iter()
            .map(|(h, u)| (h.to_string(), u.to_string()))
            .collect();
        Egress::new(
            declared
                .iter()
                .map(|d| HostPattern::parse(d).unwrap())
                .collect(),
            Arc::new(UpstreamMap::new(&map).unwrap()),
        )
    }

    #[test]
    fn undeclared_hosts_are_denied() {
        let e = egress(&["vpc.tencentcloudapi.com"], &[]);
        let err = e
            .route(&Url::parse("https://evil.example.com/").unwrap(), &[])
            .unwrap_err();
        assert!(err.contains("evil.example.com"), "{err}");
        assert!(
            e.route(
                &Url::parse("https://vpc.tencentcloudapi.com/").unwrap(),
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn an_account_endpoint_host_is_allowed_and_still_address_checked() {
        let e = egress(&[], &[("bridgx.demo", "http://127.0.0.1:9090/")]);
        let hosts = vec!["bridgx.demo".to_string(), "127.0.0.1".to_string()];
        let url = Url::parse("http://bridgx.demo/api/v1/x").unwrap();
        assert!(e.route(&url, &[]).is_err(), "not without the lookup");
        let d = e.route(&url, &hosts).unwrap();
        assert_eq!(d.url.as_str(), "http://127.0.0.1:9090/api/v1/x");
        let loopback = Url::parse("http://127.0.0.1:22/").unwrap();
        let err = e.route(&loopback, &hosts).unwrap_err();
        assert!(err.contains("loopback"), "{err}");
        let other = Url::parse("http://other.example/").unwrap();
        assert!(e.route(&other, &hosts).is_err());
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let p = HostPattern::parse("*.aliyuncs.com").unwrap();
        assert!(p.matches("ecs.cn-hangzhou.aliyuncs.com"));
        assert!(!p.matches("aliyuncs.com"));
        assert!(!p.matches("evilaliyuncs.com"));
        assert!(HostPattern::parse("bad host").is_err());
    }

    #[test]
    fn mapped_hosts_are_rewritten_and_keep_path_and_query() {
        let e = egress(
            &["vpc.tencentcloudapi.com"],
            &[("*.tencentcloudapi.com", "http://127.0.0.1:9000/base/")],
        );
        let d = e
            .route(
                &Url::parse("https://vpc.tencentcloudapi.com/x?a=1").unwrap(),
                &[],
            )
            .unwrap();
        assert!(d.mapped);
        assert_eq!(d.url.as_str(), "http://127.0.0.1:9000/base/x?a=1");
    }

    #[test]
    fn literal_metadata_and_loopback_addresses_are_denied_when_unmapped() {
        let e = egress(&["169.254.169.254", "127.0.0.1"], &[]);
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:22/",
        ] {
            assert!(e.route(&Url::parse(url).unwrap(), &[]).is_err(), "{url}");
        }
        assert!(forbidden_address("::ffff:127.0.0.1".parse().unwrap()).is_some());
        assert!(forbidden_address("10.0.0.1".parse().unwrap()).is_none());
    }
}
