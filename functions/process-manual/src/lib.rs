//! Rust port of Manuel's process-manual: S3 calls it for every object created in the manuals
//! bucket (a notification with the `manuals/` prefix filter, set up by a custom resource of
//! backend/template.yaml). For each `aws:s3` record it decodes the key as S3 sends it
//! (`unquote_plus`), skips keys outside `manuals/`, checks the object ([`scan`]) and either
//! quarantines it (copy to `quarantine/manuals/…` with metadata, delete the original, a
//! `quarantine_event#…` item in the usage table) or starts a knowledge-base ingestion job and
//! records it (`ingestion_job#…`). The answer is `{"statusCode": 200 | 500, "body": …}` without
//! headers; what matters is the state it leaves.
//!
//! The Python's exception flow is kept: a problem with the object (missing, too large, a limit
//! `int()` refuses) sends it to quarantine; a failed quarantine step is logged and the record
//! ends; a missing `KNOWLEDGE_BASE_ID` or a failed `StartIngestionJob` escapes and the whole
//! invocation answers 500, after the records before it took effect.

pub mod scan;

use manuel_shared::py::{self, PyException};
use serde_json::{json, Value};

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub agent: aws_sdk_bedrockagent::Client,
}

pub async fn init() -> Clients {
    let conf = manuel_shared::aws::load_config().await;
    Clients {
        s3: manuel_shared::aws::s3_client(&conf),
        dynamodb: aws_sdk_dynamodb::Client::new(&conf),
        agent: aws_sdk_bedrockagent::Client::new(&conf),
    }
}

/// One invocation, as `lambda_handler` answers it.
pub async fn answer(event: &Value, c: &Clients) -> Value {
    match process(event, c).await {
        Ok(()) => json!({
            "statusCode": 200,
            "body": manuel_shared::pyjson::dumps(&json!({"message": "Manual processing completed"})),
        }),
        Err(e) => {
            tracing::error!("Error processing manual: {}", e.message);
            json!({
                "statusCode": 500,
                "body": manuel_shared::pyjson::dumps(&json!({"error": "Manual processing failed"})),
            })
        }
    }
}

/// Every record in order; `Err` is what escapes the loop.
pub async fn process(event: &Value, c: &Clients) -> Result<(), PyException> {
    for record in py::records(event)? {
        if !record.is_object() {
            return Err(py::attribute_error(record, "get"));
        }
        if record.get("eventSource").and_then(Value::as_str) == Some("aws:s3") {
            process_record(record, c).await?;
        }
    }
    Ok(())
}

/// Where an S3 record points: `s3.bucket.name` (any JSON value) and the decoded key.
pub fn location(record: &Value) -> Result<(Value, String), PyException> {
    use manuel_shared::apigw::get_or;
    let empty = json!({});
    let s3 = get_or(record, "s3", &empty)?;
    let bucket = get_or(get_or(s3, "bucket", &empty)?, "name", &Value::Null)?.clone();
    let no_key = json!("");
    let raw = get_or(get_or(s3, "object", &empty)?, "key", &no_key)?;
    let key = match raw {
        Value::String(s) => manuel_shared::url::unquote_plus(s).into_owned(),
        other => return Err(py::attribute_error(other, "replace")),
    };
    Ok((bucket, key))
}

