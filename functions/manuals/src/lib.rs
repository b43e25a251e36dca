//! The manuals API: `GET /api/manuals` (the caller's PDFs), `GET /api/manuals/{id}` (detail and
//! a presigned URL), `POST /api/manuals/download` (fetch a URL into the bucket) and
//! `DELETE /api/manuals/{id}` (the five-step cleanup) — answering as the deployed Python
//! function does (its folder plus the PDF-processing layer: PyMuPDF gives page counts), with
//! two declared fixes (see README, "kept / fixed"):
//!
//! - the caller is the authorizer's `sub` claim; an unverified `Bearer` token is not read
//!   (Python decodes its payload without checking the signature, so anyone can claim any id);
//! - downloads go through [`guard`]: http(s) to public addresses only, redirects checked, size cap.

mod cleanup;
pub mod guard;
pub mod pdf;

use manuel_shared::apigw::{dict_get, PyGet, Response, CORS_ALLOW_HEADERS};
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyValue};
use serde_json::{json, Value};

/// The environment the handler reads (per request in Python; constant for a process).
#[derive(Debug, Clone, Default)]
pub struct ManualsEnv {
    pub manuals_bucket: Option<String>,
    pub knowledge_base_id: Option<String>,
    pub usage_table: Option<String>,
    pub cache_bucket: Option<String>,
    pub redis_endpoint: Option<String>,
    pub enable_redis: bool,
    pub redis_port: Option<String>,
}

impl ManualsEnv {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            manuals_bucket: var("MANUALS_BUCKET"),
            knowledge_base_id: var("KNOWLEDGE_BASE_ID"),
            usage_table: var("USAGE_TABLE"),
            cache_bucket: var("CACHE_BUCKET"),
            redis_endpoint: var("REDIS_ENDPOINT"),
            enable_redis: var("ENABLE_REDIS_CACHE")
                .unwrap_or_else(|| "false".into())
                .to_lowercase()
                == "true",
            redis_port: var("REDIS_PORT"),
        }
    }
}

/// Clients made once per process (boto3 makes them per request; the calls are the same).
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub agent: aws_sdk_bedrockagent::Client,
    pub fetch: guard::FetchConfig,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            s3: manuel_shared::aws::s3_client(conf),
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            agent: aws_sdk_bedrockagent::Client::new(conf),
            fetch: guard::FetchConfig::from_env(),
        }
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::new(status)
        .header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
        .json_body(body)
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn failure(message: &str, details: &str) -> Response {
    json_response(500, &json!({ "error": message, "details": details }))
}

fn attr_error(v: &Value, attr: &str) -> PyException {
    PyException::new(
        "AttributeError",
        format!("'{}' object has no attribute '{attr}'", py::type_name(v)),
    )
}

/// `needle in v` for a JSON value: `Ok(bool)`, or the TypeError of a non-container.
fn py_contains(v: &Value, needle: &str) -> Result<bool, PyException> {
    match v {
        Value::String(s) => Ok(s.contains(needle)),
        Value::Array(a) => Ok(a.iter().any(|x| x.as_str() == Some(needle))),
        Value::Object(o) => Ok(o.contains_key(needle)),
        other => Err(PyException::new(
            "TypeError",
            format!(
                "argument of type '{}' is not iterable",
                py::type_name(other)
            ),
        )),
    }
}

fn ends_with(v: &Value, suffix: &str) -> Result<bool, PyException> {
    v.as_str()
        .map(|s| s.ends_with(suffix))
        .ok_or_else(|| attr_error(v, "endswith"))
}

/// The caller: the authorizer's `sub` claim when the claims are a dict holding one; anything
/// else (no claims, a malformed request context, only a `Bearer` header) is `default-user`,
/// as Python answers requests without credentials. Python would also take `sub` from an
/// unverified `Bearer` payload: refused here on purpose (declared divergence).
pub fn user_id(event: &Value) -> Value {
    let default = || Value::String("default-user".into());
    let get = |obj: &Value, key: &str| -> Option<Value> {
        match dict_get(obj, key).ok()? {
            PyGet::Present(v) => Some(v.clone()),
            PyGet::Missing => Some(json!({})),
        }
    };
    let Some(claims) = get(event, "requestContext")
        .and_then(|rc| get(&rc, "authorizer"))
        .and_then(|a| get(&a, "claims"))
    else {
        return default();
    };
    if py::truthy(&claims) {
        match py_contains(&claims, "sub") {
            Ok(true) => {
                return match &claims {
                    Value::Object(o) => o.get("sub").cloned().unwrap_or_else(default),
                    _ => default(), // claims["sub"] on a list or str: TypeError, caught
                };
            }
            Ok(false) => {}
            Err(_) => return default(),
        }
    }
    if has_bearer(event) {
        tracing::info!("Bearer token without authorizer claims: not trusted, using default-user");
    }
    default()
}

