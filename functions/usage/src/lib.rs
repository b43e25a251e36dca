//! `GET /api/user/usage` and `GET /api/user/quota`: the caller's counters, history, operation
//! breakdown, costs and quota status from the usage table — answered as the Python function
//! answers, down to the number types: counters read from DynamoDB are `Decimal`s in Python and
//! come out as floats (`3.0`), while defaults are ints (`0`); quota percentages are computed in
//! `Decimal` arithmetic (exactly, rounded half-even) when a counter is stored, in binary floats
//! when none is.

mod decimal;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Duration, Utc};
use decimal::Dec;
use manuel_shared::apigw::Response;
use manuel_shared::ddb::{item_from_sdk, Attr, Item};
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyDict, PyInt, PyStr, PyValue};
use manuel_shared::usage::{env_int, key_attribute};
use serde_json::Value;
use std::collections::HashMap;

pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// `create_response`: the legacy CORS headers (no Content-Type) and a `json.dumps` body.
fn create_response(status: u16, body: &PyValue) -> Response {
    Response::new(status)
        .header("Access-Control-Allow-Origin", "*")
        .header(
            "Access-Control-Allow-Headers",
            manuel_shared::apigw::CORS_ALLOW_HEADERS,
        )
        .header("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
        .text_body(pyvalue::dumps(body))
}

fn s(text: &str) -> PyValue {
    PyValue::Str(PyStr::from(text))
}

fn int(i: i64) -> PyValue {
    PyValue::Int(PyInt::I64(i))
}

fn dict(entries: Vec<(&str, PyValue)>) -> PyValue {
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
pub async fn handle(event: &Value, c: &Clients) -> Result<Response, PyException> {
    let method =
        py::subscript(event, "httpMethod")?.ok_or_else(|| PyException::key_error("httpMethod"))?;
    if method.as_str() == Some("OPTIONS") {
        return Ok(create_response(200, &dict(vec![])));
    }
    let user_id = manuel_shared::auth::claims_sub(event)?.unwrap_or(Value::Null);
    if !py::truthy(&user_id) {
        return Ok(create_response(401, &error("Unauthorized")));
    }
    let path = match manuel_shared::apigw::dict_get(event, "path")
        .map_err(|m| PyException::new("AttributeError", m))?
    {
        manuel_shared::apigw::PyGet::Missing => Value::String(String::new()),
        manuel_shared::apigw::PyGet::Present(v) => v.clone(),
    };
    let path = path.as_str().ok_or_else(|| {
        PyException::new(
            "AttributeError",
            format!(
                "'{}' object has no attribute 'endswith'",
                py::type_name(&path)
            ),
        )
    })?;
    let now = Utc::now();
    if path.ends_with("/usage") {
        Ok(match usage(c, &user_id, now).await {
            Ok(body) => create_response(200, &body),
            Err(e) => {
                tracing::error!("Error getting usage stats: {}", e.message);
                create_response(500, &error("Failed to get usage statistics"))
            }
        })
    } else if path.ends_with("/quota") {
        Ok(match quota(c, &user_id, now).await {
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

/// What `UsageTracker()` needs: the table and the quotas.
struct Tracker {
    table: String,
    daily_limit: i64,
    monthly_limit: i64,
}

fn tracker() -> Result<Tracker, PyException> {
    let table = std::env::var("USAGE_TABLE_NAME")
        .map_err(|_| PyException::key_error("USAGE_TABLE_NAME"))?;
    Ok(Tracker {
        table,
        daily_limit: env_int("DAILY_QUOTA", 50)?,
        monthly_limit: env_int("MONTHLY_QUOTA", 1000)?,
    })
}

fn is_client_error<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool {
    matches!(e, aws_sdk_dynamodb::error::SdkError::ServiceError(_))
}

/// A number as the Python code computes with it.
#[derive(Debug, Clone, PartialEq)]
enum Num {
    Int(i64),
    Dec(Dec),
}

/// `get_usage_stats`: `Ok(None)` is the ClientError case (`{"error": ...}`).
struct Stats {
    daily_used: Attr2,
    monthly_used: Attr2,
    last_operation: Option<Attr>,
    last_updated: Option<Attr>,
}

/// A stats value: the int default, or what the item holds.
#[derive(Debug, Clone)]
enum Attr2 {
    Default(i64),
    Stored(Attr),
}

impl Attr2 {
    /// As a number for arithmetic with an int; a str (or other) raises TypeError.
    fn num(&self, op: &str) -> Result<Num, PyException> {
        match self {
            Attr2::Default(i) => Ok(Num::Int(*i)),
            Attr2::Stored(Attr::Dec(d)) => Ok(Num::Dec(Dec::parse(d)?)),
            Attr2::Stored(Attr::Bool(b)) => Ok(Num::Int(*b as i64)),
            Attr2::Stored(other) => Err(PyException::new(
                "TypeError",
                format!(
                    "unsupported operand type(s) for {op}: 'int' and '{}'",
                    other.type_name()
                ),
            )),
        }
    }

    fn out(&self) -> Result<PyValue, PyException> {
        match self {
            Attr2::Default(i) => Ok(int(*i)),
            Attr2::Stored(a) => converted(a),
        }
    }
}

/// `convert_decimal_to_number` then what `json.dumps` accepts.
fn converted(a: &Attr) -> Result<PyValue, PyException> {
    Ok(match a {
        Attr::Null => PyValue::None,
        Attr::Bool(b) => PyValue::Bool(*b),
        Attr::Dec(d) => PyValue::Float(Dec::parse(d)?.to_f64()),
        Attr::Str(t) => s(t),
        Attr::List(items) => PyValue::List(items.iter().map(converted).collect::<Result<_, _>>()?),
        Attr::Map(entries) => {
            let mut d = PyDict::new();
            for (k, v) in entries {
                d.insert(PyStr::from(k.as_str()), converted(v)?);
            }
            PyValue::Dict(d)
        }
        Attr::Bytes(_) => return Err(manuel_shared::ddb::not_serializable("Binary")),
        Attr::Set => return Err(manuel_shared::ddb::not_serializable("set")),
    })
}

fn opt_out(a: &Option<Attr>) -> Result<PyValue, PyException> {
    match a {
        None => Ok(PyValue::None),
        Some(a) => converted(a),
    }
}

async fn get_stats(
    c: &Clients,
    t: &Tracker,
    user_id: &Value,
    today: &str,
) -> Result<Option<Stats>, PyException> {
    let res = c
        .dynamodb
        .get_item()
        .table_name(&t.table)
        .key("user_id", key_attribute(user_id)?)
        .key("date", AttributeValue::S(today.to_owned()))
        .send()
        .await;
    let out = match res {
        Ok(o) => o,
        Err(e) if is_client_error(&e) => {
            tracing::warn!("Error getting usage stats: {e}");
            return Ok(None);
        }
        Err(e) => return Err(manuel_shared::aws::to_py(&e, "dynamodb", "GetItem")),
    };
    Ok(Some(match out.item() {
        Some(raw) => {
            let item = item_from_sdk(raw);
            let stored = |k: &str| {
                item.get(k)
                    .cloned()
                    .map_or(Attr2::Default(0), Attr2::Stored)
            };
            Stats {
                daily_used: stored("daily_count"),
                monthly_used: stored("monthly_count"),
                last_operation: Some(item.get("last_operation").cloned().unwrap_or(Attr::Null)),
                last_updated: Some(item.get("last_updated").cloned().unwrap_or(Attr::Null)),
            }
        }
        None => Stats {
            daily_used: Attr2::Default(0),
            monthly_used: Attr2::Default(0),
            last_operation: None,
            last_updated: None,
        },
    }))
}

/// `limit - used` with Python's types.
fn minus(limit: i64, used: &Num) -> Num {
    match used {
        Num::Int(u) => Num::Int(limit - u),
        Num::Dec(d) => Num::Dec(Dec::from_int(limit).sub(d)),
    }
}

fn num_out(n: &Num) -> PyValue {
    match n {
        Num::Int(i) => int(*i),
        Num::Dec(d) => PyValue::Float(d.to_f64()),
    }
}

async fn usage(c: &Clients, user_id: &Value, now: DateTime<Utc>) -> Result<PyValue, PyException> {
    let t = tracker()?;
    let today = now.format("%Y-%m-%d").to_string();
    let month = now.format("%Y-%m").to_string();
    let stats = get_stats(c, &t, user_id, &today).await?;
    let historical = historical(c, &t, user_id, now).await;
    let breakdown = breakdown(c, &t, user_id, &month).await;
    let daily = daily_costs(c, &t, user_id, &today).await;
    let monthly = monthly_costs(c, &t, user_id, &month).await;
    let recent = recent_queries(c, &t, user_id).await;

    // `current_stats.get(k, default)`: the error dict has none of the keys.
    let (daily_used, daily_limit, monthly_used, monthly_limit) = match &stats {
        Some(st) => (
            st.daily_used.clone(),
            t.daily_limit,
            st.monthly_used.clone(),
            t.monthly_limit,
        ),
        None => (Attr2::Default(0), 50, Attr2::Default(0), 1000),
    };
    let daily_remaining = minus(daily_limit, &daily_used.num("-")?);
    let monthly_remaining = minus(monthly_limit, &monthly_used.num("-")?);
    let cost = |m: &HashMap<&str, f64>, k: &str| PyValue::Float(m.get(k).copied().unwrap_or(0.0));
    let mut services = PyDict::new();
    for (k, v) in &monthly.1 {
        services.insert(PyStr::from(k.as_str()), PyValue::Float(*v));
    }
    Ok(dict(vec![
        (
            "current_usage",
            dict(vec![
                ("daily_queries", daily_used.out()?),
                ("daily_limit", int(daily_limit)),
                ("daily_remaining", num_out(&daily_remaining)),
                ("monthly_queries", monthly_used.out()?),
                ("monthly_limit", int(monthly_limit)),
                ("monthly_remaining", num_out(&monthly_remaining)),
            ]),
        ),
        (
            "daily_costs",
            dict(vec![
                ("total_cost", cost(&daily, "total")),
                ("transcribe_cost", cost(&daily, "transcribe")),
                ("bedrock_cost", cost(&daily, "bedrock")),
                ("lambda_cost", cost(&daily, "lambda")),
                ("s3_cost", cost(&daily, "s3")),
                ("api_gateway_cost", cost(&daily, "api_gateway")),
                ("currency", s("EUR")),
            ]),
        ),
        (
            "monthly_costs",
            dict(vec![
                ("total_cost", PyValue::Float(monthly.0)),
                ("service_breakdown", PyValue::Dict(services)),
                ("currency", s("EUR")),
            ]),
        ),
        ("recent_queries", recent?),
        ("user_id", PyValue::from_json(user_id)),
        ("historical", historical?),
        ("breakdown", breakdown),
    ]))
}

/// `int(x)` of a stored counter.
fn to_int(a: Option<&Attr>) -> Result<i64, PyException> {
    match a {
        None => Ok(0),
        Some(Attr::Dec(d)) => Ok(Dec::parse(d)?.trunc()),
        Some(Attr::Bool(b)) => Ok(*b as i64),
        Some(Attr::Str(t)) => py::parse_int(t).map_err(|m| PyException::new("ValueError", m)),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

/// `dict(item.get("operations", {}))`.
fn operations(a: Option<&Attr>) -> Result<PyValue, PyException> {
    match a {
        None => Ok(dict(vec![])),
        Some(m @ Attr::Map(_)) => converted(m),
        Some(Attr::List(items)) if items.is_empty() => Ok(dict(vec![])),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!("cannot convert '{}' to dict", other.type_name()),
        )),
    }
}

fn day_entry(date: &str, item: Option<&Item>) -> Result<PyValue, PyException> {
    Ok(match item {
        Some(item) => dict(vec![
            ("date", s(date)),
            ("daily_count", int(to_int(item.get("daily_count"))?)),
            ("operations", operations(item.get("operations"))?),
        ]),
        None => dict(vec![
            ("date", s(date)),
            ("daily_count", int(0)),
            ("operations", dict(vec![])),
        ]),
    })
}

/// The 7 days before today (today excluded, as the Python's range computes it).
fn history_dates(now: DateTime<Utc>) -> Vec<String> {
    let start = now - Duration::days(7);
    (0..7)
        .map(|i| (start + Duration::days(i)).format("%Y-%m-%d").to_string())
        .collect()
}

/// `get_historical_usage`: any exception gives `[]`, which is not an error for the caller.
async fn historical(
    c: &Clients,
    t: &Tracker,
    user_id: &Value,
    now: DateTime<Utc>,
) -> Result<PyValue, PyException> {
    let dates = history_dates(now);
    let inner = async {
        let key = key_attribute(user_id)?;
        let keys: Vec<HashMap<String, AttributeValue>> = dates
            .iter()
            .map(|d| {
                HashMap::from([
                    ("user_id".to_owned(), key.clone()),
                    ("date".to_owned(), AttributeValue::S(d.clone())),
                ])
            })
            .collect();
        let ka = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .map_err(|e| PyException::new("ParamValidationError", e.to_string()))?;
        let res = c
            .dynamodb
            .batch_get_item()
            .request_items(&t.table, ka)
            .send()
            .await;
        let mut out = Vec::new();
        match res {
            Ok(o) => {
                let mut by_date: HashMap<String, Item> = HashMap::new();
                for raw in o
                    .responses()
                    .and_then(|r| r.get(&t.table))
                    .into_iter()
                    .flatten()
                {
                    let item = item_from_sdk(raw);
                    if let Some(Attr::Str(d)) = item.get("date") {
                        by_date.insert(d.clone(), item);
                    }
                }
                for d in &dates {
                    out.push(day_entry(d, by_date.get(d))?);
                }
            }
            Err(e) if is_client_error(&e) => {
                tracing::warn!("Error in batch_get_item: {e}");
                for d in &dates {
                    let one = c
                        .dynamodb
                        .get_item()
                        .table_name(&t.table)
                        .key("user_id", key.clone())
                        .key("date", AttributeValue::S(d.clone()))
                        .send()
                        .await;
                    match one {
                        Ok(o) => out.push(day_entry(d, o.item().map(item_from_sdk).as_ref())?),
                        Err(e) if is_client_error(&e) => out.push(day_entry(d, None)?),
                        Err(e) => return Err(manuel_shared::aws::to_py(&e, "dynamodb", "GetItem")),
                    }
                }
            }
            Err(e) => return Err(manuel_shared::aws::to_py(&e, "dynamodb", "BatchGetItem")),
        }
        Ok::<_, PyException>(PyValue::List(out))
    };
    Ok(inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error getting historical usage: {}", e.message);
        PyValue::List(Vec::new())
    }))
}

/// Query the user's items (`pk`) whose date begins with `prefix` (all when `None`).
async fn query(
    c: &Clients,
    t: &Tracker,
    pk: AttributeValue,
    prefix: Option<&str>,
    newest_first_limit: Option<i32>,
) -> Result<Vec<Item>, PyException> {
    let mut q = c
        .dynamodb
        .query()
        .table_name(&t.table)
        .expression_attribute_names("#n0", "user_id")
        .expression_attribute_values(":v0", pk);
    q = match prefix {
        Some(p) => q
            .key_condition_expression("(#n0 = :v0 AND begins_with(#n1, :v1))")
            .expression_attribute_names("#n1", "date")
            .expression_attribute_values(":v1", AttributeValue::S(p.to_owned())),
        None => q.key_condition_expression("#n0 = :v0"),
    };
    if let Some(limit) = newest_first_limit {
        q = q.scan_index_forward(false).limit(limit);
    }
    let out = q
        .send()
        .await
        .map_err(|e| manuel_shared::aws::to_py(&e, "dynamodb", "Query"))?;
    Ok(out.items().iter().map(item_from_sdk).collect())
}

/// `get_operation_breakdown`: counts of the month by last operation; defaults on any error.
async fn breakdown(c: &Clients, t: &Tracker, user_id: &Value, month: &str) -> PyValue {
    let inner = async {
        let items = query(c, t, key_attribute(user_id)?, Some(month), None).await?;
        // Keys in Python's order; "total" is a key too, so an operation named "total" counts twice.
        let mut counts: Vec<(&str, i64)> = vec![("transcribe", 0), ("query", 0), ("total", 0)];
        for item in &items {
            let op = match item.get("last_operation") {
                None => Some(String::new()),
                Some(Attr::Str(s)) => Some(s.clone()),
                Some(Attr::List(_) | Attr::Map(_) | Attr::Set) => {
                    return Err(PyException::new("TypeError", "unhashable type"))
                }
                Some(_) => None,
            };
            let n = to_int(item.get("daily_count"))?;
            if let Some(op) = op {
                if let Some(slot) = counts.iter_mut().find(|(k, _)| *k == op) {
                    slot.1 += n;
                }
            }
            counts[2].1 += n;
        }
        Ok::<_, PyException>(dict(counts.into_iter().map(|(k, v)| (k, int(v))).collect()))
    };
    inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error getting operation breakdown: {}", e.message);
        dict(vec![
            ("transcribe", int(0)),
            ("query", int(0)),
            ("total", int(0)),
        ])
    })
}

/// Python's `float(x)` of a stored value.
fn to_float(a: Option<&Attr>) -> Result<f64, PyException> {
    match a {
        None => Ok(0.0),
        Some(Attr::Dec(d)) => Ok(Dec::parse(d)?.to_f64()),
        Some(Attr::Str(t)) => manuel_shared::py::parse_float(t).ok_or_else(|| {
            PyException::new(
                "ValueError",
                format!("could not convert string to float: {}", py::repr_str(t)),
            )
        }),
        Some(Attr::Bool(b)) => Ok(*b as i64 as f64),
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "float() argument must be a string or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

/// `float(x)` of a JSON-decoded value.
fn json_float(v: Option<&PyValue>) -> Result<f64, PyException> {
    match v {
        None => Ok(0.0),
        Some(PyValue::Float(f)) => Ok(*f),
        Some(PyValue::Int(PyInt::I64(i))) => Ok(*i as f64),
        Some(PyValue::Int(PyInt::Big(t))) => t
            .parse::<f64>()
            .map_err(|e| PyException::new("OverflowError", e.to_string())),
        Some(PyValue::Bool(b)) => Ok(*b as i64 as f64),
        Some(PyValue::Str(t)) => {
            let t = t.to_string_lossy();
            manuel_shared::py::parse_float(&t).ok_or_else(|| {
                PyException::new(
                    "ValueError",
                    format!("could not convert string to float: {}", py::repr_str(&t)),
                )
            })
        }
        Some(other) => Err(PyException::new(
            "TypeError",
            format!(
                "float() argument must be a string or a real number, not '{}'",
                other.type_name()
            ),
        )),
    }
}

/// The `(service, cost)` pairs of a cost record's `service_costs` JSON. `Ok(None)` when the
/// JSON is invalid (`JSONDecodeError`/`ValueError`, skipped by the caller); `Err` for what
/// Python does not catch there.
fn service_costs(item: &Item) -> Result<Option<Vec<(String, f64)>>, PyException> {
    let Some(raw) = item.get("service_costs") else {
        return Ok(Some(Vec::new()));
    };
    let text = match raw {
        Attr::Str(t) => t,
        other => {
            return Err(PyException::new(
                "TypeError",
                format!(
                    "the JSON object must be str, bytes or bytearray, not {}",
                    other.type_name()
                ),
            ))
        }
    };
    let parsed = match pyvalue::loads(text) {
        Ok(v) => v,
        Err(e) if e.kind.is_value_error() => return Ok(None),
        Err(e) => return Err(PyException::new(e.kind.python_name(), e.to_string())),
    };
    let entries: Vec<PyValue> = match parsed {
        PyValue::List(items) => items,
        PyValue::Dict(d) => d.iter().map(|(k, _)| PyValue::Str(k.clone())).collect(),
        PyValue::Str(st) => st
            .code_points()
            .filter_map(|cp| manuel_shared::pyvalue::PyStr::from_code_points([cp]))
            .map(PyValue::Str)
            .collect(),
        other => {
            return Err(PyException::new(
                "TypeError",
                format!("'{}' object is not iterable", other.type_name()),
            ))
        }
    };
    let mut out = Vec::new();
    for service in &entries {
        let name = match service
            .get("service")
            .map_err(|m| PyException::new("AttributeError", m))?
        {
            None => "unknown".to_owned(),
            Some(PyValue::Str(n)) => n.to_string_lossy(),
            Some(other) => format!("\u{0}{}", other.type_name()),
        };
        let cost = match json_float(service.get("total_cost").ok().flatten()) {
            Ok(f) => f,
            Err(e) if e.kind == "ValueError" => return Ok(None),
            Err(e) => return Err(e),
        };
        out.push((name, cost));
    }
    Ok(Some(out))
}

/// `get_daily_costs`: totals of today's cost records by service.
async fn daily_costs(
    c: &Clients,
    t: &Tracker,
    user_id: &Value,
    today: &str,
) -> HashMap<&'static str, f64> {
    const KEYS: [&str; 6] = [
        "transcribe",
        "bedrock",
        "lambda",
        "s3",
        "api_gateway",
        "total",
    ];
    let inner = async {
        let pk = AttributeValue::S(format!("cost#{}", py::str_of(user_id)));
        let items = query(c, t, pk, Some(today), None).await?;
        let mut sums: HashMap<&'static str, f64> = KEYS.iter().map(|k| (*k, 0.0)).collect();
        for item in &items {
            let total = to_float(item.get("total_cost"))?;
            *sums.get_mut("total").expect("key") += total;
            if let Some(pairs) = service_costs(item)? {
                for (name, cost) in pairs {
                    if let Some(k) = KEYS.iter().find(|k| **k == name) {
                        *sums.get_mut(k).expect("key") += cost;
                    }
                }
            }
        }
        Ok::<_, PyException>(sums)
    };
    inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error calculating daily costs: {}", e.message);
        KEYS.iter().map(|k| (*k, 0.0)).collect()
    })
}

/// `get_monthly_costs`: the month's total and per-service sums (services in first-seen order).
async fn monthly_costs(
    c: &Clients,
    t: &Tracker,
    user_id: &Value,
    month: &str,
) -> (f64, Vec<(String, f64)>) {
    let inner = async {
        let pk = AttributeValue::S(format!("cost#{}", py::str_of(user_id)));
        let items = query(c, t, pk, Some(month), None).await?;
        let mut total = 0.0;
        let mut by_service: Vec<(String, f64)> = Vec::new();
        for item in &items {
            total += to_float(item.get("total_cost"))?;
            if let Some(pairs) = service_costs(item)? {
                for (name, cost) in pairs {
                    match by_service.iter_mut().find(|(k, _)| *k == name) {
                        Some(slot) => slot.1 += cost,
                        None => by_service.push((name, cost)),
                    }
                }
            }
        }
        Ok::<_, PyException>((total, by_service))
    };
    inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error calculating monthly costs: {}", e.message);
        (0.0, Vec::new())
    })
}

