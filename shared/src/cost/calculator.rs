//! Port of Manuel's per-request cost calculator (`cost_calculator.py`), equal to the Python to
//! the last bit for the same inputs.
//!
//! Two copies of the Python exist: the query function's, which converts every USD price to EUR
//! and labels costs `"EUR"` ([`Pricing::eur`], the one deployed behind `/query`), and the USD one
//! the usage, ingestion-status and process-manual functions ship ([`Pricing::usd`]). Both share
//! every formula, so one [`CostCalculator`] serves both.
//!
//! Three Python details decide the bits and the rendered text:
//!
//! - **ints stay ints.** A token count, a request count or the literal `0` some branches use as
//!   a unit cost is a Python `int` and serialises as `5`, not `5.0`. [`Num`] keeps that
//!   distinction; mixing an int with a float converts the int (correctly rounded) first, and
//!   `int / int` is Python's correctly rounded true division, not `(a as f64) / (b as f64)`.
//! - **evaluation order.** Every expression is written in the order Python evaluates it
//!   (`storage * price / 30 / 24` is `((storage * price) / 30) / 24`), since float arithmetic is
//!   not associative.
//! - **rounding for display.** [`RequestCost::to_dict`] uses Python's `round(x, 6)`
//!   ([`crate::pyround::py_round`]), which rounds the exact binary value half-to-even.
//!
//! The AWS side effects of the Python class (CloudWatch metrics, the DynamoDB cost record) are
//! pure functions here, [`RequestCost::cost_metrics`] and [`RequestCost::cost_item`], returning
//! what Python sends so the caller can send it with whatever client it holds.

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use serde_json::{Map, Number, Value};
use std::fmt;
use thiserror::Error;

use crate::pyjson::{dumps, float_repr};
use crate::pyround::py_round;

/// The USD→EUR factor the query function's calculator multiplies every USD price by.
pub const USD_TO_EUR_RATE: f64 = 0.85;
/// Claude 3.5 Sonnet v2: the text model priced by default, and the fallback for unknown ids.
pub const CLAUDE_3_5_SONNET: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
/// Claude Sonnet 4 through the US cross-region inference profile.
pub const CLAUDE_SONNET_4: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
/// Titan Text Embeddings v2: the default embedding model; priced for input tokens only.
pub const TITAN_EMBED_TEXT_V2: &str = "amazon.titan-embed-text-v2:0";
/// The CloudWatch namespace of the cost metrics.
pub const COST_METRICS_NAMESPACE: &str = "Manuel/Costs";
/// How long the DynamoDB cost records live.
pub const COST_RECORD_TTL_DAYS: i64 = 90;

/// Why a cost cannot be computed the way Python would.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CostError {
    /// Python integers are unbounded; this port keeps ints in `i64`. A sum of two counts that
    /// leaves that range (beyond 9.2 × 10^18) is reported rather than silently changed.
    #[error("integer {what} is outside the 64-bit range this port supports")]
    IntegerOverflow { what: &'static str },
    /// Neither the requested model nor the fallback model has a price (only possible after
    /// editing [`Pricing::bedrock`]; Python would raise `KeyError`).
    #[error("no Bedrock price for '{model_id}' nor for the fallback '{CLAUDE_3_5_SONNET}'")]
    UnknownModel { model_id: String },
    /// A keyword argument given to [`RequestCostParams::from_kwargs`] has a type the
    /// calculator cannot use.
    #[error("cost parameter '{key}': {reason}")]
    InvalidParam { key: String, reason: String },
}

// ------------------------------------------------------------------------------------- numbers

