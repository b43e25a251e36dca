//! Running parity cases through the execution layer: the Python side twice (noise), the Rust
//! side once, both on the same prepared state, compared with the rules.

use super::diff::{diff_answers, diff_state, DiffInput, SideCtx};
use super::report::{CaseResult, Verdict};
use super::rules::Rules;
use super::ParityError;
use crate::exec::guard::{answer_prepared, two_steps};
use crate::exec::{Answer, Runner, StateGuard};
use crate::fixtures::{Case, RecordMeta};
use crate::stack::Stack;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;

/// Where the Python answers come from.
pub enum PythonSide<'a> {
    /// The responses recorded in the fixtures.
    Recorded,
    /// The real handlers, run now (invoked twice per case to measure noise).
    Live(&'a Runner<'a>),
}

pub fn ctx_now(stack: Option<&Stack>) -> SideCtx {
    SideCtx {
        at: chrono::Utc::now().timestamp(),
        vars: stack.map(Stack::vars).unwrap_or_default(),
    }
}

/// Paths where two answers of the same side differ (no rules: raw disagreement).
pub fn noise_between(
    a: &Answer,
    b: &Answer,
    kind: crate::exec::EventKind,
    ctx: &SideCtx,
) -> Vec<String> {
    let rules = Rules::default();
    let input = DiffInput {
        function: "",
        case: "",
        rules: &rules,
        noise: &[],
        python: ctx,
        rust: ctx,
    };
    let mut paths: Vec<String> = diff_answers(&input, kind, &a.response, &b.response)
        .into_iter()
        .map(|d| d.path)
        .collect();
    paths.dedup();
    paths
}

/// Paths where two state changes of the same side differ (no rules: raw disagreement).
pub fn state_noise_between(a: &Value, b: &Value, ctx: &SideCtx) -> Vec<String> {
    let rules = Rules::default();
    let input = DiffInput {
        function: "",
        case: "",
        rules: &rules,
        noise: &[],
        python: ctx,
        rust: ctx,
    };
    diff_state(&input, a, b)
        .into_iter()
        .map(|d| d.path)
        .collect()
}

/// The side context of a case run now: its clock (when pinned) is "now".
fn case_ctx(case: &Case, stack: Option<&Stack>) -> SideCtx {
    let mut ctx = ctx_now(stack);
    if let Some(clock) = case.clock() {
        ctx.at = clock.timestamp();
    }
    ctx
}

/// The side context of an answer: a process started at the case's pinned clock has lived on
/// since, and reads that clock plus its age (a warm process may be minutes old).
fn answer_ctx(mut ctx: SideCtx, case: &Case, answer: &Answer) -> SideCtx {
    let age = answer.report.as_ref().and_then(|r| r.process_age_s);
    if let (Some(_), Some(age)) = (case.clock(), age) {
        ctx.at += age.round() as i64;
    }
    ctx
}

/// Run the Python side of a case live: two invocations, the first answer and the noise.
pub async fn python_twice(
    runner: &Runner<'_>,
    case: &Case,
    stack: Option<&Stack>,
    state: Option<&StateGuard<'_>>,
) -> Result<(Answer, Option<Value>, Vec<String>, SideCtx), ParityError> {
    let req = case.request()?;
    let _one_at_a_time = match state {
        Some(g) if req.needs_state() => Some(g.one_at_a_time().await),
        _ => None,
    };
    let ctx = case_ctx(case, stack);
    let (first, first_state) = answer_prepared(runner, &req, state).await?;
    let (second, second_state) = answer_prepared(runner, &req, state).await?;
    let mut noise = noise_between(&first, &second, case.fixture.kind, &ctx);
    let ctx = answer_ctx(ctx, case, &first);
    if let (Some(a), Some(b)) = (&first_state, &second_state) {
        noise.extend(state_noise_between(a, b, &ctx));
        noise.dedup();
    }
    Ok((first, first_state, noise, ctx))
}

