//! What a case needs around it: the state it starts from (`setup`: DynamoDB items, S3 objects,
//! Redis keys) and the time it runs at (`clock`).
//!
//! A case that touches shared state runs each side on a freshly reset stack seeded the same way,
//! so both sides start from identical state and neither sees what the other wrote. A pinned clock
//! (`"clock": "2026-11-15T12:00:00Z"`) makes date-dependent answers (usage history, "today's"
//! counters) reproducible: the function processes run under libfaketime, which both a Python
//! interpreter and a Rust binary (glibc `clock_gettime`) obey, so recordings made on one day
//! compare exactly on any other.

use crate::stack::Stack;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// State both sides start from, seeded into a freshly reset local stack before each side runs.
/// Strings take {placeholders}: stack variables and times relative to the clock ({date},
/// {date-3}, {month}, {epoch+60}, {iso-600}).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// DynamoDB items to put.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamodb: Vec<DynamoSeed>,
    /// S3 objects to put.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub s3: Vec<S3Seed>,
    /// Redis string keys to set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redis: Vec<RedisSeed>,
}

impl Setup {
    pub fn is_empty(&self) -> bool {
        self.dynamodb.is_empty() && self.s3.is_empty() && self.redis.is_empty()
    }
}

/// One DynamoDB item in the wire format (`{"user_id": {"S": "u1"}, "daily_count": {"N": "3"}}`),
/// so that the types (N vs S) are stated, not guessed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamoSeed {
    /// Table name (placeholders allowed, e.g. {usage_table}).
    pub table: String,
    /// Attributes in the order written (kept when `parity record` saves the fixture).
    pub item: serde_json::Map<String, Value>,
}

/// One S3 object. The body is text (`body`), base64 (`body_base64`) or a file relative to
/// `parity-fixtures/` (`body_file`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Seed {
    /// Bucket name (placeholders allowed, e.g. {manuals_bucket}).
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// The body as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body as base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// The body from a file, relative to parity-fixtures/.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<PathBuf>,
    /// Content-Type of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// User metadata (x-amz-meta-*), string values.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub metadata: serde_json::Map<String, Value>,
}

/// One Redis string key; a JSON `value` that is not a string is stored as Python's
/// `json.dumps` of it (what the handlers write).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSeed {
    /// The key.
    pub key: String,
    /// A string is stored as is; any other JSON value as Python's json.dumps of it.
    pub value: Value,
    /// Time to live in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    #[error("seeding {at}: {message}")]
    Seed { at: String, message: String },
}

/// A `clock` that cannot be read or pinned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClockError {
    #[error("'{text}' is not an RFC 3339 time ({reason})")]
    NotRfc3339 { text: String, reason: String },
    #[error("a pinned `clock` needs libfaketime (run scripts/setup.sh, which installs it)")]
    NoFaketime,
}

/// Parse the `clock` of a fixture (RFC 3339, e.g. `2026-11-15T12:00:00Z`).
pub fn parse_clock(text: &str) -> Result<DateTime<Utc>, ClockError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ClockError::NotRfc3339 {
            text: text.to_owned(),
            reason: e.to_string(),
        })
}

