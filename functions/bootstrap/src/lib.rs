//! Rust port of Manuel's bootstrap function (`backend/src/functions/bootstrap/app.py` with the
//! folder's own `file_tracker.py`), as deployed by `template-minimal.yaml` on
//! `POST /api/bootstrap` behind the Cognito authorizer.
//!
//! Three actions, from the JSON body's `action` (default `populate`):
//! - `populate`: every PDF under `manuals/` (first ListObjectsV2 page), HEADed; a file whose
//!   tracker record says the same ETag was ingested (`COMPLETE`) is skipped, the others each get
//!   a Knowledge Base ingestion job (ListDataSources + StartIngestionJob; a failure is logged
//!   and swallowed), a job record and a tracker record.
//! - `clear`: deletes the caller's objects whose metadata says `bootstrap: true`.
//! - `status`: counts the caller's objects and the bootstrap ones among them.
//!
//! One behaviour is changed on purpose (declared in rules.toml, README kept/fixed): Python's
//! `populate` answers with the keys, sizes and ETags of *every* user's manuals. The port does
//! the same work and gives the same counts, but lists only the caller's own entries.

mod inventory;
mod populate;
mod tracker;

use manuel_shared::apigw::{get_or, Response};
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyDict, PyValue};
use serde_json::{json, Value};

/// The AWS clients the handler uses.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub agent: aws_sdk_bedrockagent::Client,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            s3: manuel_shared::aws::s3_client(conf),
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            agent: aws_sdk_bedrockagent::Client::new(conf),
        }
    }
}

/// The environment the handler reads (`os.environ.get`: `None` when unset).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub manuals_bucket: Option<String>,
    pub usage_table: Option<String>,
    pub knowledge_base_id: Option<String>,
}

impl Env {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            manuals_bucket: var("MANUALS_BUCKET"),
            usage_table: var("USAGE_TABLE_NAME"),
            knowledge_base_id: var("KNOWLEDGE_BASE_ID"),
        }
    }
}

/// The caller, as the handler names it: the `sub` claim (any JSON value), else
/// `"bootstrap-user"`.
#[derive(Debug, Clone)]
pub struct Caller(pub Value);

impl Caller {
    /// `f"manuals/{user_id}/"`.
    pub fn prefix(&self) -> String {
        format!("manuals/{}/", py::str_of(&self.0))
    }

    fn json(&self) -> PyValue {
        PyValue::from_json(&self.0)
    }
}

/// A JSON answer with the two headers every action answer carries.
pub(crate) fn answer(status: u16, body: &PyValue) -> Value {
    Response::new(status)
        .header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
        .text_body(pyvalue::dumps(body))
        .to_value()
}

/// `{"error": …, "details": str(e)}` of an action's own `except`.
pub(crate) fn failed(error: &str, e: &PyException) -> Value {
    answer(
        500,
        &PyValue::dict([
            ("error", PyValue::str(error)),
            ("details", PyValue::str(&e.message)),
        ]),
    )
}

/// Handle one API Gateway proxy event; returns the proxy response dict.
pub async fn handle(event: &Value, c: &Clients, env: &Env) -> Value {
    match dispatch(event, c, env).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("Bootstrap error: {}", e.message);
            answer(
                500,
                &PyValue::dict([
                    ("error", PyValue::str("Bootstrap failed")),
                    ("details", PyValue::str(&e.message)),
                    (
                        "timestamp",
                        PyValue::Int(pyvalue::PyInt::I64(manuel_shared::runtime::now_secs())),
                    ),
                ]),
            )
        }
    }
}

