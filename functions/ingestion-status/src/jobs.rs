//! `get_job_status` and `get_recent_jobs`: the DynamoDB and bedrock-agent work, with the
//! `try`/`except` nesting of the Python (which failures are a 200 body with an `error`, which
//! escape to the handler's 500).

use crate::encode::{isoformat, Out};
use crate::{event_str, require_str, Clients, Env};
use aws_sdk_dynamodb::types::AttributeValue;
use manuel_shared::aws::to_py;
use manuel_shared::ddb::{item_from_sdk, py_lt, Attr, Item};
use manuel_shared::py::PyException;
use manuel_shared::pysort::sort_order;
use serde_json::Value;
use std::collections::HashMap;

type Dict = Vec<(String, Out)>;

fn entry(k: &str, v: Out) -> (String, Out) {
    (k.to_owned(), v)
}

/// A Scan of the first page only (what the Python does), deserialised as boto3 does: the raw
/// items (for keys written back) beside their values.
async fn scan_first_page(
    c: &Clients,
    table: &str,
    filter: &str,
    name: &str,
    value: String,
) -> Result<Vec<(HashMap<String, AttributeValue>, Item)>, PyException> {
    let out = c
        .dynamodb
        .scan()
        .table_name(table)
        .filter_expression(filter)
        .expression_attribute_values(name, AttributeValue::S(value))
        .send()
        .await
        .map_err(|e| to_py(&e, "dynamodb", "Scan"))?;
    out.items()
        .iter()
        .map(|raw| Ok((raw.clone(), item_from_sdk(raw)?)))
        .collect()
}

/// `get_job_status(job_id, user_id)`. `Err` escapes to the handler (the two `os.environ[...]`
/// reads before its `try`).
pub async fn job_status(c: &Clients, env: &Env, job_id: &Value) -> Result<Dict, PyException> {
    let kb = env
        .knowledge_base_id
        .as_deref()
        .ok_or_else(|| PyException::key_error("KNOWLEDGE_BASE_ID"))?;
    let table = env
        .usage_table
        .as_deref()
        .ok_or_else(|| PyException::key_error("USAGE_TABLE_NAME"))?;
    Ok(match stored_job(c, kb, table, job_id).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("Error getting job status: {}", e.message);
            vec![
                entry("error", Out::str("Failed to get job status")),
                entry("details", Out::Str(e.message.clone())),
                entry("traceback", Out::Str(e.traceback())),
            ]
        }
    })
}

/// The outer `try` of `get_job_status`.
async fn stored_job(
    c: &Clients,
    kb: &str,
    table: &str,
    job_id: &Value,
) -> Result<Dict, PyException> {
    let items = scan_first_page(
        c,
        table,
        "user_id = :user_id_val",
        ":user_id_val",
        format!("ingestion_job#{}", event_str(job_id)),
    )
    .await?;
    let Some((raw, job)) = items.into_iter().next() else {
        return Ok(vec![
            entry("error", Out::str("Job not found")),
            entry("job_id", Out::Json(job_id.clone())),
        ]);
    };
    Ok(match live_job(c, kb, table, job_id, &raw, &job).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("Error getting live status from Bedrock: {}", e.message);
            vec![
                entry("job_id", Out::Json(job_id.clone())),
                entry("status", Out::get_or(&job, "status", "UNKNOWN")),
                entry("s3_key", Out::get(&job, "s3_key")),
                entry("created_at", Out::get(&job, "created_at")),
                entry("error", Out::str("Could not get live status")),
                entry("details", Out::Str(e.message)),
            ]
        }
    })
}

