//! Remote targets: a deployed function through Lambda `Invoke` (aws-sdk-lambda), or a deployed
//! API through its HTTPS URL (what clients see, API Gateway included).

use super::Answer;
use crate::exec::runtime_api::{apigw_view, Outcome, Report};
use axum::body::Bytes;
use base64::Engine;
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("invoke {function}: {message}")]
    Invoke { function: String, message: String },
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("invalid URL '{0}': {1}")]
    BadUrl(String, String),
}

/// A deployed function, invoked synchronously with `LogType=Tail`.
pub struct LambdaTarget {
    client: aws_sdk_lambda::Client,
    pub function: String,
    pub qualifier: Option<String>,
}

impl LambdaTarget {
    pub fn new(conf: &aws_config::SdkConfig, function: &str, qualifier: Option<&str>) -> Self {
        Self {
            client: aws_sdk_lambda::Client::new(conf),
            function: function.to_owned(),
            qualifier: qualifier.map(str::to_owned),
        }
    }

    pub async fn invoke(&self, event: Bytes) -> Result<Answer, RemoteError> {
        let started = Instant::now();
        let mut req = self
            .client
            .invoke()
            .function_name(&self.function)
            .log_type(aws_sdk_lambda::types::LogType::Tail)
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_vec()));
        if let Some(q) = &self.qualifier {
            req = req.qualifier(q);
        }
        let out = req.send().await.map_err(|e| RemoteError::Invoke {
            function: self.function.clone(),
            message: crate::stack::aws_message(&e),
        })?;
        let elapsed = started.elapsed();
        let payload = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        let logs: Vec<String> = out
            .log_result()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let report = logs
            .iter()
            .rev()
            .find_map(|l| parse_report_line(l))
            .unwrap_or(Report {
                duration_ms: elapsed.as_secs_f64() * 1000.0,
                ..Report::default()
            });
        let outcome = match out.function_error() {
            Some(kind) => Outcome::FunctionError {
                error_type: serde_json::from_slice::<Value>(&payload)
                    .ok()
                    .and_then(|v| {
                        v.get("errorType")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| kind.to_owned()),
                payload: serde_json::from_slice(&payload).unwrap_or(Value::Null),
            },
            None => Outcome::Response(Bytes::from(payload)),
        };
        Ok(Answer {
            response: apigw_view(&outcome),
            outcome: Some(outcome),
            report: Some(report),
            logs,
            request_id: out.executed_version().map(str::to_owned),
        })
    }
}

/// Parse Lambda's `REPORT` log line (with or without `Init Duration`, with SnapStart's
/// `Restore Duration`). `None` when the line is not a REPORT line.
pub fn parse_report_line(line: &str) -> Option<Report> {
    let rest = line.trim().strip_prefix("REPORT RequestId:")?;
    let mut r = Report::default();
    let mut seen_duration = false;
    for field in rest.split('\t') {
        let Some((key, value)) = field.split_once(':') else {
            continue;
        };
        let num =
            |unit: &str| -> Option<f64> { value.trim().strip_suffix(unit)?.trim().parse().ok() };
        match key.trim() {
            "Duration" => {
                r.duration_ms = num("ms")?;
                seen_duration = true;
            }
            "Billed Duration" => r.billed_ms = num("ms")? as u64,
            "Memory Size" => r.memory_mb = num("MB")? as u32,
            "Max Memory Used" => r.max_rss_mb = num("MB")?,
            "Init Duration" => {
                r.init_ms = Some(num("ms")?);
                r.cold = true;
            }
            "Restore Duration" => {
                r.restore_ms = Some(num("ms")?);
                r.cold = true;
            }
            "Billed Restore Duration" => r.billed_restore_ms = Some(num("ms")? as u64),
            _ => {}
        }
    }
    seen_duration.then_some(r)
}

/// A deployed API: the event becomes an HTTPS request to `base` + the event's path.
pub struct HttpTarget {
    client: reqwest::Client,
    pub base: reqwest::Url,
}

