//! Any event — SNS records of any shape, alarm messages with fields of any type, direct alarm
//! actions, arbitrary JSON — gets a reading per record and never a panic; and a guard without a
//! configuration fails every invocation with the variable it lacks (a failure Lambda counts and
//! SNS retries), never a success that did nothing.

use manuel_shared::runtime::InvokeContext;
use manuel_shared::testkit::{json_value, request_string};
use proptest::prelude::*;
use rollback_guard::{acts_on, readings, Reading};
use serde_json::{json, Value};

fn field() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("ALARM")),
        Just(json!("OK")),
        Just(json!("g")),
        request_string().prop_map(Value::from),
        json_value(),
    ]
}

fn message() -> impl Strategy<Value = Value> {
    (
        prop::option::of(field()),
        prop::option::of(field()),
        prop::option::of(field()),
    )
        .prop_map(|(name, state, reason)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("AlarmName", name),
                ("NewStateValue", state),
                ("NewStateReason", reason),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
}

fn event() -> impl Strategy<Value = Value> {
    let record = prop_oneof![
        message().prop_map(|m| json!({"Sns": {"Message": m.to_string()}})),
        message().prop_map(|m| json!({"Sns": {"Message": m}})),
        request_string().prop_map(|s| json!({"Sns": {"Message": s}})),
        json_value(),
    ];
    prop_oneof![
        prop::collection::vec(record, 0..4).prop_map(|r| json!({"Records": r})),
        (field(), field())
            .prop_map(|(n, s)| json!({"alarmData": {"alarmName": n, "state": {"value": s}}})),
        json_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_event_is_read_without_a_panic(event in event()) {
        let r = readings(&event);
        match event.get("Records") {
            // One reading per record, in order.
            Some(Value::Array(records)) => prop_assert_eq!(r.len(), records.len()),
            // Anything else is one notice or one reason.
            _ => prop_assert_eq!(r.len(), 1),
        }
        for reading in &r {
            if let Reading::Notice(n) = reading {
                // Acting needs this guard's name and the ALARM state, nothing less.
                let acts = acts_on(n, "g").is_ok();
                prop_assert_eq!(acts, n.alarm == "g" && n.state == "ALARM");
            }
        }
    }

    #[test]
    fn an_unconfigured_guard_fails_every_invocation(event in event()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // The test process has neither variable: init builds a guard without a configuration.
        std::env::remove_var(rollback_guard::TARGET_VAR);
        let guard = rt.block_on(rollback_guard::init());
        let ctx = InvokeContext::from_parts("r", "arn:aws:lambda:eu-west-1:1:function:g", 0);
        let err = rt.block_on(rollback_guard::answer(&event, &ctx, &guard)).unwrap_err();
        prop_assert!(err.to_string().contains(rollback_guard::TARGET_VAR), "{}", err);
    }
}