fn has_bearer(event: &Value) -> bool {
    let Some(Value::Object(h)) = event.get("headers") else {
        return false;
    };
    let auth = h
        .get("Authorization")
        .filter(|v| py::truthy(v))
        .or_else(|| h.get("authorization"));
    auth.and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("Bearer "))
}

/// `urllib.parse.unquote(x)` for a non-str path parameter: the TypeError/AttributeError Python
/// raises.
fn unquote_value(v: &Value) -> Result<String, PyException> {
    match v {
        Value::String(s) => Ok(manuel_shared::url::unquote(s).into_owned()),
        Value::Array(_) | Value::Object(_) => {
            if py_contains(v, "%")? {
                Err(PyException::new("TypeError", "unquote of a container"))
            } else {
                Err(attr_error(v, "split"))
            }
        }
        other => Err(PyException::new(
            "TypeError",
            format!(
                "argument of type '{}' is not iterable",
                py::type_name(other)
            ),
        )),
    }
}

/// The outer handler's answer to an exception it caught.
pub fn unhandled(e: &PyException, request_id: &str) -> Response {
    let (status, message) =
        if e.message.contains("Authentication") || e.message.contains("Unauthorized") {
            (401, "Authentication required. Please sign in.")
        } else if e.kind.contains("NoSuchKey") {
            (404, "Manual not found.")
        } else if e.kind.contains("AccessDenied") {
            (
                403,
                "Access denied. You don't have permission to access this manual.",
            )
        } else if e.kind.contains("ValidationException") {
            (400, "Invalid request. Please check your input.")
        } else {
            (500, "An error occurred while processing your request.")
        };
    tracing::error!("Error in manuals function [{}]: {}", e.kind, e.message);
    json_response(
        status,
        &json!({
            "error": message,
            "error_type": e.kind,
            "timestamp": manuel_shared::runtime::now_secs(),
            "request_id": request_id,
        }),
    )
}

/// Handle one API Gateway event; always a proxy response.
pub async fn handle(event: &Value, request_id: &str, env: &ManualsEnv, c: &Clients) -> Value {
    match route(event, env, c).await {
        Ok(r) => r.to_value(),
        Err(e) => unhandled(&e, request_id).to_value(),
    }
}

async fn route(event: &Value, env: &ManualsEnv, c: &Clients) -> Result<Response, PyException> {
    let bucket = env
        .manuals_bucket
        .clone()
        .ok_or_else(|| PyException::key_error("MANUALS_BUCKET"))?;
    let get_or = |key: &str, default: Value| -> Result<Value, PyException> {
        match dict_get(event, key).map_err(|m| PyException::new("AttributeError", m))? {
            PyGet::Present(v) => Ok(v.clone()),
            PyGet::Missing => Ok(default),
        }
    };
    let method = get_or("httpMethod", json!("GET"))?;
    let path = get_or("path", json!(""))?;
    let method = method.as_str().unwrap_or("\u{0}not-a-str");
    if method == "OPTIONS" {
        return Ok(Response::new(200)
            .header("Access-Control-Allow-Origin", "*")
            .header("Access-Control-Allow-Methods", "GET,POST,DELETE,OPTIONS")
            .header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
            .text_body(""));
    }
    let user = user_id(event);
    tracing::info!("Final user_id: {}", py::str_of(&user));

    if method == "GET" && ends_with(&path, "/api/manuals")? {
        return Ok(list_manuals(c, &bucket, &user).await);
    }
    if method == "POST" && ends_with(&path, "/api/manuals/download")? {
        return Ok(download_manual(event, c, &bucket, &user).await);
    }
    let by_id = |m: &str| -> Result<bool, PyException> {
        Ok(method == m
            && py_contains(&path, "/api/manuals/")?
            && !ends_with(&path, "/api/manuals")?)
    };
    let get_detail = by_id("GET")?;
    let delete = !get_detail && by_id("DELETE")?;
    if get_detail || delete {
        let params = get_or("pathParameters", json!({}))?;
        let manual_id = if py::truthy(&params) {
            match dict_get(&params, "id").map_err(|m| PyException::new("AttributeError", m))? {
                PyGet::Present(v) => v.clone(),
                PyGet::Missing => Value::Null,
            }
        } else {
            Value::Null
        };
        if !py::truthy(&manual_id) {
            return Ok(error(400, "Manual ID is required"));
        }
        let key = unquote_value(&manual_id)?;
        return Ok(if get_detail {
            manual_detail(c, &bucket, &user, &key).await
        } else {
            delete_manual(c, env, &bucket, &user, &key).await
        });
    }
    Ok(error(404, "Endpoint not found"))
}

