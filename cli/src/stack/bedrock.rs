//! Bedrock replay: the local stand-in for bedrock-runtime, bedrock-agent-runtime and
//! bedrock-agent, which have no local server (moto answers `{}` or 404).
//!
//! Recordings live in `parity-fixtures/bedrock/*.json`, one request and its response each, and
//! are found by a key derived from the request: method, percent-decoded path and the body as
//! canonical JSON (keys sorted, no whitespace). Both sides of a parity run therefore get the same
//! model output *only if they send the same request* — the prompt text byte for byte, the same
//! retrieval configuration. An unknown request answers 404 `ResourceNotFoundException` naming
//! the key, and is saved under the misses folder so it can be turned into a recording.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// One recorded exchange.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// The request key (informative: it is recomputed from `request` when loading).
    #[serde(default)]
    pub key: String,
    pub service: String,
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub request: RecordedRequest,
    /// `None` in a saved miss: fill it in to make a recording.
    pub response: Option<RecordedResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    pub method: String,
    /// Percent-decoded path, e.g. `/model/anthropic.claude-3-5-sonnet-20241022-v2:0/invoke`.
    pub path: String,
    /// The JSON body (or a string for a body that is not JSON).
    pub body: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// A JSON body, sent compact; a string is sent as it is.
    pub body: Value,
}

/// Which Bedrock API a request belongs to, from its method and path.
pub fn classify(method: &str, path: &str) -> (&'static str, &'static str) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["model", _, "invoke"]) => ("bedrock-runtime", "InvokeModel"),
        ("POST", ["model", _, "converse"]) => ("bedrock-runtime", "Converse"),
        ("POST", ["knowledgebases", _, "retrieve"]) => ("bedrock-agent-runtime", "Retrieve"),
        ("POST", ["retrieveAndGenerate"]) => ("bedrock-agent-runtime", "RetrieveAndGenerate"),
        ("POST", ["knowledgebases", _, "datasources"]) => ("bedrock-agent", "ListDataSources"),
        ("PUT", ["knowledgebases", _, "datasources", _, "ingestionjobs"]) => {
            ("bedrock-agent", "StartIngestionJob")
        }
        ("POST", ["knowledgebases", _, "datasources", _, "ingestionjobs"]) => {
            ("bedrock-agent", "ListIngestionJobs")
        }
        ("GET", ["knowledgebases", _, "datasources", _, "ingestionjobs", _]) => {
            ("bedrock-agent", "GetIngestionJob")
        }
        _ => ("bedrock", "Unknown"),
    }
}

/// Keys sorted at every level, no whitespace: the same JSON in any key order or spacing.
pub fn canonical(v: &Value) -> String {
    fn write(out: &mut String, v: &Value) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).expect("string serialises"));
                    out.push(':');
                    write(out, &map[k]);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, x);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, v);
    out
}

/// The body as a JSON value when it parses, else as a string (lossy UTF-8).
pub fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Fields one SDK sends with the model's default value and another leaves out; the service
/// reads both the same, so the key drops them: (operation, JSON pointer, default value).
/// The Rust SDK sends `retrievalQuery.type: "TEXT"`, boto3 omits it.
const DEFAULTED_FIELDS: &[(&str, &str, &str)] = &[("Retrieve", "/retrievalQuery/type", "TEXT")];

/// Fields that are fresh on every call by design and say nothing about the request: the key
/// leaves them out. StartIngestionJob's idempotency `clientToken` is a new UUID from boto3 and
/// the Rust SDK alike (it only deduplicates retries of one call).
const VOLATILE_FIELDS: &[(&str, &str)] = &[("StartIngestionJob", "clientToken")];

fn without_defaults(operation: &str, body: &Value) -> Value {
    let mut body = body.clone();
    for (op, field) in VOLATILE_FIELDS {
        if *op == operation {
            if let Some(obj) = body.as_object_mut() {
                obj.remove(*field);
            }
        }
    }
    for (op, pointer, default) in DEFAULTED_FIELDS {
        if *op != operation {
            continue;
        }
        let (parent, field) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(obj) = body.pointer_mut(parent).and_then(Value::as_object_mut) {
            if obj.get(field).and_then(Value::as_str) == Some(default) {
                obj.remove(field);
            }
        }
    }
    body
}

