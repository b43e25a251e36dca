//! `DELETE /api/manuals/{id}`: the access check, then the delete's five cleanup steps (object,
//! knowledge-base sync, file-tracking record, Redis entries, cached page images), each failure
//! recorded as the Python records it.

use crate::s3::{head_err, last_segment, s3_err};
use crate::{error, failure, json_response, Clients, ManualsEnv};
use manuel_shared::apigw::Response;
use manuel_shared::aws::to_py;
use manuel_shared::py::{self, PyException};
use serde_json::{json, Map, Value};

pub(crate) async fn delete_manual(
    c: &Clients,
    env: &ManualsEnv,
    bucket: &str,
    user: &Value,
    key: &str,
) -> Response {
    if !key.starts_with(&format!("manuals/{}/", py::str_of(user))) {
        return error(403, "Access denied");
    }
    if let Err(e) = c.s3.head_object().bucket(bucket).key(key).send().await {
        return failure("Failed to delete manual", &head_err(&e));
    }
    let details = cleanup(c, env, bucket, key, &py::str_of(user)).await;
    let completed = [
        "s3_deletion",
        "knowledge_base_sync",
        "file_tracking_cleanup",
        "cache_invalidation",
        "pdf_page_cleanup",
    ]
    .iter()
    .filter(|k| details.get(**k) == Some(&Value::Bool(true)))
    .count();
    json_response(
        200,
        &json!({
            "message": "Manual deletion completed",
            "success": details.get("s3_deletion").cloned().unwrap_or(Value::Bool(false)),
            "cleanup_summary": {
                "completed_steps": completed,
                "total_steps": 5,
                "details": Value::Object(details),
            },
        }),
    )
}

fn push_error(results: &mut Map<String, Value>, message: String) {
    if let Some(Value::Array(errors)) = results.get_mut("errors") {
        errors.push(Value::String(message));
    }
}

