//! The tencent compute envelope's request reader (`Fields`) and its answer body.
//!
//! Invariants: every accessor answers for every field without panicking, and consistently
//! (`required_*` is `optional_*` with absence as an error; strings come back trimmed and
//! non-blank); a failure renders into an answer that re-parses with its `scode` and messages.

#![no_main]

use broker_sdk::envelope::tencent::{self, Failure, Fields};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn check_answer(failure: &Failure) {
    assert_ne!(failure.scode, tencent::SCODE_OK);
    let answer = tencent::body(
        failure.scode,
        &failure.message,
        &failure.message_cn,
        Value::Null,
    );
    let reparsed: Value = serde_json::from_slice(&serde_json::to_vec(&answer).unwrap()).unwrap();
    assert_eq!(reparsed["scode"], failure.scode);
    assert_eq!(reparsed["message"], failure.message.as_str());
    assert_eq!(reparsed["message_cn"], failure.message_cn.as_str());
}

fuzz_target!(|body: &[u8]| {
    let fields = match Fields::parse(body) {
        Ok(fields) => fields,
        Err(failure) => {
            assert_eq!(failure.status, 400);
            check_answer(&failure);
            return;
        }
    };
    // Every field the body has, plus one it does not.
    let mut names: Vec<String> = fields.map().keys().cloned().collect();
    names.push("\u{0}absent".to_owned());
    for name in &names {
        assert_eq!(fields.has(name), fields.get(name).is_some());
        match fields.optional_str(name) {
            Ok(Some(s)) => {
                assert!(!s.is_empty() && s.trim() == s, "{s:?}");
                assert_eq!(fields.required_str(name).ok(), Some(s));
            }
            Ok(None) => assert!(fields.required_str(name).is_err()),
            Err(failure) => check_answer(&failure),
        }
        match fields.optional_str_list(name) {
            Ok(Some(items)) => {
                assert!(!items.is_empty());
                assert!(items.iter().all(|s| !s.is_empty() && s.trim() == s));
            }
            Ok(None) => assert!(fields.required_str_list(name).is_err()),
            Err(failure) => check_answer(&failure),
        }
        if let Err(failure) = fields.optional_object(name) {
            check_answer(&failure);
        }
        if let Ok(Some(list)) = fields.optional_object_list(name) {
            assert!(list.iter().all(Value::is_object));
        }
        if let Ok(Some(n)) = fields.optional_uint(name) {
            match fields.get(name) {
                Some(Value::Number(v)) => assert_eq!(v.as_u64(), Some(n)),
                Some(Value::String(s)) => assert_eq!(s.trim().parse::<u64>().ok(), Some(n)),
                other => panic!("uint from {other:?}"),
            }
        }
        if let Err(failure) = fields.optional_bool(name) {
            check_answer(&failure);
        }
    }
});
