//! Per-user usage counters and quotas in the usage table (one item per user and day), ported
//! from Manuel's `UsageTracker` with its exact failure behaviour:
//!
//! - constructing it needs `USAGE_TABLE_NAME` (a `KeyError` otherwise, which the query handler
//!   swallows: the deployed query function has no such variable, so it never tracks usage);
//! - a DynamoDB error answers "denied" with `{"error": "Usage tracking error"}`;
//! - a denial built from stored counters carries `Decimal`s, which the handler then fails to
//!   serialise — so in practice a user over quota *is let through* without an increment;
//! - counters are `Decimal`s ([`PyDecimal`]): compared with the quotas exactly (a 38-digit
//!   49.99…9 is under 50), incremented in Python's default context (28 digits: a 38-digit
//!   counter is written back rounded, `1.234567890123456789012345679E+37`), written as boto3's
//!   TypeSerializer writes them; a number boto3 cannot read (or a NaN, which it reads from text
//!   like `1_0`) raises, and the query handler goes on without counting.

use crate::ddb::{attr_json, item_from_sdk, Attr, Item};
use crate::py::{parse_int, PyException};
use crate::pydecimal::{PyDecimal, PyNumber};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// A counter as the tracker holds it: `item.get(name, 0)` — the int default (or an int the
/// tracker computed), or whatever the item stores (a `Decimal` normally; a bool, a string, a map
/// when someone wrote one).
#[derive(Debug, Clone, PartialEq)]
pub enum Counter {
    Int(i64),
    Stored(Attr),
}

impl Counter {
    /// `item.get(name, 0)`.
    pub fn of(item: &Item, name: &str) -> Counter {
        item.get(name)
            .map_or(Counter::Int(0), |a| Counter::Stored(a.clone()))
    }

    /// `self >= limit`: exact for a Decimal (49.99…9 with 38 digits is below 50); a NaN raises
    /// InvalidOperation; a str, None, dict… raise TypeError.
    pub fn at_least(&self, limit: i64) -> Result<bool, PyException> {
        let limit = PyNumber::from(limit);
        match self {
            Counter::Int(i) => PyNumber::from(*i).ge(&limit),
            Counter::Stored(Attr::Bool(b)) => PyNumber::from(i64::from(*b)).ge(&limit),
            Counter::Stored(Attr::Dec(d)) => PyNumber::Decimal(*d).ge(&limit),
            Counter::Stored(other) => Err(PyException::new(
                "TypeError",
                format!(
                    "'>=' not supported between instances of '{}' and 'int'",
                    other.type_name()
                ),
            )),
        }
    }

    /// `self + 1`: an int stays an int (a bool becomes one), a Decimal is added in the default
    /// context — rounded to 28 digits, so a 38-digit counter loses its last ten.
    pub fn plus_one(&self) -> Result<Counter, PyException> {
        let int_plus_one = |i: i64| {
            i.checked_add(1)
                .map(Counter::Int)
                .ok_or_else(|| PyException::new("OverflowError", "counter beyond 64 bits"))
        };
        match self {
            Counter::Int(i) => int_plus_one(*i),
            Counter::Stored(Attr::Bool(b)) => int_plus_one(i64::from(*b)),
            Counter::Stored(Attr::Dec(d)) => {
                Ok(Counter::Stored(Attr::Dec(d.add(&PyDecimal::from(1))?)))
            }
            Counter::Stored(other) => Err(PyException::new(
                "TypeError",
                format!(
                    "unsupported operand type(s) for +: '{}' and 'int'",
                    other.type_name()
                ),
            )),
        }
    }

    /// The `N` value boto3's TypeSerializer writes for it.
    pub fn to_attribute(&self) -> Result<AttributeValue, PyException> {
        match self {
            Counter::Int(i) => Ok(AttributeValue::N(i.to_string())),
            Counter::Stored(Attr::Dec(d)) => Ok(AttributeValue::N(d.to_dynamodb()?)),
            Counter::Stored(other) => Err(PyException::new(
                "TypeError",
                format!("Unsupported type \"{}\"", other.type_name()),
            )),
        }
    }

