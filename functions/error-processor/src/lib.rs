//! Rust port of Manuel's error processor: it consumes the error dead-letter queue (SQS, batches
//! of up to 10) and turns each message into an item of the error tracking table, plus an SNS
//! alert for high and critical errors. The answer is what the Python returns —
//! `utils.create_response(200, {"processed", "failed", "total"})` — and, above all, the items
//! and messages it leaves behind.
//!
//! The reference is the code *as intended* (`oracle = "intended"`): deployed, the function
//! cannot import `logger` and `utils` (its folder does not ship `backend/src/shared`) and fails
//! every invocation with `Runtime.ImportModuleError`.
//!
//! What the Python does with each input class, kept here:
//! - The event: anything but a dict fails the whole batch (500 `Error processing failed`), as
//!   does `Records` that is not iterable; a string or dict `Records` is iterated (its characters
//!   or keys), and a record that is not a dict fails the batch *after* the records before it
//!   were stored — the `except` handler itself raises on `record.get`.
//! - A record: a missing or non-string `body`, a body `json.loads` refuses (Python's rules:
//!   `NaN`, big ints, lone surrogates, duplicate keys — [`manuel_shared::pyvalue`]), a body that
//!   is not a JSON object, an `exception` that is not a dict, fields of the wrong type where
//!   the severity rules compare or lowercase them: the record counts as failed, nothing stored.
//! - The item: boto3's serializer refuses floats anywhere (and ints over 38 digits), so such a
//!   message is a failed record; containers nested deeper than boto3 can recurse fail the same.
//! - The alert: sent only for `high`/`critical` with `ERROR_TOPIC_ARN` set; a `service` or
//!   `function_name` that is not a string fails botocore's parameter check (no message); what
//!   SNS refuses is logged, the record still counts as processed.

mod item;
mod notify;
mod severity;

use manuel_shared::pyvalue::{self, PyValue};
use manuel_shared::runtime::InvokeContext;
use serde_json::Value;

pub use item::{error_item, ErrorItem, MAX_ITEM_DEPTH};
pub use severity::severity;

pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
}

/// The init phase: clients from the environment (`AWS_ENDPOINT_URL[_SERVICE]`, region).
pub async fn init() -> Clients {
    let conf = manuel_shared::aws::load_config().await;
    Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(&conf),
        sns: aws_sdk_sns::Client::new(&conf),
    }
}

/// What the batch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub processed: u64,
    pub failed: u64,
    pub total: u64,
}

/// Where the items and alerts go.
pub struct Targets<'a> {
    pub table: &'a str,
    pub topic: Option<&'a str>,
}

/// One invocation, as `lambda_handler` answers it.
pub async fn answer(event: &Value, ctx: &InvokeContext, clients: &Clients) -> Value {
    let table = std::env::var("ERROR_TABLE_NAME").unwrap_or_default();
    if table.is_empty() {
        tracing::error!("ERROR_TABLE_NAME not configured");
        return response(500, vec![("error", PyValue::str("Configuration error"))]);
    }
    let topic = std::env::var("ERROR_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty());
    let targets = Targets {
        table: &table,
        topic: topic.as_deref(),
    };
    match process(event, &targets, clients).await {
        Ok(c) => {
            tracing::info!(
                request_id = %ctx.request_id,
                processed = c.processed,
                failed = c.failed,
                total = c.total,
                "Error processing completed"
            );
            let n = |v: u64| PyValue::Int(pyvalue::PyInt::I64(v as i64));
            response(
                200,
                vec![
                    ("processed", n(c.processed)),
                    ("failed", n(c.failed)),
                    ("total", n(c.total)),
                ],
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "Error processor failed");
            response(
                500,
                vec![("error", PyValue::str("Error processing failed"))],
            )
        }
    }
}

fn response(status: u16, body: Vec<(&str, PyValue)>) -> Value {
    manuel_shared::apigw::legacy_cors_response(status)
        .text_body(pyvalue::dumps(&PyValue::dict(body)))
        .to_value()
}

/// The loop over the records: `Err` is what escapes it (the batch answers 500).
pub async fn process(
    event: &Value,
    targets: &Targets<'_>,
    clients: &Clients,
) -> Result<Counts, manuel_shared::py::PyException> {
    // A str record: `"abc"["body"]` raises TypeError, then the handler's `record.get(…)`
    // raises AttributeError out of the loop.
    let items = manuel_shared::py::records(event)?;
    let mut counts = Counts {
        total: items.len() as u64,
        ..Counts::default()
    };
    for record in items {
        let Value::Object(rec) = record else {
            return Err(manuel_shared::py::attribute_error(record, "get"));
        };
        match one_record(rec, targets, clients).await {
            Ok(()) => counts.processed += 1,
            Err(e) => {
                counts.failed += 1;
                let id = rec
                    .get("messageId")
                    .map_or_else(|| "unknown".to_owned(), manuel_shared::py::str_of);
                tracing::error!(error = %e, record_id = %id, "Failed to process error record");
            }
        }
    }
    Ok(counts)
}

async fn one_record(
    rec: &serde_json::Map<String, Value>,
    targets: &Targets<'_>,
    clients: &Clients,
) -> Result<(), manuel_shared::py::PyException> {
    use manuel_shared::py::PyException;
    let body = match rec.get("body") {
        None => return Err(PyException::key_error("body")),
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(PyException::new(
                "TypeError",
                format!(
                    "the JSON object must be str, bytes or bytearray, not {}",
                    manuel_shared::py::type_name(other)
                ),
            ))
        }
    };
    let message = pyvalue::loads(body)?;
    tracing::info!(
        message_id = ?rec.get("messageId"),
        function_name = %lossy(message.get("function_name")?),
        service = %lossy(message.get("service")?),
        "Processing error message"
    );
    let item = error_item(&message, chrono::Utc::now())?;
    item.put(&clients.dynamodb, targets.table).await?;
    if matches!(item.severity, "high" | "critical") {
        if let Some(topic) = targets.topic {
            if let Err(e) = notify::send(&clients.sns, topic, &item).await {
                tracing::error!(error = %e, error_id = %item.error_id.to_string_lossy(), "Failed to send error notification");
            }
        }
    }
    tracing::info!(
        error_id = %item.error_id.to_string_lossy(),
        severity = item.severity,
        "Error processed successfully"
    );
    Ok(())
}

fn lossy(v: Option<&PyValue>) -> String {
    v.map_or_else(|| "None".into(), |v| v.py_str().to_string_lossy())
}
