//! The shift controller: a state machine over a [`Routing`] (who gets traffic), a [`Metrics`]
//! source (what each side did in a window) and a [`Pause`] (how a window passes), writing typed
//! journal lines and telling an observer what it decided. `shift`, `rehearse` and the tests drive
//! the same code; the tests use fakes and run in milliseconds.
//!
//! States: for each remaining step — set the weight (intent, call, outcome) → watch a window →
//! judge → *promote* (next step), *hold* (watch again), *stop* (too many inconclusive windows:
//! Rust keeps the weight it has, and that is said) or *roll back* (Rust to 0 % at once). Reaching
//! 100 % promotes. Metric-read failures hold, and roll back after `metric_error_limit` in a row:
//! a controller that cannot see must not leave traffic where it is.

use super::journal::{Action, EventKind, Journal};
use super::monitor::{MetricsError, Monitor, SideCounts};
use super::router::{Router, RouterError, Weights};
use super::{judge, Thresholds, Verdict};
use std::future::Future;
use std::time::Duration;

/// Who gets the traffic.
pub trait Routing {
    /// The AWS call [`Routing::set`] makes, in words (journal, dry run).
    fn describe_set(&self, percent: f64) -> String;
    fn read(&self) -> impl Future<Output = Result<Weights, RouterError>> + Send;
    fn set(&self, percent: f64) -> impl Future<Output = Result<(), RouterError>> + Send;
}

/// What each side did over the last window: (python, rust).
pub trait Metrics {
    fn read(
        &self,
        window: Duration,
    ) -> impl Future<Output = Result<(SideCounts, SideCounts), MetricsError>> + Send;
}

/// How a watch window passes (a progress bar in the CLI, nothing in tests).
pub trait Pause {
    fn wait(&self, window: Duration, step: f64) -> impl Future<Output = ()> + Send;
}

impl Routing for Router {
    fn describe_set(&self, percent: f64) -> String {
        Router::describe_set(self, percent)
    }
    fn read(&self) -> impl Future<Output = Result<Weights, RouterError>> + Send {
        Router::read(self)
    }
    fn set(&self, percent: f64) -> impl Future<Output = Result<(), RouterError>> + Send {
        Router::set(self, percent)
    }
}

impl Metrics for Monitor {
    fn read(
        &self,
        window: Duration,
    ) -> impl Future<Output = Result<(SideCounts, SideCounts), MetricsError>> + Send {
        Monitor::read(self, window)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error("journal: {0}")]
    Journal(#[from] std::io::Error),
    #[error("{function}: the last verdict was a rollback ({detail}); fix the cause and pass --force to shift up again")]
    RolledBackBefore { function: String, detail: String },
}

/// Windows the controller tolerates before it acts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Inconclusive windows in a row before the plan stops.
    pub inconclusive: u32,
    /// Failed metric reads in a row before it rolls back.
    pub metric_errors: u32,
}

/// One judged window.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub step: f64,
    pub python: SideCounts,
    pub rust: SideCounts,
    /// Rust's error rate minus Python's, in percentage points.
    pub diff: f64,
    /// One-sided two-proportion z-test p-value.
    pub p_value: Option<f64>,
    pub verdict: Verdict,
}

impl Judgement {
    /// `python 300/0 rust 17/5 Δ +29.41 points (limit 1), p-value 0.0000`.
    pub fn detail(&self, t: &Thresholds) -> String {
        format!(
            "python {}/{} rust {}/{} Δ {:+.2} points (limit {}), p-value {}",
            self.python.invocations,
            self.python.errors,
            self.rust.invocations,
            self.rust.errors,
            self.diff,
            t.max_error_diff,
            self.p_text()
        )
    }

    pub fn p_text(&self) -> String {
        self.p_value
            .map(|p| format!("{p:.4}"))
            .unwrap_or_else(|| "—".into())
    }
}

/// What the controller tells its observer, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The weight read from AWS before anything is done.
    Current(Weights),
    /// Rust's share was set.
    WeightSet(f64),
    /// A window was judged, and what followed (promote, hold, stop, rollback).
    Judged {
        judgement: Judgement,
        action: Action,
        /// `inconclusive (2/3)` and the like.
        note: String,
    },
    /// Metrics could not be read (count in a row, limit, error).
    MetricsUnavailable {
        step: f64,
        count: u32,
        limit: u32,
        error: String,
    },
    /// Rust reached 100 %.
    Promoted,
}

/// How a shift ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The last step was reached (100 %: the alias points at Rust).
    Reached(f64),
    /// Every step was at or below the current weight already.
    NothingToDo(f64),
    /// Rust was sent back to 0 %.
    RolledBack { from: f64, reason: String },
    /// The plan ended before its last step; Rust keeps `at` percent of the traffic.
    Stopped { at: f64, reason: String },
}