/// Run and compare one case.
pub async fn run_case(
    case: &Case,
    rules: &Rules,
    rust: &Runner<'_>,
    python: &PythonSide<'_>,
    stack: Option<&Stack>,
    state: Option<&StateGuard<'_>>,
    allow_writes: bool,
) -> Result<CaseResult, ParityError> {
    let started = Instant::now();
    let req = case.request()?;
    let refusal = rust.refuses(&req, allow_writes).or_else(|| match python {
        PythonSide::Live(r) => r.refuses(&req, allow_writes),
        PythonSide::Recorded => None,
    });
    if let Some(why) = refusal {
        return Ok(CaseResult::skipped(case, why));
    }
    let (py_response, py_report, py_state, noise, py_ctx) = match python {
        PythonSide::Recorded => {
            let resp = case.recorded_response()?.clone();
            let meta = case.fixture.recorded.clone().unwrap_or(RecordMeta {
                at: 0,
                vars: BTreeMap::new(),
                source: String::new(),
                oracle: Default::default(),
            });
            (
                resp,
                None,
                case.fixture.state.clone(),
                case.fixture.noise.clone(),
                SideCtx {
                    at: case.clock().map_or(meta.at, |c| c.timestamp()),
                    vars: meta.vars,
                },
            )
        }
        PythonSide::Live(runner) => {
            let (answer, st, mut noise, ctx) = python_twice(runner, case, stack, state).await?;
            // What varied between the recording's two runs is noise now too: two live runs
            // inside one second agree on a `time.time()` value the Rust run a second later
            // does not.
            for path in &case.fixture.noise {
                if !noise.contains(path) {
                    noise.push(path.clone());
                }
            }
            (answer.response, answer.report, st, noise, ctx)
        }
    };
    let _one_at_a_time = match state {
        Some(g) if req.needs_state() => Some(g.one_at_a_time().await),
        _ => None,
    };
    let (answer, rust_state) = answer_prepared(rust, &req, state).await?;
    let rust_ctx = answer_ctx(case_ctx(case, stack), case, &answer);
    let input = DiffInput {
        function: &case.function,
        case: &case.fixture.name,
        rules,
        noise: &noise,
        python: &py_ctx,
        rust: &rust_ctx,
    };
    let mut differences = diff_answers(&input, case.fixture.kind, &py_response, &answer.response);
    // State: compared when the Rust side ran on the local stack; a recording without state
    // (made before state was recorded) compares as "no state change".
    let py_state = match (&rust_state, py_state) {
        (Some(_), None) => Some(Value::Object(Default::default())),
        (_, s) => s,
    };
    if let (Some(p), Some(r)) = (&py_state, &rust_state) {
        differences.extend(diff_state(&input, p, r));
    }
    Ok(CaseResult {
        function: case.function.clone(),
        case: case.fixture.name.clone(),
        file: case.file.display().to_string(),
        verdict: Verdict::of(&differences),
        differences,
        python: py_response,
        rust: answer.response,
        python_report: py_report,
        rust_report: answer.report,
        noise,
        python_state: py_state,
        rust_state,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        skipped: None,
    })
}

/// Who answers each of a cross case's two steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    PythonPython,
    PythonRust,
    RustPython,
}

impl Order {
    fn label(self) -> &'static str {
        match self {
            Order::PythonPython => "python→python",
            Order::PythonRust => "python→rust",
            Order::RustPython => "rust→python",
        }
    }
}

/// Cross-read one stateful case: Python→Rust and Rust→Python against Python→Python. The second
/// step must answer as Python answers after its own write (a cache hit with the same body, the
/// same counter), and the pair must leave the same state. Two results, one per mixed order.
pub async fn run_cross(
    case: &Case,
    rules: &Rules,
    python: &Runner<'_>,
    rust: &Runner<'_>,
    guard: &StateGuard<'_>,
) -> Result<Vec<CaseResult>, ParityError> {
    let _one_at_a_time = guard.one_at_a_time().await;
    let started = Instant::now();
    let req = case.request()?;
    let ctx = case_ctx(case, Some(guard.stack));
    let (ref_first, ref_second, ref_state) = two_steps(&req, python, python, guard).await?;
    // Python against itself, once more: what differs there is noise, not a cross-read error.
    let (_, again_second, again_state) = two_steps(&req, python, python, guard).await?;
    let mut noise = noise_between(&ref_second, &again_second, case.fixture.kind, &ctx);
    noise.extend(state_noise_between(&ref_state, &again_state, &ctx));
    noise.dedup();
    let mut out = Vec::new();
    for order in [Order::PythonRust, Order::RustPython] {
        let (first, second) = match order {
            Order::PythonRust => (python, rust),
            _ => (rust, python),
        };
        let (a, b, state) = two_steps(&req, first, second, guard).await?;
        let name = format!("{}~{}", case.fixture.name, order.label());
        let input = DiffInput {
            function: &case.function,
            case: &case.fixture.name,
            rules,
            noise: &noise,
            python: &ctx,
            rust: &ctx,
        };
        let mut differences = Vec::new();
        // The first step, when Rust wrote: it must have answered as Python did.
        if order == Order::RustPython {
            for mut d in diff_answers(&input, case.fixture.kind, &ref_first.response, &a.response) {
                d.detail = Some(format!("step 1 (rust writes){}", detail_suffix(&d.detail)));
                differences.push(d);
            }
        }
        for mut d in diff_answers(&input, case.fixture.kind, &ref_second.response, &b.response) {
            d.detail = Some(format!(
                "step 2 ({} reads){}",
                if order == Order::PythonRust {
                    "rust"
                } else {
                    "python"
                },
                detail_suffix(&d.detail)
            ));
            differences.push(d);
        }
        differences.extend(diff_state(&input, &ref_state, &state));
        out.push(CaseResult {
            function: case.function.clone(),
            case: name,
            file: case.file.display().to_string(),
            verdict: Verdict::of(&differences),
            differences,
            python: ref_second.response.clone(),
            rust: b.response,
            python_report: None,
            rust_report: None,
            noise: noise.clone(),
            python_state: Some(ref_state.clone()),
            rust_state: Some(state),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            skipped: None,
        });
    }
    Ok(out)
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}
