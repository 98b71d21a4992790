//! The CEN product (`cbn.aliyuncs.com`, API `2017-09-12`, global): cloud enterprise networks and
//! their attached networks.
//!
//! A CEN is `Creating` for [`CEN_PENDING_MS`], then `Active`; a deleted one is `Deleting` until
//! gone. Attached networks are `Attaching` → `Attached`; a detached one is `Detaching` until gone.
//! Global resources live under the region `""`.

use serde_json::{Value, json};

use super::common::{new_resource, object, page, view};
use super::error::AliError;
use super::state::{Resource, State};
use super::{Call, Product};

/// How long each CEN transition takes, in simulated ms.
pub const CEN_PENDING_MS: u64 = 3_000;

/// The CEN product.
pub(crate) const PRODUCT: Product = Product {
    name: "Cbn",
    version: "2017-09-12",
    actions: &[
        "CreateCen",
        "DescribeCens",
        "DeleteCen",
        "AttachCenChildInstance",
        "DetachCenChildInstance",
        "DescribeCenAttachedChildInstances",
    ],
    regional: false,
    handle,
};

fn handle(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    match call.action {
        "CreateCen" => create(state, call),
        "DescribeCens" => Ok(describe(state, call)),
        "DeleteCen" => delete(state, call),
        "AttachCenChildInstance" => attach(state, call),
        "DetachCenChildInstance" => detach(state, call),
        "DescribeCenAttachedChildInstances" => children(state, call),
        other => Err(AliError::unknown_action(other)),
    }
}

fn cen<'a>(state: &'a State, id: &str) -> Result<&'a Resource, AliError> {
    state
        .get("", "cen", id)
        .filter(|c| c.gone_ms.is_none())
        .ok_or_else(|| AliError::not_found("ParameterCenInstanceId", "CEN instance"))
}

fn create(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = new_resource(
        state,
        call,
        "cen",
        CEN_PENDING_MS,
        json!({"Name": call.get("Name").unwrap_or(""),
            "Description": call.get("Description").unwrap_or("")}),
    );
    if let Some(c) = state.get_mut("", "cen", &id) {
        c.transition("Creating", "Active", call.now_ms, CEN_PENDING_MS);
    }
    Ok(json!({"CenId": id}))
}

/// `Filter.N.Key=CenId` with `Filter.N.Value.M` ids: the filter Alibaba's `DescribeCens` takes.
fn cen_filter(call: &Call<'_>) -> Option<Vec<String>> {
    (1..10).find_map(|n| {
        (call.get(&format!("Filter.{n}.Key")) == Some("CenId")).then(|| {
            (1..)
                .map_while(|m| {
                    call.get(&format!("Filter.{n}.Value.{m}"))
                        .map(str::to_owned)
                })
                .collect()
        })
    })
}

fn describe(state: &State, call: &Call<'_>) -> Value {
    let ids = cen_filter(call);
    let items = state
        .list("", "cen")
        .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
        .map(|c| view(c, call.now_ms, json!({"CenId": c.id})))
        .collect();
    page(items, "Cens", "Cen")
}

fn child_of<'a>(state: &'a State, cen: &str, child: &str) -> Option<&'a Resource> {
    state.list("", "cenchild").find(|c| {
        c.attr("CenId") == cen && c.attr("ChildInstanceId") == child && c.gone_ms.is_none()
    })
}

fn delete(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("CenId")?;
    cen(state, id)?;
    if state.list("", "cenchild").any(|c| c.attr("CenId") == id) {
        return Err(AliError::new(
            400,
            "InvalidOperation.CenInstanceStatus",
            "The CEN instance still has attached network instances.",
        ));
    }
    if let Some(c) = state.get_mut("", "cen", id) {
        c.transition("Deleting", "Deleting", call.now_ms, CEN_PENDING_MS);
        c.gone_ms = Some(call.now_ms + CEN_PENDING_MS);
    }
    Ok(json!({}))
}

fn attach(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("CenId")?;
    let child = call.require("ChildInstanceId")?;
    let region = call.require("ChildInstanceRegionId")?;
    let kind = call.require("ChildInstanceType")?;
    if cen(state, id)?.status(call.now_ms) != "Active" {
        return Err(AliError::incorrect_status(
            "InvalidOperation.CenInstanceStatus",
            "CEN instance",
        ));
    }
    if kind != "VPC" {
        return Err(AliError::invalid_parameter(
            "ChildInstanceType",
            "The simulator attaches VPCs.",
        ));
    }
    if state.get(region, "vpc", child).is_none() {
        return Err(AliError::not_found("InvalidVpcId.NotFound", "VPC"));
    }
    if state
        .list("", "cenchild")
        .any(|c| c.attr("ChildInstanceId") == child)
    {
        return Err(AliError::new(
            400,
            "InstanceExist.AlreadyAttached",
            "The network instance is already attached to a CEN instance.",
        ));
    }
    let child_id = state.new_id("cenchild");
    state.insert(Resource {
        kind: "cenchild",
        id: child_id,
        region: String::new(),
        pending_status: "Attaching",
        ready_status: "Attached".to_owned(),
        ready_ms: call.now_ms + CEN_PENDING_MS,
        attrs: object(json!({"CenId": id, "ChildInstanceId": child,
            "ChildInstanceType": kind, "ChildInstanceRegionId": region})),
        gone_ms: None,
    });
    Ok(json!({}))
}

fn detach(state: &mut State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("CenId")?;
    let child = call.require("ChildInstanceId")?;
    cen(state, id)?;
    let Some(attached) = child_of(state, id, child) else {
        return Err(AliError::not_found(
            "InvalidOperation.ChildInstanceNotFound",
            "attached network instance",
        ));
    };
    if attached.status(call.now_ms) != "Attached" {
        return Err(AliError::incorrect_status(
            "InvalidOperation.ChildInstanceStatus",
            "network instance",
        ));
    }
    let attached = attached.id.clone();
    if let Some(c) = state.get_mut("", "cenchild", &attached) {
        c.transition("Detaching", "Detaching", call.now_ms, CEN_PENDING_MS);
        c.gone_ms = Some(call.now_ms + CEN_PENDING_MS);
    }
    Ok(json!({}))
}

fn children(state: &State, call: &Call<'_>) -> Result<Value, AliError> {
    let id = call.require("CenId")?;
    cen(state, id)?;
    let items: Vec<Value> = state
        .list("", "cenchild")
        .filter(|c| c.attr("CenId") == id)
        .map(|c| {
            let mut item = view(c, call.now_ms, json!({}));
            item.as_object_mut().map(|m| m.remove("RegionId"));
            item
        })
        .collect();
    Ok(page(items, "ChildInstances", "ChildInstance"))
}
