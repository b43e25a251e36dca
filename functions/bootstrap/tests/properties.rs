//! Property tests of the bootstrap port: any event gets an answer of the handler's shape (never a
//! panic) while S3, DynamoDB and Bedrock are unreachable (a closed port) — the failure every
//! action must survive.

use bootstrap::{handle, Clients, Env};
use manuel_shared::testkit::{any_body, offline, proxy_event, request_string};
use proptest::prelude::*;
use serde_json::{json, Value};

fn answer(event: &Value, env: &Env) -> Value {
    offline(async |conf| handle(event, &Clients::new(conf), env).await)
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(json!("{\"action\": \"populate\"}")),
        1 => Just(json!("{\"action\": \"clear\"}")),
        1 => Just(json!("{\"action\": \"status\"}")),
        3 => any_body(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered_in_the_handlers_shape(
        event in proxy_event(&["POST", "OPTIONS"], Just(json!("/api/bootstrap")), body()),
        bucket in proptest::option::of(prop_oneof![Just("manuel-manuals".to_owned()), request_string()]),
        table in proptest::option::of(request_string()),
        kb in proptest::option::of(request_string()),
    ) {
        let env = Env { manuals_bucket: bucket.clone(), usage_table: table, knowledge_base_id: kb };
        let r = answer(&event, &env);
        let status = r["statusCode"].as_u64().unwrap();
        let text = r["body"].as_str().unwrap();
        if bucket.as_deref().is_none_or(str::is_empty) {
            prop_assert_eq!(status, 400);
            prop_assert!(r.get("headers").is_none(), "{r}");
            return Ok(());
        }
        if text.is_empty() {
            prop_assert_eq!(status, 200);
            prop_assert_eq!(r["headers"]["Access-Control-Allow-Methods"].as_str(), Some("POST,OPTIONS"));
            return Ok(());
        }
        prop_assert_eq!(r["headers"]["Content-Type"].as_str(), Some("application/json"));
        let out: Value = serde_json::from_str(text).unwrap();
        match status {
            400 => prop_assert_eq!(
                &out["error"], "Invalid action. Use 'populate', 'clear', or 'status'"
            ),
            500 => {
                // Nothing is reachable: the listing fails, or the request itself was malformed.
                let e = out["error"].as_str().unwrap();
                prop_assert!(e == "Bootstrap failed" || e.starts_with("Failed to"), "{out}");
                prop_assert!(out["details"].is_string());
                prop_assert_eq!(out.get("timestamp").is_some(), e == "Bootstrap failed");
            }
            other => prop_assert!(false, "status {other}: {out}"),
        }
    }
}
