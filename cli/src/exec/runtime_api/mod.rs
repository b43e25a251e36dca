//! Local Lambda Runtime API: the server a function process talks to, and the sandbox that owns
//! the process. Nothing here calls a handler in-process: every invocation crosses the real
//! protocol, exactly as in Lambda.

pub mod limits;
pub mod sandbox;
pub mod server;

use axum::body::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use sandbox::{Invocation, Sandbox};

/// How to start one function: program, arguments, environment and limits.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Name shown in reports (`health (rust)`).
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub function_arn: String,
    /// Run the process under Lambda's CPU and memory limits for `memory_mb` (see [`limits`]).
    pub lambda_limits: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("cannot start {0}")]
    Spawn(String),
    #[error("{0}")]
    Io(String),
}

/// What a synchronous `Invoke` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response payload (for an API Gateway proxy function, the response dict).
    Response(Bytes),
    /// `X-Amz-Function-Error: Unhandled` with the error payload.
    FunctionError { error_type: String, payload: Value },
}

impl Outcome {
    fn from_error(header_type: Option<String>, body: Bytes) -> Self {
        let payload: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        let error_type = header_type
            .or_else(|| {
                payload
                    .get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "Unhandled".into());
        Outcome::FunctionError {
            error_type,
            payload,
        }
    }

    fn exit_error(status: &str) -> Self {
        Outcome::FunctionError {
            error_type: "Runtime.ExitError".into(),
            payload: serde_json::json!({
                "errorType": "Runtime.ExitError",
                "errorMessage": format!("Error: Runtime exited with error: {status}"),
            }),
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Outcome::FunctionError { .. })
    }
}

/// The figures of Lambda's `REPORT` log line.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Spawn → first `GET next`, on the first invocation of a fresh process only.
    pub init_ms: Option<f64>,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_rss_mb: f64,
    pub cold: bool,
    /// SnapStart restore (deployed functions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_restore_ms: Option<u64>,
    /// The runtime failed before its first `GET next` (init error, crash or init timeout).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub init_failed: bool,
    /// Seconds since the process was spawned when the invocation began (local sandboxes): a
    /// process started at a pinned clock reads that clock plus this much.
    #[serde(skip)]
    pub process_age_s: Option<f64>,
    /// How Lambda's CPU and memory limits were applied to the process.
    pub limits: limits::Enforcement,
}

impl Report {
    /// The line Lambda writes after each invocation.
    pub fn line(&self, request_id: &str) -> String {
        let mut s = format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.duration_ms,
            self.billed_ms,
            self.memory_mb,
            self.max_rss_mb.ceil() as u64
        );
        if let Some(init) = self.init_ms {
            s.push_str(&format!("\tInit Duration: {init:.2} ms"));
        }
        s
    }
}

/// What API Gateway (REST, Lambda proxy integration) sends the client for an invoke outcome:
/// the function's response dict, or `502 {"message": "Internal server error"}` for a function
/// error or a malformed proxy response.
pub fn apigw_view(outcome: &Outcome) -> Value {
    let bad_gateway = || {
        serde_json::json!({
            "statusCode": 502,
            "headers": {"Content-Type": "application/json"},
            "body": "{\"message\": \"Internal server error\"}",
        })
    };
    match outcome {
        Outcome::FunctionError { .. } => bad_gateway(),
        Outcome::Response(body) => match serde_json::from_slice::<Value>(body) {
            Ok(v) if is_proxy_response(&v) => v,
            _ => bad_gateway(),
        },
    }
}

/// The answer to a direct invocation: the function's return value (a body that is not JSON as a
/// string), or the error as Lambda reports it (`errorType`, `errorMessage`; no stack trace).
pub fn direct_view(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::FunctionError {
            error_type,
            payload,
        } => serde_json::json!({
            "errorType": error_type,
            "errorMessage": payload.get("errorMessage").cloned().unwrap_or(Value::Null),
        }),
        Outcome::Response(body) => serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
    }
}

fn is_proxy_response(v: &Value) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    let status_ok = match obj.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64().is_some_and(|c| (100..=599).contains(&c)),
        Some(Value::String(s)) => s.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c)),
        _ => false,
    };
    let body_ok = matches!(
        obj.get("body"),
        None | Some(Value::String(_)) | Some(Value::Null)
    );
    status_ok && body_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_has_lambda_shape() {
        let r = Report {
            init_ms: Some(12.345),
            duration_ms: 1.2,
            billed_ms: 2,
            memory_mb: 256,
            max_rss_mb: 14.2,
            cold: true,
            init_failed: false,
            ..Report::default()
        };
        assert_eq!(
            r.line("abc"),
            "REPORT RequestId: abc\tDuration: 1.20 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB\tMax Memory Used: 15 MB\tInit Duration: 12.35 ms"
        );
    }

    #[test]
    fn function_errors_and_bad_responses_become_502() {
        let err = Outcome::FunctionError {
            error_type: "Unhandled".into(),
            payload: Value::Null,
        };
        assert_eq!(apigw_view(&err)["statusCode"], 502);
        let bad = Outcome::Response(Bytes::from_static(b"{\"body\": \"x\"}"));
        assert_eq!(apigw_view(&bad)["statusCode"], 502);
        let good = Outcome::Response(Bytes::from_static(
            b"{\"statusCode\": 200, \"body\": \"x\"}",
        ));
        assert_eq!(apigw_view(&good)["statusCode"], 200);
    }
}
