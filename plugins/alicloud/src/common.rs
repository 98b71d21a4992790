//! What every route shares: the validated `guid` + `identityParams` + `cloudParams` of an input,
//! the Alibaba products (endpoint and API version), look-ups by id that treat "not found" as
//! absent, and waits on the host clock.

use broker_sdk::aliyun::{AliyunApi, AliyunError, Client};
use broker_sdk::clock::{Clock, HostClock, Poll, poll_until};
use broker_sdk::settings::Wait;
use broker_sdk::wecube::Input;
use broker_sdk::{AliyunParams, Credential, ErrorMessage};
use serde_json::Value;

use crate::waits::WaitSettings;

/// The hosts the plugin may call: every Alibaba product endpoint.
pub const UPSTREAM_HOST: &str = "*.aliyuncs.com";

/// One Alibaba product: its endpoint and API version (`shared/reference/wecube.md` §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    /// The global endpoint, or `None` for ECS, whose endpoint depends on the region.
    pub host: Option<&'static str>,
    /// The API version.
    pub version: &'static str,
    /// Whether calls carry `RegionId`.
    pub regional: bool,
}

/// ECS, API 2014-05-26 (endpoint per region, see [`ecs_host`]).
pub const ECS: Product = Product {
    host: None,
    version: "2014-05-26",
    regional: true,
};

/// VPC, API 2016-04-28, at `vpc.aliyuncs.com` (as observed in the original's logs).
pub const VPC: Product = Product {
    host: Some("vpc.aliyuncs.com"),
    version: "2016-04-28",
    regional: true,
};

/// SLB, API 2014-05-15.
pub const SLB: Product = Product {
    host: Some("slb.aliyuncs.com"),
    version: "2014-05-15",
    regional: true,
};

/// RDS, API 2014-08-15.
pub const RDS: Product = Product {
    host: Some("rds.aliyuncs.com"),
    version: "2014-08-15",
    regional: true,
};

/// ApsaraDB for Redis (`r-kvstore`), API 2015-01-01.
pub const KVSTORE: Product = Product {
    host: Some("r-kvstore.aliyuncs.com"),
    version: "2015-01-01",
    regional: true,
};

/// CEN (`cbn`), API 2017-09-12: global, called without a region.
pub const CBN: Product = Product {
    host: Some("cbn.aliyuncs.com"),
    version: "2017-09-12",
    regional: false,
};

/// The ECS endpoint the Java SDK resolves: its endpoint map sends the mainland, Singapore and US
/// regions to `ecs-cn-hangzhou.aliyuncs.com`; other regions use `ecs.<region>.aliyuncs.com`.
pub fn ecs_host(region: &str) -> String {
    if region.starts_with("cn-") || region.starts_with("us-") || region == "ap-southeast-1" {
        "ecs-cn-hangzhou.aliyuncs.com".to_owned()
    } else {
        format!("ecs.{region}.aliyuncs.com")
    }
}

/// The `guid` and parsed credential strings every input carries.
#[derive(Debug, Clone)]
pub struct Common {
    /// CI guid, echoed by the envelope.
    pub guid: String,
    /// Keys and region.
    pub params: AliyunParams,
}

impl Common {
    /// Validate `guid`, `identityParams` and `cloudParams` (all required).
    pub fn from_input(input: &Input) -> Result<Self, ErrorMessage> {
        Ok(Self {
            guid: input.required_str("guid")?.to_owned(),
            params: AliyunParams::parse(
                input.required_str("identityParams")?,
                input.required_str("cloudParams")?,
            )?,
        })
    }

    /// The region, `regionId`.
    pub fn region(&self) -> &str {
        self.params.region()
    }
}

/// A credential handle for one input, and clients for its products.
pub struct Session {
    credential: Credential,
    region: String,
}

impl Session {
    /// Hand the input's keys to the host.
    pub fn new(common: &Common) -> Self {
        Self {
            credential: common.params.credential(),
            region: common.region().to_owned(),
        }
    }

    /// A client for `product` in the input's region.
    pub fn client(&self, product: Product) -> Client<'_> {
        let host = product
            .host
            .map_or_else(|| ecs_host(&self.region), str::to_owned);
        Client::new(
            &self.credential,
            &host,
            product.version,
            product.regional.then_some(self.region.as_str()),
        )
    }
}

