//! The semantic diff of two proxy responses: status, headers, body (JSON by path, text by lines,
//! binary by bytes), with rules applied and each difference classified.
//!
//! Paths: `$status`, `$headers.<lowercase-name>`, `$isBase64Encoded`, and the body as `$`
//! (`$.sources[0].score`, `$["odd.key"]`). Rules and divergences use the same syntax, so a path
//! from a report can be pasted into `rules.toml`.

use super::rules::{Action, Normalizer, Rule, Rules};
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

/// Compare what each side changed in the shared state (see `snapshot`): paths under `$state`,
/// judged by the same rules, divergences and noise as responses.
pub fn diff_state(input: &DiffInput<'_>, python: &Value, rust: &Value) -> Vec<Difference> {
    let rules = input.rules.for_case(input.function, input.case);
    let mut w = Walker {
        rules: &rules,
        input,
        out: Vec::new(),
        path: String::from("$state"),
    };
    // An absent service is one without changes: compare entry by entry either way.
    let full = |v: &Value| {
        let mut m = v.as_object().cloned().unwrap_or_default();
        for svc in ["dynamodb", "s3", "redis"] {
            m.entry(svc)
                .or_insert_with(|| Value::Object(Default::default()));
        }
        Value::Object(m)
    };
    w.walk(&full(python), &full(rust));
    w.out
}

struct Walker<'a, 'b> {
    rules: &'a [&'a Rule],
    input: &'a DiffInput<'b>,
    out: Vec<Difference>,
    path: String,
}

impl Walker<'_, '_> {
    fn applicable(&self, path: &str) -> impl Iterator<Item = &&Rule> {
        let path = path.to_owned();
        self.rules.iter().filter(move |r| r.path.matches(&path))
    }

    fn ignored(&self, path: &str) -> bool {
        self.applicable(path).any(|r| r.action == Action::Ignore)
    }

    fn push_at(
        &mut self,
        path: &str,
        kind: Kind,
        python: Option<Value>,
        rust: Option<Value>,
        detail: Option<String>,
    ) {
        if self.ignored(path) {
            return;
        }
        let class = classify(self.input, path);
        self.out.push(Difference {
            path: path.to_owned(),
            kind,
            python,
            rust,
            detail,
            class,
        });
    }

    fn leaf_at(&mut self, path: &str, a: &Value, b: &Value) {
        let saved = std::mem::replace(&mut self.path, path.to_owned());
        self.walk(a, b);
        self.path = saved;
    }

    fn push(&mut self, kind: Kind, a: Option<&Value>, b: Option<&Value>, detail: Option<String>) {
        let path = self.path.clone();
        self.push_at(&path, kind, a.cloned(), b.cloned(), detail);
    }

    fn walk(&mut self, a: &Value, b: &Value) {
        match (a, b) {
            (Value::Object(ma), Value::Object(mb)) => {
                let len = self.path.len();
                for (k, va) in ma {
                    push_key(&mut self.path, k);
                    match mb.get(k) {
                        Some(vb) => self.walk(va, vb),
                        None => self.push(Kind::Missing, Some(va), None, None),
                    }
                    self.path.truncate(len);
                }
                for (k, vb) in mb {
                    if !ma.contains_key(k) {
                        push_key(&mut self.path, k);
                        self.push(Kind::Extra, None, Some(vb), None);
                        self.path.truncate(len);
                    }
                }
            }
            (Value::Array(xa), Value::Array(xb)) => self.walk_array(xa, xb),
            _ => self.compare_leaf(a, b),
        }
    }

    fn walk_array(&mut self, xa: &[Value], xb: &[Value]) {
        if xa == xb {
            return;
        }
        let path = self.path.clone();
        let unordered = self
            .applicable(&path)
            .any(|r| r.action == Action::Unordered);
        if xa.len() == xb.len() && multiset_eq(xa, xb) {
            if !unordered {
                self.push(
                    Kind::Order,
                    None,
                    None,
                    Some(format!("{} elements in another order", xa.len())),
                );
            }
            return;
        }
        if xa.len() != xb.len() {
            self.push(
                Kind::Length,
                Some(&Value::from(xa.len())),
                Some(&Value::from(xb.len())),
                None,
            );
        }
        let len = self.path.len();
        for (i, (va, vb)) in xa.iter().zip(xb.iter()).enumerate() {
            let _ = write!(self.path, "[{i}]");
            self.walk(va, vb);
            self.path.truncate(len);
        }
    }

