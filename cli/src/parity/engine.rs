//! Running cases: sandbox pools per side, Python noise measurement, comparison.

use super::diff::{diff_responses, diff_state, DiffInput, SideCtx};
use super::fixture::{Case, RecordMeta};
use super::report::{CaseResult, Verdict};
use super::rules::Rules;
use super::snapshot::Snapshot;
use crate::config::Project;
use crate::runtime_api::Sandbox;
use crate::stack::Stack;
use crate::target::local::{function_env, sandbox, LocalTargetSpec, Profile};
use crate::target::{Answer, Side};
use axum::body::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// Sandboxes of one side of one function, reused across cases, one set per distinct
/// per-case environment.
pub struct Pool<'a> {
    project: &'a Project,
    function: String,
    pub side: Side,
    base_env: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    python_src: Option<PathBuf>,
    profile: Option<Profile>,
    idle: Mutex<HashMap<String, Vec<Sandbox>>>,
}

impl<'a> Pool<'a> {
    pub fn new(
        project: &'a Project,
        stack: &Stack,
        function: &str,
        side: Side,
        python_src: Option<PathBuf>,
        profile: Option<Profile>,
    ) -> anyhow::Result<Self> {
        let base_env = function_env(
            project,
            function,
            &stack.vars(),
            &stack.aws_env(),
            &BTreeMap::new(),
        )?;
        let pool = Self {
            project,
            function: function.to_owned(),
            side,
            base_env,
            vars: stack.vars(),
            python_src,
            profile,
            idle: Mutex::new(HashMap::new()),
        };
        // Fail early (binary not built, no Python) before any case runs.
        pool.build(&BTreeMap::new())?;
        Ok(pool)
    }

    fn build(&self, overrides: &BTreeMap<String, String>) -> anyhow::Result<Sandbox> {
        let mut env = self.base_env.clone();
        env.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.clone(), crate::config::expand(v, &self.vars))),
        );
        let spec = LocalTargetSpec {
            project: self.project,
            function: &self.function,
            side: self.side,
            env,
            python_src: self.python_src.as_deref(),
            profile: self.profile,
        }
        .build()?;
        Ok(sandbox(spec, false))
    }

    /// A new sandbox (not from the pool): for cold-start samples.
    pub fn fresh(&self, overrides: &BTreeMap<String, String>) -> anyhow::Result<Sandbox> {
        self.build(overrides)
    }

    fn key(overrides: &BTreeMap<String, String>) -> String {
        serde_json::to_string(overrides).unwrap_or_default()
    }

    /// Invoke one event in an idle sandbox with these overrides (a new one if none is idle).
    pub async fn invoke(
        &self,
        overrides: &BTreeMap<String, String>,
        event: Bytes,
    ) -> anyhow::Result<Answer> {
        let key = Self::key(overrides);
        let taken = self
            .idle
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(&key).and_then(Vec::pop));
        let mut sb = match taken {
            Some(sb) => sb,
            None => self.build(overrides)?,
        };
        let inv = sb.invoke(event).await?;
        if let Ok(mut m) = self.idle.lock() {
            m.entry(key).or_default().push(sb);
        }
        Ok(Answer::from(inv))
    }
}

/// One side, wherever it runs.
pub enum Runner<'a> {
    /// A local process under our Runtime API.
    Local(Pool<'a>),
    /// A deployed function (Lambda `Invoke`).
    Lambda(crate::target::remote::LambdaTarget),
    /// A deployed API (HTTPS through API Gateway).
    Http(crate::target::remote::HttpTarget),
}

