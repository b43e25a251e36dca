//! `POST /api/manuals/download`: fetch a URL (through [`crate::guard`]) into the caller's
//! folder of the bucket, with the metadata Python stores.

use crate::s3::s3_err;
use crate::{error, failure, guard, json_response, Clients};
use manuel_shared::apigw::{dict_get, PyGet, Response};
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyValue};
use serde_json::{json, Value};

pub(crate) fn body_data(event: &Value) -> Result<PyValue, PyException> {
    match dict_get(event, "body")? {
        PyGet::Missing => Ok(PyValue::Dict(Default::default())),
        PyGet::Present(Value::String(s)) => pyvalue::loads(s).map_err(PyException::from),
        PyGet::Present(other) => Ok(PyValue::from_json(other)),
    }
}

pub(crate) fn py_str_of(v: &PyValue) -> String {
    match v {
        PyValue::Str(s) => s.to_string_lossy(),
        other => other
            .to_json()
            .map(|j| py::str_of(&j))
            .unwrap_or_else(|| pyvalue::dumps(other)),
    }
}

/// botocore's ParamValidationError for a non-str metadata value.
pub(crate) fn metadata_type_error(field: &str, v: &Value) -> String {
    format!(
        "Invalid type for parameter Metadata.{field}, value: {}, type: <class '{}'>, valid types: <class 'str'>",
        py::repr_of(v),
        py::type_name(v)
    )
}

pub(crate) async fn download_manual(
    event: &Value,
    c: &Clients,
    bucket: &str,
    user: &Value,
) -> Response {
    const FAILED: &str = "Failed to download manual";
    let data = match body_data(event) {
        Ok(d) => d,
        Err(e) => return failure(FAILED, &e.message),
    };
    let url = match data.get("url") {
        Ok(v) => v.cloned().unwrap_or(PyValue::None),
        Err(e) => return failure(FAILED, &e.message),
    };
    if !url.is_truthy() {
        return error(400, "URL is required");
    }
    let filename = data
        .get("filename")
        .ok()
        .flatten()
        .cloned()
        .unwrap_or(PyValue::None);
    let display: PyValue = if filename.is_truthy() {
        filename
    } else {
        let Some(u) = url.as_py_str() else {
            return failure(
                FAILED,
                &format!("'{}' object has no attribute 'split'", url.type_name()),
            );
        };
        let u = u.to_string_lossy();
        let tail = u.rsplit('/').next().unwrap_or("");
        if !tail.is_empty() && tail.contains('.') {
            PyValue::Str(tail.split('?').next().unwrap_or("").into())
        } else {
            PyValue::Str(format!("Manual-{}.pdf", manuel_shared::runtime::now_secs()).into())
        }
    };
    let manual_id = uuid::Uuid::new_v4().to_string();
    let key = format!("manuals/{}/{manual_id}.pdf", py::str_of(user));
    let full_url = guard::unwrap_url(&py_str_of(&url));
    if guard::url_scheme(&full_url).is_none() {
        return failure(
            FAILED,
            &format!("unknown url type: {}", py::repr_str(&full_url)),
        );
    }
    tracing::info!("Downloading from URL: {full_url}");
    let file = match guard::fetch(&full_url, &c.fetch).await {
        Ok(b) => b,
        Err(guard::FetchError::Python(m)) => return failure(FAILED, &m),
        Err(guard::FetchError::Refused(m)) => {
            tracing::warn!("download refused: {m}");
            return json_response(400, &json!({"error": FAILED, "details": m}));
        }
    };
    let url_text = py_str_of(&url);
    let display_json = display.to_json().unwrap_or(Value::Null);
    let mut invalid = Vec::new();
    if !user.is_string() {
        invalid.push(metadata_type_error("user_id", user));
    }
    if url.as_py_str().is_none() {
        invalid.push(metadata_type_error(
            "original_url",
            &url.to_json().unwrap_or(Value::Null),
        ));
    }
    if !display_json.is_string() {
        invalid.push(metadata_type_error("display_name", &display_json));
    }
    if !invalid.is_empty() {
        return failure(
            FAILED,
            &format!("Parameter validation failed:\n{}", invalid.join("\n")),
        );
    }
    let display_text = py_str_of(&display);
    let put =
        c.s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(file.into())
            .content_type("application/pdf")
            .metadata("user_id", py::str_of(user))
            .metadata("original_url", &url_text)
            .metadata("display_name", &display_text)
            .metadata(
                "upload_timestamp",
                manuel_shared::runtime::now_secs().to_string(),
            )
            .send()
            .await;
    if let Err(e) = put {
        return failure(FAILED, &s3_err(&e, "PutObject"));
    }
    json_response(
        200,
        &json!({
            "message": "Manual uploaded successfully",
            "manual_id": manual_id,
            "s3_key": key,
            "user_id": user,
            "url": url_text,
            "file_name": display_text,
        }),
    )
}
