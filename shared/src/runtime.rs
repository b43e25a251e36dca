//! The Lambda context as Manuel's Python handlers read it (awslambdaric's `LambdaContext`).

use std::time::{SystemTime, UNIX_EPOCH};

/// What a handler may read of its invocation context.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeContext {
    pub request_id: String,
    pub invoked_function_arn: String,
    /// Deadline in milliseconds since the Unix epoch (`Lambda-Runtime-Deadline-Ms`).
    pub deadline_ms: u64,
    /// awslambdaric exposes `memory_limit_in_mb` as the *string* of
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; `None` when the variable is unset.
    pub memory_limit_in_mb: Option<String>,
}

impl InvokeContext {
    /// `context.get_remaining_time_in_millis()`: never negative, whole milliseconds.
    pub fn remaining_time_in_millis(&self) -> u64 {
        self.deadline_ms.saturating_sub(now_ms())
    }

    /// The region field of the ARN (`arn:aws:lambda:REGION:…`), Python's `arn.split(":")[3]`.
    pub fn arn_part(&self, index: usize) -> Option<&str> {
        self.invoked_function_arn.split(':').nth(index)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The variable with which the local parity gate asks a function to skip the waits its
/// handler makes between polls (the query function's 4 s between Transcribe job reads).
pub const SKIP_WAITS_VAR: &str = "MANUEL_LOCAL_SKIP_WAITS";

/// Whether to skip a poll wait: only when [`SKIP_WAITS_VAR`] is `1` *and* the Runtime API is
/// on this machine (`127.0.0.1`/`localhost`), so that the variable cannot shorten a wait in
/// AWS even if a template set it. Every read and its order stay as they are; only the time
/// between them goes.
pub fn local_waits_skipped() -> bool {
    waits_skipped_with(
        std::env::var(SKIP_WAITS_VAR).ok().as_deref(),
        std::env::var("AWS_LAMBDA_RUNTIME_API").ok().as_deref(),
    )
}

fn waits_skipped_with(flag: Option<&str>, runtime_api: Option<&str>) -> bool {
    let local = runtime_api.is_some_and(|api| {
        let host = api.rsplit_once(':').map_or(api, |(h, _)| h);
        host == "127.0.0.1" || host == "localhost"
    });
    flag == Some("1") && local
}

/// Python's `int(time.time())`.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The log level a function runs with: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging
/// controls), else `RUST_LOG` when it is a bare level, else INFO.
pub fn log_level() -> tracing::Level {
    ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find_map(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO)
}

/// The functions' log format: level from [`log_level`], no timestamps (CloudWatch adds them),
/// no colours.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_max_level(log_level())
        .without_time()
        .with_ansi(false)
        .init();
}

impl InvokeContext {
    /// The context of one invocation as the Rust runtime delivers it, with awslambdaric's
    /// `memory_limit_in_mb` (the string of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub fn from_parts(request_id: &str, invoked_function_arn: &str, deadline_ms: u64) -> Self {
        Self {
            request_id: request_id.to_owned(),
            invoked_function_arn: invoked_function_arn.to_owned(),
            deadline_ms,
            memory_limit_in_mb: std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok(),
        }
    }
}

/// The error a bootstrap's `main` returns (the runtime's own).
#[cfg(feature = "lambda")]
pub type Error = lambda_runtime::Error;

/// The whole bootstrap of a function, the same for every port: a single-threaded Tokio runtime
/// (one invocation at a time per sandbox), the functions' log format, `init` once (environment,
/// clients, engines: Lambda's init phase), then the Runtime API loop calling `handler` with each
/// event, its context and what `init` built. The handler answers a value; what Python lets
/// escape is the handler's business (each port maps it to its declared answer).
///
/// Nothing here reads the environment to change answers: fault injection for rehearsals lives
/// in the local Runtime API (manuel-migrate's sandbox), so a deployed binary cannot be made to
/// fail by a variable.
#[cfg(feature = "lambda")]
pub fn run<S, I, H>(init: I, handler: H) -> Result<(), Error>
where
    I: AsyncFnOnce() -> S,
    H: AsyncFn(&serde_json::Value, &InvokeContext, &S) -> serde_json::Value,
{
    run_fallible(init, async |event, ctx, state| {
        Ok::<_, std::convert::Infallible>(handler(event, ctx, state).await)
    })
}

/// [`run`] for a function whose failure must reach Lambda as a failure: an `Err` is reported
/// on the Runtime API's error path (`/invocation/{id}/error`), so an asynchronous caller (SNS,
/// EventBridge, a CloudWatch alarm action) retries it. The Manuel ports answer every event with a
/// value, as their Python twins do; the rollback guard uses this one.
#[cfg(feature = "lambda")]
pub fn run_fallible<S, I, H, E>(init: I, handler: H) -> Result<(), Error>
where
    I: AsyncFnOnce() -> S,
    H: AsyncFn(&serde_json::Value, &InvokeContext, &S) -> Result<serde_json::Value, E>,
    E: std::fmt::Display,
{
    init_tracing();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let state = init().await;
        let (state, handler) = (&state, &handler);
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
                let ctx = InvokeContext::from_parts(
                    &event.context.request_id,
                    &event.context.invoked_function_arn,
                    event.context.deadline,
                );
                handler(&event.payload, &ctx, state)
                    .await
                    .map_err(|e| Error::from(e.to_string()))
            },
        ))
        .await
    })
}

#[cfg(test)]
mod wait_tests {
    use super::waits_skipped_with as skipped;

    #[test]
    fn waits_are_skipped_only_on_a_local_runtime_api() {
        assert!(skipped(Some("1"), Some("127.0.0.1:9001")));
        assert!(skipped(Some("1"), Some("localhost:9001")));
        // In AWS the Runtime API is 169.254.100.1:9001 (or another link-local address).
        assert!(!skipped(Some("1"), Some("169.254.100.1:9001")));
        assert!(!skipped(Some("1"), Some("127.0.0.1.example.com:9001")));
        assert!(!skipped(Some("1"), None));
        assert!(!skipped(Some("true"), Some("127.0.0.1:9001")));
        assert!(!skipped(None, Some("127.0.0.1:9001")));
    }
}
