//! `public-network/*` and `private-network/*`: the networks of a VDC, bandwidth changes,
//! address blocks (segments) and renewal.

use broker_sdk::ErrorMessage;
use broker_sdk::cds::CdsApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::Value;

use crate::common::{
    Ctx, Params, existing, items, opt_u64, req_u64, run_and_wait, run_for_id, text,
};
use crate::vdc;

fn public(api: &impl CdsApi, id: &str) -> Result<Option<(String, Value)>, ErrorMessage> {
    vdc::find_network(api, "PublicNetwork", "PublicId", id)
}

fn require_public(api: &impl CdsApi, id: &str) -> Result<(String, Value), ErrorMessage> {
    public(api, id)?.ok_or_else(|| ErrorMessage::new(format!("public network {id} is not found")))
}

/// Every address of a public network's segments (or of one segment), comma-separated.
fn addresses(network: &Value, segment: Option<&str>) -> String {
    items(network, "Segments")
        .iter()
        .filter(|s| segment.is_none_or(|id| text(s, "SegmentId") == id))
        .flat_map(|s| items(s, "IPs").iter().filter_map(Value::as_str))
        .collect::<Vec<_>>()
        .join(",")
}

fn public_output(ctx: &Ctx, vdc_id: &str, network: &Value) -> Output {
    let mut out = ctx.output(Some(text(network, "PublicId")));
    out.insert("vdc_id".into(), vdc_id.into());
    out.insert("name".into(), text(network, "Name").into());
    out.insert(
        "qos".into(),
        network.get("Qos").cloned().unwrap_or(Value::Null),
    );
    let segments: Vec<&str> = items(network, "Segments")
        .iter()
        .map(|s| text(s, "SegmentId"))
        .collect();
    out.insert("segment_ids".into(), segments.join(",").into());
    out.insert("ips".into(), addresses(network, None).into());
    out
}

/// `public-network/create`: `vdc_id`, `name`, `type` (default `Bandwidth_BGP`),
/// `billing_method` (default `Bandwidth`), `qos`, `ip_num`, `auto_renew` (default 1),
/// `float_bandwidth` (default 200); returns the existing one when `id` names one.
pub fn handle_public_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    if let Some((vdc_id, network)) = existing(input, |id| public(&api, id))? {
        return Ok(public_output(&ctx, &vdc_id, &network));
    }
    let params = Params::new()
        .set("VdcId", input.required_str("vdc_id")?)
        .set_opt("Name", input.optional_str("name")?)
        .set(
            "Type",
            input.optional_str("type")?.unwrap_or("Bandwidth_BGP"),
        )
        .set(
            "BillingMethod",
            input.optional_str("billing_method")?.unwrap_or("Bandwidth"),
        )
        .set("Qos", req_u64(input, "qos")?)
        .set("IPNum", req_u64(input, "ip_num")?)
        .set("AutoRenew", opt_u64(input, "auto_renew")?.unwrap_or(1))
        .set(
            "FloatBandwidth",
            opt_u64(input, "float_bandwidth")?.unwrap_or(200),
        );
    let id = run_for_id(&api, "CreatePublicNetwork", &params)?;
    let (vdc_id, network) = require_public(&api, &id)?;
    Ok(public_output(&ctx, &vdc_id, &network))
}

/// `public-network/terminate`: `id`; success when it is already gone.
pub fn handle_public_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    if public(&api, id)?.is_some() {
        run_and_wait(
            &api,
            "DeletePublicNetwork",
            &Params::new().set("PublicId", id),
        )?;
    }
    Ok(ctx.output(Some(id)))
}

/// `public-network/modify-bandwidth`: `id`, `qos` (Mbps).
pub fn handle_modify_bandwidth(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let params = Params::new()
        .set("PublicId", id)
        .set("Qos", req_u64(input, "qos")?);
    run_and_wait(&api, "ModifyPublicNetwork", &params)?;
    let (vdc_id, network) = require_public(&api, id)?;
    Ok(public_output(&ctx, &vdc_id, &network))
}

/// `public-network/add-ip`: `id`, `number` of addresses; returns the new `segment_id` and its
/// `segment_ips`.
pub fn handle_add_ip(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let params = Params::new()
        .set("PublicId", id)
        .set("Number", req_u64(input, "number")?);
    let segment = run_for_id(&api, "AddPublicIp", &params)?;
    let (vdc_id, network) = require_public(&api, id)?;
    let mut out = public_output(&ctx, &vdc_id, &network);
    out.insert(
        "segment_ips".into(),
        addresses(&network, Some(&segment)).into(),
    );
    out.insert("segment_id".into(), segment.into());
    Ok(out)
}

/// `public-network/remove-ip`: `id`, `segment_id`; success when the segment is already gone.
pub fn handle_remove_ip(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let segment = input.required_str("segment_id")?;
    let (_, network) = require_public(&api, id)?;
    if items(&network, "Segments")
        .iter()
        .any(|s| text(s, "SegmentId") == segment)
    {
        run_and_wait(
            &api,
            "DeletePublicIp",
            &Params::new().set("SegmentId", segment),
        )?;
    }
    let (vdc_id, network) = require_public(&api, id)?;
    let mut out = public_output(&ctx, &vdc_id, &network);
    out.insert("segment_id".into(), segment.into());
    Ok(out)
}

/// `public-network/renew`: `id`, `auto_renew` (1 on, 0 off).
pub fn handle_renew(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let auto_renew = req_u64(input, "auto_renew")?;
    run_and_wait(
        &api,
        "RenewPublicNetwork",
        &Params::new()
            .set("PublicId", id)
            .set("AutoRenew", auto_renew),
    )?;
    let mut out = ctx.output(Some(id));
    out.insert("auto_renew".into(), auto_renew.into());
    Ok(out)
}

fn private(api: &impl CdsApi, id: &str) -> Result<Option<(String, Value)>, ErrorMessage> {
    vdc::find_network(api, "PrivateNetwork", "PrivateId", id)
}

fn private_output(ctx: &Ctx, vdc_id: &str, network: &Value) -> Output {
    let mut out = ctx.output(Some(text(network, "PrivateId")));
    out.insert("vdc_id".into(), vdc_id.into());
    out.insert("name".into(), text(network, "Name").into());
    let segments: Vec<&str> = items(network, "Segments")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    out.insert("segments".into(), segments.join(",").into());
    out
}

/// `private-network/create`: `vdc_id`, `name`, `type`, `address`, `mask`; returns the
/// existing one when `id` names one.
pub fn handle_private_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    if let Some((vdc_id, network)) = existing(input, |id| private(&api, id))? {
        return Ok(private_output(&ctx, &vdc_id, &network));
    }
    let params = Params::new()
        .set("VdcId", input.required_str("vdc_id")?)
        .set_opt("Name", input.optional_str("name")?)
        .set_opt("Type", input.optional_str("type")?)
        .set_opt("Address", input.optional_str("address")?)
        .set_opt("Mask", opt_u64(input, "mask")?.map(|m| m.to_string()));
    let id = run_for_id(&api, "CreatePrivateNetwork", &params)?;
    let (vdc_id, network) = private(&api, &id)?.ok_or_else(|| {
        ErrorMessage::new(format!(
            "private network {id} is not found after its creation"
        ))
    })?;
    Ok(private_output(&ctx, &vdc_id, &network))
}

/// `private-network/terminate`: `id`; success when it is already gone.
pub fn handle_private_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    if private(&api, id)?.is_some() {
        run_and_wait(
            &api,
            "DeletePrivateNetwork",
            &Params::new().set("PrivateId", id),
        )?;
    }
    Ok(ctx.output(Some(id)))
}
