//! The semantic diff of two proxy responses: status, headers, body (JSON by path, text by lines,
//! binary by bytes), with rules applied and each difference classified.
//!
//! Paths: `$status`, `$headers.<lowercase-name>`, `$isBase64Encoded`, and the body as `$`
//! (`$.sources[0].score`, `$["odd.key"]`). Rules and divergences use the same syntax, so a path
//! from a report can be pasted into `rules.toml`.

mod normalize;
#[cfg(test)]
mod tests;
mod walk;

pub use walk::type_name;
use walk::{b64, sha, Walker};

use super::rules::Rules;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Same type, other value.
    Value,
    /// Other JSON type (including int vs float, JSON vs text body).
    Type,
    /// Present on the Python side only.
    Missing,
    /// Present on the Rust side only.
    Extra,
    /// Arrays of different lengths.
    Length,
    /// Same elements, other order.
    Order,
    /// Text bodies differ (see `detail` for the unified diff).
    Text,
    /// Binary bodies differ.
    Bytes,
    /// PNG images differ beyond the tolerance (`detail` has the pixel statistics).
    Pixels,
}

impl Kind {
    /// The lowercase name reports and the README use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Value => "value",
            Kind::Type => "type",
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Length => "length",
            Kind::Order => "order",
            Kind::Text => "text",
            Kind::Bytes => "bytes",
            Kind::Pixels => "pixels",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "class", rename_all = "lowercase")]
pub enum Class {
    /// Not explained by any rule: counts against the gate.
    Unexplained,
    /// A declared divergence covers it.
    Accepted { reason: String, divergence: String },
    /// The Python side differs from itself at this path.
    Noise,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub path: String,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(flatten)]
    pub class: Class,
}

/// What a side's values are judged against: when it answered and the stack it ran on.
#[derive(Debug, Clone, Default)]
pub struct SideCtx {
    pub at: i64,
    pub vars: BTreeMap<String, String>,
}

/// Everything one comparison needs.
pub struct DiffInput<'a> {
    pub function: &'a str,
    pub case: &'a str,
    pub rules: &'a Rules,
    pub noise: &'a [String],
    pub python: &'a SideCtx,
    pub rust: &'a SideCtx,
}

/// A proxy response reduced to what the client observes.
struct Observed {
    status: Value,
    headers: BTreeMap<String, String>,
    b64: bool,
    body: String,
}

