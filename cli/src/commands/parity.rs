//! `parity` and `parity record`.

use crate::cli::{CaseSelection, ParityAction, ParityArgs, ParityRunArgs, RecordArgs};
use crate::config::Project;
use crate::exec::Side;
use crate::exec::{runner, Pool, Runner, StateGuard};
use crate::exit;
use crate::fixtures::{self, Case, RecordMeta};
use crate::parity::diff::Class;
use crate::parity::diff::{diff_answers, diff_state, DiffInput, SideCtx};
use crate::parity::report::{DivergenceNote, ParityReport, Verdict};
use crate::parity::rules::Rules;
use crate::parity::run::{python_twice, run_case, run_cross, PythonSide};
use crate::stack::Stack;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

pub async fn run(project: &Project, args: ParityArgs) -> anyhow::Result<i32> {
    match args.action {
        Some(ParityAction::Record(r)) => record(project, r).await,
        Some(ParityAction::Schema { check }) => schema(project, check),
        None => compare(project, args.run).await,
    }
}

/// `parity schema [--check]`.
fn schema(project: &Project, check: bool) -> anyhow::Result<i32> {
    let path = project.fixtures_dir().join("schema.json");
    let mut text = serde_json::to_string_pretty(&fixtures::schema())?;
    text.push('\n');
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if check {
        if current == text {
            println!("{}: up to date", path.display());
            return Ok(exit::OK);
        }
        println!(
            "{}: stale (run `manuel-migrate parity schema` to regenerate it)",
            path.display()
        );
        return Ok(exit::GATE_FAILED);
    }
    if current != text {
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        println!("wrote {}", path.display());
    } else {
        println!("{}: up to date", path.display());
    }
    Ok(exit::OK)
}

/// Fixtures grouped by function, in the order they run.
type Selected = Vec<(String, Vec<Case>)>;

/// Load rules and every selected fixture up front: bad input stops us before anything starts.
fn load_inputs(project: &Project, sel: &CaseSelection) -> anyhow::Result<(Rules, Selected)> {
    let rules = Rules::load(&project.fixtures_dir().join("rules.toml"))?;
    let glob = fixtures::case_matcher(sel.case.as_deref())?;
    let functions = if sel.functions.is_empty() {
        project
            .function_names()
            .into_iter()
            .filter(|f| has_fixtures(&project.fixtures_dir().join(f)))
            // A Rust-only function (the token authorizer) has nothing to be compared with.
            .filter(|f| project.function(f).is_ok_and(|c| c.python().is_some()))
            .collect()
    } else {
        sel.functions.clone()
    };
    let explicit = !sel.functions.is_empty();
    let mut out = Vec::new();
    let mut first_miss = None;
    for f in functions {
        project.twin(&f, "parity")?;
        let stateful = project.function(&f)?.stateful;
        let mut cases = match fixtures::load_function(&project.fixtures_dir(), &f, glob.as_ref()) {
            // Without --function, a --case glob selects among all functions: one without a
            // matching case is simply not run.
            Err(
                e @ (fixtures::FixtureError::NoFixtures { .. }
                | fixtures::FixtureError::NoMatch { .. }),
            ) if !explicit && glob.is_some() => {
                first_miss.get_or_insert(e);
                continue;
            }
            other => other?,
        };
        for c in &mut cases {
            c.stateful = stateful;
        }
        out.push((f.clone(), cases));
    }
    if out.is_empty() {
        if let Some(e) = first_miss {
            return Err(e.into());
        }
    }
    Ok((rules, out))
}

