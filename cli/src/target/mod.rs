//! How a request reaches one implementation. Parity and invoke only see [`Target`]s.

pub mod local;
pub mod remote;

use crate::runtime_api::{apigw_view, Invocation, Outcome, Report};
use serde_json::Value;

/// Which implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Python,
    Rust,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Python => "python",
            Side::Rust => "rust",
        })
    }
}

/// One answered request: what the client saw (after API Gateway) and how it went.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The proxy response as the client sees it (502 for function errors).
    pub response: Value,
    pub outcome: Option<Outcome>,
    pub report: Option<Report>,
    pub logs: Vec<String>,
    pub request_id: Option<String>,
}

impl From<Invocation> for Answer {
    fn from(inv: Invocation) -> Self {
        Answer {
            response: apigw_view(&inv.outcome),
            outcome: Some(inv.outcome),
            report: Some(inv.report),
            logs: inv.logs,
            request_id: Some(inv.request_id),
        }
    }
}

/// The body bytes of a proxy event or response: base64-decoded when `isBase64Encoded` is true.
pub fn body_bytes(v: &Value) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = v.get("body").and_then(Value::as_str)?;
    Some(
        if v.get("isBase64Encoded")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        },
    )
}
