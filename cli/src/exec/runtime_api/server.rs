//! The HTTP side of the Lambda Runtime API (`/2018-06-01/runtime/...`), one server per sandbox.
//!
//! A function process long-polls `GET invocation/next`, gets the event with the
//! `Lambda-Runtime-*` headers, and answers with `POST invocation/{id}/response` or `.../error`;
//! a runtime that fails to start posts `runtime/init/error`. The server turns each call into a
//! [`RuntimeEvent`] for the sandbox that owns it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, Mutex};

/// Lambda's limit on a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// An invocation waiting to be handed to the function by `GET next`.
#[derive(Debug, Clone)]
pub struct NextInvocation {
    pub request_id: String,
    pub deadline_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
    pub body: Bytes,
}

/// What the function process told the Runtime API.
#[derive(Debug)]
pub enum RuntimeEvent {
    NextPolled(Instant),
    Response {
        request_id: String,
        body: Bytes,
        at: Instant,
    },
    Error {
        request_id: String,
        error_type: Option<String>,
        body: Bytes,
        at: Instant,
    },
    InitError {
        error_type: Option<String>,
        body: Bytes,
        at: Instant,
    },
}

struct Shared {
    next: Mutex<mpsc::Receiver<NextInvocation>>,
    current: std::sync::Mutex<Option<String>>,
    events: mpsc::UnboundedSender<RuntimeEvent>,
}

/// A running Runtime API endpoint bound to 127.0.0.1 on a free port.
pub struct RuntimeApiServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Channels the sandbox uses to feed invocations in and read runtime events out.
pub struct RuntimeChannels {
    pub next_tx: mpsc::Sender<NextInvocation>,
    pub events_rx: mpsc::UnboundedReceiver<RuntimeEvent>,
}

impl RuntimeApiServer {
    pub async fn start() -> std::io::Result<(Self, RuntimeChannels)> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (next_tx, next_rx) = mpsc::channel(1);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            next: Mutex::new(next_rx),
            current: std::sync::Mutex::new(None),
            events: events_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            // Read oversized responses whole, so the limit is reported as Lambda reports it.
            .layer(axum::extract::DefaultBodyLimit::max(8 * MAX_RESPONSE_BYTES))
            .with_state(shared);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("runtime API server stopped: {e}");
            }
        });
        Ok((Self { addr, task }, RuntimeChannels { next_tx, events_rx }))
    }
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    let _ = s.events.send(RuntimeEvent::NextPolled(Instant::now()));
    let inv = {
        let mut rx = s.next.lock().await;
        match rx.recv().await {
            Some(inv) => inv,
            None => return StatusCode::GONE.into_response(),
        }
    };
    if let Ok(mut cur) = s.current.lock() {
        *cur = Some(inv.request_id.clone());
    }
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &inv.request_id);
    put("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &inv.function_arn);
    put("lambda-runtime-trace-id", &inv.trace_id);
    put("content-type", "application/json");
    (StatusCode::OK, headers, inv.body).into_response()
}

fn check_id(s: &Shared, id: &str) -> Result<(), Box<Response>> {
    let ok = s
        .current
        .lock()
        .map(|cur| cur.as_deref() == Some(id))
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(Box::new(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({
                    "errorMessage": format!("Invalid request ID: {id}"),
                    "errorType": "InvalidRequestID"
                })),
            )
                .into_response(),
        ))
    }
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"status": "OK"})),
    )
        .into_response()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn response(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = check_id(&s, &id) {
        return *r;
    }
    let at = Instant::now();
    if body.len() > MAX_RESPONSE_BYTES {
        let msg = format!(
            "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
            body.len()
        );
        let payload =
            serde_json::json!({"errorMessage": msg, "errorType": "Function.ResponseSizeTooLarge"});
        let _ = s.events.send(RuntimeEvent::Error {
            request_id: id,
            error_type: Some("Function.ResponseSizeTooLarge".into()),
            body: Bytes::from(payload.to_string()),
            at,
        });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(payload)).into_response();
    }
    let _ = s.events.send(RuntimeEvent::Response {
        request_id: id,
        body,
        at,
    });
    accepted()
}

async fn error(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_id(&s, &id) {
        return *r;
    }
    let _ = s.events.send(RuntimeEvent::Error {
        request_id: id,
        error_type: error_type(&headers),
        body,
        at: Instant::now(),
    });
    accepted()
}

async fn init_error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let _ = s.events.send(RuntimeEvent::InitError {
        error_type: error_type(&headers),
        body,
        at: Instant::now(),
    });
    accepted()
}
