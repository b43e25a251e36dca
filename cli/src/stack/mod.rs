//! The local stack: a real `redis-server` and a moto server on 127.0.0.1, the resources the
//! functions expect, and the environment that points both implementations at them.
//!
//! `stack up` starts the services detached and records them in `.manuel-migrate/stack/stack.json`
//! so that `stack down` stops exactly those processes, even after the CLI crashed. Commands that
//! need a stack (`invoke`, `parity`) use a running one, or start a private one that dies with them.

pub mod alarms;
pub mod bedrock;
pub mod cognito;
pub mod metric_math;
pub mod moto;
mod private;
mod resources;
pub use resources::{manuals_bucket_name, Restore, OBSERVER_SUFFIX};
mod services;
pub mod transcripts;

pub use private::clean_stale_private_stacks;
use private::write_owner;

use crate::config::Project;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use services::{port_has_listener, port_is_free};

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("{what} not found at {path} (run scripts/setup.sh)")]
    MissingTool { what: &'static str, path: String },
    #[error("port {port} on 127.0.0.1 is already in use ({service})")]
    PortInUse { port: u16, service: &'static str },
    #[error("{service} did not become healthy within {secs} s: {detail} (log: {log})")]
    NotHealthy {
        service: &'static str,
        secs: u64,
        detail: String,
        log: String,
    },
    #[error("{0}")]
    Io(String),
    #[error("{context}: {message}")]
    Aws { context: String, message: String },
    #[error("a stack is already running (pids {0}); use it, or run `manuel-migrate stack down`")]
    AlreadyRunning(String),
    #[error("{service}: {message}")]
    Service { service: String, message: String },
}

impl StackError {
    /// A local service or AWS call failed (not the user's input): exit code 3.
    pub fn is_service_failure(&self) -> bool {
        matches!(
            self,
            StackError::NotHealthy { .. } | StackError::Aws { .. } | StackError::Service { .. }
        )
    }

    /// A service that could not bind the port chosen for it.
    pub fn is_port_race(&self) -> bool {
        matches!(self, StackError::NotHealthy { detail, .. }
            if detail.contains("Address already in use") || detail.contains("address in use"))
    }
}

/// One started service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceInfo {
    pub name: String,
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
    /// The kernel's start time of the process (`/proc/<pid>/stat` field 22), which with the pid
    /// identifies it (absent in stacks recorded by older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
}

/// What `stack.json` records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StackInfo {
    pub redis: ServiceInfo,
    pub moto: ServiceInfo,
    /// The Bedrock replay service (absent in stacks recorded by older versions).
    #[serde(default)]
    pub bedrock: Option<ServiceInfo>,
    /// The transcript proxy (absent in stacks recorded by older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcripts: Option<ServiceInfo>,
    /// The alarm evaluator and SNS → Lambda delivery (absent in older stacks and in the parity
    /// helpers' stacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<ServiceInfo>,
    /// The stack's CA, which the functions trust (`SSL_CERT_FILE`): see [`transcripts`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    pub started_at: String,
    /// The Cognito pools and users provisioning created (absent in older stacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito: Option<cognito::CognitoInfo>,
}

impl StackInfo {
    pub fn services(&self) -> Vec<&ServiceInfo> {
        let mut v = vec![&self.redis, &self.moto];
        v.extend(self.bedrock.as_ref());
        v.extend(self.transcripts.as_ref());
        v.extend(self.alarms.as_ref());
        v
    }
}

/// The manuel-migrate binary itself (the Bedrock replay runs as `manuel-migrate stack
/// bedrock-replay`). Test binaries live in `target/<profile>/deps/`, next to which cargo puts
/// the binary.
pub fn self_binary() -> Result<PathBuf, StackError> {
    let exe = std::env::current_exe().map_err(|e| StackError::Io(format!("current exe: {e}")))?;
    if exe
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("manuel-migrate"))
    {
        return Ok(exe);
    }
    let mut dir = exe.parent();
    while let Some(d) = dir {
        let candidate = d.join("manuel-migrate");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(StackError::MissingTool {
        what: "manuel-migrate binary (for the Bedrock replay)",
        path: exe.display().to_string(),
    })
}

