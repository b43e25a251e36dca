//! Per-user usage counters and quotas in the usage table (one item per user and day), ported
//! from Manuel's `UsageTracker` with its exact failure behaviour:
//!
//! - constructing it needs `USAGE_TABLE_NAME` (a `KeyError` otherwise, which the query handler
//!   swallows: the deployed query function has no such variable, so it never tracks usage);
//! - a DynamoDB error answers "denied" with `{"error": "Usage tracking error"}`;
//! - a denial built from stored counters carries `Decimal`s, which the handler then fails to
//!   serialise — so in practice a user over quota *is let through* without an increment.

use crate::ddb::{counter, item_from_sdk, Item, Num};
use crate::py::{parse_int, PyException};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// One value of a usage-info dict (ints, Decimals, strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Info {
    Num(Num),
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
                Info::Num(n) => n.to_json()?,
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
        Ok(v) => parse_int(&v).map_err(|m| PyException::new("ValueError", m)),
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
        Ok(out.item().map(item_from_sdk))
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
                counter(item, "daily_count")?,
                counter(item, "monthly_count")?,
            ),
            None => (Num::Int(0), Num::Int(0)),
        };
        let info = |error: Option<&str>, d: Num, m: Num| {
            let mut v = Vec::new();
            if let Some(e) = error {
                v.push(("error", Info::Str(e.into())));
            }
            v.push(("daily_used", Info::Num(d)));
            v.push(("daily_limit", Info::Num(Num::Int(self.daily_limit))));
            v.push(("monthly_used", Info::Num(m)));
            v.push(("monthly_limit", Info::Num(Num::Int(self.monthly_limit))));
            UsageInfo(v)
        };
        if daily.as_f64() >= self.daily_limit as f64 {
            return Ok((false, info(Some("Daily quota exceeded"), daily, monthly)));
        }
        // A str monthly counter fails here in Python (the daily one already passed).
        if monthly.as_f64() >= self.monthly_limit as f64 {
            return Ok((false, info(Some("Monthly quota exceeded"), daily, monthly)));
        }
        let (d1, m1) = (daily.plus_one(), monthly.plus_one());
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("user_id", key_attribute(user_id)?)
            .item("date", AttributeValue::S(today))
            .item("month", AttributeValue::S(month))
            .item("daily_count", d1.to_attribute())
            .item("monthly_count", m1.to_attribute())
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
