//! Property test: whatever the event and body, the handler answers a proxy response with a
//! status the Python could answer and a body Python's json can read — it never panics. AWS
//! endpoints point at a closed port (no retries), so every path that reaches AWS fails fast
//! the way an outage would.

use manuel_shared::pyvalue;
use manuel_shared::testkit::{body_text, request_string};
use proptest::prelude::*;
use query::{handle, Clients, QueryEnv};
use serde_json::{json, Value};

fn clients() -> Clients {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conf = manuel_shared::aws::config_for_endpoint("http://127.0.0.1:9", "eu-west-1").await;
        Clients::new(&conf)
    })
}

/// Bodies: arbitrary text, JSON-shaped text with questions of every type, Python-only JSON.
fn body() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,1200}".prop_map(Value::from),
    ];
    let json_value = scalar.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        Just(Value::Null),
        ".{0,200}".prop_map(Value::from),
        json_value
            .clone()
            .prop_map(|q| Value::from(json!({ "question": q }).to_string())),
        (json_value.clone(), json_value.clone(), json_value.clone()).prop_map(|(f, c, q)| {
            Value::from(json!({"file_data": f, "content_type": c, "question": q}).to_string())
        }),
        prop_oneof![
            Just(r#"{"question": NaN}"#),
            Just(r#"{"question": "\ud800"}"#),
            Just(r#"{"question": -Infinity}"#),
            Just(r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["#),
            Just("\u{feff}{}"),
            Just(r#"{"question": "a", "question": 1e400}"#),
        ]
        .prop_map(Value::from),
        body_text("question"),
        request_string().prop_map(|q| Value::from(json!({ "question": q }).to_string())),
        json_value,
    ]
}

fn claims() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"authorizer": {"claims": {"sub": "user-1"}}})),
        Just(json!({"authorizer": {"claims": {}}})),
        Just(json!({"authorizer": {"claims": "x"}})),
        Just(json!({"authorizer": null})),
        Just(Value::Null),
        Just(json!([])),
        any::<i64>().prop_map(|i| json!({"authorizer": {"claims": {"sub": i}}})),
        ".{0,20}".prop_map(|s| json!({"authorizer": {"claims": {"sub": s}}})),
        request_string().prop_map(|s| json!({"authorizer": {"claims": {"sub": s}}})),
    ]
}

fn method() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(Some(Value::from("POST"))),
        Just(Some(Value::from("OPTIONS"))),
        Just(Some(Value::Null)),
        Just(None),
        any::<i32>().prop_map(|i| Some(Value::from(i))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_event_gets_a_python_shaped_answer(body in body(), rc in claims(), m in method()) {
        std::env::set_var("KNOWLEDGE_BASE_ID", "KB");
        std::env::set_var("TEXT_MODEL_ID", "anthropic.claude-3-5-sonnet-20241022-v2:0");
        std::env::remove_var("USAGE_TABLE_NAME");
        let env = QueryEnv::from_env();
        let c = clients();
        let mut event = json!({"path": "/api/query", "requestContext": rc, "body": body});
        if let Some(m) = m {
            event["httpMethod"] = m;
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let out = rt.block_on(handle(&event, "req-1", &env, &c));
        let status = out["statusCode"].as_u64().unwrap();
        prop_assert!([200, 400, 401, 408, 429, 500].contains(&status), "status {status}: {out}");
        let text = out["body"].as_str().unwrap();
        if !text.is_empty() {
            prop_assert!(pyvalue::loads(text).is_ok(), "body not JSON: {text}");
        }
        prop_assert_eq!(out["headers"]["Access-Control-Allow-Origin"].as_str(), Some("*"));
    }
}

#[test]
fn known_answers_without_aws() {
    std::env::set_var("KNOWLEDGE_BASE_ID", "KB");
    std::env::set_var("TEXT_MODEL_ID", "m");
    let env = QueryEnv::from_env();
    let c = clients();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ask = |body: &str| {
        let ev = json!({"httpMethod": "POST", "requestContext": {"authorizer": {"claims": {"sub": "u"}}}, "body": body});
        let out = rt.block_on(handle(&ev, "r", &env, &c));
        (
            out["statusCode"].as_u64().unwrap(),
            out["body"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        ask("{"),
        (400, r#"{"error": "Invalid JSON in request body"}"#.into())
    );
    assert_eq!(
        ask(&format!(r#"{{"question": "{}"}}"#, "é".repeat(1001))),
        (400, r#"{"error": "Question too long"}"#.into())
    );
    let (status, body) = ask(r#"{"question": "abc\ud800"}"#);
    assert_eq!(status, 500);
    assert!(
        body.contains(r#""error_type": "UnicodeEncodeError""#),
        "{body}"
    );
    // A valid question reaches Retrieve, whose endpoint is closed: botocore's connection error.
    let (status, body) = ask(r#"{"question": "hello"}"#);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("EndpointConnectionError"), "{body}");
}
