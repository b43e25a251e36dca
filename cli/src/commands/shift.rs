//! `shift`, `rollback`, `status`: move traffic between the Python and the Rust side.

use crate::bench::load::parse_duration;
use crate::cli::{RollbackArgs, ShiftArgs, StatusArgs};
use crate::config::Project;
use crate::exit;
use crate::shift::journal::Journal;
use crate::shift::monitor::{MetricScope, Monitor};
use crate::shift::router::{AliasRouter, Route53Router, Router};
use crate::shift::{judge, parse_plan, Thresholds, Verdict};
use std::time::Duration;

/// Everything a shift of one function needs, validated before any AWS call.
pub(crate) struct Plan {
    pub function: String,
    pub router: Router,
    pub monitor: Monitor,
}

fn missing(function: &str, field: &str, hint: &str) -> anyhow::Error {
    anyhow::anyhow!("manuel-migrate.toml: functions.{function}.deploy.{field} is missing{hint}")
}

/// Check the configuration of `function` (no AWS call) and build its router and monitor.
async fn plan_for(project: &Project, function: &str) -> anyhow::Result<Plan> {
    let cfg = project.function(function)?;
    let deploy = cfg
        .deploy
        .clone()
        .ok_or_else(|| anyhow::anyhow!("manuel-migrate.toml: functions.{function}.deploy is missing (run `functions publish --function {function} --as-version-of NAME` first)"))?;
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    match deploy.router.as_deref().unwrap_or("alias") {
        "alias" => {
            let hint = " (run `functions publish --as-version-of NAME`)";
            let name = deploy.function_name.clone().ok_or_else(|| missing(function, "function_name", hint))?;
            let alias = deploy.alias.clone().unwrap_or_else(|| "live".into());
            let python_version = deploy.python_version.clone().ok_or_else(|| missing(function, "python_version", hint))?;
            let rust_version = deploy.rust_version.clone().ok_or_else(|| missing(function, "rust_version", hint))?;
            if python_version == rust_version {
                anyhow::bail!("manuel-migrate.toml: functions.{function}.deploy: python_version and rust_version are both {rust_version}");
            }
            Ok(Plan {
                function: function.to_owned(),
                monitor: Monitor {
                    client: aws_sdk_cloudwatch::Client::new(&conf),
                    scope: MetricScope::Alias {
                        function: name.clone(),
                        alias: alias.clone(),
                        python_version: python_version.clone(),
                        rust_version: rust_version.clone(),
                    },
                },
                router: Router::Alias(AliasRouter {
                    client: aws_sdk_lambda::Client::new(&conf),
                    function: name,
                    alias,
                    python_version,
                    rust_version,
                }),
            })
        }
        "route53" => {
            let r = deploy.route53.clone().ok_or_else(|| missing(function, "route53", ""))?;
            Ok(Plan {
                function: function.to_owned(),
                monitor: Monitor {
                    client: aws_sdk_cloudwatch::Client::new(&conf),
                    scope: MetricScope::Functions { python_function: r.python_function.clone(), rust_function: r.rust_function.clone() },
                },
                router: Router::Route53(Route53Router {
                    client: aws_sdk_route53::Client::new(&conf),
                    zone_id: r.zone_id,
                    record_name: r.record_name,
                    record_type: r.record_type,
                    python_set: r.python_set,
                    rust_set: r.rust_set,
                    python_target: r.python_target,
                    rust_target: r.rust_target,
                    ttl: r.ttl,
                }),
            })
        }
        other => anyhow::bail!("manuel-migrate.toml: functions.{function}.deploy.router = '{other}' (alias or route53)"),
    }
}

pub(crate) fn journal(project: &Project) -> Journal {
    Journal::new(project.reports_dir().join("shift-journal.jsonl"))
}

