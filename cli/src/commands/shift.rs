//! `shift`, `rollback`, `status`: move traffic between the Python and the Rust side.

use crate::bench::load::parse_duration;
use crate::cli::{GuardAction, GuardArgs, RollbackArgs, ShiftArgs, StatusArgs};
use crate::config::Project;
use crate::exit;
use crate::shift::controller::{sample_warnings, Controller, Event, Limits, Outcome, Pause};
use crate::shift::guard::{GuardCheck, GuardClients, GuardCode, GuardSpec};
use crate::shift::journal::Journal;
use crate::shift::monitor::{MetricScope, Monitor};
use crate::shift::router::{AliasTarget, Route53Target, RouteTarget, Router};
use crate::shift::routes::{judge, routes_of, Finding, Needs, RouteAuth};
use crate::shift::{parse_plan, Thresholds};
use std::time::Duration;

/// Everything a shift of one function needs, validated before any AWS call.
pub(crate) struct Plan {
    pub function: String,
    /// What the router moves (also the guard function's configuration).
    pub target: RouteTarget,
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
    project.twin(function, "shift (there is no Python version to shift from)")?;
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
            let target = RouteTarget::Alias(AliasTarget {
                function: name.clone(),
                alias: alias.clone(),
                python_version: python_version.clone(),
                rust_version: rust_version.clone(),
            });
            Ok(Plan {
                function: function.to_owned(),
                monitor: Monitor {
                    client: aws_sdk_cloudwatch::Client::new(conf),
                    scope: MetricScope::Alias {
                        function: name,
                        alias,
                        python_version,
                        rust_version,
                    },
                },
                router: target.router(conf),
                target,
            })
        }
        "route53" => {
            let r = deploy.route53.clone().ok_or_else(|| missing(function, "route53", ""))?;
            let target = RouteTarget::Route53(Route53Target {
                zone_id: r.zone_id,
                record_name: r.record_name,
                record_type: r.record_type,
                python_set: r.python_set,
                rust_set: r.rust_set,
                python_target: r.python_target,
                rust_target: r.rust_target,
                ttl: r.ttl,
            });
            Ok(Plan {
                function: function.to_owned(),
                monitor: Monitor {
                    client: aws_sdk_cloudwatch::Client::new(conf),
                    scope: MetricScope::Functions { python_function: r.python_function.clone(), rust_function: r.rust_function.clone() },
                },
                router: target.router(conf),
                target,
            })
        }
        other => anyhow::bail!("manuel-migrate.toml: functions.{function}.deploy.router = '{other}' (alias or route53)"),
    }
}

/// The API and deployed function whose routes the preflight reads: `None` when the function's
/// Rust twin needs nothing of its routes.
fn route_check(project: &Project, function: &str) -> anyhow::Result<Option<RouteCheck>> {
    let cfg = project.function(function)?;
    let needs = Needs {
        needs_authorizer: cfg.needs_authorizer,
        verifies_tokens: cfg.verifies_tokens,
    };
    if !needs.relevant() {
        return Ok(None);
    }
    let deploy = cfg.deploy.clone().unwrap_or_default();
    // With Route 53 the Rust twin is another function behind its own API (template-rust.yaml,
    // every route with an authorizer): the Python routes do not reach it.
    if deploy.router.as_deref() == Some("route53") {
        return Ok(None);
    }
    Ok(Some(RouteCheck {
        needs,
        rest_api_id: deploy.rest_api_id,
        function_name: deploy.function_name.unwrap_or_default(),
    }))
}

struct RouteCheck {
    needs: Needs,
    rest_api_id: Option<String>,
    function_name: String,
}