/// A Python number as the calculator sees it: an `int` or a `float`.
///
/// The variant is part of the result: `quantity` and `unit_cost` serialise as `1` or `1.0`
/// depending on it, and it decides how a division rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// Python's `float(x)`: ints convert with round-half-even (exact up to 2^53).
    pub fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// Python's `str(x)` / `repr(x)`: `5`, `5.0`, `1e-06`, `nan`, `inf`.
    pub fn repr(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => py_float_str(f),
        }
    }

    /// The JSON value Python's `json.dumps` would write for this number. serde_json has no
    /// NaN or infinity, so those become `null` (Python writes the non-JSON `NaN`/`Infinity`).
    pub fn to_json(self) -> Value {
        match self {
            Num::Int(i) => Value::from(i),
            Num::Float(f) => float_json(f),
        }
    }

    /// `self + other`, int + int staying an int.
    fn add(self, other: Num, what: &'static str) -> Result<Num, CostError> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_add(b)
                .map(Num::Int)
                .ok_or(CostError::IntegerOverflow { what }),
            _ => Ok(Num::Float(self.to_f64() + other.to_f64())),
        }
    }

    /// `self * price` for a float price.
    fn times(self, price: f64) -> f64 {
        self.to_f64() * price
    }

    /// `self * price` where a missing price is Python's `dict.get(key, 0)`, the int zero: an int
    /// count times it stays the int `0`, a float count gives `count * 0.0` (NaN for inf/NaN).
    fn times_optional(self, price: Option<f64>) -> Num {
        match (self, price) {
            (_, Some(p)) => Num::Float(self.times(p)),
            (Num::Int(_), None) => Num::Int(0),
            (Num::Float(f), None) => Num::Float(f * 0.0),
        }
    }

    /// Python's true division `self / divisor` (always a float). Callers guarantee a non-zero
    /// divisor, as the Python does with its `> 0` guards.
    fn div(self, divisor: Num) -> f64 {
        match (self, divisor) {
            (Num::Int(a), Num::Int(b)) => int_true_div(a, b),
            _ => self.to_f64() / divisor.to_f64(),
        }
    }

    /// Python's `self > 0`.
    fn is_positive(self) -> bool {
        match self {
            Num::Int(i) => i > 0,
            Num::Float(f) => f > 0.0,
        }
    }
}

impl From<i64> for Num {
    fn from(v: i64) -> Self {
        Num::Int(v)
    }
}

impl From<i32> for Num {
    fn from(v: i32) -> Self {
        Num::Int(i64::from(v))
    }
}

