//! Rust port of Manuel's transcribe function (`backend/src/functions/transcribe/app.py`) *as
//! intended*.
//!
//! Deployed, the folder lacks the shared modules it imports (every call fails to import); the
//! reference is the handler with backend/src/shared on its path and python-magic (layer
//! `file-security`). As intended it answers 200 to nothing but OPTIONS, and the port keeps that:
//! - the template gives it no `USAGE_TABLE_NAME`: `UsageTracker()` raises, 500 "Internal server
//!   error";
//! - with a table, a user's second call of the day reads `Decimal` counters, which the quota log
//!   line cannot serialise: 500 "Internal server error" after the count was written;
//! - libmagic names WAV `audio/x-wav`, WebM `video/webm`: not allowed, 400;
//! - past the upload check the audio goes to S3, and starting the job fails in boto3's own
//!   parameter check (`MaxSpeakerLabels: 1`, minimum 2): no job, the audio stays (the bucket's
//!   lifecycle removes it), 500 "Transcription failed". (Had it started, reading the duration
//!   from `Media.MediaFileUri`, a str, would have raised after the transcript fetch.)

pub mod security;

use manuel_shared::apigw::legacy_cors_response;
use manuel_shared::magic::Magic;
use manuel_shared::py::{subscript, type_name, PyException};
use manuel_shared::pymimetypes::MimeTypes;
use manuel_shared::pyvalue::{self, PyValue};
use manuel_shared::usage::{Info, UsageTracker};
use security::{Detector, Settings};
use serde_json::Value;

/// The AWS clients the handler uses.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub transcribe: aws_sdk_transcribe::Client,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            s3: manuel_shared::aws::s3_client(conf),
            transcribe: aws_sdk_transcribe::Client::new(conf),
        }
    }
}

/// The environment the handler and its modules read.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub audio_bucket: Option<String>,
    pub max_audio_size_mb: Option<String>,
    pub quarantine_bucket: Option<String>,
    pub settings: Settings,
}

impl Env {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            audio_bucket: var("AUDIO_BUCKET"),
            max_audio_size_mb: var("MAX_AUDIO_SIZE_MB"),
            quarantine_bucket: var("QUARANTINE_BUCKET").filter(|b| !b.is_empty()),
            settings: Settings {
                max_duration: var("MAX_AUDIO_DURATION_SECONDS"),
                malicious_hashes: var("MALICIOUS_HASHES")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect(),
            },
        }
    }
}

/// What the process loads once: libmagic's cookie (or the fallback when its database does not
/// load) and the `mimetypes` tables.
pub struct Detection<'l> {
    pub magic: Option<Magic<'l>>,
    pub types: MimeTypes,
}

/// `create_response(status, body)`.
fn respond(status: u16, body: &PyValue) -> Value {
    legacy_cors_response(status)
        .text_body(pyvalue::dumps(body))
        .to_value()
}

fn error(status: u16, message: &str) -> Value {
    respond(status, &PyValue::dict([("error", PyValue::str(message))]))
}

/// Handle one API Gateway proxy event.
pub async fn handle(event: &Value, env: &Env, c: &Clients, d: &Detection<'_>) -> Value {
    match outer(event, env, c, d).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e.message, error_type = %e.kind, "Unexpected error in lambda handler");
            error(500, "Internal server error")
        }
    }
}

fn attribute_error(v: &Value, attr: &str) -> PyException {
    PyException::new(
        "AttributeError",
        format!("'{}' object has no attribute '{attr}'", type_name(v)),
    )
}

/// `d.get(key, {})` where the result is then `.get`-ed: a present value must be a dict.
fn get_dict<'a>(d: &'a Value, key: &str) -> Result<Option<&'a Value>, PyException> {
    let Value::Object(m) = d else {
        return Err(attribute_error(d, "get"));
    };
    match m.get(key) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(other) => Err(attribute_error(other, "get")),
    }
}

/// `logger.log_request_start(event)`: the `.get` chain over headers, requestContext and
/// identity fails on a present value that is not a dict.
fn log_request_start(event: &Value) -> Result<(), PyException> {
    get_dict(event, "headers")?;
    if let Some(rc) = get_dict(event, "requestContext")? {
        get_dict(rc, "identity")?;
    }
    Ok(())
}

/// `get_user_id_from_event`: a missing key is `None`, any other failure escapes.
fn user_id(event: &Value) -> Result<Value, PyException> {
    let Some(rc) = subscript(event, "requestContext")? else {
        return Ok(Value::Null);
    };
    let Some(auth) = subscript(rc, "authorizer")? else {
        return Ok(Value::Null);
    };
    let Some(claims) = subscript(auth, "claims")? else {
        return Ok(Value::Null);
    };
    match claims {
        Value::Object(m) => Ok(m.get("sub").cloned().unwrap_or(Value::Null)),
        other => Err(attribute_error(other, "get")),
    }
}