/// `datetime.isoformat()` of an aware UTC time (microseconds only when there are some).
fn isoformat(t: &aws_smithy_types::DateTime) -> String {
    let micros = t.subsec_nanos() / 1000;
    let dt = chrono::DateTime::from_timestamp(t.secs(), micros * 1000).unwrap_or_default();
    if micros == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

pub(crate) fn s3_err<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>, op: &str) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    manuel_shared::aws::to_py(e, "s3", op).message
}

/// botocore's error for a HEAD (no body): the status code as the code, the reason phrase as
/// the message — so a missing object is `404`, never `NoSuchKey`.
fn head_err(
    e: &aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::head_object::HeadObjectError,
        aws_smithy_runtime_api::http::Response,
    >,
) -> String {
    if let aws_sdk_s3::error::SdkError::ServiceError(se) = e {
        let status = se.raw().status().as_u16();
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown");
        return format!(
            "An error occurred ({status}) when calling the HeadObject operation: {reason}"
        );
    }
    manuel_shared::aws::to_py(e, "s3", "HeadObject").message
}

async fn page_count(c: &Clients, bucket: &str, key: &str) -> i64 {
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

/// A metadata header as botocore sees it: `http.client` decodes header bytes as Latin-1, so
/// UTF-8 metadata comes out as mojibake (`Küche` → `KÃ¼che`); ASCII (and S3's RFC 2047
/// encoded words) is unchanged.
pub fn as_http_client_reads(value: &str) -> String {
    value.bytes().map(char::from).collect()
}

pub(crate) fn last_segment(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

async fn list_manuals(c: &Clients, bucket: &str, user: &Value) -> Response {
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

/// `f"{size / (1024 * 1024):.1f}MB"` (both round the exact binary value half to even).
pub fn size_mb(size: i64) -> String {
    format!("{:.1}MB", size as f64 / (1024.0 * 1024.0))
}

async fn manual_detail(c: &Clients, bucket: &str, user: &Value, key: &str) -> Response {
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

fn body_data(event: &Value) -> Result<PyValue, String> {
    match dict_get(event, "body") {
        Ok(PyGet::Missing) => Ok(PyValue::Dict(Default::default())),
        Ok(PyGet::Present(Value::String(s))) => pyvalue::loads(s).map_err(|e| e.to_string()),
        Ok(PyGet::Present(other)) => Ok(PyValue::from_json(other)),
        Err(m) => Err(m),
    }
}

fn py_str_of(v: &PyValue) -> String {
    match v {
        PyValue::Str(s) => s.to_string_lossy(),
        other => other
            .to_json()
            .map(|j| py::str_of(&j))
            .unwrap_or_else(|| pyvalue::dumps(other)),
    }
}

/// botocore's ParamValidationError for a non-str metadata value.
fn metadata_type_error(field: &str, v: &Value) -> String {
    format!(
        "Invalid type for parameter Metadata.{field}, value: {}, type: <class '{}'>, valid types: <class 'str'>",
        py::repr_of(v),
        py::type_name(v)
    )
}

async fn download_manual(event: &Value, c: &Clients, bucket: &str, user: &Value) -> Response {
    const FAILED: &str = "Failed to download manual";
    let data = match body_data(event) {
        Ok(d) => d,
        Err(m) => return failure(FAILED, &m),
    };
    let url = match data.get("url") {
        Ok(v) => v.cloned().unwrap_or(PyValue::None),
        Err(m) => return failure(FAILED, &m),
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

async fn delete_manual(
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
    let details = cleanup::cleanup(c, env, bucket, key, &py::str_of(user)).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_as_latin1() {
        assert_eq!(as_http_client_reads("Küche ☕"), "KÃ¼che â\u{98}\u{95}");
        assert_eq!(as_http_client_reads("plain"), "plain");
    }

    #[test]
    fn sizes_format_like_python() {
        assert_eq!(size_mb(0), "0.0MB");
        assert_eq!(size_mb(262144), "0.2MB");
        assert_eq!(size_mb(1572864), "1.5MB");
        assert_eq!(size_mb(420), "0.0MB");
    }

    #[test]
    fn user_from_claims_only() {
        let claims = json!({"requestContext": {"authorizer": {"claims": {"sub": "u1"}}}});
        assert_eq!(user_id(&claims), json!("u1"));
        let bearer = json!({"headers": {"Authorization": "Bearer a.eyJzdWIiOiJ1MiJ9.c"}});
        assert_eq!(user_id(&bearer), json!("default-user"));
        assert_eq!(
            user_id(&json!({"requestContext": null})),
            json!("default-user")
        );
        let listy = json!({"requestContext": {"authorizer": {"claims": ["sub"]}}});
        assert_eq!(user_id(&listy), json!("default-user"));
        let null_sub = json!({"requestContext": {"authorizer": {"claims": {"sub": null}}}});
        assert_eq!(user_id(&null_sub), Value::Null);
    }
}
