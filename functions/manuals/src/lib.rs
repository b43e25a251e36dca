//! The manuals API: `GET /api/manuals` (the caller's PDFs), `GET /api/manuals/{id}` (detail and
//! a presigned URL), `POST /api/manuals/download` (fetch a URL into the bucket) and
//! `DELETE /api/manuals/{id}` (the five-step cleanup) — answering as the deployed Python
//! function does (its folder plus the PDF-processing layer: PyMuPDF gives page counts), with
//! two declared fixes (see README, "kept / fixed"):
//!
//! - the caller is the authorizer's `sub` claim; an unverified `Bearer` token is not read
//!   (Python decodes its payload without checking the signature, so anyone can claim any id);
//! - downloads go through [`guard`]: http(s) to public addresses only, redirects checked, size cap.

pub mod caller;
mod cleanup;
mod detail;
mod download;
pub mod guard;
mod list;
pub mod pdf;
mod routes;
mod s3;

pub use caller::{caller, python_payload_user, Caller};
pub use detail::size_mb;
pub use s3::as_http_client_reads;

use manuel_shared::apigw::Response;
use manuel_shared::py::PyException;
use serde_json::{json, Value};

/// The environment the handler reads (per request in Python; constant for a process).
#[derive(Debug, Clone, Default)]
pub struct ManualsEnv {
    pub manuals_bucket: Option<String>,
    pub knowledge_base_id: Option<String>,
    pub usage_table: Option<String>,
    pub cache_bucket: Option<String>,
    pub redis_endpoint: Option<String>,
    pub enable_redis: bool,
    pub redis_port: Option<String>,
}

impl ManualsEnv {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            manuals_bucket: var("MANUALS_BUCKET"),
            knowledge_base_id: var("KNOWLEDGE_BASE_ID"),
            usage_table: var("USAGE_TABLE"),
            cache_bucket: var("CACHE_BUCKET"),
            redis_endpoint: var("REDIS_ENDPOINT"),
            enable_redis: var("ENABLE_REDIS_CACHE")
                .unwrap_or_else(|| "false".into())
                .to_lowercase()
                == "true",
            redis_port: var("REDIS_PORT"),
        }
    }
}

/// Clients made once per process (boto3 makes them per request; the calls are the same).
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub agent: aws_sdk_bedrockagent::Client,
    pub fetch: guard::FetchConfig,
    /// Verifies Bearer tokens when the request carries no authorizer claims
    /// (`COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_IDS`); `None`: such requests are refused.
    pub verifier: Option<manuel_shared::auth::Verifier>,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            s3: manuel_shared::aws::s3_client(conf),
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            agent: aws_sdk_bedrockagent::Client::new(conf),
            fetch: guard::FetchConfig::from_env(),
            verifier: manuel_shared::auth::PoolConfig::from_env()
                .map(manuel_shared::auth::Verifier::new),
        }
    }
}

pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    Response::new(status)
        .header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
        .json_body(body)
}

pub(crate) fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

pub(crate) fn failure(message: &str, details: &str) -> Response {
    json_response(500, &json!({ "error": message, "details": details }))
}

/// The outer handler's answer to an exception it caught.
pub fn unhandled(e: &PyException, request_id: &str) -> Response {
    let (status, message) =
        if e.message.contains("Authentication") || e.message.contains("Unauthorized") {
            (401, "Authentication required. Please sign in.")
        } else if e.kind.contains("NoSuchKey") {
            (404, "Manual not found.")
        } else if e.kind.contains("AccessDenied") {
            (
                403,
                "Access denied. You don't have permission to access this manual.",
            )
        } else if e.kind.contains("ValidationException") {
            (400, "Invalid request. Please check your input.")
        } else {
            (500, "An error occurred while processing your request.")
        };
    tracing::error!("Error in manuals function [{}]: {}", e.kind, e.message);
    json_response(
        status,
        &json!({
            "error": message,
            "error_type": e.kind,
            "timestamp": manuel_shared::runtime::now_secs(),
            "request_id": request_id,
        }),
    )
}

/// Handle one API Gateway event; always a proxy response.
pub async fn handle(event: &Value, request_id: &str, env: &ManualsEnv, c: &Clients) -> Value {
    match routes::route(event, env, c).await {
        Ok(r) => r.to_value(),
        Err(e) => unhandled(&e, request_id).to_value(),
    }
}
