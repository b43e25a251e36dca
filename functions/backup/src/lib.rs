//! Rust port of Manuel's backup function (`backend/src/functions/backup/app.py`) *as intended*:
//! deployed, the folder lacks `logger` and `utils` (they live in `backend/src/shared`), so every
//! call fails to import. The reference is the handler run with the shared folder on its path
//! (`oracle = "intended"`), with the deployed environment — which has neither
//! `USAGE_TABLE_NAME` nor `MANUALS_BUCKET`, so deployed, every check says "not configured";
//! fixtures set them to reach the AWS paths.
//!
//! Routes: `GET …/backup/status` (continuous backups and recent backups of the usage table,
//! versioning and replication of the manuals bucket, a placeholder for OpenSearch),
//! `GET …/backup/metrics` (static text), `POST …/backup/verify` (DescribeTable, ListBackups, a
//! sample of the bucket's objects; 207 when a service failed) and `POST …/backup/restore` (a
//! simulation: nothing is restored, whoever asks).

pub mod checks;
pub mod services;

use manuel_shared::apigw::legacy_cors_response;
use manuel_shared::py::{ends_with, type_name, PyException};
use manuel_shared::pyvalue::{self, PyValue};
use serde_json::{Map, Value};

/// The AWS clients the handler uses.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            s3: manuel_shared::aws::s3_client(conf),
        }
    }
}

/// The environment the handler reads (`os.environ.get`, `None` when unset).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub usage_table: Option<String>,
    pub manuals_bucket: Option<String>,
    pub stage: Option<String>,
    pub account_id: Option<String>,
    pub retention_days: Option<String>,
}

impl Env {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            usage_table: var("USAGE_TABLE_NAME"),
            manuals_bucket: var("MANUALS_BUCKET"),
            stage: var("STAGE"),
            account_id: var("AWS_ACCOUNT_ID"),
            retention_days: var("BACKUP_RETENTION_DAYS"),
        }
    }
}

/// `utils.create_response(status, body)`: the legacy CORS headers and `json.dumps(body)`.
pub(crate) fn respond(status: u16, body: &PyValue) -> manuel_shared::apigw::Response {
    legacy_cors_response(status).text_body(pyvalue::dumps(body))
}

pub(crate) fn error_body(error: &str, details: Option<&str>) -> PyValue {
    let mut entries = vec![("error", PyValue::str(error))];
    if let Some(d) = details {
        entries.push(("details", PyValue::str(d)));
    }
    PyValue::dict(entries)
}

/// Handle one API Gateway proxy event; returns the proxy response dict.
pub async fn handle(event: &Value, c: &Clients, env: &Env) -> Value {
    // `event["httpMethod"]` is read before the handler's `try`: a missing key (or an event that
    // is not a dict) escapes and API Gateway answers 502. The port answers what the catch-all
    // would have (declared in rules.toml and the README).
    let Value::Object(ev) = event else {
        let e = PyException::new(
            "TypeError",
            format!(
                "{} indices must be integers or slices, not str",
                type_name(event)
            ),
        );
        return failed(&e).to_value();
    };
    let Some(method) = ev.get("httpMethod") else {
        return failed(&PyException::key_error("httpMethod")).to_value();
    };
    if method.as_str() == Some("OPTIONS") {
        return legacy_cors_response(200).text_body("{}").to_value();
    }
    match route(ev, method, c, env).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e.message, error_type = %e.kind, "Error in backup operation");
            failed(&e)
        }
    }
    .to_value()
}

fn failed(e: &PyException) -> manuel_shared::apigw::Response {
    respond(
        500,
        &error_body("Backup operation failed", Some(&e.message)),
    )
}

/// The body of the handler's `try`.
async fn route(
    ev: &Map<String, Value>,
    method: &Value,
    c: &Clients,
    env: &Env,
) -> Result<manuel_shared::apigw::Response, PyException> {
    let empty = Value::String(String::new());
    let path = ev.get("path").unwrap_or(&empty);
    let not_found = || respond(404, &error_body("Backup endpoint not found", None));
    Ok(match method.as_str() {
        Some("GET") => {
            if ends_with(path, "/backup/status")? {
                respond(200, &checks::status(c, env).await)
            } else if ends_with(path, "/backup/metrics")? {
                respond(200, &checks::metrics(env))
            } else {
                not_found()
            }
        }
        Some("POST") => {
            if ends_with(path, "/backup/verify")? {
                services::verify(ev, c, env).await
            } else if ends_with(path, "/backup/restore")? {
                services::restore(ev, env)
            } else {
                not_found()
            }
        }
        _ => respond(405, &error_body("Method not allowed", None)),
    })
}
