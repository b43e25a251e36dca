//! Property tests of the version port: any event is answered (never a panic) with a status the
//! Python handler can give, the version headers agree with the body, and the negotiation picks
//! the version the four methods name, in their order.

use manuel_shared::testkit::{json_value, maybe, request_string};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use version::negotiation::{search_vendor_type, ApiVersion};
use version::{handle, VersionEnv};

fn version_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1.0".to_string()),
        Just("1.1".to_string()),
        Just("2.0".to_string()),
        Just("v1.0".to_string()),
        Just("\u{661}.\u{660}".to_string()),
        "[0-9]{1,3}\\.[0-9]{1,3}",
        request_string(),
    ]
}

fn env() -> VersionEnv {
    VersionEnv {
        stage: "dev".into(),
        region: "eu-west-1".into(),
    }
}

fn run(event: &Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(handle(event, &env()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered_with_consistent_version_headers(
        method in maybe(prop_oneof![Just(json!("GET")), Just(json!("POST")), Just(json!("OPTIONS")), json_value()]),
        path in maybe(prop_oneof![
            Just(json!("/version")), Just(json!("/version/compatibility")),
            Just(json!("/version/changelog")), Just(json!("/v1.0/version")),
            request_string().prop_map(|s| json!(format!("{s}/version"))), json_value(),
        ]),
        accept in maybe(prop_oneof![
            version_text().prop_map(|v| json!(format!("application/vnd.manuel.v{v}+json"))),
            json_value(),
        ]),
        api_version in maybe(prop_oneof![version_text().prop_map(Value::from), json_value()]),
        query in maybe(prop_oneof![
            version_text().prop_map(|v| json!({"version": v})), json_value(),
        ]),
        headers_null in prop::bool::weighted(0.1),
        whole_event in prop_oneof![6 => Just(None), 1 => json_value().prop_map(Some)],
    ) {
        let event = whole_event.unwrap_or_else(|| {
            let mut e = Map::new();
            if let Some(m) = method { e.insert("httpMethod".into(), m); }
            if let Some(p) = path { e.insert("path".into(), p); }
            let mut h = Map::new();
            if let Some(a) = accept { h.insert("Accept".into(), a); }
            if let Some(a) = api_version { h.insert("API-Version".into(), a); }
            e.insert("headers".into(), if headers_null { Value::Null } else { Value::Object(h) });
            if let Some(q) = query { e.insert("queryStringParameters".into(), q); }
            Value::Object(e)
        });
        let r = run(&event);
        let status = r["statusCode"].as_u64().unwrap();
        prop_assert!([200, 400, 404, 405, 500].contains(&status), "{r}");
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        let headers = &r["headers"];
        if let Some(v) = headers.get("API-Version").and_then(Value::as_str) {
            prop_assert_eq!(
                headers["Content-Type"].as_str().unwrap(),
                format!("application/vnd.manuel.v{v}+json")
            );
            // 1.0 is rendered by the 1.0 transformer, every other version by 1.1's.
            let tag = if v == "1.0" { "1.0" } else { "1.1" };
            prop_assert_eq!(&body["api_version"], tag);
            if status != 200 {
                prop_assert_eq!(&body["status_code"], status);
            }
        } else {
            prop_assert_eq!(status, 200);
            prop_assert_eq!(&body, &json!({}));
        }
    }

    #[test]
    fn vendor_type_wins_over_every_other_method(
        v in "[0-9]{1,2}\\.[0-9]{1,2}",
        before in request_string(),
        // Python's `\d` is any Unicode decimal digit (Gujarati ૦ continues "0.0"), so what follows
        // the version may hold none of them.
        after in "[^\\d.]{0,8}",
        other in version_text(),
    ) {
        let accept = format!("{before}application/vnd.manuel.v{v}{after}");
        let event = json!({
            "httpMethod": "GET", "path": format!("/v{other}/version"),
            "headers": {"Accept": accept, "API-Version": other},
            "queryStringParameters": {"version": other},
        });
        let found = search_vendor_type(&accept);
        // `before` may itself hold a complete vendor type; the first one counts.
        let expected = found.clone().unwrap_or_default();
        prop_assert!(found.is_some());
        let r = run(&event);
        let requested = ApiVersion::from_str_lenient(&expected);
        prop_assert_eq!(r["headers"]["API-Version"].as_str().unwrap(), requested.value());
        if !before.contains("application/vnd.manuel.v") {
            prop_assert_eq!(expected, v);
        }
    }
}
