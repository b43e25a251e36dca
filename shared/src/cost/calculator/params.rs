//! The keyword arguments of `calculate_request_cost`, read from a JSON object.

use super::num::Num;
use super::CostError;
use serde_json::{Map, Value};

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
    /// (default [`TITAN_EMBED_TEXT_V2`](super::TITAN_EMBED_TEXT_V2)).
    pub embedding_tokens: Option<Num>,
    pub embedding_model: Option<String>,
    /// Operation `query` only, both needed: a Bedrock cost for `text_model` (default
    /// [`CLAUDE_3_5_SONNET`](super::CLAUDE_3_5_SONNET)).
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
