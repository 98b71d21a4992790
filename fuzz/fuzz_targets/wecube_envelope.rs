//! The qcloud (snake_case) WeCube envelope: `{"inputs": [...]}` in, one output per input out.
//!
//! Invariants: the body is answered 200 exactly when it is a batch; every input gets one output
//! with its `guid` and an `error_code` of "0" or "1"; `result_code` is "1" exactly when an input
//! failed; the answer survives a render → parse round trip.

#![no_main]

use broker_sdk::ErrorMessage;
use broker_sdk::wecube::{self, Input, Output};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Fails inputs that carry `fail`, otherwise echoes every field back.
fn handler(input: &Input) -> Result<Output, ErrorMessage> {
    if input.get("fail").is_some() {
        return Err(ErrorMessage::new(format!("input {} failed", input.index())));
    }
    Ok(input.fields().clone())
}

fuzz_target!(|body: &[u8]| {
    let (status, answer) = wecube::process(body, handler);
    let inputs = wecube::parse_inputs(body);
    assert_eq!(status == 200, inputs.is_ok());
    let outputs = answer["results"]["outputs"]
        .as_array()
        .expect("outputs array");
    let rendered = serde_json::to_vec(&answer).expect("answers render");
    let reparsed: Value = serde_json::from_slice(&rendered).expect("answers re-parse");
    assert_eq!(reparsed, answer);
    let Ok(inputs) = inputs else {
        assert_eq!(answer["result_code"], "1");
        assert!(outputs.is_empty());
        return;
    };
    assert_eq!(outputs.len(), inputs.len());
    let mut failed = false;
    for (input, output) in inputs.iter().zip(outputs) {
        assert_eq!(output["guid"], input.guid().as_str());
        let code = output["error_code"].as_str().expect("error_code is text");
        assert!(code == "0" || code == "1", "{code}");
        assert_eq!(code == "1", input.get("fail").is_some());
        failed |= code == "1";
    }
    assert_eq!(answer["result_code"], if failed { "1" } else { "0" });
});
