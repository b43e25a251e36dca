//! Rust port of Manuel's ingestion-status function
//! (`backend/src/functions/ingestion-status/app.py`) as deployed (its folder ships the modules
//! it imports).
//!
//! Three routes reach one handler; only `?job_id=` decides what it does (the `{jobId}` path
//! parameter and the `/files` route are ignored):
//! - with a job id: the `ingestion_job#<id>` record (first page of a filtered Scan), the live
//!   status from bedrock-agent (first data source of the knowledge base, GetIngestionJob), and
//!   when the status changed an UpdateItem of the record and of the file tracker;
//! - without: every `ingestion_job#` record of the first Scan page, whoever started it,
//!   newest `created_at` first (CPython's sort, with its TypeError on mixed types), ten of them.
//!
//! Failures come back as Python shapes them: some as 200 bodies with an `error`, the rest as
//! the handler's 500 with `details` and a `traceback` — which here holds the exception's line
//! only (declared: no frames, no file paths).

pub mod encode;
pub mod jobs;

use encode::Out;
use manuel_shared::apigw::{dict_get, PyGet, Response};
use manuel_shared::py::{truthy, type_name, PyException};
use manuel_shared::pyvalue::PyValue;
use serde_json::Value;

/// The AWS clients the handler uses.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub agent: aws_sdk_bedrockagent::Client,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            agent: aws_sdk_bedrockagent::Client::new(conf),
        }
    }
}

/// The environment the handler reads with `os.environ[...]` (absent: a KeyError).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub usage_table: Option<String>,
    pub knowledge_base_id: Option<String>,
}

impl Env {
    pub fn from_env() -> Self {
        Self {
            usage_table: std::env::var("USAGE_TABLE_NAME").ok(),
            knowledge_base_id: std::env::var("KNOWLEDGE_BASE_ID").ok(),
        }
    }
}

/// Handle one API Gateway proxy event; returns the proxy response dict.
pub async fn handle(event: &Value, c: &Clients, env: &Env) -> Value {
    let resp = match route(event, c, env).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("Error getting ingestion status: {}", e.message);
            failure(&e)
        }
    };
    resp.to_value()
}

fn json_response(status: u16, body: &PyValue) -> Response {
    Response::new(status)
        .header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
        .text_body(manuel_shared::pyvalue::dumps(body))
}

/// The handler's `except Exception`: 500 with the message and the traceback.
fn failure(e: &PyException) -> Response {
    let body = PyValue::dict([
        ("error", PyValue::str("Failed to get ingestion status")),
        ("details", PyValue::str(&e.message)),
        ("traceback", PyValue::str(&e.traceback())),
    ]);
    json_response(500, &body)
}

/// `d.get(key, {})` on a value Python calls `.get` on.
fn get_dict<'a>(d: &'a Value, key: &str, empty: &'a Value) -> Result<&'a Value, PyException> {
    Ok(match dict_get(d, key)? {
        PyGet::Present(v) => v,
        PyGet::Missing => empty,
    })
}

/// The body of the handler's `try`.
async fn route(event: &Value, c: &Clients, env: &Env) -> Result<Response, PyException> {
    if let PyGet::Present(m) = dict_get(event, "httpMethod")? {
        if m.as_str() == Some("OPTIONS") {
            return Ok(manuel_shared::apigw::preflight("GET,OPTIONS"));
        }
    }
    // The caller's identity is read (and can fail) but decides nothing: every user sees every
    // job (kept; README).
    let empty = Value::Object(Default::default());
    let context = get_dict(event, "requestContext", &empty)?;
    let authorizer = get_dict(context, "authorizer", &empty)?;
    let claims = get_dict(authorizer, "claims", &empty)?;
    dict_get(claims, "sub")?;

    let query = match dict_get(event, "queryStringParameters")? {
        PyGet::Present(q) if truthy(q) => q,
        _ => &empty,
    };
    let job_id = match dict_get(query, "job_id")? {
        PyGet::Present(v) => v,
        PyGet::Missing => &Value::Null,
    };
    let result = if truthy(job_id) {
        jobs::job_status(c, env, job_id).await?
    } else {
        jobs::recent_jobs(c, env).await?
    };
    // json.dumps(result, default=decimal_default) — which can raise too.
    let body = encode::to_py(&Out::Dict(result))?;
    Ok(json_response(200, &body))
}

/// Python's `str(x)` of an event value, for the keys built from it (`f"ingestion_job#{x}"`).
pub(crate) fn event_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => PyValue::from_json(other).py_repr(),
    }
}

/// botocore's check that a request parameter is a string.
pub(crate) fn require_str<'a>(name: &str, v: &'a Value) -> Result<&'a str, PyException> {
    match v {
        Value::String(s) => Ok(s),
        other => {
            let class = match other {
                Value::Bool(_) => "bool".to_owned(),
                Value::Number(n) if n.is_f64() => "float".to_owned(),
                Value::Number(_) => "int".to_owned(),
                o => type_name(o).to_owned(),
            };
            Err(PyException::new(
                "ParamValidationError",
                format!(
                    "Parameter validation failed:\nInvalid type for parameter {name}, value: {}, type: <class '{class}'>, valid types: <class 'str'>",
                    PyValue::from_json(other).py_repr()
                ),
            ))
        }
    }
}