    /// `json.dumps` of it: a stored Decimal fails.
    pub fn to_json(&self) -> Result<Value, PyException> {
        match self {
            Counter::Int(i) => Ok(Value::from(*i)),
            Counter::Stored(a) => attr_json(a),
        }
    }
}

/// One value of a usage-info dict.
#[derive(Debug, Clone, PartialEq)]
pub enum Info {
    Counter(Counter),
    Str(String),
}

/// The `usage_info` dict, in Python's key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageInfo(pub Vec<(&'static str, Info)>);

impl UsageInfo {
    /// `json.dumps`-able form; a Decimal fails as it does in Python.
    pub fn to_json(&self) -> Result<Value, PyException> {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.0 {
            let v = match v {
                Info::Counter(c) => c.to_json()?,
                Info::Str(s) => Value::String(s.clone()),
            };
            m.insert((*k).to_owned(), v);
        }
        Ok(Value::Object(m))
    }
}

pub struct UsageTracker {
    client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub daily_limit: i64,
    pub monthly_limit: i64,
}

/// How boto3 serialises a key value of any JSON type (a user id taken from the event).
pub fn key_attribute(v: &Value) -> Result<AttributeValue, PyException> {
    Ok(match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::Number(n) if n.is_f64() => {
            return Err(PyException::new(
                "TypeError",
                "Float types are not supported. Use Decimal types instead.",
            ))
        }
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Array(items) => AttributeValue::L(
            items
                .iter()
                .map(key_attribute)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Object(m) => AttributeValue::M(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), key_attribute(v)?)))
                .collect::<Result<_, PyException>>()?,
        ),
    })
}

/// `int(os.environ.get(name, default))`.
pub fn env_int(name: &str, default: i64) -> Result<i64, PyException> {
    match std::env::var(name) {
        Ok(v) => parse_int(&v),
        Err(_) => Ok(default),
    }
}

