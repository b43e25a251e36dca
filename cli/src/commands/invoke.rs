//! `invoke`: one event through one local function, with the response and the REPORT figures.

use crate::cli::InvokeArgs;
use crate::config::Project;
use crate::exec::local::{function_env, sandbox, LocalTargetSpec};
use crate::exec::runtime_api::{Outcome, Report};
use crate::exec::{Answer, Side};
use crate::stack::Stack;
use anyhow::Context;
use serde_json::Value;

/// An event file: a bare event, or a parity fixture (its `event`, and its `env` and `clock`).
pub struct EventFile {
    pub event: Value,
    /// The fixture's environment overrides (with what pins its clock), when the file is one.
    pub env: std::collections::BTreeMap<String, String>,
    /// The fixture seeds state that `invoke` does not seed (only `parity` does).
    pub has_setup: bool,
    /// How the answer is read (a fixture's `kind`; for a bare event, from its shape).
    pub kind: crate::exec::EventKind,
}

/// Read an event file: a bare API Gateway event, or a parity fixture whose `event`, `env` and
/// `clock` are used.
pub fn read_event(path: &std::path::Path) -> anyhow::Result<EventFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("event file {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "event file {}: invalid JSON at line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let is_fixture =
        v.get("event").is_some() && (v.get("python").is_some() || v.get("name").is_some());
    if !is_fixture {
        return Ok(EventFile {
            kind: crate::exec::EventKind::of_event(&v),
            event: v,
            env: Default::default(),
            has_setup: false,
        });
    }
    let fixture = crate::fixtures::parse(path, &text)?;
    let case = crate::fixtures::Case {
        function: String::new(),
        file: path.to_path_buf(),
        stateful: false,
        fixture,
    };
    Ok(EventFile {
        env: case.env_overrides()?,
        has_setup: case.needs_state(),
        kind: case.fixture.kind,
        event: case.fixture.event,
    })
}

pub async fn run(project: &Project, args: InvokeArgs) -> anyhow::Result<i32> {
    project.function(&args.function)?;
    let file = read_event(&args.event)?;
    let kind = file.kind;
    let event = file.event;
    if file.has_setup {
        eprintln!(
            "note: {} seeds state (setup) that only `parity` seeds; invoke runs the event on the stack as it is",
            args.event.display()
        );
    }
    // The fixture's own environment, then --env on top.
    let mut overrides = file.env;
    overrides.extend(super::parse_env_pairs(&args.env)?);
    let side = if args.python_src.is_some() {
        Side::Python
    } else {
        Side::Rust
    };
    // Check the function can start before paying for a stack.
    let probe_env = Default::default();
    LocalTargetSpec {
        project,
        function: &args.function,
        side,
        env: probe_env,
        python_src: args.python_src.as_deref(),
        profile: args.profile,
    }
    .build()?;

    let stack = Stack::attach_or_start(project).await?;
    let vars = stack.vars();
    let overrides = overrides
        .into_iter()
        .map(|(k, v)| (k, crate::config::expand(&v, &vars)))
        .collect();
    let env = function_env(project, &args.function, &vars, &stack.aws_env(), &overrides)?;
    let mut spec = LocalTargetSpec {
        project,
        function: &args.function,
        side,
        env,
        python_src: args.python_src.as_deref(),
        profile: args.profile,
    }
    .build()?;
    spec.lambda_limits = !args.no_lambda_limits;
    // `{token:…}` / `{sub:…}` of the stack's Cognito, as parity fills them.
    let event = match stack.tokens() {
        Some(t) if crate::exec::names_tokens(&event) => t.fill(&event).await?,
        _ => event,
    };
    let program = spec.program.display().to_string();
    let mut sb = sandbox(spec, args.cold);
    let body = axum::body::Bytes::from(serde_json::to_vec(&event)?);
    tracing::info!("{} {} via {}", args.function, side, program);
    let mut last_error = false;
    let mut reports = Vec::new();
    for _ in 0..args.times {
        let inv = sb.invoke(body.clone()).await?;
        if !inv.report.init_failed {
            for line in &inv.logs {
                super::print_log_line(line);
            }
        } else {
            for line in &inv.logs {
                tracing::info!("function log: {line}");
            }
        }
        let report_line = inv.report.line(&inv.request_id);
        reports.push(inv.report.clone());
        let answer = Answer::from(inv).viewed_as(kind);
        last_error = false;
        if let Some(Outcome::FunctionError {
            error_type,
            payload,
        }) = &answer.outcome
        {
            if answer.report.as_ref().is_some_and(|r| r.init_failed) {
                // The runtime never reached its first `next`: an init failure, not an answer.
                anyhow::bail!(
                    "{} ({side}) failed to initialise: {error_type}: {}",
                    args.function,
                    payload
                        .get("errorMessage")
                        .and_then(Value::as_str)
                        .unwrap_or(&payload.to_string())
                );
            }
            eprintln!("function error {error_type}: {payload}");
            last_error = true;
        }
        println!("{}", serde_json::to_string_pretty(&answer.response)?);
        eprintln!("{report_line}");
    }
    if reports.len() > 1 {
        eprintln!("{}", summary(&reports));
    }
    sb.stop();
    drop(stack);
    Ok(if last_error { 1 } else { 0 })
}

/// One line over several invocations: cold starts (init, first response), warm durations, RSS.
fn summary(reports: &[Report]) -> String {
    fn p50_p99(mut v: Vec<f64>) -> String {
        if v.is_empty() {
            return "n/a".into();
        }
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[(((v.len() - 1) as f64) * p).round() as usize];
        format!("p50 {:.2} ms, p99 {:.2} ms", at(0.5), at(0.99))
    }
    let cold: Vec<&Report> = reports.iter().filter(|r| r.init_ms.is_some()).collect();
    let init = p50_p99(cold.iter().filter_map(|r| r.init_ms).collect());
    let first = p50_p99(
        cold.iter()
            .map(|r| r.init_ms.unwrap_or(0.0) + r.duration_ms)
            .collect(),
    );
    let warm = p50_p99(
        reports
            .iter()
            .filter(|r| r.init_ms.is_none())
            .map(|r| r.duration_ms)
            .collect(),
    );
    let rss = reports.iter().map(|r| r.max_rss_mb).fold(0.0, f64::max);
    format!(
        "SUMMARY invocations: {} · cold starts: {} (init {init}; spawn → first response {first}) · warm duration {warm} · peak RSS {rss:.1} MB",
        reports.len(),
        cold.len(),
    )
}
