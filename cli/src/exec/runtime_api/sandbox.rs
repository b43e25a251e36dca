//! A sandbox: one function process attached to its own Runtime API server, like one Lambda
//! execution environment. It starts the process on the first invocation (cold), reuses it while
//! it lives (warm), enforces the timeout by killing it, and measures every invocation.

use super::limits::{self, Enforcement, ProcessCgroup};
use super::server::{NextInvocation, RuntimeApiServer, RuntimeChannels, RuntimeEvent};
use super::{FunctionSpec, InvokeError, Outcome, Report};
use axum::body::Bytes;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long a runtime may take to reach its first `GET next` (Lambda's init phase limit).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The result of one invocation: what the caller of `Invoke` would get, plus the REPORT figures
/// and the log lines the function wrote meanwhile.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    pub report: Report,
    pub logs: Vec<String>,
}

struct Running {
    child: Child,
    pid: u32,
    _server: RuntimeApiServer,
    next_tx: mpsc::Sender<NextInvocation>,
    events_rx: mpsc::UnboundedReceiver<RuntimeEvent>,
    spawned: Instant,
    /// Spawn → first `GET next`, once the runtime has initialised.
    init_ms: Option<f64>,
    /// Init time not yet reported (reported once, on the first invocation after a cold start).
    init_pending: bool,
    /// How Lambda's limits apply to this process, and its cgroup when one enforces them
    /// (dropped after the process is killed, see `Drop`).
    enforcement: Enforcement,
    cgroup: Option<ProcessCgroup>,
}

impl Running {
    /// The kernel killed the process for exceeding its memory size (cgroup enforcement).
    fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(ProcessCgroup::oom_killed)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_group(self.pid);
        let _ = self.child.start_kill();
    }
}

/// Kill the process group led by `pid` (the function and anything it started).
pub(crate) fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

pub struct Sandbox {
    spec: Arc<FunctionSpec>,
    running: Option<Running>,
    logs: Arc<Mutex<Vec<String>>>,
    /// Spawn a fresh process for every invocation (`--cold`).
    pub always_cold: bool,
    /// Rehearsal faults injected into this sandbox's answers.
    faults: Option<Arc<crate::exec::Faults>>,
}

impl Sandbox {
    pub fn new(spec: Arc<FunctionSpec>) -> Self {
        Self {
            spec,
            running: None,
            logs: Arc::new(Mutex::new(Vec::new())),
            always_cold: false,
            faults: None,
        }
    }

