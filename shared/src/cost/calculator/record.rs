//! The results: each service's cost, the request's costs, and what Python makes of them — the
//! API dict, the DynamoDB cost record and the CloudWatch metrics.

use super::num::{float_json, py_float_str, Num};
use super::pricing::Currency;
use super::{COST_METRICS_NAMESPACE, COST_RECORD_TTL_DAYS};
use crate::pyjson::dumps;
use crate::pyround::py_round;
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use serde_json::{Map, Value};

/// The cost of one AWS service within a request (Python's `ServiceCost` dataclass).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCost {
    pub service: &'static str,
    pub operation: String,
    /// Int or float, as the inputs made it.
    pub quantity: Num,
    pub unit: &'static str,
    /// A float, or the int `0` where the Python falls back to the literal `0`.
    pub unit_cost: Num,
    pub total_cost: f64,
    pub currency: Currency,
}

impl ServiceCost {
    /// `dataclasses.asdict(cost)`: all seven fields in declaration order.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("service".into(), Value::from(self.service));
        m.insert("operation".into(), Value::from(self.operation.as_str()));
        m.insert("quantity".into(), self.quantity.to_json());
        m.insert("unit".into(), Value::from(self.unit));
        m.insert("unit_cost".into(), self.unit_cost.to_json());
        m.insert("total_cost".into(), float_json(self.total_cost));
        m.insert("currency".into(), Value::from(self.currency.as_str()));
        Value::Object(m)
    }
}

/// Every service cost of one request and their sum (Python's `RequestCost`).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestCost {
    pub request_id: String,
    pub user_id: String,
    /// `datetime.utcnow().isoformat()` when the cost was computed; see [`py_isoformat`].
    pub timestamp: String,
    pub operation: String,
    pub service_costs: Vec<ServiceCost>,
    pub total_cost: f64,
    pub currency: Currency,
}

/// One attribute of the DynamoDB cost record, typed as boto3 would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemAttribute {
    pub name: &'static str,
    pub kind: AttrKind,
    /// The string form (for `N`, the decimal digits DynamoDB receives).
    pub value: String,
}

/// DynamoDB attribute type of an [`ItemAttribute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// String.
    S,
    /// Number.
    N,
}

/// One CloudWatch datum. Python sends each in its own `PutMetricData` call, in the order of
/// [`RequestCost::cost_metrics`].
#[derive(Debug, Clone, PartialEq)]
pub struct CostMetric {
    pub namespace: &'static str,
    pub metric_name: &'static str,
    pub value: f64,
    /// Always `"None"`: the metrics carry a bare amount.
    pub unit: &'static str,
    pub dimensions: Vec<MetricDimension>,
    pub timestamp: DateTime<Utc>,
}

/// A CloudWatch dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDimension {
    pub name: &'static str,
    pub value: String,
}

