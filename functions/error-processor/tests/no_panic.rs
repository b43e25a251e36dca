//! Property tests over the classes of input the handler branches on: any event shape, any
//! record shape, any message body text (JSON or not, Python-only literals, lone surrogates,
//! deep nesting) — an answer, never a panic, and the counts Python gives with DynamoDB down
//! (every record that gets as far as `put_item` fails there).

use error_processor::{error_item, process, severity, Clients, Targets, MAX_ITEM_DEPTH};
use manuel_shared::pyvalue::{dumps, loads};
use proptest::prelude::*;
use serde_json::{json, Value};

fn clients(rt: &tokio::runtime::Runtime) -> Clients {
    rt.block_on(async {
        let conf = manuel_shared::aws::config_for_endpoint("http://127.0.0.1:9", "eu-west-1").await;
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&conf),
            sns: aws_sdk_sns::Client::new(&conf),
        }
    })
}

/// Message bodies: JSON objects with the fields the handler reads holding any type, Python's
/// extra literals, broken JSON and arbitrary text.
fn body() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("NaN".to_string()),
        Just("-Infinity".to_string()),
        Just("1e400".to_string()),
        Just("123456789012345678901234567890123456789012".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        "[a-zA-Z _é🎉-]{0,12}".prop_map(|s| format!("{s:?}")),
        Just("\"x\\ud800y\"".to_string()),
        Just("{\"Code\": \"InternalServerError\"}".to_string()),
        Just("{\"HTTPStatusCode\": 503}".to_string()),
        Just("[[[[1]]]]".to_string()),
        Just("{}".to_string()),
    ];
    let keys = prop::sample::select(vec![
        "request_id",
        "service",
        "function_name",
        "timestamp",
        "type",
        "aws_error",
        "response_metadata",
        "error_details",
        "HTTPStatusCode",
        "Code",
    ]);
    let object = prop::collection::vec((keys, field), 0..6).prop_map(|kv| {
        let inner: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        format!(
            "{{\"exception\": {{{}}}, {}}}",
            inner.join(", "),
            inner.join(", ")
        )
        .replace(", }", "}")
        .replace("{, ", "{")
    });
    prop_oneof![
        object,
        ".{0,40}",
        (1usize..400).prop_map(|d| format!("{}1{}", "[".repeat(d), "]".repeat(d))),
    ]
}

fn record(body: String) -> Value {
    json!({"messageId": "m", "receiptHandle": "h", "body": body, "eventSource": "aws:sqs"})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_batch_is_answered_and_every_record_fails_with_dynamodb_down(
        bodies in prop::collection::vec(body(), 0..5)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = clients(&rt);
        let n = bodies.len() as u64;
        let event = json!({"Records": bodies.into_iter().map(record).collect::<Vec<_>>()});
        let targets = Targets { table: "t", topic: Some("arn:aws:sns:eu-west-1:1:t") };
        let counts = rt.block_on(process(&event, &targets, &c)).unwrap();
        prop_assert_eq!(counts.total, n);
        prop_assert_eq!(counts.failed, n);
        prop_assert_eq!(counts.processed, 0);
    }

    #[test]
    fn any_event_shape_is_answered(event in manuel_shared::testkit::json_value()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let c = clients(&rt);
        let targets = Targets { table: "t", topic: None };
        let _ = rt.block_on(process(&event, &targets, &c));
    }

    /// A critical code decides before anything else is compared or lowercased.
    #[test]
    fn a_critical_code_is_critical_whatever_else_the_exception_holds(
        code in prop::sample::select(vec!["InternalServerError", "ServiceUnavailableException"]),
        status in prop_oneof![Just(json!("500")), Just(json!(null)), Just(json!(503)), Just(json!(1.5))],
        kind in prop_oneof![Just(json!(5)), Just(json!("Timeout")), Just(json!([]))],
    ) {
        let body = json!({"exception": {"type": kind, "aws_error": {"Code": code},
            "response_metadata": {"HTTPStatusCode": status}}});
        let v = loads(&body.to_string()).unwrap();
        prop_assert_eq!(severity(&v), Ok("critical"));
    }

    /// What put_item is given: ints of up to 38 digits, no floats anywhere, at most
    /// MAX_ITEM_DEPTH containers deep; the serialised item is accepted exactly then.
    #[test]
    fn items_serialise_as_boto3_serialises_them(depth in 0usize..200, float in any::<bool>(), digits in 1usize..45) {
        let leaf = if float { "0.5".to_string() } else { "9".repeat(digits) };
        let details = format!("{}{}{}", "[".repeat(depth), leaf, "]".repeat(depth));
        let v = loads(&format!("{{\"error_details\": {details}}}")).unwrap();
        let at = chrono::Utc::now();
        let item = error_item(&v, at).unwrap();
        let d = item.field("error_details").unwrap();
        let ok = manuel_shared::ddb::attr_from_py(d, MAX_ITEM_DEPTH).is_ok();
        prop_assert_eq!(ok, !float && digits <= 38 && depth <= MAX_ITEM_DEPTH, "{}", dumps(d).len());
    }
}
