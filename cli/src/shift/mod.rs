//! Shift: move traffic step by step, watch both sides' error rates, roll back on a bad step.

pub mod controller;
pub mod guard;
pub mod journal;
pub mod monitor;
/// The router lives in `shared`: the rollback guard function moves traffic with the same code.
pub use manuel_shared::routing as router;
pub mod routes;
pub mod sources;
pub mod stats;

use monitor::SideCounts;

/// The verdict on one step, from the window's counts.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Rust's error rate is within the allowed difference: go on.
    Healthy,
    /// Rust's error rate exceeds Python's by more than the allowed points: roll back.
    Failing,
    /// Fewer Rust invocations than the minimum sample, but the excess is already significant
    /// at the strict level with enough Rust errors: roll back, do not wait for more failures.
    FailingOnFewInvocations,
    /// Too few Rust invocations to judge.
    Inconclusive,
}

/// Thresholds of a shift.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Allowed excess of Rust's error rate over Python's, in percentage points.
    pub max_error_diff: f64,
    /// Rust invocations needed in a window before judging it.
    pub min_invocations: u64,
    /// Below the minimum sample, a one-sided p-value under this rolls back anyway …
    pub strict_p: f64,
    /// … when Rust has at least this many errors in the window.
    pub min_errors: u64,
}

impl Thresholds {
    /// The strict level and error count used when none are configured.
    pub const STRICT_P: f64 = 0.001;
    pub const MIN_ERRORS: u64 = 5;
}

/// Judge one window. Returns the verdict, the difference in points and the z-test p-value.
pub fn judge(python: SideCounts, rust: SideCounts, t: Thresholds) -> (Verdict, f64, Option<f64>) {
    let diff = (rust.error_rate() - python.error_rate()) * 100.0;
    let p = stats::two_proportion_p_value(
        python.errors,
        python.invocations,
        rust.errors,
        rust.invocations,
    );
    let verdict = if rust.invocations < t.min_invocations {
        let overwhelming = diff > t.max_error_diff
            && rust.errors >= t.min_errors
            && p.is_some_and(|p| p < t.strict_p);
        if overwhelming {
            Verdict::FailingOnFewInvocations
        } else {
            Verdict::Inconclusive
        }
    } else if diff > t.max_error_diff {
        Verdict::Failing
    } else {
        Verdict::Healthy
    };
    (verdict, diff, p)
}

/// Parse a plan `5,25,50,100` into increasing percentages within 0–100.
pub fn parse_plan(s: &str) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let v: f64 = part
            .trim()
            .parse()
            .map_err(|_| format!("--plan: '{part}' is not a number"))?;
        if !(0.0..=100.0).contains(&v) || v == 0.0 {
            return Err(format!("--plan: {v} is outside 1–100"));
        }
        if out.last().is_some_and(|l| v <= *l) {
            return Err(format!(
                "--plan: steps must increase ({v} after {})",
                out.last().copied().unwrap_or(0.0)
            ));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err("--plan is empty".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        max_error_diff: 1.0,
        min_invocations: 200,
        strict_p: Thresholds::STRICT_P,
        min_errors: Thresholds::MIN_ERRORS,
    };

    fn c(invocations: u64, errors: u64) -> SideCounts {
        SideCounts {
            invocations,
            errors,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(judge(c(1000, 10), c(300, 3), T).0, Verdict::Healthy);
        assert_eq!(judge(c(1000, 10), c(300, 10), T).0, Verdict::Failing); // 3.33% vs 1%
        assert_eq!(judge(c(1000, 10), c(100, 1), T).0, Verdict::Inconclusive);
        // Half of a small sample failing is evidence enough (issue 22).
        assert_eq!(
            judge(c(1000, 10), c(100, 50), T).0,
            Verdict::FailingOnFewInvocations
        );
        let (_, diff, p) = judge(c(1000, 10), c(1000, 50), T);
        assert!((diff - 4.0).abs() < 1e-9);
        assert!(p.unwrap() < 0.001);
    }

    #[test]
    fn plans() {
        assert_eq!(parse_plan("5,25,50,100"), Ok(vec![5.0, 25.0, 50.0, 100.0]));
        assert!(parse_plan("5,150").is_err());
        assert!(parse_plan("25,5").is_err());
        assert!(parse_plan("x").is_err());
        assert!(parse_plan("0,5").is_err());
    }
}