/// `get_recent_queries`: the five newest cost records.
async fn recent_queries(c: &Clients, t: &Tracker, user_id: &Value) -> Result<PyValue, PyException> {
    let inner = async {
        let pk = AttributeValue::S(format!("cost#{}", py::str_of(user_id)));
        let items = query(c, t, pk, None, Some(5)).await?;
        let mut out = Vec::new();
        for item in &items {
            out.push(dict(vec![
                ("timestamp", item.get("date").map_or(Ok(s("")), converted)?),
                (
                    "operation",
                    item.get("operation").map_or(Ok(s("unknown")), converted)?,
                ),
                ("cost", PyValue::Float(to_float(item.get("total_cost"))?)),
                ("currency", s("EUR")),
            ]));
        }
        Ok::<_, PyException>(PyValue::List(out))
    };
    Ok(inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error getting recent queries: {}", e.message);
        PyValue::List(Vec::new())
    }))
}

/// A percentage as the Python computes it: exact Decimal, or binary float, or the int 0.
#[derive(Debug, Clone)]
enum Percent {
    Dec(decimal::Ratio),
    Float(f64),
    Zero,
}

impl Percent {
    fn of(used: &Num, limit: i64) -> Percent {
        if limit <= 0 {
            return Percent::Zero;
        }
        match used {
            Num::Int(u) => Percent::Float((*u as f64 / limit as f64) * 100.0),
            Num::Dec(d) => Percent::Dec(d.mul_int(100).div_int(limit)),
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            Percent::Dec(d) => d.to_f64(),
            Percent::Float(f) => *f,
            Percent::Zero => 0.0,
        }
    }