impl Outcome {
    /// 0 when the plan reached its end, 1 when it rolled back or stopped short.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Reached(_) | Outcome::NothingToDo(_) => crate::exit::OK,
            Outcome::RolledBack { .. } | Outcome::Stopped { .. } => crate::exit::GATE_FAILED,
        }
    }

    /// One line for the end of a run.
    pub fn summary(&self, function: &str) -> String {
        match self {
            Outcome::Reached(p) if *p >= 100.0 => format!("{function}: promoted, Rust at 100%"),
            Outcome::Reached(p) => format!("{function}: plan done, Rust at {p}%"),
            Outcome::NothingToDo(p) => {
                format!("{function}: nothing to do, Rust is already at {p:.1}%")
            }
            Outcome::RolledBack { from, reason } => {
                format!("{function}: ROLLED BACK from {from}% to 0% — {reason}")
            }
            Outcome::Stopped { at, reason } => format!(
                "{function}: STOPPED at {at}% — Rust keeps {at}% of the traffic: {reason}. \
                 `manuel-migrate rollback --function {function}` sends it back to Python; \
                 running the plan again resumes it"
            ),
        }
    }
}

/// The controller of one function's shift.
pub struct Controller<'a, R, M, P> {
    pub function: &'a str,
    pub router: &'a R,
    pub metrics: &'a M,
    pub pause: &'a P,
    pub journal: &'a Journal,
    pub thresholds: Thresholds,
    pub limits: Limits,
    pub interval: Duration,
}