impl HttpTarget {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, RemoteError> {
        let url = reqwest::Url::parse(base)
            .map_err(|e| RemoteError::BadUrl(base.to_owned(), e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RemoteError::BadUrl(
                base.to_owned(),
                "scheme must be http or https".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RemoteError::BadUrl(base.to_owned(), e.to_string()))?;
        Ok(Self { client, base: url })
    }

    /// The request API Gateway would have turned into `event`.
    pub fn request_for(&self, event: &Value) -> Result<reqwest::Request, RemoteError> {
        let method = event
            .get("httpMethod")
            .and_then(Value::as_str)
            .unwrap_or("GET");
        let path = event.get("path").and_then(Value::as_str).unwrap_or("/");
        let mut url = self.base.clone();
        let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        {
            let mut q = url.query_pairs_mut();
            match event.get("multiValueQueryStringParameters") {
                Some(Value::Object(m)) => {
                    for (k, vs) in m {
                        for v in vs.as_array().into_iter().flatten() {
                            q.append_pair(k, v.as_str().unwrap_or_default());
                        }
                    }
                }
                _ => {
                    if let Some(Value::Object(m)) = event.get("queryStringParameters") {
                        for (k, v) in m {
                            q.append_pair(k, v.as_str().unwrap_or_default());
                        }
                    }
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| RemoteError::BadUrl(method.to_owned(), e.to_string()))?;
        let mut req = self.client.request(method, url);
        if let Some(Value::Object(h)) = event.get("headers") {
            for (k, v) in h {
                let lk = k.to_ascii_lowercase();
                if matches!(
                    lk.as_str(),
                    "host"
                        | "content-length"
                        | "connection"
                        | "x-forwarded-for"
                        | "x-forwarded-port"
                        | "x-forwarded-proto"
                        | "via"
                        | "x-amzn-trace-id"
                ) || lk.starts_with("cloudfront-")
                {
                    continue;
                }
                if let Some(v) = v.as_str() {
                    req = req.header(k, v);
                }
            }
        }
        if let Some(bytes) = super::body_bytes(event) {
            req = req.body(bytes);
        }
        req.build().map_err(|e| RemoteError::Http {
            url: self.base.to_string(),
            message: e.to_string(),
        })
    }

    pub async fn invoke(&self, event: &Value) -> Result<Answer, RemoteError> {
        let req = self.request_for(event)?;
        let url = req.url().to_string();
        let started = Instant::now();
        let resp = self
            .client
            .execute(req)
            .await
            .map_err(|e| RemoteError::Http {
                url: url.clone(),
                message: crate::stack::aws_message(&e),
            })?;
        let status = resp.status().as_u16();
        let mut headers = Map::new();
        for (k, v) in resp.headers() {
            headers.insert(
                k.as_str().to_owned(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            );
        }
        let body = resp.bytes().await.map_err(|e| RemoteError::Http {
            url,
            message: e.to_string(),
        })?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let mut response = Map::new();
        response.insert("statusCode".into(), Value::from(status));
        response.insert("headers".into(), Value::Object(headers));
        match std::str::from_utf8(&body) {
            Ok(text) => {
                response.insert("body".into(), Value::String(text.to_owned()));
            }
            Err(_) => {
                response.insert(
                    "body".into(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(&body)),
                );
                response.insert("isBase64Encoded".into(), Value::Bool(true));
            }
        }
        Ok(Answer {
            response: Value::Object(response),
            outcome: None,
            report: Some(Report {
                duration_ms: elapsed,
                billed_ms: elapsed.ceil() as u64,
                ..Report::default()
            }),
            logs: Vec::new(),
            request_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn report_lines_as_lambda_writes_them() {
        let warm = "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t";
        let r = parse_report_line(warm).unwrap();
        assert_eq!(
            (r.duration_ms, r.billed_ms, r.memory_mb, r.max_rss_mb),
            (12.34, 13, 128, 18.0)
        );
        assert_eq!(r.init_ms, None);
        assert!(!r.cold);

        let cold = "REPORT RequestId: 8f5f3c9e-1b2a-4c3d-9e8f-0a1b2c3d4e5f\tDuration: 1.85 ms\tBilled Duration: 16 ms\tMemory Size: 256 MB\tMax Memory Used: 15 MB\tInit Duration: 13.71 ms\t\nXRAY TraceId: 1-5e1b4151-5ac6c58f5b5daa6532e4f2a2\tSegmentId: 6b0e3a1e0f7a2c3d\tSampled: true\t";
        let r = parse_report_line(cold.lines().next().unwrap()).unwrap();
        assert_eq!(r.init_ms, Some(13.71));
        assert!(r.cold);

        let snap = "REPORT RequestId: 1d5c5a4b-2f3e-4a5b-8c7d-6e5f4a3b2c1d\tDuration: 8.50 ms\tBilled Duration: 169 ms\tMemory Size: 512 MB\tMax Memory Used: 89 MB\tRestore Duration: 299.89 ms\tBilled Restore Duration: 160 ms\t";
        let r = parse_report_line(snap).unwrap();
        assert_eq!(
            (r.restore_ms, r.billed_restore_ms, r.init_ms),
            (Some(299.89), Some(160), None)
        );

        assert!(parse_report_line("START RequestId: x Version: $LATEST").is_none());
        assert!(parse_report_line("REPORT RequestId: x\tDuration: abc ms").is_none());
    }

    #[test]
    fn http_request_is_rebuilt_from_the_event() {
        let t = HttpTarget::new(
            "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/",
            Duration::from_secs(5),
        )
        .unwrap();
        let ev = json!({"httpMethod": "POST", "path": "/api/query", "headers": {"Host": "x", "Authorization": "Bearer t"},
            "multiValueQueryStringParameters": {"a": ["1", "2"]}, "body": "{\"q\": 1}", "isBase64Encoded": false});
        let req = t.request_for(&ev).unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(
            req.url().as_str(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/api/query?a=1&a=2"
        );
        assert_eq!(req.headers()["authorization"], "Bearer t");
        assert!(req.headers().get("host").is_none());
        assert_eq!(req.body().unwrap().as_bytes().unwrap(), b"{\"q\": 1}");
        assert!(HttpTarget::new("ftp://x", Duration::from_secs(1)).is_err());
    }
}