    /// `round(x, 1)`, then `convert_decimal_to_number`.
    fn rounded(&self) -> PyValue {
        match self {
            Percent::Dec(d) => PyValue::Float(d.round_half_even(1).to_f64()),
            Percent::Float(f) => PyValue::Float(manuel_shared::pyround::py_round(*f, 1)),
            Percent::Zero => int(0),
        }
    }

    fn at_least(&self, threshold: i64) -> bool {
        match self {
            Percent::Dec(d) => d.cmp_int(threshold) != std::cmp::Ordering::Less,
            other => other.as_f64() >= threshold as f64,
        }
    }
}

fn quota_status(daily: &Percent, monthly: &Percent) -> &'static str {
    let hit = |t: i64| daily.at_least(t) || monthly.at_least(t);
    if hit(100) {
        "EXCEEDED"
    } else if hit(90) {
        "CRITICAL"
    } else if hit(75) {
        "WARNING"
    } else if hit(50) {
        "MODERATE"
    } else {
        "OK"
    }
}

/// `max(0, x)`: the int 0 unless x is greater.
fn max0(n: Num) -> PyValue {
    match &n {
        Num::Int(i) => int((*i).max(0)),
        Num::Dec(d) if d.cmp_int(0) == std::cmp::Ordering::Greater => num_out(&n),
        Num::Dec(_) => int(0),
    }
}

