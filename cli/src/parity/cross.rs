//! Cross-read scenarios across functions: `parity-fixtures/cross/<name>.json`, a few steps
//! (function + event) on one seeded state — a query that counts usage, then the usage endpoint
//! that reports it; later a manual stored by one function and listed by another. During the
//! shift any step may be answered by either implementation, so each step is run once by Rust
//! while the others run on Python, and every answer and the final state must match the
//! all-Python run.

use super::diff::{diff_responses, diff_state, DiffInput};
use super::engine::{noise_between, state_noise_between, Runner, StateGuard};
use super::fixture::{Case, Fixture, FixtureError};
use super::report::{CaseResult, Verdict};
use super::rules::Rules;
use super::snapshot::Snapshot;
use super::state::Setup;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A cross-function scenario (`parity-fixtures/cross/<name>.json`): steps run on one state, each
/// answered once by Rust while the others run on Python.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name; must equal the file name without .json.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub notes: Option<String>,
    /// State the scenario starts from.
    #[serde(default)]
    pub setup: Option<Setup>,
    /// The time the function processes start at (RFC 3339).
    #[serde(default)]
    pub clock: Option<String>,
    /// The requests, in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<Step>,
}

/// One request of a scenario.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The function that answers it.
    pub function: String,
    /// Its event.
    pub event: Value,
    /// Environment overrides for this step.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// A scenario and its file.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub scenario: Scenario,
    /// Each step as a case of its function (for the runners and the rules).
    pub cases: Vec<Case>,
}

impl Loaded {
    pub fn functions(&self) -> Vec<&str> {
        let mut f: Vec<&str> = self
            .scenario
            .steps
            .iter()
            .map(|s| s.function.as_str())
            .collect();
        f.sort();
        f.dedup();
        f
    }
}

/// All scenarios of `dir/cross/`, validated (known functions, at least two steps).
pub fn load(dir: &Path, known: &dyn Fn(&str) -> bool) -> Result<Vec<Loaded>, FixtureError> {
    let Ok(rd) = std::fs::read_dir(dir.join("cross")) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let invalid = |message: String| FixtureError::Invalid {
            file: file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| FixtureError::Io(file.display().to_string(), e))?;
        let scenario: Scenario = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "{e} (a scenario has name, steps[], optional setup, clock, notes)"
            ))
        })?;
        if scenario.steps.len() < 2 {
            return Err(invalid(
                "a cross scenario needs at least two steps (at $.steps)".into(),
            ));
        }
        if let Some(c) = &scenario.clock {
            super::state::parse_clock(c).map_err(|m| invalid(format!("{m} (at $.clock)")))?;
        }
        let mut cases = Vec::new();
        for (i, step) in scenario.steps.iter().enumerate() {
            if !known(&step.function) {
                return Err(invalid(format!(
                    "unknown function '{}' (at $.steps[{i}].function)",
                    step.function
                )));
            }
            cases.push(Case {
                function: step.function.clone(),
                file: file.clone(),
                stateful: true,
                fixture: Fixture {
                    name: scenario.name.clone(),
                    notes: scenario.notes.clone(),
                    event: step.event.clone(),
                    env: step.env.clone(),
                    setup: scenario.setup.clone(),
                    clock: scenario.clock.clone(),
                    python: None,
                    state: None,
                    noise: Vec::new(),
                    recorded: None,
                },
            });
        }
        out.push(Loaded {
            file,
            scenario,
            cases,
        });
    }
    Ok(out)
}

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
) -> anyhow::Result<(Vec<crate::target::Answer>, Value)> {
    guard.prepare(&sc.cases[0]).await?;
    let before = Snapshot::take(guard.stack).await?;
    let mut answers = Vec::new();
    for (case, rust) in sc.cases.iter().zip(rust_at) {
        let map = if *rust { &sides.rust } else { &sides.python };
        let runner = map
            .get(&case.function)
            .ok_or_else(|| anyhow::anyhow!("no runner for {}", case.function))?;
        answers.push(runner.answer(case).await?);
    }
    let after = Snapshot::take(guard.stack).await?;
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
) -> anyhow::Result<Vec<CaseResult>> {
    let _one_at_a_time = guard.lock.lock().await;
    let started = Instant::now();
    let n = sc.cases.len();
    let all_python = vec![false; n];
    let (reference, ref_state) = run_steps(sc, &all_python, sides, guard).await?;
    let (again, again_state) = run_steps(sc, &all_python, sides, guard).await?;
    let ctx = super::engine::ctx_now(Some(guard.stack));
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
        .map(|(a, b)| noise_between(a, b, &ctx))
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
            for mut d in diff_responses(&input, &r.response, &a.response) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) {
        std::fs::create_dir_all(dir.join("cross")).unwrap();
        std::fs::write(dir.join("cross/s.json"), text).unwrap();
    }

    #[test]
    fn scenarios_are_validated_with_file_and_field() {
        let tmp = tempfile::tempdir().unwrap();
        let known = |f: &str| f == "query" || f == "usage";
        write(
            tmp.path(),
            r#"{"name": "s", "steps": [{"function": "query", "event": {}}]}"#,
        );
        let err = load(tmp.path(), &known).unwrap_err().to_string();
        assert!(err.contains("s.json") && err.contains("$.steps"), "{err}");
        write(
            tmp.path(),
            r#"{"name": "s", "steps": [{"function": "query", "event": {}}, {"function": "nope", "event": {}}]}"#,
        );
        let err = load(tmp.path(), &known).unwrap_err().to_string();
        assert!(
            err.contains("unknown function 'nope' (at $.steps[1].function)"),
            "{err}"
        );
        write(
            tmp.path(),
            r#"{"name": "s", "clock": "2026-11-15T12:00:00Z", "steps": [{"function": "query", "event": {}}, {"function": "usage", "event": {}, "env": {"A": "1"}}]}"#,
        );
        let loaded = load(tmp.path(), &known).unwrap();
        assert_eq!(loaded[0].functions(), vec!["query", "usage"]);
        assert!(loaded[0]
            .cases
            .iter()
            .all(|c| c.needs_state() && c.clock().is_some()));
        assert_eq!(loaded[0].cases[1].fixture.env["A"], "1");
    }
}
