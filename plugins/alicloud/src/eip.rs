//! `vpc/eip/allocate|release|associate|un-associate` (VPC product EIPs and common bandwidth
//! packages), and the bind/unbind steps the NAT routes share.

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{Common, Describe, Session, VPC, find, push_optional, require, wait_status};
use crate::waits;

/// How EIPs are described.
pub const EIPS: Describe = Describe {
    noun: "EIP",
    action: "DescribeEipAddresses",
    id_param: "AllocationId",
    json_list: false,
    id_field: "AllocationId",
    list: "EipAddresses",
    item: "EipAddress",
};

/// The EIP with address `ip`, `None` when there is none.
pub fn find_by_address(api: &impl AliyunApi, ip: &str) -> Result<Option<Value>, ErrorMessage> {
    let answer = api.call("DescribeEipAddresses", &[("EipAddress", ip)])?;
    Ok(items(&answer.body, EIPS.list, EIPS.item)
        .iter()
        .find(|e| text(e, "IpAddress") == ip)
        .cloned())
}

/// Binds EIP `eip` (as described) to `instance` of `kind` (in `region`, default the EIP's) and
/// waits until it is `InUse`. Already bound to it is success; bound to something else is an
/// error.
pub fn bind(
    api: &impl AliyunApi,
    eip: &Value,
    instance: &str,
    kind: &str,
    region: Option<&str>,
) -> Result<(), ErrorMessage> {
    let id = text(eip, "AllocationId");
    match text(eip, "InstanceId") {
        "" => {}
        bound if bound == instance => return Ok(()),
        other => {
            return Err(ErrorMessage::new(format!(
                "EIP {} ({id}) is bound to {other}, not {instance}",
                text(eip, "IpAddress")
            )));
        }
    }
    let mut params = vec![
        ("AllocationId", id),
        ("InstanceId", instance),
        ("InstanceType", kind),
    ];
    if let Some(region) = region {
        params.push(("InstanceRegionId", region));
    }
    api.call("AssociateEipAddress", &params)?;
    wait_status(api, &EIPS, id, "InUse", waits::EIP_ASSOCIATION)?;
    Ok(())
}

/// Unbinds EIP `eip` (as described) from `instance` and waits until it is `Available`; an EIP
/// not bound to it is left alone.
pub fn unbind(api: &impl AliyunApi, eip: &Value, instance: &str) -> Result<(), ErrorMessage> {
    if text(eip, "InstanceId") != instance {
        return Ok(());
    }
    let id = text(eip, "AllocationId");
    let mut params = vec![("AllocationId", id), ("InstanceId", instance)];
    let kind = text(eip, "InstanceType");
    if !kind.is_empty() {
        params.push(("InstanceType", kind));
    }
    api.call("UnassociateEipAddress", &params)?;
    wait_status(api, &EIPS, id, "Available", waits::EIP_ASSOCIATION)?;
    Ok(())
}

/// The common bandwidth package named `name`, created with `bandwidth` if there is none.
fn bandwidth_package(
    api: &impl AliyunApi,
    name: &str,
    bandwidth: &str,
) -> Result<String, ErrorMessage> {
    let answer = api.call("DescribeCommonBandwidthPackages", &[("Name", name)])?;
    if let Some(package) = items(
        &answer.body,
        "CommonBandwidthPackages",
        "CommonBandwidthPackage",
    )
    .iter()
    .find(|p| text(p, "Name") == name)
    {
        return Ok(text(package, "BandwidthPackageId").to_owned());
    }
    let created = api.call(
        "CreateCommonBandwidthPackage",
        &[("Name", name), ("Bandwidth", bandwidth)],
    )?;
    Ok(text(&created.body, "BandwidthPackageId").to_owned())
}

/// `POST /alicloud/v1/vpc/eip/allocate`: returns the existing `allocationId` or allocates an
/// EIP, and puts it in the bandwidth package `cbpName` (found by name or created). Output
/// `allocationId`, `eipAddress`, `cbpId`, `cbpName`.
pub fn handle_allocate(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let bandwidth = input.optional_str("bandwidth")?.unwrap_or("5");
    let existing = match input.optional_str("allocationId")? {
        Some(id) => find(&api, &EIPS, id)?,
        None => None,
    };
    let eip = match existing {
        Some(eip) => eip,
        None => {
            let mut params = vec![("Bandwidth", bandwidth)];
            push_optional(
                input,
                &mut params,
                &[
                    ("instanceChargeType", "InstanceChargeType"),
                    ("internetChargeType", "InternetChargeType"),
                    ("period", "Period"),
                    ("pricingCycle", "PricingCycle"),
                ],
            )?;
            let created = api.call("AllocateEipAddress", &params)?;
            require(&api, &EIPS, text(&created.body, "AllocationId"))?
        }
    };
    let id = text(&eip, "AllocationId").to_owned();
    let mut package = text(&eip, "BandwidthPackageId").to_owned();
    let name = input.optional_str("cbpName")?;
    if let Some(name) = name
        && package.is_empty()
    {
        package = bandwidth_package(&api, name, bandwidth)?;
        api.call(
            "AddCommonBandwidthPackageIp",
            &[
                ("BandwidthPackageId", package.as_str()),
                ("IpInstanceId", id.as_str()),
            ],
        )?;
    }
    let mut out = Output::new();
    out.insert("allocationId".into(), json!(id));
    out.insert("eipAddress".into(), json!(text(&eip, "IpAddress")));
    out.insert("cbpId".into(), json!(package));
    out.insert("cbpName".into(), json!(name.unwrap_or("")));
    Ok(out)
}

/// `POST /alicloud/v1/vpc/eip/release`: takes the EIP out of its bandwidth package and releases
/// it (the package stays); an absent EIP counts as released.
pub fn handle_release(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("allocationId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let Some(eip) = find(&api, &EIPS, id)? else {
        return Ok(Output::new());
    };
    let package = text(&eip, "BandwidthPackageId");
    if !package.is_empty() {
        api.call(
            "RemoveCommonBandwidthPackageIp",
            &[("BandwidthPackageId", package), ("IpInstanceId", id)],
        )?;
    }
    api.call("ReleaseEipAddress", &[("AllocationId", id)])?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/vpc/eip/associate`: binds the EIP to `instanceId` of `instanceType` and
/// waits until it is in use (already bound to it is success).
pub fn handle_associate(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("allocationId")?;
    let instance = input.required_str("instanceId")?;
    let kind = input.required_str("instanceType")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    let eip = require(&api, &EIPS, id)?;
    bind(
        &api,
        &eip,
        instance,
        kind,
        input.optional_str("instanceRegionId")?,
    )?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/vpc/eip/un-associate`: unbinds the EIP from `instanceId` and waits until it
/// is free (not bound to it is success).
pub fn handle_unassociate(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("allocationId")?;
    let instance = input.required_str("instanceId")?;
    let session = Session::new(&common);
    let api = session.client(VPC);
    if let Some(eip) = find(&api, &EIPS, id)? {
        unbind(&api, &eip, instance)?;
    }
    Ok(Output::new())
}