async fn process_record(record: &Value, c: &Clients) -> Result<(), PyException> {
    let (bucket, key) = location(record)?;
    if !py::truthy(&bucket) || key.is_empty() {
        tracing::warn!("Missing S3 bucket or key information");
        return Ok(());
    }
    if !key.starts_with("manuals/") {
        tracing::info!("Skipping non-manual file: {key}");
        return Ok(());
    }
    // A bucket name that is not a string fails botocore's parameter check in both the check
    // and the quarantine: nothing happens to any object.
    let Some(bucket) = bucket.as_str() else {
        tracing::error!("Security validation failed for manual: {key} (bucket is not a string)");
        return Ok(());
    };
    tracing::info!("Processing manual: {key} from bucket: {bucket}");
    if !passes_security_check(c, bucket, &key).await {
        tracing::error!("Security validation failed for manual: {key}");
        quarantine(c, bucket, &key).await;
        return Ok(());
    }
    ingest(c, bucket, &key).await
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `validate_uploaded_manual_security`: every failure on the way is a "no".
async fn passes_security_check(c: &Clients, bucket: &str, key: &str) -> bool {
    let head = match c.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(
                "Failed to get file metadata for {key}: {}",
                manuel_shared::aws::to_py(&e, "s3", "HeadObject").message
            );
            return false;
        }
    };
    let size = i128::from(head.content_length().unwrap_or(0));
    let limit_text = env("MAX_MANUAL_SIZE_MB").unwrap_or_else(|| "50".into());
    let max_bytes = match py::parse_int(&limit_text) {
        Ok(mb) => i128::from(mb) * 1024 * 1024,
        Err(e) => {
            tracing::error!("Security validation error for {key}: {}", e.message);
            return false;
        }
    };
    if size > max_bytes {
        tracing::warn!(
            s3_key = key,
            "Manual file too large: {size} bytes > {max_bytes} bytes"
        );
        return false;
    }
    let body = match c.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => match o.body.collect().await {
            Ok(b) => b.into_bytes(),
            Err(e) => {
                tracing::error!("Security validation error for {key}: {e}");
                return false;
            }
        },
        Err(e) => {
            tracing::error!(
                "Security validation error for {key}: {}",
                manuel_shared::aws::to_py(&e, "s3", "GetObject").message
            );
            return false;
        }
    };
    let verdict = scan::scan(
        &body,
        max_bytes,
        &env("MALICIOUS_HASHES").unwrap_or_default(),
        &env("MAX_AUDIO_DURATION_SECONDS").unwrap_or_else(|| "300".into()),
    );
    let threats: Vec<&str> = verdict.threats.iter().map(|t| t.value()).collect();
    if !verdict.valid {
        tracing::warn!(s3_key = key, threats = ?threats, "Manual security validation failed");
        return false;
    }
    if !threats.is_empty() {
        tracing::warn!(s3_key = key, threats = ?threats, "Manual has security concerns but is allowed");
    }
    tracing::info!(
        s3_key = key,
        file_size = body.len(),
        content_hash = %verdict.sha256,
        "Manual security validation passed"
    );
    true
}

/// The `CopySource` header botocore builds from `{"Bucket", "Key"}`: the key quoted with `/`
/// and `~` kept.
fn copy_source(bucket: &str, key: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'~')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.');
    format!("{bucket}/{}", utf8_percent_encode(key, KEEP))
}

/// Where a quarantined manual goes.
pub fn quarantine_key(key: &str) -> String {
    format!("quarantine/manuals/{}", key.replace('/', "_"))
}

/// `quarantine_unsafe_manual`: copy (metadata replaced, SSE-S3), delete the original, record
/// the event. A failed step is logged and ends it.
async fn quarantine(c: &Clients, bucket: &str, key: &str) {
    use aws_sdk_s3::types::{MetadataDirective, ServerSideEncryption};
    let target_bucket = env("QUARANTINE_BUCKET").unwrap_or_else(|| bucket.to_owned());
    let target_key = quarantine_key(key);
    // botocore refuses non-ASCII user metadata before sending (S3 metadata travels in
    // headers); the original key is part of it.
    if !bucket.is_ascii() || !key.is_ascii() {
        tracing::error!(
            "Failed to quarantine manual {key}: Parameter validation failed: Non ascii characters found in S3 metadata"
        );
        return;
    }
    let copied =
        c.s3.copy_object()
            .copy_source(copy_source(bucket, key))
            .bucket(&target_bucket)
            .key(&target_key)
            .metadata_directive(MetadataDirective::Replace)
            .metadata("quarantine_reason", "Security validation failed")
            .metadata("original_bucket", bucket)
            .metadata("original_key", key)
            .metadata(
                "quarantine_timestamp",
                manuel_shared::runtime::now_secs().to_string(),
            )
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await;
    if let Err(e) = copied {
        tracing::error!(
            "Failed to quarantine manual {key}: {}",
            manuel_shared::aws::to_py(&e, "s3", "CopyObject").message
        );
        return;
    }
    if let Err(e) = c.s3.delete_object().bucket(bucket).key(key).send().await {
        tracing::error!(
            "Failed to quarantine manual {key}: {}",
            manuel_shared::aws::to_py(&e, "s3", "DeleteObject").message
        );
        return;
    }
    tracing::warn!(
        original_location = %format!("{bucket}/{key}"),
        quarantine_location = %format!("{target_bucket}/{target_key}"),
        "Manual quarantined due to security threats"
    );
    let now = chrono::Utc::now();
    let iso = manuel_shared::usage::isoformat(now);
    put(
        c,
        "quarantine event",
        vec![
            ("user_id", s(&format!("quarantine_event#{target_key}"))),
            ("date", s(&iso)),
            ("event_type", s("file_quarantined")),
            ("original_key", s(key)),
            ("quarantine_key", s(&target_key)),
            ("reason", s("Security validation failed")),
            ("timestamp", s(&iso)),
            ("ttl", n(manuel_shared::usage::ttl(now, 90))),
        ],
    )
    .await;
}