/// Appends `(Param, value)` to `params` for every `(inputField, Param)` of `fields` whose input
/// field is set (optional inputs map one to one onto optional API parameters).
pub fn push_optional<'a>(
    input: &'a Input,
    params: &mut Vec<(&'a str, &'a str)>,
    fields: &[(&str, &'static str)],
) -> Result<(), ErrorMessage> {
    for (field, param) in fields {
        if let Some(value) = input.optional_str(field)? {
            params.push((param, value));
        }
    }
    Ok(())
}

/// How one kind of resource is described by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Describe {
    /// Noun for messages, e.g. `VPC`.
    pub noun: &'static str,
    /// Describe action, e.g. `DescribeVpcs`.
    pub action: &'static str,
    /// The id filter, e.g. `VpcId`, or `SecurityGroupIds` for a JSON-list filter.
    pub id_param: &'static str,
    /// Whether the filter takes a JSON list (`["sg-1"]`) rather than the bare id.
    pub json_list: bool,
    /// The id field of one item, e.g. `VpcId`.
    pub id_field: &'static str,
    /// The answer's list and item keys, e.g. `Vpcs` / `Vpc`.
    pub list: &'static str,
    /// The item key inside `list`.
    pub item: &'static str,
}

/// The resource `id` as the describe shows it, `None` when it does not exist (an empty list or a
/// `*.NotFound` error).
pub fn find(api: &impl AliyunApi, what: &Describe, id: &str) -> Result<Option<Value>, AliyunError> {
    // Some describes filter by a JSON list of ids (`SecurityGroupIds=["sg-1"]`).
    let filter = if what.json_list {
        serde_json::json!([id]).to_string()
    } else {
        id.to_owned()
    };
    match api.call(what.action, &[(what.id_param, filter.as_str())]) {
        Ok(response) => Ok(
            broker_sdk::aliyun::items(&response.body, what.list, what.item)
                .iter()
                .find(|item| broker_sdk::aliyun::text(item, what.id_field) == id)
                .cloned(),
        ),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// [`find`], or an error naming the resource when it does not exist.
pub fn require(api: &impl AliyunApi, what: &Describe, id: &str) -> Result<Value, ErrorMessage> {
    find(api, what, id)?
        .ok_or_else(|| ErrorMessage::new(format!("{} {id} does not exist", what.noun)))
}

/// Polls `check` on the host clock as `wait` says; a timeout names `what` and the last state.
pub fn wait_for<T>(
    what: &str,
    wait: WaitSettings,
    check: impl FnMut() -> Result<Poll<T>, ErrorMessage>,
) -> Result<T, ErrorMessage> {
    wait_on(&HostClock, what, wait.read()?, check)
}

/// [`wait_for`] on any clock (unit tests use a fake one).
pub fn wait_on<T>(
    clock: &impl Clock,
    what: &str,
    wait: Wait,
    check: impl FnMut() -> Result<Poll<T>, ErrorMessage>,
) -> Result<T, ErrorMessage> {
    poll_until(clock, wait.timeout_ms, wait.interval_ms, check)
        .map_err(|e| e.into_message(what, wait.timeout_ms))
}

/// Waits until resource `id` has `Status` `want`.
pub fn wait_status(
    api: &impl AliyunApi,
    what: &Describe,
    id: &str,
    want: &str,
    wait: WaitSettings,
) -> Result<Value, ErrorMessage> {
    wait_for(&format!("{} {id} to be {want}", what.noun), wait, || {
        let item = require(api, what, id)?;
        let status = broker_sdk::aliyun::text(&item, "Status");
        Ok(if status == want {
            Poll::Ready(item.clone())
        } else {
            Poll::Pending(status.to_owned())
        })
    })
}

/// Waits until resource `id` no longer exists.
pub fn wait_gone(
    api: &impl AliyunApi,
    what: &Describe,
    id: &str,
    wait: WaitSettings,
) -> Result<(), ErrorMessage> {
    wait_for(&format!("{} {id} to be deleted", what.noun), wait, || {
        Ok(match find(api, what, id)? {
            None => Poll::Ready(()),
            Some(item) => Poll::Pending(broker_sdk::aliyun::text(&item, "Status").to_owned()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_sdk::aliyun::AliyunResponse;
    use std::cell::RefCell;

    /// Answers every call with `answer` and records the parameters it got.
    struct Fake {
        answer: Result<Value, AliyunError>,
        seen: RefCell<Vec<Vec<(String, String)>>>,
    }

    impl AliyunApi for Fake {
        fn call(&self, _: &str, params: &[(&str, &str)]) -> Result<AliyunResponse, AliyunError> {
            self.seen.borrow_mut().push(
                params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            );
            self.answer.clone().map(|body| AliyunResponse {
                request_id: "r".into(),
                body,
            })
        }
    }

    const GROUPS: Describe = Describe {
        noun: "security group",
        action: "DescribeSecurityGroups",
        id_param: "SecurityGroupIds",
        json_list: true,
        id_field: "SecurityGroupId",
        list: "SecurityGroups",
        item: "SecurityGroup",
    };

    #[test]
    fn find_filters_by_json_list_and_matches_the_item_id() {
        let fake = Fake {
            answer: Ok(serde_json::json!({"SecurityGroups": {"SecurityGroup": [
                {"SecurityGroupId": "sg-other"}, {"SecurityGroupId": "sg-1"}]}})),
            seen: RefCell::new(Vec::new()),
        };
        let found = find(&fake, &GROUPS, "sg-1").unwrap().unwrap();
        assert_eq!(found["SecurityGroupId"], "sg-1");
        assert_eq!(
            fake.seen.borrow()[0],
            [("SecurityGroupIds".to_owned(), r#"["sg-1"]"#.to_owned())]
        );
        assert!(find(&fake, &GROUPS, "sg-2").unwrap().is_none());
    }

    #[test]
    fn a_not_found_error_means_absent_and_other_errors_fail() {
        let api_error = |code: &str| AliyunError::Api {
            code: code.into(),
            message: "m".into(),
            request_id: "r".into(),
        };
        let fake = Fake {
            answer: Err(api_error("InvalidSecurityGroupId.NotFound")),
            seen: RefCell::new(Vec::new()),
        };
        assert!(find(&fake, &GROUPS, "sg-1").unwrap().is_none());
        let fake = Fake {
            answer: Err(api_error("Throttling")),
            seen: RefCell::new(Vec::new()),
        };
        assert_eq!(
            require(&fake, &GROUPS, "sg-1").unwrap_err().as_str(),
            "AliCloud server error: [Code=Throttling, Message=m, RequestId=r]"
        );
    }

    /// A clock that moves only when slept on.
    struct FakeClock(std::cell::Cell<u64>);

    impl Clock for FakeClock {
        fn now_ms(&self) -> u64 {
            self.0.get()
        }
        fn sleep_ms(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
        }
    }

    #[test]
    fn a_wait_that_never_settles_times_out_naming_what_and_the_last_state() {
        let clock = FakeClock(std::cell::Cell::new(0));
        let wait = Wait {
            interval_ms: 5_000,
            timeout_ms: 60_000,
        };
        let mut looks = 0;
        let e = wait_on(&clock, "VPC vpc-1 to be Available", wait, || {
            looks += 1;
            Ok::<_, ErrorMessage>(Poll::<()>::Pending("Pending".into()))
        })
        .unwrap_err();
        assert_eq!(
            e.as_str(),
            "timed out after 60 s waiting for VPC vpc-1 to be Available (last state Pending)"
        );
        assert_eq!(clock.now_ms(), 60_000, "it slept, never spun");
        assert_eq!(looks, 13);
    }

    #[test]
    fn ecs_endpoints_follow_the_sdk_map() {
        assert_eq!(ecs_host("ap-southeast-1"), "ecs-cn-hangzhou.aliyuncs.com");
        assert_eq!(ecs_host("cn-beijing"), "ecs-cn-hangzhou.aliyuncs.com");
        assert_eq!(ecs_host("eu-central-1"), "ecs.eu-central-1.aliyuncs.com");
    }
}
