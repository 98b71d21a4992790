//! What every simulated product shares: making a resource from a call, and the filters, pages
//! and item views of describe answers.

use serde_json::{Map, Value, json};

use super::Call;
use super::state::{Resource, State};

/// A JSON object literal as an attribute map (anything else is empty).
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Adds a resource of `kind` in the call's region, `Pending` for `pending_ms`, then `Available`
/// (callers change the statuses when their product uses others); returns its new id.
pub(crate) fn new_resource(
    state: &mut State,
    call: &Call<'_>,
    kind: &'static str,
    pending_ms: u64,
    attrs: Value,
) -> String {
    let id = state.new_id(kind);
    state.insert(Resource {
        kind,
        id: id.clone(),
        region: call.region.to_owned(),
        pending_status: "Pending",
        ready_status: "Available".to_owned(),
        ready_ms: call.now_ms + pending_ms,
        attrs: object(attrs),
        gone_ms: None,
    });
    id
}

/// Whether a resource matches an optional comma-separated id filter.
pub(crate) fn id_filter(call: &Call<'_>, key: &str, id: &str) -> bool {
    call.get(key)
        .is_none_or(|ids| ids.split(',').any(|want| want.trim() == id))
}

/// Whether a resource's attribute `key` matches an optional filter of the same name.
pub(crate) fn attr_filter(call: &Call<'_>, key: &str, resource: &Resource) -> bool {
    call.get(key).is_none_or(|want| resource.attr(key) == want)
}

/// A describe answer: `TotalCount`, one page, and the items under `list_key.item_key`.
pub(crate) fn page(items: Vec<Value>, list_key: &str, item_key: &str) -> Value {
    json!({
        "TotalCount": items.len(),
        "PageNumber": 1,
        "PageSize": items.len().max(10),
        list_key: { item_key: items },
    })
}

/// One described item: the attributes (internal `Entries` left out), `Status` at `now_ms`,
/// `RegionId`, and `extra`.
pub(crate) fn view(resource: &Resource, now_ms: u64, extra: Value) -> Value {
    let mut out: Map<String, Value> = resource
        .attrs
        .iter()
        .filter(|(k, _)| *k != "Entries")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("Status".into(), json!(resource.status(now_ms)));
    out.insert("RegionId".into(), json!(resource.region));
    if let Value::Object(extra) = extra {
        out.extend(extra);
    }
    Value::Object(out)
}
