//! Property test: any event shape gets an answer (or the declared 500 for what Python leaves
//! unhandled) and never a panic; DynamoDB points at a closed port, as in an outage.

use manuel_shared::pyvalue;
use proptest::prelude::*;
use serde_json::{json, Value};
use usage::{handle, unhandled, Clients};

fn clients(rt: &tokio::runtime::Runtime) -> Clients {
    rt.block_on(async {
        let conf = manuel_shared::aws::config_for_endpoint("http://127.0.0.1:9", "eu-west-1").await;
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
        }
    })
}

fn anything() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        ".{0,30}".prop_map(Value::from),
        Just(json!({})),
        Just(json!([1])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered(
        method in prop_oneof![Just(json!("GET")), Just(json!("OPTIONS")), anything()],
        path in prop_oneof![Just(json!("/api/user/usage")), Just(json!("/api/user/quota")), anything()],
        sub in prop_oneof![Just(json!("u1")), anything()],
        drop_method in any::<bool>(),
    ) {
        std::env::set_var("USAGE_TABLE_NAME", "t");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = clients(&rt);
        let mut event = json!({"path": path, "requestContext": {"authorizer": {"claims": {"sub": sub}}}});
        if !drop_method {
            event["httpMethod"] = method;
        }
        let r = match rt.block_on(handle(&event, &c)) {
            Ok(r) => r,
            Err(e) => unhandled(&e),
        };
        prop_assert!([200, 401, 404, 500].contains(&r.status_code), "{r:?}");
        prop_assert!(pyvalue::loads(&r.body).is_ok(), "{}", r.body);
    }
}

#[test]
fn outage_answers_like_python() {
    std::env::set_var("USAGE_TABLE_NAME", "t");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = clients(&rt);
    let ev = |path: &str| json!({"httpMethod": "GET", "path": path, "requestContext": {"authorizer": {"claims": {"sub": "u1"}}}});
    // Stats fail with a connection error (not a ClientError): Python's except answers 500.
    let r = rt.block_on(handle(&ev("/api/user/quota"), &c)).unwrap();
    assert_eq!(r.status_code, 500);
    assert_eq!(r.body, r#"{"error": "Failed to get quota information"}"#);
    let r = rt.block_on(handle(&ev("/api/user/nothing"), &c)).unwrap();
    assert_eq!(
        (r.status_code, r.body.as_str()),
        (404, r#"{"error": "Endpoint not found"}"#)
    );
    let r = rt.block_on(handle(&json!({"path": "/api/user/usage"}), &c));
    assert_eq!(r.unwrap_err().kind, "KeyError");
}
