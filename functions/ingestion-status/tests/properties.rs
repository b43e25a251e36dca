//! Property tests of the ingestion-status port: any event gets an answer of the Python's shape
//! (never a panic), whatever the services do — here they are unreachable (a closed port), the
//! failure every path must survive — and the recent-jobs sort is a stable descending sort.

use ingestion_status::{handle, Clients, Env};
use manuel_shared::ddb::{py_lt, Attr};
use manuel_shared::pysort::sort_order;
use manuel_shared::testkit::{json_value, maybe, offline, request_string};
use proptest::prelude::*;
use serde_json::{json, Value};

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered_in_the_handlers_shape(
        method in maybe(prop_oneof![Just(json!("GET")), Just(json!("OPTIONS")), json_value()]),
        query in maybe(prop_oneof![
            request_string().prop_map(|s| json!({"job_id": s})),
            Just(json!({"job_id": ""})),
            json_value(),
        ]),
        context in maybe(prop_oneof![
            Just(json!({"authorizer": {"claims": {"sub": "u"}}})),
            json_value(),
        ]),
        whole_event in prop_oneof![5 => Just(None), 1 => json_value().prop_map(Some)],
        table in maybe(request_string().prop_map(Value::from)),
        kb in maybe(request_string().prop_map(Value::from)),
    ) {
        let event = whole_event.unwrap_or_else(|| {
            let mut e = json!({"path": "/api/ingestion/status"});
            if let Some(m) = method { e["httpMethod"] = m; }
            if let Some(q) = query { e["queryStringParameters"] = q; }
            if let Some(c) = context { e["requestContext"] = c; }
            e
        });
        let env = Env {
            usage_table: table.and_then(|v| v.as_str().map(str::to_owned)),
            knowledge_base_id: kb.and_then(|v| v.as_str().map(str::to_owned)),
        };
        let r = offline(async |conf| handle(&event, &Clients::new(conf), &env).await);
        let status = r["statusCode"].as_u64().unwrap();
        prop_assert!([200, 500].contains(&status), "{r}");
        let text = r["body"].as_str().unwrap();
        if text.is_empty() {
            prop_assert_eq!(
                r["headers"]["Access-Control-Allow-Methods"].as_str(),
                Some("GET,OPTIONS")
            );
        } else {
            let body: Value = serde_json::from_str(text).unwrap();
            if status == 500 {
                prop_assert_eq!(&body["error"], "Failed to get ingestion status");
                prop_assert!(body["traceback"]
                    .as_str()
                    .unwrap()
                    .starts_with("Traceback (most recent call last):\n"));
            } else {
                // Nothing is reachable: every 200 is one of the handler's error bodies.
                prop_assert!(body.get("error").is_some(), "{body}");
            }
        }
    }

    #[test]
    fn recent_jobs_sort_is_stable_and_descending(keys in prop::collection::vec("[a-c]{0,2}", 0..150)) {
        let attrs: Vec<Attr> = keys.iter().map(|k| Attr::Str(k.clone())).collect();
        let order = sort_order(&attrs, true, py_lt).unwrap();
        let mut seen = order.clone();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..keys.len()).collect::<Vec<_>>());
        for w in order.windows(2) {
            let (a, b) = (&keys[w[0]], &keys[w[1]]);
            prop_assert!(a > b || (a == b && w[0] < w[1]), "{a:?}@{} before {b:?}@{}", w[0], w[1]);
        }
    }
}
