//! `RunInstances`: every parameter checked first, then `InstanceCount` instances created at once.
//!
//! Without `VirtualPrivateCloud` an instance goes into the region's default network, as on
//! Tencent: here, the first subnet (in creation order) in the requested zone.

use std::net::Ipv4Addr;

use rand::Rng;
use serde_json::{Map, Value, json};

use super::super::error::TcError;
use super::super::state::{self, State};
use super::super::vpc::parse_cidr;
use super::{
    BOOT_MS, Call, Instance, Network, Placement, SystemDisk, check_enhanced_service, check_name,
    check_security_groups, iso_time, member_bool, member_str, member_uint, object, required_member,
};

/// Instance types the simulator knows: (type, cores, memory GB, type name).
const INSTANCE_TYPES: &[(&str, u64, u64, &str)] = &[
    ("S2.SMALL1", 1, 1, "标准型S2"),
    ("S2.SMALL2", 1, 2, "标准型S2"),
    ("S2.MEDIUM4", 2, 4, "标准型S2"),
    ("S2.LARGE8", 4, 8, "标准型S2"),
    ("S5.SMALL1", 1, 1, "标准型S5"),
    ("S5.SMALL2", 1, 2, "标准型S5"),
    ("S5.MEDIUM4", 2, 4, "标准型S5"),
    ("S5.LARGE8", 4, 8, "标准型S5"),
    ("SA2.MEDIUM4", 2, 4, "标准型SA2"),
    ("MA2.SMALL8", 1, 8, "内存型MA2"),
    ("MA2.MEDIUM16", 2, 16, "内存型MA2"),
];

/// Public images the simulator knows, with their `OsName` (the specs' example images included).
const IMAGES: &[(&str, &str)] = &[
    ("img-31tjrtph", "CentOS 7.2 64位"),
    ("img-8toqc6s3", "CentOS 7.5 64位"),
    ("img-pi0ii46r", "Ubuntu Server 18.04.1 LTS 64位"),
    ("img-l8og963d", "CentOS 7.6 64位"),
    ("img-9id7emv7", "Windows Server 2016 数据中心版 64位中文版"),
    ("img-n7nyt2d7", "CentOS 8.2 64位"),
];

/// Special characters Tencent accepts in a Linux password.
const PASSWORD_SPECIALS: &str = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/";

/// Most instances one call creates (Tencent's limit).
const MAX_INSTANCE_COUNT: u64 = 100;

/// `InstanceChargePrepaid.Period` values Tencent accepts, in months.
const PREPAID_PERIODS: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 24, 36, 48, 60];

/// The `OsName` of image `id`: `InvalidImageId.Malformed` / `InvalidImageId.NotFound` otherwise.
pub(super) fn image_os(id: &str) -> Result<&'static str, TcError> {
    if !state::is_id("img", id) {
        return Err(TcError::new(
            "InvalidImageId.Malformed",
            format!("The image id `{id}` is malformed."),
        ));
    }
    IMAGES
        .iter()
        .find(|(image, _)| *image == id)
        .map(|(_, os)| *os)
        .ok_or_else(|| {
            TcError::new(
                "InvalidImageId.NotFound",
                format!("The image `{id}` does not exist."),
            )
        })
}

/// Whether `password` meets Tencent's Linux rule: 8–30 characters of letters, digits and
/// [`PASSWORD_SPECIALS`], with at least three of the four classes.
pub(crate) fn password_ok(password: &str) -> bool {
    let len = password.chars().count();
    if !(8..=30).contains(&len) {
        return false;
    }
    let mut classes = [false; 4];
    for c in password.chars() {
        match c {
            'a'..='z' => classes[0] = true,
            'A'..='Z' => classes[1] = true,
            '0'..='9' => classes[2] = true,
            c if PASSWORD_SPECIALS.contains(c) => classes[3] = true,
            _ => return false,
        }
    }
    classes.iter().filter(|c| **c).count() >= 3
}

