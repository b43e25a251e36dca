//! Property test: any event, any environment strings and any ARN get a proxy response with a
//! status the Python could answer and a JSON body — never a panic. Redis endpoints are local
//! or unresolvable, so no case waits on the network.

use health::{handle, HealthEnv};
use manuel_shared::runtime::InvokeContext;
use manuel_shared::testkit::{json_value, maybe, request_string};
use proptest::prelude::*;
use serde_json::{json, Value};

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_event_and_environment_is_answered(
        method in maybe(prop_oneof![Just(json!("GET")), Just(json!("POST")), json_value()]),
        path in maybe(prop_oneof![
            Just(json!("/health")), Just(json!("/api/health")), Just(json!("/health/deep")),
            request_string().prop_map(|s| json!(format!("{s}/health"))), json_value(),
        ]),
        whole_event in prop_oneof![3 => Just(None), 1 => json_value().prop_map(Some)],
        endpoint in prop_oneof![Just(String::new()), Just("127.0.0.1".to_string()),
            Just("no such host!".to_string()), Just("%ü".to_string())],
        port in prop_oneof![Just("1".to_string()), request_string()],
        enable in prop_oneof![Just("true".to_string()), Just("false".to_string()), request_string()],
        arn in prop_oneof![
            Just("arn:aws:lambda:eu-west-1:123456789012:function:health".to_string()),
            request_string(),
        ],
        deadline in any::<u64>(),
        memory in maybe(request_string().prop_map(Value::from)),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let event = whole_event.unwrap_or_else(|| {
            let mut e = json!({});
            if let Some(m) = method { e["httpMethod"] = m; }
            if let Some(p) = path { e["path"] = p; }
            e
        });
        let env = HealthEnv { redis_endpoint: endpoint, redis_port: port, enable_redis: enable };
        let mut ctx = InvokeContext::from_parts("req-1", &arn, deadline);
        ctx.memory_limit_in_mb = memory.and_then(|m| m.as_str().map(str::to_owned));
        let r = rt.block_on(handle(&event, &ctx, &env));
        let status = r["statusCode"].as_u64().unwrap();
        prop_assert!([200, 404, 500, 503].contains(&status), "{r}");
        let body = r["body"].as_str().unwrap();
        prop_assert!(serde_json::from_str::<Value>(body).is_ok(), "{body}");
    }
}