/// A stack in use by this process. An owned (private) stack is stopped when dropped.
pub struct Stack {
    pub info: StackInfo,
    /// The service processes this process started, in [`StackInfo::services`] order (empty for
    /// an attached stack).
    children: Vec<std::process::Child>,
    owned: bool,
    run_dir: PathBuf,
    /// Stage, region and account: what resource names and ARNs are made of.
    names: crate::config::ProjectSection,
    /// Mints the tokens fixture events ask for (made on first use).
    tokens: std::sync::OnceLock<Option<std::sync::Arc<cognito::Tokens>>>,
    /// The SDK configuration for moto, made once: its HTTP client keeps its connections.
    sdk: tokio::sync::OnceCell<aws_config::SdkConfig>,
    /// One HTTP client for moto's local endpoints (checkpoint, restore, state): its pool keeps
    /// the connection between cases.
    http: std::sync::OnceLock<reqwest::Client>,
    /// One multiplexed Redis connection for the tool's own reads and writes (reset, seed,
    /// snapshot), made on first use.
    redis_con: tokio::sync::OnceCell<redis::aio::MultiplexedConnection>,
    /// Where moto's Cognito signing key is (for expired test tokens).
    moto_key: PathBuf,
    /// The tables, queues and topics of `[stack]` in manuel-migrate.toml.
    resources: crate::config::StackConfig,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.owned {
            self.stop_services();
            let _ = std::fs::remove_dir_all(&self.run_dir);
        }
    }
}

pub fn shared_run_dir(project: &Project) -> PathBuf {
    project.state_dir().join("stack")
}

fn state_file(run_dir: &Path) -> PathBuf {
    run_dir.join("stack.json")
}

/// Ports for `stack up`; `None` picks a free one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ports {
    pub redis: Option<u16>,
    pub moto: Option<u16>,
    pub bedrock: Option<u16>,
    pub transcripts: Option<u16>,
    pub alarms: Option<u16>,
    /// Without the alarm evaluator (the parity gate's extra stacks, which no shift uses).
    pub without_alarms: bool,
}

/// moto server with the local stack's corrections (see the file's docstring).
const MOTO_LAUNCHER: &str = include_str!("moto_server_local.py");