    /// Compare two byte strings as PNG images when both are; `false` when they are not images.
    fn compare_images(&mut self, path: &str, a: &[u8], b: &[u8]) -> bool {
        if !(super::image::is_png(a) && super::image::is_png(b)) {
            return false;
        }
        let tolerance = self
            .applicable(path)
            .find(|r| r.action == Action::Pixels)
            .map(|r| r.pixels)
            .unwrap_or_default();
        if let Some(shift) = tolerance.max_box_shift {
            match super::image::compare_boxes(a, b, shift) {
                Ok(None) => {}
                Ok(Some(why)) | Err(super::image::ImageError(why)) => {
                    self.push_at(path, Kind::Pixels, None, None, Some(why));
                    return true;
                }
            }
        }
        match super::image::compare(a, b) {
            Ok(stats) if stats.within(&tolerance) => {}
            Ok(stats) => self.push_at(path, Kind::Pixels, None, None, Some(stats.summary())),
            Err(why) => self.push_at(path, Kind::Pixels, None, None, Some(why.to_string())),
        }
        true
    }

    fn compare_leaf(&mut self, a: &Value, b: &Value) {
        if a == b {
            return;
        }
        let path = self.path.clone();
        const DATA_PNG: &str = "data:image/png;base64,";
        if let (Some(x), Some(y)) = (
            a.as_str().and_then(|s| s.strip_prefix(DATA_PNG)),
            b.as_str().and_then(|s| s.strip_prefix(DATA_PNG)),
        ) {
            if self.compare_images(&path, &b64(x), &b64(y)) {
                return;
            }
        }
        let rules: Vec<&Rule> = self.applicable(&path).copied().collect();
        if rules.iter().any(|r| r.action == Action::Ignore) {
            return;
        }
        for r in rules.iter().filter(|r| r.action == Action::Normalize) {
            let (Some(n), ctx_a, ctx_b) = (r.normalizer, self.input.python, self.input.rust) else {
                continue;
            };
            let na = normalize(n, r, a, ctx_a);
            let nb = normalize(n, r, b, ctx_b);
            if na.is_some() && na == nb {
                return;
            }
        }
        if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
            for r in rules.iter().filter(|r| r.action == Action::Tolerance) {
                let diff = (x - y).abs();
                let abs_ok = r.abs.is_some_and(|t| diff <= t);
                let rel_ok = r.rel.is_some_and(|t| diff <= t * x.abs().max(y.abs()));
                if abs_ok || rel_ok {
                    return;
                }
            }
        }
        let kind = if type_name(a) == type_name(b) {
            Kind::Value
        } else {
            Kind::Type
        };
        self.push(kind, Some(a), Some(b), None);
    }
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_else(|_| s.as_bytes().to_vec())
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..8])
}

fn push_key(path: &mut String, key: &str) {
    // State entries are named by their label, bracketed as it is, so that a path reads like
    // `$state.dynamodb[user_id=u1,date=2026-11-27].daily_count` and can be pasted into a rule.
    if matches!(
        path.as_str(),
        "$state.dynamodb" | "$state.s3" | "$state.redis"
    ) {
        path.push('[');
        path.push_str(key);
        path.push(']');
        return;
    }
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::to_string(key).unwrap_or_default());
        path.push(']');
    }
}

/// JSON type names, telling ints from floats as Python does.
pub fn type_name(v: &Value) -> &'static str {
    manuel_shared::py::type_name(v)
}

fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    let key = |v: &Value| v.to_string();
    let mut ka: Vec<String> = a.iter().map(key).collect();
    let mut kb: Vec<String> = b.iter().map(key).collect();
    ka.sort_unstable();
    kb.sort_unstable();
    ka == kb
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

/// Reduce a value to a token that is equal for both sides when the normalizer recognises it.
fn normalize(n: Normalizer, rule: &Rule, v: &Value, ctx: &SideCtx) -> Option<String> {
    let window = rule.window_s as f64;
    match n {
        Normalizer::EpochNearNow => {
            let x = match v {
                Value::Number(num) => num.as_f64()?,
                Value::String(s) => s.trim().parse::<f64>().ok()?,
                _ => return None,
            };
            let at = ctx.at as f64;
            if (x - at).abs() <= window {
                Some("<epoch≈now>".into())
            } else if (x / 1000.0 - at).abs() <= window {
                Some("<epoch_ms≈now>".into())
            } else {
                None
            }
        }
        Normalizer::IsoNearNow => {
            let s = v.as_str()?;
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp())
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|d| d.and_utc().timestamp())
                })
                .ok()?;
            ((t - ctx.at).abs() as f64 <= window).then(|| "<iso≈now>".into())
        }
        Normalizer::Uuid => {
            let s = v.as_str()?;
            let re = uuid_re();
            re.is_match(s)
                .then(|| re.replace_all(s, "<uuid>").into_owned())
        }
        Normalizer::PresignedUrl => presigned(v.as_str()?, ctx.at),
        Normalizer::StackVar => {
            let want = ctx.vars.get(rule.var.as_deref()?)?;
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            (&s == want).then(|| format!("<{}>", rule.var.as_deref().unwrap_or("")))
        }
    }
}

