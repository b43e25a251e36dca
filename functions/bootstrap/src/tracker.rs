//! The folder's `file_tracker.py` (the parts the bootstrap calls) and the job record of
//! `store_ingestion_job_info`. Every failure here is logged and swallowed, as in Python.

use crate::Clients;
use aws_sdk_dynamodb::types::AttributeValue;
use manuel_shared::aws::to_py;
use manuel_shared::ddb::{item_from_sdk, Attr, Item};

/// What the tracker knows of a file, and what the bootstrap found in S3.
pub(crate) struct Found<'a> {
    pub s3_key: &'a str,
    /// With S3's quotes.
    pub etag: &'a str,
    /// `HeadObject`'s `LastModified`, isoformat.
    pub last_modified: &'a str,
    pub size: i64,
}

/// `get_file_tracking_record`: the item, or `None` when there is none or the read fails (no
/// table configured, a missing table, an item boto3 cannot deserialise).
async fn record(c: &Clients, table: Option<&str>, s3_key: &str) -> Option<Item> {
    let table = table?; // `dynamodb.Table(None)` raises, which the function swallows.
    let got = c
        .dynamodb
        .get_item()
        .table_name(table)
        .key(
            "user_id",
            AttributeValue::S(format!("file_tracker#{s3_key}")),
        )
        .key("date", AttributeValue::S("metadata".into()))
        .send()
        .await;
    match got {
        Ok(out) => match out.item().map(item_from_sdk) {
            Some(Ok(item)) => Some(item),
            Some(Err(e)) => {
                tracing::warn!("Error getting file tracking record: {}", e.message);
                None
            }
            None => None,
        },
        Err(e) => {
            tracing::warn!(
                "Error getting file tracking record: {}",
                to_py(&e, "dynamodb", "GetItem").message
            );
            None
        }
    }
}

/// `should_ingest_file`: false only when the tracker holds a str ETag equal to S3's (quotes
/// stripped on both sides) and the status `"COMPLETE"`. Every other path — no record, a changed
/// ETag, another status, an ETag that is not a str (its `.strip` raises, "will ingest as
/// fallback") — ingests.
pub(crate) async fn should_ingest(c: &Clients, table: Option<&str>, f: &Found<'_>) -> bool {
    let Some(item) = record(c, table, f.s3_key).await else {
        tracing::info!("File {} not previously tracked - will ingest", f.s3_key);
        return true;
    };
    let current = f.etag.trim_matches('"');
    let stored = match item.get("s3_etag") {
        None => "",
        Some(Attr::Str(s)) => s.trim_matches('"'),
        Some(other) => {
            tracing::warn!(
                "Error checking file ingestion status: '{}' object has no attribute 'strip' - will ingest as fallback",
                other.tp_name()
            );
            return true;
        }
    };
    if stored != current {
        return true;
    }
    !matches!(item.get("ingestion_status"), Some(Attr::Str(s)) if s == "COMPLETE")
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// `store_ingestion_job_info`: `ingestion_job#<job>` with a 7-day TTL. Reads
/// `os.environ["USAGE_TABLE_NAME"]` (a KeyError when unset, swallowed).
pub(crate) async fn store_job(
    c: &Clients,
    table: Option<&str>,
    job_id: &str,
    s3_key: &str,
    bucket: &str,
) {
    let Some(table) = table else {
        tracing::warn!("Error storing ingestion job info: 'USAGE_TABLE_NAME'");
        return;
    };
    let now = manuel_shared::runtime::now_secs();
    let put = c
        .dynamodb
        .put_item()
        .table_name(table)
        .item("user_id", s(&format!("ingestion_job#{job_id}")))
        .item("date", s(&now.to_string()))
        .item("job_id", s(job_id))
        .item("s3_key", s(s3_key))
        .item("bucket_name", s(bucket))
        .item("status", s("STARTED"))
        .item("created_at", n(now))
        .item("ttl", n(now + 7 * 24 * 60 * 60))
        .send()
        .await;
    if let Err(e) = put {
        tracing::warn!(
            "Error storing ingestion job info: {}",
            to_py(&e, "dynamodb", "PutItem").message
        );
    }
}

/// `store_file_tracking_record`: `file_tracker#<key>` / `metadata`, status `STARTED`, a 30-day
/// TTL, the ETag without its quotes.
pub(crate) async fn store_file(c: &Clients, table: Option<&str>, f: &Found<'_>, job_id: &str) {
    let Some(table) = table else {
        return; // `dynamodb.Table(None)` raises, swallowed.
    };
    let now = manuel_shared::runtime::now_secs();
    let put = c
        .dynamodb
        .put_item()
        .table_name(table)
        .item("user_id", s(&format!("file_tracker#{}", f.s3_key)))
        .item("date", s("metadata"))
        .item("s3_key", s(f.s3_key))
        .item("s3_etag", s(f.etag.trim_matches('"')))
        .item("s3_last_modified", s(f.last_modified))
        .item("s3_size", n(f.size))
        .item("ingestion_job_id", s(job_id))
        .item("ingestion_status", s("STARTED"))
        .item("tracked_at", n(now))
        .item("ttl", n(now + 30 * 24 * 60 * 60))
        .send()
        .await;
    if let Err(e) = put {
        tracing::warn!(
            "Error storing file tracking record: {}",
            to_py(&e, "dynamodb", "PutItem").message
        );
    }
}
