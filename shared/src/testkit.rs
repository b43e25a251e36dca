//! Proptest strategies for the classes of input a handler reads from a request (feature
//! `testkit`, for the functions' property tests): one definition, so every suite covers the
//! same classes — any Unicode, `%` before non-ASCII characters, NUL, 10,000-character values,
//! JSON text with lone surrogate escapes and Python-only literals, any JSON shape, and numbers
//! across DynamoDB's whole range.

use proptest::prelude::*;
use serde_json::{json, Value};

/// Strings as a request may carry them in a path, a header, a parameter or a body field.
pub fn request_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,40}",
        // Percent escapes, broken escapes and escapes beside multi-byte characters.
        4 => "(%|%[0-9a-fA-F]{1,2}|%[C-F][0-9A-F]%[89AB][0-9A-F]|ü|€|\u{1F600}|\u{800}|[a-z0-9/._-]|\\+| ){0,30}",
        1 => "[\\x00-\\x1f\\x7f]{0,8}",
        1 => Just("a".repeat(10_000)),
        1 => Just("ü%".repeat(5_000)),
        1 => Just(String::new()),
    ]
}

/// A key that is absent (`None`) or present with a value from `s` — an event field Python
/// reads with `.get(...)`.
pub fn maybe(s: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![Just(None), s.prop_map(Some)]
}

/// Any JSON value, nested a few levels, strings from [`request_string`].
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        request_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(request_string(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request body as API Gateway passes it: absent, any text, or JSON text — including what
/// only Python's `json.loads` accepts (NaN, lone surrogate escapes, huge ints, duplicate keys).
pub fn body_text(field: &'static str) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        request_string().prop_map(Value::from),
        json_value().prop_map(|v| Value::from(v.to_string())),
        json_value().prop_map(move |v| Value::from(json!({ field: v }).to_string())),
        prop_oneof![
            Just(format!(r#"{{"{field}": NaN}}"#)),
            Just(format!(r#"{{"{field}": "\ud800"}}"#)),
            Just(format!(r#"{{"{field}": "a\udc00b\u0000"}}"#)),
            Just(format!(r#"{{"{field}": -Infinity}}"#)),
            Just(format!(r#"{{"{field}": 1{}}}"#, "0".repeat(4400))),
            Just(format!(r#"{{"{field}": "a", "{field}": 1e400}}"#)),
            Just("[".repeat(3000)),
            Just("\u{feff}{}".to_string()),
        ]
        .prop_map(Value::from),
    ]
}

/// A body field as a handler may find it: JSON text of any value, any text, or a value that is
/// not a string at all.
pub fn any_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_value().prop_map(|v| Value::from(v.to_string())),
        request_string().prop_map(Value::from),
        json_value(),
    ]
}

/// An API Gateway proxy event with each part a handler reads present or missing: `httpMethod`
/// (one of `methods`, or any value), `path` and `body` from the given strategies, the
/// authorizer's claims (a `sub` of any text, or any value) and `headers` (any value); one event
/// in seven is any JSON value instead (a list, a number, a dict of other keys).
pub fn proxy_event(
    methods: &'static [&'static str],
    path: impl Strategy<Value = Value>,
    body: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        3 => proptest::sample::select(methods).prop_map(Value::from),
        1 => json_value(),
    ];
    let claims = prop_oneof![
        request_string().prop_map(|s| json!({ "sub": s })),
        json_value(),
    ];
    (
        maybe(method),
        maybe(path),
        maybe(body),
        maybe(claims),
        maybe(json_value()),
        prop_oneof![6 => Just(None), 1 => json_value().prop_map(Some)],
    )
        .prop_map(|(method, path, body, claims, headers, whole)| {
            whole.unwrap_or_else(|| {
                let mut e = json!({});
                for (key, part) in [
                    ("httpMethod", method),
                    ("path", path),
                    ("body", body),
                    ("headers", headers),
                ] {
                    if let Some(v) = part {
                        e[key] = v;
                    }
                }
                if let Some(c) = claims {
                    e["requestContext"] = json!({ "authorizer": { "claims": c } });
                }
                e
            })
        })
}

/// DynamoDB number text across the type's whole range: up to 38 significant digits, exponents
/// from −130 to +125, signs, zeros, and values just around small integers (quotas).
pub fn ddb_number() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..=38, any::<bool>(), -130i32..=125).prop_flat_map(|(digits, neg, exp)| {
            proptest::string::string_regex(&format!("[1-9][0-9]{{{}}}", digits - 1))
                .expect("a valid regex")
                .prop_map(move |d| {
                    // d × 10^e with the adjusted exponent inside DynamoDB's range.
                    let e = (exp - (digits as i32 - 1)).clamp(-130 - 37, 125);
                    format!("{}{d}E{e}", if neg { "-" } else { "" })
                })
        }),
        any::<i64>().prop_map(|i| i.to_string()),
        (0u32..2000, 0u32..100).prop_map(|(i, f)| format!("{i}.{f:02}")),
        prop_oneof![
            Just("0".to_string()),
            Just("-0".to_string()),
            Just("1E-130".to_string()),
            Just("-1E-130".to_string()),
            Just("9.9999999999999999999999999999999999999E+125".to_string()),
            Just("-9.9999999999999999999999999999999999999E+125".to_string()),
            Just("12345678901234567890123456789012345678".to_string()),
            Just("49.999999999999999999999999999999999999".to_string()),
            Just("50.000000000000000000000000000000000001".to_string()),
            Just("1E-40".to_string()),
        ],
    ]
}

/// Runs `f` on a fresh current-thread runtime, handing it an SDK configuration whose every
/// endpoint is a closed port (127.0.0.1:1), with static credentials and no retries: the outage
/// every path of a handler must survive.
#[cfg(feature = "services")]
pub fn offline<T>(f: impl AsyncFnOnce(&aws_config::SdkConfig) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        let conf = crate::aws::config_for_endpoint("http://127.0.0.1:1", "eu-west-1").await;
        f(&conf).await
    })
}