/// Before any weight change: every live route of the function gives the Rust twin what it needs
/// (an authorizer, where it takes the caller only from claims). Refused naming the route unless
/// `accept`; notes what it found otherwise.
async fn route_preflight(
    project: &Project,
    function: &str,
    conf: &aws_config::SdkConfig,
    accept: bool,
) -> anyhow::Result<()> {
    let Some(check) = route_check(project, function)? else {
        return Ok(());
    };
    let hint = format!(
        "attach one (`functions hybrid-template --token-authorizer {function}`) or pass --accept-route-auth"
    );
    let Some(api) = check.rest_api_id.as_deref() else {
        if accept {
            eprintln!("warning: {function}: the routes' authorizers are not checked (no deploy.rest_api_id; --accept-route-auth)");
            return Ok(());
        }
        anyhow::bail!(
            "manuel-migrate.toml: functions.{function}.deploy.rest_api_id is missing: the Rust twin needs an authorizer on every route (needs_authorizer) and the routes cannot be checked without the API (set it, or pass --accept-route-auth)"
        );
    };
    let client = aws_sdk_apigateway::Client::new(conf);
    let routes = routes_of(&client, api, &check.function_name).await?;
    let list = |rs: &[RouteAuth]| {
        rs.iter()
            .map(RouteAuth::describe)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match judge(check.needs, &routes) {
        Finding::Fine => Ok(()),
        Finding::NoRoutes => {
            eprintln!(
                "warning: {function}: no route of API {api} invokes {}; no authorizer to check",
                check.function_name
            );
            Ok(())
        }
        Finding::VerifiedByTwin(open) => {
            eprintln!(
                "note: {function}: {} without an authorizer; the Rust twin verifies tokens itself (a request without a valid token gets 401 from Rust: see rules.toml)",
                list(&open)
            );
            Ok(())
        }
        Finding::Unprotected(open) if accept => {
            eprintln!(
                "warning: {function}: {} without the authorizer the Rust twin needs; shifting anyway (--accept-route-auth)",
                list(&open)
            );
            Ok(())
        }
        Finding::Unprotected(open) => anyhow::bail!(
            "{function}: route {} of API {api} has no authorizer ({}), but the Rust twin takes the caller only from authorizer claims (needs_authorizer): {hint}",
            open[0].route,
            open[0].authorization
        ),
    }
}

/// Before any weight change: every event source mapping of the function invokes the alias.
/// One that invokes `$LATEST` (the Rust code after `publish --as-version-of`) or the Rust
/// version would give Rust all of its events: refused naming it unless `accept`.
async fn source_preflight(
    project: &Project,
    function: &str,
    conf: &aws_config::SdkConfig,
    accept: bool,
) -> anyhow::Result<()> {
    use crate::shift::sources::{judge, mappings_of, Verdict};
    let deploy = project
        .function(function)?
        .deploy
        .clone()
        .unwrap_or_default();
    if deploy.router.as_deref() == Some("route53") {
        return Ok(());
    }
    let (Some(name), alias) = (
        deploy.function_name.as_deref(),
        deploy.alias.as_deref().unwrap_or("live"),
    ) else {
        return Ok(());
    };
    let client = aws_sdk_lambda::Client::new(conf);
    for m in mappings_of(&client, name).await? {
        let target = m.qualifier.as_deref().unwrap_or("$LATEST");
        match judge(
            &m,
            alias,
            deploy.python_version.as_deref(),
            deploy.rust_version.as_deref(),
        ) {
            Verdict::Routed => {}
            Verdict::PinnedPython | Verdict::Elsewhere => eprintln!(
                "note: {function}: the event source mapping {} of {} invokes {name}:{target}, not the alias {alias}: the shift does not move its events",
                m.uuid, m.source
            ),
            Verdict::AllRust if accept => eprintln!(
                "warning: {function}: the event source mapping {} of {} invokes {name}:{target}: Rust gets all of its events (--accept-event-sources)",
                m.uuid, m.source
            ),
            Verdict::AllRust => anyhow::bail!(
                "{function}: the event source mapping {} of {} invokes {name}:{target}, which runs the Rust code for all of its events whatever the weights: point it at the alias (aws lambda update-event-source-mapping --uuid {} --function-name {name}:{alias}) or pass --accept-event-sources",
                m.uuid,
                m.source,
                m.uuid
            ),
        }
    }
    Ok(())
}

/// The routes' authorization, for `status` (one line per route).
async fn routes_status(project: &Project, function: &str, conf: &aws_config::SdkConfig) -> String {
    let Ok(cfg) = project.function(function) else {
        return String::new();
    };
    let deploy = cfg.deploy.clone().unwrap_or_default();
    let (Some(api), Some(name)) = (deploy.rest_api_id, deploy.function_name) else {
        return "— (no deploy.rest_api_id)".into();
    };
    let client = aws_sdk_apigateway::Client::new(conf);
    match routes_of(&client, &api, &name).await {
        Ok(routes) if routes.is_empty() => format!("none of API {api}"),
        Ok(routes) => routes
            .iter()
            .map(RouteAuth::describe)
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("unknown: {e}"),
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
        if let Some(check) = route_check(project, &args.function)? {
            match &check.rest_api_id {
                Some(api) => println!(
                    "  apigateway:GetResources {api} and GetMethod for each method, to check the authorizer of every route that invokes {}",
                    check.function_name
                ),
                None => println!(
                    "  (nothing: functions.{}.deploy.rest_api_id is missing, so the route check would refuse without --accept-route-auth)",
                    args.function
                ),
            }
        }
        println!("  {}", read_call(&plan));
        if steps.iter().any(|s| *s > 0.0) && !args.no_guard {
            for line in guard_spec(&plan, thresholds, interval).describe_install() {
                println!("  {line}");
            }
        }
        for (i, s) in steps.iter().enumerate() {
            println!("  {}", plan.router.describe_set(*s));
            if args.plan.is_some() && *s < 100.0 && i + 1 < steps.len() {
                println!("  wait {interval:?}, then cloudwatch:GetMetricStatistics AWS/Lambda Invocations and Errors (Sum) for each side, and judge");
            }
        }
        return Ok(exit::OK);
    }
    let conf = crate::aws::config(project).await;
    let plan = plan_for(project, &args.function, &conf)?;
    // Moving traffic back to Python (0 %) needs nothing of the routes.
    if steps.iter().any(|s| *s > 0.0) {
        route_preflight(project, &args.function, &conf, args.accept_route_auth).await?;
        source_preflight(project, &args.function, &conf, args.accept_event_sources).await?;
        if args.no_guard {
            eprintln!(
                "warning: --no-guard: no alarm watches {} in AWS; once this process is gone, Rust keeps its share whatever its error rate",
                args.function
            );
        } else {
            let spec = guard_spec(&plan, thresholds, interval);
            let state = ensure_guard(project, &spec, &conf).await?;
            println!(
                "guard: alarm {} ({}, > {} points over {} s) → topic → function {}: it sends {} back to Python if no controller does",
                spec.name,
                state.alarm_state,
                state.threshold,
                spec.period_s,
                spec.name,
                spec.target.describe()
            );
        }
    }
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

fn guard_spec(plan: &Plan, thresholds: Thresholds, interval: Duration) -> GuardSpec {
    GuardSpec::new(
        &plan.function,
        plan.target.clone(),
        plan.monitor.scope.clone(),
        thresholds,
        interval,
    )
}

/// The guard's package: `functions package --function rollback-guard`'s zip; on the local stack
/// (whose moto never runs code) a stand-in when there is none — the stack runs the crate.
fn guard_code(project: &Project) -> anyhow::Result<GuardCode> {
    use aws_sdk_lambda::types::Architecture;
    let krate = &project
        .function(crate::shift::guard::GUARD_FUNCTION)?
        .crate_name;
    let path = super::functions::package::lambda_dir(project).join(format!("{krate}.zip"));
    match std::fs::read(&path) {
        Ok(zip) => {
            let arch = match super::functions::package::zip_arch(&zip) {
                Some("arm64") => Architecture::Arm64,
                Some(_) => Architecture::X8664,
                None => anyhow::bail!("{}: not a bootstrap package", path.display()),
            };
            Ok(GuardCode { zip, arch })
        }
        Err(_) if crate::aws::local_endpoint().is_some() => Ok(GuardCode {
            zip: crate::package::zip(&[(
                "bootstrap",
                b"local stand-in: the stack runs functions/rollback-guard\n",
                0o755,
            )])?,
            arch: Architecture::X8664,
        }),
        Err(e) => Err(crate::shift::guard::GuardError::NoPackage(format!(
            "{}: {e}",
            path.display()
        ))
        .into()),
    }
}

/// Create or update the guard and check that it is whole.
async fn ensure_guard(
    project: &Project,
    spec: &GuardSpec,
    conf: &aws_config::SdkConfig,
) -> anyhow::Result<crate::shift::guard::GuardState> {
    let code = guard_code(project)?;
    let role = match (
        &project.config.shift.guard_role_arn,
        crate::aws::local_endpoint(),
    ) {
        (Some(r), _) => r.clone(),
        (None, Some(moto)) => crate::stack::moto::create_role(&moto).await?,
        (None, None) => return Err(crate::shift::guard::GuardError::NoRole.into()),
    };
    let memory = project
        .function(crate::shift::guard::GUARD_FUNCTION)?
        .memory_mb as i32;
    let state = GuardClients::new(conf)
        .install(spec, &code, &role, memory)
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(
                "the shift refuses to move weight without its guard (--no-guard shifts unguarded)",
            )
        })?;
    Ok(state)
}