fn s(text: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(text.to_owned())
}

fn n(v: i64) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(v.to_string())
}

/// A `put_item` into `USAGE_TABLE_NAME` whose failure (or a missing table name) is only logged.
async fn put(c: &Clients, what: &str, item: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>) {
    let Some(table) = env("USAGE_TABLE_NAME") else {
        tracing::error!("Failed to record {what}: 'USAGE_TABLE_NAME'");
        return;
    };
    let mut req = c.dynamodb.put_item().table_name(table);
    for (k, v) in item {
        req = req.item(k, v);
    }
    if let Err(e) = req.send().await {
        tracing::error!(
            "Failed to record {what}: {}",
            manuel_shared::aws::to_py(&e, "dynamodb", "PutItem").message
        );
    }
}

/// `start_knowledge_base_ingestion`: the first data source of the knowledge base, one job
/// for the manual, its record. `Err` escapes (the invocation answers 500).
async fn ingest(c: &Clients, bucket: &str, key: &str) -> Result<(), PyException> {
    let kb = env("KNOWLEDGE_BASE_ID").ok_or_else(|| PyException::key_error("KNOWLEDGE_BASE_ID"))?;
    let data_source = match manuel_shared::bedrock::first_data_source(&c.agent, &kb).await {
        Ok(first) => first,
        Err(e) => {
            tracing::error!("Error getting data source ID: {}", e.message);
            None
        }
    };
    let Some(data_source) = data_source else {
        tracing::error!("Could not find data source ID");
        return Ok(());
    };
    let started = c
        .agent
        .start_ingestion_job()
        .knowledge_base_id(&kb)
        .data_source_id(&data_source)
        .description(format!("Ingestion job for manual: {key}"))
        .send()
        .await
        .map_err(|e| manuel_shared::aws::to_py(&e, "bedrock-agent", "StartIngestionJob"))?;
    let job_id = started
        .ingestion_job()
        .map(|j| j.ingestion_job_id().to_owned())
        .ok_or_else(|| PyException::key_error("ingestionJob"))?;
    tracing::info!("Started ingestion job: {job_id} for manual: {key}");
    let now = chrono::Utc::now();
    let iso = manuel_shared::usage::isoformat(now);
    put(
        c,
        "ingestion job info",
        vec![
            ("user_id", s(&format!("ingestion_job#{job_id}"))),
            ("date", s(&iso)),
            ("job_id", s(&job_id)),
            ("s3_key", s(key)),
            ("bucket_name", s(bucket)),
            ("status", s("STARTED")),
            ("created_at", s(&iso)),
            ("ttl", n(manuel_shared::usage::ttl(now, 7))),
        ],
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_as_unquote_plus_decodes_them() {
        let rec = json!({"s3": {"bucket": {"name": "b"}, "object": {"key": "manuals/u1/My+Manual+%28v2%29%E2%82%AC.pdf"}}});
        assert_eq!(location(&rec).unwrap().1, "manuals/u1/My Manual (v2)€.pdf");
        let bad = json!({"s3": {"bucket": {"name": "b"}, "object": {"key": 5}}});
        assert_eq!(location(&bad).unwrap_err().kind, "AttributeError");
        let no_bucket = json!({"s3": {"bucket": "b"}});
        assert_eq!(location(&no_bucket).unwrap_err().kind, "AttributeError");
    }

    #[test]
    fn copy_sources_and_quarantine_keys() {
        assert_eq!(
            copy_source("b", "manuals/u 1/é~x.pdf"),
            "b/manuals/u%201/%C3%A9~x.pdf"
        );
        assert_eq!(
            quarantine_key("manuals/u1/x.pdf"),
            "quarantine/manuals/manuals_u1_x.pdf"
        );
    }
}