/// The libfaketime library installed by scripts/setup.sh, if present.
pub fn faketime_library() -> Option<PathBuf> {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Environment that starts a function process at `clock` (time then advances normally).
/// Monotonic clocks are left alone so that timeouts and timers keep working.
pub fn clock_env(clock: &DateTime<Utc>) -> Result<super::EnvVars, ClockError> {
    let lib = faketime_library().ok_or(ClockError::NoFaketime)?;
    Ok(BTreeMap::from([
        ("LD_PRELOAD".into(), lib.display().to_string()),
        (
            "FAKETIME".into(),
            format!("@{}", clock.format("%Y-%m-%d %H:%M:%S")),
        ),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        ("FAKETIME_DONT_RESET".into(), "1".into()),
    ]))
}

/// Expand `{placeholders}`: the stack's variables, and times relative to `now` (the case's
/// clock, or the real time): `{date}`, `{date-3}` (YYYY-MM-DD, days), `{month}` (YYYY-MM),
/// `{epoch}`, `{epoch+60}` (seconds), `{iso}`, `{iso-3600}` (Python `isoformat()`, seconds).
pub fn expand(text: &str, vars: &BTreeMap<String, String>, now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push('{');
            rest = after;
            continue;
        };
        let name = &after[..end];
        match vars.get(name).cloned().or_else(|| time_var(name, now)) {
            Some(v) => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn time_var(name: &str, now: DateTime<Utc>) -> Option<String> {
    let (base, offset) = match name.find(['+', '-']) {
        Some(i) => (&name[..i], name[i..].parse::<i64>().ok()?),
        None => (name, 0),
    };
    Some(match base {
        "date" => (now + Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string(),
        "month" if offset == 0 => now.format("%Y-%m").to_string(),
        "epoch" => (now.timestamp() + offset).to_string(),
        "iso" => isoformat(now + Duration::seconds(offset)),
        _ => return None,
    })
}

/// Python's `datetime.isoformat()` of a naive UTC time: microseconds only when non-zero.
pub fn isoformat(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// Expand placeholders in every string of a JSON value (keys included).
pub fn expand_value(v: &Value, vars: &BTreeMap<String, String>, now: DateTime<Utc>) -> Value {
    match v {
        Value::String(s) => Value::String(expand(s, vars, now)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|x| expand_value(x, vars, now)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (expand(k, vars, now), expand_value(x, vars, now)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Convert one attribute in DynamoDB JSON (`{"N": "3"}`) to the SDK's type.
pub fn attribute(
    v: &Value,
    at: &str,
) -> Result<aws_sdk_dynamodb::types::AttributeValue, StateError> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let bad = |message: String| StateError::Invalid {
        at: at.to_owned(),
        message,
    };
    let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
        bad("an attribute is an object with one type key, e.g. {\"S\": \"x\"}".into())
    })?;
    let (ty, inner) = obj.iter().next().expect("one entry");
    let string = |x: &Value| {
        x.as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("`{ty}` takes a string")))
    };
    let strings = |x: &Value| -> Result<Vec<String>, StateError> {
        x.as_array()
            .ok_or_else(|| bad(format!("`{ty}` takes a list of strings")))?
            .iter()
            .map(string)
            .collect()
    };
    Ok(match ty.as_str() {
        "S" => A::S(string(inner)?),
        "N" => A::N(string(inner)?),
        "BOOL" => A::Bool(
            inner
                .as_bool()
                .ok_or_else(|| bad("`BOOL` takes true or false".into()))?,
        ),
        "NULL" => A::Null(true),
        "B" => {
            use base64::Engine as _;
            let text = string(inner)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| bad(format!("`B` takes base64 text: {e}")))?;
            A::B(aws_sdk_dynamodb::primitives::Blob::new(bytes))
        }
        "SS" => A::Ss(strings(inner)?),
        "NS" => A::Ns(strings(inner)?),
        "L" => A::L(
            inner
                .as_array()
                .ok_or_else(|| bad("`L` takes a list".into()))?
                .iter()
                .enumerate()
                .map(|(i, x)| attribute(x, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        "M" => A::M(
            inner
                .as_object()
                .ok_or_else(|| bad("`M` takes an object".into()))?
                .iter()
                .map(|(k, x)| Ok((k.clone(), attribute(x, &format!("{at}.{k}"))?)))
                .collect::<Result<_, StateError>>()?,
        ),
        other => {
            return Err(bad(format!(
                "unknown attribute type `{other}` (S, N, B, BOOL, NULL, SS, NS, L, M)"
            )))
        }
    })
}

/// Check a setup without touching any service (fixture loading calls this).
pub fn validate(setup: &Setup, fixtures_dir: &Path) -> Result<(), StateError> {
    for (i, d) in setup.dynamodb.iter().enumerate() {
        let at = format!("$.setup.dynamodb[{i}]");
        known_placeholders(&d.table, &format!("{at}.table"))?;
        for (k, v) in &d.item {
            attribute(v, &format!("{at}.item.{k}"))?;
            known_placeholders(k, &format!("{at}.item.{k}"))?;
            known_placeholders_in(v, &format!("{at}.item.{k}"))?;
        }
    }
    for (i, r) in setup.redis.iter().enumerate() {
        let at = format!("$.setup.redis[{i}]");
        known_placeholders(&r.key, &format!("{at}.key"))?;
        known_placeholders_in(&r.value, &format!("{at}.value"))?;
    }
    for (i, s) in setup.s3.iter().enumerate() {
        let at = format!("$.setup.s3[{i}]");
        let n = [
            s.body.is_some(),
            s.body_base64.is_some(),
            s.body_file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n > 1 {
            return Err(StateError::Invalid {
                at,
                message: "give one of `body`, `body_base64`, `body_file`".into(),
            });
        }
        known_placeholders(&s.bucket, &format!("{at}.bucket"))?;
        known_placeholders(&s.key, &format!("{at}.key"))?;
        for (k, v) in &s.metadata {
            known_placeholders_in(v, &format!("{at}.metadata.{k}"))?;
        }
        for (k, v) in &s.metadata {
            metadata_text(k, v, &at)?;
        }
        s3_body(s, fixtures_dir, &at)?;
    }
    Ok(())
}

/// Every `{name}` / `{name+N}` in `text` must be a stack variable or a time placeholder: an
/// unknown one would be seeded literally and fail (or pass) far from its cause.
fn known_placeholders(text: &str, at: &str) -> Result<(), StateError> {
    static TOKEN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let token = TOKEN.get_or_init(|| {
        regex::Regex::new(r"\{([a-z][a-z0-9_]*)([+-][0-9]+)?\}").expect("placeholder pattern")
    });
    let now = Utc::now();
    for m in token.captures_iter(text) {
        let name = &m[1];
        let whole = &m[0][1..m[0].len() - 1];
        if crate::stack::STACK_VARS.contains(&name) && m.get(2).is_none() {
            continue;
        }
        if time_var(whole, now).is_none() {
            return Err(StateError::Invalid {
                at: at.to_owned(),
                message: format!(
                    "unknown placeholder {{{whole}}} (stack variables: {}; times: {{date}}, {{date-N}}, {{month}}, {{epoch+N}}, {{iso-N}})",
                    crate::stack::STACK_VARS.join(", ")
                ),
            });
        }
    }
    Ok(())
}

fn known_placeholders_in(v: &Value, at: &str) -> Result<(), StateError> {
    match v {
        Value::String(s) => known_placeholders(s, at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| known_placeholders_in(x, &format!("{at}[{i}]"))),
        Value::Object(m) => m.iter().try_for_each(|(k, x)| {
            known_placeholders(k, at)?;
            known_placeholders_in(x, &format!("{at}.{k}"))
        }),
        _ => Ok(()),
    }
}

/// A metadata value of `$.setup.s3[i]` (`at`): metadata values are strings.
fn metadata_text<'v>(key: &str, v: &'v Value, at: &str) -> Result<&'v str, StateError> {
    v.as_str().ok_or_else(|| StateError::Invalid {
        at: format!("{at}.metadata.{key}"),
        message: "metadata values are strings".into(),
    })
}

fn s3_body(s: &S3Seed, fixtures_dir: &Path, at: &str) -> Result<Vec<u8>, StateError> {
    use base64::Engine;
    if let Some(b) = &s.body {
        return Ok(b.as_bytes().to_vec());
    }
    if let Some(b) = &s.body_base64 {
        return base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|e| StateError::Invalid {
                at: format!("{at}.body_base64"),
                message: e.to_string(),
            });
    }
    if let Some(f) = &s.body_file {
        let path = fixtures_dir.join(f);
        return std::fs::read(&path).map_err(|e| StateError::Invalid {
            at: format!("{at}.body_file"),
            message: format!("{}: {e}", path.display()),
        });
    }
    Ok(Vec::new())
}

/// Put the setup's state into the stack (after a reset).
pub async fn seed(
    stack: &Stack,
    setup: &Setup,
    fixtures_dir: &Path,
    now: DateTime<Utc>,
) -> Result<(), StateError> {
    if setup.is_empty() {
        return Ok(());
    }
    let vars = stack.vars();
    let x = |s: &str| expand(s, &vars, now);
    let conf = stack.sdk_config().await;
    let fail = |at: String, e: &dyn std::error::Error| StateError::Seed {
        at,
        message: crate::stack::aws_message(&e),
    };
    if !setup.dynamodb.is_empty() {
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        for (i, d) in setup.dynamodb.iter().enumerate() {
            let at = format!("$.setup.dynamodb[{i}]");
            let mut req = ddb.put_item().table_name(x(&d.table));
            for (k, v) in &d.item {
                let v = expand_value(v, &vars, now);
                req = req.item(x(k), attribute(&v, &format!("{at}.item.{k}"))?);
            }
            req.send().await.map_err(|e| fail(at, &e))?;
        }
    }
    if !setup.s3.is_empty() {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        for (i, s) in setup.s3.iter().enumerate() {
            let at = format!("$.setup.s3[{i}]");
            let body = s3_body(s, fixtures_dir, &at)?;
            let mut req = s3
                .put_object()
                .bucket(x(&s.bucket))
                .key(x(&s.key))
                .body(body.into());
            if let Some(ct) = &s.content_type {
                req = req.content_type(ct);
            }
            for (k, v) in &s.metadata {
                req = req.metadata(k, x(metadata_text(k, v, &at)?));
            }
            req.send().await.map_err(|e| fail(at, &e))?;
        }
    }
    seed_redis(stack, setup, now).await
}

/// The Redis part of a setup, in one round trip.
pub async fn seed_redis(
    stack: &Stack,
    setup: &Setup,
    now: DateTime<Utc>,
) -> Result<(), StateError> {
    if setup.redis.is_empty() {
        return Ok(());
    }
    let vars = stack.vars();
    let mut pipe = redis::pipe();
    for r in &setup.redis {
        let value = match expand_value(&r.value, &vars, now) {
            Value::String(s) => s,
            other => manuel_shared::pyjson::dumps(&other),
        };
        let cmd = pipe.cmd("SET").arg(expand(&r.key, &vars, now)).arg(value);
        if let Some(t) = r.ttl {
            cmd.arg("EX").arg(t);
        }
        cmd.ignore();
    }
    stack
        .redis_pipe::<()>(&pipe)
        .await
        .map_err(|e| StateError::Seed {
            at: "$.setup.redis".into(),
            message: e.to_string(),
        })
}

/// The DynamoDB and S3 part of a setup, expanded, as moto's restore stores it in the same
/// request (`moto_server_local.py`): `None` when there is none.
pub fn moto_seed(
    stack: &Stack,
    setup: &Setup,
    fixtures_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Option<Value>, StateError> {
    use base64::Engine as _;
    if setup.dynamodb.is_empty() && setup.s3.is_empty() {
        return Ok(None);
    }
    let vars = stack.vars();
    let x = |s: &str| expand(s, &vars, now);
    let mut items = Vec::new();
    for (i, d) in setup.dynamodb.iter().enumerate() {
        let at = format!("$.setup.dynamodb[{i}]");
        let mut item = serde_json::Map::new();
        for (k, v) in &d.item {
            let v = expand_value(v, &vars, now);
            attribute(&v, &format!("{at}.item.{k}"))?;
            item.insert(x(k), v);
        }
        items.push(serde_json::json!({"table": x(&d.table), "item": item}));
    }
    let mut objects = Vec::new();
    for (i, o) in setup.s3.iter().enumerate() {
        let at = format!("$.setup.s3[{i}]");
        let body = s3_body(o, fixtures_dir, &at)?;
        let mut metadata = serde_json::Map::new();
        for (k, v) in &o.metadata {
            metadata.insert(k.to_lowercase(), Value::from(x(metadata_text(k, v, &at)?)));
        }
        objects.push(serde_json::json!({
            "bucket": x(&o.bucket),
            "key": x(&o.key),
            "body_base64": base64::engine::general_purpose::STANDARD.encode(body),
            // Without a type the SDK's PutObject sends application/octet-stream (moto's own
            // default would be binary/octet-stream): seeded either way, the object is the same.
            "content_type": o.content_type.as_deref().unwrap_or("application/octet-stream"),
            "metadata": metadata,
        }));
    }
    Ok(Some(serde_json::json!({"dynamodb": items, "s3": objects})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        parse_clock("2026-03-01T10:00:00Z").unwrap()
    }

    #[test]
    fn metadata_values_must_be_strings() {
        let setup: Setup = serde_json::from_value(serde_json::json!({
            "s3": [{"bucket": "b", "key": "k", "metadata": {"ok": "v", "pages": 3}}]
        }))
        .unwrap();
        let e = validate(&setup, Path::new(".")).unwrap_err().to_string();
        assert_eq!(
            e,
            "$.setup.s3[0].metadata.pages: metadata values are strings"
        );
    }

    #[test]
    fn unknown_placeholders_are_refused_at_validation() {
        let setup: Setup = serde_json::from_value(serde_json::json!({
            "dynamodb": [{"table": "{usage_table}", "item": {"date": {"S": "{date-3}"}, "u": {"S": "{usr}"}}}]
        }))
        .unwrap();
        let e = validate(&setup, Path::new(".")).unwrap_err().to_string();
        assert!(
            e.contains("$.setup.dynamodb[0].item.u") && e.contains("{usr}"),
            "{e}"
        );
        let ok: Setup = serde_json::from_value(serde_json::json!({
            "redis": [{"key": "query:{stage}:{epoch+60}", "value": {"answer": "{\"not\": a placeholder}", "at": "{iso-600}"}}],
            "s3": [{"bucket": "{manuals_bucket}", "key": "k-{month}"}]
        }))
        .unwrap();
        validate(&ok, Path::new(".")).unwrap();
    }

    #[test]
    fn time_placeholders_are_relative_to_the_clock() {
        let vars = BTreeMap::from([("usage_table".to_string(), "t".to_string())]);
        assert_eq!(expand("{usage_table}/{date}", &vars, at()), "t/2026-03-01");
        assert_eq!(expand("{date-1}", &vars, at()), "2026-02-28");
        assert_eq!(expand("{month}", &vars, at()), "2026-03");
        assert_eq!(expand("{epoch+5}", &vars, at()), "1772359205");
        assert_eq!(expand("{iso-1}", &vars, at()), "2026-03-01T09:59:59");
        assert_eq!(expand("{nope}{", &vars, at()), "{nope}{");
    }

    #[test]
    fn attributes_keep_their_types_and_locate_errors() {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let v: Value = serde_json::json!({"M": {"q": {"N": "2"}, "l": {"L": [{"S": "x"}]}}});
        let a = attribute(&v, "$.x").unwrap();
        let m = a.as_m().unwrap();
        assert_eq!(m["q"], A::N("2".into()));
        let err = attribute(&serde_json::json!({"N": 3}), "$.setup.dynamodb[0].item.n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "$.setup.dynamodb[0].item.n: `N` takes a string");
        let err = attribute(&serde_json::json!({"X": "1"}), "$.a")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown attribute type `X`"), "{err}");
    }

    #[test]
    fn clock_env_starts_processes_at_the_clock() {
        if faketime_library().is_none() {
            // setup.sh installs libfaketime; without it a clock is an input error (tested below).
            assert!(clock_env(&at())
                .unwrap_err()
                .to_string()
                .contains("libfaketime"));
            return;
        }
        let env = clock_env(&at()).unwrap();
        assert_eq!(env["FAKETIME"], "@2026-03-01 10:00:00");
        assert!(env["LD_PRELOAD"].ends_with("libfaketime.so.1"));
    }
}