/// Set the weight with intent and outcome in the journal.
async fn set_weight(j: &Journal, plan: &Plan, percent: f64) -> anyhow::Result<()> {
    let call = plan.router.describe_set(percent);
    j.append(
        &plan.function,
        "intent",
        "set_weight",
        Some(percent),
        None,
        &call,
    )?;
    match plan.router.set(percent).await {
        Ok(()) => {
            j.append(
                &plan.function,
                "outcome",
                "set_weight",
                Some(percent),
                Some(true),
                "",
            )?;
            Ok(())
        }
        Err(e) => {
            j.append(
                &plan.function,
                "outcome",
                "set_weight",
                Some(percent),
                Some(false),
                &e.to_string(),
            )?;
            Err(e.into())
        }
    }
}

pub async fn shift(project: &Project, args: ShiftArgs) -> anyhow::Result<i32> {
    let defaults = &project.config.shift;
    let interval = parse_duration(args.interval.as_deref().unwrap_or(&defaults.interval))
        .map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
    let thresholds = Thresholds {
        max_error_diff: args.max_error_diff.unwrap_or(defaults.max_error_diff),
        min_invocations: args.min_invocations.unwrap_or(defaults.min_invocations),
    };
    let steps = match (&args.percent, &args.plan) {
        (Some(p), None) => vec![*p],
        (None, Some(plan)) => parse_plan(plan).map_err(|e| anyhow::anyhow!(e))?,
        _ => anyhow::bail!("give --percent N or --plan LIST"),
    };
    let plan = plan_for(project, &args.function).await?;
    let j = journal(project);
    if args.dry_run {
        println!("dry run: no AWS call is made. The shift would call:");
        println!("  {}", read_call(&plan));
        for (i, s) in steps.iter().enumerate() {
            println!("  {}", plan.router.describe_set(*s));
            if args.plan.is_some() && *s < 100.0 && i + 1 < steps.len() {
                println!("  wait {interval:?}, then cloudwatch:GetMetricStatistics AWS/Lambda Invocations and Errors (Sum) for each side, and judge");
            }
        }
        return Ok(exit::OK);
    }

    if let Some(d) = j.dangling_intent(&plan.function) {
        eprintln!(
            "note: a previous run stopped during '{}' ({}); the weights below are read from AWS",
            d.detail, d.ts
        );
    }
    let current = plan.router.read().await?;
    println!(
        "{}: Rust at {:.1}% now ({})",
        plan.function, current.rust_percent, current.detail
    );
    let going_up = steps.iter().any(|s| *s > current.rust_percent);
    if going_up && j.rolled_back(&plan.function) && !args.force {
        anyhow::bail!(
            "{}: the last verdict was a rollback ({}); fix the cause and pass --force to shift up again",
            plan.function,
            j.last_decision(&plan.function).map(|d| d.detail).unwrap_or_default()
        );
    }
    if args.force {
        j.append(
            &plan.function,
            "decision",
            "force",
            Some(current.rust_percent),
            None,
            "shift forced after a rollback",
        )?;
    }
    j.append(
        &plan.function,
        "start",
        if args.plan.is_some() {
            "plan"
        } else {
            "percent"
        },
        Some(current.rust_percent),
        None,
        &format!("steps {steps:?}, interval {interval:?}"),
    )?;

    if args.percent.is_some() {
        set_weight(&j, &plan, steps[0]).await?;
        let now = plan.router.read().await?;
        j.append(
            &plan.function,
            "decision",
            if steps[0] >= 100.0 { "done" } else { "set" },
            Some(now.rust_percent),
            None,
            "manual",
        )?;
        println!(
            "{}: Rust at {:.1}% ({})",
            plan.function, now.rust_percent, now.detail
        );
        return Ok(exit::OK);
    }

    // Resume: steps at or below the current weight are done already.
    let remaining: Vec<f64> = steps
        .into_iter()
        .filter(|s| *s > current.rust_percent)
        .collect();
    if remaining.is_empty() {
        println!(
            "{}: nothing to do, Rust is already at {:.1}%",
            plan.function, current.rust_percent
        );
        return Ok(exit::OK);
    }
    let limits = (
        defaults.inconclusive_limit.max(1),
        defaults.metric_error_limit.max(1),
    );
    let limits = (args.inconclusive_limit.unwrap_or(limits.0), limits.1);
    walk(&j, &plan, remaining, interval, thresholds, limits).await
}