/// The body of the handler's `try`.
async fn dispatch(event: &Value, c: &Clients, env: &Env) -> Result<Value, PyException> {
    let Some(bucket) = env.manuals_bucket.as_deref().filter(|b| !b.is_empty()) else {
        // The one answer without headers.
        return Ok(json!({
            "statusCode": 400,
            "body": pyvalue::dumps(&PyValue::dict([(
                "error",
                PyValue::str("MANUALS_BUCKET environment variable not set"),
            )])),
        }));
    };
    let post = json!("POST");
    if get_or(event, "httpMethod", &post)?.as_str() == Some("OPTIONS") {
        return Ok(manuel_shared::apigw::preflight("POST,OPTIONS").to_value());
    }
    let caller = caller(event)?;
    let action = action(event)?;
    Ok(match action.as_py_str().and_then(|s| s.as_str()) {
        Some("populate") => populate::reprocess(c, env, bucket, &caller).await,
        Some("clear") => inventory::clear(c, bucket, &caller).await,
        Some("status") => inventory::status(c, bucket, &caller).await,
        _ => answer(
            400,
            &PyValue::dict([(
                "error",
                PyValue::str("Invalid action. Use 'populate', 'clear', or 'status'"),
            )]),
        ),
    })
}

/// `event.get("requestContext", {}).get("authorizer", {}).get("claims", {})`, then the `sub`
/// claim when the claims are truthy and hold it.
fn caller(event: &Value) -> Result<Caller, PyException> {
    let empty = json!({});
    let ctx = get_or(event, "requestContext", &empty)?;
    let authorizer = get_or(ctx, "authorizer", &empty)?;
    let claims = get_or(authorizer, "claims", &empty)?;
    if py::truthy(claims) && py::contains(claims, "sub")? {
        if let Some(sub) = py::subscript(claims, "sub")? {
            return Ok(Caller(sub.clone()));
        }
    }
    Ok(Caller(json!("bootstrap-user")))
}

/// `body_data.get("action", "populate")` of the body (`json.loads` of a non-empty str body, the
/// value itself otherwise).
fn action(event: &Value) -> Result<PyValue, PyException> {
    let default_body = json!("{}");
    let body = match get_or(event, "body", &default_body)? {
        Value::String(s) if s.is_empty() => PyValue::Dict(PyDict::new()),
        Value::String(s) => pyvalue::loads(s)?,
        other => PyValue::from_json(other),
    };
    Ok(body
        .get("action")?
        .cloned()
        .unwrap_or_else(|| PyValue::str("populate")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_sub_claim_or_the_bootstrap_user() {
        let with = |ctx: Value| caller(&json!({"requestContext": ctx}));
        let sub = with(json!({"authorizer": {"claims": {"sub": "u-1"}}})).unwrap();
        assert_eq!(sub.prefix(), "manuals/u-1/");
        let none = with(json!({"authorizer": {"claims": {}}})).unwrap();
        assert_eq!(none.prefix(), "manuals/bootstrap-user/");
        let number = with(json!({"authorizer": {"claims": {"sub": 12}}})).unwrap();
        assert_eq!(number.prefix(), "manuals/12/");
        // A list holding "sub" passes the `in` test, then cannot be indexed by a str.
        let e = with(json!({"authorizer": {"claims": ["sub"]}})).unwrap_err();
        assert_eq!(
            e.message,
            "list indices must be integers or slices, not str"
        );
        let e = with(json!({"authorizer": {"claims": 5}})).unwrap_err();
        assert_eq!(e.message, "argument of type 'int' is not iterable");
        let e = with(Value::Null).unwrap_err();
        assert_eq!(e.message, "'NoneType' object has no attribute 'get'");
    }

    #[test]
    fn the_action_defaults_to_populate() {
        let a = |body: Value| action(&json!({"body": body}));
        assert_eq!(a(json!("")).unwrap(), PyValue::str("populate"));
        assert_eq!(
            a(json!("{\"action\": \"clear\"}")).unwrap(),
            PyValue::str("clear")
        );
        assert_eq!(a(json!({"action": null})).unwrap(), PyValue::None);
        assert_eq!(
            action(&json!({})).unwrap(),
            PyValue::str("populate"),
            "no body key: '{{}}'"
        );
        let e = a(json!("[1]")).unwrap_err();
        assert_eq!(e.message, "'list' object has no attribute 'get'");
        let e = a(Value::Null).unwrap_err();
        assert_eq!(e.message, "'NoneType' object has no attribute 'get'");
        let e = a(json!("{")).unwrap_err();
        assert_eq!(e.kind, "JSONDecodeError");
    }
}