impl<R: Routing, M: Metrics, P: Pause> Controller<'_, R, M, P> {
    fn journal(
        &self,
        event: EventKind,
        action: Action,
        percent: Option<f64>,
        ok: Option<bool>,
        detail: &str,
    ) -> Result<(), ControllerError> {
        Ok(self
            .journal
            .append(self.function, event, action, percent, ok, detail)?)
    }

    fn decide(&self, action: Action, percent: f64, detail: &str) -> Result<(), ControllerError> {
        self.journal(EventKind::Decision, action, Some(percent), None, detail)
    }

    /// Set the weight with its intent and outcome in the journal.
    pub async fn set_weight(&self, percent: f64) -> Result<(), ControllerError> {
        let call = self.router.describe_set(percent);
        self.journal(
            EventKind::Intent,
            Action::SetWeight,
            Some(percent),
            None,
            &call,
        )?;
        match self.router.set(percent).await {
            Ok(()) => self.journal(
                EventKind::Outcome,
                Action::SetWeight,
                Some(percent),
                Some(true),
                "",
            ),
            Err(e) => {
                self.journal(
                    EventKind::Outcome,
                    Action::SetWeight,
                    Some(percent),
                    Some(false),
                    &e.to_string(),
                )?;
                Err(e.into())
            }
        }
    }

    /// Rust to 0 % at once, journaled with the reason.
    pub async fn rollback(&self, why: &str) -> Result<(), ControllerError> {
        self.set_weight(0.0).await?;
        self.decide(Action::Rollback, 0.0, why)
    }

    /// Read the weight and refuse to go up after a rollback unless forced.
    async fn begin(
        &self,
        steps: &[f64],
        force: bool,
        observe: &mut impl FnMut(Event),
    ) -> Result<Weights, ControllerError> {
        let current = self.router.read().await?;
        observe(Event::Current(current.clone()));
        let going_up = steps.iter().any(|s| *s > current.rust_percent);
        if going_up && self.journal.rolled_back(self.function) && !force {
            return Err(ControllerError::RolledBackBefore {
                function: self.function.to_owned(),
                detail: self
                    .journal
                    .last_decision(self.function)
                    .map(|d| d.detail)
                    .unwrap_or_default(),
            });
        }
        if force {
            self.decide(
                Action::Force,
                current.rust_percent,
                "shift forced after a rollback",
            )?;
        }
        Ok(current)
    }

    /// `shift --percent N`: one weight, no watching.
    pub async fn set_once(
        &self,
        percent: f64,
        force: bool,
        observe: &mut impl FnMut(Event),
    ) -> Result<Outcome, ControllerError> {
        let current = self.begin(&[percent], force, observe).await?;
        self.journal(
            EventKind::Start,
            Action::Percent,
            Some(current.rust_percent),
            None,
            &format!("steps [{percent}]"),
        )?;
        self.set_weight(percent).await?;
        observe(Event::WeightSet(percent));
        let now = self.router.read().await?;
        let action = if percent >= 100.0 {
            Action::Done
        } else {
            Action::Set
        };
        self.decide(action, now.rust_percent, "manual")?;
        Ok(Outcome::Reached(now.rust_percent))
    }

    /// `shift --plan`: walk the steps above the current weight (so a re-run resumes).
    pub async fn run_plan(
        &self,
        steps: &[f64],
        force: bool,
        observe: &mut impl FnMut(Event),
    ) -> Result<Outcome, ControllerError> {
        let current = self.begin(steps, force, observe).await?;
        self.journal(
            EventKind::Start,
            Action::Plan,
            Some(current.rust_percent),
            None,
            &format!("steps {steps:?}, interval {:?}", self.interval),
        )?;
        let remaining: Vec<f64> = steps
            .iter()
            .copied()
            .filter(|s| *s > current.rust_percent)
            .collect();
        if remaining.is_empty() {
            return Ok(Outcome::NothingToDo(current.rust_percent));
        }
        let mut last = current.rust_percent;
        for step in remaining {
            self.set_weight(step).await?;
            observe(Event::WeightSet(step));
            last = step;
            if step >= 100.0 {
                self.decide(
                    Action::Done,
                    100.0,
                    "promoted: all traffic goes to the Rust version",
                )?;
                observe(Event::Promoted);
                return Ok(Outcome::Reached(100.0));
            }
            if let Some(end) = self.watch(step, observe).await? {
                return Ok(end);
            }
        }
        Ok(Outcome::Reached(last))
    }

    /// Watch windows at `step` until one is healthy (`None`: go on) or the plan ends here.
    async fn watch(
        &self,
        step: f64,
        observe: &mut impl FnMut(Event),
    ) -> Result<Option<Outcome>, ControllerError> {
        let t = self.thresholds;
        let (mut inconclusive, mut metric_errors) = (0u32, 0u32);
        loop {
            self.pause.wait(self.interval, step).await;
            let (python, rust) = match self.metrics.read(self.interval).await {
                Ok(counts) => {
                    metric_errors = 0;
                    counts
                }
                Err(error) => {
                    let error = error.to_string();
                    metric_errors += 1;
                    let limit = self.limits.metric_errors;
                    self.decide(
                        Action::Hold,
                        step,
                        &format!("metrics unavailable ({metric_errors}/{limit}): {error}"),
                    )?;
                    observe(Event::MetricsUnavailable {
                        step,
                        count: metric_errors,
                        limit,
                        error: error.clone(),
                    });
                    if metric_errors >= limit {
                        let reason =
                            format!("metrics unavailable {metric_errors} times in a row: {error}");
                        self.rollback(&reason).await?;
                        return Ok(Some(Outcome::RolledBack { from: step, reason }));
                    }
                    continue;
                }
            };
            let (verdict, diff, p_value) = judge(python, rust, t);
            let judgement = Judgement {
                step,
                python,
                rust,
                diff,
                p_value,
                verdict: verdict.clone(),
            };
            let detail = judgement.detail(&t);
            let mut tell = |action: Action, note: String| {
                observe(Event::Judged {
                    judgement: judgement.clone(),
                    action,
                    note,
                })
            };
            match verdict {
                Verdict::Healthy => {
                    self.decide(Action::Promote, step, &detail)?;
                    tell(Action::Promote, "healthy: next step".into());
                    return Ok(None);
                }
                Verdict::Failing | Verdict::FailingOnFewInvocations => {
                    let reason = if verdict == Verdict::Failing {
                        detail
                    } else {
                        format!(
                            "{detail}: significant at p < {} with {} Rust errors, before {} invocations",
                            t.strict_p, rust.errors, t.min_invocations
                        )
                    };
                    tell(Action::Rollback, "FAILING: rollback".into());
                    self.rollback(&reason).await?;
                    return Ok(Some(Outcome::RolledBack { from: step, reason }));
                }
                Verdict::Inconclusive => {
                    inconclusive += 1;
                    let limit = self.limits.inconclusive;
                    if inconclusive >= limit {
                        let reason = format!(
                            "fewer than {} Rust invocations in {inconclusive} windows ({detail})",
                            t.min_invocations
                        );
                        self.decide(Action::Stop, step, &reason)?;
                        tell(
                            Action::Stop,
                            format!("inconclusive ({inconclusive}/{limit}): STOP"),
                        );
                        return Ok(Some(Outcome::Stopped { at: step, reason }));
                    }
                    self.decide(Action::Hold, step, &format!("inconclusive: {detail}"))?;
                    tell(
                        Action::Hold,
                        format!("inconclusive ({inconclusive}/{limit})"),
                    );
                }
            }
        }
    }
}

/// Steps at which `per_window` invocations in all (both sides) cannot give Rust
/// `min_invocations` in one window: a warning line each, before the plan starts.
pub fn sample_warnings(steps: &[f64], per_window: f64, min_invocations: u64) -> Vec<String> {
    steps
        .iter()
        .filter(|s| **s < 100.0)
        .filter_map(|s| {
            let expected = per_window * s / 100.0;
            (expected < min_invocations as f64).then(|| {
                format!(
                    "at {s}% Rust can expect about {expected:.0} invocations per window, fewer than \
                     --min-invocations {min_invocations}: that step can only end on a significant \
                     failure, or stop"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