/// `datetime.utcnow().isoformat()`.
pub fn isoformat(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// `int((datetime.utcnow() + timedelta(days=days)).timestamp())` on a UTC host.
pub fn ttl(now: DateTime<Utc>, days: i64) -> i64 {
    (now + Duration::days(days)).timestamp()
}

impl UsageTracker {
    /// `UsageTracker()`: the table name from `USAGE_TABLE_NAME`, quotas from `DAILY_QUOTA` and
    /// `MONTHLY_QUOTA` (50 and 1000 when unset).
    pub fn from_env(client: aws_sdk_dynamodb::Client) -> Result<Self, PyException> {
        let table = std::env::var("USAGE_TABLE_NAME")
            .map_err(|_| PyException::key_error("USAGE_TABLE_NAME"))?;
        Ok(Self {
            client,
            table,
            daily_limit: env_int("DAILY_QUOTA", 50)?,
            monthly_limit: env_int("MONTHLY_QUOTA", 1000)?,
        })
    }

    /// `get_item` of the user's item for `date`. `Err(Ok(e))` is a ClientError, `Err(Err(e))`
    /// any other exception.
    pub async fn get_day(
        &self,
        user_id: &Value,
        date: &str,
    ) -> Result<Option<Item>, Result<PyException, PyException>> {
        let key = key_attribute(user_id).map_err(Err)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("user_id", key)
            .key("date", AttributeValue::S(date.to_owned()))
            .send()
            .await
            .map_err(|e| match &e {
                aws_sdk_dynamodb::error::SdkError::ServiceError(_) => {
                    Ok(crate::aws::to_py(&e, "dynamodb", "GetItem"))
                }
                _ => Err(crate::aws::to_py(&e, "dynamodb", "GetItem")),
            })?;
        // boto3 deserialises the response inside the call: a number DYNAMODB_CONTEXT refuses
        // raises from get_item, and it is not a ClientError.
        out.item().map(item_from_sdk).transpose().map_err(Err)
    }

    /// `check_and_increment_usage(user_id, operation)`: `Ok((can_proceed, usage_info))`, or the
    /// exception Python lets escape (anything but a ClientError).
    pub async fn check_and_increment(
        &self,
        user_id: &Value,
        operation: &str,
        now: DateTime<Utc>,
    ) -> Result<(bool, UsageInfo), PyException> {
        let today = now.format("%Y-%m-%d").to_string();
        let month = now.format("%Y-%m").to_string();
        let denied_by_error = || {
            (
                false,
                UsageInfo(vec![("error", Info::Str("Usage tracking error".into()))]),
            )
        };
        let item = match self.get_day(user_id, &today).await {
            Ok(item) => item,
            Err(Ok(client_error)) => {
                tracing::warn!("Error checking usage: {}", client_error.message);
                return Ok(denied_by_error());
            }
            Err(Err(other)) => return Err(other),
        };
        let (daily, monthly) = match &item {
            Some(item) => (
                Counter::of(item, "daily_count"),
                Counter::of(item, "monthly_count"),
            ),
            None => (Counter::Int(0), Counter::Int(0)),
        };
        let info = |error: Option<&str>, d: Counter, m: Counter| {
            let mut v = Vec::new();
            if let Some(e) = error {
                v.push(("error", Info::Str(e.into())));
            }
            v.push(("daily_used", Info::Counter(d)));
            v.push(("daily_limit", Info::Counter(Counter::Int(self.daily_limit))));
            v.push(("monthly_used", Info::Counter(m)));
            v.push((
                "monthly_limit",
                Info::Counter(Counter::Int(self.monthly_limit)),
            ));
            UsageInfo(v)
        };
        // Exact comparisons, in Python's order: the monthly counter is only looked at (and a
        // str there only fails) once the daily one is under its quota.
        if daily.at_least(self.daily_limit)? {
            return Ok((false, info(Some("Daily quota exceeded"), daily, monthly)));
        }
        if monthly.at_least(self.monthly_limit)? {
            return Ok((false, info(Some("Monthly quota exceeded"), daily, monthly)));
        }
        let (d1, m1) = (daily.plus_one()?, monthly.plus_one()?);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("user_id", key_attribute(user_id)?)
            .item("date", AttributeValue::S(today))
            .item("month", AttributeValue::S(month))
            .item("daily_count", d1.to_attribute()?)
            .item("monthly_count", m1.to_attribute()?)
            .item("last_operation", AttributeValue::S(operation.to_owned()))
            .item("last_updated", AttributeValue::S(isoformat(now)))
            .item("ttl", AttributeValue::N(ttl(now, 32).to_string()))
            .send()
            .await;
        if let Err(e) = put {
            if matches!(e, aws_sdk_dynamodb::error::SdkError::ServiceError(_)) {
                tracing::warn!("Error checking usage: {e}");
                return Ok(denied_by_error());
            }
            return Err(crate::aws::to_py(&e, "dynamodb", "PutItem"));
        }
        Ok((true, info(None, d1, m1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(t: &str) -> Counter {
        Counter::Stored(Attr::Dec(PyDecimal::from_dynamodb(t).unwrap()))
    }

    #[test]
    fn counters_compare_exactly_and_add_in_28_digits() {
        assert!(!stored("49.9999999999999999999999999999999999")
            .at_least(50)
            .unwrap());
        assert!(stored("50.0").at_least(50).unwrap());
        assert!(!stored("1E-130").at_least(50).unwrap());
        assert!(stored("9.9999999999999999999999999999999999999E+125")
            .at_least(50)
            .unwrap());
        let big = stored("12345678901234567890123456789012345678")
            .plus_one()
            .unwrap();
        assert_eq!(
            big.to_attribute().unwrap(),
            AttributeValue::N("1.234567890123456789012345679E+37".into())
        );
        assert_eq!(
            stored("1E-40").plus_one().unwrap().to_attribute().unwrap(),
            AttributeValue::N("1.000000000000000000000000000".into())
        );
        assert_eq!(
            Counter::Stored(Attr::Bool(true)).plus_one().unwrap(),
            Counter::Int(2)
        );
        assert_eq!(
            stored("1_0").at_least(50).unwrap_err().kind,
            "InvalidOperation"
        );
        assert_eq!(
            Counter::Stored(Attr::Str("3".into()))
                .at_least(50)
                .unwrap_err()
                .message,
            "'>=' not supported between instances of 'str' and 'int'"
        );
        assert!(stored("3").to_json().is_err());
        assert_eq!(
            Counter::Stored(Attr::Bool(true)).to_json().unwrap(),
            Value::Bool(true)
        );
    }
}
