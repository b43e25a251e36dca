//! Property tests: any event shape gets an answer (or the declared 500 for what Python leaves
//! unhandled) and never a panic —
//! - with DynamoDB at a closed port, as in an outage;
//! - over a table in memory seeded with arbitrary attribute values where the handler reads
//!   numbers: counters, costs and operation maps holding numbers across DynamoDB's whole range
//!   (and text DynamoDB would refuse), strings of any Unicode, maps, lists, sets, bools, nulls.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use manuel_shared::pyvalue;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use usage::{handle, handle_with, unhandled, Clients, MemoryTable, RawItem};

/// The handler reads its quotas from the environment: tests that set it take turns.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn env_lock() -> std::sync::MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

/// Any JSON value (events are JSON).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Number text DynamoDB accepts: 1 to 38 significant digits, magnitudes 1E-130 to 9.99…E+125.
fn dynamodb_number() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("-")],
        "[1-9][0-9]{0,37}",
        -130i32..=125,
    )
        .prop_map(|(sign, digits, adjusted)| {
            let exp = adjusted - (digits.len() as i32 - 1);
            format!("{sign}{digits}E{exp:+}")
        })
}

/// `N` text: DynamoDB's range, the edges, the quotas, and text DynamoDB would refuse.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => dynamodb_number(),
        3 => prop_oneof![
            Just("0"), Just("-0"), Just("1E-130"), Just("-1E-130"), Just("1E-40"),
            Just("9.9999999999999999999999999999999999999E+125"),
            Just("-9.9999999999999999999999999999999999999E+125"), Just("1E+126"),
            Just("12345678901234567890123456789012345678"), Just("49.99999999999999999999999999999"),
            Just("49.9999999999999999999999999999999999"), Just("50"), Just("1000"),
            Just("999.99999999999999999999999999999999"), Just("3"), Just("2.5"), Just("-7"),
            Just("1.2345678901234567890123456789012345678E-130"), Just("1_0"), Just("NaN"),
            Just("sNaN"), Just("-Infinity"), Just("0E-200"), Just("1E+99999999999"),
        ]
        .prop_map(str::to_owned),
        1 => "-?[0-9]{1,45}(\\.[0-9]{0,45})?([eE][-+]?[0-9]{1,6})?",
        1 => ".{0,12}",
    ]
}

/// Any attribute value.
fn attr() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        4 => number_text().prop_map(AttributeValue::N),
        2 => ".{0,20}".prop_map(AttributeValue::S),
        1 => "[0-9_ ]{0,40}".prop_map(AttributeValue::S),
        1 => any::<bool>().prop_map(AttributeValue::Bool),
        1 => Just(AttributeValue::Null(true)),
        1 => prop::collection::vec(number_text(), 1..3).prop_map(AttributeValue::Ns),
        1 => prop::collection::vec(".{0,5}", 1..3).prop_map(AttributeValue::Ss),
        1 => prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| AttributeValue::B(Blob::new(b))),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            prop::collection::hash_map(".{0,8}", inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

/// A counter: a number most of the time, anything otherwise.
fn counter() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![4 => number_text().prop_map(AttributeValue::N), 1 => attr()]
}

