//! `POST /api/query`: answer a question about the user's manuals with retrieval-augmented
//! generation (knowledge-base Retrieve, then a Claude InvokeModel), with an optional Redis
//! cache, usage quotas and a cost estimate — answering every request as the deployed Python
//! function does.
//!
//! As deployed (backend/template.yaml): no security modules in the folder (their fallbacks
//! apply: only a 1000-code-point limit on the question), no `USAGE_TABLE_NAME` (so usage
//! tracking and cost storage fail quietly and are skipped), and the Redis layer and
//! `ENABLE_REDIS_CACHE=true` only when the stack enables caching.

mod audio;
mod sources;

use manuel_shared::apigw::{dict_get, PyGet, Response};
use manuel_shared::cache::{self, QueryCache};
use manuel_shared::py::{self, PyException};
use manuel_shared::pyvalue::{self, PyDict, PyStr, PyValue};
use manuel_shared::usage::UsageTracker;
use serde_json::Value;

/// The environment the handler reads (Python reads it per request; it cannot change between
/// requests of one process, so reading it once is the same).
pub struct QueryEnv {
    knowledge_base_id: Option<String>,
    text_model_id: Option<String>,
    retrieval_results: Option<String>,
    audio_bucket: String,
    usage_table: Option<String>,
}

impl QueryEnv {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        Self {
            knowledge_base_id: var("KNOWLEDGE_BASE_ID"),
            text_model_id: var("TEXT_MODEL_ID"),
            retrieval_results: var("KNOWLEDGE_BASE_RETRIEVAL_RESULTS"),
            audio_bucket: var("AUDIO_BUCKET").unwrap_or_else(|| "manuel-temp-audio".into()),
            usage_table: var("USAGE_TABLE_NAME"),
        }
    }
}

/// Clients made once per process (boto3 makes them per request; the calls are the same).
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub agent_runtime: aws_sdk_bedrockagentruntime::Client,
    pub bedrock_runtime: aws_sdk_bedrockruntime::Client,
    pub transcribe: aws_sdk_transcribe::Client,
    pub cache: QueryCache,
}

impl Clients {
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            s3: manuel_shared::aws::s3_client(conf),
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            agent_runtime: aws_sdk_bedrockagentruntime::Client::new(conf),
            bedrock_runtime: aws_sdk_bedrockruntime::Client::new(conf),
            transcribe: aws_sdk_transcribe::Client::new(conf),
            cache: QueryCache::from_env(),
        }
    }
}

/// The model request's prompt. It must be the Python function's prompt byte for byte: the
/// model's answer depends on it, and the Bedrock replay finds recordings by the request body.
const PROMPT_HEAD: &str = "Human: You are a helpful assistant that answers questions based on product manuals and documentation.\n\nUse the following context to answer the user's question. If the context doesn't contain relevant information, say so clearly.\n\nContext:\n";
const PROMPT_QUESTION: &str = "\n\nQuestion: ";
const PROMPT_TAIL: &str = "\n\nPlease provide a clear, helpful answer based on the context provided.\n\nAssistant: I'll help you with that based on the provided context.";

pub fn prompt(context: &str, question: &str) -> String {
    format!("{PROMPT_HEAD}{context}{PROMPT_QUESTION}{question}{PROMPT_TAIL}")
}

/// The InvokeModel body, rendered as Python's `json.dumps` renders it.
pub fn model_request_body(prompt: &str) -> String {
    let body = serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": prompt}],
    });
    manuel_shared::pyjson::dumps(&body)
}

fn json_headers(r: Response) -> Response {
    r.header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
}

fn error_body(status: u16, message: &str) -> Response {
    json_headers(Response::new(status)).json_body(&serde_json::json!({ "error": message }))
}

fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Handle one API Gateway event; always a proxy response (Python catches everything).
pub async fn handle(event: &Value, request_id: &str, env: &QueryEnv, c: &Clients) -> Value {
    let mut context = ContextVar::Lambda;
    match answer(event, env, c, &mut context).await {
        Ok(r) => r.to_value(),
        Err(e) => {
            // The Python reuses the name `context` for the prompt context, so its error branch
            // reads `context.aws_request_id` from a str once retrieval has run: "unknown" when
            // that str is empty (kept), an AttributeError — API Gateway's 502 — when it is not
            // (fixed: the intended answer, with the request id; a declared divergence).
            let id = match context {
                ContextVar::Lambda | ContextVar::Prompt => request_id,
                ContextVar::EmptyPrompt => "unknown",
            };
            failure(&e, id).to_value()
        }
    }
}

