//! `GET /api/manuals/{id}`: one manual's detail and a presigned URL of the PDF.

use crate::list::page_count;
use crate::s3::{as_http_client_reads, head_err, isoformat, last_segment};
use crate::{error, failure, json_response, Clients};
use manuel_shared::apigw::Response;
use manuel_shared::py;
use serde_json::{json, Value};

/// `f"{size / (1024 * 1024):.1f}MB"` (both round the exact binary value half to even).
pub fn size_mb(size: i64) -> String {
    format!("{:.1}MB", size as f64 / (1024.0 * 1024.0))
}

pub(crate) async fn manual_detail(c: &Clients, bucket: &str, user: &Value, key: &str) -> Response {
    if !key.starts_with(&format!("manuals/{}/", py::str_of(user))) {
        return error(403, "Access denied");
    }
    let head = match c.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(h) => h,
        Err(e) => return failure("Failed to get manual detail", &head_err(&e)),
    };
    let display = head
        .metadata()
        .and_then(|m| m.get("display_name"))
        .map(|s| as_http_client_reads(s))
        .unwrap_or_else(|| last_segment(key).to_owned());
    let upload_date = head.last_modified().map(isoformat).unwrap_or_default();
    let size = head.content_length().unwrap_or(0);
    let presign =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(3600));
    let pdf_url = match presign {
        Ok(p) => match c.s3.get_object().bucket(bucket).key(key).presigned(p).await {
            Ok(r) => Value::String(r.uri().to_owned()),
            Err(_) => Value::Null,
        },
        Err(_) => Value::Null,
    };
    let pages = page_count(c, bucket, key).await;
    json_response(
        200,
        &json!({
            "id": key,
            "name": display,
            "uploadDate": upload_date,
            "pages": pages,
            "size": size_mb(size),
            "status": "processed",
            "chunks": 25,
            "lastQueried": upload_date,
            "queryCount": 5,
            "pdfUrl": pdf_url,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_format_like_python() {
        assert_eq!(size_mb(0), "0.0MB");
        assert_eq!(size_mb(262144), "0.2MB");
        assert_eq!(size_mb(1572864), "1.5MB");
        assert_eq!(size_mb(420), "0.0MB");
    }
}