/// `LoginSettings {Password?, KeyIds?, KeepImageLogin?}`: the password checked; returns what
/// `DescribeInstances` shows (`{}` or `{KeyIds}`; never the password).
pub(super) fn login_settings(login: Option<&Map<String, Value>>) -> Result<Value, TcError> {
    if let Some(password) = member_str(login, "LoginSettings", "Password")?
        && !password_ok(password)
    {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidPassword",
            "The password must be 8 to 30 characters with at least three of: lower-case \
             letters, upper-case letters, digits and special characters.",
        ));
    }
    match login.and_then(|l| l.get("KeyIds")).filter(|v| !v.is_null()) {
        None => Ok(json!({})),
        Some(keys)
            if keys
                .as_array()
                .is_some_and(|k| k.iter().all(Value::is_string)) =>
        {
            Ok(json!({ "KeyIds": keys }))
        }
        Some(_) => Err(TcError::parameter_type("LoginSettings.KeyIds")),
    }
}

/// Size of a system disk, GB (default 50); `InvalidParameterValue.Range` outside 20–1024.
pub(super) fn system_disk_size(disk: Option<&Map<String, Value>>) -> Result<Option<u64>, TcError> {
    let size = member_uint(disk, "SystemDisk", "DiskSize")?;
    if let Some(size) = size
        && !(20..=1024).contains(&size)
    {
        return Err(TcError::out_of_range(
            "SystemDisk.DiskSize",
            &size.to_string(),
            "20 to 1024",
        ));
    }
    Ok(size)
}

/// One requested data disk: type, size (GB), deleted with the instance.
struct DataDisk {
    disk_type: String,
    size: u64,
    delete_with_instance: bool,
}

