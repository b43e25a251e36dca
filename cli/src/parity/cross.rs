//! Running cross-read scenarios (`fixtures::cross`): a few steps (function + event) on one
//! seeded state — a query that counts usage, then the usage endpoint
//! that reports it; later a manual stored by one function and listed by another. During the
//! shift any step may be answered by either implementation, so each step is run once by Rust
//! while the others run on Python, and every answer and the final state must match the
//! all-Python run.

use super::diff::{diff_answers, diff_state, DiffInput};
use super::report::{CaseResult, Verdict};
use super::rules::Rules;
use super::run::{noise_between, state_noise_between};
use super::ParityError;
use crate::exec::snapshot::Snapshot;
use crate::exec::{Answer, ExecError, Runner, StateGuard};
use crate::fixtures::cross::Loaded;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;

/// Both runners of each function a scenario uses.
pub struct Sides<'a> {
    pub python: HashMap<String, Runner<'a>>,
    pub rust: HashMap<String, Runner<'a>>,
}

/// Run the steps with the given side per step (`true` = Rust) on a fresh seeded stack.
async fn run_steps(
    sc: &Loaded,
    rust_at: &[bool],
    sides: &Sides<'_>,
    guard: &StateGuard<'_>,
) -> Result<(Vec<Answer>, Value), ParityError> {
    guard.prepare(&sc.cases[0].request()?).await?;
    let before = Snapshot::take(guard.stack).await.map_err(ExecError::from)?;
    let mut answers = Vec::new();
    for (case, rust) in sc.cases.iter().zip(rust_at) {
        let map = if *rust { &sides.rust } else { &sides.python };
        let runner = map
            .get(&case.function)
            .ok_or_else(|| ParityError::NoRunner {
                scenario: sc.scenario.name.clone(),
                function: case.function.clone(),
            })?;
        answers.push(runner.answer(&case.request()?).await?);
    }
    let after = Snapshot::take(guard.stack).await.map_err(ExecError::from)?;
    Ok((answers, Snapshot::changes(&before, &after)))
}

fn order_label(sc: &Loaded, rust_at: &[bool]) -> String {
    sc.cases
        .iter()
        .zip(rust_at)
        .map(|(c, r)| format!("{}:{}", c.function, if *r { "rust" } else { "python" }))
        .collect::<Vec<_>>()
        .join("→")
}

/// One result per step run by Rust (the others on Python), compared with the all-Python run.
pub async fn run(
    sc: &Loaded,
    rules: &Rules,
    sides: &Sides<'_>,
    guard: &StateGuard<'_>,
) -> Result<Vec<CaseResult>, ParityError> {
    let _one_at_a_time = guard.one_at_a_time().await;
    let started = Instant::now();
    let n = sc.cases.len();
    let all_python = vec![false; n];
    let (reference, ref_state) = run_steps(sc, &all_python, sides, guard).await?;
    let (again, again_state) = run_steps(sc, &all_python, sides, guard).await?;
    let ctx = super::run::ctx_now(Some(guard.stack));
    let ctx = match sc.cases[0].clock() {
        Some(c) => super::diff::SideCtx {
            at: c.timestamp(),
            ..ctx
        },
        None => ctx,
    };
    // What Python does differently from itself is noise, per step and in the state.
    let mut noise: Vec<Vec<String>> = reference
        .iter()
        .zip(&again)
        .zip(&sc.cases)
        .map(|((a, b), case)| noise_between(a, b, case.fixture.kind, &ctx))
        .collect();
    let state_noise = state_noise_between(&ref_state, &again_state, &ctx);
    let mut out = Vec::new();
    for i in 0..n {
        let mut rust_at = all_python.clone();
        rust_at[i] = true;
        let (answers, state) = run_steps(sc, &rust_at, sides, guard).await?;
        let mut differences = Vec::new();
        for (j, (case, (r, a))) in sc
            .cases
            .iter()
            .zip(reference.iter().zip(&answers))
            .enumerate()
        {
            let step_noise = std::mem::take(&mut noise[j]);
            let input = DiffInput {
                function: &case.function,
                case: &sc.scenario.name,
                rules,
                noise: &step_noise,
                python: &ctx,
                rust: &ctx,
            };
            for mut d in diff_answers(&input, case.fixture.kind, &r.response, &a.response) {
                d.detail = Some(format!(
                    "step {} ({} on {}){}",
                    j + 1,
                    case.function,
                    if rust_at[j] { "rust" } else { "python" },
                    d.detail.map(|x| format!(": {x}")).unwrap_or_default()
                ));
                differences.push(d);
            }
            noise[j] = step_noise;
        }
        // State: a difference stands only if no function of the scenario has a rule that
        // explains it (the writer's rules name what it writes).
        let per_function: Vec<Vec<super::diff::Difference>> = sc
            .functions()
            .into_iter()
            .map(|f| {
                let input = DiffInput {
                    function: f,
                    case: &sc.scenario.name,
                    rules,
                    noise: &state_noise,
                    python: &ctx,
                    rust: &ctx,
                };
                diff_state(&input, &ref_state, &state)
            })
            .collect();
        if let Some((first, rest)) = per_function.split_first() {
            differences.extend(
                first
                    .iter()
                    .filter(|d| {
                        rest.iter().all(|other| {
                            other.iter().any(|o| o.path == d.path && o.class == d.class)
                        })
                    })
                    .cloned(),
            );
        }
        out.push(CaseResult {
            function: "cross".into(),
            case: format!("{}~{}", sc.scenario.name, order_label(sc, &rust_at)),
            file: sc.file.display().to_string(),
            verdict: Verdict::of(&differences),
            differences,
            python: reference[n - 1].response.clone(),
            rust: answers[n - 1].response.clone(),
            python_report: None,
            rust_report: None,
            noise: noise.concat(),
            python_state: Some(ref_state.clone()),
            rust_state: Some(state),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            skipped: None,
        });
    }
    Ok(out)
}
