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
    if !args.memory.is_empty() {
        return sweep(project, args).await;
    }
    run_one(project, &args, None, false)
        .await
        .map(|(_, code)| code)
}

/// One bench at one memory size: on `shared` (the sweep's stack) or a stack of its own;
/// `quiet` prints one line instead of the table.
async fn run_one(
    project: &Project,
    args: &BenchArgs,
    shared: Option<&Stack>,
    quiet: bool,
) -> anyhow::Result<(BenchReport, i32)> {
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

    let own_stack = if shared.is_none() && t.needs_stack() {
        Some(Stack::attach_or_start(project).await?)
    } else {
        None
    };
    let stack = shared.or(own_stack.as_ref());
    // The cases' seeded state, once: a fresh stack holding every case's setup.
    if let Some(stack) = stack.filter(|_| !remote) {
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
            runner: runner(project, stack, &args.function, Side::Python, at, None)
                .await?
                .with_lambda_limits(!args.no_lambda_limits, args.memory_mb),
            arch: python_arch,
            lambda: t.python_function.clone(),
        });
    }
    let at = t.rust_where();
    sides.push(SideSetup {
        name: "rust",
        runner: runner(project, stack, &args.function, Side::Rust, at, args.profile)
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

    let mut stamp = started_at.format("%Y%m%dT%H%M%SZ").to_string();
    if quiet {
        // A sweep's runs share their second: the size tells them apart.
        stamp.push_str(&format!("-{memory_mb}mb"));
    }
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

    let interrupted = full.rust.interrupted || full.python.as_ref().is_some_and(|p| p.interrupted);
    let limits: Vec<String> = limits_used
        .iter()
        .map(|(side, l)| format!("{side}: {l}"))
        .collect();
    if quiet {
        println!(
            "{memory_mb} MB ({:.2} vCPU, {}): measured, {}",
            crate::exec::runtime_api::limits::vcpus(memory_mb),
            limits.join(", "),
            json_path.display()
        );
    } else {
        println!("{}", report::table(&full));
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
        println!(
            "Lambda limits at {memory_mb} MB ({:.2} vCPU): {}",
            crate::exec::runtime_api::limits::vcpus(memory_mb),
            limits.join(", ")
        );
        for f in files {
            println!("wrote {f}");
        }
    }
    drop(own_stack);
    let code = if interrupted || crate::signal::stop_requested() {
        eprintln!("interrupted: the report holds what was measured; '—' marks what was not");
        exit::INTERRUPTED
    } else if args.gate && !passed {
        exit::GATE_FAILED
    } else {
        exit::OK
    };
    Ok((full, code))
}

/// `bench --memory …`: the same mix at each size, one stack for all, then the choice.
async fn sweep(project: &Project, args: BenchArgs) -> anyhow::Result<i32> {
    use crate::bench::tuning::{self, Point};
    let cfg = project.function(&args.function)?;
    if args.targets.remote() {
        anyhow::bail!(
            "--memory: a deployed side's memory is its configuration; sweep the local processes (drop --python-function/--rust-function/--*-url)"
        );
    }
    let mut sizes = args.memory.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let dir = args
        .reports
        .clone()
        .unwrap_or_else(|| project.reports_dir());
    crate::fsutil::check_output_dir(&dir, "--reports")?;
    let stack = Stack::attach_or_start(project).await?;
    let started_at = chrono::Utc::now();
    let mut rust: Vec<Point> = Vec::new();
    let mut python: Vec<Point> = Vec::new();
    let mut last = exit::OK;
    for &mb in &sizes {
        let mut one = args.clone();
        one.memory = Vec::new();
        one.memory_mb = Some(mb);
        let (report, code) = run_one(project, &one, Some(&stack), true).await?;
        rust.push(Point::of(mb, &report.rust));
        if let Some(p) = &report.python {
            python.push(Point::of(mb, p));
        }
        last = code;
        if code == exit::INTERRUPTED {
            break;
        }
    }
    let choice_rust = tuning::choose(&rust);
    let choice_python = tuning::choose(&python);
    let mut t = super::table();
    t.set_header(vec![
        "memory (MB)",
        "vCPU",
        "side",
        "p50 (ms)",
        "p99 (ms)",
        "cold p50 (ms)",
        "errors",
        "peak RSS (MB)",
        "$ / 1M",
        "",
    ]);
    let fmt = |v: Option<f64>, digits: usize| v.map_or("—".into(), |x| format!("{x:.digits$}"));
    for (name, pts, choice) in [
        ("python", &python, choice_python),
        ("rust", &rust, choice_rust),
    ] {
        for p in pts.iter() {
            let mark = match choice {
                Some(c) if c.balanced_mb == p.memory_mb && c.cheapest_mb == p.memory_mb => {
                    "cheapest, chosen"
                }
                Some(c) if c.balanced_mb == p.memory_mb => "chosen (fastest within 10 %)",
                Some(c) if c.cheapest_mb == p.memory_mb => "cheapest",
                _ => "",
            };
            t.add_row(vec![
                p.memory_mb.to_string(),
                format!("{:.2}", p.vcpus),
                name.to_owned(),
                fmt(p.p50_ms, 2),
                fmt(p.p99_ms, 2),
                fmt(p.cold_p50_ms, 1),
                format!("{}/{}", p.errors, p.requests),
                format!("{:.1}", p.peak_rss_mb),
                fmt(p.cost_per_million_usd, 3),
                mark.to_owned(),
            ]);
        }
    }
    println!("{t}");
    let stamp = started_at.format("%Y%m%dT%H%M%SZ").to_string();
    let json_path = dir.join(format!("bench-{stamp}-sweep.json"));
    let svg_path = dir.join(format!("bench-{stamp}-sweep.svg"));
    let mut plotted: Vec<(&str, &[Point])> = Vec::new();
    if !python.is_empty() {
        plotted.push(("python", &python));
    }
    plotted.push(("rust", &rust));
    tuning::write_svg(&svg_path, &args.function, &plotted)?;
    let doc = serde_json::json!({
        "function": args.function,
        "started_at": started_at.to_rfc3339(),
        "sizes": sizes,
        "rust": rust,
        "python": python,
        "choice": {"rust": choice_rust, "python": choice_python},
        "files": [svg_path.display().to_string()],
    });
    crate::fsutil::write_atomic(&json_path, &serde_json::to_vec_pretty(&doc)?)?;
    match choice_rust {
        Some(c) => println!(
            "Rust: cheapest {} MB, chosen {} MB (the fastest p99 within 10 % of the cheapest cost)",
            c.cheapest_mb, c.balanced_mb
        ),
        None => println!("Rust: no size ran without errors; nothing chosen"),
    }
    if let Some(c) = choice_python {
        println!(
            "Python: cheapest {} MB, chosen {} MB",
            c.cheapest_mb, c.balanced_mb
        );
    }
    println!(
        "wrote {}\nwrote {}",
        svg_path.display(),
        json_path.display()
    );
    if args.write_template {
        let Some(c) = choice_rust else {
            anyhow::bail!("--write-template: no size ran without errors, so none is written");
        };
        let chosen = rust
            .iter()
            .find(|p| p.memory_mb == c.balanced_mb)
            .expect("the chosen size was measured");
        let file = project.root.join(crate::hybrid::RUST_TEMPLATE);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let hybrid_file = project.root.join(crate::hybrid::HYBRID_TEMPLATE);
        // The hybrid follows when it was current, with the options it records.
        let committed = std::fs::read_to_string(&hybrid_file).ok();
        let options = committed
            .as_deref()
            .map(crate::hybrid::Options::of_template)
            .unwrap_or_default();
        let hybrid_was_current =
            committed.is_some() && committed == crate::hybrid::generate_for(project, &options).ok();
        let evidence = vec![
            format!(
                "{} (Lambda limits: {}), sizes {}: cheapest {} MB, chosen {} MB",
                started_at.format("%Y-%m-%d"),
                chosen.lambda_limits,
                sizes
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                c.cheapest_mb,
                c.balanced_mb
            ),
            format!(
                "at {} MB: p50 {} ms, p99 {} ms, ${} per 1M requests, 0/{} errors ({})",
                chosen.memory_mb,
                fmt(chosen.p50_ms, 2),
                fmt(chosen.p99_ms, 2),
                fmt(chosen.cost_per_million_usd, 3),
                chosen.requests,
                json_path
                    .strip_prefix(&project.root)
                    .unwrap_or(&json_path)
                    .display()
            ),
        ];
        if cfg.tool {
            anyhow::bail!(
                "--write-template: {} is the tool's own function (no template resource; shift creates it)",
                args.function
            );
        }
        // The Rust twin of the function's resource (as `functions list` names it).
        let resource = format!("{}Rust", cfg.template_resource);
        let updated = tuning::set_memory_size(
            &text,
            &file.display().to_string(),
            &resource,
            c.balanced_mb,
            &evidence,
        )?;
        crate::fsutil::write_atomic(&file, updated.as_bytes())?;
        println!(
            "{}: {resource} MemorySize {} MB",
            file.display(),
            c.balanced_mb
        );
        if hybrid_was_current {
            let hybrid = crate::hybrid::generate_for(project, &options)?;
            crate::fsutil::write_atomic(&hybrid_file, hybrid.as_bytes())?;
            println!("{}: regenerated", hybrid_file.display());
        } else {
            println!(
                "{} was not current before; run `manuel-migrate functions hybrid-template` with your options",
                hybrid_file.display()
            );
        }
    }
    drop(stack);
    Ok(last)
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
