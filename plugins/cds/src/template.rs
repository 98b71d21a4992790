//! `template/*`: custom templates (images) made from an instance, copied to other regions.

use broker_sdk::ErrorMessage;
use broker_sdk::cds::CdsApi;
use broker_sdk::wecube::{Input, Output};
use serde_json::Value;

use crate::common::{Ctx, Params, data, existing, items, run, run_and_wait, run_for_id, text};

/// How many templates one `DescribeTemplateInfo` page asks for.
const PAGE_SIZE: u64 = 100;
/// Pages read at most while looking for one template.
const MAX_PAGES: u64 = 50;

/// The template `id`, if it exists (paging through `DescribeTemplateInfo`).
fn find(api: &impl CdsApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    for page in 1..=MAX_PAGES {
        let answer = run(
            api,
            "DescribeTemplateInfo",
            &Params::new()
                .set("PageNumber", page)
                .set("PageSize", PAGE_SIZE),
        )?;
        let list = items(data(&answer), "TemplateList");
        if let Some(t) = list.iter().find(|t| text(t, "TemplateId") == id) {
            return Ok(Some(t.clone()));
        }
        let pages = data(&answer)
            .get("TotalPage")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if list.is_empty() || page >= pages {
            break;
        }
    }
    Ok(None)
}

fn template_output(ctx: &Ctx, id: &str, template: Option<&Value>) -> Output {
    let mut out = ctx.output(Some(id));
    if let Some(t) = template {
        out.insert("name".into(), text(t, "Name").into());
        let regions: Vec<&str> = items(t, "Region")
            .iter()
            .map(|r| text(r, "RegionId"))
            .collect();
        out.insert("regions".into(), regions.join(",").into());
    }
    out
}

/// `template/create`: `instance_id`, `name`, `power_on` (default true); returns the existing
/// template when `id` names one.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    if let Some(t) = existing(input, |id| find(&api, id))? {
        return Ok(template_output(&ctx, text(&t, "TemplateId"), Some(&t)));
    }
    let power_on = !matches!(input.get("power_on"), Some(Value::Bool(false)))
        && !matches!(
            input.optional_str("power_on").ok().flatten(),
            Some("false" | "0")
        );
    let params = Params::new()
        .set("InstanceId", input.required_str("instance_id")?)
        .set("DisplayName", input.required_str("name")?)
        .set("PowerOn", power_on);
    let id = run_for_id(&api, "CreateTemplate", &params)?;
    let template = find(&api, &id)?;
    Ok(template_output(&ctx, &id, template.as_ref()))
}

/// `template/sync`: copies template `id` to `region_id` (default: `Region`).
pub fn handle_sync(input: &Input) -> Result<Output, ErrorMessage> {
    region_action(input, "SyncTemplate")
}

/// `template/delete`: removes template `id` from `region_id` (default: `Region`); success when
/// it is not there.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    region_action(input, "DeleteTemplate")
}

fn region_action(input: &Input, action: &str) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let region = ctx.region(input)?;
    let in_region = |t: &Value| {
        items(t, "Region")
            .iter()
            .any(|r| text(r, "RegionId") == region)
    };
    let before = find(&api, id)?;
    let needed = match action {
        "DeleteTemplate" => before.as_ref().is_some_and(in_region),
        _ => true,
    };
    if needed {
        run_and_wait(
            &api,
            action,
            &Params::new()
                .set("TemplateId", id)
                .set("RegionId", region.clone()),
        )?;
    }
    let after = find(&api, id)?;
    Ok(template_output(&ctx, id, after.as_ref()))
}