/// The inner `try`: the live status, and the updates when it changed.
async fn live_job(
    c: &Clients,
    kb: &str,
    table: &str,
    job_id: &Value,
    raw: &HashMap<String, AttributeValue>,
    job: &Item,
) -> Result<Dict, PyException> {
    let Some(source) = manuel_shared::bedrock::first_data_source(&c.agent, kb).await? else {
        return Ok(vec![
            entry("job_id", Out::Json(job_id.clone())),
            entry("status", Out::str("ERROR")),
            entry("error", Out::str("No data sources found")),
        ]);
    };
    let id = require_str("ingestionJobId", job_id)?;
    let answer = c
        .agent
        .get_ingestion_job()
        .knowledge_base_id(kb)
        .data_source_id(source)
        .ingestion_job_id(id)
        .send()
        .await
        .map_err(|e| to_py(&e, "bedrock-agent", "GetIngestionJob"))?;
    let ingestion = answer
        .ingestion_job()
        .ok_or_else(|| PyException::key_error("ingestionJob"))?;
    let live = ingestion.status().as_str().to_owned();

    if job.get("status") != Some(&Attr::Str(live.clone())) {
        let key = |k: &str| raw.get(k).cloned().ok_or_else(|| PyException::key_error(k));
        c.dynamodb
            .update_item()
            .table_name(table)
            .key("user_id", key("user_id")?)
            .key("date", key("date")?)
            .update_expression("SET #status = :status, updated_at = :updated_at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", AttributeValue::S(live.clone()))
            .expression_attribute_values(":updated_at", now_n())
            .send()
            .await
            .map_err(|e| to_py(&e, "dynamodb", "UpdateItem"))?;
        if let Some(s3_key) = job.get("s3_key").filter(|a| a.truthy()) {
            update_tracker(c, table, s3_key, &live).await;
        }
    }

    let statistics = match ingestion.statistics() {
        None => Vec::new(),
        Some(s) => [
            ("numberOfDocumentsScanned", s.number_of_documents_scanned()),
            (
                "numberOfMetadataDocumentsScanned",
                s.number_of_metadata_documents_scanned(),
            ),
            (
                "numberOfNewDocumentsIndexed",
                s.number_of_new_documents_indexed(),
            ),
            (
                "numberOfModifiedDocumentsIndexed",
                s.number_of_modified_documents_indexed(),
            ),
            (
                "numberOfMetadataDocumentsModified",
                s.number_of_metadata_documents_modified(),
            ),
            ("numberOfDocumentsDeleted", s.number_of_documents_deleted()),
            ("numberOfDocumentsFailed", s.number_of_documents_failed()),
            ("numberOfDocumentsSkipped", s.number_of_documents_skipped()),
        ]
        .into_iter()
        .map(|(k, v)| entry(k, Out::Int(v)))
        .collect(),
    };
    let reasons = ingestion
        .failure_reasons()
        .iter()
        .map(|r| Out::Str(r.clone()))
        .collect();
    Ok(vec![
        entry("job_id", Out::Json(job_id.clone())),
        entry("status", Out::Str(live)),
        entry("s3_key", Out::get(job, "s3_key")),
        entry("created_at", Out::get(job, "created_at")),
        entry(
            "updated_at",
            Out::DateTime(isoformat(ingestion.updated_at())),
        ),
        entry("statistics", Out::Dict(statistics)),
        entry("failure_reasons", Out::List(reasons)),
    ])
}

fn now_n() -> AttributeValue {
    AttributeValue::N(manuel_shared::runtime::now_secs().to_string())
}

/// `file_tracker.update_file_ingestion_status`: an UpdateItem of `file_tracker#<key>` (which
/// creates the record if there is none); failures are only logged.
async fn update_tracker(c: &Clients, table: &str, s3_key: &Attr, status: &str) {
    let result = c
        .dynamodb
        .update_item()
        .table_name(table)
        .key(
            "user_id",
            AttributeValue::S(format!("file_tracker#{}", s3_key.py_str())),
        )
        .key("date", AttributeValue::S("metadata".into()))
        .update_expression("SET ingestion_status = :status, updated_at = :updated_at")
        .expression_attribute_values(":status", AttributeValue::S(status.to_owned()))
        .expression_attribute_values(":updated_at", now_n())
        .send()
        .await;
    match result {
        Ok(_) => tracing::info!(
            "Updated ingestion status for {} to {status}",
            s3_key.py_str()
        ),
        Err(e) => tracing::error!(
            "Error updating file ingestion status: {}",
            to_py(&e, "dynamodb", "UpdateItem").message
        ),
    }
}

/// `get_recent_jobs(user_id)`: every job of the first Scan page, newest first, ten of them.
pub async fn recent_jobs(c: &Clients, env: &Env) -> Result<Dict, PyException> {
    let table = env
        .usage_table
        .as_deref()
        .ok_or_else(|| PyException::key_error("USAGE_TABLE_NAME"))?;
    Ok(match listed_jobs(c, table).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("Error getting recent jobs: {}", e.message);
            vec![
                entry("error", Out::str("Failed to get recent jobs")),
                entry("details", Out::Str(e.message)),
            ]
        }
    })
}

async fn listed_jobs(c: &Clients, table: &str) -> Result<Dict, PyException> {
    let items = scan_first_page(
        c,
        table,
        "begins_with(user_id, :prefix)",
        ":prefix",
        "ingestion_job#".into(),
    )
    .await?;
    let mut jobs = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for (_, item) in &items {
        let job_id = match item.get("user_id") {
            Some(Attr::Str(s)) => s.replace("ingestion_job#", ""),
            Some(other) => {
                return Err(PyException::new(
                    "AttributeError",
                    format!("'{}' object has no attribute 'replace'", other.type_name()),
                ))
            }
            None => return Err(PyException::key_error("user_id")),
        };
        keys.push(item.get("created_at").cloned().unwrap_or(Attr::Null));
        jobs.push(Out::Dict(vec![
            entry("job_id", Out::Str(job_id)),
            entry("status", Out::get_or(item, "status", "UNKNOWN")),
            entry("s3_key", Out::get(item, "s3_key")),
            entry("created_at", Out::get(item, "created_at")),
            entry("updated_at", Out::get(item, "updated_at")),
        ]));
    }
    // jobs.sort(key=lambda x: x.get("created_at", 0), reverse=True): the key is always
    // present (None when the attribute is missing), and CPython's comparison order decides
    // which TypeError a mixed list raises.
    let order = sort_order(&keys, true, py_lt)?;
    let total = jobs.len();
    let newest: Vec<Out> = order.iter().take(10).map(|&i| jobs[i].clone()).collect();
    Ok(vec![
        entry("total_jobs", Out::Int(total as i64)),
        entry("jobs", Out::List(newest)),
        entry("note", Out::str("Showing most recent 10 ingestion jobs")),
    ])
}