    /// Make this sandbox's answers fail or slow down as `faults` says (rehearsals only).
    pub fn inject(&mut self, faults: Arc<crate::exec::Faults>) {
        self.faults = Some(faults);
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Stop the function process, if any.
    pub fn stop(&mut self) {
        self.running = None;
    }

    async fn spawn(&mut self) -> Result<(), InvokeError> {
        let (server, RuntimeChannels { next_tx, events_rx }) = RuntimeApiServer::start()
            .await
            .map_err(|e| InvokeError::Io(format!("cannot start the Runtime API server: {e}")))?;
        let spec = &self.spec;
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(&spec.env)
            .env("AWS_LAMBDA_RUNTIME_API", server.addr.to_string())
            .current_dir(&spec.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let (enforcement, cgroup) = if spec.lambda_limits {
            match ProcessCgroup::create(spec.memory_mb) {
                Ok(Some(cg)) => (cg.enforcement(), Some(cg)),
                Ok(None) => (Enforcement::Model, None),
                Err(e) => {
                    tracing::warn!("Lambda limits modelled, not enforced: {e}");
                    (Enforcement::Model, None)
                }
            }
        } else {
            (Enforcement::Off, None)
        };
        let join = cgroup
            .as_ref()
            .map(ProcessCgroup::join_fds)
            .unwrap_or_default();
        // SAFETY: prctl and write are async-signal-safe; prctl only asks the kernel to SIGKILL
        // the child when this process dies, so a crashed CLI leaves no function process
        // behind; the writes put the child into its cgroup before it runs anything.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                limits::join_in_child(&join)
            });
        }
        let spawned = Instant::now();
        // Forked from the spawner thread (PR_SET_PDEATHSIG is per thread), inside this
        // runtime so that Tokio watches the child.
        let runtime = tokio::runtime::Handle::current();
        let mut child = crate::proc::on_spawner_thread(move || {
            let _entered = runtime.enter();
            cmd.spawn()
        })
        .map_err(|e| InvokeError::Spawn(format!("{}: {e}", spec.program.display())))?;
        let pid = child.id().unwrap_or(0);
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = self.logs.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut l) = logs.lock() {
                        l.push(line);
                    }
                }
            });
        }
        self.running = Some(Running {
            child,
            pid,
            _server: server,
            next_tx,
            events_rx,
            spawned,
            init_ms: None,
            init_pending: true,
            enforcement,
            cgroup,
        });
        Ok(())
    }

    fn take_logs(&self) -> Vec<String> {
        self.logs
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// Run one event through the function, as Lambda's synchronous Invoke would.
    pub async fn invoke(&mut self, event: Bytes) -> Result<Invocation, InvokeError> {
        if self.always_cold {
            self.running = None;
        }
        let cold = self.running.is_none();
        if cold {
            self.spawn().await?;
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let memory_mb = self.spec.memory_mb;
        let timeout = self.spec.timeout;

        // Init phase: wait for the runtime's first poll.
        if self.running.as_ref().is_some_and(|r| r.init_ms.is_none()) {
            match self.wait_init().await {
                Ok(()) => {}
                Err(outcome) => {
                    let run = self.running.take();
                    let rss = run.as_ref().map(|r| peak_rss_mb(r.pid)).unwrap_or(0.0);
                    let enforcement = run.as_ref().map_or(Enforcement::Off, |r| r.enforcement);
                    let outcome = if run.as_ref().is_some_and(Running::oom_killed) {
                        limits::out_of_memory(&request_id)
                    } else {
                        outcome
                    };
                    let init_ms = run.as_ref().map(|r| ms(r.spawned.elapsed()));
                    drop(run);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return Ok(Invocation {
                        request_id,
                        outcome,
                        report: Report {
                            init_ms,
                            duration_ms: 0.0,
                            billed_ms: 0,
                            memory_mb,
                            max_rss_mb: rss,
                            cold: true,
                            init_failed: true,
                            limits: enforcement,
                            ..Report::default()
                        },
                        logs: self.take_logs(),
                    });
                }
            }
        }

        let run = self.running.as_mut().expect("sandbox is running");
        let deadline_ms = manuel_shared::runtime::now_ms() + timeout.as_millis() as u64;
        let trace_id = format!(
            "Root=1-{:08x}-{};Sampled=0",
            chrono::Utc::now().timestamp(),
            &uuid::Uuid::new_v4().simple().to_string()[..24]
        );
        let cpu_before = (run.enforcement == Enforcement::Model)
            .then(|| limits::cpu_seconds(run.pid))
            .flatten();
        let started = Instant::now();
        let process_age_s = started.duration_since(run.spawned).as_secs_f64();
        let inv = NextInvocation {
            request_id: request_id.clone(),
            deadline_ms,
            function_arn: self.spec.function_arn.clone(),
            trace_id,
            body: event,
        };
        if run.next_tx.send(inv).await.is_err() {
            self.running = None;
            return Err(InvokeError::Io("the Runtime API server stopped".into()));
        }

        enum Waited {
            Done(Outcome, Instant),
            Exited(String),
            TimedOut,
        }
        let mut self_exited = false;
        let waited = {
            let until = tokio::time::Instant::from_std(started + timeout);
            loop {
                tokio::select! {
                    biased;
                    ev = run.events_rx.recv() => match ev {
                        Some(RuntimeEvent::Response { request_id: id, body, at }) if id == request_id => {
                            break Waited::Done(Outcome::Response(body), at);
                        }
                        Some(RuntimeEvent::Error { request_id: id, error_type, body, at }) if id == request_id => {
                            break Waited::Done(Outcome::from_error(error_type, body), at);
                        }
                        Some(_) => continue,
                        None => break Waited::Exited("runtime API closed".into()),
                    },
                    status = run.child.wait() => {
                        // The runtime may have reported (response, error) just before exiting.
                        let reported = std::iter::from_fn(|| run.events_rx.try_recv().ok()).find_map(|ev| match ev {
                            RuntimeEvent::Response { request_id: id, body, at } if id == request_id => Some(Waited::Done(Outcome::Response(body), at)),
                            RuntimeEvent::Error { request_id: id, error_type, body, at } if id == request_id => Some(Waited::Done(Outcome::from_error(error_type, body), at)),
                            _ => None,
                        });
                        if let Some(w) = reported {
                            self_exited = true;
                            break w;
                        }
                        let s = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                        break Waited::Exited(s);
                    }
                    _ = tokio::time::sleep_until(until) => break Waited::TimedOut,
                }
            }
        };

        let init_ms = if run.init_pending {
            run.init_pending = false;
            run.init_ms
        } else {
            None
        };
        let rss = peak_rss_mb(run.pid);
        let enforcement = run.enforcement;
        let oom_killed = matches!(waited, Waited::Exited(_)) && run.oom_killed();
        let cpu_used =
            cpu_before.and_then(|before| limits::cpu_seconds(run.pid).map(|after| after - before));
        let (outcome, duration) = match waited {
            Waited::Done(outcome, at) => (outcome, at.duration_since(started)),
            Waited::Exited(status) => {
                self.running = None;
                (
                    Outcome::FunctionError {
                        error_type: "Runtime.ExitError".into(),
                        payload: serde_json::json!({
                            "errorType": "Runtime.ExitError",
                            "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
                        }),
                    },
                    started.elapsed(),
                )
            }
            Waited::TimedOut => {
                self.running = None;
                (
                    Outcome::FunctionError {
                        error_type: "Sandbox.Timedout".into(),
                        payload: serde_json::json!({
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": format!(
                                "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                                timeout.as_secs_f64()
                            ),
                        }),
                    },
                    timeout,
                )
            }
        };
        // Lambda's limits: the cgroup's OOM kill, or (modelled) a peak RSS over the memory
        // size, is the out-of-memory error and the environment is replaced; without a cgroup
        // the CPU share stretches the duration.
        let over_memory = enforcement == Enforcement::Model && rss > f64::from(memory_mb);
        let outcome = if oom_killed || over_memory {
            self.running = None;
            limits::out_of_memory(&request_id)
        } else {
            outcome
        };
        let duration = match cpu_used {
            Some(cpu) => limits::modelled_duration(duration, cpu, memory_mb),
            None => duration,
        };
        if self.running.is_some() && (self.always_cold || self_exited) {
            self.running = None;
        }
        if self.running.is_none() {
            // Let the log readers drain what the process wrote before it died.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Rehearsal faults: the function ran; Lambda then reports what a failing or slower
        // function would have made it report.
        let (outcome, duration) = match &self.faults {
            Some(f) => {
                let slower = duration.mul_f64(f.delay_factor.max(1.0));
                if slower > duration {
                    tokio::time::sleep(slower - duration).await;
                }
                let outcome = if f.error_due() && matches!(outcome, Outcome::Response(_)) {
                    Outcome::FunctionError {
                        error_type: "InjectedFault".into(),
                        payload: serde_json::json!({
                            "errorType": "InjectedFault",
                            "errorMessage": format!(
                                "injected by the rehearsal ({}% of invocations fail)",
                                f.error_percent
                            ),
                        }),
                    }
                } else {
                    outcome
                };
                (outcome, slower)
            }
            None => (outcome, duration),
        };
        let duration_ms = ms(duration);
        Ok(Invocation {
            request_id,
            outcome,
            report: Report {
                init_ms,
                duration_ms,
                billed_ms: duration_ms.ceil().max(1.0) as u64,
                memory_mb,
                max_rss_mb: rss,
                cold,
                init_failed: false,
                process_age_s: Some(process_age_s),
                limits: enforcement,
                ..Report::default()
            },
            logs: self.take_logs(),
        })
    }

    /// Wait for the runtime's first `GET next`; `Err` is the outcome Lambda reports when the
    /// init phase fails (init error, exit, or init timeout).
    async fn wait_init(&mut self) -> Result<(), Outcome> {
        let run = self.running.as_mut().expect("sandbox is running");
        let until = tokio::time::Instant::from_std(run.spawned + INIT_TIMEOUT);
        loop {
            tokio::select! {
                biased;
                ev = run.events_rx.recv() => match ev {
                    Some(RuntimeEvent::NextPolled(at)) => {
                        run.init_ms = Some(ms(at.duration_since(run.spawned)));
                        return Ok(());
                    }
                    Some(RuntimeEvent::InitError { error_type, body, .. }) => {
                        return Err(Outcome::from_error(error_type, body));
                    }
                    Some(_) => continue,
                    None => return Err(Outcome::exit_error("runtime API closed")),
                },
                status = run.child.wait() => {
                    let s = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    return Err(Outcome::exit_error(&s));
                }
                _ = tokio::time::sleep_until(until) => {
                    return Err(Outcome::FunctionError {
                        error_type: "Sandbox.Timedout".into(),
                        payload: serde_json::json!({
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": format!("Init phase did not finish within {} seconds", INIT_TIMEOUT.as_secs()),
                        }),
                    });
                }
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Peak resident set size of a process (`VmHWM` in /proc/PID/status), in MB.
pub fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
