//! The alicloud (camelCase) WeCube envelope.
//!
//! Invariants as for `wecube_envelope`, in alicloud's key names, plus: every output carries
//! `callbackParameter` (echoed, `""` when the input had none).

#![no_main]

use broker_sdk::ErrorMessage;
use broker_sdk::alicloud;
use broker_sdk::wecube::{self, Input, Output};
use libfuzzer_sys::fuzz_target;

fn handler(input: &Input) -> Result<Output, ErrorMessage> {
    if input.get("fail").is_some() {
        return Err(ErrorMessage::new("failed"));
    }
    Ok(input.fields().clone())
}

fuzz_target!(|body: &[u8]| {
    let (status, answer) = alicloud::process(body, handler);
    let inputs = wecube::parse_inputs(body);
    assert_eq!(status == 200, inputs.is_ok());
    let outputs = answer["results"]["outputs"]
        .as_array()
        .expect("outputs array");
    let Ok(inputs) = inputs else {
        assert_eq!(answer["resultCode"], "1");
        assert!(outputs.is_empty());
        return;
    };
    assert_eq!(outputs.len(), inputs.len());
    let mut failed = false;
    for (input, output) in inputs.iter().zip(outputs) {
        assert_eq!(output["guid"], input.guid().as_str());
        assert!(output["callbackParameter"].is_string(), "{output}");
        let code = output["errorCode"].as_str().expect("errorCode is text");
        assert_eq!(code == "1", input.get("fail").is_some());
        failed |= code == "1";
    }
    assert_eq!(answer["resultCode"], if failed { "1" } else { "0" });
    let success = answer["resultMessage"] == "Success";
    assert_eq!(success, !failed);
});