/// `validate_json_body(event, ["audio_data", "content_type"])`: `Ok(Err(body))` is the 400.
fn validate_json_body(event: &Value) -> Result<Result<PyValue, PyValue>, PyException> {
    let body = event.get("body").unwrap_or(&Value::Null);
    if !manuel_shared::py::truthy(body) {
        return Ok(Err(PyValue::dict([(
            "error",
            PyValue::str("Request body is required"),
        )])));
    }
    let Value::String(text) = body else {
        return Err(PyException::new(
            "TypeError",
            format!(
                "the JSON object must be str, bytes or bytearray, not {}",
                type_name(body)
            ),
        ));
    };
    let parsed = match pyvalue::loads(text) {
        Ok(v) => v,
        // `except json.JSONDecodeError`: an over-long int literal's ValueError and a
        // RecursionError escape.
        Err(e) if e.kind != pyvalue::LoadsErrorKind::JsonDecodeError => return Err(e.into()),
        Err(_) => {
            return Ok(Err(PyValue::dict([(
                "error",
                PyValue::str("Invalid JSON in request body"),
            )])))
        }
    };
    let mut missing = Vec::new();
    for field in ["audio_data", "content_type"] {
        if !py_in(field, &parsed)? {
            missing.push(field);
        }
    }
    if !missing.is_empty() {
        return Ok(Err(PyValue::dict([(
            "error",
            PyValue::str(&format!("Missing required fields: {}", missing.join(", "))),
        )])));
    }
    Ok(Ok(parsed))
}

/// `field in body` for a parsed JSON body.
fn py_in(field: &str, body: &PyValue) -> Result<bool, PyException> {
    Ok(match body {
        PyValue::Dict(d) => d.get(field).is_some(),
        PyValue::List(items) => items
            .iter()
            .any(|v| v.as_py_str().and_then(|s| s.as_str()) == Some(field)),
        PyValue::Str(s) => s.to_string_lossy().contains(field),
        other => {
            return Err(PyException::new(
                "TypeError",
                format!("argument of type '{}' is not iterable", other.type_name()),
            ))
        }
    })
}

/// `logger.log_quota_check`: the log line `json.dumps` the counters (a Decimal raises), then
/// the daily percentage divides by the limit.
fn log_quota_check(info: &manuel_shared::usage::UsageInfo) -> Result<(), PyException> {
    info.to_json()?;
    let get = |k: &str| info.0.iter().find(|(n, _)| *n == k).map(|(_, v)| v);
    if let (Some(_), Some(Info::Counter(manuel_shared::usage::Counter::Int(0)))) =
        (get("daily_used"), get("daily_limit"))
    {
        return Err(PyException::new("ZeroDivisionError", "division by zero"));
    }
    Ok(())
}

async fn outer(
    event: &Value,
    env: &Env,
    c: &Clients,
    d: &Detection<'_>,
) -> Result<Value, PyException> {
    log_request_start(event)?;
    let method =
        subscript(event, "httpMethod")?.ok_or_else(|| PyException::key_error("httpMethod"))?;
    if method.as_str() == Some("OPTIONS") {
        return Ok(respond(200, &PyValue::dict([])));
    }
    let user = user_id(event)?;
    if !manuel_shared::py::truthy(&user) {
        return Ok(error(401, "Unauthorized"));
    }
    let body = match validate_json_body(event)? {
        Ok(b) => b,
        Err(e) => return Ok(respond(400, &e)),
    };
    let tracker = UsageTracker::from_env(c.dynamodb.clone())?;
    let (can_proceed, info) = tracker
        .check_and_increment(&user, "transcribe", chrono::Utc::now())
        .await?;
    log_quota_check(&info)?;
    if !can_proceed {
        let json = info.to_json()?;
        return Ok(respond(429, &PyValue::from_json(&json)));
    }
    match inner(&body, &user, env, c, d).await {
        Ok(v) => Ok(v),
        Err(e) => {
            tracing::error!(error = %e.message, error_type = %e.kind, "Error in transcription processing");
            Ok(error(500, "Transcription failed"))
        }
    }
}

/// The handler's inner `try`: every failure is 500 "Transcription failed".
async fn inner(
    body: &PyValue,
    user: &Value,
    env: &Env,
    c: &Clients,
    d: &Detection<'_>,
) -> Result<Value, PyException> {
    let max_mb = manuel_shared::py::parse_int(env.max_audio_size_mb.as_deref().unwrap_or("25"))?;
    let audio = body.item("audio_data")?;
    let content_type = body.item("content_type")?;
    let default_name = PyValue::str("audio_upload");
    let filename = match body {
        PyValue::Dict(m) => m.get("filename").unwrap_or(&default_name),
        _ => &default_name,
    };
    let detector = match &d.magic {
        Some(m) => Detector::Magic(m),
        None => Detector::Fallback,
    };
    let v = security::validate(
        audio,
        content_type,
        filename,
        max_mb,
        &detector,
        &d.types,
        &env.settings,
    );
    if !v.threats.is_empty() {
        if let Some(bucket) = &env.quarantine_bucket {
            quarantine(c, bucket, &v, filename, user).await;
        }
    }
    if !v.is_valid {
        let threats = v.threats.iter().map(|t| PyValue::str(t.value())).collect();
        return Ok(respond(
            400,
            &PyValue::dict([
                ("error", PyValue::str("File validation failed")),
                (
                    "details",
                    v.error_message
                        .as_deref()
                        .map_or(PyValue::None, PyValue::str),
                ),
                ("threats_detected", PyValue::List(threats)),
            ]),
        ));
    }
    upload(c, env, &v.data, content_type, user).await?;
    transcribe(c, env).await
}

