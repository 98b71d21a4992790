//! The bridgx plugin's own failures, all in BridgX's `{code, msg, data}` envelope: no account,
//! login refused, BridgX unreachable or too slow, an endpoint the address policy forbids,
//! unknown routes, wrong methods and malformed bodies. The broker keeps serving after each.

use broker::config::SettingValue;
use broker_sim::FaultKind;
use reqwest::Method;
use serde_json::{Value, json};

use crate::bridgx::{DEMO_ENDPOINT, call, call_as, ok, register, start, start_with};
use crate::harness::logs;

const PATH: &str = "region/list?provider=AlibabaCloud";

fn envelope(text: &str) -> Value {
    let answer: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(answer["data"], Value::Null, "{answer}");
    answer
}

#[tokio::test]
async fn a_missing_account_is_named_in_the_envelope() {
    let (t, _clock) = start().await;
    let (status, text) = call_as(&t, Some("nope"), Method::GET, PATH, None).await;
    let answer = envelope(&text);
    assert_eq!((status, &answer["code"]), (400, &json!(400)));
    let msg = answer["msg"].as_str().unwrap();
    assert!(
        msg.contains("no BridgX account `nope`") && msg.contains("X-Bridgx-Account"),
        "{msg}"
    );
    // The default account still works.
    ok(&t, Method::GET, PATH, None).await;
}

#[tokio::test]
async fn a_refused_login_is_a_401_that_names_the_reason_and_never_the_password() {
    let (t, _clock) = start().await;
    register(&t, "wrong", DEMO_ENDPOINT, "root", "not-the-password-4711").await;
    let (status, text) = call_as(&t, Some("wrong"), Method::GET, PATH, None).await;
    let answer = envelope(&text);
    assert_eq!((status, &answer["code"]), (401, &json!(401)));
    let msg = answer["msg"].as_str().unwrap();
    assert!(
        msg.contains("incorrect username/password") && msg.contains("`wrong`"),
        "{msg}"
    );
    assert!(!text.contains("not-the-password-4711"));
    assert_eq!(t.bridgx().logins(), 0);
    assert!(
        !logs().contains("not-the-password-4711"),
        "the password never reaches a log line"
    );
}

#[tokio::test]
async fn an_unreachable_bridgx_is_a_502() {
    // The operator maps the host to a closed loopback port.
    let (t, _clock) = start_with(&[], &[("bridgx.down.internal", "http://127.0.0.1:9")]).await;
    register(
        &t,
        "default",
        "http://bridgx.down.internal",
        "root",
        "123456",
    )
    .await;
    let (status, text) = call_as(&t, None, Method::GET, PATH, None).await;
    let answer = envelope(&text);
    assert_eq!((status, &answer["code"]), (502, &json!(502)));
    assert!(
        answer["msg"].as_str().unwrap().contains("unreachable"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_bridgx_that_does_not_answer_in_time_is_a_504() {
    let (t, _clock) = start_with(&[("timeout-ms", SettingValue::Integer(300))], &[]).await;
    register(&t, "default", DEMO_ENDPOINT, "root", "123456").await;
    ok(&t, Method::GET, PATH, None).await;
    t.bridgx().faults().fail_next(1, FaultKind::Hang);
    let (status, text) = call_as(&t, None, Method::GET, PATH, None).await;
    let answer = envelope(&text);
    assert_eq!((status, &answer["code"]), (504, &json!(504)));
    assert!(
        answer["msg"].as_str().unwrap().contains("300 ms"),
        "{answer}"
    );
    t.bridgx().faults().fail_next(1, FaultKind::Http500);
    let (status, text) = call_as(&t, None, Method::GET, PATH, None).await;
    assert_eq!(
        status, 502,
        "a gateway error is not BridgX's envelope: {text}"
    );
    ok(&t, Method::GET, PATH, None).await;
}

#[tokio::test]
async fn an_account_endpoint_on_loopback_is_refused_unless_the_operator_mapped_it() {
    let (t, _clock) = start().await;
    let direct = t.bridgx().url();
    register(&t, "direct", &direct, "root", "123456").await;
    let (status, text) = call_as(&t, Some("direct"), Method::GET, PATH, None).await;
    let answer = envelope(&text);
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["msg"].as_str().unwrap().contains("loopback"),
        "{answer}"
    );
    assert_eq!(t.bridgx().requests(), 0);
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_bodies_get_the_envelope() {
    let (t, _clock) = start().await;
    let (status, answer) = call(&t, Method::GET, "cluster/delete/1", None).await;
    assert_eq!(
        (status, answer["code"].as_u64()),
        (404, Some(404)),
        "{answer}"
    );
    let (status, answer) = call(&t, Method::GET, "vpc/create", None).await;
    assert_eq!(status, 405, "{answer}");
    assert!(answer["msg"].as_str().unwrap().contains("use POST"));
    for body in ["{not json", "[1,2]", "\"text\""] {
        let (status, text) = call_as(&t, None, Method::POST, "vpc/create", Some(body)).await;
        let answer = envelope(&text);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["msg"].as_str().unwrap().starts_with("param_invalid"),
            "{answer}"
        );
    }
    let (status, answer) = call(&t, Method::POST, "vpc/create", Some(json!({"provider": 1, "region_id": "cn-qingdao", "vpc_name": "x", "ak": crate::bridgx::AK}))).await;
    assert_eq!(
        status, 400,
        "a number where BridgX wants a string: {answer}"
    );
    assert_eq!(
        t.bridgx().logins(),
        1,
        "only the last request reached BridgX"
    );
    ok(&t, Method::GET, PATH, None).await;
}