impl Runner<'_> {
    pub fn is_remote(&self) -> bool {
        !matches!(self, Runner::Local(_))
    }

    pub fn describe(&self) -> String {
        match self {
            Runner::Local(p) => format!("local {}", p.side),
            Runner::Lambda(t) => format!(
                "Lambda {}{}",
                t.function,
                t.qualifier
                    .as_deref()
                    .map(|q| format!(":{q}"))
                    .unwrap_or_default()
            ),
            Runner::Http(t) => format!("URL {}", t.base),
        }
    }

    /// Why this runner cannot run the case, if it cannot.
    pub fn refuses(&self, case: &Case, allow_writes: bool) -> Option<String> {
        if !self.is_remote() {
            return None;
        }
        if !case.fixture.env.is_empty() {
            return Some("needs per-case environment, which only a local target can take".into());
        }
        if case.fixture.clock.is_some() {
            return Some("pins the clock, which only a local target can take".into());
        }
        if case.fixture.setup.as_ref().is_some_and(|s| !s.is_empty()) {
            return Some("seeds state, which only the local stack can take".into());
        }
        if case.writes() && !allow_writes {
            return Some("writes (POST/PUT/PATCH/DELETE) are refused against deployments without --allow-writes".into());
        }
        None
    }

    pub async fn answer(&self, case: &Case) -> anyhow::Result<Answer> {
        let event = Bytes::from(serde_json::to_vec(&case.fixture.event)?);
        Ok(match self {
            Runner::Local(p) => p.invoke(&case.env_overrides()?, event).await?,
            Runner::Lambda(t) => t.invoke(event).await?,
            Runner::Http(t) => t.invoke(&case.fixture.event).await?,
        })
    }
}

/// Where one side answers: a local process (Python source folder, or the Rust binary when
/// `None`), a deployed function, or a URL.
#[derive(Clone, Copy)]
pub struct Where<'s> {
    pub local_src: Option<&'s std::path::Path>,
    pub lambda: Option<&'s str>,
    pub url: Option<&'s str>,
    pub qualifier: Option<&'s str>,
}

/// Build the runner of one side.
pub async fn runner<'a>(
    project: &'a Project,
    stack: Option<&Stack>,
    function: &str,
    side: Side,
    at: Where<'_>,
    profile: Option<crate::target::local::Profile>,
) -> anyhow::Result<Runner<'a>> {
    if let Some(name) = at.lambda {
        let conf = crate::aws::config(project).await;
        return Ok(Runner::Lambda(crate::target::remote::LambdaTarget::new(
            &conf,
            name,
            at.qualifier,
        )));
    }
    if let Some(u) = at.url {
        return Ok(Runner::Http(crate::target::remote::HttpTarget::new(
            u,
            std::time::Duration::from_secs(60),
        )?));
    }
    let stack = stack.ok_or_else(|| anyhow::anyhow!("a local target needs the local stack"))?;
    Ok(Runner::Local(Pool::new(
        project,
        stack,
        function,
        side,
        at.local_src.map(|p| p.to_path_buf()),
        profile,
    )?))
}

/// Where the Python answers come from.
pub enum PythonSide<'a> {
    /// The responses recorded in the fixtures.
    Recorded,
    /// The real handlers, run now (invoked twice per case to measure noise).
    Live(&'a Runner<'a>),
}

pub fn ctx_now(stack: Option<&Stack>) -> SideCtx {
    SideCtx {
        at: chrono::Utc::now().timestamp(),
        vars: stack.map(Stack::vars).unwrap_or_default(),
    }
}

/// Paths where two answers of the same side differ (no rules: raw disagreement).
pub fn noise_between(a: &Answer, b: &Answer, ctx: &SideCtx) -> Vec<String> {
    let rules = Rules::default();
    let input = DiffInput {
        function: "",
        case: "",
        rules: &rules,
        noise: &[],
        python: ctx,
        rust: ctx,
    };
    let mut paths: Vec<String> = diff_responses(&input, &a.response, &b.response)
        .into_iter()
        .map(|d| d.path)
        .collect();
    paths.dedup();
    paths
}

/// Paths where two state changes of the same side differ (no rules: raw disagreement).
pub fn state_noise_between(a: &Value, b: &Value, ctx: &SideCtx) -> Vec<String> {
    let rules = Rules::default();
    let input = DiffInput {
        function: "",
        case: "",
        rules: &rules,
        noise: &[],
        python: ctx,
        rust: ctx,
    };
    diff_state(&input, a, b)
        .into_iter()
        .map(|d| d.path)
        .collect()
}

/// Resets and seeds the local stack for cases that need state; one such case at a time.
pub struct StateGuard<'s> {
    pub stack: &'s Stack,
    pub fixtures_dir: PathBuf,
    pub(crate) lock: tokio::sync::Mutex<()>,
}

