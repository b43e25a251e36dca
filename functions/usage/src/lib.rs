//! `GET /api/user/usage` and `GET /api/user/quota`: the caller's counters, history, operation
//! breakdown, costs and quota status from the usage table — answered as the Python function
//! answers, down to the number types: counters read from DynamoDB are `Decimal`s in Python and
//! come out as floats (`3.0`), while defaults are ints (`0`); quota percentages are computed in
//! `Decimal` arithmetic (28 digits, rounded half-even, [`manuel_shared::pydecimal`]) when a
//! counter is stored, in binary floats when none is; `int()` of a counter is exact at any size.

mod costs;
mod history;
mod numbers;
mod quota;
mod report;
mod stats;
mod table;
mod tracker;

pub use table::{MemoryTable, RawItem, ReadError, Table};

use chrono::{DateTime, Utc};
use manuel_shared::apigw::Response;
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyDict, PyInt, PyStr, PyValue};
use serde_json::Value;
use tracker::Reader;

pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// `create_response`: the legacy CORS headers (no Content-Type) and a `json.dumps` body.
fn create_response(status: u16, body: &PyValue) -> Response {
    manuel_shared::apigw::legacy_cors_response(status).text_body(pyvalue::dumps(body))
}

pub(crate) fn s(text: &str) -> PyValue {
    PyValue::Str(PyStr::from(text))
}

pub(crate) fn int(i: i64) -> PyValue {
    PyValue::Int(PyInt::I64(i))
}

pub(crate) fn dict(entries: Vec<(&str, PyValue)>) -> PyValue {
    let mut d = PyDict::new();
    for (k, v) in entries {
        d.insert(PyStr::from(k), v);
    }
    PyValue::Dict(d)
}

fn error(message: &str) -> PyValue {
    dict(vec![("error", s(message))])
}

/// Handle one event. `Err` is an exception Python would not catch (API Gateway answers 502);
/// the bootstrap turns it into a 500 with CORS headers (a declared divergence).
/// The clients a cold start makes (the bootstrap's init).
pub async fn init() -> Clients {
    Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(&manuel_shared::aws::load_config().await),
    }
}

/// One invocation's answer: the handler's response, or what an unhandled exception becomes.
pub async fn answer(event: &Value, c: &Clients) -> Value {
    match handle(event, c).await {
        Ok(r) => r.to_value(),
        Err(e) => unhandled(&e).to_value(),
    }
}

pub async fn handle(event: &Value, c: &Clients) -> Result<Response, PyException> {
    handle_with(event, &c.dynamodb, Utc::now()).await
}

/// [`handle`] over any [`Table`] at a given time.
pub async fn handle_with<T: Table + Sync>(
    event: &Value,
    table: &T,
    now: DateTime<Utc>,
) -> Result<Response, PyException> {
    let method =
        py::subscript(event, "httpMethod")?.ok_or_else(|| PyException::key_error("httpMethod"))?;
    if method.as_str() == Some("OPTIONS") {
        return Ok(create_response(200, &dict(vec![])));
    }
    let user_id = manuel_shared::auth::claims_sub(event)?.unwrap_or(Value::Null);
    if !py::truthy(&user_id) {
        return Ok(create_response(401, &error("Unauthorized")));
    }
    let path = match manuel_shared::apigw::dict_get(event, "path")? {
        manuel_shared::apigw::PyGet::Missing => Value::String(String::new()),
        manuel_shared::apigw::PyGet::Present(v) => v.clone(),
    };
    let path = py::str_receiver(&path, "endswith")?;
    let reader = Reader { table };
    if path.ends_with("/usage") {
        Ok(match report::usage(&reader, &user_id, now).await {
            Ok(body) => create_response(200, &body),
            Err(e) => {
                tracing::error!("Error getting usage stats: {}", e.message);
                create_response(500, &error("Failed to get usage statistics"))
            }
        })
    } else if path.ends_with("/quota") {
        Ok(match quota::quota(&reader, &user_id, now).await {
            Ok(body) => create_response(200, &body),
            Err(e) => {
                tracing::error!("Error getting quota info: {}", e.message);
                create_response(500, &error("Failed to get quota information"))
            }
        })
    } else {
        Ok(create_response(404, &error("Endpoint not found")))
    }
}

/// The answer API Gateway gives when the Python handler raises (502), fixed: a 500 the browser
/// can read (CORS headers), declared in parity-fixtures/rules.toml.
pub fn unhandled(e: &PyException) -> Response {
    tracing::error!("unhandled {}: {}", e.kind, e.message);
    create_response(500, &error("Internal server error"))
}