fn default_thresholds(project: &Project) -> Thresholds {
    let d = &project.config.shift;
    Thresholds {
        max_error_diff: d.max_error_diff,
        min_invocations: d.min_invocations,
        strict_p: d.strict_p,
        min_errors: d.min_errors,
    }
}

fn default_interval(project: &Project) -> Duration {
    parse_duration(&project.config.shift.interval).unwrap_or(Duration::from_secs(600))
}

/// `guard show | remove`.
pub async fn guard(project: &Project, args: GuardArgs) -> anyhow::Result<i32> {
    let function = match &args.action {
        GuardAction::Show { function } | GuardAction::Remove { function } => function.clone(),
    };
    let conf = crate::aws::config(project).await;
    let plan = plan_for(project, &function, &conf)?;
    let spec = guard_spec(
        &plan,
        default_thresholds(project),
        default_interval(project),
    );
    let clients = GuardClients::new(&conf);
    match args.action {
        GuardAction::Show { .. } => match clients.inspect(&spec).await? {
            GuardCheck::Ready(s) => {
                println!(
                    "{function}: guard {} is whole — alarm {} since {} ({}), threshold {} points, topic {}, function {}",
                    spec.name, s.alarm_state, s.alarm_updated, s.alarm_reason, s.threshold, s.topic_arn, s.function_arn
                );
                Ok(exit::OK)
            }
            GuardCheck::Missing(what) => {
                println!("{function}: no whole guard: {what}");
                Ok(exit::GATE_FAILED)
            }
        },
        GuardAction::Remove { .. } => {
            let removed = clients.remove(&spec).await?;
            if removed.is_empty() {
                println!("{function}: no guard to remove");
            } else {
                println!("{function}: removed {}", removed.join(", "));
            }
            Ok(exit::OK)
        }
    }
}

fn read_call(plan: &Plan) -> String {
    match &plan.router {
        Router::Alias { to: a, .. } => format!("lambda:GetAlias {} alias {}", a.function, a.alias),
        Router::Route53 { to: r, .. } => format!(
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
        "routes (authorization)",
        "guard (in AWS)",
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
        let routes = routes_status(project, name, &conf).await;
        let spec = guard_spec(&plan, default_thresholds(project), window);
        let guard = match GuardClients::new(&conf).inspect(&spec).await {
            Ok(GuardCheck::Ready(s)) => format!(
                "alarm {} since {}\n{}",
                s.alarm_state, s.alarm_updated, s.alarm_reason
            ),
            Ok(GuardCheck::Missing(what)) => format!("none: {what}"),
            Err(e) => format!("unknown: {e}"),
        };
        t.add_row(vec![
            name.clone(),
            weights,
            decision,
            rates,
            routes,
            guard,
            flight,
        ]);
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