/// `DataDisks [{DiskType?, DiskSize, DeleteWithInstance?}]`, at most 20.
fn data_disks(p: &super::Params<'_>) -> Result<Option<Vec<DataDisk>>, TcError> {
    let Some(value) = p.get("DataDisks") else {
        return Ok(None);
    };
    let disks = value
        .as_array()
        .ok_or_else(|| TcError::parameter_type("DataDisks"))?;
    if disks.len() > 20 {
        return Err(TcError::out_of_range(
            "DataDisks",
            &disks.len().to_string(),
            "at most 20 disks",
        ));
    }
    disks
        .iter()
        .map(|disk| {
            let disk = Some(
                disk.as_object()
                    .ok_or_else(|| TcError::parameter_type("DataDisks"))?,
            );
            let size = member_uint(disk, "DataDisks", "DiskSize")?
                .ok_or_else(|| TcError::missing_parameter("DataDisks.DiskSize"))?;
            if !(10..=32_000).contains(&size) {
                return Err(TcError::out_of_range(
                    "DataDisks.DiskSize",
                    &size.to_string(),
                    "10 to 32000",
                ));
            }
            Ok(DataDisk {
                disk_type: member_str(disk, "DataDisks", "DiskType")?
                    .unwrap_or("CLOUD_PREMIUM")
                    .to_owned(),
                size,
                delete_with_instance: member_bool(disk, "DataDisks", "DeleteWithInstance")?
                    .unwrap_or(true),
            })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// `InternetAccessible {InternetChargeType?, InternetMaxBandwidthOut?, PublicIpAssigned?}`:
/// what `DescribeInstances` shows, and whether a public address is assigned (by default when
/// the bandwidth is above 0).
fn internet_accessible(p: &super::Params<'_>) -> Result<(Value, bool), TcError> {
    let name = "InternetAccessible";
    let internet = object(p, name)?;
    let charge =
        member_str(internet, name, "InternetChargeType")?.unwrap_or("TRAFFIC_POSTPAID_BY_HOUR");
    if ![
        "BANDWIDTH_PREPAID",
        "TRAFFIC_POSTPAID_BY_HOUR",
        "BANDWIDTH_POSTPAID_BY_HOUR",
        "BANDWIDTH_PACKAGE",
    ]
    .contains(&charge)
    {
        return Err(TcError::new(
            "InvalidParameterValue",
            format!(
                "The value `{charge}` of parameter `InternetAccessible.InternetChargeType` is not supported."
            ),
        ));
    }
    let bandwidth = member_uint(internet, name, "InternetMaxBandwidthOut")?.unwrap_or(0);
    if bandwidth > 200 {
        return Err(TcError::out_of_range(
            "InternetAccessible.InternetMaxBandwidthOut",
            &bandwidth.to_string(),
            "0 to 200",
        ));
    }
    let public = member_bool(internet, name, "PublicIpAssigned")?.unwrap_or(bandwidth > 0);
    Ok((
        json!({ "InternetChargeType": charge, "InternetMaxBandwidthOut": bandwidth }),
        public,
    ))
}

/// `InstanceChargeType` (default `POSTPAID_BY_HOUR`) and, for `PREPAID`,
/// `InstanceChargePrepaid {Period, RenewFlag?}`: the charge type, `RenewFlag` and `ExpiredTime`.
fn charging(
    p: &super::Params<'_>,
    now_ms: u64,
) -> Result<(String, Option<String>, Option<String>), TcError> {
    let charge_type = p.str("InstanceChargeType")?.unwrap_or("POSTPAID_BY_HOUR");
    match charge_type {
        "POSTPAID_BY_HOUR" | "SPOTPAID" | "CDHPAID" => Ok((charge_type.to_owned(), None, None)),
        "PREPAID" => {
            let prepaid = object(p, "InstanceChargePrepaid")?;
            let period = member_uint(prepaid, "InstanceChargePrepaid", "Period")?
                .ok_or_else(|| TcError::missing_parameter("InstanceChargePrepaid.Period"))?;
            if !PREPAID_PERIODS.contains(&period) {
                return Err(TcError::out_of_range(
                    "InstanceChargePrepaid.Period",
                    &period.to_string(),
                    "1-12, 24, 36, 48 or 60 months",
                ));
            }
            let renew = member_str(prepaid, "InstanceChargePrepaid", "RenewFlag")?
                .unwrap_or("NOTIFY_AND_MANUAL_RENEW");
            if ![
                "NOTIFY_AND_AUTO_RENEW",
                "NOTIFY_AND_MANUAL_RENEW",
                "DISABLE_NOTIFY_AND_MANUAL_RENEW",
            ]
            .contains(&renew)
            {
                return Err(TcError::new(
                    "InvalidParameterValue",
                    format!(
                        "The value `{renew}` of parameter `InstanceChargePrepaid.RenewFlag` is not supported."
                    ),
                ));
            }
            // A month of the simulator is 30 days.
            let expires = now_ms.saturating_add(period * 30 * 24 * 3_600_000);
            Ok((
                charge_type.to_owned(),
                Some(renew.to_owned()),
                Some(iso_time(expires)),
            ))
        }
        other => Err(TcError::new(
            "InvalidParameterValue",
            format!("The value `{other}` of parameter `InstanceChargeType` is not supported."),
        )),
    }
}

/// The VPC and subnet to use: `VirtualPrivateCloud {VpcId, SubnetId}`, or the default network
/// of `zone`. Checks that both exist and that the subnet is in `zone`; returns (VPC, subnet,
/// subnet block).
fn network(
    state: &State,
    call: &Call<'_>,
    zone: &str,
) -> Result<(String, String, String), TcError> {
    let given = object(&call.params, "VirtualPrivateCloud")?;
    let (vpc_id, subnet_id) = match given {
        Some(_) => (
            required_member(given, "VirtualPrivateCloud", "VpcId")?.to_owned(),
            required_member(given, "VirtualPrivateCloud", "SubnetId")?.to_owned(),
        ),
        None => state
            .subnets
            .get(call.region)
            .into_iter()
            .flatten()
            .find(|s| s.zone == zone)
            .map(|s| (s.vpc_id.clone(), s.subnet_id.clone()))
            .ok_or_else(|| {
                TcError::new(
                    "InvalidParameterValue.VpcIdNotExist",
                    format!(
                        "No `VirtualPrivateCloud` was given and zone `{zone}` has no default \
                         network (no subnet)."
                    ),
                )
            })?,
    };
    if !state::is_id("vpc", &vpc_id)
        || state
            .vpc(call.region, "VirtualPrivateCloud.VpcId", &vpc_id)
            .is_err()
    {
        return Err(TcError::new(
            "InvalidParameterValue.VpcIdNotExist",
            format!("The VPC `{vpc_id}` does not exist."),
        ));
    }
    let subnet = state
        .subnets
        .get(call.region)
        .into_iter()
        .flatten()
        .find(|s| s.subnet_id == subnet_id && s.vpc_id == vpc_id)
        .ok_or_else(|| {
            TcError::new(
                "InvalidParameterValue.SubnetNotExist",
                format!("The subnet `{subnet_id}` does not exist in VPC `{vpc_id}`."),
            )
        })?;
    if subnet.zone != zone {
        return Err(TcError::new(
            "InvalidParameterValue.ZoneNotMatch",
            format!(
                "The subnet `{subnet_id}` is in zone `{}`, not `{zone}`.",
                subnet.zone
            ),
        ));
    }
    let cidr = subnet.cidr_block.clone();
    Ok((vpc_id, subnet_id, cidr))
}

/// The first free address of the subnet block `cidr` (network, gateway and broadcast reserved)
/// that is neither used by an instance nor in `also_taken`.
fn allocate_ip(
    state: &State,
    region: &str,
    subnet_id: &str,
    cidr: &str,
    also_taken: &[String],
) -> Option<String> {
    let (network, prefix) = parse_cidr("CidrBlock", cidr).ok()?;
    let size = 1u64 << (32 - u32::from(prefix));
    let used: Vec<&str> = state
        .instances
        .get(region)
        .into_iter()
        .flatten()
        .filter(|i| i.virtual_private_cloud.subnet_id == subnet_id)
        .flat_map(|i| i.private_ip_addresses.iter().map(String::as_str))
        .chain(also_taken.iter().map(String::as_str))
        .collect();
    (2..size.saturating_sub(1))
        .map(|offset| Ipv4Addr::from(network + u32::try_from(offset).unwrap_or(0)).to_string())
        .find(|ip| !used.contains(&ip.as_str()))
}

/// `VirtualPrivateCloud.PrivateIpAddresses[0]`, checked to be a free address of `cidr`.
fn requested_ip(
    state: &State,
    call: &Call<'_>,
    subnet_id: &str,
    cidr: &str,
) -> Result<Option<String>, TcError> {
    let network = object(&call.params, "VirtualPrivateCloud")?;
    let Some(value) = network
        .and_then(|n| n.get("PrivateIpAddresses"))
        .filter(|v| !v.is_null())
    else {
        return Ok(None);
    };
    let ip = value
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or_else(|| TcError::parameter_type("VirtualPrivateCloud.PrivateIpAddresses"))?;
    let block = parse_cidr("CidrBlock", cidr)?;
    let parsed: Ipv4Addr = ip.parse().map_err(|_| {
        TcError::new(
            "InvalidParameterValue.IPAddressMalformed",
            format!("The address `{ip}` is malformed."),
        )
    })?;
    let mask = u32::MAX.checked_shl(32 - u32::from(block.1)).unwrap_or(0);
    if u32::from(parsed) & mask != block.0 {
        return Err(TcError::new(
            "InvalidParameterValue.VpcIpIsNotInSubnet",
            format!("The address `{ip}` is not in subnet `{subnet_id}` ({cidr})."),
        ));
    }
    let taken = state
        .instances
        .values()
        .flatten()
        .any(|i| i.private_ip_addresses.iter().any(|a| a == ip));
    if taken {
        return Err(TcError::new(
            "InvalidParameterValue.VpcIpIsUsed",
            format!("The address `{ip}` is already in use."),
        ));
    }
    Ok(Some(ip.to_owned()))
}

/// A public address from the benchmarking block 198.18.0.0/15 (never routed on the Internet).
fn public_ip() -> String {
    let mut rng = rand::rng();
    format!(
        "198.{}.{}.{}",
        rng.random_range(18..20),
        rng.random_range(0..256),
        rng.random_range(1..255)
    )
}

/// `RunInstances {Placement{Zone, ProjectId?}, ImageId, InstanceType?, InstanceChargeType?,
/// InstanceChargePrepaid?, SystemDisk?, DataDisks?, VirtualPrivateCloud?, InternetAccessible?,
/// InstanceCount?, InstanceName?, LoginSettings?, SecurityGroupIds?, EnhancedService?, …}` →
/// `{InstanceIdSet}`. Everything the request set is kept and shown by `DescribeInstances`.
pub(super) fn run(state: &mut State, call: &Call<'_>) -> Result<Value, TcError> {
    let p = &call.params;
    p.only(&[
        "Placement",
        "ImageId",
        "InstanceType",
        "InstanceChargeType",
        "InstanceChargePrepaid",
        "SystemDisk",
        "DataDisks",
        "VirtualPrivateCloud",
        "InternetAccessible",
        "InstanceCount",
        "InstanceName",
        "LoginSettings",
        "SecurityGroupIds",
        "EnhancedService",
        "ClientToken",
        "HostName",
        "TagSpecification",
        "DryRun",
    ])?;
    let placement = object(p, "Placement")?;
    let zone = required_member(placement, "Placement", "Zone")?;
    if !zone
        .strip_prefix(call.region)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(TcError::new(
            "InvalidZone.MismatchRegion",
            format!(
                "The zone `{zone}` is not a zone of region `{}`.",
                call.region
            ),
        ));
    }
    let project_id = member_uint(placement, "Placement", "ProjectId")?.unwrap_or(0);
    let image = p.required_str("ImageId")?;
    let os_name = image_os(image)?;
    let instance_type = p.str("InstanceType")?.unwrap_or("S5.SMALL1");
    let &(_, cpu, memory, type_name) = INSTANCE_TYPES
        .iter()
        .find(|(t, ..)| *t == instance_type)
        .ok_or_else(|| {
            TcError::new(
                "InvalidInstanceType.Malformed",
                format!("The instance type `{instance_type}` does not exist."),
            )
        })?;
    let (charge_type, renew_flag, expired_time) = charging(p, call.now_ms)?;
    let disk = object(p, "SystemDisk")?;
    let disk_size = system_disk_size(disk)?.unwrap_or(50);
    let disk_type = member_str(disk, "SystemDisk", "DiskType")?.unwrap_or("CLOUD_PREMIUM");
    let data_disks = data_disks(p)?;
    let count = p.uint("InstanceCount")?.unwrap_or(1);
    if !(1..=MAX_INSTANCE_COUNT).contains(&count) {
        return Err(TcError::out_of_range(
            "InstanceCount",
            &count.to_string(),
            "1 to 100",
        ));
    }
    let name = p.str("InstanceName")?.unwrap_or("未命名");
    check_name(name)?;
    let login = login_settings(object(p, "LoginSettings")?)?;
    let groups = p.str_list("SecurityGroupIds")?.unwrap_or_default();
    if !groups.is_empty() {
        check_security_groups(state, call.region, "SecurityGroupIds", &groups)?;
    }
    check_enhanced_service(p)?;
    let (internet, public) = internet_accessible(p)?;
    let (vpc_id, subnet_id, cidr) = network(state, call, zone)?;
    let mut ips = Vec::new();
    if let Some(ip) = requested_ip(state, call, &subnet_id, &cidr)? {
        if count > 1 {
            return Err(TcError::new(
                "InvalidParameterValue",
                "`VirtualPrivateCloud.PrivateIpAddresses` needs `InstanceCount` 1.",
            ));
        }
        ips.push(ip);
    }
    while (ips.len() as u64) < count {
        let ip = allocate_ip(state, call.region, &subnet_id, &cidr, &ips).ok_or_else(|| {
            TcError::new(
                "ResourceInsufficient.SubnetIpInsufficient",
                format!("Subnet `{subnet_id}` has no free address."),
            )
        })?;
        ips.push(ip);
    }
    if p.flag("DryRun")? == Some(true) {
        return Err(TcError::new(
            "DryRunOperation",
            "The request would have succeeded.",
        ));
    }
    let mut created = Vec::new();
    for ip in ips {
        let disks = data_disks.as_ref().map(|disks| {
            disks
                .iter()
                .map(|d| {
                    json!({
                        "DiskType": d.disk_type,
                        "DiskId": state.new_id("disk"),
                        "DiskSize": d.size,
                        "DeleteWithInstance": d.delete_with_instance,
                    })
                })
                .collect()
        });
        let mut instance = Instance {
            placement: Placement {
                zone: zone.to_owned(),
                project_id,
            },
            instance_id: state.new_id("ins"),
            instance_type: instance_type.to_owned(),
            cpu,
            memory,
            restrict_state: "NORMAL",
            instance_name: name.to_owned(),
            instance_charge_type: charge_type.clone(),
            system_disk: SystemDisk {
                disk_type: disk_type.to_owned(),
                disk_id: state.new_id("disk"),
                disk_size,
            },
            data_disks: disks,
            private_ip_addresses: vec![ip],
            public_ip_addresses: public.then(|| vec![public_ip()]),
            internet_accessible: internet.clone(),
            virtual_private_cloud: Network {
                vpc_id: vpc_id.clone(),
                subnet_id: subnet_id.clone(),
                as_vpc_gateway: false,
            },
            image_id: image.to_owned(),
            renew_flag: renew_flag.clone(),
            created_time: iso_time(call.now_ms),
            expired_time: expired_time.clone(),
            os_name: os_name.to_owned(),
            security_group_ids: groups.iter().map(|g| (*g).to_owned()).collect(),
            login_settings: login.clone(),
            instance_state: "PENDING",
            tags: Vec::new(),
            stop_charging_mode: "NOT_APPLICABLE",
            uuid: uuid::Uuid::new_v4().to_string(),
            latest_operation: None,
            latest_operation_state: None,
            latest_operation_request_id: None,
            disaster_recover_group_id: String::new(),
            ipv6_addresses: None,
            cam_role_name: String::new(),
            instance_type_name: type_name.to_owned(),
            next: Some((Some("RUNNING"), call.now_ms.saturating_add(BOOT_MS))),
        };
        instance.record(call, false);
        created.push(instance.instance_id.clone());
        state
            .instances
            .entry(call.region.to_owned())
            .or_default()
            .push(instance);
    }
    Ok(json!({ "InstanceIdSet": created }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_eight_to_thirty_characters_of_three_classes() {
        assert!(password_ok("Abcdefgh1234"));
        assert!(password_ok("abcdefg1!"));
        assert!(password_ok("ABCDEFG1@"));
        assert!(password_ok("964322396.cda"), "the tencent spec's example");
        assert!(!password_ok("abcdefgh1234"), "two classes");
        assert!(!password_ok("Ab1!"), "too short");
        assert!(!password_ok(&format!("Ab1!{}", "a".repeat(27))), "too long");
        assert!(!password_ok("Abcdefg1 23"), "space is not allowed");
    }

    #[test]
    fn login_settings_never_show_the_password() {
        let login = json!({"Password": "964322396.cda", "KeyIds": ["skey-1"]});
        assert_eq!(
            login_settings(login.as_object()).unwrap(),
            json!({"KeyIds": ["skey-1"]})
        );
        let weak = json!({"Password": "short"});
        assert!(login_settings(weak.as_object()).is_err());
        assert_eq!(login_settings(None).unwrap(), json!({}));
    }

    #[test]
    fn images_are_checked_for_shape_then_existence() {
        assert_eq!(image_os("img-n7nyt2d7").unwrap(), "CentOS 8.2 64位");
        assert_eq!(
            image_os("img-1").unwrap_err().code,
            "InvalidImageId.Malformed"
        );
        assert_eq!(
            image_os("img-00000000").unwrap_err().code,
            "InvalidImageId.NotFound"
        );
    }
}
