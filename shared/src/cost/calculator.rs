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

mod num;
mod params;
mod pricing;
mod record;

pub use num::{py_float_str, Num};
pub use params::RequestCostParams;
pub use pricing::{Currency, ModelPrice, Pricing};
pub use record::{
    cost_record_ttl, py_isoformat, AttrKind, CostMetric, ItemAttribute, MetricDimension,
    RequestCost, ServiceCost,
};

use chrono::{DateTime, Utc};
use thiserror::Error;

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
    use crate::pyjson::dumps;
    use chrono::{TimeDelta, TimeZone};
    use serde_json::Value;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + TimeDelta::microseconds(i64::from(us))
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