impl<'s> StateGuard<'s> {
    pub fn new(stack: &'s Stack, fixtures_dir: PathBuf) -> Self {
        Self {
            stack,
            fixtures_dir,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Fresh stack, then the case's setup (placeholders relative to the case's clock).
    pub async fn prepare(&self, case: &Case) -> anyhow::Result<()> {
        self.stack.reset().await?;
        if let Some(setup) = &case.fixture.setup {
            super::state::seed(self.stack, setup, &self.fixtures_dir, case.now())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", case.file.display()))?;
        }
        Ok(())
    }
}

/// The side context of a case run now: its clock (when pinned) is "now".
fn case_ctx(case: &Case, stack: Option<&Stack>) -> SideCtx {
    let mut ctx = ctx_now(stack);
    if let Some(clock) = case.clock() {
        ctx.at = clock.timestamp();
    }
    ctx
}

/// One answer, on prepared state when the case needs it, with what it changed in the state
/// (`None` for cases that touch no state, and for remote targets).
async fn answer_prepared(
    runner: &Runner<'_>,
    case: &Case,
    state: Option<&StateGuard<'_>>,
) -> anyhow::Result<(Answer, Option<Value>)> {
    if case.needs_state() && !runner.is_remote() {
        let guard = state.ok_or_else(|| {
            anyhow::anyhow!("{} needs the local stack to seed its state", case.id())
        })?;
        guard.prepare(case).await?;
        let before = Snapshot::take(guard.stack).await?;
        let answer = runner.answer(case).await?;
        let after = Snapshot::take(guard.stack).await?;
        return Ok((answer, Some(Snapshot::changes(&before, &after))));
    }
    Ok((runner.answer(case).await?, None))
}

/// Run the Python side of a case live: two invocations, the first answer and the noise.
pub async fn python_twice(
    runner: &Runner<'_>,
    case: &Case,
    stack: Option<&Stack>,
    state: Option<&StateGuard<'_>>,
) -> anyhow::Result<(Answer, Option<Value>, Vec<String>, SideCtx)> {
    let _one_at_a_time = match state {
        Some(g) if case.needs_state() => Some(g.lock.lock().await),
        _ => None,
    };
    let ctx = case_ctx(case, stack);
    let (first, first_state) = answer_prepared(runner, case, state).await?;
    let (second, second_state) = answer_prepared(runner, case, state).await?;
    let mut noise = noise_between(&first, &second, &ctx);
    if let (Some(a), Some(b)) = (&first_state, &second_state) {
        noise.extend(state_noise_between(a, b, &ctx));
        noise.dedup();
    }
    Ok((first, first_state, noise, ctx))
}

/// Run and compare one case.
pub async fn run_case(
    case: &Case,
    rules: &Rules,
    rust: &Runner<'_>,
    python: &PythonSide<'_>,
    stack: Option<&Stack>,
    state: Option<&StateGuard<'_>>,
    allow_writes: bool,
) -> anyhow::Result<CaseResult> {
    let started = Instant::now();
    let refusal = rust.refuses(case, allow_writes).or_else(|| match python {
        PythonSide::Live(r) => r.refuses(case, allow_writes),
        PythonSide::Recorded => None,
    });
    if let Some(why) = refusal {
        return Ok(CaseResult::skipped(case, why));
    }
    let (py_response, py_report, py_state, noise, py_ctx) = match python {
        PythonSide::Recorded => {
            let resp = case.recorded_response()?.clone();
            let meta = case.fixture.recorded.clone().unwrap_or(RecordMeta {
                at: 0,
                vars: BTreeMap::new(),
                source: String::new(),
            });
            (
                resp,
                None,
                case.fixture.state.clone(),
                case.fixture.noise.clone(),
                SideCtx {
                    at: case.clock().map_or(meta.at, |c| c.timestamp()),
                    vars: meta.vars,
                },
            )
        }
        PythonSide::Live(runner) => {
            let (answer, st, noise, ctx) = python_twice(runner, case, stack, state).await?;
            (answer.response, answer.report, st, noise, ctx)
        }
    };
    let _one_at_a_time = match state {
        Some(g) if case.needs_state() => Some(g.lock.lock().await),
        _ => None,
    };
    let rust_ctx = case_ctx(case, stack);
    let (answer, rust_state) = answer_prepared(rust, case, state).await?;
    let input = DiffInput {
        function: &case.function,
        case: &case.fixture.name,
        rules,
        noise: &noise,
        python: &py_ctx,
        rust: &rust_ctx,
    };
    let mut differences = diff_responses(&input, &py_response, &answer.response);
    // State: compared when the Rust side ran on the local stack; a recording without state
    // (made before state was recorded) compares as "no state change".
    let py_state = match (&rust_state, py_state) {
        (Some(_), None) => Some(Value::Object(Default::default())),
        (_, s) => s,
    };
    if let (Some(p), Some(r)) = (&py_state, &rust_state) {
        differences.extend(diff_state(&input, p, r));
    }
    Ok(CaseResult {
        function: case.function.clone(),
        case: case.fixture.name.clone(),
        file: case.file.display().to_string(),
        verdict: Verdict::of(&differences),
        differences,
        python: py_response,
        rust: answer.response,
        python_report: py_report,
        rust_report: answer.report,
        noise,
        python_state: py_state,
        rust_state,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        skipped: None,
    })
}

/// Who answers each of a cross case's two steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    PythonPython,
    PythonRust,
    RustPython,
}

