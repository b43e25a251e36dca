//! `POST /backup/verify` and `POST /backup/restore`: a JSON body naming the services, iterated
//! and used as dict keys the way Python does it (a string is its characters, a dict its keys,
//! a number is not iterable, a list is unhashable; `1`, `1.0` and `true` are one key).

use crate::checks::now_iso;
use crate::{error_body, respond, Clients, Env};
use manuel_shared::apigw::Response;
use manuel_shared::aws::to_py;
use manuel_shared::py::PyException;
use manuel_shared::pyjson::float_repr;
use manuel_shared::pyvalue::{self, PyDict, PyInt, PyStr, PyValue};
use serde_json::{Map, Value};

fn s(v: &str) -> PyValue {
    PyValue::str(v)
}

/// `json.loads(text)` of a request body (anything but a str is a TypeError).
fn loads(body: &Value) -> Result<PyValue, PyException> {
    match body {
        Value::String(text) => Ok(pyvalue::loads(text)?),
        other => Err(PyException::new(
            "TypeError",
            format!(
                "the JSON object must be str, bytes or bytearray, not {}",
                PyValue::from_json(other).type_name()
            ),
        )),
    }
}

/// `for x in value`: the items Python visits.
fn py_iter(v: &PyValue) -> Result<Vec<PyValue>, PyException> {
    Ok(match v {
        PyValue::List(items) => items.clone(),
        PyValue::Str(text) => text
            .code_points()
            .map(|cp| PyValue::Str(PyStr::from_code_points([cp]).unwrap_or_default()))
            .collect(),
        PyValue::Dict(d) => d.iter().map(|(k, _)| PyValue::Str(k.clone())).collect(),
        other => {
            return Err(PyException::new(
                "TypeError",
                format!("'{}' object is not iterable", other.type_name()),
            ))
        }
    })
}

/// A dict keyed by JSON values, with Python's key equality and `json.dumps`' key text.
#[derive(Default)]
struct KeyedDict {
    entries: Vec<(PyValue, PyValue)>,
}

/// A key's numeric value, for `1 == 1.0 == True`.
fn numeric(k: &PyValue) -> Option<f64> {
    match k {
        PyValue::Bool(b) => Some(f64::from(u8::from(*b))),
        PyValue::Int(PyInt::I64(i)) => Some(*i as f64),
        PyValue::Float(f) => Some(*f),
        _ => None,
    }
}

fn same_key(a: &PyValue, b: &PyValue) -> bool {
    match (a, b) {
        (PyValue::Str(x), PyValue::Str(y)) => x == y,
        (PyValue::None, PyValue::None) => true,
        (PyValue::Int(PyInt::Big(x)), PyValue::Int(PyInt::Big(y))) => x == y,
        _ => match (numeric(a), numeric(b)) {
            // A NaN is its own key each time (a new float object from every literal).
            (Some(x), Some(y)) => x == y && !matches!(a, PyValue::Int(PyInt::Big(_))),
            _ => false,
        },
    }
}

impl KeyedDict {
    /// `d[key] = value`: the first key of an equal class stays, the value is replaced.
    fn set(&mut self, key: &PyValue, value: PyValue) -> Result<(), PyException> {
        if matches!(key, PyValue::List(_) | PyValue::Dict(_)) {
            return Err(PyException::new(
                "TypeError",
                format!("unhashable type: '{}'", key.type_name()),
            ));
        }
        match self.entries.iter_mut().find(|(k, _)| same_key(k, key)) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key.clone(), value)),
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// As `json.dumps` writes it: str keys as they are, `1` → `"1"`, `1.5` → `"1.5"`,
    /// `true` → `"true"`, `null` → `"null"`.
    fn to_py(&self) -> PyValue {
        let mut d = PyDict::new();
        for (k, v) in &self.entries {
            let text = match k {
                PyValue::Str(t) => t.clone(),
                PyValue::Int(i) => PyStr::from(i.to_string()),
                PyValue::Float(f) if f.is_infinite() => {
                    PyStr::from(if *f > 0.0 { "Infinity" } else { "-Infinity" })
                }
                PyValue::Float(f) => PyStr::from(float_repr(*f)),
                PyValue::Bool(b) => PyStr::from(if *b { "true" } else { "false" }),
                _ => PyStr::from("null"),
            };
            d.insert(text, v.clone());
        }
        PyValue::Dict(d)
    }
}

