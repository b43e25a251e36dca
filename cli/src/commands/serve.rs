//! `serve`: a local stand-in for API Gateway (REST, Lambda proxy integration) in front of one
//! local function, so that curl, a browser or `parity --rust-url/--python-url` can reach it.
//!
//! Each HTTP request becomes a proxy event (method, path, headers, query string, body —
//! base64 when it is not UTF-8 — and a request context for stage `local`). Like the Cognito
//! authorizer, a `Bearer` JWT's payload becomes `requestContext.authorizer.claims`, but here the
//! token is NOT verified: this server is for local testing on 127.0.0.1 only.

use crate::cli::ServeArgs;
use crate::config::Project;
use crate::exec::Pool;
use crate::exec::Side;
use crate::stack::Stack;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

struct Served {
    pool: Pool<'static>,
}

pub async fn run(project: &Project, args: ServeArgs) -> anyhow::Result<i32> {
    if project.function(&args.function)?.routes.is_empty() {
        anyhow::bail!(
            "function '{}' has no API routes (manuel-migrate.toml): serve is HTTP only; send its events with `invoke --event FILE`",
            args.function
        );
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| anyhow::anyhow!("port {} on 127.0.0.1: {e}", args.port))?;
    let project: &'static Project = Box::leak(Box::new(project.clone()));
    let stack = Stack::attach_or_start(project).await?;
    if stack.is_owned() {
        eprintln!(
            "note: no stack is running, so this serve has a private one; a second serve would get \
             another (other Redis, other moto): run `manuel-migrate stack up` first when two \
             serves are compared with parity --python-url/--rust-url"
        );
    }
    let side = if args.python_src.is_some() {
        Side::Python
    } else {
        Side::Rust
    };
    let pool = Pool::new(
        project,
        &stack,
        &args.function,
        side,
        args.python_src.clone(),
        args.profile,
    )?;
    let state = Arc::new(Served { pool });
    let app = axum::Router::new().fallback(handle).with_state(state);
    let addr = listener.local_addr()?;
    println!(
        "serving {} ({side}) on http://{addr} — Ctrl-C to stop",
        args.function
    );
    axum::serve(listener, app).await?;
    drop(stack);
    Ok(0)
}

/// The REST proxy event API Gateway would send for this request.
pub fn event_for(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        single.insert(k.as_str().to_owned(), Value::String(v.clone()));
        match multi.get_mut(k.as_str()) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            _ => {
                multi.insert(k.as_str().to_owned(), json!([v]));
            }
        }
    }
    let (mut q1, mut qn) = (Map::new(), Map::new());
    if let Some(q) = uri.query() {
        for (k, v) in url_pairs(q) {
            q1.insert(k.clone(), Value::String(v.clone()));
            match qn.get_mut(&k) {
                Some(Value::Array(a)) => a.push(Value::String(v)),
                _ => {
                    qn.insert(k, json!([v]));
                }
            }
        }
    }
    let claims = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(jwt_payload);
    let (body_value, b64) = if body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(body) {
            Ok(s) => (Value::String(s.to_owned()), false),
            Err(_) => (
                Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                true,
            ),
        }
    };
    let mut ctx = json!({
        "resourcePath": uri.path(),
        "httpMethod": method.as_str(),
        "path": format!("/local{}", uri.path()),
        "stage": "local",
        "requestId": uuid::Uuid::new_v4().to_string(),
        "requestTimeEpoch": chrono::Utc::now().timestamp_millis(),
        "identity": {"sourceIp": "127.0.0.1", "userAgent": single.get("user-agent").cloned().unwrap_or(Value::Null)},
    });
    if let Some(c) = claims {
        ctx["authorizer"] = json!({"claims": c});
    }
    let or_null = |m: Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m)
        }
    };
    json!({
        "resource": uri.path(),
        "path": uri.path(),
        "httpMethod": method.as_str(),
        "headers": or_null(single),
        "multiValueHeaders": or_null(multi),
        "queryStringParameters": or_null(q1),
        "multiValueQueryStringParameters": or_null(qn),
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": ctx,
        "body": body_value,
        "isBase64Encoded": b64,
    })
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{q}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The (unverified) payload of a JWT.
fn jwt_payload(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn handle(
    State(s): State<Arc<Served>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = event_for(&method, &uri, &headers, &body);
    let bytes = Bytes::from(serde_json::to_vec(&event).unwrap_or_default());
    let answer = match s.pool.invoke(&BTreeMap::new(), bytes).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("invoke failed: {e}");
            return plain(
                StatusCode::BAD_GATEWAY,
                "{\"message\": \"Internal server error\"}",
            );
        }
    };
    for line in &answer.logs {
        super::print_log_line(line);
    }
    let r = &answer.response;
    let status = r
        .get("statusCode")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(502);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status as u16).unwrap_or(StatusCode::BAD_GATEWAY));
    if let Some(Value::Object(h)) = r.get("headers") {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(k.as_str()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                builder = builder.header(name, value);
            }
        }
    }
    let bytes = crate::exec::body_bytes(r).unwrap_or_default();
    builder.body(Body::from(bytes)).unwrap_or_else(|_| {
        plain(
            StatusCode::BAD_GATEWAY,
            "{\"message\": \"Internal server error\"}",
        )
    })
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("static response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_becomes_a_proxy_event_with_claims() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"u-1","email":"a@b.c"}"#);
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer x.{payload}.sig")).unwrap(),
        );
        let ev = event_for(
            &Method::POST,
            &"/api/query?a=1&a=2&b=x".parse().unwrap(),
            &h,
            br#"{"q":1}"#,
        );
        assert_eq!(ev["httpMethod"], "POST");
        assert_eq!(ev["path"], "/api/query");
        assert_eq!(ev["queryStringParameters"]["a"], "2");
        assert_eq!(
            ev["multiValueQueryStringParameters"]["a"],
            json!(["1", "2"])
        );
        assert_eq!(ev["requestContext"]["authorizer"]["claims"]["sub"], "u-1");
        assert_eq!(ev["body"], "{\"q\":1}");
        assert_eq!(ev["isBase64Encoded"], false);
        let ev = event_for(
            &Method::GET,
            &"/health".parse().unwrap(),
            &HeaderMap::new(),
            &[0xff, 0x00],
        );
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["headers"], Value::Null);
    }
}