fn uuid_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        )
        .expect("uuid regex")
    })
}

/// `s3://bucket/key?expires=N` for SigV2 (`Expires=<epoch>`) and SigV4 (`X-Amz-Expires=<s>`)
/// presigned URLs, virtual-hosted or path-style.
fn presigned(url: &str, at: i64) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let path = parsed.path().trim_start_matches('/');
    let (bucket, key) = match host.find(".s3") {
        Some(i) if i > 0 => (host[..i].to_owned(), path.to_owned()),
        _ => {
            let (b, k) = path.split_once('/')?;
            (b.to_owned(), k.to_owned())
        }
    };
    let key = manuel_shared::url::unquote(&key);
    let mut expires = None;
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "X-Amz-Expires" => expires = v.parse::<i64>().ok(),
            // SigV2 carries an absolute expiry, not the signing time: relative to "now", to the
            // nearest 5 minutes, because a warm handler's (pinned, then running) clock may be
            // a minute or two past the case's clock by the time it signs.
            "Expires" => {
                expires = v
                    .parse::<i64>()
                    .ok()
                    .map(|e| ((e - at) as f64 / 300.0).round() as i64 * 300)
            }
            _ => {}
        }
    }
    let mut out = format!("s3://{bucket}/{key}");
    if let Some(e) = expires {
        let _ = write!(out, "?expires={e}");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(status: u16, body: &Value) -> Value {
        json!({"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": manuel_shared::pyjson::dumps(body)})
    }

    fn run(rules: &str, noise: &[String], a: &Value, b: &Value) -> Vec<Difference> {
        let rules = Rules::parse(rules).unwrap();
        let ctx = SideCtx {
            at: 1_800_000_000,
            vars: BTreeMap::from([("redis_port".into(), "6379".into())]),
        };
        let ctx_r = SideCtx {
            at: 1_800_000_100,
            vars: BTreeMap::from([("redis_port".into(), "7000".into())]),
        };
        diff_responses(
            &DiffInput {
                function: "f",
                case: "c",
                rules: &rules,
                noise,
                python: &ctx,
                rust: &ctx_r,
            },
            a,
            b,
        )
    }

    #[test]
    fn identical_responses_have_no_differences() {
        let a = resp(200, &json!({"a": [1, 2], "b": {"c": 1.5}}));
        assert!(run("", &[], &a, &a.clone()).is_empty());
    }

    #[test]
    fn typed_differences_with_paths() {
        let a = resp(
            200,
            &json!({"a": 5.0, "b": "x", "gone": 1, "list": [1, 2, 3], "o": [1, 2]}),
        );
        let b = resp(
            201,
            &json!({"a": 5, "b": "y", "new": 1, "list": [1, 2], "o": [2, 1]}),
        );
        let d = run("", &[], &a, &b);
        let got: Vec<(String, Kind)> = d.iter().map(|d| (d.path.clone(), d.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("$status".into(), Kind::Value),
                ("$.a".into(), Kind::Type),
                ("$.b".into(), Kind::Value),
                ("$.gone".into(), Kind::Missing),
                ("$.list".into(), Kind::Length),
                ("$.o".into(), Kind::Order),
                ("$.new".into(), Kind::Extra),
            ]
        );
        assert!(d.iter().all(|d| d.class == Class::Unexplained));
    }

    #[test]
    fn rules_ignore_normalize_tolerate_and_unorder() {
        let rules = r#"
[headers]
ignore = ["x-trace"]
[[rule]]
path = "$.ts"
action = "normalize"
normalizer = "epoch_near_now"
[[rule]]
path = "$.id"
action = "normalize"
normalizer = "uuid"
[[rule]]
path = "$.score"
action = "tolerance"
abs = 0.01
[[rule]]
path = "$.tags"
action = "unordered"
[[rule]]
path = "$.debug"
action = "ignore"
[[rule]]
path = "$.port"
action = "normalize"
normalizer = "stack_var"
var = "redis_port"
[[rule]]
path = "$.url"
action = "normalize"
normalizer = "presigned_url"
"#;
        let mut a = resp(
            200,
            &json!({"ts": 1_800_000_001, "id": "0b9e2f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "score": 0.501, "tags": ["a", "b"], "debug": 1, "port": "6379",
            "url": "https://b.s3.amazonaws.com/manuals/u1/x.pdf?AWSAccessKeyId=k&Signature=s&Expires=1800003600"}),
        );
        a["headers"]["X-Trace"] = json!("1");
        let b = resp(
            200,
            &json!({"ts": 1_800_000_102, "id": "5d1f0c9e-aaaa-4bbb-8ccc-0d1e2f3a4b5c", "score": 0.5, "tags": ["b", "a"], "debug": 2, "port": "7000",
            "url": "http://127.0.0.1:5000/b/manuals/u1/x.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=z"}),
        );
        let d = run(rules, &[], &a, &b);
        assert!(d.is_empty(), "{d:#?}");
        // The same values beyond the rules' reach are differences.
        let c = resp(
            200,
            &json!({"ts": 1_700_000_000, "id": "nope", "score": 0.6, "tags": ["a", "c"], "debug": 2, "port": "7001",
            "url": "https://b.s3.amazonaws.com/manuals/u1/y.pdf"}),
        );
        let paths: Vec<String> = run(rules, &[], &a, &c)
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert_eq!(
            paths,
            ["$.ts", "$.id", "$.score", "$.tags[1]", "$.port", "$.url"]
        );
    }

    #[test]
    fn divergences_and_noise_classify() {
        let a = resp(200, &json!({"x": 1, "y": 1}));
        let b = resp(200, &json!({"x": 2, "y": 2}));
        let rules = "[[divergence]]\nfunction = \"f\"\npath = \"$.x\"\nreason = \"on purpose\"\n";
        let d = run(rules, &["$.y".to_string()], &a, &b);
        assert!(matches!(&d[0].class, Class::Accepted { reason, .. } if reason == "on purpose"));
        assert_eq!(d[1].class, Class::Noise);
    }

    #[test]
    fn text_and_non_json_bodies() {
        let a = json!({"statusCode": 200, "body": "line1\nline2\n"});
        let b = json!({"statusCode": 200, "body": "line1\nline3\n"});
        let d = run("", &[], &a, &b);
        assert_eq!(d[0].kind, Kind::Text);
        assert!(d[0].detail.as_deref().unwrap().contains("-line2"));
        let c = json!({"statusCode": 200, "body": "{\"a\": 1}"});
        assert_eq!(run("", &[], &c, &a)[0].kind, Kind::Type);
    }

    #[test]
    fn png_bodies_compare_by_pixels_with_tolerance() {
        use crate::parity::image::encode;
        use base64::Engine;
        let px = vec![90u8; 8 * 8 * 4];
        let mut near = px.clone();
        near[0] = 100;
        let enc =
            |p: &[u8], c| base64::engine::general_purpose::STANDARD.encode(encode(8, 8, p, c));
        let body = |b: String| json!({"statusCode": 200, "isBase64Encoded": true, "body": b});
        // Same pixels, other bytes: identical.
        let same = run(
            "",
            &[],
            &body(enc(&px, png::Compression::Fast)),
            &body(enc(&px, png::Compression::High)),
        );
        assert!(same.is_empty(), "{same:?}");
        // Other pixels: a Pixels difference, unless a rule tolerates it.
        let d = run(
            "",
            &[],
            &body(enc(&px, png::Compression::Fast)),
            &body(enc(&near, png::Compression::Fast)),
        );
        assert_eq!(d[0].kind, Kind::Pixels);
        assert!(d[0].detail.as_deref().unwrap().contains("max |Δ| 10"));
        let rule = "[[rule]]\npath = \"$\"\naction = \"pixels\"\nmax_mean = 0.5\n";
        assert!(run(
            rule,
            &[],
            &body(enc(&px, png::Compression::Fast)),
            &body(enc(&near, png::Compression::Fast))
        )
        .is_empty());
        // The same inside JSON as data URLs.
        let url = |p: &[u8]| format!("data:image/png;base64,{}", enc(p, png::Compression::Fast));
        let d = run(
            "",
            &[],
            &resp(200, &json!({"img": url(&px)})),
            &resp(200, &json!({"img": url(&near)})),
        );
        assert_eq!((d[0].path.as_str(), d[0].kind), ("$.img", Kind::Pixels));
        // Non-image binary bodies differ by bytes.
        let d = run("", &[], &body("AAAA".into()), &body("AAAB".into()));
        assert_eq!(d[0].kind, Kind::Bytes);
    }

    #[test]
    fn keys_that_need_brackets() {
        let a = resp(200, &json!({"a.b": 1}));
        let b = resp(200, &json!({"a.b": 2}));
        assert_eq!(run("", &[], &a, &b)[0].path, r#"$["a.b"]"#);
    }
}