async fn quota(c: &Clients, user_id: &Value, now: DateTime<Utc>) -> Result<PyValue, PyException> {
    let t = tracker()?;
    let today = now.format("%Y-%m-%d").to_string();
    let Some(stats) = get_stats(c, &t, user_id, &today).await? else {
        return Err(PyException::key_error("daily_limit"));
    };
    let daily_used = stats.daily_used.num("-")?;
    let monthly_used = stats.monthly_used.num("-")?;
    let daily_remaining = max0(minus(t.daily_limit, &daily_used));
    let monthly_remaining = max0(minus(t.monthly_limit, &monthly_used));
    let daily_percent = Percent::of(&daily_used, t.daily_limit);
    let monthly_percent = Percent::of(&monthly_used, t.monthly_limit);
    Ok(dict(vec![
        ("user_id", PyValue::from_json(user_id)),
        (
            "quotas",
            dict(vec![
                (
                    "daily",
                    dict(vec![
                        ("limit", int(t.daily_limit)),
                        ("used", stats.daily_used.out()?),
                        ("remaining", daily_remaining),
                        ("percent_used", daily_percent.rounded()),
                    ]),
                ),
                (
                    "monthly",
                    dict(vec![
                        ("limit", int(t.monthly_limit)),
                        ("used", stats.monthly_used.out()?),
                        ("remaining", monthly_remaining),
                        ("percent_used", monthly_percent.rounded()),
                    ]),
                ),
            ]),
        ),
        ("status", s(quota_status(&daily_percent, &monthly_percent))),
        ("last_operation", opt_out(&stats.last_operation)?),
        ("last_updated", opt_out(&stats.last_updated)?),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_the_week_before_today() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = history_dates(now);
        assert_eq!(d.first().unwrap(), "2026-02-23");
        assert_eq!(d.last().unwrap(), "2026-03-01");
        assert_eq!(d.len(), 7);
    }

    #[test]
    fn quota_percentages_follow_python_types() {
        // Decimal path: 1/2000*100 = 0.05 exactly, half-even to 0.0; the float path would say 0.1.
        let p = Percent::of(&Num::Dec(Dec::parse("1").unwrap()), 2000);
        assert_eq!(p.rounded(), PyValue::Float(0.0));
        let f = Percent::of(&Num::Int(1), 2000);
        assert_eq!(f.rounded(), PyValue::Float(0.1));
        assert_eq!(Percent::of(&Num::Int(3), 0).rounded(), int(0));
        assert_eq!(
            quota_status(&Percent::Float(90.0), &Percent::Zero),
            "CRITICAL"
        );
    }
}