/// Walk the remaining steps of a plan: set, watch, judge; roll back, hold, stop or go on.
/// Returns the exit code (0 reached the last step, 1 rolled back or stopped).
pub(crate) async fn walk(
    j: &Journal,
    plan: &Plan,
    remaining: Vec<f64>,
    interval: Duration,
    thresholds: Thresholds,
    limits: (u32, u32),
) -> anyhow::Result<i32> {
    let mut t = super::table();
    t.set_header(vec![
        "step",
        "python inv/err",
        "rust inv/err",
        "Δ error rate (points)",
        "p-value",
        "decision",
    ]);
    for step in remaining {
        set_weight(j, plan, step).await?;
        println!("{}: Rust at {step}%", plan.function);
        if step >= 100.0 {
            j.append(
                &plan.function,
                "decision",
                "done",
                Some(100.0),
                None,
                "promoted: alias points at the Rust version",
            )?;
            t.add_row(vec![
                format!("{step}%"),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "promoted".into(),
            ]);
            break;
        }
        let (mut inconclusive, mut metric_errors) = (0u32, 0u32);
        loop {
            wait(interval, step).await;
            let (py, rs) = match plan.monitor.read(interval).await {
                Ok(c) => {
                    metric_errors = 0;
                    c
                }
                Err(e) => {
                    metric_errors += 1;
                    j.append(
                        &plan.function,
                        "decision",
                        "hold",
                        Some(step),
                        None,
                        &format!("metrics unavailable ({metric_errors}/{}): {e}", limits.1),
                    )?;
                    if metric_errors >= limits.1 {
                        rollback_now(
                            j,
                            plan,
                            &format!("metrics unavailable {metric_errors} times in a row: {e}"),
                        )
                        .await?;
                        println!("{t}");
                        return Ok(exit::GATE_FAILED);
                    }
                    continue;
                }
            };
            let (verdict, diff, p) = judge(py, rs, thresholds);
            let pv = p.map(|p| format!("{p:.4}")).unwrap_or_else(|| "—".into());
            let detail = format!(
                "python {}/{} rust {}/{} Δ {diff:+.2} points (limit {}), p-value {pv}",
                py.invocations, py.errors, rs.invocations, rs.errors, thresholds.max_error_diff
            );
            let row = |d: &str| {
                vec![
                    format!("{step}%"),
                    format!("{}/{}", py.invocations, py.errors),
                    format!("{}/{}", rs.invocations, rs.errors),
                    format!("{diff:+.2}"),
                    pv.clone(),
                    d.to_owned(),
                ]
            };
            match verdict {
                Verdict::Healthy => {
                    j.append(
                        &plan.function,
                        "decision",
                        "promote",
                        Some(step),
                        None,
                        &detail,
                    )?;
                    t.add_row(row("healthy: next step"));
                    break;
                }
                Verdict::Failing => {
                    t.add_row(row("FAILING: rollback"));
                    rollback_now(j, plan, &detail).await?;
                    println!("{t}");
                    println!("{}: rolled back to 0% — {detail}", plan.function);
                    return Ok(exit::GATE_FAILED);
                }
                Verdict::Inconclusive => {
                    inconclusive += 1;
                    t.add_row(row(&format!("inconclusive ({inconclusive}/{})", limits.0)));
                    if inconclusive >= limits.0 {
                        j.append(
                            &plan.function,
                            "decision",
                            "stop",
                            Some(step),
                            None,
                            &format!("too few Rust invocations {inconclusive} times: {detail}"),
                        )?;
                        println!("{t}");
                        println!("{}: stopped at {step}% — fewer than {} Rust invocations in {inconclusive} windows", plan.function, thresholds.min_invocations);
                        return Ok(exit::GATE_FAILED);
                    }
                    j.append(
                        &plan.function,
                        "decision",
                        "hold",
                        Some(step),
                        None,
                        &format!("inconclusive: {detail}"),
                    )?;
                }
            }
        }
    }
    println!("{t}");
    let now = plan.router.read().await?;
    println!(
        "{}: Rust at {:.1}% ({})",
        plan.function, now.rust_percent, now.detail
    );
    Ok(exit::OK)
}