/// `_quarantine_file` (errors are logged, never raised).
async fn quarantine(
    c: &Clients,
    bucket: &str,
    v: &security::Validation,
    filename: &PyValue,
    user: &Value,
) {
    let stamp = chrono::Utc::now().format("%Y%m%d_%H%M%S");
    let key = format!(
        "quarantine/{}/{stamp}_{}",
        manuel_shared::py::str_of(user),
        v.content_hash
    );
    let (Some(name), Some(uid)) = (filename.as_py_str().and_then(|s| s.as_str()), user.as_str())
    else {
        tracing::error!("File quarantine error: metadata values must be str");
        return;
    };
    let threats: Vec<&str> = v.threats.iter().map(|t| t.value()).collect();
    let r =
        c.s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(v.data.clone().into())
            .metadata("original_filename", name)
            .metadata("user_id", uid)
            .metadata("threat_types", threats.join(","))
            .metadata("quarantine_reason", "Security validation failed")
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            .send()
            .await;
    if let Err(e) = r {
        tracing::error!("File quarantine error: {e}");
    }
}

/// `get_file_extension(content_type)`: unhashable types raise.
fn extension(content_type: &PyValue) -> Result<&'static str, PyException> {
    match content_type {
        PyValue::List(_) | PyValue::Dict(_) => Err(PyException::new(
            "TypeError",
            format!("unhashable type: '{}'", content_type.type_name()),
        )),
        PyValue::Str(s) => Ok(match s.as_str() {
            Some("audio/mp4") => ".mp4",
            Some("audio/wav") => ".wav",
            Some("audio/webm") => ".webm",
            Some("audio/mpeg") => ".mp3",
            Some("audio/ogg") => ".ogg",
            _ => ".mp4",
        }),
        _ => Ok(".mp4"),
    }
}

/// `upload_audio_to_s3`: the key `audio/<user>/<uuid hex><ext>` (the job that would name it
/// is refused before it is sent, see [`transcribe`]).
async fn upload(
    c: &Clients,
    env: &Env,
    data: &[u8],
    content_type: &PyValue,
    user: &Value,
) -> Result<(), PyException> {
    let bucket = env
        .audio_bucket
        .as_deref()
        .ok_or_else(|| PyException::key_error("AUDIO_BUCKET"))?;
    let ext = extension(content_type)?;
    let key = format!(
        "audio/{}/{}{ext}",
        manuel_shared::py::str_of(user),
        uuid::Uuid::new_v4().simple()
    );
    let ct = match content_type {
        PyValue::Str(s) => s.to_string_lossy(),
        other => {
            return Err(PyException::new(
                "ParamValidationError",
                format!(
                    "Invalid type for parameter ContentType, value: {}",
                    other.py_repr()
                ),
            ))
        }
    };
    c.s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(data.to_vec().into())
        .content_type(ct)
        .send()
        .await
        .map_err(|e| manuel_shared::aws::to_py(&e, "s3", "PutObject"))?;
    Ok(())
}

/// `transcribe_audio` and the handler's end: never an answer but 500 (see the module docs).
///
/// The job's `Settings` ask for `MaxSpeakerLabels: 1`, and boto3 validates the request before
/// sending it: the minimum is 2, so `start_transcription_job` raises ParamValidationError and no
/// job is ever started (the Rust SDK checks no minimums: the port raises the same error itself).
/// The error path then deletes the job it never made (BadRequestException, logged) and raises.
async fn transcribe(c: &Clients, env: &Env) -> Result<Value, PyException> {
    env.audio_bucket
        .as_deref()
        .ok_or_else(|| PyException::key_error("AUDIO_BUCKET"))?;
    let job = format!("manuel-transcription-{}", uuid::Uuid::new_v4().simple());
    let error = PyException::new(
        "ParamValidationError",
        "Parameter validation failed:\nInvalid value for parameter Settings.MaxSpeakerLabels, value: 1, valid min value: 2",
    );
    tracing::error!(error = %error.message, error_type = %error.kind, "Error in transcription");
    if let Err(e) = c
        .transcribe
        .delete_transcription_job()
        .transcription_job_name(&job)
        .send()
        .await
    {
        tracing::warn!("Failed to cleanup transcription job during error: {e}");
    }
    Err(error)
}
