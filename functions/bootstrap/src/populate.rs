//! `reprocess_existing_manuals` (the `populate` action) and `trigger_knowledge_base_ingestion`.

use crate::tracker::{self, Found};
use crate::{answer, failed, Caller, Clients, Env};
use manuel_shared::aws::{isoformat_utc, to_py};
use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{PyInt, PyValue};

fn s(v: &str) -> PyValue {
    PyValue::str(v)
}

fn int(v: i64) -> PyValue {
    PyValue::Int(PyInt::I64(v))
}

/// `s3_key.endswith("/") or not s3_key.lower().endswith(".pdf")`: no character outside ASCII
/// lowers to `.`, `p`, `d` or `f`, so an ASCII case-insensitive test is the same.
fn is_pdf_key(key: &str) -> bool {
    let b = key.as_bytes();
    !key.ends_with('/') && b.len() >= 4 && b[b.len() - 4..].eq_ignore_ascii_case(b".pdf")
}

/// One manual the listing found, as the answer lists it.
struct Manual {
    s3_key: String,
    size: i64,
    last_modified: String,
    etag: String,
}

/// `populate`: every user's PDFs are reprocessed; the answer's lists hold the caller's only
/// (the declared fix: Python lists everyone's keys, sizes and ETags to any signed-in caller).
pub(crate) async fn reprocess(
    c: &Clients,
    env: &Env,
    bucket: &str,
    caller: &Caller,
) -> serde_json::Value {
    let table = env.usage_table.as_deref();
    tracing::info!("Scanning for existing manuals in bucket: {bucket}");
    let listed = match c
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("manuals/")
        .send()
        .await
    {
        Ok(l) => l,
        Err(e) => {
            return failed(
                "Failed to reprocess existing manuals",
                &to_py(&e, "s3", "ListObjectsV2"),
            )
        }
    };
    let mut found: Vec<Manual> = Vec::new();
    let mut jobs: Vec<(String, String)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for obj in listed.contents() {
        let Some(key) = obj.key() else { continue };
        if !is_pdf_key(key) {
            continue;
        }
        let size = obj.size().unwrap_or(0);
        let last_modified = obj.last_modified().map(isoformat_utc).unwrap_or_default();
        let head = match c.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(
                    "Failed to get metadata for {key}: {}",
                    to_py(&e, "s3", "HeadObject").message
                );
                continue;
            }
        };
        // `head_response["ETag"]` and `["LastModified"]`: a KeyError skips the file.
        let (Some(etag), Some(head_modified)) = (head.e_tag(), head.last_modified()) else {
            tracing::warn!("Failed to get metadata for {key}: 'ETag'");
            continue;
        };
        let head_modified = isoformat_utc(head_modified);
        found.push(Manual {
            s3_key: key.to_owned(),
            size,
            last_modified,
            etag: etag.to_owned(),
        });
        let file = Found {
            s3_key: key,
            etag,
            last_modified: &head_modified,
            size,
        };
        if !tracker::should_ingest(c, table, &file).await {
            tracing::info!("File {key} already ingested successfully - skipping");
            skipped.push(key.to_owned());
            continue;
        }
        match start_ingestion(c, env, key).await {
            Ok(Some(job_id)) if !job_id.is_empty() => {
                tracker::store_job(c, table, &job_id, key, bucket).await;
                tracker::store_file(c, table, &file, &job_id).await;
                jobs.push((key.to_owned(), job_id));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("Failed to trigger ingestion for {key}: {}", e.message),
        }
    }
    if found.is_empty() {
        return answer(
            200,
            &PyValue::dict([
                ("message", s("No existing manuals found in S3")),
                ("found_manuals", int(0)),
                ("bucket", s(bucket)),
            ]),
        );
    }
    let own = caller.prefix();
    let mine = |k: &str| k.starts_with(&own);
    let manuals = found
        .iter()
        .filter(|m| mine(&m.s3_key))
        .map(|m| {
            PyValue::dict([
                ("s3_key", s(&m.s3_key)),
                ("size", int(m.size)),
                ("last_modified", s(&m.last_modified)),
                ("etag", s(&m.etag)),
            ])
        })
        .collect();
    let job_list = jobs
        .iter()
        .filter(|(k, _)| mine(k))
        .map(|(k, j)| PyValue::dict([("s3_key", s(k)), ("job_id", s(j))]))
        .collect();
    let skipped_list = skipped
        .iter()
        .filter(|k| mine(k))
        .map(|k| {
            PyValue::dict([
                ("s3_key", s(k)),
                ("reason", s("Already ingested successfully")),
            ])
        })
        .collect();
    answer(
        200,
        &PyValue::dict([
            (
                "message",
                s("Processed existing manuals with deduplication"),
            ),
            ("found_manuals", int(found.len() as i64)),
            ("ingestion_jobs", int(jobs.len() as i64)),
            ("skipped_files", int(skipped.len() as i64)),
            ("manuals", PyValue::List(manuals)),
            ("jobs", PyValue::List(job_list)),
            ("skipped", PyValue::List(skipped_list)),
            ("bucket", s(bucket)),
            (
                "note",
                s("Knowledge Base ingestion may take 5-10 minutes to complete"),
            ),
            (
                "deduplication",
                s("Files already ingested successfully were skipped"),
            ),
        ]),
    )
}

/// `trigger_knowledge_base_ingestion`: `None` without a knowledge base or a data source; the
/// first data source's new job id; the exception of a failed call.
async fn start_ingestion(
    c: &Clients,
    env: &Env,
    s3_key: &str,
) -> Result<Option<String>, PyException> {
    let Some(kb) = env.knowledge_base_id.as_deref().filter(|k| !k.is_empty()) else {
        tracing::warn!("KNOWLEDGE_BASE_ID environment variable not set");
        return Ok(None);
    };
    let Some(first) = manuel_shared::bedrock::first_data_source(&c.agent, kb).await? else {
        tracing::warn!("No data sources found for Knowledge Base");
        return Ok(None);
    };
    // The SDK fills the idempotency token with a fresh UUID, as the handler's uuid4() does.
    let started = c
        .agent
        .start_ingestion_job()
        .knowledge_base_id(kb)
        .data_source_id(first)
        .description(format!("Reprocess existing manual: {s3_key}"))
        .send()
        .await
        .map_err(|e| to_py(&e, "bedrock-agent", "StartIngestionJob"))?;
    let job = started
        .ingestion_job()
        .ok_or_else(|| PyException::key_error("ingestionJob"))?;
    tracing::info!(
        "Started Knowledge Base ingestion job: {} for {s3_key}",
        job.ingestion_job_id()
    );
    Ok(Some(job.ingestion_job_id().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::is_pdf_key;

    #[test]
    fn pdf_keys_are_told_apart_like_python() {
        for k in [
            "manuals/u/a.pdf",
            "manuals/u/A.PDF",
            "manuals/u/x.PdF",
            ".pdf",
        ] {
            assert!(is_pdf_key(k), "{k}");
        }
        for k in [
            "manuals/u/",
            "manuals/u/a.pdf/",
            "pdf",
            "manuals/u/a.pdfx",
            "a.pdf ",
            "a.ṗdf",
        ] {
            assert!(!is_pdf_key(k), "{k}");
        }
    }
}