impl From<u32> for Num {
    fn from(v: u32) -> Self {
        Num::Int(i64::from(v))
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Self {
        Num::Float(v)
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Python's `str(float)`: the shortest round-trip repr, with `nan`, `inf` and `-inf` spelled
/// as Python spells them (unlike JSON's `NaN` / `Infinity`).
pub fn py_float_str(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        float_repr(f)
    }
}

fn float_json(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Python's `int / int`: the exact quotient rounded once to the nearest double (ties to even).
///
/// Converting both operands first rounds twice once a numerator passes 2^53, which Python does
/// not do. The quotient is computed with at least 55 significant bits plus a sticky bit for the
/// remainder, so the one conversion to `f64` rounds as the exact quotient would.
fn int_true_div(a: i64, b: i64) -> f64 {
    debug_assert!(b != 0, "division by zero");
    let negative = (a < 0) != (b < 0);
    let (num, den) = (u128::from(a.unsigned_abs()), u128::from(b.unsigned_abs()));
    if num == 0 {
        return if negative { -0.0 } else { 0.0 };
    }
    let num_bits = 128 - num.leading_zeros() as i32;
    let den_bits = 128 - den.leading_zeros() as i32;
    // Scale so the integer quotient lands in [2^54, 2^56): both operands are below 2^64, so the
    // shifted values stay below 2^120.
    let shift = 55 - (num_bits - den_bits);
    let (quotient, inexact) = if shift >= 0 {
        let n = num << shift;
        (n / den, n % den != 0)
    } else {
        let d = den << -shift;
        (num / d, num % d != 0)
    };
    // The sticky bit sits two or more places below the rounding position, so it only breaks
    // ties, exactly as the discarded remainder would.
    let magnitude = (quotient | u128::from(inexact)) as f64 * 2f64.powi(-shift);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

// ------------------------------------------------------------------------------------- pricing

/// The currency a calculator labels its costs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    Eur,
    Usd,
}

impl Currency {
    /// The label stored in every cost: `"EUR"` or `"USD"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Price per token of one Bedrock model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrice {
    pub model_id: String,
    pub input_tokens: f64,
    /// `None` for embedding models: Python then multiplies the output tokens by the int `0`.
    pub output_tokens: Option<f64>,
}

/// The price table (per unit, in [`Pricing::currency`]).
///
/// The EUR table is built by multiplying each USD price by [`USD_TO_EUR_RATE`] in `f64`, the
/// way Python does, rather than from literals of the EUR amounts: a product of two doubles is
/// rounded from the exact product of their binary values, which is not always the double
/// nearest the decimal product. S3 storage shows it: `0.023 * 0.85` is `0.019549999999999998`,
/// while the literal `0.01955` is a different double.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    pub currency: Currency,
    /// Looked up by exact model id; unknown ids are priced as [`CLAUDE_3_5_SONNET`].
    pub bedrock: Vec<ModelPrice>,
    /// Per second of audio.
    pub transcribe_standard: f64,
    /// Per invocation.
    pub lambda_requests: f64,
    pub lambda_compute_gb_second: f64,
    pub dynamodb_read_request_unit: f64,
    pub dynamodb_write_request_unit: f64,
    /// Per GB-month.
    pub s3_standard_storage: f64,
    /// Per request (the Python comments quote them per 1000, the formulas divide by 1000).
    pub s3_standard_requests_put: f64,
    pub s3_standard_requests_get: f64,
    /// Per request, though the formula divides it by a million once more (as the Python does).
    pub api_gateway_requests: f64,
    /// Listed in the Python table; no calculation uses the CloudWatch prices.
    pub cloudwatch_logs_ingestion: f64,
    pub cloudwatch_logs_storage: f64,
    pub cloudwatch_custom_metrics: f64,
}

impl Pricing {
    /// The query function's table: USD prices converted at [`USD_TO_EUR_RATE`], labelled EUR.
    pub fn eur() -> Self {
        Self::build(Currency::Eur, |usd| usd * USD_TO_EUR_RATE)
    }

    /// The usage function's table: the USD prices as they are.
    pub fn usd() -> Self {
        Self::build(Currency::Usd, |usd| usd)
    }

    /// [`Pricing::eur`] or [`Pricing::usd`].
    pub fn for_currency(currency: Currency) -> Self {
        match currency {
            Currency::Eur => Self::eur(),
            Currency::Usd => Self::usd(),
        }
    }

    /// The price entry of a model id, if it has one.
    pub fn model(&self, model_id: &str) -> Option<&ModelPrice> {
        self.bedrock.iter().find(|m| m.model_id == model_id)
    }

    /// One list of the USD prices (Jan 2025, eu-west-1), mapped to the table's currency.
    fn build(currency: Currency, convert: impl Fn(f64) -> f64) -> Self {
        let model = |id: &str, input: f64, output: Option<f64>| ModelPrice {
            model_id: id.to_string(),
            input_tokens: convert(input),
            output_tokens: output.map(&convert),
        };
        Pricing {
            currency,
            bedrock: vec![
                model(CLAUDE_3_5_SONNET, 0.000003, Some(0.000015)),
                model(CLAUDE_SONNET_4, 0.000006, Some(0.000030)),
                model(TITAN_EMBED_TEXT_V2, 0.0000002, None),
            ],
            transcribe_standard: convert(0.0004),
            lambda_requests: convert(0.0000002),
            lambda_compute_gb_second: convert(0.0000166667),
            dynamodb_read_request_unit: convert(0.0000000556),
            dynamodb_write_request_unit: convert(0.0000001111),
            s3_standard_storage: convert(0.023),
            s3_standard_requests_put: convert(0.0000054),
            s3_standard_requests_get: convert(0.0000004),
            api_gateway_requests: convert(0.0000035),
            cloudwatch_logs_ingestion: convert(0.50),
            cloudwatch_logs_storage: convert(0.03),
            cloudwatch_custom_metrics: convert(0.30),
        }
    }
}

// ------------------------------------------------------------------------------------- results

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

// ------------------------------------------------------------------------------------- params

/// The keyword arguments of `calculate_request_cost`. Whether a key is present matters, not
/// only its value, so every field is an `Option` (`None` = key absent).
///
/// Keys the Python does not look at have no field: [`RequestCostParams::from_kwargs`] drops
/// them. The query handler passes only such keys (`model_id`, `input_tokens`, `output_tokens`,
/// `audio_duration_seconds`, `context_chunks`, `response_time_ms`), so its requests cost just
/// the API Gateway request: `RequestCostParams::default()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestCostParams {
    /// Lambda cost needs both the duration and the memory.
    pub lambda_duration_ms: Option<Num>,
    pub lambda_memory_mb: Option<Num>,
    /// Either one adds a DynamoDB cost; absent reads count 0, absent writes count 1.
    pub dynamodb_reads: Option<Num>,
    pub dynamodb_writes: Option<Num>,
    /// Operation `transcribe` only.
    pub transcribe_duration_seconds: Option<Num>,
    /// Operation `transcribe` only: puts add an S3 cost; absent gets count 1.
    pub s3_put_requests: Option<Num>,
    pub s3_get_requests: Option<Num>,
    /// Operation `query` only: embedding tokens add a Bedrock cost for `embedding_model`
    /// (default [`TITAN_EMBED_TEXT_V2`]).
    pub embedding_tokens: Option<Num>,
    pub embedding_model: Option<String>,
    /// Operation `query` only, both needed: a Bedrock cost for `text_model` (default
    /// [`CLAUDE_3_5_SONNET`]).
    pub text_input_tokens: Option<Num>,
    pub text_output_tokens: Option<Num>,
    pub text_model: Option<String>,
}

impl RequestCostParams {
    /// Read the parameters from keyword arguments given as a JSON object (JSON ints are Python
    /// ints, JSON numbers with a fraction or exponent are floats). Unknown keys are ignored as
    /// Python ignores them; a known key with a value the calculator cannot use is an error.
    pub fn from_kwargs(kwargs: &Map<String, Value>) -> Result<Self, CostError> {
        let mut p = RequestCostParams::default();
        for (key, value) in kwargs {
            let slot = match key.as_str() {
                "lambda_duration_ms" => &mut p.lambda_duration_ms,
                "lambda_memory_mb" => &mut p.lambda_memory_mb,
                "dynamodb_reads" => &mut p.dynamodb_reads,
                "dynamodb_writes" => &mut p.dynamodb_writes,
                "transcribe_duration_seconds" => &mut p.transcribe_duration_seconds,
                "s3_put_requests" => &mut p.s3_put_requests,
                "s3_get_requests" => &mut p.s3_get_requests,
                "embedding_tokens" => &mut p.embedding_tokens,
                "text_input_tokens" => &mut p.text_input_tokens,
                "text_output_tokens" => &mut p.text_output_tokens,
                "embedding_model" | "text_model" => {
                    let Value::String(model) = value else {
                        return Err(invalid(key, "a model id must be a string"));
                    };
                    let slot = if key == "text_model" {
                        &mut p.text_model
                    } else {
                        &mut p.embedding_model
                    };
                    *slot = Some(model.clone());
                    continue;
                }
                _ => continue,
            };
            *slot = Some(json_num(key, value)?);
        }
        Ok(p)
    }
}

fn invalid(key: &str, reason: &str) -> CostError {
    CostError::InvalidParam {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

fn json_num(key: &str, value: &Value) -> Result<Num, CostError> {
    let Value::Number(n) = value else {
        return Err(invalid(key, "expected a number"));
    };
    if let Some(i) = n.as_i64() {
        Ok(Num::Int(i))
    } else if n.is_f64() {
        Ok(Num::Float(n.as_f64().unwrap_or(f64::NAN)))
    } else {
        Err(invalid(key, "integer outside the 64-bit range"))
    }
}

// ------------------------------------------------------------------------------------- calculator

/// The calculator: a price table plus Python's formulas.
#[derive(Debug, Clone, PartialEq)]
pub struct CostCalculator {
    pub pricing: Pricing,
}

impl CostCalculator {
    pub fn new(pricing: Pricing) -> Self {
        CostCalculator { pricing }
    }

    /// The query function's calculator (EUR).
    pub fn eur() -> Self {
        Self::new(Pricing::eur())
    }

    /// The usage function's calculator (USD).
    pub fn usd() -> Self {
        Self::new(Pricing::usd())
    }

    pub fn currency(&self) -> Currency {
        self.pricing.currency
    }

    fn cost(
        &self,
        service: &'static str,
        operation: String,
        quantity: Num,
        unit: &'static str,
        unit_cost: Num,
        total_cost: f64,
    ) -> ServiceCost {
        ServiceCost {
            service,
            operation,
            quantity,
            unit,
            unit_cost,
            total_cost,
            currency: self.pricing.currency,
        }
    }

    /// Bedrock inference. Unknown model ids are priced as [`CLAUDE_3_5_SONNET`] but keep their
    /// own name in the operation, `inference_<text after the id's last '.'>`. The unit cost is
    /// the average per token, or the int `0` without (positive) tokens. Python's default for
    /// `output_tokens` is the int `0`.
    pub fn calculate_bedrock_cost(
        &self,
        model_id: &str,
        input_tokens: impl Into<Num>,
        output_tokens: impl Into<Num>,
    ) -> Result<ServiceCost, CostError> {
        let (input_tokens, output_tokens) = (input_tokens.into(), output_tokens.into());
        let price = self
            .pricing
            .model(model_id)
            .or_else(|| self.pricing.model(CLAUDE_3_5_SONNET))
            .ok_or_else(|| CostError::UnknownModel {
                model_id: model_id.to_string(),
            })?;
        let input_cost = input_tokens.times(price.input_tokens);
        let output_cost = output_tokens.times_optional(price.output_tokens);
        let total_cost = input_cost + output_cost.to_f64();
        let tokens = input_tokens.add(output_tokens, "token count")?;
        let unit_cost = if tokens.is_positive() {
            Num::Float(total_cost / tokens.to_f64())
        } else {
            Num::Int(0)
        };
        // `rsplit` always yields at least one piece (the whole id when it has no '.').
        let suffix = model_id.rsplit('.').next().unwrap_or(model_id);
        Ok(self.cost(
            "bedrock",
            format!("inference_{suffix}"),
            tokens,
            "tokens",
            unit_cost,
            total_cost,
        ))
    }

    /// Transcribe, per second of audio; the quantity keeps the duration's int/float type.
    pub fn calculate_transcribe_cost(&self, duration_seconds: impl Into<Num>) -> ServiceCost {
        let duration = duration_seconds.into();
        let price = self.pricing.transcribe_standard;
        self.cost(
            "transcribe",
            "speech_to_text".into(),
            duration,
            "seconds",
            Num::Float(price),
            duration.times(price),
        )
    }

    /// One Lambda invocation: the request price plus GB-seconds. The quantity is the duration
    /// in seconds (always a float); the unit cost is the total per second, or the int `0` for a
    /// duration that is not positive.
    pub fn calculate_lambda_cost(
        &self,
        duration_ms: impl Into<Num>,
        memory_mb: impl Into<Num>,
    ) -> ServiceCost {
        let duration_seconds = duration_ms.into().div(Num::Int(1000));
        let memory_gb = memory_mb.into().div(Num::Int(1024));
        let request_cost = self.pricing.lambda_requests;
        let compute_cost = (memory_gb * duration_seconds) * self.pricing.lambda_compute_gb_second;
        let total_cost = request_cost + compute_cost;
        let unit_cost = if duration_seconds > 0.0 {
            Num::Float(total_cost / duration_seconds)
        } else {
            Num::Int(0)
        };
        self.cost(
            "lambda",
            "execution".into(),
            Num::Float(duration_seconds),
            "seconds",
            unit_cost,
            total_cost,
        )
    }

    /// DynamoDB request units (Python's defaults: 0 and 0).
    pub fn calculate_dynamodb_cost(
        &self,
        read_units: impl Into<Num>,
        write_units: impl Into<Num>,
    ) -> Result<ServiceCost, CostError> {
        let (reads, writes) = (read_units.into(), write_units.into());
        let read_cost = reads.times(self.pricing.dynamodb_read_request_unit);
        let write_cost = writes.times(self.pricing.dynamodb_write_request_unit);
        let total_cost = read_cost + write_cost;
        let units = reads.add(writes, "request unit count")?;
        let unit_cost = if units.is_positive() {
            Num::Float(total_cost / units.to_f64())
        } else {
            Num::Int(0)
        };
        Ok(self.cost(
            "dynamodb",
            "requests".into(),
            units,
            "request_units",
            unit_cost,
            total_cost,
        ))
    }

    /// S3: an hour's share of a month's storage plus PUT and GET requests (Python's defaults:
    /// 0, 0, 0). The quantity mixes GB and thousands of requests; the unit cost is the int `0`.
    pub fn calculate_s3_cost(
        &self,
        storage_gb: impl Into<Num>,
        put_requests: impl Into<Num>,
        get_requests: impl Into<Num>,
    ) -> Result<ServiceCost, CostError> {
        let (storage_gb, puts, gets) =
            (storage_gb.into(), put_requests.into(), get_requests.into());
        let thousand = Num::Int(1000);
        let storage_cost = storage_gb.times(self.pricing.s3_standard_storage) / 30.0 / 24.0;
        let put_cost = puts.div(thousand) * self.pricing.s3_standard_requests_put;
        let get_cost = gets.div(thousand) * self.pricing.s3_standard_requests_get;
        let total_cost = storage_cost + put_cost + get_cost;
        let requests = puts.add(gets, "request count")?;
        let quantity = storage_gb.to_f64() + requests.div(thousand);
        Ok(self.cost(
            "s3",
            "storage_and_requests".into(),
            Num::Float(quantity),
            "mixed",
            Num::Int(0),
            total_cost,
        ))
    }

    /// API Gateway requests (Python's default: 1). The price is divided by a million on top of
    /// being per request, so a request costs 3.5e-12 USD; kept as deployed.
    pub fn calculate_api_gateway_cost(&self, requests: impl Into<Num>) -> ServiceCost {
        let requests = requests.into();
        let price = self.pricing.api_gateway_requests;
        self.cost(
            "api_gateway",
            "requests".into(),
            requests,
            "requests",
            Num::Float(price / 1_000_000.0),
            requests.times(price) / 1_000_000.0,
        )
    }

    /// All costs of one request, in Python's order: API Gateway (always), Lambda, DynamoDB,
    /// then for `transcribe` Transcribe and S3, for `query` the embedding and text models; any
    /// other operation gets only the first three. `now` supplies the timestamp
    /// (`datetime.utcnow()` in Python).
    ///
    /// The total is summed left to right from `0`, as Python 3.11's `sum()` does (the deployed
    /// runtime). Python 3.12 switched `sum()` of floats to compensated summation, which can
    /// differ in the last bit.
    pub fn calculate_request_cost(
        &self,
        request_id: &str,
        user_id: &str,
        operation: &str,
        params: &RequestCostParams,
        now: DateTime<Utc>,
    ) -> Result<RequestCost, CostError> {
        let p = params;
        let mut costs = vec![self.calculate_api_gateway_cost(1)];
        if let (Some(ms), Some(mb)) = (p.lambda_duration_ms, p.lambda_memory_mb) {
            costs.push(self.calculate_lambda_cost(ms, mb));
        }
        if p.dynamodb_reads.is_some() || p.dynamodb_writes.is_some() {
            costs.push(self.calculate_dynamodb_cost(
                p.dynamodb_reads.unwrap_or(Num::Int(0)),
                p.dynamodb_writes.unwrap_or(Num::Int(1)),
            )?);
        }
        match operation {
            "transcribe" => {
                if let Some(seconds) = p.transcribe_duration_seconds {
                    costs.push(self.calculate_transcribe_cost(seconds));
                }
                if let Some(puts) = p.s3_put_requests {
                    let gets = p.s3_get_requests.unwrap_or(Num::Int(1));
                    costs.push(self.calculate_s3_cost(Num::Int(0), puts, gets)?);
                }
            }
            "query" => {
                if let Some(tokens) = p.embedding_tokens {
                    let model = p.embedding_model.as_deref().unwrap_or(TITAN_EMBED_TEXT_V2);
                    costs.push(self.calculate_bedrock_cost(model, tokens, Num::Int(0))?);
                }
                if let (Some(input), Some(output)) = (p.text_input_tokens, p.text_output_tokens) {
                    let model = p.text_model.as_deref().unwrap_or(CLAUDE_3_5_SONNET);
                    costs.push(self.calculate_bedrock_cost(model, input, output)?);
                }
            }
            _ => {}
        }
        let total_cost = costs.iter().fold(0.0, |sum, c| sum + c.total_cost);
        Ok(RequestCost {
            request_id: request_id.to_string(),
            user_id: user_id.to_string(),
            timestamp: py_isoformat(&now),
            operation: operation.to_string(),
            service_costs: costs,
            total_cost,
            currency: self.pricing.currency,
        })
    }
}

/// Python's `len(text) // 4`: a quarter of the Unicode code points (not UTF-8 bytes, not
/// grapheme clusters), rounded down.
pub fn estimate_tokens_from_text(text: &str) -> i64 {
    (text.chars().count() / 4) as i64
}

/// Seconds of audio guessed from the file size at one minute per MiB:
/// `size / (1024 * 1024) * 60`, with Python's int division rounding.
pub fn estimate_audio_duration(audio_size_bytes: impl Into<Num>) -> f64 {
    audio_size_bytes.into().div(Num::Int(1024 * 1024)) * 60.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + TimeDelta::microseconds(i64::from(us))
    }

    #[test]
    fn eur_prices_are_products_not_literals() {
        let eur = Pricing::eur();
        assert_eq!(
            eur.s3_standard_storage.to_bits(),
            0.019549999999999998f64.to_bits()
        );
        assert_ne!(eur.s3_standard_storage, 0.01955);
        assert_eq!(eur.api_gateway_requests, 0.0000035 * 0.85);
        assert_eq!(Pricing::usd().s3_standard_storage, 0.023);
        assert_eq!(eur.model(TITAN_EMBED_TEXT_V2).unwrap().output_tokens, None);
    }

    #[test]
    fn int_true_div_rounds_once() {
        assert_eq!(int_true_div(1, 3), 1.0 / 3.0);
        assert_eq!(int_true_div(-7, 2), -3.5);
        assert_eq!(int_true_div(0, 1000).to_bits(), 0.0f64.to_bits());
        assert_eq!(int_true_div(0, -5).to_bits(), (-0.0f64).to_bits());
        assert_eq!(int_true_div(i64::MIN, 1), -(2f64.powi(63)));
        // 2^62 + 513 over 1000: converting first rounds the numerator up to 2^62 + 1024.
        let a = (1i64 << 62) + 513;
        assert_eq!(a as f64 / 1000.0, 4611686018427389.0);
        assert_eq!(int_true_div(a, 1000), 4611686018427388.0);
        // The exact tie 2^53 + 1 over 1 rounds to even.
        assert_eq!(int_true_div((1 << 53) + 1, 1), 2f64.powi(53));
        assert_eq!(int_true_div((1 << 53) + 3, 1), 2f64.powi(53) + 4.0);
    }

    #[test]
    fn num_keeps_int_versus_float() {
        assert_eq!(Num::Int(5).repr(), "5");
        assert_eq!(Num::Float(5.0).repr(), "5.0");
        assert_eq!(Num::Float(f64::NEG_INFINITY).repr(), "-inf");
        assert_eq!(Num::Int(2).add(Num::Int(3), "x"), Ok(Num::Int(5)));
        assert_eq!(Num::Int(2).add(Num::Float(0.5), "x"), Ok(Num::Float(2.5)));
        assert_eq!(
            Num::Int(i64::MAX).add(Num::Int(1), "x"),
            Err(CostError::IntegerOverflow { what: "x" })
        );
        assert_eq!(Num::Int(7).times_optional(None), Num::Int(0));
        assert_eq!(Num::Float(7.0).times_optional(None), Num::Float(0.0));
        assert!(matches!(
            Num::Float(f64::INFINITY).times_optional(None),
            Num::Float(f) if f.is_nan()
        ));
    }

    #[test]
    fn bedrock_fallback_and_operation_name() {
        let calc = CostCalculator::eur();
        let known = calc
            .calculate_bedrock_cost(CLAUDE_SONNET_4, 10, 20)
            .unwrap();
        assert_eq!(known.operation, "inference_claude-sonnet-4-20250514-v1:0");
        assert_eq!(known.quantity, Num::Int(30));
        assert_eq!(
            known.total_cost,
            10.0 * (0.000006 * 0.85) + 20.0 * (0.000030 * 0.85)
        );

        let unknown = calc.calculate_bedrock_cost("nodots", 10, 20).unwrap();
        let sonnet = calc
            .calculate_bedrock_cost(CLAUDE_3_5_SONNET, 10, 20)
            .unwrap();
        assert_eq!(unknown.operation, "inference_nodots");
        assert_eq!(unknown.total_cost, sonnet.total_cost);

        let empty = calc.calculate_bedrock_cost("a.b.", 1, 0).unwrap();
        assert_eq!(empty.operation, "inference_");

        let none = calc
            .calculate_bedrock_cost(CLAUDE_3_5_SONNET, 0, 0)
            .unwrap();
        assert_eq!(none.unit_cost, Num::Int(0));
        assert_eq!(none.to_value()["unit_cost"].to_string(), "0");

        let mut no_fallback = CostCalculator::usd();
        no_fallback.pricing.bedrock.clear();
        assert!(matches!(
            no_fallback.calculate_bedrock_cost("x", 1, 1),
            Err(CostError::UnknownModel { .. })
        ));
    }

    #[test]
    fn zero_or_negative_durations_have_int_unit_cost() {
        let calc = CostCalculator::usd();
        assert_eq!(calc.calculate_lambda_cost(0, 128).unit_cost, Num::Int(0));
        assert_eq!(calc.calculate_lambda_cost(-5.0, 128).unit_cost, Num::Int(0));
        let c = calc.calculate_lambda_cost(1000, 1024);
        assert_eq!(c.quantity, Num::Float(1.0));
        assert_eq!(c.total_cost, 0.0000002 + 0.0000166667);
        assert_eq!(c.unit_cost, Num::Float(c.total_cost));
    }

    #[test]
    fn s3_quantity_is_always_a_float() {
        let calc = CostCalculator::usd();
        let c = calc.calculate_s3_cost(0, 1000, 0).unwrap();
        assert_eq!(c.quantity, Num::Float(1.0));
        assert_eq!(c.unit_cost, Num::Int(0));
        assert_eq!(c.total_cost, 0.0000054);
    }

    #[test]
    fn query_handler_parameters_cost_only_api_gateway() {
        let kwargs = serde_json::json!({
            "model_id": CLAUDE_SONNET_4, "input_tokens": 1834, "output_tokens": 412,
            "audio_duration_seconds": 0, "context_chunks": 5, "response_time_ms": 2731,
        });
        let params = RequestCostParams::from_kwargs(kwargs.as_object().unwrap()).unwrap();
        assert_eq!(params, RequestCostParams::default());
        let now = at(2026, 11, 27, 5, 54, 50, 137848);
        let rc = CostCalculator::eur()
            .calculate_request_cost("r", "u", "query", &params, now)
            .unwrap();
        assert_eq!(rc.service_costs.len(), 1);
        assert_eq!(rc.service_costs[0].service, "api_gateway");
        assert_eq!(rc.timestamp, "2026-11-27T05:54:50.137848");
        assert_eq!(
            dumps(&rc.to_dict()),
            "{\"request_id\": \"r\", \"operation\": \"query\", \"total_cost\": 0.0, \
             \"currency\": \"EUR\", \"cost_breakdown\": [{\"service\": \"api_gateway\", \
             \"operation\": \"requests\", \"cost\": 0.0, \"unit\": \"requests\", \"quantity\": 1}], \
             \"timestamp\": \"2026-11-27T05:54:50.137848\"}"
        );
    }

    #[test]
    fn defaults_for_absent_keys() {
        let calc = CostCalculator::usd();
        let now = at(2026, 1, 1, 0, 0, 0, 0);
        let params = RequestCostParams {
            dynamodb_reads: Some(Num::Int(4)),
            s3_put_requests: Some(Num::Int(2)),
            text_input_tokens: Some(Num::Int(3)),
            ..Default::default()
        };
        let rc = calc
            .calculate_request_cost("r", "u", "transcribe", &params, now)
            .unwrap();
        let services: Vec<_> = rc.service_costs.iter().map(|c| c.service).collect();
        assert_eq!(services, ["api_gateway", "dynamodb", "s3"]);
        // Writes default to one, gets to one.
        assert_eq!(rc.service_costs[1].quantity, Num::Int(5));
        assert_eq!(rc.service_costs[2].quantity, Num::Float(0.003));
        // Text tokens need both keys, and only count for queries.
        let rc = calc
            .calculate_request_cost("r", "u", "query", &params, now)
            .unwrap();
        assert_eq!(rc.service_costs.len(), 2);
    }

    #[test]
    fn kwargs_types() {
        let kw = serde_json::json!({"lambda_duration_ms": 5.0, "lambda_memory_mb": 128,
                                     "text_model": "m", "unknown": [1]});
        let p = RequestCostParams::from_kwargs(kw.as_object().unwrap()).unwrap();
        assert_eq!(p.lambda_duration_ms, Some(Num::Float(5.0)));
        assert_eq!(p.lambda_memory_mb, Some(Num::Int(128)));
        assert_eq!(p.text_model.as_deref(), Some("m"));
        for bad in [
            serde_json::json!({"dynamodb_reads": "3"}),
            serde_json::json!({"embedding_model": null}),
            serde_json::json!({"s3_put_requests": u64::MAX}),
        ] {
            assert!(RequestCostParams::from_kwargs(bad.as_object().unwrap()).is_err());
        }
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
    fn item_and_metrics() {
        let calc = CostCalculator::usd();
        let now = at(2026, 11, 27, 5, 54, 50, 137848);
        let params = RequestCostParams {
            dynamodb_writes: Some(Num::Int(1)),
            ..Default::default()
        };
        let rc = calc
            .calculate_request_cost("req", "alice", "admin", &params, now)
            .unwrap();
        let item = rc.cost_item(now);
        let names: Vec<_> = item.iter().map(|a| a.name).collect();
        assert_eq!(
            names,
            [
                "user_id",
                "date",
                "request_id",
                "operation",
                "total_cost",
                "service_costs",
                "currency",
                "ttl"
            ]
        );
        assert_eq!(item[0].value, "cost#alice");
        assert_eq!(item[4].value, py_float_str(rc.total_cost));
        assert_eq!(item[7].kind, AttrKind::N);
        assert_eq!(item[7].value, (now.timestamp() + 90 * 86400).to_string());
        assert!(item[5].value.starts_with("[{\"service\": \"api_gateway\""));

        let metrics = rc.cost_metrics(now);
        let names: Vec<_> = metrics.iter().map(|m| m.metric_name).collect();
        assert_eq!(
            names,
            [
                "RequestCost",
                "ServiceCost",
                "ServiceCost",
                "DailyCostAccumulation"
            ]
        );
        assert_eq!(metrics[2].dimensions[0].value, "dynamodb");
        assert!(metrics[3].dimensions.is_empty());
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

    #[test]
    fn tokens_count_code_points() {
        assert_eq!(estimate_tokens_from_text("héllo wörld"), 2);
        assert_eq!(estimate_tokens_from_text("😀😀😀😀"), 1);
        assert_eq!(estimate_tokens_from_text("abc"), 0);
        assert_eq!(estimate_audio_duration(1024 * 1024), 60.0);
        assert_eq!(estimate_audio_duration(0.5), 0.5 / 1048576.0 * 60.0);
    }

    #[test]
    fn non_finite_costs_render_as_null() {
        let calc = CostCalculator::usd();
        let c = calc.calculate_transcribe_cost(f64::NAN);
        assert_eq!(c.to_value()["total_cost"], Value::Null);
        let rc = RequestCost {
            request_id: "r".into(),
            user_id: "u".into(),
            timestamp: "t".into(),
            operation: "o".into(),
            service_costs: vec![c],
            total_cost: f64::NAN,
            currency: Currency::Usd,
        };
        assert_eq!(rc.to_dict()["total_cost"], Value::Null);
        assert_eq!(rc.cost_item(Utc::now())[4].value, "nan");
    }
}
