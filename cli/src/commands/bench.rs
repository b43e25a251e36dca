//! `bench`: both sides under the same load and the same cold-start sampling, compared with the
//! migration plan's targets.

use crate::bench::load::{self, LoadConfig, LoadResult};
use crate::bench::report::{self, BenchReport, ColdStats, Percentiles, SideReport};
use crate::bench::{cold_lambda, cold_local};
use crate::cli::BenchArgs;
use crate::config::Project;
use crate::exec::Side;
use crate::exec::{runner, Runner};
use crate::exit;
use crate::fixtures::{self, Case};
use crate::stack::Stack;
use indicatif::ProgressBar;
use manuel_shared::cost::lambda::{Arch, LambdaPricing};
use std::collections::BTreeMap;

struct SideSetup<'a> {
    name: &'static str,
    runner: Runner<'a>,
    arch: Arch,
    lambda: Option<String>,
}

pub async fn run(project: &Project, args: BenchArgs) -> anyhow::Result<i32> {
    // Validate everything before starting anything.
    let cfg = project.function(&args.function)?;
    if args.targets.python_live() {
        project.twin(&args.function, "a Python side of bench")?;
    }
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| project.config.project.region.clone());
    let rust_arch: Arch = args
        .rust_arch
        .parse()
        .map_err(|e| anyhow::anyhow!("--rust-arch: {e}"))?;
    let python_arch: Arch = args
        .python_arch
        .parse()
        .map_err(|e| anyhow::anyhow!("--python-arch: {e}"))?;
    let pricing_rust = LambdaPricing::for_region(&region, rust_arch)
        .map_err(|e| anyhow::anyhow!("--region: {e}"))?;
    let pricing_python = LambdaPricing::for_region(&region, python_arch)
        .map_err(|e| anyhow::anyhow!("--region: {e}"))?;
    if !(0.0..=1.0).contains(&args.cold_ratio) {
        anyhow::bail!(
            "--cold-ratio must be between 0 and 1, got {}",
            args.cold_ratio
        );
    }
    let memory_mb = args.memory_mb.unwrap_or(cfg.memory_mb);
    if memory_mb < 128 {
        anyhow::bail!("--memory-mb {memory_mb}: Lambda's memory sizes start at 128 MB");
    }
    let dir = args
        .reports
        .clone()
        .unwrap_or_else(|| project.reports_dir());
    crate::fsutil::check_output_dir(&dir, "--reports")?;
    let glob = fixtures::case_matcher(args.case.as_deref())?;
    let all = fixtures::load_function(&project.fixtures_dir(), &args.function, glob.as_ref())?;
    let t = &args.targets;
    let remote = t.remote();
    let mut cases: Vec<Case> = all
        .into_iter()
        .filter(|c| t.allow_writes || !c.writes())
        // Deployed targets cannot take per-case environment; locally both sides can.
        .filter(|c| !remote || c.fixture.env.is_empty())
        .collect();
    // Timing does not depend on the date, and libfaketime would add its own cost to every
    // clock read: bench runs at the real time.
    for c in &mut cases {
        c.fixture.clock = None;
    }
    if cases.is_empty() {
        anyhow::bail!(
            "no read-only fixtures for function '{}' in {} (use --allow-writes to include writes)",
            args.function,
            project.fixtures_dir().join(&args.function).display()
        );
    }
    let load_cfg = LoadConfig {
        concurrency: args.concurrency as usize,
        requests: match (args.requests, args.duration) {
            (Some(n), _) => Some(n),
            (None, Some(_)) => None,
            (None, None) => Some(2000),
        },
        duration: args.duration,
        rate: args.rate,
        warmup: args.warmup,
    };

    let stack = if t.needs_stack() {
        Some(Stack::attach_or_start(project).await?)
    } else {
        None
    };
    // The cases' seeded state, once: a fresh stack holding every case's setup.
    if let Some(stack) = stack.as_ref().filter(|_| !remote) {
        if cases.iter().any(|c| c.fixture.setup.is_some()) {
            stack.reset().await?;
            for c in &cases {
                if let Some(setup) = &c.fixture.setup {
                    crate::exec::state::seed(stack, setup, &project.fixtures_dir(), c.now())
                        .await
                        .map_err(|e| anyhow::anyhow!("{}: {e}", c.file.display()))?;
                }
            }
        }
    }
    let mut sides: Vec<SideSetup> = Vec::new();
    if t.python_live() {
        let at = t.python_where();
        sides.push(SideSetup {
            name: "python",
            runner: runner(
                project,
                stack.as_ref(),
                &args.function,
                Side::Python,
                at,
                None,
            )
            .await?
            .with_lambda_limits(!args.no_lambda_limits, args.memory_mb),
            arch: python_arch,
            lambda: t.python_function.clone(),
        });
    }
    let at = t.rust_where();
    sides.push(SideSetup {
        name: "rust",
        runner: runner(
            project,
            stack.as_ref(),
            &args.function,
            Side::Rust,
            at,
            args.profile,
        )
        .await?
        .with_lambda_limits(!args.no_lambda_limits, args.memory_mb),
        arch: rust_arch,
        lambda: t.rust_function.clone(),
    });

    // A target that cannot answer at all is an input error, not a fast function. The probe
    // also tells how Lambda's limits apply to a local side.
    let mut limits_used: BTreeMap<&'static str, String> = BTreeMap::new();
    for s in &sides {
        let probe = s.runner.answer(&cases[0].request()?).await;
        match &probe {
            Err(e) => anyhow::bail!(
                "{} target {} is unreachable: {e}",
                s.name,
                s.runner.describe()
            ),
            Ok(a) => {
                let label = match (&s.runner, &a.report) {
                    (Runner::Local(_), Some(r)) => r.limits.label().to_owned(),
                    (Runner::Local(_), None) => "off".to_owned(),
                    _ => "Lambda's own".to_owned(),
                };
                limits_used.insert(s.name, label);
            }
        }
    }

    crate::signal::claim();
    let started_at = chrono::Utc::now();
    let mut measured: Vec<(&'static str, LoadResult, ColdStats, String, Arch)> = Vec::new();
    for s in &sides {
        let total = load_cfg.requests.unwrap_or(0);
        let pb = bar(total, &format!("{} load", s.name), load_cfg.duration);
        let started = std::time::Instant::now();
        let tick = |n: u64| {
            if total > 0 {
                pb.inc(n);
            } else if let Some(d) = load_cfg.duration {
                pb.set_position(
                    (started.elapsed().as_secs_f64() / d.as_secs_f64() * 1000.0) as u64,
                );
            }
        };
        let result = load::run(&s.runner, &cases, &load_cfg, &tick).await?;
        pb.finish_and_clear();
        let mut cold = ColdStats::default();
        if args.cold_samples > 0 && !crate::signal::stop_requested() {
            let pb = bar(args.cold_samples as u64, &format!("{} cold", s.name), None);
            let inc = || pb.inc(1);
            cold = match (&s.runner, &s.lambda) {
                (Runner::Local(pool), _) => {
                    cold_local(pool, &cases[0], args.cold_samples as usize, &inc).await?
                }
                (Runner::Lambda(_), Some(name)) => {
                    let conf = crate::aws::config(project).await;
                    cold_lambda(&conf, name, &cases[0], args.cold_samples as usize, &inc).await?
                }
                _ => {
                    tracing::warn!(
                        "{}: cold starts cannot be forced through a URL; skipped",
                        s.name
                    );
                    ColdStats::default()
                }
            };
            pb.finish_and_clear();
        }
        measured.push((s.name, result, cold, s.runner.describe(), s.arch));
    }

    let side_report = |name: &str, r: &LoadResult, cold: &ColdStats, target: &str, arch: Arch| {
        let pricing = if name == "rust" {
            pricing_rust
        } else {
            pricing_python
        };
        let billed = r.mean_billed_ms();
        let init_billed = cold
            .init_p50()
            .map(|i| i.ceil() * args.cold_ratio)
            .unwrap_or(0.0);
        SideReport {
            target: target.to_owned(),
            requests: r.total(),
            errors: r.errors,
            error_rate: r.error_rate(),
            error_samples: r.error_samples.clone(),
            throughput_rps: r.throughput(),
            latency_ms: Percentiles::of(r),
            mean_billed_ms: billed,
            peak_rss_mb: r.max_rss_mb,
            memory_mb,
            arch: arch.to_string(),
            cost_per_million_usd: billed.map(|b| pricing.per_million(b, init_billed, memory_mb)),
            lambda_limits: limits_used
                .get(name)
                .cloned()
                .unwrap_or_else(|| "off".into()),
            cold: cold.clone(),
            interrupted: r.interrupted,
        }
    };
    let python = measured
        .iter()
        .find(|m| m.0 == "python")
        .map(|(n, r, c, t, a)| side_report(n, r, c, t, *a));
    let (_, rr, rc, rt, ra) = measured
        .iter()
        .find(|m| m.0 == "rust")
        .expect("rust side measured");
    let rust = side_report("rust", rr, rc, rt, *ra);
    if rust.requests > 0 && rust.errors == rust.requests {
        eprintln!(
            "warning: every Rust request failed ({}); its latencies are those of errors",
            rust.error_samples.first().cloned().unwrap_or_default()
        );
    }
    let rows = report::rows(python.as_ref(), &rust);
    let passed = rows.iter().all(|r| r.pass != Some(false));

    let stamp = started_at.format("%Y%m%dT%H%M%SZ").to_string();
    let (json_path, py_hlog, rust_hlog, svg) = report::paths(&dir, &stamp);
    let mut files = Vec::new();
    for (name, r, ..) in &measured {
        let path = if *name == "rust" {
            &rust_hlog
        } else {
            &py_hlog
        };
        report::write_hlog(path, name, r, started_at)?;
        files.push(path.display().to_string());
    }
    let plotted: Vec<(&str, &LoadResult)> = measured.iter().map(|(n, r, ..)| (*n, r)).collect();
    report::write_svg(&svg, &args.function, &plotted)?;
    files.push(svg.display().to_string());
    files.push(json_path.display().to_string());
    let full = BenchReport {
        function: args.function.clone(),
        started_at: started_at.to_rfc3339(),
        mode: match args.rate {
            Some(r) => format!("open loop at {r} req/s, {} workers", args.concurrency),
            None => format!("closed loop, concurrency {}", args.concurrency),
        },
        cases: cases.iter().map(Case::id).collect(),
        python,
        rust,
        rows,
        passed,
        files: files.clone(),
    };
    crate::fsutil::write_atomic(&json_path, &serde_json::to_vec_pretty(&full)?)?;

    println!("{}", report::table(&full));
    let interrupted = full.rust.interrupted || full.python.as_ref().is_some_and(|p| p.interrupted);
    println!(
        "{}{} · {} · {} cases in the mix · prices {region}, {memory_mb} MB, Rust {}, Python {}",
        if passed {
            "targets met"
        } else {
            "TARGETS MISSED"
        },
        if interrupted {
            " (interrupted: partial measurements)"
        } else {
            ""
        },
        full.mode,
        cases.len(),
        args.rust_arch,
        args.python_arch
    );
    let limits: Vec<String> = limits_used
        .iter()
        .map(|(side, l)| format!("{side}: {l}"))
        .collect();
    println!(
        "Lambda limits at {memory_mb} MB ({:.2} vCPU): {}",
        crate::exec::runtime_api::limits::vcpus(memory_mb),
        limits.join(", ")
    );
    for f in files {
        println!("wrote {f}");
    }
    drop(stack);
    Ok(if interrupted || crate::signal::stop_requested() {
        eprintln!("interrupted: the report holds what was measured; '—' marks what was not");
        exit::INTERRUPTED
    } else if args.gate && !passed {
        exit::GATE_FAILED
    } else {
        exit::OK
    })
}

fn bar(total: u64, prefix: &str, duration: Option<std::time::Duration>) -> ProgressBar {
    let (len, template) = match (total, duration) {
        (0, Some(_)) => (1000, "{prefix:>12} [{bar:30}] {elapsed}"),
        _ => (total, "{prefix:>12} [{bar:30}] {pos}/{len} {rate}"),
    };
    let pb = ProgressBar::new(len);
    pb.set_style(super::progress_style(template));
    pb.set_prefix(prefix.to_owned());
    pb
}
