//! The cds plugin's WeCube-style resource routes, end to end in simulated time: each waits on
//! its task and returns the resource ids and attributes; creates are idempotent by `id`,
//! terminates of absent resources succeed.

use serde_json::{Value, json};

use crate::cds::{PARAMS, REGION, post_ok, sim, start};
use crate::harness::TestBroker;

/// One input with `guid` and [`PARAMS`] plus `fields`.
fn input(fields: Value) -> Value {
    let mut input = json!({"guid": "0008_0000000088", "provider_params": PARAMS});
    for (k, v) in fields.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

async fn ok(t: &TestBroker, route: &str, fields: Value) -> Value {
    let out = post_ok(t, route, input(fields)).await;
    assert_eq!(out["guid"], "0008_0000000088", "{out}");
    out
}

fn id(out: &Value) -> String {
    out["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id in {out}"))
        .to_owned()
}

#[tokio::test]
async fn vdc_and_network_routes_run_their_lifecycle() {
    let (t, _) = start().await;
    let vdc_out = ok(&t, "vdc/create", json!({"name": "wecube-vdc"})).await;
    let vdc = id(&vdc_out);
    assert_eq!(
        (vdc_out["name"].as_str(), vdc_out["region_id"].as_str()),
        (Some("wecube-vdc"), Some(REGION))
    );
    let again = ok(&t, "vdc/create", json!({"id": vdc, "name": "other"})).await;
    assert_eq!(
        (id(&again), again["name"].as_str()),
        (vdc.clone(), Some("wecube-vdc"))
    );
    assert_eq!(
        sim(&t).inspect(|s| s.vdcs.len()),
        1,
        "an existing id creates nothing"
    );

    let public_out = ok(
        &t,
        "public-network/create",
        json!({"vdc_id": vdc, "name": "wan", "qos": 10, "ip_num": 4}),
    )
    .await;
    let public = id(&public_out);
    assert_eq!(public_out["vdc_id"], vdc.as_str());
    assert_eq!(public_out["ips"].as_str().unwrap().split(',').count(), 4);
    assert_eq!(
        id(&ok(
            &t,
            "public-network/create",
            json!({"id": public, "vdc_id": vdc, "qos": 1, "ip_num": 1})
        )
        .await),
        public
    );

    let changed = ok(
        &t,
        "public-network/modify-bandwidth",
        json!({"id": public, "qos": 50}),
    )
    .await;
    assert_eq!(changed["qos"], "50");
    let added = ok(
        &t,
        "public-network/add-ip",
        json!({"id": public, "number": 2}),
    )
    .await;
    let segment = added["segment_id"].as_str().unwrap().to_owned();
    assert_eq!(added["segment_ips"].as_str().unwrap().split(',').count(), 2);
    assert!(added["segment_ids"].as_str().unwrap().contains(&segment));
    let removed = ok(
        &t,
        "public-network/remove-ip",
        json!({"id": public, "segment_id": segment}),
    )
    .await;
    assert!(!removed["segment_ids"].as_str().unwrap().contains(&segment));
    ok(
        &t,
        "public-network/remove-ip",
        json!({"id": public, "segment_id": segment}),
    )
    .await;
    let renewed = ok(
        &t,
        "public-network/renew",
        json!({"id": public, "auto_renew": 0}),
    )
    .await;
    assert_eq!(renewed["auto_renew"], "0");
    assert_eq!(
        sim(&t).inspect(|s| s.public_networks[&public].auto_renew),
        0
    );

    let private_out = ok(
        &t,
        "private-network/create",
        json!({"vdc_id": vdc, "name": "lan", "address": "192.168.0.0", "mask": 24}),
    )
    .await;
    let private = id(&private_out);
    assert_eq!(private_out["segments"], "192.168.0.0/24~192.168.0.255/24");
    assert_eq!(
        id(&ok(
            &t,
            "private-network/create",
            json!({"id": private, "vdc_id": vdc})
        )
        .await),
        private
    );

    for (route, gone) in [
        ("private-network/terminate", &private),
        ("public-network/terminate", &public),
        ("vdc/terminate", &vdc),
    ] {
        assert_eq!(id(&ok(&t, route, json!({"id": gone})).await), *gone);
        assert_eq!(
            id(&ok(&t, route, json!({"id": gone})).await),
            *gone,
            "{route} of a gone resource succeeds"
        );
    }
    assert_eq!(
        sim(&t).inspect(|s| (
            s.vdcs.len(),
            s.public_networks.len(),
            s.private_networks.len()
        )),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn vm_disk_security_group_and_template_routes_run_their_lifecycle() {
    let (t, _) = start().await;
    let vdc = id(&ok(&t, "vdc/create", json!({"name": "apps"})).await);
    ok(
        &t,
        "public-network/create",
        json!({"vdc_id": vdc, "qos": 10, "ip_num": 4}),
    )
    .await;
    let private = id(&ok(
        &t,
        "private-network/create",
        json!({"vdc_id": vdc, "address": "10.9.1.0", "mask": 24}),
    )
    .await);

    // vm/create returns the addresses DescribeInstances shows.
    let vm_out = ok(
        &t,
        "vm/create",
        json!({"vdc_id": vdc, "password": "EcsV587!x", "name": "app_001", "cpu": 2, "ram": "4",
               "image_id": "Centos_7.6_64", "private_network_id": private, "private_ip": "10.9.1.10",
               "public_ip": "auto", "data_disks": "[{\"Size\": 100, \"Type\": \"ssd_disk\"}]"}),
    )
    .await;
    let vm = id(&vm_out);
    assert_eq!(vm_out["private_ip"], "10.9.1.10");
    assert!(
        vm_out["public_ip"].as_str().unwrap().starts_with("118."),
        "{vm_out}"
    );
    assert_eq!(
        (
            vm_out["instance_state"].as_str(),
            vm_out["cpu"].as_str(),
            vm_out["memory"].as_str()
        ),
        (Some("running"), Some("2"), Some("4"))
    );
    assert_eq!(
        id(&ok(
            &t,
            "vm/create",
            json!({"id": vm, "vdc_id": vdc, "password": "x"})
        )
        .await),
        vm
    );
    assert_eq!(sim(&t).inspect(|s| s.instances.len()), 1);

    assert_eq!(
        ok(&t, "vm/stop", json!({"id": vm})).await["instance_state"],
        "shutdown"
    );
    assert_eq!(
        ok(&t, "vm/stop", json!({"id": vm})).await["instance_state"],
        "shutdown"
    );
    assert_eq!(
        ok(&t, "vm/start", json!({"id": vm})).await["instance_state"],
        "running"
    );
    ok(&t, "vm/reboot", json!({"id": vm})).await;
    let spec = ok(&t, "vm/change-spec", json!({"id": vm, "cpu": 4, "ram": 8})).await;
    assert_eq!(
        (spec["cpu"].as_str(), spec["memory"].as_str()),
        (Some("4"), Some("8"))
    );
    assert_eq!(
        ok(
            &t,
            "vm/change-charge-type",
            json!({"id": vm, "charge_type": "PrePaid", "prepaid_month": 1})
        )
        .await["charge_type"],
        "PrePaid"
    );
    assert_eq!(
        ok(
            &t,
            "vm/reset-image",
            json!({"id": vm, "image_id": "Ubuntu_16.04_64"})
        )
        .await["image_id"],
        "Ubuntu_16.04_64"
    );
    assert_eq!(
        ok(&t, "vm/change-ip", json!({"id": vm, "ip": "10.9.1.20"})).await["private_ip"],
        "10.9.1.20"
    );

    // Disks.
    let disk_out = ok(
        &t,
        "disk/create",
        json!({"instance_id": vm, "size": 50, "type": "high_disk"}),
    )
    .await;
    let disk = id(&disk_out);
    assert_eq!(
        (disk_out["size"].as_str(), disk_out["type"].as_str()),
        (Some("50"), Some("high_disk"))
    );
    assert_eq!(
        id(&ok(
            &t,
            "disk/create",
            json!({"id": disk, "instance_id": vm, "size": 10})
        )
        .await),
        disk
    );
    assert_eq!(
        ok(
            &t,
            "disk/resize",
            json!({"instance_id": vm, "id": disk, "size": 80})
        )
        .await["size"],
        "80"
    );
    ok(&t, "disk/terminate", json!({"instance_id": vm, "id": disk})).await;
    ok(&t, "disk/terminate", json!({"instance_id": vm, "id": disk})).await;
    assert!(!sim(&t).inspect(|s| s.disks.contains_key(&disk)));

    // Security groups.
    let sg_out = ok(
        &t,
        "security-group/create",
        json!({"name": "web", "description": "web tier", "type": "private"}),
    )
    .await;
    let sg = id(&sg_out);
    assert_eq!(sg_out["name"], "web");
    assert_eq!(
        id(&ok(
            &t,
            "security-group/create",
            json!({"id": sg, "name": "web"})
        )
        .await),
        sg
    );
    let rule = ok(&t, "security-group/add-rule", json!({"id": sg, "protocol": "TCP", "target_address": "0.0.0.0/0", "target_port": "0", "local_port": "80", "priority": 10})).await["rule_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let icmp = ok(
        &t,
        "security-group/add-rule",
        json!({"id": sg, "protocol": "ICMP", "target_address": "0.0.0.0/0"}),
    )
    .await;
    assert_ne!(icmp["rule_id"], rule.as_str());
    assert_eq!(
        ok(
            &t,
            "security-group/modify-rule",
            json!({"id": sg, "rule_id": rule, "description": "http"})
        )
        .await["description"],
        "http"
    );
    assert_eq!(
        ok(
            &t,
            "security-group/modify-rule-priority",
            json!({"id": sg, "rule_id": rule, "priority": 3})
        )
        .await["priority"],
        "3"
    );
    ok(
        &t,
        "security-group/join",
        json!({"id": sg, "instance_id": vm}),
    )
    .await;
    assert_eq!(
        sim(&t).inspect(|s| s.security_groups[&sg].bindings.clone()),
        [(vm.clone(), private.clone())]
    );
    ok(
        &t,
        "security-group/leave",
        json!({"id": sg, "instance_id": vm, "private_id": private}),
    )
    .await;
    assert!(sim(&t).inspect(|s| s.security_groups[&sg].bindings.is_empty()));
    ok(
        &t,
        "security-group/remove-rule",
        json!({"id": sg, "rule_id": rule}),
    )
    .await;
    ok(
        &t,
        "security-group/remove-rule",
        json!({"id": sg, "rule_id": rule}),
    )
    .await;
    assert_eq!(sim(&t).inspect(|s| s.security_groups[&sg].rules.len()), 1);
    ok(
        &t,
        "security-group/join",
        json!({"id": sg, "instance_id": vm}),
    )
    .await;
    ok(
        &t,
        "security-group/terminate",
        json!({"id": sg, "force": true}),
    )
    .await;
    ok(&t, "security-group/terminate", json!({"id": sg})).await;
    assert!(sim(&t).inspect(|s| s.security_groups.is_empty()));

    // Templates.
    let template_out = ok(
        &t,
        "template/create",
        json!({"instance_id": vm, "name": "golden"}),
    )
    .await;
    let template = id(&template_out);
    assert_eq!(
        (
            template_out["name"].as_str(),
            template_out["regions"].as_str()
        ),
        (Some("golden"), Some(REGION))
    );
    assert_eq!(
        id(&ok(
            &t,
            "template/create",
            json!({"id": template, "instance_id": vm, "name": "x"})
        )
        .await),
        template
    );
    let synced = ok(
        &t,
        "template/sync",
        json!({"id": template, "region_id": "CN_Beijing_B"}),
    )
    .await;
    assert_eq!(synced["regions"], format!("{REGION},CN_Beijing_B"));
    let deleted = ok(
        &t,
        "template/delete",
        json!({"id": template, "region_id": "CN_Beijing_B"}),
    )
    .await;
    assert_eq!(deleted["regions"], REGION);
    ok(
        &t,
        "template/delete",
        json!({"id": template, "region_id": "CN_Beijing_B"}),
    )
    .await;
    ok(&t, "template/delete", json!({"id": template})).await;
    assert!(sim(&t).inspect(|s| s.templates.is_empty()));

    ok(&t, "vm/terminate", json!({"id": vm})).await;
    ok(&t, "vm/terminate", json!({"id": vm})).await;
    assert!(sim(&t).inspect(|s| s.instances.is_empty()));
}

#[tokio::test]
async fn one_failing_input_does_not_abort_the_batch() {
    let (t, _) = start().await;
    let (status, answer) = t
        .post(
            "/v1/cds/vdc/create",
            &json!({"inputs": [
                input(json!({"name": "a"})),
                input(json!({"region_id": "Mars_A"})),
                input(json!({"name": "c"})),
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["result_code"], "1");
    let outputs = answer["results"]["outputs"].as_array().unwrap();
    let codes: Vec<&str> = outputs
        .iter()
        .map(|o| o["error_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["0", "1", "0"]);
    assert!(
        outputs[1]["error_message"]
            .as_str()
            .unwrap()
            .contains("Code=Region.NotOnSale"),
        "{answer}"
    );
    assert_eq!(sim(&t).inspect(|s| s.vdcs.len()), 2);
}

#[tokio::test]
async fn vm_create_with_a_seed_generates_a_password_and_answers_it_encrypted() {
    let (t, _) = start().await;
    let vdc = id(&ok(&t, "vdc/create", json!({})).await);
    let out = ok(&t, "vm/create", json!({"vdc_id": vdc, "seed": "abc@2018"})).await;
    let encrypted = out["password"].as_str().unwrap();
    assert!(
        encrypted.starts_with(broker_sdk::password::CIPHER_PREFIX),
        "{out}"
    );
    let plain = broker_sdk::password::decrypt("0008_0000000088", "abc@2018", encrypted).unwrap();
    let vm = id(&out);
    assert_eq!(
        sim(&t).inspect(|s| s.instances[&vm].password.clone()),
        plain
    );
    assert!(
        !crate::harness::logs().contains(&plain),
        "the password is never logged"
    );
    // A `{cipher_a}` password is decrypted with the seed before it is sent.
    let given = broker_sdk::password::encrypt("0008_0000000088", "s33d", "Given#Pass1");
    let out = ok(
        &t,
        "vm/create",
        json!({"vdc_id": vdc, "seed": "s33d", "password": given}),
    )
    .await;
    assert!(
        out["password"].is_null(),
        "a given password is not answered"
    );
    let vm = id(&out);
    assert_eq!(
        sim(&t).inspect(|s| s.instances[&vm].password.clone()),
        "Given#Pass1"
    );
    let error = crate::cds::post_err(&t, "vm/create", input(json!({"vdc_id": vdc}))).await;
    assert_eq!(
        error,
        "give \"password\", or \"seed\" to have one generated"
    );
}
