//! The price tables: USD as listed, and the query function's EUR conversion of it.

use super::{CLAUDE_3_5_SONNET, CLAUDE_SONNET_4, TITAN_EMBED_TEXT_V2, USD_TO_EUR_RATE};
use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
