//! Property tests of the backup port: any event gets an answer of the handler's shape (never a
//! panic) while DynamoDB and S3 are unreachable (a closed port) — the failure every path must
//! survive — and the restore simulation echoes what it was given, whatever it is.

use backup::{handle, Clients, Env};
use manuel_shared::testkit::{any_body, json_value, offline, proxy_event, request_string};
use proptest::prelude::*;
use serde_json::{json, Value};

fn answer(event: &Value, env: &Env) -> Value {
    offline(async |conf| handle(event, &Clients::new(conf), env).await)
}

fn route() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("/backup/status")),
        Just(json!("/backup/metrics")),
        Just(json!("/backup/verify")),
        Just(json!("/backup/restore")),
        Just(json!("/dev/api/backup/verify")),
        request_string().prop_map(Value::from),
        json_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered_in_the_handlers_shape(
        event in proxy_event(&["GET", "POST", "OPTIONS"], route(), any_body()),
        table in proptest::option::of(request_string()),
        bucket in proptest::option::of(request_string()),
        retention in proptest::option::of(request_string()),
    ) {
        let env = Env {
            usage_table: table,
            manuals_bucket: bucket,
            retention_days: retention,
            ..Env::default()
        };
        let r = answer(&event, &env);
        let status = r["statusCode"].as_u64().unwrap();
        prop_assert!([200, 202, 207, 404, 405, 500].contains(&status), "{r}");
        prop_assert_eq!(r["headers"]["Access-Control-Allow-Origin"].as_str(), Some("*"));
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        match status {
            404 => prop_assert_eq!(&body, &json!({"error": "Backup endpoint not found"})),
            405 => prop_assert_eq!(&body, &json!({"error": "Method not allowed"})),
            500 => {
                // The catch-all or one of the per-operation handlers.
                prop_assert!(body["error"].as_str().is_some_and(|e| e.ends_with("failed")
                    || e.starts_with("Failed to")), "{body}");
                prop_assert!(body["details"].is_string(), "{body}");
            }
            _ => prop_assert!(body.is_object(), "{body}"),
        }
    }

    #[test]
    fn restore_echoes_type_and_target_time(
        kind in json_value(),
        target in json_value(),
        services in prop::collection::vec(prop_oneof![
            Just("dynamodb".to_owned()), Just("s3".to_owned()), request_string()
        ], 0..5),
    ) {
        let body = json!({"type": kind, "target_time": target, "services": services});
        let event = json!({
            "httpMethod": "POST", "path": "/backup/restore", "body": body.to_string()
        });
        let r = answer(&event, &Env::default());
        prop_assert_eq!(r["statusCode"].as_u64(), Some(202), "{}", r);
        let out: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        prop_assert_eq!(&out["recovery_type"], &body["type"]);
        prop_assert_eq!(&out["status"], "initiated");
        prop_assert_eq!(&out["target_time"], &body["target_time"]);
        // One entry per distinct service, in first-seen order: dynamodb simulated, the rest skipped.
        let mut distinct: Vec<&String> = Vec::new();
        for s in &services {
            if !distinct.contains(&s) { distinct.push(s); }
        }
        let entries = out["services"].as_object().unwrap();
        prop_assert_eq!(entries.keys().collect::<Vec<_>>(), distinct);
        for (k, v) in entries {
            let want = if k == "dynamodb" { "simulated" } else { "skipped" };
            prop_assert_eq!(v["status"].as_str(), Some(want));
        }
    }
}
