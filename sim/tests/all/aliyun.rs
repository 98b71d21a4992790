//! The Alibaba simulator over real HTTP: RPC v1 signatures, Alibaba's error body and statuses,
//! routing by `Version`.

use broker_sim::aliyun::verify::{percent_encode, signature, string_to_sign};
use broker_sim::{AliyunSim, AliyunSimConfig};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;

const KEY_ID: &str = "LTAI5tSimulatorDemo0000000";
const SECRET: &str = "simulatorDemoSecret000000000000";

fn now_timestamp(offset_secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap()
}

/// The signed query of one call: `params` plus the common parameters.
fn signed(
    method: &str,
    params: &[(&str, &str)],
    secret: &str,
    nonce: &str,
    timestamp: &str,
) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in [
        ("AccessKeyId", KEY_ID),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp),
    ] {
        all.push((k.to_owned(), v.to_owned()));
    }
    let sig = signature(secret, &string_to_sign(method, &all));
    all.push(("Signature".to_owned(), sig));
    all.iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn call(sim: &AliyunSim, query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/?{query}", sim.url()))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Parameters of one call.
type Params = &'static [(&'static str, &'static str)];

const VPCS: Params = &[
    ("Action", "DescribeVpcs"),
    ("Version", "2016-04-28"),
    ("RegionId", "ap-southeast-1"),
];

#[tokio::test]
async fn a_signed_call_answers_and_every_refusal_has_alibabas_body_and_status() {
    let sim = AliyunSim::spawn(AliyunSimConfig::default()).await.unwrap();
    let now = now_timestamp(0);
    let (status, body) = call(&sim, &signed("POST", VPCS, SECRET, "n-1", &now)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["TotalCount"], 0);
    assert_eq!(body["RequestId"].as_str().unwrap().len(), 36);

    // The same nonce again is a replay.
    let (status, body) = call(&sim, &signed("POST", VPCS, SECRET, "n-1", &now)).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "SignatureNonceUsed")
    );
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["Code", "HostId", "Message", "Recommend", "RequestId"]
    );

    let (status, body) = call(&sim, &signed("POST", VPCS, "wrong", "n-2", &now)).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "SignatureDoesNotMatch")
    );
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .contains("server string to sign is:POST&%2F&")
    );
    // Signed as GET, sent as POST: the method is part of the signature.
    let (status, body) = call(&sim, &signed("GET", VPCS, SECRET, "n-3", &now)).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "SignatureDoesNotMatch")
    );

    let stale = now_timestamp(-3600);
    let (status, body) = call(&sim, &signed("POST", VPCS, SECRET, "n-4", &stale)).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (400, "InvalidTimeStamp.Expired")
    );

    let unknown = signed("POST", VPCS, SECRET, "n-5", &now).replace(KEY_ID, "LTAInobody");
    let (status, body) = call(&sim, &unknown).await;
    assert_eq!(
        (status, body["Code"].as_str().unwrap()),
        (404, "InvalidAccessKeyId.NotFound")
    );

    let cases: [(Params, u16, &str); 5] = [
        (
            &[
                ("Action", "Nope"),
                ("Version", "2016-04-28"),
                ("RegionId", "ap-southeast-1"),
            ],
            404,
            "InvalidAction.NotFound",
        ),
        (
            &[("Action", "DescribeVpcs"), ("RegionId", "ap-southeast-1")],
            400,
            "MissingParameter",
        ),
        (
            &[
                ("Action", "DescribeVpcs"),
                ("Version", "2099-01-01"),
                ("RegionId", "ap-southeast-1"),
            ],
            400,
            "InvalidVersion",
        ),
        (
            &[("Action", "DescribeVpcs"), ("Version", "2016-04-28")],
            400,
            "MissingParameter",
        ),
        (
            &[
                ("Action", "DescribeVpcs"),
                ("Version", "2016-04-28"),
                ("RegionId", "mars-1"),
            ],
            404,
            "InvalidRegionId.NotFound",
        ),
    ];
    for (i, (params, want_status, code)) in cases.into_iter().enumerate() {
        let (status, body) = call(
            &sim,
            &signed("POST", params, SECRET, &format!("c-{i}"), &now),
        )
        .await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            (want_status, code),
            "{body}"
        );
    }
    // Global products need no region; ECS answers its own version.
    let cens = [("Action", "DescribeCens"), ("Version", "2017-09-12")];
    let (status, body) = call(&sim, &signed("POST", &cens, SECRET, "g-1", &now)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn parameters_may_also_come_in_a_form_body() {
    let sim = AliyunSim::spawn(AliyunSimConfig::default()).await.unwrap();
    let query = signed("POST", VPCS, SECRET, "f-1", &now_timestamp(0));
    let response = reqwest::Client::new()
        .post(format!("{}/", sim.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(sim.requests_seen(), 1);
}