impl Stack {
    /// Start redis, moto and the Bedrock replay. `detached` services outlive this process
    /// (`stack up`); otherwise they are killed with it.
    pub async fn start(
        project: &Project,
        run_dir: PathBuf,
        ports: Ports,
        detached: bool,
    ) -> Result<Self, StackError> {
        // A port chosen free may be taken before its service binds it (by a connection or a
        // stack starting beside this one): the start is tried again with other ports, when the
        // ports were the stack's to choose.
        let chosen_here = [
            ports.redis,
            ports.moto,
            ports.bedrock,
            ports.transcripts,
            ports.alarms,
        ]
        .iter()
        .all(Option::is_none);
        let mut attempt = 1;
        loop {
            match Self::start_once(project, run_dir.clone(), ports, detached).await {
                Err(e) if chosen_here && attempt < 3 && e.is_port_race() => {
                    tracing::warn!("stack start, attempt {attempt}: {e}; again with other ports");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn start_once(
        project: &Project,
        run_dir: PathBuf,
        ports: Ports,
        detached: bool,
    ) -> Result<Self, StackError> {
        let redis_bin = services::which("redis-server").ok_or(StackError::MissingTool {
            what: "redis-server",
            path: "PATH".into(),
        })?;
        // moto server through our launcher, which corrects the answers where moto and AWS
        // differ in a way a strict client sees (moto_server_local.py, written into the run
        // folder below). It runs on the tools venv's Python, the one moto is installed in.
        let moto_server = project.tools_bin().join("moto_server");
        if !moto_server.is_file() {
            return Err(StackError::MissingTool {
                what: "moto_server",
                path: moto_server.display().to_string(),
            });
        }
        let moto_bin = project.tools_bin().join("python3");
        let self_bin = self_binary()?;
        let [redis_port, moto_port, bedrock_port, proxy_port, alarms_port] =
            services::choose_ports([
                (ports.redis, "redis"),
                (ports.moto, "moto"),
                (ports.bedrock, "bedrock"),
                (ports.transcripts, "transcripts"),
                (ports.alarms, "alarms"),
            ])?;
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| StackError::Io(format!("{}: {e}", run_dir.display())))?;
        let moto_launcher = run_dir.join("moto_server_local.py");
        crate::fsutil::write_atomic(&moto_launcher, MOTO_LAUNCHER.as_bytes())
            .map_err(|e| StackError::Io(format!("{}: {e}", moto_launcher.display())))?;
        if !detached {
            write_owner(&run_dir)?;
        }
        let ca_file = run_dir.join(transcripts::CA_CERT);
        let p = &project.config.project;
        let mut stack = Stack {
            info: StackInfo {
                redis: ServiceInfo::default(),
                moto: ServiceInfo::default(),
                bedrock: None,
                transcripts: None,
                alarms: None,
                ca_file: Some(ca_file.clone()),
                started_at: chrono::Utc::now().to_rfc3339(),
                cognito: None,
            },
            children: Vec::new(),
            owned: true,
            run_dir: run_dir.clone(),
            names: p.clone(),
            tokens: Default::default(),
            sdk: Default::default(),
            http: Default::default(),
            redis_con: Default::default(),
            moto_key: project.moto_cognito_key(),
            resources: project.config.stack.clone(),
        };
        // From here on, dropping `stack` on an error stops what was started and keeps the logs.
        let redis_args = [
            "--port".into(),
            redis_port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
            "--daemonize".into(),
            "no".into(),
            "--dir".into(),
            run_dir.display().to_string(),
        ];
        let moto_args = [
            moto_launcher.display().to_string(),
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            moto_port.to_string(),
        ];
        // Every child gets the project explicitly: it may be started from any folder.
        let replay_args = [
            "--project".to_string(),
            project.root.display().to_string(),
            "stack".into(),
            "bedrock-replay".into(),
            "--dir".into(),
            project.fixtures_dir().join("bedrock").display().to_string(),
            "--misses".into(),
            project
                .state_dir()
                .join("bedrock-misses")
                .display()
                .to_string(),
            "--port".into(),
            bedrock_port.to_string(),
        ];
        let proxy_args = [
            "--project".to_string(),
            project.root.display().to_string(),
            "stack".into(),
            "transcript-proxy".into(),
            "--port".into(),
            proxy_port.to_string(),
            "--ca-out".into(),
            ca_file.display().to_string(),
            "--dir".into(),
            project
                .fixtures_dir()
                .join("transcripts")
                .display()
                .to_string(),
            "--moto-url".into(),
            format!("http://127.0.0.1:{moto_port}"),
            "--region".into(),
            p.region.clone(),
        ];
        let alarms_args = [
            "--project".to_string(),
            project.root.display().to_string(),
            "stack".into(),
            "alarms".into(),
            "--run-dir".into(),
            run_dir.display().to_string(),
            "--port".into(),
            alarms_port.to_string(),
        ];
        let started = async {
            let spawn = |name, bin: &Path, args: &[String], port| {
                services::spawn(name, bin, args, port, &run_dir, &project.root, detached)
            };
            let redis = spawn("redis", &redis_bin, &redis_args, redis_port)?;
            stack.info.redis = redis.info;
            stack.children.push(redis.child);
            let moto = spawn("moto", &moto_bin, &moto_args, moto_port)?;
            stack.info.moto = moto.info;
            stack.children.push(moto.child);
            let bedrock = spawn("bedrock", &self_bin, &replay_args, bedrock_port)?;
            stack.info.bedrock = Some(bedrock.info);
            stack.children.push(bedrock.child);
            let proxy = spawn("transcripts", &self_bin, &proxy_args, proxy_port)?;
            stack.info.transcripts = Some(proxy.info);
            stack.children.push(proxy.child);
            if !ports.without_alarms {
                let alarms = spawn("alarms", &self_bin, &alarms_args, alarms_port)?;
                stack.info.alarms = Some(alarms.info);
                stack.children.push(alarms.child);
            }
            let infos: Vec<ServiceInfo> = stack.info.services().into_iter().cloned().collect();
            for (info, child) in infos.iter().zip(stack.children.iter_mut()) {
                if let Some(service) = services::Service::of(info) {
                    service.wait(info, child).await?;
                }
            }
            stack.info.cognito = Some(stack.provision().await?);
            // What every reset returns to (a full reset and provisioning when it cannot).
            stack.checkpoint().await?;
            Ok::<(), StackError>(())
        }
        .await;
        if let Err(e) = started {
            return Err(stack.keep_logs(project, e));
        }
        let json = serde_json::to_vec_pretty(&stack.info).expect("stack info serialises");
        crate::fsutil::write_atomic(&state_file(&run_dir), &json)
            .map_err(|e| StackError::Io(e.to_string()))?;
        if detached {
            // The services are on their own now; their handles are not needed.
            stack.children.clear();
            stack.owned = false;
        }
        Ok(stack)
    }

    /// After a failed start: stop what runs, and copy the service logs out of the run folder
    /// (which is removed) so that the error names a log that still exists.
    fn keep_logs(&mut self, project: &Project, e: StackError) -> StackError {
        self.stop_services();
        let dir = project.state_dir().join("logs");
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let mut kept = BTreeMap::new();
        for svc in self.info.services() {
            if svc.name.is_empty() || !svc.log.is_file() {
                continue;
            }
            let to = dir.join(format!("{stamp}-{}.log", svc.name));
            if std::fs::create_dir_all(&dir).is_ok() && std::fs::copy(&svc.log, &to).is_ok() {
                kept.insert(svc.log.display().to_string(), to.display().to_string());
            }
        }
        match e {
            StackError::NotHealthy {
                service,
                secs,
                detail,
                log,
            } => StackError::NotHealthy {
                service,
                secs,
                detail,
                log: kept.get(&log).cloned().unwrap_or(log),
            },
            other => other,
        }
    }

    fn stop_services(&mut self) {
        let infos: Vec<ServiceInfo> = self.info.services().into_iter().cloned().collect();
        let mut children = self.children.iter_mut();
        for svc in infos.iter().filter(|s| s.pid != 0) {
            services::stop(svc, children.next());
        }
    }

    /// The stack `stack up` started, when its services are alive.
    pub fn attach(project: &Project) -> Option<Self> {
        Self::attach_at(project, shared_run_dir(project))
    }

    /// The further stacks `stack up --workers N` started, in order; only whole ones.
    pub fn attach_workers(project: &Project) -> Vec<Self> {
        worker_dirs(project)
            .into_iter()
            .filter_map(|dir| Self::attach_at(project, dir))
            .collect()
    }

    /// `n` private stacks for this command beside its first one, started at once; stopped
    /// when dropped, like the first.
    pub async fn start_private(project: &Project, n: usize) -> Result<Vec<Self>, StackError> {
        let pid = std::process::id();
        futures::future::try_join_all((1..=n).map(|i| {
            let run_dir = project.state_dir().join(format!("stack-{pid}-{i}"));
            let ports = Ports {
                without_alarms: true,
                ..Ports::default()
            };
            Self::start(project, run_dir, ports, false)
        }))
        .await
    }

    /// Start the workers of `stack up --workers N` (detached, numbered from 1).
    pub async fn start_workers(project: &Project, n: usize) -> Result<Vec<Self>, StackError> {
        futures::future::try_join_all((1..=n).map(|i| {
            let ports = Ports {
                without_alarms: true,
                ..Ports::default()
            };
            Self::start(project, worker_dir(project, i), ports, true)
        }))
        .await
    }

    pub(crate) fn attach_at(project: &Project, run_dir: PathBuf) -> Option<Self> {
        let info = read_info(&run_dir)?;
        if !info.services().into_iter().all(services::alive) {
            return None;
        }
        // A stack recorded before the transcript proxy existed lacks its variables.
        info.transcripts.as_ref()?;
        let p = &project.config.project;
        Some(Stack {
            info,
            children: Vec::new(),
            owned: false,
            run_dir,
            names: p.clone(),
            tokens: Default::default(),
            sdk: Default::default(),
            http: Default::default(),
            redis_con: Default::default(),
            moto_key: project.moto_cognito_key(),
            resources: project.config.stack.clone(),
        })
    }

    /// Use the running stack, or start a private one for the duration of this command. A
    /// recorded stack that is only partly alive is not used, and that is said on stderr.
    pub async fn attach_or_start(project: &Project) -> Result<Self, StackError> {
        if let Some(s) = Self::attach(project) {
            tracing::info!(
                "using the running stack (moto :{}, redis :{})",
                s.info.moto.port,
                s.info.redis.port
            );
            return Ok(s);
        }
        if let Some(info) = recorded(project) {
            let gone: Vec<String> = info
                .services()
                .into_iter()
                .filter(|s| !services::alive(s))
                .map(|s| format!("{} (pid {})", s.name, s.pid))
                .collect();
            eprintln!(
                "note: the running stack is not healthy ({} gone): using a private stack for this \
                 command; `manuel-migrate stack down && manuel-migrate stack up` restarts it",
                gone.join(", ")
            );
        }
        clean_stale_private_stacks(project);
        let run_dir = project
            .state_dir()
            .join(format!("stack-{}", std::process::id()));
        Self::start(project, run_dir, Ports::default(), false).await
    }

    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// One Redis command against the stack's server (any reply type, binary-safe).
    pub async fn redis<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StackError> {
        let mut con = self.redis_connection().await?;
        services::redis_timed(self.info.redis.port, cmd.query_async::<T>(&mut con)).await
    }

    /// Several Redis commands in one round trip.
    pub async fn redis_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StackError> {
        let mut con = self.redis_connection().await?;
        services::redis_timed(self.info.redis.port, pipe.query_async::<T>(&mut con)).await
    }

    async fn redis_connection(&self) -> Result<redis::aio::MultiplexedConnection, StackError> {
        let port = self.info.redis.port;
        self.redis_con
            .get_or_try_init(|| {
                services::redis_timed(port, async move {
                    redis::Client::open(format!("redis://127.0.0.1:{port}/"))?
                        .get_multiplexed_async_connection()
                        .await
                })
            })
            .await
            .cloned()
    }

    /// The client for moto's local endpoints.
    pub(crate) fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(reqwest::Client::new)
    }

    /// Health of each service: (name, pid, port, alive, healthy detail).
    pub async fn health(info: &StackInfo) -> Vec<(ServiceInfo, bool, String)> {
        let mut out = Vec::new();
        for svc in info.services() {
            let alive = services::alive(svc);
            let detail = match services::Service::of(svc) {
                Some(service) => match service.ready(svc.port).await {
                    Ok(h) => h.to_string(),
                    Err(e) => format!("unhealthy: {e}"),
                },
                None => format!("unhealthy: unknown service {}", svc.name),
            };
            out.push((svc.clone(), alive, detail));
        }
        out
    }
}

/// The variables that route a function's HTTPS through the transcript proxy and make it trust
/// the stack's CA (see [`transcripts`]).
pub const PROXY_VARS: [&str; 7] = [
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "AWS_CA_BUNDLE",
];

/// The names [`Stack::vars`] fills.
pub const STACK_VARS: [&str; 11] = [
    "region",
    "account_id",
    "stage",
    "usage_table",
    "manuals_bucket",
    "audio_bucket",
    "redis_host",
    "redis_port",
    "kb_id",
    "user_pool_id",
    "app_client_id",
];

/// Stop the stack that `stack up` recorded, its workers too. Returns what was stopped (empty
/// when nothing ran).
pub fn down(project: &Project) -> Result<Vec<ServiceInfo>, StackError> {
    let mut stopped = Vec::new();
    for dir in worker_dirs(project) {
        stopped.extend(down_at(&dir)?);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut first = down_at(&shared_run_dir(project))?;
    first.extend(stopped);
    Ok(first)
}

fn down_at(run_dir: &Path) -> Result<Vec<ServiceInfo>, StackError> {
    let file = state_file(run_dir);
    let Ok(text) = std::fs::read(&file) else {
        return Ok(Vec::new());
    };
    let info: StackInfo = serde_json::from_slice(&text)
        .map_err(|e| StackError::Io(format!("{}: {e}", file.display())))?;
    let stopped = stop_alive(&info);
    let _ = std::fs::remove_file(&file);
    Ok(stopped)
}

/// Where worker `i` of `stack up --workers N` runs (inside the first stack's folder).
fn worker_dir(project: &Project, i: usize) -> PathBuf {
    shared_run_dir(project).join(format!("worker-{i}"))
}

/// The worker folders `stack up --workers N` recorded, in order.
pub fn worker_dirs(project: &Project) -> Vec<PathBuf> {
    (1..)
        .map(|i| worker_dir(project, i))
        .take_while(|d| state_file(d).is_file())
        .collect()
}

/// The recorded workers, alive or not.
pub fn recorded_workers(project: &Project) -> Vec<StackInfo> {
    worker_dirs(project)
        .iter()
        .filter_map(|d| read_info(d))
        .collect()
}

fn stop_alive(info: &StackInfo) -> Vec<ServiceInfo> {
    let mut stopped = Vec::new();
    for svc in info.services() {
        if services::alive(svc) {
            services::stop(svc, None);
            stopped.push(svc.clone());
        }
    }
    stopped
}

fn read_info(run_dir: &Path) -> Option<StackInfo> {
    let text = std::fs::read(state_file(run_dir)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The recorded stack, alive or not.
pub fn recorded(project: &Project) -> Option<StackInfo> {
    read_info(&shared_run_dir(project))
}

pub use manuel_shared::routing::aws_message;
