//! The generic route `POST /v1/cds/actions/{Action}`: every action of the spec (and
//! `StartInstance`) run through the broker against the simulator, in one lifecycle, each checked
//! against the simulator's state or answer.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::cds::{REGION, action_ok, sim, start, task_resource};
use crate::harness::TestBroker;

/// Runs actions and remembers which ones ran.
struct Runner<'a> {
    t: &'a TestBroker,
    ran: BTreeSet<String>,
}

impl Runner<'_> {
    async fn run(&mut self, name: &str, params: Value, wait: bool) -> Value {
        self.ran.insert(name.to_owned());
        action_ok(self.t, name, params, wait).await
    }

    /// Runs a task action with `wait: true`; returns its first resource id.
    async fn task(&mut self, name: &str, params: Value) -> String {
        let answer = self.run(name, params, true).await;
        task_resource(&answer)
    }

    async fn instance(&mut self, id: &str) -> Value {
        let answer = self
            .run("DescribeInstances", json!({"InstanceId": id}), false)
            .await;
        answer["response"]["Data"]["Instances"][0].clone()
    }
}

#[tokio::test]
async fn every_action_runs_through_the_generic_route() {
    let (t, _) = start().await;
    let mut r = Runner {
        t: &t,
        ran: BTreeSet::new(),
    };

    // Catalogue.
    let goods = r
        .run(
            "DescribeAvailableResource",
            json!({"RegionId": REGION}),
            false,
        )
        .await;
    assert_eq!(goods["response"]["Data"]["RegionId"], REGION);

    // VDC with a public network, then a private network and a second public network.
    let vdc = r
        .task(
            "CreateVdc",
            json!({"RegionId": REGION, "VdcName": "all-actions",
                   "PublicNetwork": {"Name": "公网1", "Type": "Bandwidth_BGP", "BillingMethod": "Bandwidth", "Qos": 20, "IPNum": 4, "AutoRenew": 0, "FloatBandwidth": 200}}),
        )
        .await;
    let described = r.run("DescribeVdc", json!({"VdcId": vdc}), false).await;
    let vdc_json = &described["response"]["Data"][0];
    assert_eq!(vdc_json["VdcName"], "all-actions");
    let public = vdc_json["PublicNetwork"][0]["PublicId"]
        .as_str()
        .unwrap()
        .to_owned();
    let private = r
        .task("CreatePrivateNetwork", json!({"VdcId": vdc, "Name": "私网1", "Type": "auto", "Address": "10.240.7.0", "Mask": "24"}))
        .await;
    let public2 = r
        .task(
            "CreatePublicNetwork",
            json!({"VdcId": vdc, "Type": "Bandwidth_BGP", "BillingMethod": "Bandwidth", "Qos": 10, "IPNum": 4, "AutoRenew": 1, "FloatBandwidth": 200}),
        )
        .await;
    r.task(
        "ModifyPublicNetwork",
        json!({"PublicId": public2, "Qos": 30}),
    )
    .await;
    assert_eq!(sim(&t).inspect(|s| s.public_networks[&public2].qos), 30);
    let segment = r
        .task("AddPublicIp", json!({"PublicId": public2, "Number": 2}))
        .await;
    assert_eq!(
        sim(&t).inspect(|s| s.public_networks[&public2].segments.len()),
        2
    );
    r.task("DeletePublicIp", json!({"SegmentId": segment}))
        .await;
    assert_eq!(
        sim(&t).inspect(|s| s.public_networks[&public2].segments.len()),
        1
    );
    let renewed = r
        .run(
            "RenewPublicNetwork",
            json!({"PublicId": public2, "AutoRenew": 0}),
            true,
        )
        .await;
    assert!(renewed["task"].is_null(), "RenewPublicNetwork has no task");
    assert_eq!(
        sim(&t).inspect(|s| s.public_networks[&public2].auto_renew),
        0
    );
    let traffic = r
        .run(
            "DescribeBandwidthTraffic",
            json!({"NetworkId": public}),
            false,
        )
        .await;
    assert_eq!(traffic["response"]["Data"]["MaxQos"], 20);

    // An instance, with the spec sample's `PrivateID` spelling.
    let vm = r
        .task(
            "CreateInstance",
            json!({"RegionId": REGION, "VdcId": vdc, "Password": "EcsV587!x", "InstanceName": "all-actions",
                   "Cpu": 2, "Ram": 4, "InstanceType": "Standard", "ImageId": "Centos_7.6_64",
                   "DataDisks": [{"Size": 100, "Type": "ssd_disk"}], "InstanceChargeType": "PostPaid",
                   "AutoRenew": 1, "PrepaidMonth": 1, "Amount": 1, "PublicIp": ["auto"],
                   "PrivateIp": [{"PrivateID": private, "IP": ["10.240.7.20"]}]}),
        )
        .await;
    let instance = r.instance(&vm).await;
    assert_eq!(instance["PrivateNetworkInterface"][0]["IP"], "10.240.7.20");
    assert_eq!(
        instance["PrivateNetworkInterface"][0]["PrivateId"],
        private.as_str()
    );
    assert!(
        instance["PublicNetworkInterface"]["IP"]
            .as_str()
            .unwrap()
            .starts_with("118.")
    );
    let nic = instance["PrivateNetworkInterface"][0]["InterfaceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = |t: &TestBroker| sim(t).inspect(|s| s.instances[&vm].status);

    r.task("StopInstance", json!({"InstanceId": vm})).await;
    assert_eq!(status(&t), "shutdown");
    r.task("StartInstance", json!({"InstanceId": vm})).await;
    assert_eq!(status(&t), "running");
    r.task("RebootInstance", json!({"InstanceId": vm})).await;
    r.task("ModifyInstanceChargeType", json!({"InstanceId": vm, "InstanceChargeType": "PrePaid", "AutoRenew": 1, "PrepaidMonth": 1})).await;
    r.task(
        "ModifyInstanceSpec",
        json!({"InstanceId": vm, "Cpu": 4, "Ram": 8}),
    )
    .await;
    let instance = r.instance(&vm).await;
    assert_eq!(
        (instance["Cpu"].as_u64(), instance["Ram"].as_u64()),
        (Some(4), Some(8))
    );
    assert_eq!(instance["InstanceChargeType"], "PrePaid");

    let disk = r
        .task(
            "CreateDisk",
            json!({"InstanceId": vm, "DataDisks": [{"Size": 50, "Type": "high_disk"}]}),
        )
        .await;
    r.task(
        "ResizeDisk",
        json!({"InstanceId": vm, "DiskId": disk, "DataSize": 200}),
    )
    .await;
    assert_eq!(sim(&t).inspect(|s| s.disks[&disk].size), 200);
    r.task("DeleteDisk", json!({"InstanceId": vm, "DiskIds": [disk]}))
        .await;
    assert!(!sim(&t).inspect(|s| s.disks.contains_key(&disk)));
    r.task(
        "ResetImage",
        json!({"InstanceId": vm, "ImageId": "Ubuntu_16.04_64"}),
    )
    .await;
    r.task(
        "DisconnectNetworkInterface",
        json!({"InstanceId": vm, "InterfaceId": nic}),
    )
    .await;
    r.task(
        "ConnectNetworkInterface",
        json!({"InstanceId": vm, "InterfaceId": nic}),
    )
    .await;
    r.task(
        "ModifyIpAddress",
        json!({"InstanceId": vm, "InterfaceId": nic, "Address": "10.240.7.30"}),
    )
    .await;
    let instance = r.instance(&vm).await;
    assert_eq!(instance["ImageId"], "Ubuntu_16.04_64");
    assert_eq!(instance["PrivateNetworkInterface"][0]["IP"], "10.240.7.30");
    assert_eq!(instance["PrivateNetworkInterface"][0]["Connected"], 1);
    let monitor = r
        .run(
            "DescribeInstanceMonitor",
            json!({"InstanceId": vm, "MetricName": "CPUUtilization", "Period": 60,
                   "StartTime": "2019-10-09 15:30:00", "EndTime": "2019-10-09 15:34:00"}),
            false,
        )
        .await;
    assert_eq!(
        monitor["response"]["Data"]["DataPoints"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // Security groups.
    r.run("CreateSecurityGroup", json!({"SecurityGroupName": "sg-all", "Description": "安全组", "SecurityGroupType": "private"}), true).await;
    let groups = r
        .run(
            "DescribeSecurityGroups",
            json!({"Keyword": "sg-all"}),
            false,
        )
        .await;
    let sg = groups["response"]["Data"]["SecurityGroup"][0]["SecurityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    r.run(
        "ModifySecurityGroupAttribute",
        json!({"SecurityGroupId": sg, "Description": "new"}),
        false,
    )
    .await;
    let rule = r
        .task(
            "AddSecurityGroupRule",
            json!({"SecurityGroupId": sg, "Action": "1", "Description": "开通80端口", "TargetAddress": "120.78.170.188/28",
                   "TargetPort": "0", "LocalPort": "80", "Direction": "all", "Priority": "10", "Protocol": "TCP", "RuleType": "ip"}),
        )
        .await;
    r.run(
        "ModifySecurityGroupRule",
        json!({"SecurityGroupId": sg, "RuleId": rule, "Description": "80"}),
        false,
    )
    .await;
    r.task(
        "ModifySecurityGroupRulePriority",
        json!({"SecurityGroupId": sg, "BindData": [{"RuleId": rule, "Priority": 5}]}),
    )
    .await;
    let attribute = r
        .run(
            "DescribeSecurityGroupAttribute",
            json!({"SecurityGroupId": sg}),
            false,
        )
        .await;
    let rule_json = &attribute["response"]["Data"]["SecurityGroupRules"][0];
    assert_eq!(
        (
            rule_json["Description"].as_str(),
            rule_json["Priority"].as_u64()
        ),
        (Some("80"), Some(5))
    );
    r.task(
        "JoinSecurityGroup",
        json!({"SecurityGroupId": sg, "BindData": [{"InstanceId": vm, "PrivateId": private}]}),
    )
    .await;
    assert_eq!(
        sim(&t).inspect(|s| s.security_groups[&sg].bindings.len()),
        1
    );
    r.task(
        "LeaveSecurityGroup",
        json!({"SecurityGroupId": sg, "BindData": [{"InstanceId": vm, "PrivateId": private}]}),
    )
    .await;
    r.task(
        "RemoveSecurityGroupRule",
        json!({"SecurityGroupId": sg, "RuleIds": [rule]}),
    )
    .await;
    r.run("DeleteSecurityGroup", json!({"SecurityGroupId": sg}), false)
        .await;
    r.run(
        "CreateSecurityGroup",
        json!({"SecurityGroupName": "sg-force", "Description": "d", "SecurityGroupType": "public"}),
        false,
    )
    .await;
    let sg2 = sim(&t).inspect(|s| s.security_groups.keys().next().cloned().unwrap());
    r.task(
        "JoinSecurityGroup",
        json!({"SecurityGroupId": sg2, "BindData": [{"InstanceId": vm, "PrivateId": private}]}),
    )
    .await;
    r.task("ForceDeleteSecurityGroup", json!({"SecurityGroupId": sg2}))
        .await;
    assert_eq!(sim(&t).inspect(|s| s.security_groups.len()), 0);

    // Templates.
    let template = r
        .task(
            "CreateTemplate",
            json!({"InstanceId": vm, "DisplayName": "模板", "PowerOn": true}),
        )
        .await;
    r.task(
        "SyncTemplate",
        json!({"TemplateId": template, "RegionId": "CN_Beijing_B"}),
    )
    .await;
    let info = r
        .run(
            "DescribeTemplateInfo",
            json!({"PageNumber": 1, "PageSize": 10}),
            false,
        )
        .await;
    assert_eq!(info["response"]["Data"]["TemplateList"][0]["Count"], 2);
    r.task(
        "DeleteTemplate",
        json!({"TemplateId": template, "RegionId": "CN_Beijing_B"}),
    )
    .await;
    assert_eq!(
        sim(&t).inspect(|s| s.templates[&template].regions.clone()),
        [REGION]
    );

    // Billing answers `success` in lower case; the broker accepts it.
    let bill = r
        .run(
            "DescribeBill",
            json!({"DateFromTo": "2019.09.02 - 2019.09.03"}),
            false,
        )
        .await;
    assert_eq!(bill["response"]["Code"], "success");
    assert!(
        bill["response"]["Data"]["BillInfo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["ResourceId"] == vm.as_str())
    );
    let detail = r
        .run(
            "DescribeBillInfo",
            json!({"DateFrom": "2019.09.02", "DateTo": "2019.09.03", "ResourceId": vm}),
            false,
        )
        .await;
    assert_eq!(
        detail["response"]["Data"]["BillDetail"][0]["ResourceId"],
        vm.as_str()
    );
    let metering = r
        .run(
            "GetMetering",
            json!({"EndTime": "2019-10-10", "Uid": "2001"}),
            false,
        )
        .await;
    assert_eq!(metering["response"]["Data"][0]["Id"], "2001");

    // Tasks, then tear-down.
    let (_, delete) =
        crate::cds::action(&t, "DeleteInstance", json!({"InstanceIds": [vm]}), false).await;
    let task_id = delete["response"]["TaskId"].as_str().unwrap().to_owned();
    r.ran.insert("DeleteInstance".into());
    let task = r
        .run("DescribeTask", json!({"TaskId": task_id}), false)
        .await;
    assert_eq!(task["response"]["Data"]["Status"], "NEW");
    assert_eq!(task["response"]["Data"]["ResourceIds"], json!([vm]));
    r.task("DeletePrivateNetwork", json!({"PrivateId": private}))
        .await;
    r.task("DeletePublicNetwork", json!({"PublicId": public2}))
        .await;
    r.task("DeleteVdc", json!({"VdcId": vdc})).await;
    assert_eq!(
        sim(&t).inspect(|s| (s.vdcs.len(), s.instances.len(), s.public_networks.len())),
        (0, 0, 0)
    );

    assert!(
        !crate::harness::logs().contains("EcsV587!x"),
        "the password is never logged"
    );
    let all: BTreeSet<String> = broker_sim::CdsSim::actions()
        .map(|(_, a, _)| a.to_owned())
        .collect();
    assert_eq!(all.len(), 49, "the spec's 48 actions and StartInstance");
    assert_eq!(r.ran, all, "every action ran");
}

/// The spec's worked examples (its "示例" section), with their parameters as written, through
/// the generic route. Example 6 names no action (`action = ""`, a doc error): it is
/// `ModifyInstanceChargeType`. Example 8 sends the POST action `CreateTemplate` with
/// `requests.get` (a doc error): the broker sends it as POST, as the action table says.
#[tokio::test]
async fn the_spec_examples_run_through_the_generic_route() {
    let (t, _) = start().await;
    let mut r = Runner {
        t: &t,
        ran: BTreeSet::new(),
    };
    let vdc = r
        .task(
            "CreateVdc",
            json!({"RegionId": REGION, "PublicNetwork": {"Name": "公网1", "Type": "Bandwidth_BGP", "BillingMethod": "Bandwidth", "Qos": 5, "IPNum": 4, "AutoRenew": 0, "FloatBandwidth": 200}}),
        )
        .await;
    r.task("CreatePrivateNetwork", json!({"VdcId": vdc})).await;

    // 2. The public networks of a VDC (a list: a VDC may have several).
    let described = r.run("DescribeVdc", json!({"VdcId": vdc}), false).await;
    let public = &described["response"]["Data"][0]["PublicNetwork"];
    assert_eq!(public.as_array().unwrap().len(), 1);
    assert_eq!(public[0]["Qos"], 5);
    let public_id = public[0]["PublicId"].as_str().unwrap().to_owned();

    // 4. Create an instance (task id; DescribeTask gives the resource id).
    let created = r
        .run(
            "CreateInstance",
            json!({"RegionId": REGION, "VdcId": vdc, "InstanceName": "example", "Cpu": 4, "Ram": 4,
                   "InstanceType": "Standard", "ImageId": "Centos_7.4_64", "DataDisks": [],
                   "InstanceChargeType": "PostPaid", "Password": "123abc,.;", "AutoRenew": 1,
                   "PrepaidMonth": 1, "Amount": 1, "PublicIp": ["auto"], "PrivateIp": ""}),
            true,
        )
        .await;
    assert!(
        created["response"]["TaskId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let vm = task_resource(&created);

    // 3. An instance by its public address (the sample's `PubIp`).
    let instance = r.instance(&vm).await;
    let public_ip = instance["PublicNetworkInterface"]["IP"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        instance["PublicNetworkInterface"]["PublicId"],
        public_id.as_str()
    );
    let by_ip = r
        .run("DescribeInstances", json!({"PubIp": public_ip}), false)
        .await;
    assert_eq!(
        by_ip["response"]["Data"]["Instances"][0]["InstanceId"],
        vm.as_str()
    );

    // 5. Public bandwidth.
    r.task(
        "ModifyPublicNetwork",
        json!({"PublicId": public_id, "Qos": 10}),
    )
    .await;
    // 6. Charge type.
    r.task("ModifyInstanceChargeType", json!({"InstanceId": vm, "InstanceChargeType": "PrePaid", "AutoRenew": 1, "PrepaidMonth": 1})).await;
    // 8. A template, powered off.
    let (_, template) = crate::cds::action(
        &t,
        "CreateTemplate",
        json!({"InstanceId": vm, "DisplayName": "模板名称", "PowerOn": false}),
        false,
    )
    .await;
    let task_id = template["response"]["TaskId"].as_str().unwrap().to_owned();
    // 7. Task status.
    let task = r
        .run("DescribeTask", json!({"TaskId": task_id}), false)
        .await;
    assert_eq!(task["response"]["Data"]["TaskType"], "createTemplate");
    assert_eq!(task["response"]["TaskId"], task_id.as_str());
}