fn is(v: &PyValue, text: &str) -> bool {
    v.as_py_str().is_some_and(|t| *t == text)
}

/// `handle_backup_verify`: 200 when every service passed or was skipped, 207 otherwise.
pub async fn verify(ev: &Map<String, Value>, c: &Clients, env: &Env) -> Response {
    match verify_services(ev, c, env).await {
        Ok((status, body)) => respond(status, &body),
        Err(e) => respond(
            500,
            &error_body("Backup verification failed", Some(&e.message)),
        ),
    }
}

async fn verify_services(
    ev: &Map<String, Value>,
    c: &Clients,
    env: &Env,
) -> Result<(u16, PyValue), PyException> {
    let body = match ev.get("body") {
        Some(b) if manuel_shared::py::truthy(b) => loads(b)?,
        _ => PyValue::Dict(PyDict::new()),
    };
    let services = match body.get("services")? {
        Some(v) => v.clone(),
        None => PyValue::List(vec![s("dynamodb"), s("s3")]),
    };
    let mut results = KeyedDict::default();
    for service in py_iter(&services)? {
        let result = if is(&service, "dynamodb") {
            verify_dynamodb(c, env).await
        } else if is(&service, "s3") {
            verify_s3(c, env).await
        } else {
            PyValue::dict([
                ("status", s("skipped")),
                ("reason", s("Service not supported for verification")),
            ])
        };
        results.set(&service, result)?;
    }
    let failed: Vec<PyValue> = results
        .entries
        .iter()
        .filter(|(_, v)| v.get("status").ok().flatten() == Some(&s("failed")))
        .map(|(k, _)| k.clone())
        .collect();
    let overall = if failed.is_empty() {
        "healthy"
    } else {
        "failed"
    };
    tracing::info!(
        services_verified = results.len(),
        overall_status = overall,
        "Backup verification completed"
    );
    let mut entries = vec![
        ("timestamp", s(&now_iso())),
        ("overall_status", s(overall)),
        ("services", results.to_py()),
    ];
    if !failed.is_empty() {
        entries.push(("failed_services", PyValue::List(failed)));
    }
    let status = if overall == "healthy" { 200 } else { 207 };
    Ok((status, PyValue::dict(entries)))
}

fn failed_entry(error: &str) -> PyValue {
    PyValue::dict([("status", s("failed")), ("error", s(error))])
}

/// `verify_dynamodb_backup`.
async fn verify_dynamodb(c: &Clients, env: &Env) -> PyValue {
    let Some(table) = env.usage_table.as_deref().filter(|t| !t.is_empty()) else {
        return failed_entry("Table name not configured");
    };
    let checked = async {
        let desc = c
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| to_py(&e, "dynamodb", "DescribeTable"))?;
        let backups = c
            .dynamodb
            .list_backups()
            .table_name(table)
            .send()
            .await
            .map_err(|e| to_py(&e, "dynamodb", "ListBackups"))?;
        let table_status = desc
            .table()
            .and_then(|t| t.table_status())
            .map_or("UNKNOWN", |st| st.as_str())
            .to_owned();
        Ok::<_, PyException>(PyValue::dict([
            ("status", s("passed")),
            ("table_status", s(&table_status)),
            (
                "backup_count",
                PyValue::Int(PyInt::I64(backups.backup_summaries().len() as i64)),
            ),
            ("verification_time", s(&now_iso())),
        ]))
    };
    match checked.await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e.message, "DynamoDB backup verification failed");
            failed_entry(&e.message)
        }
    }
}

