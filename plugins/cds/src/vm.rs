//! `vm/*`: cloud servers. Every route waits on its task, then reads the instance back with
//! `DescribeInstances` for its addresses and state.

use broker_sdk::cds::CdsApi;
use broker_sdk::wecube::{Input, Output};
use broker_sdk::{ErrorMessage, log, password};
use serde_json::{Value, json};

use crate::common::{
    Ctx, Params, data, existing, items, opt_list, opt_u64, run, run_and_wait, text,
};

/// The instance `id`, if it exists.
pub fn find(api: &impl CdsApi, id: &str) -> Result<Option<Value>, ErrorMessage> {
    let answer = run(
        api,
        "DescribeInstances",
        &Params::new().set("InstanceId", id),
    )?;
    Ok(items(data(&answer), "Instances")
        .iter()
        .find(|i| text(i, "InstanceId") == id)
        .cloned())
}

/// The instance `id`, or an error saying it is not found.
pub fn require(api: &impl CdsApi, id: &str) -> Result<Value, ErrorMessage> {
    find(api, id)?.ok_or_else(|| ErrorMessage::new(format!("instance {id} is not found")))
}

/// The `{id, name, state, cpu, ram, private_ip, public_ip, ...}` of an instance.
fn vm_output(ctx: &Ctx, vm: &Value) -> Output {
    let mut out = ctx.output(Some(text(vm, "InstanceId")));
    let private = items(vm, "PrivateNetworkInterface");
    let join = |key: &str| {
        private
            .iter()
            .map(|n| text(n, key))
            .collect::<Vec<_>>()
            .join(",")
    };
    out.insert("name".into(), text(vm, "InstanceName").into());
    out.insert("vdc_id".into(), text(vm, "VdcId").into());
    out.insert("instance_state".into(), text(vm, "InstanceStatus").into());
    out.insert("cpu".into(), vm.get("Cpu").cloned().unwrap_or(Value::Null));
    out.insert(
        "memory".into(),
        vm.get("Ram").cloned().unwrap_or(Value::Null),
    );
    out.insert("charge_type".into(), text(vm, "InstanceChargeType").into());
    out.insert("image_id".into(), text(vm, "ImageId").into());
    out.insert("private_ip".into(), join("IP").into());
    out.insert("private_interface_id".into(), join("InterfaceId").into());
    let public = vm.get("PublicNetworkInterface").unwrap_or(&Value::Null);
    out.insert("public_ip".into(), text(public, "IP").into());
    out.insert(
        "public_interface_id".into(),
        text(public, "InterfaceId").into(),
    );
    out
}

/// `vm/create`: `vdc_id`, `password` (or `seed`: a password is generated and answered
/// encrypted as `{cipher_a}…`; a `{cipher_a}` password is decrypted with `seed`), `name`, `cpu`, `ram`, `instance_type`, `image_id`,
/// `charge_type`, `data_disks` (`[{"Size":..,"Type":..}]`), `private_network_id` and
/// `private_ip`, `public_ip` (`auto` or an address), `region_id` (default: `Region`); returns
/// the existing instance when `id` names one.
pub fn handle_create(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    if let Some(vm) = existing(input, |id| find(&api, id))? {
        return Ok(vm_output(&ctx, &vm));
    }
    let seed = input.optional_str("seed")?;
    let (password, generated) = match (input.optional_str("password")?, seed) {
        // A `{cipher_a}` password is decrypted with `seed`; any other is used as it is.
        (Some(given), Some(seed)) => (password::decrypt(&ctx.guid, seed, given)?, false),
        (Some(given), None) => (given.to_owned(), false),
        (None, Some(_)) => (password::generate()?, true),
        (None, None) => {
            return Err(ErrorMessage::new(
                "give \"password\", or \"seed\" to have one generated",
            ));
        }
    };
    log::redact(&password);
    let private_ip = match input.optional_str("private_network_id")? {
        Some(network) => {
            let ips: Vec<&str> = input.optional_str("private_ip")?.into_iter().collect();
            Some(json!([{"PrivateId": network, "IP": ips}]))
        }
        None => None,
    };
    let params = Params::new()
        .set("RegionId", ctx.region(input)?)
        .set("VdcId", input.required_str("vdc_id")?)
        .set("Password", password.as_str())
        .set_opt("InstanceName", input.optional_str("name")?)
        .set_opt("Cpu", opt_u64(input, "cpu")?)
        .set_opt("Ram", opt_u64(input, "ram")?)
        .set_opt("InstanceType", input.optional_str("instance_type")?)
        .set_opt("ImageId", input.optional_str("image_id")?)
        .set_opt("InstanceChargeType", input.optional_str("charge_type")?)
        .set_opt("DataDisks", opt_list(input, "data_disks")?)
        .set_opt(
            "PublicIp",
            input.optional_str("public_ip")?.map(|ip| json!([ip])),
        )
        .set_opt("PrivateIp", private_ip)
        .set("Amount", 1);
    let (_, task) = run_and_wait(&api, "CreateInstance", &params)?;
    let id = task
        .and_then(|t| t.resource_id().map(str::to_owned))
        .ok_or_else(|| ErrorMessage::new("the CreateInstance task named no instance"))?;
    let mut out = vm_output(&ctx, &require(&api, &id)?);
    if let (true, Some(seed)) = (generated, seed) {
        out.insert(
            "password".into(),
            password::encrypt(&ctx.guid, seed, &password).into(),
        );
    }
    Ok(out)
}

