//! `invoke`: one event through one local function, with the response and the REPORT figures.

use crate::cli::InvokeArgs;
use crate::config::Project;
use crate::stack::Stack;
use crate::target::local::{function_env, sandbox, LocalTargetSpec};
use crate::target::{Answer, Side};
use anyhow::Context;
use serde_json::Value;

/// Read an event file: a bare API Gateway event, or a parity fixture whose `event` is used.
pub fn read_event(path: &std::path::Path) -> anyhow::Result<Value> {
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
    Ok(match v.get("event") {
        Some(ev) if v.get("python").is_some() || v.get("name").is_some() => ev.clone(),
        _ => v,
    })
}

pub async fn run(project: &Project, args: InvokeArgs) -> anyhow::Result<i32> {
    project.function(&args.function)?;
    let event = read_event(&args.event)?;
    let overrides = super::parse_env_pairs(&args.env)?;
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
    let env = function_env(
        project,
        &args.function,
        &stack.vars(),
        &stack.aws_env(),
        &overrides,
    )?;
    let spec = LocalTargetSpec {
        project,
        function: &args.function,
        side,
        env,
        python_src: args.python_src.as_deref(),
        profile: args.profile,
    }
    .build()?;
    let program = spec.program.display().to_string();
    let mut sb = sandbox(spec, args.cold);
    let body = axum::body::Bytes::from(serde_json::to_vec(&event)?);
    eprintln!("{} {} via {}", args.function, side, program);
    let mut last_error = false;
    for _ in 0..args.times {
        let inv = sb.invoke(body.clone()).await?;
        for line in &inv.logs {
            eprintln!("  | {line}");
        }
        let report_line = inv.report.line(&inv.request_id);
        let answer = Answer::from(inv);
        if let Some(crate::runtime_api::Outcome::FunctionError {
            error_type,
            payload,
        }) = &answer.outcome
        {
            eprintln!("function error {error_type}: {payload}");
            last_error = true;
        } else {
            last_error = false;
        }
        println!("{}", serde_json::to_string_pretty(&answer.response)?);
        eprintln!("{report_line}");
    }
    sb.stop();
    drop(stack);
    Ok(if last_error { 1 } else { 0 })
}