/// `verify_s3_backup`: HEAD the first five of ten listed objects; a HEAD refused by S3 is
/// only not counted.
async fn verify_s3(c: &Clients, env: &Env) -> PyValue {
    let Some(bucket) = env.manuals_bucket.as_deref().filter(|b| !b.is_empty()) else {
        return failed_entry("Primary bucket name not configured");
    };
    let checked = async {
        let listed =
            c.s3.list_objects_v2()
                .bucket(bucket)
                .max_keys(10)
                .send()
                .await
                .map_err(|e| to_py(&e, "s3", "ListObjectsV2"))?;
        let objects = listed.contents();
        let sample = &objects[..objects.len().min(5)];
        let mut verified = 0_i64;
        for o in sample {
            let Some(key) = o.key() else { continue };
            match c.s3.head_object().bucket(bucket).key(key).send().await {
                Ok(_) => verified += 1,
                Err(aws_sdk_s3::error::SdkError::ServiceError(_)) => {}
                Err(e) => return Err(to_py(&e, "s3", "HeadObject")),
            }
        }
        let all = verified == sample.len() as i64;
        Ok::<_, PyException>(PyValue::dict([
            ("status", s(if all { "passed" } else { "degraded" })),
            (
                "total_objects",
                PyValue::Int(PyInt::I64(objects.len() as i64)),
            ),
            ("verified_objects", PyValue::Int(PyInt::I64(verified))),
            ("verification_time", s(&now_iso())),
        ]))
    };
    match checked.await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e.message, "S3 backup verification failed");
            failed_entry(&e.message)
        }
    }
}

/// `handle_disaster_recovery`: a simulation (nothing is restored), answered 202.
pub fn restore(ev: &Map<String, Value>, env: &Env) -> Response {
    match restore_services(ev, env) {
        Ok(body) => respond(202, &body),
        Err(e) => respond(
            500,
            &error_body("Disaster recovery failed", Some(&e.message)),
        ),
    }
}

fn restore_services(ev: &Map<String, Value>, env: &Env) -> Result<PyValue, PyException> {
    let default_body = Value::String("{}".into());
    let body = loads(ev.get("body").unwrap_or(&default_body))?;
    let recovery_type = body
        .get("type")?
        .cloned()
        .unwrap_or_else(|| s("point_in_time"));
    let target_time = body.get("target_time")?.cloned().unwrap_or(PyValue::None);
    let services = body
        .get("services")?
        .cloned()
        .unwrap_or_else(|| PyValue::List(vec![s("dynamodb")]));
    let now = manuel_shared::runtime::now_secs();
    let mut results = KeyedDict::default();
    for service in py_iter(&services)? {
        let result = if is(&service, "dynamodb") {
            let source = env.usage_table.as_deref();
            let recovery = format!("{}-recovery-{now}", source.unwrap_or("None"));
            tracing::warn!(recovery_table = %recovery, "DynamoDB recovery simulation");
            PyValue::dict([
                ("status", s("simulated")),
                ("source_table", source.map_or(PyValue::None, s)),
                ("recovery_table", s(&recovery)),
                ("recovery_type", recovery_type.clone()),
                ("target_time", target_time.clone()),
                (
                    "note",
                    s("This is a simulation. In production, this would restore to a new table."),
                ),
            ])
        } else {
            PyValue::dict([
                ("status", s("skipped")),
                ("reason", s("Service recovery not implemented")),
            ])
        };
        results.set(&service, result)?;
    }
    Ok(PyValue::dict([
        ("recovery_id", s(&format!("recovery_{now}"))),
        ("timestamp", s(&now_iso())),
        ("recovery_type", recovery_type),
        ("target_time", target_time),
        ("status", s("initiated")),
        ("services", results.to_py()),
    ]))
}
