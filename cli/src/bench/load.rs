//! The load generator: closed loop (N workers, next request as soon as the last one answered)
//! or open loop at a fixed rate with coordinated-omission correction (latency counted from the
//! *intended* send time, as wrk2 does), into an HDR histogram.

use crate::exec::Runner;
use crate::fixtures::Case;
use hdrhistogram::Histogram;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How much load, for how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub concurrency: usize,
    /// Measured requests (after warm-up); `None` with `duration` set.
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
    /// Requests per second for the open loop; `None` for the closed loop.
    pub rate: Option<f64>,
    /// Requests sent before measuring (not recorded).
    pub warmup: u64,
}

/// What one side did under load.
#[derive(Debug)]
pub struct LoadResult {
    /// Latency in microseconds.
    pub histogram: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    /// A few error descriptions, for the report.
    pub error_samples: Vec<String>,
    pub elapsed: Duration,
    pub billed_ms_sum: f64,
    pub billed_count: u64,
    pub max_rss_mb: f64,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
}

impl LoadResult {
    pub fn total(&self) -> u64 {
        self.ok + self.errors
    }

    pub fn error_rate(&self) -> f64 {
        if self.total() == 0 {
            0.0
        } else {
            self.errors as f64 / self.total() as f64
        }
    }

    pub fn throughput(&self) -> f64 {
        self.total() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn mean_billed_ms(&self) -> Option<f64> {
        (self.billed_count > 0).then(|| self.billed_ms_sum / self.billed_count as f64)
    }

    /// Latency at a quantile, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds are valid")
}

/// A request the bench counts as an error, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{case}: {why}")]
pub struct Failed {
    pub case: String,
    pub why: String,
}

/// Was the answer what the recording says it should be?
pub fn judge(
    case: &Case,
    answer: &Result<crate::exec::Answer, crate::exec::ExecError>,
) -> Result<(), Failed> {
    let failed = |why: String| Failed {
        case: case.id(),
        why,
    };
    let answer = answer.as_ref().map_err(|e| failed(e.to_string()))?;
    if let Some(crate::exec::runtime_api::Outcome::FunctionError { error_type, .. }) =
        &answer.outcome
    {
        return Err(failed(format!("function error {error_type}")));
    }
    let got = status_of(&answer.response);
    let expected = case.fixture.python.as_ref().map(status_of);
    match expected {
        Some(want) if want != got => Err(failed(format!("status {got}, recorded {want}"))),
        None if got >= 500 => Err(failed(format!("status {got}"))),
        _ => Ok(()),
    }
}

fn status_of(resp: &Value) -> u64 {
    match resp.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

struct Shared {
    hist: Mutex<Histogram<u64>>,
    ok: AtomicU64,
    errors: AtomicU64,
    samples: Mutex<Vec<String>>,
    billed: Mutex<(f64, u64, f64)>,
}

/// Drive `runner` with the case mix. `on_done` is called after each measured request (progress).
pub async fn run(
    runner: &Runner<'_>,
    cases: &[Case],
    cfg: &LoadConfig,
    on_done: &(dyn Fn(u64) + Sync),
) -> Result<LoadResult, crate::fixtures::FixtureError> {
    let requests = cases
        .iter()
        .map(Case::request)
        .collect::<Result<Vec<_>, _>>()?;
    // Warm-up: closed loop, not recorded (starts the sandboxes, fills connection pools).
    let warm = AtomicU64::new(0);
    let warm_worker = || async {
        loop {
            let i = warm.fetch_add(1, Ordering::SeqCst);
            if i >= cfg.warmup || crate::signal::stop_requested() {
                break;
            }
            let _ = runner.answer(&requests[i as usize % cases.len()]).await;
        }
    };
    futures::future::join_all((0..cfg.concurrency).map(|_| warm_worker())).await;

    let shared = Shared {
        hist: Mutex::new(new_histogram()),
        ok: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        samples: Mutex::new(Vec::new()),
        billed: Mutex::new((0.0, 0, 0.0)),
    };
    let next = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = cfg.duration.map(|d| start + d);
    let interval = cfg.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let worker = || async {
        let mut local = new_histogram();
        loop {
            if crate::signal::stop_requested() || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let i = next.fetch_add(1, Ordering::SeqCst);
            if cfg.requests.is_some_and(|n| i >= n) {
                break;
            }
            let intended = match interval {
                Some(iv) => {
                    let at = start + iv.mul_f64(i as f64);
                    if deadline.is_some_and(|d| at >= d) {
                        break;
                    }
                    wait_until(at).await;
                    at
                }
                None => Instant::now(),
            };
            let case = &cases[i as usize % cases.len()];
            let answer = runner.answer(&requests[i as usize % cases.len()]).await;
            let micros = intended.elapsed().as_micros().max(1) as u64;
            let _ = local.record(micros.min(local.high()));
            match judge(case, &answer) {
                Ok(()) => {
                    shared.ok.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut s) = shared.samples.lock() {
                        if s.len() < 10 {
                            s.push(e.to_string());
                        }
                    }
                }
            }
            if let Ok(a) = &answer {
                if let Some(r) = &a.report {
                    if let Ok(mut b) = shared.billed.lock() {
                        b.0 += r.billed_ms as f64;
                        b.1 += 1;
                        b.2 = b.2.max(r.max_rss_mb);
                    }
                }
            }
            on_done(1);
        }
        if let Ok(mut h) = shared.hist.lock() {
            let _ = h.add(&local);
        }
    };
    futures::future::join_all((0..cfg.concurrency).map(|_| worker())).await;
    let elapsed = start.elapsed();
    let (billed_ms_sum, billed_count, max_rss_mb) = *shared.billed.lock().expect("billed lock");
    Ok(LoadResult {
        histogram: shared.hist.into_inner().expect("histogram lock"),
        ok: shared.ok.into_inner(),
        errors: shared.errors.into_inner(),
        error_samples: shared.samples.into_inner().unwrap_or_default(),
        elapsed,
        billed_ms_sum,
        billed_count,
        max_rss_mb,
        interrupted: crate::signal::stop_requested(),
    })
}

/// Sleep until `at` with sub-millisecond precision: Tokio's timer wheel has 1 ms granularity, and
/// an open loop that woke up to 1 ms late would count its own lateness as latency. Sleep to
/// within 1 ms, then yield until the moment.
async fn wait_until(at: Instant) {
    const SLACK: Duration = Duration::from_millis(1);
    if let Some(early) = at.checked_sub(SLACK) {
        if early > Instant::now() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(early)).await;
        }
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

/// A duration that is not one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(String);

/// Parse `500ms`, `30s`, `10m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| DurationError(format!("invalid duration '{s}' (e.g. 30s, 10m, 500ms)")))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(DurationError(format!(
                "invalid duration unit in '{s}' (ms, s, m, h)"
            )))
        }
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(DurationError(format!("duration '{s}' must be positive")));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
