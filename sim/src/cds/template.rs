//! The `/ccs` template actions: custom templates made from instances, copied between regions.

use serde_json::{Value, json};

use super::error::CdsError;
use super::state::{State, Template, new_id};
use super::{Call, REGIONS, created_text, success, with_task};

fn not_found(id: &str) -> CdsError {
    CdsError::new(
        404,
        "InvalidLaunchTemplateVersion.NotFound",
        format!("The template {id} is not found."),
    )
}

/// `CreateTemplate`: `InstanceId`, `DisplayName`, `PowerOn`; the task's `ResourceId` is the
/// template, available in the instance's region.
pub fn create(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let instance = call.params.str("InstanceId")?;
    let name = call.params.str("DisplayName")?;
    if call.params.get(&["PowerOn"]).is_none() {
        return Err(CdsError::missing_parameter("PowerOn"));
    }
    let region = state
        .instances
        .get(&instance)
        .map(|i| i.region_id.clone())
        .ok_or_else(|| CdsError::not_found("InstanceNotFound", "instance", &instance))?;
    let id = new_id();
    let (apply, task) = state.start_task("createTemplate", call.now_ms, vec![id.clone()]);
    if apply {
        let created = created_text(call.now_ms);
        state.templates.insert(
            id.clone(),
            Template {
                id,
                name,
                instance_id: instance,
                regions: vec![region],
                created,
            },
        );
    }
    Ok(with_task(&task))
}

fn template_region(state: &mut State, call: &Call) -> Result<(String, String), CdsError> {
    let id = call.params.str("TemplateId")?;
    let region = call.params.str("RegionId")?;
    if !REGIONS.contains(&region.as_str()) {
        return Err(CdsError::invalid_parameter_value("RegionId"));
    }
    if !state.templates.contains_key(&id) {
        return Err(not_found(&id));
    }
    Ok((id, region))
}

/// `SyncTemplate`: makes the template available in `RegionId` too.
pub fn sync(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let (id, region) = template_region(state, call)?;
    let (apply, task) = state.start_task("syncTemplate", call.now_ms, vec![id.clone()]);
    if apply {
        let t = state.templates.get_mut(&id).expect("checked");
        if !t.regions.contains(&region) {
            t.regions.push(region);
        }
    }
    Ok(with_task(&task))
}

/// `DeleteTemplate`: removes it from `RegionId`; gone when no region is left.
pub fn delete(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let (id, region) = template_region(state, call)?;
    if !state.templates[&id].regions.contains(&region) {
        return Err(not_found(&id));
    }
    let (apply, task) = state.start_task("deleteTemplate", call.now_ms, vec![id.clone()]);
    if apply {
        let t = state.templates.get_mut(&id).expect("checked");
        t.regions.retain(|r| r != &region);
        if t.regions.is_empty() {
            state.templates.remove(&id);
        }
    }
    Ok(with_task(&task))
}

/// `DescribeTemplateInfo`: `PageNumber`, `PageSize`, `Keyword` (in the name).
pub fn describe(state: &mut State, call: &Call) -> Result<Value, CdsError> {
    let page = call.params.u64("PageNumber")?.max(1) as usize;
    let size = call.params.u64("PageSize")?.max(1) as usize;
    let keyword = call.params.opt_str("Keyword");
    let matching: Vec<&Template> = state
        .templates
        .values()
        .filter(|t| keyword.as_ref().is_none_or(|k| t.name.contains(k.as_str())))
        .collect();
    let list: Vec<Value> = matching
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|t| json!({
            "Count": t.regions.len(),
            "Status": "normal",
            "Name": t.name,
            "Region": t.regions.iter().map(|r| json!({"Status": "normal", "RegionId": r, "RegionName": r})).collect::<Vec<_>>(),
            "TemplateId": t.id,
            "OSType": "centos 7.4 64位",
            "CreateTime": t.created,
        }))
        .collect();
    Ok(success(
        json!({"TotalPage": matching.len().div_ceil(size).max(1), "TemplateList": list}),
    ))
}