impl RequestCost {
    /// The Python `to_dict()` (what an API response would embed): costs rounded with Python's
    /// `round(x, 6)`, quantities as they are, `user_id` left out. Non-finite floats become
    /// `null` (see [`Num::to_json`]).
    pub fn to_dict(&self) -> Value {
        let breakdown: Vec<Value> = self
            .service_costs
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("service".into(), Value::from(c.service));
                m.insert("operation".into(), Value::from(c.operation.as_str()));
                m.insert("cost".into(), float_json(py_round(c.total_cost, 6)));
                m.insert("unit".into(), Value::from(c.unit));
                m.insert("quantity".into(), c.quantity.to_json());
                Value::Object(m)
            })
            .collect();
        let mut m = Map::new();
        m.insert("request_id".into(), Value::from(self.request_id.as_str()));
        m.insert("operation".into(), Value::from(self.operation.as_str()));
        m.insert(
            "total_cost".into(),
            float_json(py_round(self.total_cost, 6)),
        );
        m.insert("currency".into(), Value::from(self.currency.as_str()));
        m.insert("cost_breakdown".into(), Value::Array(breakdown));
        m.insert("timestamp".into(), Value::from(self.timestamp.as_str()));
        Value::Object(m)
    }

    /// `json.dumps([asdict(c) for c in service_costs])`, byte for byte.
    pub fn service_costs_json(&self) -> String {
        dumps(&Value::Array(
            self.service_costs
                .iter()
                .map(ServiceCost::to_value)
                .collect(),
        ))
    }

    /// The item `store_cost_data` puts into the usage table, attributes in Python's order.
    ///
    /// `now` is the clock reading for the TTL (Python reads `utcnow()` again here, a moment
    /// after the request's timestamp). The TTL is `int((utcnow() + 90 days).timestamp())`: a
    /// naive datetime's `timestamp()` assumes local time, which is UTC on Lambda, so this is
    /// the Unix time 90 days on, truncated to whole seconds.
    pub fn cost_item(&self, now: DateTime<Utc>) -> Vec<ItemAttribute> {
        let attr = |name, kind, value: String| ItemAttribute { name, kind, value };
        vec![
            attr("user_id", AttrKind::S, format!("cost#{}", self.user_id)),
            attr("date", AttrKind::S, self.timestamp.clone()),
            attr("request_id", AttrKind::S, self.request_id.clone()),
            attr("operation", AttrKind::S, self.operation.clone()),
            attr("total_cost", AttrKind::S, py_float_str(self.total_cost)),
            attr("service_costs", AttrKind::S, self.service_costs_json()),
            attr("currency", AttrKind::S, self.currency.as_str().to_string()),
            attr("ttl", AttrKind::N, cost_record_ttl(now).to_string()),
        ]
    }

    /// The data `emit_cost_metrics` sends, in order: the request total (dimension
    /// `Operation`), one `ServiceCost` per service (dimensions `Service`, `Operation`), then the
    /// total again as `DailyCostAccumulation` (no dimensions). Python stamps each with its own
    /// `utcnow()`; here they share `now`.
    pub fn cost_metrics(&self, now: DateTime<Utc>) -> Vec<CostMetric> {
        let metric = |metric_name, value, dimensions| CostMetric {
            namespace: COST_METRICS_NAMESPACE,
            metric_name,
            value,
            unit: "None",
            dimensions,
            timestamp: now,
        };
        let dim = |name, value: &str| MetricDimension {
            name,
            value: value.to_string(),
        };
        let mut out = vec![metric(
            "RequestCost",
            self.total_cost,
            vec![dim("Operation", &self.operation)],
        )];
        for c in &self.service_costs {
            out.push(metric(
                "ServiceCost",
                c.total_cost,
                vec![dim("Service", c.service), dim("Operation", &self.operation)],
            ));
        }
        out.push(metric("DailyCostAccumulation", self.total_cost, Vec::new()));
        out
    }
}

/// The `ttl` of a cost record written at `now`: the Unix time [`COST_RECORD_TTL_DAYS`] later.
///
/// Python computes it as a float (whole seconds plus `microsecond / 1e6`) and truncates it with
/// `int()`; doing the same keeps even pre-1970 instants and far-future rounding identical.
pub fn cost_record_ttl(now: DateTime<Utc>) -> i64 {
    let later = now + TimeDelta::days(COST_RECORD_TTL_DAYS);
    let seconds = later.timestamp() as f64 + f64::from(micros(&later)) / 1e6;
    seconds.trunc() as i64
}

/// Python's `datetime.isoformat()` of a naive UTC datetime: `2026-11-27T05:54:50.137848`, the
/// fraction left out entirely when the microseconds are zero. Sub-microsecond digits are cut
/// off, as `utcnow()` truncates to microseconds.
pub fn py_isoformat(t: &DateTime<Utc>) -> String {
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let us = micros(t);
    if us != 0 {
        s.push_str(&format!(".{us:06}"));
    }
    s
}

/// Microseconds within the second (a chrono leap second, nanoseconds ≥ 10^9, folds back).
fn micros(t: &DateTime<Utc>) -> u32 {
    (t.nanosecond() % 1_000_000_000) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + TimeDelta::microseconds(i64::from(us))
    }

    #[test]
    fn isoformat_like_python() {
        assert_eq!(
            py_isoformat(&at(2026, 11, 27, 5, 54, 50, 0)),
            "2026-11-27T05:54:50"
        );
        assert_eq!(
            py_isoformat(&at(2025, 3, 30, 0, 59, 59, 7)),
            "2025-03-30T00:59:59.000007"
        );
        let with_nanos = at(2026, 1, 2, 3, 4, 5, 0) + TimeDelta::nanoseconds(999);
        assert_eq!(py_isoformat(&with_nanos), "2026-01-02T03:04:05");
    }

    #[test]
    fn ttl_truncates_like_int_of_a_float() {
        let before_epoch = Utc.timestamp_opt(-90 * 86400 - 10, 500_000_000).unwrap();
        // -10 + 0.5 = -9.5 truncates toward zero.
        assert_eq!(cost_record_ttl(before_epoch), -9);
        assert_eq!(
            cost_record_ttl(Utc.timestamp_opt(0, 999_999_000).unwrap()),
            7_776_000
        );
    }
}