async fn wait(interval: Duration, step: f64) {
    let pb = indicatif::ProgressBar::new(interval.as_millis() as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] watching {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_prefix(format!("{step}%"));
    let started = std::time::Instant::now();
    while started.elapsed() < interval {
        tokio::time::sleep(Duration::from_millis(100).min(interval)).await;
        pb.set_position(started.elapsed().as_millis() as u64);
    }
    pb.finish_and_clear();
}

async fn rollback_now(j: &Journal, plan: &Plan, why: &str) -> anyhow::Result<()> {
    set_weight(j, plan, 0.0).await?;
    j.append(&plan.function, "decision", "rollback", Some(0.0), None, why)?;
    Ok(())
}

fn read_call(plan: &Plan) -> String {
    match &plan.router {
        Router::Alias(a) => format!("lambda:GetAlias {} alias {}", a.function, a.alias),
        Router::Route53(r) => format!(
            "route53:ListResourceRecordSets {} {}",
            r.zone_id, r.record_name
        ),
    }
}

pub async fn rollback(project: &Project, args: RollbackArgs) -> anyhow::Result<i32> {
    let plan = plan_for(project, &args.function).await?;
    if args.dry_run {
        println!("dry run: would call {}", plan.router.describe_set(0.0));
        return Ok(exit::OK);
    }
    let j = journal(project);
    rollback_now(&j, &plan, "manual rollback").await?;
    let now = plan.router.read().await?;
    println!(
        "{}: Rust at {:.1}% ({})",
        plan.function, now.rust_percent, now.detail
    );
    Ok(exit::OK)
}

pub async fn status(project: &Project, args: StatusArgs) -> anyhow::Result<i32> {
    let names: Vec<String> = match args.function {
        Some(f) => {
            project.function(&f)?;
            vec![f]
        }
        None => project
            .config
            .functions
            .iter()
            .filter(|(_, c)| c.deploy.is_some())
            .map(|(n, _)| n.clone())
            .collect(),
    };
    if names.is_empty() {
        println!("no function has a [functions.NAME.deploy] section yet (functions publish --as-version-of records one)");
        return Ok(exit::OK);
    }
    let window = parse_duration(&project.config.shift.interval).unwrap_or(Duration::from_secs(600));
    let j = journal(project);
    let mut t = super::table();
    t.set_header(vec![
        "function",
        "Rust share (from AWS)",
        "last decision",
        "error rates (window)",
        "in flight",
    ]);
    for name in &names {
        let plan = plan_for(project, name).await?;
        let weights = match plan.router.read().await {
            Ok(w) => format!("{:.1}%\n{}", w.rust_percent, w.detail),
            Err(e) => format!("unknown: {e}"),
        };
        let decision = j
            .last_decision(name)
            .map(|d| {
                format!(
                    "{} at {}% ({})\n{}",
                    d.action,
                    d.percent.unwrap_or(0.0),
                    d.ts,
                    d.detail
                )
            })
            .unwrap_or_else(|| "none".into());
        let rates = match plan.monitor.read(window).await {
            Ok((py, rs)) => format!(
                "python {:.2}% of {}\nrust {:.2}% of {}",
                py.error_rate() * 100.0,
                py.invocations,
                rs.error_rate() * 100.0,
                rs.invocations
            ),
            Err(e) => format!("unavailable: {e}"),
        };
        let flight = j
            .dangling_intent(name)
            .map(|d| format!("INTERRUPTED during: {} ({})", d.detail, d.ts))
            .unwrap_or_else(|| "nothing".into());
        t.add_row(vec![name.clone(), weights, decision, rates, flight]);
    }
    println!("{t}");
    for name in &names {
        let entries = j.entries(name);
        if entries.is_empty() {
            continue;
        }
        println!("journal tail ({name}, {}):", j.path().display());
        for e in entries.iter().rev().take(6).rev() {
            println!(
                "  {} {:<8} {:<10} {}{}",
                e.ts,
                e.event,
                e.action,
                e.percent.map(|p| format!("{p}% ")).unwrap_or_default(),
                e.detail
            );
        }
    }
    Ok(exit::OK)
}
