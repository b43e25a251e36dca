//! `shift`, `rollback`, `status`: move traffic between the Python and the Rust side.

use crate::bench::load::parse_duration;
use crate::cli::{RollbackArgs, ShiftArgs, StatusArgs};
use crate::config::Project;
use crate::exit;
use crate::shift::controller::{sample_warnings, Controller, Event, Limits, Outcome, Pause};
use crate::shift::journal::Journal;
use crate::shift::monitor::{MetricScope, Monitor};
use crate::shift::router::{AliasRouter, Route53Router, Router};
use crate::shift::{parse_plan, Thresholds};
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
fn plan_for(
    project: &Project,
    function: &str,
    conf: &aws_config::SdkConfig,
) -> anyhow::Result<Plan> {
    let cfg = project.function(function)?;
    let deploy = cfg
        .deploy
        .clone()
        .ok_or_else(|| anyhow::anyhow!("manuel-migrate.toml: functions.{function}.deploy is missing (run `functions publish --function {function} --as-version-of NAME` first)"))?;
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
                    client: aws_sdk_cloudwatch::Client::new(conf),
                    scope: MetricScope::Alias {
                        function: name.clone(),
                        alias: alias.clone(),
                        python_version: python_version.clone(),
                        rust_version: rust_version.clone(),
                    },
                },
                router: Router::Alias(AliasRouter {
                    client: aws_sdk_lambda::Client::new(conf),
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
                    client: aws_sdk_cloudwatch::Client::new(conf),
                    scope: MetricScope::Functions { python_function: r.python_function.clone(), rust_function: r.rust_function.clone() },
                },
                router: Router::Route53(Route53Router {
                    client: aws_sdk_route53::Client::new(conf),
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

/// The CLI's watch window: a progress bar while it passes.
pub(crate) struct ProgressPause;

impl Pause for ProgressPause {
    async fn wait(&self, interval: Duration, step: f64) {
        let pb = indicatif::ProgressBar::new(interval.as_millis() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] watching {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        pb.set_prefix(format!("{step}%"));
        let started = std::time::Instant::now();
        while started.elapsed() < interval && !crate::signal::stop_requested() {
            tokio::time::sleep(Duration::from_millis(100).min(interval)).await;
            pb.set_position(started.elapsed().as_millis() as u64);
        }
        pb.finish_and_clear();
    }
}

/// Prints what the controller decides as a table of windows (rows appear as they are judged).
pub(crate) struct Printer {
    function: String,
    table: comfy_table::Table,
}

impl Printer {
    pub(crate) fn new(function: &str) -> Self {
        let mut table = super::table();
        table.set_header(vec![
            "step",
            "python inv/err",
            "rust inv/err",
            "Δ error rate (points)",
            "p-value",
            "decision",
        ]);
        Self {
            function: function.to_owned(),
            table,
        }
    }

    pub(crate) fn on(&mut self, e: Event) {
        match e {
            Event::Current(w) => println!(
                "{}: Rust at {:.1}% now ({})",
                self.function, w.rust_percent, w.detail
            ),
            Event::WeightSet(p) => println!("{}: Rust at {p}%", self.function),
            Event::Judged {
                judgement: j, note, ..
            } => {
                println!(
                    "{}: {}% window: python {}/{} rust {}/{}, Δ {:+.2} points, p {} → {note}",
                    self.function,
                    j.step,
                    j.python.invocations,
                    j.python.errors,
                    j.rust.invocations,
                    j.rust.errors,
                    j.diff,
                    j.p_text()
                );
                self.table.add_row(vec![
                    format!("{}%", j.step),
                    format!("{}/{}", j.python.invocations, j.python.errors),
                    format!("{}/{}", j.rust.invocations, j.rust.errors),
                    format!("{:+.2}", j.diff),
                    j.p_text(),
                    note,
                ]);
            }
            Event::MetricsUnavailable {
                step,
                count,
                limit,
                error,
            } => {
                eprintln!(
                    "{}: {step}%: metrics unavailable ({count}/{limit}): {error}",
                    self.function
                );
                self.table.add_row(vec![
                    format!("{step}%"),
                    "?".to_owned(),
                    "?".to_owned(),
                    String::new(),
                    String::new(),
                    format!("metrics unavailable ({count}/{limit})"),
                ]);
            }
            Event::Promoted => {
                self.table.add_row(vec!["100%", "", "", "", "", "promoted"]);
            }
        }
    }

    pub(crate) fn finish(&self, outcome: &Outcome) {
        if !self.table.is_empty() {
            println!("{}", self.table);
        }
        println!("{}", outcome.summary(&self.function));
    }
}

pub(crate) fn controller<'a>(
    plan: &'a Plan,
    journal: &'a Journal,
    thresholds: Thresholds,
    limits: Limits,
    interval: Duration,
) -> Controller<'a, Router, Monitor, ProgressPause> {
    Controller {
        function: &plan.function,
        router: &plan.router,
        metrics: &plan.monitor,
        pause: &ProgressPause,
        journal,
        thresholds,
        limits,
        interval,
    }
}

pub async fn shift(project: &Project, args: ShiftArgs) -> anyhow::Result<i32> {
    let defaults = &project.config.shift;
    let interval = parse_duration(args.interval.as_deref().unwrap_or(&defaults.interval))
        .map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
    let thresholds = Thresholds {
        max_error_diff: args.max_error_diff.unwrap_or(defaults.max_error_diff),
        min_invocations: args.min_invocations.unwrap_or(defaults.min_invocations),
        strict_p: defaults.strict_p,
        min_errors: defaults.min_errors,
    };
    let steps = match (&args.percent, &args.plan) {
        (Some(p), None) => vec![*p],
        (None, Some(plan)) => parse_plan(plan).map_err(|e| anyhow::anyhow!(e))?,
        _ => anyhow::bail!("give --percent N or --plan LIST"),
    };
    if args.dry_run {
        let plan = plan_for(
            project,
            &args.function,
            &crate::aws::offline_config(project),
        )?;
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
    let plan = plan_for(project, &args.function, &crate::aws::config(project).await)?;
    let j = journal(project);
    if let Some(d) = j.dangling_intent(&plan.function) {
        eprintln!(
            "note: a previous run stopped during '{}' ({}); the weights below are read from AWS",
            d.detail, d.ts
        );
    }
    let limits = Limits {
        inconclusive: args
            .inconclusive_limit
            .unwrap_or(defaults.inconclusive_limit)
            .max(1),
        metric_errors: defaults.metric_error_limit.max(1),
    };
    let ctl = controller(&plan, &j, thresholds, limits, interval);
    let mut printer = Printer::new(&plan.function);
    let outcome = match args.percent {
        Some(p) => ctl.set_once(p, args.force, &mut |e| printer.on(e)).await?,
        None => {
            // Before walking: can the traffic of one window reach the minimum sample?
            if let Ok((py, rs)) = plan.monitor.read(interval).await {
                let per_window = (py.invocations + rs.invocations) as f64;
                for w in sample_warnings(&steps, per_window, thresholds.min_invocations) {
                    eprintln!("warning: {w} (last window: {per_window:.0} invocations in all)");
                }
            }
            ctl.run_plan(&steps, args.force, &mut |e| printer.on(e))
                .await?
        }
    };
    printer.finish(&outcome);
    Ok(outcome.exit_code())
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
    if args.dry_run {
        let plan = plan_for(
            project,
            &args.function,
            &crate::aws::offline_config(project),
        )?;
        println!("dry run: no AWS call is made. The rollback would call:");
        println!("  {}", plan.router.describe_set(0.0));
        return Ok(exit::OK);
    }
    let plan = plan_for(project, &args.function, &crate::aws::config(project).await)?;
    let j = journal(project);
    let d = &project.config.shift;
    let ctl = controller(
        &plan,
        &j,
        Thresholds {
            max_error_diff: d.max_error_diff,
            min_invocations: d.min_invocations,
            strict_p: d.strict_p,
            min_errors: d.min_errors,
        },
        Limits {
            inconclusive: 1,
            metric_errors: 1,
        },
        Duration::ZERO,
    );
    ctl.rollback("manual rollback").await?;
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
    let conf = crate::aws::config(project).await;
    for name in &names {
        let plan = plan_for(project, name, &conf)?;
        let weights = match plan.router.read().await {
            Ok(w) => format!("{:.1}%\n{}", w.rust_percent, w.detail),
            Err(e) => format!("unknown: {e}"),
        };
        let decision = j
            .last_decision(name)
            .map(|d| {
                format!(
                    "{} at {}% ({})\n{}",
                    d.action.as_str(),
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
                format!("{:?}", e.event).to_lowercase(),
                e.action.as_str(),
                e.percent.map(|p| format!("{p}% ")).unwrap_or_default(),
                e.detail
            );
        }
    }
    Ok(exit::OK)
}
