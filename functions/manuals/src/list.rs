//! `GET /api/manuals`: the caller's PDFs with display name, date, size and page count.

use crate::s3::{as_http_client_reads, isoformat, last_segment, s3_err};
use crate::{failure, json_response, pdf, Clients};
use manuel_shared::apigw::Response;
use manuel_shared::py;
use serde_json::{json, Value};

pub(crate) async fn page_count(c: &Clients, bucket: &str, key: &str) -> i64 {
    match c.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => match out.body.collect().await {
            Ok(b) => pdf::page_count(&b.into_bytes()),
            Err(_) => 0,
        },
        Err(e) => {
            tracing::info!(
                "Error getting page count for {key}: {}",
                s3_err(&e, "GetObject")
            );
            0
        }
    }
}

pub(crate) async fn list_manuals(c: &Clients, bucket: &str, user: &Value) -> Response {
    let prefix = format!("manuals/{}/", py::str_of(user));
    let listing = match c
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .send()
        .await
    {
        Ok(l) => l,
        Err(e) => return failure("Failed to list manuals", &s3_err(&e, "ListObjectsV2")),
    };
    let mut manuals = Vec::new();
    for obj in listing.contents() {
        let key = obj.key().unwrap_or_default();
        if !key.ends_with(".pdf") {
            continue;
        }
        let display = match c.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(h) => h
                .metadata()
                .and_then(|m| m.get("display_name"))
                .filter(|s| !s.is_empty())
                .map(|s| as_http_client_reads(s))
                .unwrap_or_else(|| last_segment(key).to_owned()),
            Err(_) => last_segment(key).to_owned(),
        };
        let pages = page_count(c, bucket, key).await;
        manuals.push(json!({
            "id": key,
            "name": display,
            "upload_date": obj.last_modified().map(isoformat).unwrap_or_default(),
            "size": obj.size().unwrap_or(0),
            "pages": pages,
        }));
    }
    let count = manuals.len();
    json_response(
        200,
        &json!({"manuals": manuals, "user_id": user, "count": count}),
    )
}