impl Order {
    fn label(self) -> &'static str {
        match self {
            Order::PythonPython => "python→python",
            Order::PythonRust => "python→rust",
            Order::RustPython => "rust→python",
        }
    }
}

/// Two steps of one case on one state: the first side writes, the second reads what it wrote.
/// Returns both answers and what the pair changed.
async fn two_steps(
    case: &Case,
    first: &Runner<'_>,
    second: &Runner<'_>,
    guard: &StateGuard<'_>,
) -> anyhow::Result<(Answer, Answer, Value)> {
    guard.prepare(case).await?;
    let before = Snapshot::take(guard.stack).await?;
    let a = first.answer(case).await?;
    let b = second.answer(case).await?;
    let after = Snapshot::take(guard.stack).await?;
    Ok((a, b, Snapshot::changes(&before, &after)))
}

/// Cross-read one stateful case: Python→Rust and Rust→Python against Python→Python. The second
/// step must answer as Python answers after its own write (a cache hit with the same body, the
/// same counter), and the pair must leave the same state. Two results, one per mixed order.
pub async fn run_cross(
    case: &Case,
    rules: &Rules,
    python: &Runner<'_>,
    rust: &Runner<'_>,
    guard: &StateGuard<'_>,
) -> anyhow::Result<Vec<CaseResult>> {
    let _one_at_a_time = guard.lock.lock().await;
    let started = Instant::now();
    let ctx = case_ctx(case, Some(guard.stack));
    let (ref_first, ref_second, ref_state) = two_steps(case, python, python, guard).await?;
    // Python against itself, once more: what differs there is noise, not a cross-read error.
    let (_, again_second, again_state) = two_steps(case, python, python, guard).await?;
    let mut noise = noise_between(&ref_second, &again_second, &ctx);
    noise.extend(state_noise_between(&ref_state, &again_state, &ctx));
    noise.dedup();
    let mut out = Vec::new();
    for order in [Order::PythonRust, Order::RustPython] {
        let (first, second) = match order {
            Order::PythonRust => (python, rust),
            _ => (rust, python),
        };
        let (a, b, state) = two_steps(case, first, second, guard).await?;
        let name = format!("{}~{}", case.fixture.name, order.label());
        let input = DiffInput {
            function: &case.function,
            case: &case.fixture.name,
            rules,
            noise: &noise,
            python: &ctx,
            rust: &ctx,
        };
        let mut differences = Vec::new();
        // The first step, when Rust wrote: it must have answered as Python did.
        if order == Order::RustPython {
            for mut d in diff_responses(&input, &ref_first.response, &a.response) {
                d.detail = Some(format!("step 1 (rust writes){}", detail_suffix(&d.detail)));
                differences.push(d);
            }
        }
        for mut d in diff_responses(&input, &ref_second.response, &b.response) {
            d.detail = Some(format!(
                "step 2 ({} reads){}",
                if order == Order::PythonRust {
                    "rust"
                } else {
                    "python"
                },
                detail_suffix(&d.detail)
            ));
            differences.push(d);
        }
        differences.extend(diff_state(&input, &ref_state, &state));
        out.push(CaseResult {
            function: case.function.clone(),
            case: name,
            file: case.file.display().to_string(),
            verdict: Verdict::of(&differences),
            differences,
            python: ref_second.response.clone(),
            rust: b.response,
            python_report: None,
            rust_report: None,
            noise: noise.clone(),
            python_state: Some(ref_state.clone()),
            rust_state: Some(state),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            skipped: None,
        });
    }
    Ok(out)
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}
