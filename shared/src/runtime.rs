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
