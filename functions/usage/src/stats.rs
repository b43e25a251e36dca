//! `get_usage_stats`: today's counters of the caller, and the arithmetic both endpoints do
//! with them (`limit - used`).

use crate::int;
use crate::numbers::converted;
use crate::table::{ReadError, Table};
use crate::tracker::{Reader, Tracker};
use manuel_shared::ddb::Attr;
use manuel_shared::py::PyException;
use manuel_shared::pydecimal::{self, PyDecimal, PyNumber};
use manuel_shared::pyvalue::{PyInt, PyValue};
use manuel_shared::usage::key_attribute;
use serde_json::Value;

/// `get_usage_stats`' values.
pub(crate) struct Stats {
    pub(crate) daily_used: Stat,
    pub(crate) monthly_used: Stat,
    pub(crate) last_operation: Option<Attr>,
    pub(crate) last_updated: Option<Attr>,
}

/// A stats value: the int default, or what the item holds.
#[derive(Debug, Clone)]
pub(crate) enum Stat {
    Default(i64),
    Stored(Attr),
}

/// An operand of `limit - used` and `used / limit`: an int, or a Decimal.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Int(i64),
    Dec(PyDecimal),
}

impl Stat {
    /// As a number for arithmetic with an int; a str (or other) raises TypeError.
    pub(crate) fn num(&self, op: &str) -> Result<Operand, PyException> {
        match self {
            Stat::Default(i) => Ok(Operand::Int(*i)),
            Stat::Stored(Attr::Dec(d)) => Ok(Operand::Dec(*d)),
            Stat::Stored(Attr::Bool(b)) => Ok(Operand::Int(i64::from(*b))),
            Stat::Stored(other) => Err(PyException::new(
                "TypeError",
                format!(
                    "unsupported operand type(s) for {op}: 'int' and '{}'",
                    other.type_name()
                ),
            )),
        }
    }

    pub(crate) fn out(&self) -> Result<PyValue, PyException> {
        match self {
            Stat::Default(i) => Ok(int(*i)),
            Stat::Stored(a) => converted(a),
        }
    }
}

/// `get_usage_stats`: `Ok(None)` is the ClientError case (`{"error": ...}`).
pub(crate) async fn get_stats<T: Table + Sync>(
    r: &Reader<'_, T>,
    t: &Tracker,
    user_id: &Value,
    today: &str,
) -> Result<Option<Stats>, PyException> {
    let key = key_attribute(user_id)?;
    let item = match r.get_item(&t.table, &key, today).await {
        Ok(item) => item,
        Err(ReadError::Client(e)) => {
            tracing::warn!("Error getting usage stats: {}", e.message);
            return Ok(None);
        }
        Err(ReadError::Other(e)) => return Err(e),
    };
    Ok(Some(match item {
        Some(item) => {
            let stored = |k: &str| item.get(k).cloned().map_or(Stat::Default(0), Stat::Stored);
            Stats {
                daily_used: stored("daily_count"),
                monthly_used: stored("monthly_count"),
                last_operation: Some(item.get("last_operation").cloned().unwrap_or(Attr::Null)),
                last_updated: Some(item.get("last_updated").cloned().unwrap_or(Attr::Null)),
            }
        }
        None => Stats {
            daily_used: Stat::Default(0),
            monthly_used: Stat::Default(0),
            last_operation: None,
            last_updated: None,
        },
    }))
}

/// `limit - used` with Python's types: an int (of any size) or a Decimal (28 digits).
pub(crate) fn minus(limit: i64, used: &Operand) -> Result<PyNumber, PyException> {
    Ok(match used {
        Operand::Int(u) => PyNumber::Int(pydecimal::int_sub(&PyInt::I64(limit), &PyInt::I64(*u))?),
        Operand::Dec(d) => PyNumber::Decimal(PyDecimal::from(limit).sub(d)?),
    })
}
