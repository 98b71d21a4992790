//! What the database products (`cdb`, `mariadb`, `redis`) share: the VPC network an instance
//! lives in, the service address it gets there, and Tencent's instance-count limits.

use std::net::Ipv4Addr;

use super::error::TcError;
use super::state::State;
use super::vpc::parse_cidr;

/// Checks that VPC `vpc_id` and its subnet `subnet_id` exist in `region`
/// (`InvalidParameterValue.VpcIdNotExist` / `InvalidParameterValue.SubnetNotExist`) and
/// returns the subnet's block.
pub(crate) fn network(
    state: &State,
    region: &str,
    vpc_id: &str,
    subnet_id: &str,
) -> Result<String, TcError> {
    if state.vpc(region, "VpcId", vpc_id).is_err() {
        return Err(TcError::new(
            "InvalidParameterValue.VpcIdNotExist",
            format!("The VPC `{vpc_id}` does not exist."),
        ));
    }
    state
        .subnets
        .get(region)
        .into_iter()
        .flatten()
        .find(|s| s.subnet_id == subnet_id && s.vpc_id == vpc_id)
        .map(|s| s.cidr_block.clone())
        .ok_or_else(|| {
            TcError::new(
                "InvalidParameterValue.SubnetNotExist",
                format!("The subnet `{subnet_id}` does not exist in VPC `{vpc_id}`."),
            )
        })
}

/// A free service address of block `cidr`, taken from the top down (VMs get theirs from the
/// bottom up), avoiding `used`; `ResourceInsufficient.SubnetIpInsufficient` when none is left.
pub(crate) fn service_ip(cidr: &str, used: &[&str]) -> Result<String, TcError> {
    let (network, prefix) = parse_cidr("CidrBlock", cidr)?;
    let size = 1u64 << (32 - u32::from(prefix));
    (2..size.saturating_sub(1))
        .rev()
        .map(|offset| Ipv4Addr::from(network + u32::try_from(offset).unwrap_or(0)).to_string())
        .find(|ip| !used.contains(&ip.as_str()))
        .ok_or_else(|| {
            TcError::new(
                "ResourceInsufficient.SubnetIpInsufficient",
                format!("The subnet block `{cidr}` has no free address."),
            )
        })
}

/// `InvalidParameterValue.Range` unless `count` (parameter `name`) is 1 to `max`.
pub(crate) fn check_count(name: &str, count: u64, max: u64) -> Result<(), TcError> {
    if (1..=max).contains(&count) {
        Ok(())
    } else {
        Err(TcError::out_of_range(
            name,
            &count.to_string(),
            &format!("1 to {max}"),
        ))
    }
}

/// `InvalidParameterValue.Range` unless `months` is a period Tencent sells.
pub(crate) fn check_period(name: &str, months: u64) -> Result<(), TcError> {
    if (1..=12).contains(&months) || [24, 36].contains(&months) {
        Ok(())
    } else {
        Err(TcError::out_of_range(
            name,
            &months.to_string(),
            "1 to 12, 24 or 36 months",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_addresses_come_from_the_top_of_the_block() {
        assert_eq!(service_ip("10.0.1.0/24", &[]).unwrap(), "10.0.1.254");
        assert_eq!(
            service_ip("10.0.1.0/24", &["10.0.1.254"]).unwrap(),
            "10.0.1.253"
        );
        let full: Vec<String> = (2..255).map(|i| format!("10.0.1.{i}")).collect();
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        assert_eq!(
            service_ip("10.0.1.0/24", &full).unwrap_err().code,
            "ResourceInsufficient.SubnetIpInsufficient"
        );
    }
}