/// The recording key of a request: 16 hex digits of SHA-256 over method, path and body.
pub fn key(method: &str, path: &str, body: &Value) -> String {
    let (_, operation) = classify(method, path);
    let body = without_defaults(operation, body);
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(canonical(&body).as_bytes());
    hex::encode(h.finalize())[..16].to_owned()
}

/// All recordings of a folder, by key. Saved misses (no response) are skipped.
pub fn load(dir: &Path) -> Result<HashMap<String, Recording>, ReplayError> {
    let mut out = HashMap::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let text =
            std::fs::read_to_string(&f).map_err(|e| ReplayError::Io(f.display().to_string(), e))?;
        let invalid = |message: String| ReplayError::Invalid {
            file: f.display().to_string(),
            message,
        };
        let rec: Recording = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if rec.response.is_none() {
            continue;
        }
        let k = key(&rec.request.method, &rec.request.path, &rec.request.body);
        if !rec.key.is_empty() && rec.key != k {
            return Err(invalid(format!(
                "`key` is {} but the request hashes to {k}; fix or remove `key` (at $.key)",
                rec.key
            )));
        }
        if let Some(prev) = out.insert(k.clone(), rec) {
            return Err(invalid(format!(
                "a second recording of request {k} ({} {})",
                prev.service, prev.operation
            )));
        }
    }
    Ok(out)
}

struct ReplayState {
    recordings: HashMap<String, Recording>,
    misses: PathBuf,
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<ReplayState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut r = answer(state, method, uri, body).await;
    if let Some(date) = caller_date(&headers) {
        r.headers_mut().insert("date", date);
    }
    r
}