/// The five cleanup steps; each failure is recorded in `errors` and the next step runs, except
/// that a failed S3 deletion ends the cleanup ("Critical error").
pub(crate) async fn cleanup(
    c: &Clients,
    env: &ManualsEnv,
    bucket: &str,
    key: &str,
    user: &str,
) -> Map<String, Value> {
    let mut r = Map::new();
    for k in [
        "s3_deletion",
        "knowledge_base_sync",
        "file_tracking_cleanup",
        "cache_invalidation",
        "pdf_page_cleanup",
    ] {
        r.insert(k.into(), Value::Bool(false));
    }
    r.insert("errors".into(), json!([]));

    // 1. The object itself.
    if let Err(e) = c.s3.delete_object().bucket(bucket).key(key).send().await {
        push_error(
            &mut r,
            format!("Critical error: {}", s3_err(&e, "DeleteObject")),
        );
        return r;
    }
    r.insert("s3_deletion".into(), Value::Bool(true));

    // 2. Knowledge-base sync, so the vectors of the deleted document go too.
    match env.knowledge_base_id.as_deref().filter(|s| !s.is_empty()) {
        None => push_error(&mut r, "Knowledge Base ID not configured".into()),
        Some(kb) => match manuel_shared::bedrock::first_data_source(&c.agent, kb).await {
            Err(e) => push_error(&mut r, format!("Knowledge Base sync: {}", e.message)),
            Ok(first) => match first {
                None => push_error(&mut r, "No data sources found for Knowledge Base".into()),
                Some(first) => {
                    let started = c
                        .agent
                        .start_ingestion_job()
                        .knowledge_base_id(kb)
                        .data_source_id(first)
                        .description(format!("Cleanup sync after manual deletion: {key}"))
                        .send()
                        .await;
                    match started {
                        Ok(out) => {
                            r.insert("knowledge_base_sync".into(), Value::Bool(true));
                            let id = out
                                .ingestion_job()
                                .map(|j| j.ingestion_job_id().to_owned())
                                .unwrap_or_default();
                            r.insert("sync_job_id".into(), Value::String(id));
                        }
                        Err(e) => push_error(
                            &mut r,
                            format!(
                                "Knowledge Base sync: {}",
                                manuel_shared::aws::to_py(&e, "bedrock-agent", "StartIngestionJob")
                                    .message
                            ),
                        ),
                    }
                }
            },
        },
    }

    // 3. The file-tracking record.
    match env.usage_table.as_deref().filter(|s| !s.is_empty()) {
        None => push_error(&mut r, "Usage table not configured".into()),
        Some(table) => {
            use aws_sdk_dynamodb::types::AttributeValue;
            let res = c
                .dynamodb
                .delete_item()
                .table_name(table)
                .key("user_id", AttributeValue::S(format!("file_tracker#{key}")))
                .key("date", AttributeValue::S("metadata".into()))
                .send()
                .await;
            match res {
                Ok(_) => {
                    r.insert("file_tracking_cleanup".into(), Value::Bool(true));
                }
                Err(e) => push_error(
                    &mut r,
                    format!(
                        "DynamoDB cleanup: {}",
                        manuel_shared::aws::to_py(&e, "dynamodb", "DeleteItem").message
                    ),
                ),
            }
        }
    }

    let stem = last_segment(key).replace(".pdf", "");
    // 4. Redis entries of this user's queries and any naming the manual.
    if let Some(host) = env
        .redis_endpoint
        .as_deref()
        .filter(|h| env.enable_redis && !h.is_empty())
    {
        let port_text = env.redis_port.clone().unwrap_or_else(|| "6379".into());
        let outcome = match py::parse_int(&port_text) {
            Err(e) => Err(e),
            Ok(port) => {
                invalidate(
                    host,
                    port,
                    &[format!("query:{user}:*"), format!("*{stem}*")],
                )
                .await
            }
        };
        match outcome {
            Ok(n) => {
                r.insert("cache_invalidation".into(), Value::Bool(true));
                r.insert("cache_keys_deleted".into(), json!(n));
            }
            Err(e) => push_error(&mut r, format!("Redis cleanup: {}", e.message)),
        }
    }

    // 5. Rendered page images of this manual.
    let cache_bucket = env
        .cache_bucket
        .clone()
        .unwrap_or_else(|| bucket.to_owned());
    let prefix = format!("pdf-pages/{user}/{stem}/");
    let step5: Result<i64, PyException> = async {
        let listing =
            c.s3.list_objects_v2()
                .bucket(&cache_bucket)
                .prefix(&prefix)
                .send()
                .await
                .map_err(|e| to_py(&e, "s3", "ListObjectsV2"))?;
        let mut n = 0;
        for obj in listing.contents() {
            c.s3.delete_object()
                .bucket(&cache_bucket)
                .key(obj.key().unwrap_or_default())
                .send()
                .await
                .map_err(|e| to_py(&e, "s3", "DeleteObject"))?;
            n += 1;
        }
        Ok(n)
    }
    .await;
    match step5 {
        Ok(n) => {
            r.insert("pdf_page_cleanup".into(), Value::Bool(true));
            r.insert("cached_pages_deleted".into(), json!(n));
        }
        Err(e) => push_error(&mut r, format!("PDF page cleanup: {}", e.message)),
    }
    r
}

/// `KEYS pattern` then `DEL` of what it found, per pattern; the number deleted. The protocol is
/// the `redis` crate's; a failed connection is worded as redis-py words it (the text clients
/// see in `errors`), so the connection is first tried by hand. Errors of the protocol itself
/// carry the `redis` crate's text.
async fn invalidate(host: &str, port: i64, patterns: &[String]) -> Result<i64, PyException> {
    let redis_error = |e: redis::RedisError| PyException::new("RedisError", e.to_string());
    let port = port.clamp(0, 65535) as u16;
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await;
    match connect {
        Err(_) => {
            return Err(PyException::new(
                "TimeoutError",
                "Timeout connecting to server",
            ))
        }
        Ok(Err(e)) => {
            let code = e.raw_os_error().unwrap_or(0);
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            return Err(PyException::new(
                "ConnectionError",
                format!("Error {code} connecting to {host}:{port}. {text}."),
            ));
        }
        Ok(Ok(probe)) => drop(probe),
    }
    let client = redis::Client::open(redis::ConnectionAddr::Tcp(host.to_owned(), port))
        .map_err(redis_error)?;
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .map_err(redis_error)?;
    let mut deleted = 0;
    for p in patterns {
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg(p)
            .query_async(&mut con)
            .await
            .map_err(redis_error)?;
        if keys.is_empty() {
            continue;
        }
        let n: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut con)
            .await
            .map_err(redis_error)?;
        deleted += n;
    }
    Ok(deleted)
}
