use super::*;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Mutex;

/// A router that remembers the weight, and can be told to fail.
struct FakeRouter {
    weight: Mutex<f64>,
    fail_set: bool,
}

impl FakeRouter {
    fn at(w: f64) -> Self {
        Self {
            weight: Mutex::new(w),
            fail_set: false,
        }
    }
    fn weight(&self) -> f64 {
        *self.weight.lock().unwrap()
    }
}

impl Routing for FakeRouter {
    fn describe_set(&self, percent: f64) -> String {
        format!("fake:set {percent}")
    }
    async fn read(&self) -> Result<Weights, RouterError> {
        Ok(Weights {
            rust_percent: self.weight(),
            detail: "fake".into(),
        })
    }
    async fn set(&self, percent: f64) -> Result<(), RouterError> {
        if self.fail_set {
            return Err(RouterError::MissingSet {
                record: "r".into(),
                set: "s".into(),
            });
        }
        *self.weight.lock().unwrap() = percent;
        Ok(())
    }
}

/// Windows served in order; the last one repeats.
struct Windows(Mutex<VecDeque<Result<(SideCounts, SideCounts), MetricsError>>>);

fn windows(w: Vec<Result<(SideCounts, SideCounts), MetricsError>>) -> Windows {
    Windows(Mutex::new(w.into()))
}

impl Metrics for Windows {
    async fn read(&self, _: Duration) -> Result<(SideCounts, SideCounts), MetricsError> {
        let mut q = self.0.lock().unwrap();
        if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q.front().cloned().unwrap()
        }
    }
}

struct NoPause;
impl Pause for NoPause {
    async fn wait(&self, _: Duration, _: f64) {}
}

fn c(invocations: u64, errors: u64) -> SideCounts {
    SideCounts {
        invocations,
        errors,
    }
}

fn unreadable(message: &str) -> MetricsError {
    MetricsError {
        metric: "Invocations".into(),
        message: message.into(),
    }
}

fn ok(py: (u64, u64), rs: (u64, u64)) -> Result<(SideCounts, SideCounts), MetricsError> {
    Ok((c(py.0, py.1), c(rs.0, rs.1)))
}

const T: Thresholds = Thresholds {
    max_error_diff: 1.0,
    min_invocations: 200,
    strict_p: 0.001,
    min_errors: 5,
};

struct Run {
    outcome: Result<Outcome, ControllerError>,
    events: Vec<Event>,
    journal: Vec<(EventKind, Action, Option<f64>)>,
    weight: f64,
}

fn run(router: FakeRouter, m: Windows, steps: &[f64], force: bool, pre: &[Action]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::new(dir.path().join("j.jsonl"));
    for a in pre {
        journal
            .append("f", EventKind::Decision, *a, Some(0.0), None, "earlier")
            .unwrap();
    }
    let ctl = Controller {
        function: "f",
        router: &router,
        metrics: &m,
        pause: &NoPause,
        journal: &journal,
        thresholds: T,
        limits: Limits {
            inconclusive: 3,
            metric_errors: 3,
        },
        interval: Duration::from_secs(600),
    };
    let events = RefCell::new(Vec::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome = rt.block_on(ctl.run_plan(steps, force, &mut |e| events.borrow_mut().push(e)));
    let journal = journal
        .entries("f")
        .into_iter()
        .skip(pre.len())
        .map(|e| (e.event, e.action, e.percent))
        .collect();
    Run {
        outcome,
        events: events.into_inner(),
        journal,
        weight: router.weight(),
    }
}

fn decisions(journal: &[(EventKind, Action, Option<f64>)]) -> Vec<Action> {
    journal
        .iter()
        .filter(|(e, _, _)| *e == EventKind::Decision)
        .map(|(_, a, _)| *a)
        .collect()
}

#[test]
fn healthy_windows_walk_the_plan_to_100() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![ok((1000, 5), (300, 1))]),
        &[5.0, 25.0, 100.0],
        false,
        &[],
    );
    assert_eq!(r.outcome.unwrap(), Outcome::Reached(100.0));
    assert_eq!(r.weight, 100.0);
    assert_eq!(
        decisions(&r.journal),
        [Action::Promote, Action::Promote, Action::Done]
    );
    assert!(r.events.contains(&Event::Promoted));
    // Every weight change is an intent followed by its outcome.
    let calls: Vec<_> = r
        .journal
        .iter()
        .filter(|(_, a, _)| *a == Action::SetWeight)
        .map(|(e, _, p)| (*e, *p))
        .collect();
    assert_eq!(calls.len(), 6);
    assert!(calls
        .chunks(2)
        .all(|w| w[0].0 == EventKind::Intent && w[1].0 == EventKind::Outcome && w[0].1 == w[1].1));
}

#[test]
fn a_failing_window_rolls_back_at_once() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![ok((1000, 10), (300, 3)), ok((1000, 10), (300, 30))]),
        &[5.0, 25.0, 50.0, 100.0],
        false,
        &[],
    );
    let out = r.outcome.unwrap();
    assert!(
        matches!(out, Outcome::RolledBack { from, .. } if from == 25.0),
        "{out:?}"
    );
    assert_eq!(out.exit_code(), 1);
    assert_eq!(r.weight, 0.0);
    assert_eq!(decisions(&r.journal), [Action::Promote, Action::Rollback]);
}