/// The caller's clock as the `Date` of the answer: the time it signed the request with
/// (`X-Amz-Date`, `20261115T120000Z`) in HTTP's format. A function process runs under the
/// case's pinned clock, and a real Date weeks away makes the Rust SDK read every error
/// answer as clock skew and retry it (seconds of backoff the deployed function never spends).
fn caller_date(headers: &HeaderMap) -> Option<HeaderValue> {
    let signed = headers.get("x-amz-date")?.to_str().ok()?;
    let t = chrono::NaiveDateTime::parse_from_str(signed, "%Y%m%dT%H%M%SZ").ok()?;
    HeaderValue::from_str(&t.and_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
}

async fn answer(state: Arc<ReplayState>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = manuel_shared::url::unquote(uri.path()).into_owned();
    if path == "/__replay/health" {
        return (StatusCode::OK, "ok").into_response();
    }
    let body = body_value(&body);
    let k = key(method.as_str(), &path, &body);
    let (service, operation) = classify(method.as_str(), &path);
    match state.recordings.get(&k).and_then(|r| r.response.as_ref()) {
        Some(resp) => {
            println!("hit  {k} {service} {operation} {path}");
            let text = match &resp.body {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut r = (
                StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                text,
            )
                .into_response();
            let h = r.headers_mut();
            if !resp
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                h.insert("content-type", HeaderValue::from_static("application/json"));
            }
            for (name, value) in &resp.headers {
                if let (Ok(n), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    h.insert(n, v);
                }
            }
            h.insert("x-amzn-requestid", HeaderValue::from_static("replay-0000"));
            r
        }
        None => {
            let file = state.misses.join(format!("{k}.json"));
            let miss = Recording {
                key: k.clone(),
                service: service.into(),
                operation: operation.into(),
                notes: None,
                request: RecordedRequest {
                    method: method.to_string(),
                    path: path.clone(),
                    body,
                },
                response: None,
            };
            let saved = std::fs::create_dir_all(&state.misses)
                .ok()
                .and_then(|_| serde_json::to_vec_pretty(&miss).ok())
                .and_then(|b| crate::fsutil::write_atomic(&file, &b).ok())
                .is_some();
            println!("MISS {k} {service} {operation} {path}");
            let message = format!(
                "bedrock replay: no recording for {service} {operation} request {k}{}",
                if saved {
                    format!(" (request saved to {})", file.display())
                } else {
                    String::new()
                }
            );
            let mut r = (
                StatusCode::NOT_FOUND,
                serde_json::json!({ "message": message }).to_string(),
            )
                .into_response();
            let h = r.headers_mut();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            h.insert(
                "x-amzn-errortype",
                HeaderValue::from_static("ResourceNotFoundException"),
            );
            r
        }
    }
}

/// Serve recordings from `dir` on 127.0.0.1:`port` until the process ends.
pub async fn serve(dir: &Path, misses: &Path, port: u16) -> Result<(), ReplayError> {
    let recordings = load(dir)?;
    println!(
        "bedrock replay: {} recording(s) from {} on 127.0.0.1:{port}",
        recordings.len(),
        dir.display()
    );
    let state = Arc::new(ReplayState {
        recordings,
        misses: misses.to_path_buf(),
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    let at = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| ReplayError::Io(at.clone(), e))?;
    axum::serve(listener, app)
        .await
        .map_err(|e| ReplayError::Io(at, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_key_order_and_spacing_but_not_text() {
        let a = json!({"a": 1, "b": {"y": "q", "x": [1, 2]}});
        let b: Value = serde_json::from_str(r#"{ "b": {"x": [1,2], "y": "q"}, "a": 1 }"#).unwrap();
        assert_eq!(key("POST", "/p", &a), key("POST", "/p", &b));
        let c = json!({"a": 1, "b": {"y": "q ", "x": [1, 2]}});
        assert_ne!(key("POST", "/p", &a), key("POST", "/p", &c));
        assert_ne!(key("POST", "/p", &a), key("PUT", "/p", &a));
    }

    #[test]
    fn a_defaulted_field_does_not_change_the_key() {
        let p = "/knowledgebases/KB/retrieve";
        let boto = json!({"retrievalQuery": {"text": "q"}});
        let rust = json!({"retrievalQuery": {"text": "q", "type": "TEXT"}});
        assert_eq!(key("POST", p, &boto), key("POST", p, &rust));
        let other = json!({"retrievalQuery": {"text": "q", "type": "IMAGE"}});
        assert_ne!(key("POST", p, &boto), key("POST", p, &other));
    }

    #[test]
    fn paths_are_decoded_and_classified() {
        let p = manuel_shared::url::unquote(
            "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke",
        );
        assert_eq!(p, "/model/anthropic.claude-3-5-sonnet-20241022-v2:0/invoke");
        assert_eq!(classify("POST", &p), ("bedrock-runtime", "InvokeModel"));
        assert_eq!(
            classify("POST", "/knowledgebases/KB1/retrieve"),
            ("bedrock-agent-runtime", "Retrieve")
        );
        assert_eq!(
            classify("PUT", "/knowledgebases/KB1/datasources/DS1/ingestionjobs/"),
            ("bedrock-agent", "StartIngestionJob")
        );
        assert_eq!(manuel_shared::url::unquote("/a%2"), "/a%2");
    }

    #[test]
    fn an_idempotency_token_is_not_part_of_the_key() {
        let path = "/knowledgebases/KB1/datasources/DS1/ingestionjobs/";
        let a = json!({"clientToken": "0b1c…-first", "description": "d"});
        let b = json!({"clientToken": "7f3e…-second", "description": "d"});
        assert_eq!(key("PUT", path, &a), key("PUT", path, &b));
        assert_eq!(
            key("PUT", path, &a),
            key("PUT", path, &json!({"description": "d"}))
        );
        assert_ne!(
            key("PUT", path, &a),
            key("PUT", path, &json!({"description": "e"}))
        );
        // Elsewhere a clientToken is part of the request.
        let p = "/knowledgebases/KB1/retrieve";
        assert_ne!(
            key("POST", p, &json!({"clientToken": "x"})),
            key("POST", p, &json!({"clientToken": "y"}))
        );
    }

    #[test]
    fn a_recording_whose_key_disagrees_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let rec = json!({"key": "0000000000000000", "service": "bedrock-runtime", "operation": "InvokeModel",
            "request": {"method": "POST", "path": "/model/m/invoke", "body": {"x": 1}},
            "response": {"status": 200, "body": {"content": []}}});
        std::fs::write(dir.path().join("r.json"), rec.to_string()).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("r.json") && err.contains("(at $.key)"),
            "{err}"
        );
    }
}