/// What the Python's `context` name holds when an exception reaches the handler's except.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextVar {
    Lambda,
    EmptyPrompt,
    Prompt,
}

/// The handler's `except Exception` branch: status from words in the message.
pub fn failure(e: &PyException, request_id: &str) -> Response {
    tracing::error!("Error processing query [{}]: {}", e.kind, e.message);
    let lower = e.message.to_lowercase();
    let (status, message) =
        if e.message.contains("Authentication") || e.message.contains("Unauthorized") {
            (401, "Authentication required. Please sign in.")
        } else if lower.contains("quota") || lower.contains("limit") {
            (429, "Usage limit exceeded. Please try again later.")
        } else if lower.contains("timeout") {
            (
                408,
                "Request timeout. Please try again with a shorter query.",
            )
        } else if e.kind.contains("ValidationException") {
            (400, "Invalid request. Please check your input.")
        } else {
            (500, "An error occurred while processing your request.")
        };
    json_headers(Response::new(status)).json_body(&serde_json::json!({
        "error": message,
        "error_type": e.kind,
        "timestamp": manuel_shared::runtime::now_secs(),
        "request_id": request_id,
    }))
}

fn attr_err(m: String) -> PyException {
    PyException::new("AttributeError", m)
}

async fn answer(
    event: &Value,
    env: &QueryEnv,
    c: &Clients,
    context_var: &mut ContextVar,
) -> Result<Response, PyException> {
    let kb_id = env
        .knowledge_base_id
        .clone()
        .ok_or_else(|| PyException::key_error("KNOWLEDGE_BASE_ID"))?;
    let text_model_id = env
        .text_model_id
        .clone()
        .ok_or_else(|| PyException::key_error("TEXT_MODEL_ID"))?;
    let retrieval_results = match &env.retrieval_results {
        Some(v) => py::parse_int(v)?,
        None => 3,
    };

    let post = Value::String("POST".into());
    let method = manuel_shared::apigw::get_or(event, "httpMethod", &post)?;
    if method.as_str() == Some("OPTIONS") {
        return Ok(Response::new(200)
            .header("Access-Control-Allow-Origin", "*")
            .header("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
            .header(
                "Access-Control-Allow-Headers",
                manuel_shared::apigw::CORS_ALLOW_HEADERS,
            )
            .text_body(""));
    }

    let user_id = manuel_shared::auth::claims_sub(event)?.unwrap_or(Value::Null);
    if !py::truthy(&user_id) {
        return Ok(error_body(401, "Unauthorized - valid JWT token required"));
    }
    tracing::info!("Using user_id: {}", py::str_of(&user_id));

    let body_data = match dict_get(event, "body")? {
        PyGet::Missing => PyValue::Dict(PyDict::new()),
        PyGet::Present(Value::String(text)) => match pyvalue::loads(text) {
            Ok(v) => v,
            // `except json.JSONDecodeError` only: the 4300-digit int limit is a plain ValueError
            // and goes to the handler's exception mapping.
            Err(e) if e.kind == pyvalue::LoadsErrorKind::JsonDecodeError => {
                return Ok(error_body(400, "Invalid JSON in request body"))
            }
            Err(e) => return Err(e.into()),
        },
        PyGet::Present(other) => PyValue::from_json(other),
    };
    let field = |k: &str| -> Result<PyValue, PyException> {
        Ok(body_data.get(k)?.cloned().unwrap_or(PyValue::None))
    };
    let file_data = field("file_data")?;
    let content_type = field("content_type")?;
    let mut question = field("question")?;

    if question.is_truthy() && question.py_len()? > 1000 {
        return Ok(error_body(400, "Question too long"));
    }

    if file_data.is_truthy() && content_type.is_truthy() {
        tracing::info!("Processing audio transcription request");
        let text = audio::transcribe(c, &env.audio_bucket, &file_data, &content_type).await;
        if text.is_empty() {
            return Ok(error_body(400, "Failed to transcribe audio"));
        }
        question = PyValue::str(&text);
    } else if !question.is_truthy() {
        return Ok(error_body(400, "Question or audio data is required"));
    }
    let operation = if file_data.is_truthy() {
        "transcribe"
    } else {
        "query"
    };

    // Usage quota. Any failure here (no table configured, a counter of the wrong type, a usage
    // info that json.dumps cannot encode) lets the request through, as in Python.
    match UsageTracker::from_env(c.dynamodb.clone()) {
        Ok(tracker) => {
            match tracker
                .check_and_increment(&user_id, operation, chrono::Utc::now())
                .await
            {
                Ok((false, info)) => match info.to_json() {
                    Ok(info) => {
                        return Ok(
                            json_headers(Response::new(429)).json_body(&serde_json::json!({
                                "error": "Usage limit exceeded. Please try again later.",
                                "usage_info": info,
                            })),
                        )
                    }
                    Err(e) => tracing::warn!("Error in usage tracking: {}", e.message),
                },
                Ok((true, info)) => tracing::info!("Usage tracking: {info:?}"),
                Err(e) => tracing::warn!("Error in usage tracking: {}", e.message),
            }
        }
        Err(e) => tracing::warn!("Error in usage tracking: {}", e.message),
    }

    // Cache lookup. The key needs the question as UTF-8 (str.encode()).
    let mut redis = c.cache.client().await;
    let question_text: String = match &question {
        PyValue::Str(q) => q
            .to_str()
            .map_err(|e| PyException::new("UnicodeEncodeError", e.to_string()))?
            .to_owned(),
        other => {
            return Err(attr_err(format!(
                "'{}' object has no attribute 'encode'",
                other.type_name()
            )))
        }
    };
    let cache_key = cache::cache_key(&question_text, &py::str_of(&user_id));
    if let Some(conn) = redis.as_mut() {
        if let Some(text) = cache::get(conn, &cache_key).await.filter(|t| !t.is_empty()) {
            match pyvalue::loads(&text) {
                Ok(cached) if cached.is_truthy() => {
                    tracing::info!("Cache HIT for question");
                    let mut cached = cached;
                    set_item(&mut cached, "cache_status", PyValue::str("hit"))?;
                    set_item(
                        &mut cached,
                        "response_time_ms",
                        PyValue::Int(pyvalue::PyInt::I64(5)),
                    )?;
                    return Ok(json_headers(Response::new(200)).text_body(pyvalue::dumps(&cached)));
                }
                Ok(_) => {}
                Err(e) => tracing::info!("Cache read error: {e}"),
            }
        }
    }
    tracing::info!("Cache MISS for question");

    let started = now_f64();
    let retrieved = manuel_shared::bedrock::retrieve(
        &c.agent_runtime,
        &kb_id,
        &question_text,
        retrieval_results,
    )
    .await?;
    let found = sources::from_retrieval(&c.s3, &retrieved).await?;
    let context = found.context_pieces.join("\n\n");
    *context_var = if context.is_empty() {
        ContextVar::EmptyPrompt
    } else {
        ContextVar::Prompt
    };
    let body = model_request_body(&prompt(&context, &question_text));
    let raw =
        manuel_shared::bedrock::invoke_model(&c.bedrock_runtime, &text_model_id, body).await?;
    let answer = model_answer(&raw)?;
    let response_time_ms = manuel_shared::pyround::py_round((now_f64() - started) * 1000.0, 2);

    let mut data = vec![
        ("answer", answer.clone()),
        ("question", question.clone()),
        ("sources", found.sources),
        (
            "context_found",
            PyValue::Bool(!found.context_pieces.is_empty()),
        ),
        ("user_id", PyValue::from_json(&user_id)),
        (
            "timestamp",
            PyValue::Int(pyvalue::PyInt::I64(manuel_shared::runtime::now_secs())),
        ),
        ("cache_status", PyValue::str("miss")),
        ("response_time_ms", PyValue::Float(response_time_ms)),
    ];
    match cost_info(
        c,
        env,
        &user_id,
        operation,
        &question_text,
        &found.context_pieces,
        &answer,
        response_time_ms,
    )
    .await
    {
        Ok(info) => data.push(("cost_info", info)),
        Err(e) => tracing::warn!("Error in cost tracking: {}", e.message),
    }
    let response_data = PyValue::dict(data);

    if let Some(conn) = redis.as_mut() {
        let mut cached = response_data.clone();
        set_item(&mut cached, "cached_at", PyValue::Float(now_f64()))?;
        set_item(
            &mut cached,
            "cache_ttl",
            PyValue::Int(pyvalue::PyInt::I64(cache::TTL_SECS as i64)),
        )?;
        if cache::setex(conn, &cache_key, cache::TTL_SECS, &pyvalue::dumps(&cached)).await {
            tracing::info!("Response cached successfully for key: {cache_key}");
        }
    }
    Ok(json_headers(Response::new(200)).text_body(pyvalue::dumps(&response_data)))
}

/// `d[key] = value`, with the TypeError Python raises on non-dicts.
fn set_item(target: &mut PyValue, key: &str, value: PyValue) -> Result<(), PyException> {
    match target {
        PyValue::Dict(d) => {
            d.insert(PyStr::from(key), value);
            Ok(())
        }
        PyValue::List(_) => Err(PyException::new(
            "TypeError",
            "list indices must be integers or slices, not str",
        )),
        other => Err(PyException::new(
            "TypeError",
            format!(
                "'{}' object does not support item assignment",
                other.type_name()
            ),
        )),
    }
}

/// `x[0]` on a decoded JSON value.
fn index_first(v: &PyValue) -> Result<PyValue, PyException> {
    match v {
        PyValue::List(items) => items
            .first()
            .cloned()
            .ok_or_else(|| PyException::new("IndexError", "list index out of range")),
        PyValue::Str(st) => st
            .code_points()
            .next()
            .and_then(|cp| PyStr::from_code_points([cp]))
            .map(PyValue::Str)
            .ok_or_else(|| PyException::new("IndexError", "string index out of range")),
        // A str key "0" is not the int 0.
        PyValue::Dict(_) => Err(PyException::new("KeyError", "0")),
        other => Err(PyException::new(
            "TypeError",
            format!("'{}' object is not subscriptable", other.type_name()),
        )),
    }
}

/// `json.loads(response["body"].read())["content"][0]["text"]`.
pub fn model_answer(raw: &[u8]) -> Result<PyValue, PyException> {
    let text = std::str::from_utf8(raw).map_err(|e| {
        PyException::new(
            "UnicodeDecodeError",
            format!("'utf-8' codec can't decode bytes: {e}"),
        )
    })?;
    let body = pyvalue::loads(text)?;
    let content = body.item("content")?;
    let first = index_first(content)?;
    Ok(first.item("text")?.clone())
}

/// The request's cost (only API Gateway's share: the handler passes parameters the calculator
/// does not know) and, with a usage table, the stored cost record.
#[allow(clippy::too_many_arguments)]
async fn cost_info(
    c: &Clients,
    env: &QueryEnv,
    user_id: &Value,
    operation: &str,
    question: &str,
    context_pieces: &[String],
    answer: &PyValue,
    response_time_ms: f64,
) -> Result<PyValue, PyException> {
    let _ = response_time_ms;
    let input_tokens = (question.chars().count() + context_pieces.join(" ").chars().count()) / 4;
    let output_tokens = answer.py_len()? / 4;
    let cost = costing::request_cost(&py::str_of(user_id), operation)?;
    if let Some(table) = &env.usage_table {
        costing::store(&c.dynamodb, table, &cost).await;
    } else {
        tracing::warn!("Warning: Failed to store cost data: 'USAGE_TABLE_NAME'");
    }
    Ok(PyValue::dict(vec![
        ("total_cost_eur", PyValue::Float(cost.total_cost)),
        (
            "input_tokens",
            PyValue::Int(pyvalue::PyInt::I64(input_tokens as i64)),
        ),
        (
            "output_tokens",
            PyValue::Int(pyvalue::PyInt::I64(output_tokens as i64)),
        ),
        ("operation", PyValue::str(operation)),
    ]))
}

mod costing;