/// `service_costs` JSON of cost records: well formed with odd numbers, or anything.
fn service_costs() -> impl Strategy<Value = AttributeValue> {
    let entry = (
        prop_oneof![
            Just(json!("bedrock")),
            Just(json!("lambda")),
            Just(json!("api_gateway")),
            json_value()
        ],
        prop_oneof![
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            json_value()
        ],
    )
        .prop_map(|(s, c)| json!({"service": s, "total_cost": c}));
    prop_oneof![
        3 => prop::collection::vec(entry, 0..4)
            .prop_map(|v| AttributeValue::S(Value::Array(v).to_string())),
        1 => Just(AttributeValue::S(r#"[{"service": "s3", "total_cost": 1e999}]"#.into())),
        1 => Just(AttributeValue::S(format!(r#"[{{"service": "s3", "total_cost": {}}}]"#, "9".repeat(400)))),
        1 => ".{0,20}".prop_map(AttributeValue::S),
        1 => attr(),
    ]
}

const TODAY: &str = "2026-11-15";
const DATES: [&str; 9] = [
    "2026-11-15",
    "2026-11-14",
    "2026-11-12",
    "2026-11-08",
    "2026-11-07",
    "2026-11-01",
    "2026-10-31",
    "2026-11-15T08:15:00.123456",
    "2026-11-13T10:00:00",
];

fn put(item: &mut RawItem, k: &str, v: Option<AttributeValue>) {
    if let Some(v) = v {
        item.insert(k.to_owned(), v);
    }
}

/// A day item of user `u1` (today's, or one of the history).
fn day_item() -> impl Strategy<Value = RawItem> {
    (
        prop_oneof![2 => Just(TODAY), 3 => prop::sample::select(&DATES[..7])],
        prop::option::weighted(0.9, counter()),
        prop::option::weighted(0.9, counter()),
        prop::option::of(prop_oneof![
            Just(AttributeValue::S("query".into())),
            Just(AttributeValue::S("transcribe".into())),
            Just(AttributeValue::S("total".into())),
            attr()
        ]),
        prop::option::of(attr()),
        prop::option::of(prop_oneof![
            prop::collection::hash_map("[a-z]{1,6}", counter(), 0..3).prop_map(AttributeValue::M),
            attr()
        ]),
    )
        .prop_map(|(date, daily, monthly, op, updated, ops)| {
            let mut item = RawItem::new();
            item.insert("user_id".into(), AttributeValue::S("u1".into()));
            item.insert("date".into(), AttributeValue::S(date.to_owned()));
            put(&mut item, "daily_count", daily);
            put(&mut item, "monthly_count", monthly);
            put(&mut item, "last_operation", op);
            put(&mut item, "last_updated", updated);
            put(&mut item, "operations", ops);
            item
        })
}

/// A cost record of user `u1`.
fn cost_item() -> impl Strategy<Value = RawItem> {
    (
        prop::sample::select(&DATES[..]),
        prop::option::weighted(
            0.9,
            prop_oneof![
                number_text().prop_map(AttributeValue::N),
                number_text().prop_map(AttributeValue::S),
                attr()
            ],
        ),
        prop::option::of(service_costs()),
        prop::option::of(attr()),
    )
        .prop_map(|(date, total, services, operation)| {
            let mut item = RawItem::new();
            item.insert("user_id".into(), AttributeValue::S("cost#u1".into()));
            item.insert("date".into(), AttributeValue::S(date.to_owned()));
            put(&mut item, "total_cost", total);
            put(&mut item, "service_costs", services);
            put(&mut item, "operation", operation);
            item
        })
}

fn table() -> impl Strategy<Value = MemoryTable> {
    (
        prop::collection::vec(day_item(), 1..5),
        prop::collection::vec(cost_item(), 0..4),
        prop::option::weighted(0.9, Just("t")),
    )
        .prop_map(|(days, costs, name)| {
            // One item per key, as in DynamoDB (the last one written wins).
            let mut by_key: HashMap<String, RawItem> = HashMap::new();
            for item in days.into_iter().chain(costs) {
                let key = format!("{:?}/{:?}", item.get("user_id"), item.get("date"));
                by_key.insert(key, item);
            }
            MemoryTable {
                name: name.unwrap_or("other").to_owned(),
                items: by_key.into_values().collect(),
            }
        })
}

fn event() -> impl Strategy<Value = Value> {
    (
        prop_oneof![4 => Just(json!("GET")), 1 => Just(json!("OPTIONS")), 1 => anything(), 1 => Just(Value::Null)],
        prop_oneof![
            3 => Just(json!("/api/user/usage")),
            3 => Just(json!("/api/user/quota")),
            1 => Just(json!("/dev/api/user/quota")),
            1 => anything()
        ],
        prop_oneof![6 => Just(json!("u1")), 1 => anything(), 1 => json_value()],
        prop::bool::weighted(0.05),
        prop::option::weighted(0.05, json_value()),
    )
        .prop_map(|(method, path, sub, drop_method, whole)| {
            if let Some(whole) = whole {
                return whole;
            }
            let mut event =
                json!({"path": path, "requestContext": {"authorizer": {"claims": {"sub": sub}}}});
            if !drop_method {
                event["httpMethod"] = method;
            }
            event
        })
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{TODAY}T12:00:00Z"))
        .unwrap()
        .with_timezone(&Utc)
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
        let _env = env_lock();
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Whatever the table holds and whatever the quotas are, the handler answers.
    #[test]
    fn any_stored_values_are_answered(
        table in table(),
        event in event(),
        quotas in (
            prop_oneof![Just("50"), Just("1000"), Just("3"), Just("0"), Just("-5"), Just("2000"),
                        Just("9223372036854775807"), Just("-9223372036854775808"), Just("fifty")],
            prop_oneof![Just("1000"), Just("7"), Just("0"), Just("1")],
        ),
    ) {
        let _env = env_lock();
        std::env::set_var("USAGE_TABLE_NAME", "t");
        std::env::set_var("DAILY_QUOTA", quotas.0);
        std::env::set_var("MONTHLY_QUOTA", quotas.1);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let r = match rt.block_on(handle_with(&event, &table, now())) {
            Ok(r) => r,
            Err(e) => unhandled(&e),
        };
        prop_assert!([200, 401, 404, 500].contains(&r.status_code), "{r:?}");
        prop_assert!(pyvalue::loads(&r.body).is_ok(), "{}", r.body);
    }
}

/// The issue's three cases, over the in-memory table: 1E-130 and 1E-40 are tiny counters (200,
/// status OK), a 38-digit one makes `round(percent, 1)` raise InvalidOperation (Python's 500).
#[test]
fn counters_at_the_edges_answer_like_python() {
    let _env = env_lock();
    std::env::set_var("USAGE_TABLE_NAME", "t");
    std::env::remove_var("DAILY_QUOTA");
    std::env::remove_var("MONTHLY_QUOTA");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let quota = |daily: &str| {
        let mut item = RawItem::new();
        item.insert("user_id".into(), AttributeValue::S("u1".into()));
        item.insert("date".into(), AttributeValue::S(TODAY.into()));
        item.insert("daily_count".into(), AttributeValue::N(daily.into()));
        item.insert("monthly_count".into(), AttributeValue::N("1".into()));
        let table = MemoryTable {
            name: "t".into(),
            items: vec![item],
        };
        let ev = json!({"httpMethod": "GET", "path": "/api/user/quota", "requestContext": {"authorizer": {"claims": {"sub": "u1"}}}});
        rt.block_on(handle_with(&ev, &table, now())).unwrap()
    };
    for tiny in ["1E-130", "1E-40"] {
        let r = quota(tiny);
        assert_eq!(r.status_code, 200, "{}", r.body);
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["status"], "OK", "{tiny}: {body}");
        assert_eq!(body["quotas"]["daily"]["remaining"], json!(50.0));
        assert_eq!(body["quotas"]["daily"]["percent_used"], json!(0.0));
    }
    let r = quota("12345678901234567890123456789012345678");
    assert_eq!(
        (r.status_code, r.body.as_str()),
        (500, r#"{"error": "Failed to get quota information"}"#)
    );
}

#[test]
fn outage_answers_like_python() {
    let _env = env_lock();
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
