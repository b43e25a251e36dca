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

/// The functions' log format: level from [`log_level`], no timestamps (CloudWatch adds them),
/// no colours.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_max_level(log_level())
        .without_time()
        .with_ansi(false)
        .init();
}

/// Fault injection for rehearsals: with `MANUEL_MIGRATE_FAULT_PERCENT=N` set, exactly N % of the
/// invocations (evenly spread) report a function error. Unset or 0 in production.
pub fn fault_due() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PERCENT: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let pct = *PERCENT.get_or_init(|| {
        std::env::var("MANUEL_MIGRATE_FAULT_PERCENT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(100)
    });
    if pct == 0 {
        return false;
    }
    let n = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
    n * pct / 100 != (n - 1) * pct / 100
}

#[cfg(test)]
mod tests {
    #[test]
    fn fault_injection_is_exact_and_off_by_default() {
        // The variable is read once per process; this test owns it.
        std::env::set_var("MANUEL_MIGRATE_FAULT_PERCENT", "20");
        let failed = (0..1000).filter(|_| super::fault_due()).count();
        assert_eq!(failed, 200);
    }
}
