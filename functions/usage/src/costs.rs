//! The usage endpoint's costs from the user's cost records: today's by service
//! (`get_daily_costs`), the month's (`get_monthly_costs`) and the five newest
//! (`get_recent_queries`).

use crate::numbers::{converted, json_float, to_float};
use crate::table::{ReadError, Table};
use crate::tracker::{Reader, Tracker};
use crate::{dict, s};
use aws_sdk_dynamodb::types::AttributeValue;
use manuel_shared::ddb::{Attr, Item};
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyValue};
use serde_json::Value;
use std::collections::HashMap;

/// The `(service, cost)` pairs of a cost record's `service_costs` JSON. `Ok(None)` when the
/// JSON is invalid (`JSONDecodeError`/`ValueError`, skipped by the caller); `Err` for what
/// Python does not catch there.
pub(crate) fn service_costs(item: &Item) -> Result<Option<Vec<(String, f64)>>, PyException> {
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
        Err(e) => return Err(e.into()),
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
        let name = match service.get("service")? {
            None => "unknown".to_owned(),
            Some(PyValue::Str(n)) => n.to_string_lossy(),
            Some(other @ (PyValue::List(_) | PyValue::Dict(_))) => {
                return Err(PyException::new(
                    "TypeError",
                    format!("unhashable type: '{}'", other.type_name()),
                ))
            }
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

/// The partition of the user's cost records.
pub(crate) fn cost_key(user_id: &Value) -> AttributeValue {
    AttributeValue::S(format!("cost#{}", py::str_of(user_id)))
}

/// `get_daily_costs`: totals of today's cost records by service.
pub(crate) async fn daily_costs<T: Table + Sync>(
    r: &Reader<'_, T>,
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
        let items = r
            .query(&t.table, &cost_key(user_id), Some(today), None)
            .await
            .map_err(ReadError::exception)?;
        let mut sums: HashMap<&'static str, f64> = KEYS.iter().map(|k| (*k, 0.0)).collect();
        for item in &items {
            let total = to_float(item.get("total_cost"))?;
            if let Some(slot) = sums.get_mut("total") {
                *slot += total;
            }
            if let Some(pairs) = service_costs(item)? {
                for (name, cost) in pairs {
                    if let Some(slot) = KEYS
                        .iter()
                        .find(|k| **k == name)
                        .and_then(|k| sums.get_mut(k))
                    {
                        *slot += cost;
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
pub(crate) async fn monthly_costs<T: Table + Sync>(
    r: &Reader<'_, T>,
    t: &Tracker,
    user_id: &Value,
    month: &str,
) -> (f64, Vec<(String, f64)>) {
    let inner = async {
        let items = r
            .query(&t.table, &cost_key(user_id), Some(month), None)
            .await
            .map_err(ReadError::exception)?;
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

/// One recent query, before conversion: timestamp, operation (as stored), `float(total_cost)`.
pub(crate) type Recent = (Attr, Attr, f64);

/// `get_recent_queries`: the five newest cost records.
pub(crate) async fn recent_queries<T: Table + Sync>(
    r: &Reader<'_, T>,
    t: &Tracker,
    user_id: &Value,
) -> Vec<Recent> {
    let inner = async {
        let items = r
            .query(&t.table, &cost_key(user_id), None, Some(5))
            .await
            .map_err(ReadError::exception)?;
        let mut out = Vec::new();
        for item in &items {
            out.push((
                item.get("date")
                    .cloned()
                    .unwrap_or_else(|| Attr::Str(String::new())),
                item.get("operation")
                    .cloned()
                    .unwrap_or_else(|| Attr::Str("unknown".into())),
                to_float(item.get("total_cost"))?,
            ));
        }
        Ok::<_, PyException>(out)
    };
    inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error getting recent queries: {}", e.message);
        Vec::new()
    })
}

pub(crate) fn recent_out(recent: Vec<Recent>) -> Result<PyValue, PyException> {
    recent
        .into_iter()
        .map(|(timestamp, operation, cost)| {
            Ok(dict(vec![
                ("timestamp", converted(&timestamp)?),
                ("operation", converted(&operation)?),
                ("cost", PyValue::Float(cost)),
                ("currency", s("EUR")),
            ]))
        })
        .collect::<Result<Vec<_>, PyException>>()
        .map(PyValue::List)
}