/// The Rust runner of one function on one stack (or deployed), and the Python one when live.
async fn side_runners<'a>(
    project: &'a Project,
    stack: Option<&Stack>,
    function: &str,
    (rust_at, python_at): (crate::exec::Where<'_>, crate::exec::Where<'_>),
    python_live: bool,
    args: &ParityRunArgs,
) -> anyhow::Result<(Runner<'a>, Option<Runner<'a>>)> {
    let rust = runner(
        project,
        stack,
        function,
        Side::Rust,
        rust_at,
        args.select.profile,
    )
    .await?
    .with_skipped_waits(!args.real_waits);
    let python = if python_live {
        Some(runner(project, stack, function, Side::Python, python_at, None).await?)
    } else {
        None
    };
    Ok((rust, python))
}

/// Stateful cases from which a run without a running stack starts more than one private stack:
/// a further stack takes about 2 s to start, a stateful case 10-60 ms to replay.
const CASES_FOR_MORE_STACKS: usize = 100;

/// The stacks a run spreads its cases over: the running one and its workers; without a running
/// stack, private ones (one per CPU core, at most 4, once there are enough stateful cases to
/// repay their start). `--stacks N` adds private ones to what runs until there are N, or uses
/// the first N running ones.
async fn open_stacks(
    project: &Project,
    wanted: Option<u32>,
    stateful: usize,
) -> anyhow::Result<Vec<Stack>> {
    let first = Stack::attach_or_start(project).await?;
    let attached = !first.is_owned();
    let mut stacks = vec![first];
    if attached {
        stacks.extend(Stack::attach_workers(project));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want = match wanted {
        Some(n) => n as usize,
        None if attached => stacks.len(),
        None if stateful >= CASES_FOR_MORE_STACKS => cores.clamp(1, 4),
        None => 1,
    };
    stacks.truncate(want);
    if stacks.len() < want {
        let started = std::time::Instant::now();
        let more = Stack::start_private(project, want - stacks.len()).await?;
        tracing::info!(
            "started {} private stack(s) in {:.1} s",
            more.len(),
            started.elapsed().as_secs_f64()
        );
        stacks.extend(more);
    }
    Ok(stacks)
}

fn progress(total: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(total as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
            .expect("progress template")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_owned());
    pb
}

async fn compare(project: &Project, args: ParityRunArgs) -> anyhow::Result<i32> {
    let reports_dir = args
        .reports
        .clone()
        .unwrap_or_else(|| project.reports_dir());
    crate::fsutil::check_output_dir(&reports_dir, "--reports")?;
    let (rules, selected) = load_inputs(project, &args.select)?;
    let t = &args.targets;
    let python_live = t.python_live();
    if !python_live {
        for (function, cases) in &selected {
            let oracle = project.twin(function, "parity")?.oracle;
            for c in cases {
                c.recorded_response()?;
                let recorded = c
                    .fixture
                    .recorded
                    .as_ref()
                    .map(|m| m.oracle)
                    .unwrap_or_default();
                if recorded != oracle {
                    return Err(fixtures::FixtureError::Invalid {
                        file: c.file.display().to_string(),
                        message: format!(
                            "recorded from the {recorded} code, but functions.{function}.oracle is {oracle}; re-record with `parity record --python-src DIR --yes` (at $.recorded.oracle)"
                        ),
                    }
                    .into());
                }
            }
        }
    }
    let stacks = if t.needs_stack() {
        let stateful = selected
            .iter()
            .flat_map(|(_, c)| c)
            .filter(|c| c.needs_state())
            .count()
            * args.repeat as usize;
        open_stacks(project, args.stacks, stateful).await?
    } else {
        Vec::new()
    };
    let guards: Vec<StateGuard> = stacks
        .iter()
        .map(|s| StateGuard::new(s, project.fixtures_dir()))
        .collect();
    let stack = stacks.first();
    let state = guards.first();
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let total: usize = selected.iter().map(|(_, c)| c.len()).sum::<usize>() * args.repeat as usize;
    let pb = progress(total, "parity");
    let mut results = Vec::with_capacity(total);
    let (rust_at, python_at) = (t.rust_where(), t.python_where());
    let at = (rust_at, python_at);
    let (mut python_target, mut rust_target) = ("recorded fixtures".to_string(), String::new());
    for (function, cases) in &selected {
        pb.set_message(function.clone());
        let (rust, py_runner) =
            side_runners(project, stack, function, at, python_live, &args).await?;
        rust_target = rust.describe();
        if let Some(p) = &py_runner {
            python_target = p.describe();
        }
        if args.cross {
            let (Some(py), Some(guard)) = (&py_runner, state) else {
                anyhow::bail!(
                    "--cross needs --python-src (the live Python side) and the local Rust side"
                );
            };
            if rust.is_remote() {
                anyhow::bail!("--cross runs on the local stack: drop --rust-function/--rust-url");
            }
            for case in cases.iter().filter(|c| c.needs_state()) {
                for res in run_cross(case, &rules, py, &rust, guard).await? {
                    say_if_different(&pb, &res);
                    results.push(res);
                }
                pb.inc(1);
            }
            continue;
        }
        let repeated: Vec<&Case> = cases
            .iter()
            .cycle()
            .take(cases.len() * args.repeat as usize)
            .collect();
        // The further stacks take their share when both sides run here (a deployed side has
        // one state, its own): a runner of each side per stack, the cases pulled from one
        // queue so that a slow case does not hold the others back.
        let local = !rust.is_remote() && py_runner.as_ref().is_none_or(|p| !p.is_remote());
        let mut lanes = vec![(rust, py_runner)];
        if local {
            for st in stacks.iter().skip(1) {
                lanes
                    .push(side_runners(project, Some(st), function, at, python_live, &args).await?);
            }
        }
        let sides: Vec<(&Runner, PythonSide)> = lanes
            .iter()
            .map(|(r, p)| {
                let py = match p {
                    Some(p) => PythonSide::Live(p),
                    None => PythonSide::Recorded,
                };
                (r, py)
            })
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let pulled = std::sync::Mutex::new(Vec::with_capacity(repeated.len()));
        let workers = (0..sides.len() * args.concurrency as usize).map(|w| {
            let lane = w % sides.len();
            let (rust, python) = (&sides[lane].0, &sides[lane].1);
            let (st, guard) = (stacks.get(lane), guards.get(lane));
            let (repeated, next, pulled, rules, pb) = (&repeated, &next, &pulled, &rules, &pb);
            async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = repeated.get(i) else {
                        return Ok::<(), crate::parity::ParityError>(());
                    };
                    let res =
                        run_case(case, rules, rust, python, st, guard, t.allow_writes).await?;
                    tracing::debug!(case = %res.case, stack = lane, "case done");
                    say_if_different(pb, &res);
                    pb.inc(1);
                    pulled.lock().expect("results lock").push((i, res));
                }
            }
        });
        futures::future::try_join_all(workers).await?;
        let mut pulled = pulled.into_inner().expect("results lock");
        pulled.sort_by_key(|(i, _)| *i);
        results.extend(pulled.into_iter().map(|(_, r)| r));
    }
    if args.cross {
        let selected_fns: Vec<&str> = selected.iter().map(|(f, _)| f.as_str()).collect();
        let scenarios = crate::fixtures::cross::load(&project.fixtures_dir(), &|f: &str| {
            project.function(f).is_ok()
        })?;
        for sc in scenarios
            .iter()
            .filter(|sc| sc.functions().iter().all(|f| selected_fns.contains(f)))
        {
            let (Some(stack), Some(guard)) = (stack, state) else {
                anyhow::bail!("--cross needs the local stack");
            };
            let mut sides = crate::parity::cross::Sides {
                python: Default::default(),
                rust: Default::default(),
            };
            for f in sc.functions() {
                let py = runner(project, Some(stack), f, Side::Python, python_at, None).await?;
                let rs = runner(
                    project,
                    Some(stack),
                    f,
                    Side::Rust,
                    rust_at,
                    args.select.profile,
                )
                .await?
                .with_skipped_waits(!args.real_waits);
                sides.python.insert(f.to_owned(), py);
                sides.rust.insert(f.to_owned(), rs);
            }
            pb.set_message(format!("cross {}", sc.scenario.name));
            for res in crate::parity::cross::run(sc, &rules, &sides, guard).await? {
                say_if_different(&pb, &res);
                results.push(res);
            }
        }
    }
    pb.finish_and_clear();
    let elapsed = t0.elapsed().as_secs_f64();
    let unexplained: usize = results.iter().map(|r| r.unexplained()).sum();
    let report = ParityReport {
        started_at: started_at.to_rfc3339(),
        python_mode: if python_live {
            "live".into()
        } else {
            "recorded".into()
        },
        python_target,
        rust_target,
        max_diff: args.max_diff,
        unexplained,
        passed: unexplained <= args.max_diff,
        elapsed_s: elapsed,
        cases_per_s: results.len() as f64 / elapsed.max(1e-9),
        divergences: rules
            .divergences
            .iter()
            .map(|d| DivergenceNote {
                divergence: d.label.clone(),
                reason: d.reason.clone(),
            })
            .collect(),
        cases: results,
    };
    let stamp = started_at.format("%Y%m%dT%H%M%SZ").to_string();
    let written = report.write(&reports_dir, &stamp)?;

    let mut t = super::table();
    t.set_header(vec![
        "function",
        "cases",
        "identical",
        "noise",
        "accepted",
        "different",
        "skipped",
        "unexplained diffs",
    ]);
    for (f, k) in report.counts() {
        t.add_row(vec![
            f,
            k.cases.to_string(),
            k.identical.to_string(),
            k.noise.to_string(),
            k.accepted.to_string(),
            k.different.to_string(),
            k.skipped.to_string(),
            k.unexplained.to_string(),
        ]);
    }
    println!("{t}");
    println!(
        "{}: {} unexplained difference(s) (gate {}), {} cases in {:.2} s ({:.0}/s); Python: {}; Rust: {}",
        if report.passed { "PASSED" } else { "FAILED" },
        report.unexplained,
        report.max_diff,
        report.cases.len(),
        elapsed,
        report.cases_per_s,
        report.python_target,
        report.rust_target
    );
    for p in written {
        println!("report: {}", p.display());
    }
    Ok(if report.passed {
        exit::OK
    } else {
        exit::GATE_FAILED
    })
}

