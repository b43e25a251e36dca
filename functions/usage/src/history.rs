//! The usage endpoint's history (`get_historical_usage`: the week before today, per day) and
//! operation breakdown (`get_operation_breakdown`: the month's counts by last operation).

use crate::numbers::{converted, to_int};
use crate::table::{ReadError, Table};
use crate::tracker::{Reader, Tracker};
use crate::{dict, int, s};
use chrono::{DateTime, Duration, Utc};
use manuel_shared::ddb::{Attr, Item};
use manuel_shared::py::PyException;
use manuel_shared::pydecimal::int_add;
use manuel_shared::pyvalue::{PyInt, PyValue};
use manuel_shared::usage::key_attribute;
use serde_json::Value;
use std::collections::HashMap;

/// `dict(item.get("operations", {}))`, before conversion: a map, or pairs.
pub(crate) fn operations(a: Option<&Attr>) -> Result<Attr, PyException> {
    let cannot = |a: &Attr| {
        PyException::new(
            "TypeError",
            format!("cannot convert '{}' object to dict", a.type_name()),
        )
    };
    match a {
        None => Ok(Attr::Map(Vec::new())),
        Some(m @ Attr::Map(_)) => Ok(m.clone()),
        Some(Attr::Str(t)) if t.is_empty() => Ok(Attr::Map(Vec::new())),
        Some(Attr::List(items)) => {
            let mut entries: Vec<(String, Attr)> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let (k, v) = match item {
                    Attr::List(pair) if pair.len() == 2 => (pair[0].clone(), pair[1].clone()),
                    Attr::Str(p) if p.chars().count() == 2 => {
                        let mut cs = p.chars().map(|c| Attr::Str(c.to_string()));
                        match (cs.next(), cs.next()) {
                            (Some(k), Some(v)) => (k, v),
                            _ => return Err(cannot(item)),
                        }
                    }
                    other => {
                        return Err(PyException::new(
                            "ValueError",
                            format!(
                                "dictionary update sequence element #{i} has the wrong \
                                 length or type ({})",
                                other.type_name()
                            ),
                        ))
                    }
                };
                let Attr::Str(k) = k else {
                    // A non-str key (a Decimal, a bool) is a dict key json.dumps handles in
                    // ways not modelled here.
                    return Err(cannot(&k));
                };
                match entries.iter_mut().find(|(key, _)| *key == k) {
                    Some(slot) => slot.1 = v,
                    None => entries.push((k, v)),
                }
            }
            Ok(Attr::Map(entries))
        }
        Some(other) => Err(cannot(other)),
    }
}

/// One day of history, before conversion: the date, `int(daily_count)`, the operations dict.
pub(crate) type Day = (String, PyInt, Attr);

pub(crate) fn day_entry(date: &str, item: Option<&Item>) -> Result<Day, PyException> {
    Ok(match item {
        Some(item) => (
            date.to_owned(),
            to_int(item.get("daily_count"))?,
            operations(item.get("operations"))?,
        ),
        None => (date.to_owned(), PyInt::I64(0), Attr::Map(Vec::new())),
    })
}

/// The 7 days before today (today excluded, as the Python's range computes it).
pub(crate) fn history_dates(now: DateTime<Utc>) -> Vec<String> {
    let start = now - Duration::days(7);
    (0..7)
        .map(|i| (start + Duration::days(i)).format("%Y-%m-%d").to_string())
        .collect()
}

/// `get_historical_usage`: any exception gives `[]`, which is not an error for the caller.
pub(crate) async fn historical<T: Table + Sync>(
    r: &Reader<'_, T>,
    t: &Tracker,
    user_id: &Value,
    now: DateTime<Utc>,
) -> Vec<Day> {
    let dates = history_dates(now);
    let inner = async {
        let key = key_attribute(user_id)?;
        let mut out = Vec::new();
        match r.batch_get(&t.table, &key, &dates).await {
            Ok(items) => {
                let mut by_date: HashMap<String, Item> = HashMap::new();
                for item in items {
                    if let Some(Attr::Str(d)) = item.get("date") {
                        by_date.insert(d.clone(), item);
                    }
                }
                for d in &dates {
                    out.push(day_entry(d, by_date.get(d))?);
                }
            }
            Err(ReadError::Client(e)) => {
                tracing::warn!("Error in batch_get_item: {}", e.message);
                for d in &dates {
                    match r.get_item(&t.table, &key, d).await {
                        Ok(item) => out.push(day_entry(d, item.as_ref())?),
                        Err(ReadError::Client(_)) => out.push(day_entry(d, None)?),
                        Err(ReadError::Other(e)) => return Err(e),
                    }
                }
            }
            Err(ReadError::Other(e)) => return Err(e),
        }
        Ok::<_, PyException>(out)
    };
    inner.await.unwrap_or_else(|e| {
        tracing::warn!("Error getting historical usage: {}", e.message);
        Vec::new()
    })
}

/// The history as the response holds it (`convert_decimal_to_number` and `json.dumps` fail
/// here, outside the history's own `try`).
pub(crate) fn historical_out(days: Vec<Day>) -> Result<PyValue, PyException> {
    days.into_iter()
        .map(|(date, count, ops)| {
            Ok(dict(vec![
                ("date", s(&date)),
                ("daily_count", PyValue::Int(count)),
                ("operations", converted(&ops)?),
            ]))
        })
        .collect::<Result<Vec<_>, PyException>>()
        .map(PyValue::List)
}

/// `get_operation_breakdown`: counts of the month by last operation; defaults on any error.
pub(crate) async fn breakdown<T: Table + Sync>(
    r: &Reader<'_, T>,
    t: &Tracker,
    user_id: &Value,
    month: &str,
) -> PyValue {
    let inner = async {
        let key = key_attribute(user_id)?;
        let items = r
            .query(&t.table, &key, Some(month), None)
            .await
            .map_err(ReadError::exception)?;
        // Keys in Python's order; "total" is a key too, so an operation named "total" counts twice.
        let mut counts: Vec<(&str, PyInt)> = vec![
            ("transcribe", PyInt::I64(0)),
            ("query", PyInt::I64(0)),
            ("total", PyInt::I64(0)),
        ];
        for item in &items {
            let op = match item.get("last_operation") {
                None => Some(String::new()),
                Some(Attr::Str(s)) => Some(s.clone()),
                Some(other @ (Attr::List(_) | Attr::Map(_) | Attr::Set(_))) => {
                    return Err(PyException::new(
                        "TypeError",
                        format!("unhashable type: '{}'", other.type_name()),
                    ))
                }
                Some(_) => None,
            };
            let n = to_int(item.get("daily_count"))?;
            if let Some(op) = op {
                if let Some(slot) = counts.iter_mut().find(|(k, _)| *k == op) {
                    slot.1 = int_add(&slot.1, &n)?;
                }
            }
            counts[2].1 = int_add(&counts[2].1, &n)?;
        }
        Ok::<_, PyException>(dict(
            counts
                .into_iter()
                .map(|(k, v)| (k, PyValue::Int(v)))
                .collect(),
        ))
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
}