/// `vm/terminate`: `id`; success when it is already gone.
pub fn handle_terminate(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    if find(&api, id)?.is_some() {
        run_and_wait(
            &api,
            "DeleteInstance",
            &Params::new().set("InstanceIds", json!([id])),
        )?;
    }
    Ok(ctx.output(Some(id)))
}

/// Runs `action` on instance `id` with `params`, waits, and answers the instance as it is now.
fn act(
    input: &Input,
    action: &str,
    params: impl FnOnce(&Input, Params) -> Result<Params, ErrorMessage>,
) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let params = params(input, Params::new().set("InstanceId", id))?;
    run_and_wait(&api, action, &params)?;
    Ok(vm_output(&ctx, &require(&api, id)?))
}

/// `vm/start`: `id`; the instance runs afterwards (success when it already runs).
pub fn handle_start(input: &Input) -> Result<Output, ErrorMessage> {
    power(input, "StartInstance", "running")
}

/// `vm/stop`: `id`; the instance is shut down afterwards (success when it already is).
pub fn handle_stop(input: &Input) -> Result<Output, ErrorMessage> {
    power(input, "StopInstance", "shutdown")
}

/// A start or stop: nothing to do when the instance is in `target` already.
fn power(input: &Input, action: &str, target: &str) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let vm = require(&api, id)?;
    if text(&vm, "InstanceStatus") == target {
        return Ok(vm_output(&ctx, &vm));
    }
    run_and_wait(&api, action, &Params::new().set("InstanceId", id))?;
    Ok(vm_output(&ctx, &require(&api, id)?))
}

/// `vm/reboot`: `id`.
pub fn handle_reboot(input: &Input) -> Result<Output, ErrorMessage> {
    act(input, "RebootInstance", |_, p| Ok(p))
}

/// `vm/change-spec`: `id`, `cpu` and/or `ram`.
pub fn handle_change_spec(input: &Input) -> Result<Output, ErrorMessage> {
    act(input, "ModifyInstanceSpec", |input, p| {
        let (cpu, ram) = (opt_u64(input, "cpu")?, opt_u64(input, "ram")?);
        if cpu.is_none() && ram.is_none() {
            return Err(ErrorMessage::new("give \"cpu\", \"ram\" or both"));
        }
        Ok(p.set_opt("Cpu", cpu).set_opt("Ram", ram))
    })
}

/// `vm/change-charge-type`: `id`, `charge_type` (`PrePaid`/`PostPaid`), `auto_renew`,
/// `prepaid_month`.
pub fn handle_change_charge_type(input: &Input) -> Result<Output, ErrorMessage> {
    act(input, "ModifyInstanceChargeType", |input, p| {
        Ok(
            p.set("InstanceChargeType", input.required_str("charge_type")?)
                .set_opt("AutoRenew", opt_u64(input, "auto_renew")?)
                .set_opt("PrepaidMonth", opt_u64(input, "prepaid_month")?),
        )
    })
}

/// `vm/reset-image`: `id`, `image_id`.
pub fn handle_reset_image(input: &Input) -> Result<Output, ErrorMessage> {
    act(input, "ResetImage", |input, p| {
        Ok(p.set("ImageId", input.required_str("image_id")?))
    })
}

/// `vm/change-ip`: `id`, `ip`, `interface_id` (default: the first private interface).
pub fn handle_change_ip(input: &Input) -> Result<Output, ErrorMessage> {
    let ctx = Ctx::from_input(input)?;
    let api = ctx.client();
    let id = input.required_str("id")?;
    let interface = match input.optional_str("interface_id")? {
        Some(interface) => interface.to_owned(),
        None => items(&require(&api, id)?, "PrivateNetworkInterface")
            .first()
            .map(|n| text(n, "InterfaceId").to_owned())
            .ok_or_else(|| ErrorMessage::new(format!("instance {id} has no private interface")))?,
    };
    let params = Params::new()
        .set("InstanceId", id)
        .set("InterfaceId", interface)
        .set("Address", input.required_str("ip")?);
    run_and_wait(&api, "ModifyIpAddress", &params)?;
    Ok(vm_output(&ctx, &require(&api, id)?))
}

/// The data disks of instance `vm`.
pub fn data_disks(vm: &Value) -> &[Value] {
    vm.get("Disks")
        .map(|d| items(d, "DataDisks"))
        .unwrap_or_default()
}