/// Issue 22: 5 of 17 Rust invocations failed (Δ +29 points, p < 0.0001) and the controller
/// held, then stopped at 5 % "for too few invocations", leaving a failing Rust its share.
#[test]
fn overwhelming_evidence_rolls_back_below_the_minimum_sample() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![ok((320, 0), (17, 5))]),
        &[5.0, 50.0, 100.0],
        false,
        &[],
    );
    let out = r.outcome.unwrap();
    match &out {
        Outcome::RolledBack { from, reason } => {
            assert_eq!(*from, 5.0);
            assert!(reason.contains("significant at p < 0.001"), "{reason}");
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(r.weight, 0.0);
    assert_eq!(decisions(&r.journal), [Action::Rollback]);
}

/// A couple of errors in a small sample is noise, not evidence: the minimum sample holds.
#[test]
fn a_few_errors_in_a_small_sample_only_hold() {
    let (v, _, p) = judge(c(320, 0), c(17, 2), T);
    assert_eq!(v, Verdict::Inconclusive, "p = {p:?}");
    let (v, _, _) = judge(c(320, 3), c(40, 5), T);
    assert_eq!(v, Verdict::FailingOnFewInvocations);
}

#[test]
fn too_few_invocations_stop_the_plan_and_say_where() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![ok((50, 0), (3, 0))]),
        &[5.0, 25.0, 100.0],
        false,
        &[],
    );
    let out = r.outcome.unwrap();
    assert!(
        matches!(&out, Outcome::Stopped { at, .. } if *at == 5.0),
        "{out:?}"
    );
    assert_eq!(out.exit_code(), 1, "a stopped plan is not a success");
    assert!(out.summary("f").contains("Rust keeps 5% of the traffic"));
    assert_eq!(r.weight, 5.0);
    assert_eq!(
        decisions(&r.journal),
        [Action::Hold, Action::Hold, Action::Stop]
    );
}

#[test]
fn unreadable_metrics_hold_then_roll_back() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![Err(unreadable("connection refused"))]),
        &[5.0, 100.0],
        false,
        &[],
    );
    assert!(matches!(r.outcome.unwrap(), Outcome::RolledBack { .. }));
    assert_eq!(r.weight, 0.0);
    assert_eq!(
        decisions(&r.journal),
        [Action::Hold, Action::Hold, Action::Hold, Action::Rollback]
    );
    let unavailable = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::MetricsUnavailable { .. }))
        .count();
    assert_eq!(unavailable, 3);
}

#[test]
fn a_metric_read_that_recovers_resets_the_count() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![
            Err(unreadable("x")),
            Err(unreadable("x")),
            ok((1000, 0), (300, 0)),
            Err(unreadable("x")),
            Err(unreadable("x")),
            ok((1000, 0), (300, 0)),
        ]),
        &[5.0, 25.0, 100.0],
        false,
        &[],
    );
    assert_eq!(r.outcome.unwrap(), Outcome::Reached(100.0));
}

#[test]
fn a_rerun_resumes_above_the_current_weight() {
    let r = run(
        FakeRouter::at(25.0),
        windows(vec![ok((1000, 0), (300, 0))]),
        &[5.0, 25.0, 50.0, 100.0],
        false,
        &[],
    );
    assert_eq!(r.outcome.unwrap(), Outcome::Reached(100.0));
    let set: Vec<_> = r
        .journal
        .iter()
        .filter(|(e, a, _)| *e == EventKind::Intent && *a == Action::SetWeight)
        .map(|(_, _, p)| p.unwrap())
        .collect();
    assert_eq!(set, [50.0, 100.0]);
    let r = run(
        FakeRouter::at(100.0),
        windows(vec![ok((1, 0), (1, 0))]),
        &[5.0, 100.0],
        false,
        &[],
    );
    assert_eq!(r.outcome.unwrap(), Outcome::NothingToDo(100.0));
}

#[test]
fn after_a_rollback_going_up_needs_force() {
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![ok((1000, 0), (300, 0))]),
        &[5.0, 100.0],
        false,
        &[Action::Rollback],
    );
    assert!(matches!(
        r.outcome,
        Err(ControllerError::RolledBackBefore { .. })
    ));
    assert_eq!(r.weight, 0.0, "no weight was changed");
    assert!(r.journal.is_empty());
    let r = run(
        FakeRouter::at(0.0),
        windows(vec![ok((1000, 0), (300, 0))]),
        &[5.0, 100.0],
        true,
        &[Action::Rollback],
    );
    assert_eq!(r.outcome.unwrap(), Outcome::Reached(100.0));
    assert_eq!(decisions(&r.journal)[0], Action::Force);
}

#[test]
fn a_failed_routing_call_is_journaled_and_returned() {
    let mut router = FakeRouter::at(0.0);
    router.fail_set = true;
    let r = run(
        router,
        windows(vec![ok((1, 0), (1, 0))]),
        &[5.0, 100.0],
        false,
        &[],
    );
    assert!(matches!(r.outcome, Err(ControllerError::Router(_))));
    assert_eq!(
        r.journal.last().map(|(e, a, _)| (*e, *a)),
        Some((EventKind::Outcome, Action::SetWeight))
    );
}

#[test]
fn warnings_when_the_traffic_cannot_reach_the_minimum() {
    let w = sample_warnings(&[5.0, 50.0, 100.0], 400.0, 200);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("at 5% Rust can expect about 20 invocations"));
    assert!(sample_warnings(&[5.0], 10_000.0, 200).is_empty());
}
