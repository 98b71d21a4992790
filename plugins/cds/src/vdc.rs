//! `vdc/create`, `vdc/terminate`: virtual data centres, and the lookups of networks inside them
//! that the network routes share.

use broker_sdk::ErrorMessage;
use broker_sdk::cds::CdsApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::Value;

use crate::common::{Ctx, Params, data, existing, items, run, run_and_wait, run_for_id, text};

/// Every VDC the account sees (`DescribeVdc` without filters), or only `vdc_id`.
pub fn describe(api: &impl CdsApi, vdc_id: Option<&str>) -> Result<Vec<Value>, ErrorMessage> {
    let answer = run(api, "DescribeVdc", &Params::new().set_opt("VdcId", vdc_id))?;
    Ok(data(&answer).as_array().cloned().unwrap_or_default())
}

/// The VDC `id`, if it exists.
pub fn find(api: &impl CdsApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    Ok(describe(api, Some(id))?
        .into_iter()
        .find(|v| text(v, "VdcId") == id))
}

/// The network with `id_key` (`PublicId`/`PrivateId`) = `id` in list `list_key`
/// (`PublicNetwork`/`PrivateNetwork`) of any VDC: (VDC id, network).
pub fn find_network(
    api: &impl CdsApi,
    list_key: &str,
    id_key: &str,
    id: &str,
) -> Result<Option<(String, Value)>, ErrorMessage> {
    Ok(describe(api, None)?.iter().find_map(|vdc| {
        items(vdc, list_key)
            .iter()
            .find(|n| text(n, id_key) == id)
            .map(|n| (text(vdc, "VdcId").to_owned(), n.clone()))
    }))
}

fn vdc_output(ctx: &Ctx, vdc: &Value) -> Output {
    let mut out = ctx.output(Some(text(vdc, "VdcId")));
    out.insert("name".into(), text(vdc, "VdcName").into());
    out.insert("region_id".into(), text(vdc, "RegionId").into());
    out
}

/// `vdc/create`: `name`, `region_id` (default: `Region` of `provider_params`); returns the
/// existing VDC when `id` names one.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    if let Some(vdc) = existing(input, |id| find(&api, id))? {
        return Ok(vdc_output(&ctx, &vdc));
    }
    let params = Params::new()
        .set("RegionId", ctx.region(input)?)
        .set_opt("VdcName", input.optional_str("name")?);
    let id = run_for_id(&api, "CreateVdc", &params)?;
    let vdc = find(&api, &id)?
        .ok_or_else(|| ErrorMessage::new(format!("VDC {id} is not found after its creation")))?;
    Ok(vdc_output(&ctx, &vdc))
}

/// `vdc/terminate`: `id`; success when it is already gone.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    if find(&api, id)?.is_some() {
        run_and_wait(&api, "DeleteVdc", &Params::new().set("VdcId", id))?;
    }
    Ok(ctx.output(Some(id)))
}