async fn record(project: &Project, args: RecordArgs) -> anyhow::Result<i32> {
    let (rules, selected) = load_inputs(project, &args.select)?;
    let stack = Stack::attach_or_start(project).await?;
    let state = StateGuard::new(&stack, project.fixtures_dir());
    let total: usize = selected.iter().map(|(_, c)| c.len()).sum();
    let pb = progress(total, "record");
    let mut t = super::table();
    t.set_header(vec!["case", "status", "change", "noise paths (this run)"]);
    let mut updated = Vec::new();
    for (function, cases) in &selected {
        let pool = Runner::Local(Pool::new(
            project,
            &stack,
            function,
            Side::Python,
            Some(args.python_src.clone()),
            None,
        )?);
        for case in cases {
            let (answer, py_state, noise, ctx) =
                python_twice(&pool, case, Some(&stack), Some(&state)).await?;
            // What would change, in words; empty when the recording stands.
            let mut changes: Vec<String> = Vec::new();
            let mut recorded_noise = noise.clone();
            match &case.fixture.python {
                None => changes.push("new".into()),
                Some(old) => {
                    let old_ctx = case
                        .fixture
                        .recorded
                        .as_ref()
                        .map(|m| SideCtx {
                            at: m.at,
                            vars: m.vars.clone(),
                        })
                        .unwrap_or_default();
                    let mut all_noise = noise.clone();
                    all_noise.extend(case.fixture.noise.iter().cloned());
                    let input = DiffInput {
                        function,
                        case: &case.fixture.name,
                        rules: &rules,
                        noise: &all_noise,
                        python: &old_ctx,
                        rust: &ctx,
                    };
                    let mut diffs = diff_answers(&input, case.fixture.kind, old, &answer.response);
                    let old_state = case
                        .fixture
                        .state
                        .clone()
                        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
                    if let Some(now) = &py_state {
                        diffs.extend(diff_state(&input, &old_state, now));
                    }
                    let real: Vec<String> = diffs
                        .iter()
                        .filter(|d| d.class == Class::Unexplained)
                        .map(|d| d.path.clone())
                        .collect();
                    if !real.is_empty() {
                        changes.push(format!("changed: {}", real.join(", ")));
                    } else {
                        // Same answer: a path once seen to vary stays noise (two runs that
                        // happen to agree on a timestamp prove nothing), so only a new
                        // noisy path is a change, and two identical runs propose the same.
                        // A path a rule already normalises (a presigned URL, an S3 date) varies by
                        // design: the rule, not the noise list, answers for it.
                        recorded_noise = case.fixture.noise.clone();
                        let ruled = rules.for_case(function, &case.fixture.name);
                        let added: Vec<String> = noise
                            .iter()
                            .filter(|n| !case.fixture.noise.contains(n))
                            .filter(|n| !ruled.iter().any(|r| r.path.matches(n)))
                            .cloned()
                            .collect();
                        if !added.is_empty() {
                            changes.push(format!("new noise: {}", added.join(", ")));
                            recorded_noise.extend(added);
                        }
                    }
                    if py_state.is_some() && case.fixture.state.is_none() {
                        changes.push("state recorded".into());
                    }
                }
            }
            let status = answer
                .response
                .get("statusCode")
                .or_else(|| answer.response.get("errorType"))
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            let change = if changes.is_empty() {
                "unchanged".to_string()
            } else {
                changes.join("; ")
            };
            t.add_row(vec![case.id(), status, change, noise.join(", ")]);
            if !changes.is_empty() {
                let mut c = case.clone();
                c.fixture.python = Some(answer.response);
                c.fixture.state = py_state;
                c.fixture.noise = recorded_noise;
                let twin = project.twin(function, "parity record")?;
                c.fixture.recorded = Some(RecordMeta {
                    at: ctx.at,
                    vars: ctx.vars,
                    source: format!(
                        "{}/{} on .venv-lambda (awslambdaric){}",
                        function,
                        twin.handler,
                        if twin.oracle == crate::config::Oracle::Intended {
                            " with backend/src/shared on the path"
                        } else {
                            ""
                        }
                    ),
                    oracle: twin.oracle,
                });
                updated.push(c);
            }
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    println!("{t}");
    if updated.is_empty() {
        println!("recordings are up to date");
    } else if args.yes {
        for c in &updated {
            fixtures::save(c)?;
        }
        println!("wrote {} recording(s)", updated.len());
    } else {
        println!(
            "{} recording(s) would change; run again with --yes to write them",
            updated.len()
        );
    }
    Ok(exit::OK)
}

/// A line above the progress bar, or on stderr when the bar is hidden (not a terminal, CI).
fn say(pb: &ProgressBar, line: String) {
    if pb.is_hidden() {
        eprintln!("{line}");
    } else {
        pb.println(line);
    }
}

/// Does this folder hold at least one fixture? (A new function has none until recorded.)
fn has_fixtures(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .unwrap_or(false)
}

/// The `DIFFERENT function/case: paths` line for a case with unexplained differences.
fn say_if_different(pb: &ProgressBar, res: &crate::parity::report::CaseResult) {
    if res.verdict != Verdict::Different {
        return;
    }
    let paths: Vec<&str> = res
        .differences
        .iter()
        .filter(|d| d.class == Class::Unexplained)
        .map(|d| d.path.as_str())
        .collect();
    say(
        pb,
        format!(
            "DIFFERENT {}/{}: {}",
            res.function,
            res.case,
            paths.join(", ")
        ),
    );
}
