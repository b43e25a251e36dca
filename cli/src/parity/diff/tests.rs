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
fn an_expiry_is_now_plus_its_offset_on_each_side() {
    // Python answered at 1_800_000_000, Rust at 1_800_000_100 (`run`): a 7-day TTL written by
    // each side is the same token; a 30-day one is not, nor is a TTL of "now".
    let rules = "[[rule]]\npath = \"$.ttl\"\naction = \"normalize\"\nnormalizer = \"epoch_near_now\"\noffset_s = 604800\nwindow_s = 60\n";
    let week = 604_800;
    let a = resp(200, &json!({"ttl": 1_800_000_000 + week}));
    let b = resp(200, &json!({"ttl": 1_800_000_100 + week + 2}));
    assert!(run(rules, &[], &a, &b).is_empty());
    let month = resp(200, &json!({"ttl": 1_800_000_100 + 30 * 86_400}));
    assert_eq!(run(rules, &[], &a, &month)[0].path, "$.ttl");
    let now = resp(200, &json!({"ttl": 1_800_000_100}));
    assert_eq!(run(rules, &[], &a, &now)[0].path, "$.ttl");
    let wrong =
        "[[rule]]\npath = \"$.t\"\naction = \"normalize\"\nnormalizer = \"uuid\"\noffset_s = 1\n";
    assert!(Rules::parse(wrong)
        .unwrap_err()
        .to_string()
        .contains("offset_s"));
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
    let enc = |p: &[u8], c| base64::engine::general_purpose::STANDARD.encode(encode(8, 8, p, c));
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
