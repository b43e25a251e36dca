//! Property test: any event shape gets an answer and never a panic; the AWS services point at a
//! closed port, as in an outage, and downloads only see URLs that need no network.

use manuals::{guard::FetchConfig, handle, Clients, ManualsEnv};
use manuel_shared::pyvalue;
use manuel_shared::testkit::{body_text, json_value, request_string};
use proptest::prelude::*;
use serde_json::{json, Value};

fn clients(rt: &tokio::runtime::Runtime) -> Clients {
    rt.block_on(async {
        let conf = manuel_shared::aws::config_for_endpoint("http://127.0.0.1:9", "eu-west-1").await;
        Clients {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf)
                    .force_path_style(true)
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
            agent: aws_sdk_bedrockagent::Client::new(&conf),
            fetch: FetchConfig {
                max_bytes: 1024,
                allow: Vec::new(),
                timeout: std::time::Duration::from_secs(2),
            },
            // The JWKS endpoint is closed too: every Bearer token is refused (never a panic).
            verifier: Some(manuel_shared::auth::Verifier::new(
                manuel_shared::auth::PoolConfig::new(
                    "eu-west-1_local",
                    vec!["client".into()],
                    Some("http://127.0.0.1:9"),
                ),
            )),
        }
    })
}

fn env() -> ManualsEnv {
    ManualsEnv {
        manuals_bucket: Some("bucket".into()),
        knowledge_base_id: Some("KB".into()),
        usage_table: Some("table".into()),
        cache_bucket: Some("bucket".into()),
        redis_endpoint: Some("127.0.0.1".into()),
        enable_redis: true,
        redis_port: Some("9".into()),
    }
}

fn anything() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[a-z%/. ]{0,30}".prop_map(Value::from),
        request_string().prop_map(Value::from),
        json_value(),
        Just(json!({})),
        Just(json!(["sub", "%"])),
        Just(json!({"sub": 5})),
    ]
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("{\"url\": \"http://127.0.0.1:1/x.pdf\"}")),
        Just(json!("{\"url\": \"file:///etc/passwd\", \"filename\": 3}")),
        Just(json!("{\"url\": \"not a url\"}")),
        Just(json!("{\"url\": [1], \"filename\": \"x.pdf\"}")),
        Just(json!("{\"url\": \"http://[::1]/a\"}")),
        Just(json!("{\"url\": NaN}")),
        Just(json!({"url": "http://10.0.0.1/x.pdf"})),
        body_text("url"),
        anything(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_event_is_answered(
        method in prop_oneof![Just(json!("GET")), Just(json!("POST")), Just(json!("DELETE")), Just(json!("OPTIONS")), anything()],
        path in prop_oneof![
            Just(json!("/api/manuals")), Just(json!("/api/manuals/download")),
            Just(json!("/api/manuals/manuals%2Fu1%2Fx.pdf")), anything()
        ],
        id in prop_oneof![
            Just(json!("manuals%2Fu1%2Fx.pdf")), Just(json!("manuals/u1/../u2/x.pdf")),
            // The user's own prefix, then anything: the ids that reach the S3 calls.
            request_string().prop_map(|s| json!(format!("manuals%2Fu1%2F{s}"))),
            anything(),
        ],
        params_shape in 0..3u8,
        claims in prop_oneof![Just(json!({"sub": "u1"})), anything()],
        auth in prop_oneof![Just(json!("Bearer a.eyJzdWIiOiJ1MiJ9.c")), anything()],
        body in body(),
        drop_method in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = clients(&rt);
        let mut event = json!({
            "path": path,
            "headers": {"Authorization": auth},
            "requestContext": {"authorizer": {"claims": claims}},
            "body": body,
        });
        event["pathParameters"] = match params_shape {
            0 => json!({"id": id}),
            1 => Value::Null,
            _ => id,
        };
        if !drop_method {
            event["httpMethod"] = method;
        }
        let r = rt.block_on(handle(&event, "req-1", &env(), &c));
        let status = r["statusCode"].as_u64().unwrap();
        prop_assert!([200, 400, 401, 403, 404, 500].contains(&status), "{r}");
        let text = r["body"].as_str().unwrap();
        prop_assert!(text.is_empty() || pyvalue::loads(text).is_ok(), "{text}");
    }
}

#[test]
fn outage_and_guard_answers() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = clients(&rt);
    let claims = json!({"authorizer": {"claims": {"sub": "u1"}}});
    let ev = |method: &str, path: &str, id: Value, body: Value| json!({"httpMethod": method, "path": path, "pathParameters": {"id": id}, "requestContext": claims, "body": body});
    // S3 unreachable: the handler's own 500s, not exceptions.
    let r = rt.block_on(handle(
        &ev("GET", "/api/manuals", Value::Null, Value::Null),
        "r",
        &env(),
        &c,
    ));
    assert_eq!(r["statusCode"], 500);
    assert!(r["body"]
        .as_str()
        .unwrap()
        .starts_with("{\"error\": \"Failed to list manuals\""));
    // Another user's manual: 403 before any call.
    let r = rt.block_on(handle(
        &ev(
            "DELETE",
            "/api/manuals/x",
            json!("manuals%2Fu2%2Fx.pdf"),
            Value::Null,
        ),
        "r",
        &env(),
        &c,
    ));
    assert_eq!(
        (r["statusCode"].as_u64(), r["body"].as_str()),
        (Some(403), Some("{\"error\": \"Access denied\"}"))
    );
    // Loopback download: refused by the guard, 400.
    let body = json!("{\"url\": \"http://127.0.0.1:1/x.pdf\"}");
    let r = rt.block_on(handle(
        &ev("POST", "/api/manuals/download", Value::Null, body),
        "r",
        &env(),
        &c,
    ));
    assert_eq!(r["statusCode"], 400);
    assert!(r["body"].as_str().unwrap().contains("URL refused"));
    // No bucket configured: KeyError in the outer handler, 500 with the request id.
    let r = rt.block_on(handle(
        &ev("GET", "/api/manuals", Value::Null, Value::Null),
        "r-9",
        &ManualsEnv::default(),
        &c,
    ));
    assert_eq!(r["statusCode"], 500);
    let b: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (b["error_type"].as_str(), b["request_id"].as_str()),
        (Some("KeyError"), Some("r-9"))
    );
}