fn observe(resp: &Value) -> Observed {
    let status = match resp.get("statusCode") {
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or(Value::String(s.clone())),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let mut headers = BTreeMap::new();
    if let Some(Value::Object(h)) = resp.get("headers") {
        for (k, v) in h {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers.insert(k.to_ascii_lowercase(), v);
        }
    }
    Observed {
        status,
        headers,
        b64: resp
            .get("isBase64Encoded")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        body: resp
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    }
}

/// Compare two proxy responses. Ignored paths are dropped; everything else is classified.
pub fn diff_responses(input: &DiffInput<'_>, python: &Value, rust: &Value) -> Vec<Difference> {
    let rules = input.rules.for_case(input.function, input.case);
    let mut w = Walker {
        rules: &rules,
        input,
        out: Vec::new(),
        path: String::from("$"),
    };
    let (p, r) = (observe(python), observe(rust));
    w.leaf_at("$status", &p.status, &r.status);
    let names: std::collections::BTreeSet<&String> =
        p.headers.keys().chain(r.headers.keys()).collect();
    for name in names {
        if input.rules.ignore_headers.iter().any(|h| h == name) {
            continue;
        }
        let path = format!("$headers.{name}");
        match (p.headers.get(name), r.headers.get(name)) {
            (Some(a), Some(b)) => {
                w.leaf_at(&path, &Value::String(a.clone()), &Value::String(b.clone()))
            }
            (Some(a), None) => w.push_at(
                &path,
                Kind::Missing,
                Some(Value::String(a.clone())),
                None,
                None,
            ),
            (None, Some(b)) => w.push_at(
                &path,
                Kind::Extra,
                None,
                Some(Value::String(b.clone())),
                None,
            ),
            (None, None) => {}
        }
    }
    w.leaf_at("$isBase64Encoded", &Value::Bool(p.b64), &Value::Bool(r.b64));
    if p.b64 || r.b64 {
        if p.body != r.body {
            let (a, b) = (b64(&p.body), b64(&r.body));
            if !w.compare_images("$", &a, &b) {
                let detail = format!(
                    "python {} bytes (sha256 {}), rust {} bytes (sha256 {})",
                    a.len(),
                    sha(&a),
                    b.len(),
                    sha(&b)
                );
                w.push_at("$", Kind::Bytes, None, None, Some(detail));
            }
        }
    } else if p.body != r.body {
        match (
            serde_json::from_str::<Value>(&p.body),
            serde_json::from_str::<Value>(&r.body),
        ) {
            (Ok(a), Ok(b)) => w.walk(&a, &b),
            (Ok(a), Err(_)) => w.push_at(
                "$",
                Kind::Type,
                Some(a),
                Some(Value::String(r.body.clone())),
                Some("python body is JSON, rust body is not".into()),
            ),
            (Err(_), Ok(b)) => w.push_at(
                "$",
                Kind::Type,
                Some(Value::String(p.body.clone())),
                Some(b),
                Some("rust body is JSON, python body is not".into()),
            ),
            (Err(_), Err(_)) => {
                let udiff = similar::TextDiff::from_lines(&p.body, &r.body)
                    .unified_diff()
                    .context_radius(2)
                    .header("python", "rust")
                    .to_string();
                w.push_at(
                    "$",
                    Kind::Text,
                    Some(Value::String(p.body.clone())),
                    Some(Value::String(r.body.clone())),
                    Some(udiff),
                );
            }
        }
    }
    w.out
}

/// Compare two answers to an event of `kind`: an API Gateway proxy event as the HTTP answer
/// ([`diff_responses`]); any other kind as the returned JSON (or the `errorType` and
/// `errorMessage` of a function error) at `$`, an SQS batch's `batchItemFailures` as a set.
pub fn diff_answers(
    input: &DiffInput<'_>,
    kind: crate::exec::EventKind,
    python: &Value,
    rust: &Value,
) -> Vec<Difference> {
    if kind.is_apigw() {
        return diff_responses(input, python, rust);
    }
    let as_set = |v: &Value| {
        let mut v = v.clone();
        if kind == crate::exec::EventKind::Sqs {
            if let Some(items) = v.get_mut("batchItemFailures").and_then(Value::as_array_mut) {
                items.sort_by_cached_key(crate::stack::bedrock::canonical);
            }
        }
        v
    };
    walk_at(input, "$", &as_set(python), &as_set(rust))
}

/// Walk two JSON values from the root `path` with the case's rules.
fn walk_at(input: &DiffInput<'_>, path: &str, python: &Value, rust: &Value) -> Vec<Difference> {
    let rules = input.rules.for_case(input.function, input.case);
    let mut w = Walker {
        rules: &rules,
        input,
        out: Vec::new(),
        path: path.to_owned(),
    };
    w.walk(python, rust);
    w.out
}

/// Compare what each side changed in the shared state (see `snapshot`): paths under `$state`,
/// judged by the same rules, divergences and noise as responses.
pub fn diff_state(input: &DiffInput<'_>, python: &Value, rust: &Value) -> Vec<Difference> {
    // An absent service is one without changes: compare entry by entry either way.
    let full = |v: &Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        for svc in ["dynamodb", "s3", "redis", "sqs", "sns"] {
            m.entry(svc)
                .or_insert_with(|| Value::Object(Default::default()));
        }
        Value::Object(m)
    };
    walk_at(input, "$state", &full(python), &full(rust))
}

fn classify(input: &DiffInput<'_>, path: &str) -> Class {
    if let Some(d) = input.rules.divergence_for(input.function, input.case, path) {
        return Class::Accepted {
            reason: d.reason.clone(),
            divergence: d.label.clone(),
        };
    }
    if input.noise.iter().any(|n| covers(n, path)) {
        return Class::Noise;
    }
    Class::Unexplained
}

/// Is `path` the node `prefix` names, or below it?
pub fn covers(prefix: &str, path: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && matches!(path.as_bytes().get(prefix.len()), Some(b'.') | Some(b'[')))
}
