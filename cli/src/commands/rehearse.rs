//! `rehearse`: the shift, on the local stack. moto stores alias weights but routes nothing, so
//! this command routes replayed traffic by the alias weights itself to the local Python and
//! Rust targets, publishes `AWS/Lambda` Invocations and Errors (with `ExecutedVersion`) to moto's
//! CloudWatch as Lambda would, and runs the same controller as `shift --plan`.

use super::shift::{controller, Plan, Printer};
use crate::cli::RehearseArgs;
use crate::config::Project;
use crate::exec::runtime_api::Outcome;
use crate::exec::Side;
use crate::exec::{Faults, Pool, Runner};
use crate::fixtures::{self, Case};
use crate::shift::controller::{sample_warnings, Limits};
use crate::shift::journal::Journal;
use crate::shift::monitor::{MetricScope, Monitor};
use crate::shift::router::{AliasTarget, RouteTarget};
use crate::shift::{parse_plan, Thresholds};
use crate::stack::Stack;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counts {
    invocations: AtomicU64,
    errors: AtomicU64,
}

pub async fn run(project: &Project, args: RehearseArgs) -> anyhow::Result<i32> {
    let cfg = project.function(&args.function)?;
    project.twin(&args.function, "rehearse")?;
    let steps = parse_plan(&args.plan).map_err(|e| anyhow::anyhow!(e))?;
    let interval = crate::bench::load::parse_duration(&args.interval)
        .map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
    if args.fault_percent > 100 {
        anyhow::bail!("--fault-percent must be 0–100, got {}", args.fault_percent);
    }
    let cases: Vec<Case> = fixtures::load_function(&project.fixtures_dir(), &args.function, None)?
        .into_iter()
        .filter(|c| !c.writes())
        .collect();
    if cases.is_empty() {
        anyhow::bail!("no read-only fixtures for function '{}'", args.function);
    }
    if args.python_src.is_none() {
        for c in &cases {
            c.recorded_response()?;
        }
    }
    let stack = Stack::attach_or_start(project).await?;
    let name = format!(
        "manuel-{}-rehearsal-{}",
        args.function,
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    crate::stack::moto::create_two_version_function(&stack, &name).await?;
    let conf = stack.sdk_config().await;
    let target = RouteTarget::Alias(AliasTarget {
        function: name.clone(),
        alias: "live".into(),
        python_version: "1".into(),
        rust_version: "2".into(),
    });
    let plan = Plan {
        function: args.function.clone(),
        router: target.router(&conf),
        target,
        monitor: Monitor {
            client: aws_sdk_cloudwatch::Client::new(&conf),
            scope: MetricScope::Alias {
                function: name.clone(),
                alias: "live".into(),
                python_version: "1".into(),
                rust_version: "2".into(),
            },
        },
    };
    // Faults are injected by the local Runtime API, not by the function binary: a deployed
    // function cannot be made to fail by a variable.
    let rust = Runner::Local(
        Pool::new(
            project,
            &stack,
            &args.function,
            Side::Rust,
            None,
            args.profile,
        )?
        .with_lambda_limits(!args.no_lambda_limits, None)
        .with_faults(Faults::new(args.fault_percent as u64, 1.0)),
    );
    let python = match &args.python_src {
        Some(src) => Some(Runner::Local(
            Pool::new(
                project,
                &stack,
                &args.function,
                Side::Python,
                Some(src.clone()),
                None,
            )?
            .with_lambda_limits(!args.no_lambda_limits, None),
        )),
        None => None,
    };
    let journal = Journal::new(project.reports_dir().join("rehearsal-journal.jsonl"));
    println!(
        "rehearsal: {} on moto as {name} (alias live: 1 = Python {}, 2 = Rust{}), plan {:?} every {interval:?}, {} req/s",
        args.function,
        if python.is_some() { "live" } else { "recorded answers" },
        if args.fault_percent > 0 { format!(" with {}% injected faults", args.fault_percent) } else { String::new() },
        steps,
        args.rate
    );
    let _ = cfg;
    let thresholds = Thresholds {
        max_error_diff: args.max_error_diff,
        min_invocations: args.min_invocations,
        strict_p: project.config.shift.strict_p,
        min_errors: project.config.shift.min_errors,
    };
    let per_window = args.rate as f64 * interval.as_secs_f64();
    for w in sample_warnings(&steps, per_window, args.min_invocations) {
        eprintln!(
            "warning: {w} (--rate {} × --interval {interval:?} = {per_window:.0} requests per window)",
            args.rate
        );
    }

    let requests = cases
        .iter()
        .map(Case::request)
        .collect::<Result<Vec<_>, _>>()?;
    let stop = AtomicBool::new(false);
    let sides = [Counts::default(), Counts::default()];
    let cw = aws_sdk_cloudwatch::Client::new(&conf);
    let traffic = async {
        let period = Duration::from_secs_f64(1.0 / args.rate as f64);
        let (mut weight, mut weight_read) = (0.0f64, Instant::now() - Duration::from_secs(1));
        let (mut acc, mut i, mut last_publish) = (0.0f64, 0usize, Instant::now());
        let mut published = [(0u64, 0u64); 2];
        while !stop.load(Ordering::SeqCst) && !crate::signal::stop_requested() {
            let tick = Instant::now();
            if weight_read.elapsed() > Duration::from_millis(250) {
                if let Ok(w) = plan.router.read().await {
                    weight = w.rust_percent / 100.0;
                }
                weight_read = Instant::now();
            }
            // Weighted round-robin: exactly `weight` of the requests go to Rust.
            acc += weight;
            let to_rust = acc >= 1.0;
            if to_rust {
                acc -= 1.0;
            }
            let req = &requests[i % requests.len()];
            i += 1;
            let answered = match (to_rust, &python) {
                (true, _) => Some(rust.answer(req).await),
                (false, Some(p)) => Some(p.answer(req).await),
                // The recorded answers stand in for Python: they do not fail.
                (false, None) => None,
            };
            let failed = match answered {
                Some(Ok(a)) => matches!(a.outcome, Some(Outcome::FunctionError { .. })),
                Some(Err(_)) => true,
                None => false,
            };
            let side = &sides[to_rust as usize];
            side.invocations.fetch_add(1, Ordering::Relaxed);
            if failed {
                side.errors.fetch_add(1, Ordering::Relaxed);
            }
            if last_publish.elapsed() >= Duration::from_secs(1) {
                for (idx, version) in [(0usize, "1"), (1, "2")] {
                    let (inv, err) = (
                        sides[idx].invocations.load(Ordering::Relaxed),
                        sides[idx].errors.load(Ordering::Relaxed),
                    );
                    let (d_inv, d_err) = (inv - published[idx].0, err - published[idx].1);
                    if d_inv > 0 {
                        publish(&cw, &name, version, d_inv as f64, d_err as f64).await;
                    }
                    published[idx] = (inv, err);
                }
                last_publish = Instant::now();
            }
            if let Some(rest) = period.checked_sub(tick.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
    };
    let controller = async {
        let ctl = controller(
            &plan,
            &journal,
            thresholds,
            Limits {
                inconclusive: args.inconclusive_limit.max(1),
                metric_errors: 3,
            },
            interval,
        );
        let mut printer = Printer::new(&plan.function);
        let r = ctl.run_plan(&steps, false, &mut |e| printer.on(e)).await;
        stop.store(true, Ordering::SeqCst);
        r.inspect(|outcome| printer.finish(outcome))
    };
    let (outcome, ()) = tokio::join!(controller, traffic);
    let outcome = outcome?;
    let code = outcome.exit_code();
    let mut t = super::table();
    t.set_header(vec!["side", "requests", "function errors"]);
    for (label, c) in [
        ("python (version 1)", &sides[0]),
        ("rust (version 2)", &sides[1]),
    ] {
        t.add_row(vec![
            label.to_owned(),
            c.invocations.load(Ordering::Relaxed).to_string(),
            c.errors.load(Ordering::Relaxed).to_string(),
        ]);
    }
    println!("{t}");
    println!(
        "rehearsal: {}; journal: {}",
        outcome.summary(&args.function),
        journal.path().display()
    );
    Ok(code)
}

async fn publish(
    cw: &aws_sdk_cloudwatch::Client,
    function: &str,
    version: &str,
    invocations: f64,
    errors: f64,
) {
    let dims = vec![
        Dimension::builder()
            .name("FunctionName")
            .value(function)
            .build(),
        Dimension::builder()
            .name("Resource")
            .value(format!("{function}:live"))
            .build(),
        Dimension::builder()
            .name("ExecutedVersion")
            .value(version)
            .build(),
    ];
    let now = aws_sdk_cloudwatch::primitives::DateTime::from(std::time::SystemTime::now());
    let datum = |name: &str, v: f64| {
        MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims.clone()))
            .value(v)
            .timestamp(now)
            .build()
    };
    let res = cw
        .put_metric_data()
        .namespace("AWS/Lambda")
        .metric_data(datum("Invocations", invocations))
        .metric_data(datum("Errors", errors))
        .send()
        .await;
    if let Err(e) = res {
        tracing::warn!(
            "publishing rehearsal metrics: {}",
            crate::stack::aws_message(&e)
        );
    }
}
