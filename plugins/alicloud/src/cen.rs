//! `cen/create|delete|attach|detach` (CEN product, global).

use broker_sdk::ErrorMessage;
use broker_sdk::aliyun::{AliyunApi, items, text};
use broker_sdk::clock::Poll;
use broker_sdk::wecube::{Input, Output};
use serde_json::{Value, json};

use crate::common::{CBN, Common, Session, wait_for};
use crate::waits;

/// CEN `id`, `None` when it does not exist (filtered by id, so every page is covered, unlike the
/// original's first-page look-up).
pub fn find_cen(api: &impl AliyunApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    let answer = api.call(
        "DescribeCens",
        &[("Filter.1.Key", "CenId"), ("Filter.1.Value.1", id)],
    )?;
    Ok(items(&answer.body, "Cens", "Cen")
        .iter()
        .find(|c| text(c, "CenId") == id)
        .cloned())
}

/// The networks attached to CEN `id`.
fn children(api: &impl AliyunApi, id: &str) -> Result<Vec<Value>, ErrorMessage> {
    let answer = api.call("DescribeCenAttachedChildInstances", &[("CenId", id)])?;
    Ok(items(&answer.body, "ChildInstances", "ChildInstance").to_vec())
}

/// Waits until CEN `id` has status `want` (`None`: until it is gone).
fn wait_cen(api: &impl AliyunApi, id: &str, want: Option<&str>) -> Result<(), ErrorMessage> {
    let what = format!("CEN {id} to be {}", want.unwrap_or("deleted"));
    wait_for(&what, waits::CEN, || {
        Ok(match (find_cen(api, id)?, want) {
            (None, None) => Poll::Ready(()),
            (None, Some(_)) => return Err(ErrorMessage::new(format!("CEN {id} disappeared"))),
            (Some(c), Some(want)) if text(&c, "Status") == want => Poll::Ready(()),
            (Some(c), _) => Poll::Pending(text(&c, "Status").to_owned()),
        })
    })
}

/// Waits until network `child` of CEN `id` is `Attached` (`attached`) or gone.
fn wait_child(
    api: &impl AliyunApi,
    id: &str,
    child: &str,
    attached: bool,
) -> Result<(), ErrorMessage> {
    let what = format!(
        "{child} to be {} CEN {id}",
        if attached {
            "attached to"
        } else {
            "detached from"
        }
    );
    wait_for(&what, waits::CEN, || {
        let found = children(api, id)?
            .into_iter()
            .find(|c| text(c, "ChildInstanceId") == child);
        Ok(match found {
            None if !attached => Poll::Ready(()),
            None => {
                return Err(ErrorMessage::new(format!(
                    "{child} is not attached to CEN {id}"
                )));
            }
            Some(c) if attached && text(&c, "Status") == "Attached" => Poll::Ready(()),
            Some(c) => Poll::Pending(text(&c, "Status").to_owned()),
        })
    })
}

/// `POST /alicloud/v1/cen/create`: returns the existing `cenId` or creates a CEN and waits until
/// it is `Active`. Output `cenId`.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let session = Session::new(&common);
    let api = session.client(CBN);
    let existing = match input.optional_str("cenId")? {
        Some(id) => find_cen(&api, id)?.map(|_| id.to_owned()),
        None => None,
    };
    let id = match existing {
        Some(id) => id,
        None => {
            let mut params = vec![("Name", input.required_str("name")?)];
            if let Some(description) = input.optional_str("description")? {
                params.push(("Description", description));
            }
            let created = api.call("CreateCen", &params)?;
            let id = text(&created.body, "CenId").to_owned();
            wait_cen(&api, &id, Some("Active"))?;
            id
        }
    };
    let mut out = Output::new();
    out.insert("cenId".into(), json!(id));
    Ok(out)
}

/// `POST /alicloud/v1/cen/delete`: detaches every network, deletes the CEN and waits until it is
/// gone; an absent CEN counts as deleted.
pub fn handle_delete(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("cenId")?;
    let session = Session::new(&common);
    let api = session.client(CBN);
    if find_cen(&api, id)?.is_none() {
        return Ok(Output::new());
    }
    for child in children(&api, id)? {
        detach(&api, id, &child)?;
    }
    api.call("DeleteCen", &[("CenId", id)])?;
    wait_cen(&api, id, None)?;
    Ok(Output::new())
}

/// Detaches the attached network `child` (as described) and waits until it is gone.
fn detach(api: &impl AliyunApi, id: &str, child: &Value) -> Result<(), ErrorMessage> {
    let child_id = text(child, "ChildInstanceId");
    if text(child, "Status") != "Attached" {
        wait_child(api, id, child_id, true)?;
    }
    api.call(
        "DetachCenChildInstance",
        &[
            ("CenId", id),
            ("ChildInstanceId", child_id),
            ("ChildInstanceType", text(child, "ChildInstanceType")),
            (
                "ChildInstanceRegionId",
                text(child, "ChildInstanceRegionId"),
            ),
        ],
    )?;
    wait_child(api, id, child_id, false)
}

/// `POST /alicloud/v1/cen/attach`: attaches network `childInstanceId` (type `childInstanceType`,
/// default `VPC`; region default the input's `regionId`, as the spec says) and waits until it is
/// `Attached`; already attached is success.
pub fn handle_attach(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("cenId")?;
    let child = input.required_str("childInstanceId")?;
    let kind = input.optional_str("childInstanceType")?.unwrap_or("VPC");
    let region = input
        .optional_str("childInstanceRegionId")?
        .unwrap_or(common.region());
    let session = Session::new(&common);
    let api = session.client(CBN);
    if !children(&api, id)?
        .iter()
        .any(|c| text(c, "ChildInstanceId") == child)
    {
        let mut params = vec![
            ("CenId", id),
            ("ChildInstanceId", child),
            ("ChildInstanceType", kind),
            ("ChildInstanceRegionId", region),
        ];
        if let Some(owner) = input.optional_str("childInstanceOwnerId")? {
            params.push(("ChildInstanceOwnerId", owner));
        }
        api.call("AttachCenChildInstance", &params)?;
    }
    wait_child(&api, id, child, true)?;
    Ok(Output::new())
}

/// `POST /alicloud/v1/cen/detach`: detaches the network and waits until it is gone; a network not
/// attached (or a CEN that is gone) is success.
pub fn handle_detach(input: &Input) -> Result<Output, ErrorMessage> {
    let common = Common::from_input(input)?;
    let id = input.required_str("cenId")?;
    let child = input.required_str("childInstanceId")?;
    let session = Session::new(&common);
    let api = session.client(CBN);
    if find_cen(&api, id)?.is_none() {
        return Ok(Output::new());
    }
    if let Some(attached) = children(&api, id)?
        .into_iter()
        .find(|c| text(c, "ChildInstanceId") == child)
    {
        detach(&api, id, &attached)?;
    }
    Ok(Output::new())
}
