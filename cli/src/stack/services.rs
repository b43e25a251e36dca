//! Starting, probing and stopping the stack's service processes.

use super::{ServiceInfo, StackError};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Whether any socket is still listening on `port` (IPv4 or IPv6), read from /proc/net.
///
/// This is the question "did the service really stop?": a bind test would also fail on an
/// unrelated client socket that the kernel happened to give the same number as its ephemeral
/// port (listener ports and ephemeral ports share one range), which made `stack down` report
/// "STILL IN USE" for a service that was gone.
pub fn port_has_listener(port: u16) -> bool {
    const LISTEN: &str = "0A";
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| {
                let mut cols = line.split_whitespace();
                let local = cols.nth(1).unwrap_or("");
                let state = cols.nth(1).unwrap_or("");
                let local_port = local
                    .rsplit(':')
                    .next()
                    .and_then(|h| u16::from_str_radix(h, 16).ok());
                local_port == Some(port) && state == LISTEN
            })
    })
}

/// Ports for several services at once: the free ones picked by the OS are held until all are
/// chosen, so two services never get the same port.
pub fn choose_ports<const N: usize>(
    wanted: [(Option<u16>, &'static str); N],
) -> Result<[u16; N], StackError> {
    let mut held = Vec::new();
    let mut out = [0u16; N];
    for (i, (port, service)) in wanted.into_iter().enumerate() {
        out[i] = match port {
            Some(_) => choose_port(port, service)?,
            None => {
                let l = std::net::TcpListener::bind(("127.0.0.1", 0))
                    .map_err(|e| StackError::Io(format!("no free port for {service}: {e}")))?;
                let p = l
                    .local_addr()
                    .map_err(|e| StackError::Io(format!("no free port for {service}: {e}")))?
                    .port();
                held.push(l);
                p
            }
        };
    }
    drop(held);
    Ok(out)
}

pub fn choose_port(wanted: Option<u16>, service: &'static str) -> Result<u16, StackError> {
    match wanted {
        Some(port) if port_is_free(port) => Ok(port),
        Some(port) => Err(StackError::PortInUse { port, service }),
        None => std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| StackError::Io(format!("no free port for {service}: {e}"))),
    }
}

/// A service process just started: what `stack.json` records, and the handle that tells its
/// liveness without guessing from `/proc` (the handle is the process's own; a pid can be reused).
pub struct Spawned {
    pub info: ServiceInfo,
    pub child: Child,
}

/// Start `program` in its own process group, stdout and stderr into `<run_dir>/<name>.log`, in
/// `cwd`. A non-detached service is killed by the kernel when this process dies
/// (`PR_SET_PDEATHSIG`); it is forked from [`crate::proc::spawner`]'s thread, which lives as long
/// as the process, because the signal fires when the forking *thread* ends.
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    name: &'static str,
    program: &Path,
    args: &[String],
    port: u16,
    run_dir: &Path,
    cwd: &Path,
    detached: bool,
) -> Result<Spawned, StackError> {
    let log = run_dir.join(format!("{name}.log"));
    let out = File::create(&log).map_err(|e| StackError::Io(format!("{}: {e}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| StackError::Io(format!("{}: {e}", log.display())))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    if !detached {
        // SAFETY: prctl is async-signal-safe; it makes the kernel SIGKILL the service if this
        // process dies, so a private stack never outlives its command.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let child = crate::proc::on_spawner_thread(move || cmd.spawn())
        .map_err(|e| StackError::Io(format!("cannot start {}: {e}", program.display())))?;
    let pid = child.id();
    Ok(Spawned {
        info: ServiceInfo {
            name: name.into(),
            pid,
            port,
            log,
            start_time: crate::proc::start_time(pid),
        },
        child,
    })
}

/// Is the recorded process still the one we started, and running? Judged by pid plus the
/// kernel's start time of the process (a reused pid has another), never by its command line
/// (redis rewrites its process title). Stacks recorded without a start time fall back to the
/// command line.
pub fn alive(svc: &ServiceInfo) -> bool {
    let Some(stat) = crate::proc::stat(svc.pid) else {
        return false;
    };
    if stat.zombie {
        return false;
    }
    match svc.start_time {
        Some(t) => stat.start_time == t,
        None => {
            let cmdline = std::fs::read(format!("/proc/{}/cmdline", svc.pid)).unwrap_or_default();
            let expect = match svc.name.as_str() {
                "redis" => "redis-server",
                "moto" => "moto_server",
                "bedrock" => "bedrock-replay",
                "transcripts" => "transcript-proxy",
                "alarms" => "stack alarms",
                other => other,
            };
            String::from_utf8_lossy(&cmdline).contains(expect)
        }
    }
}

/// Liveness of a service: by its handle when we hold one, else by pid and start time.
fn running(svc: &ServiceInfo, child: &mut Option<&mut Child>) -> bool {
    match child {
        Some(c) => matches!(c.try_wait(), Ok(None)),
        None => {
            reap(svc.pid);
            alive(svc)
        }
    }
}

/// SIGTERM the service's process group, wait up to 5 s, then SIGKILL, and wait until it is gone
/// (reaped, when it is our child).
pub fn stop(svc: &ServiceInfo, mut child: Option<&mut Child>) {
    if !running(svc, &mut child) {
        return;
    }
    let pgid = -(svc.pid as i32);
    // SAFETY: kill(2) on the process group of a process we started; no memory is shared.
    unsafe {
        libc::kill(pgid, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if !running(svc, &mut child) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe {
        libc::kill(pgid, libc::SIGKILL);
    }
    // SIGKILL is not instant on a loaded machine: wait until the process is gone.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if !running(svc, &mut child) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: WNOHANG waitpid on a pid; harmless when it is not our child.
    unsafe {
        libc::waitpid(pid as i32, &mut status, libc::WNOHANG);
    }
}

fn last_log_line(svc: &ServiceInfo) -> String {
    std::fs::read_to_string(&svc.log)
        .ok()
        .and_then(|t| {
            t.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "no output".into())
}

async fn wait_until<F, Fut>(
    svc: &ServiceInfo,
    child: &mut Child,
    service: &'static str,
    limit: Duration,
    mut probe: F,
) -> Result<(), StackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StackError>>,
{
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(StackError::NotHealthy {
                service,
                secs: limit.as_secs(),
                detail: format!("exited ({status}): {}", last_log_line(svc)),
                log: svc.log.display().to_string(),
            });
        }
        match probe().await {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(StackError::NotHealthy {
        service,
        secs: limit.as_secs(),
        detail: last,
        log: svc.log.display().to_string(),
    })
}

/// The services of a local stack: how each shows it is ready, and how long its start may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Redis,
    Moto,
    Bedrock,
    Transcripts,
    Alarms,
}

impl Service {
    /// The service a [`ServiceInfo`] names.
    pub fn of(svc: &ServiceInfo) -> Option<Self> {
        match svc.name.as_str() {
            "redis" => Some(Self::Redis),
            "moto" => Some(Self::Moto),
            "bedrock" => Some(Self::Bedrock),
            "transcripts" => Some(Self::Transcripts),
            "alarms" => Some(Self::Alarms),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Moto => "moto",
            Self::Bedrock => "bedrock",
            Self::Transcripts => "transcripts",
            Self::Alarms => "alarms",
        }
    }

    /// How long a start may take before the stack gives up (moto imports a lot).
    fn start_limit(self) -> Duration {
        match self {
            Self::Moto => Duration::from_secs(30),
            _ => Duration::from_secs(15),
        }
    }

    /// One readiness probe: Redis answers `PING` with `PONG`; the others answer their health
    /// URL with a 2xx. `Ok` carries the detail `stack status` shows.
    pub async fn ready(self, port: u16) -> Result<&'static str, StackError> {
        let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
        match self {
            Self::Redis => redis_ping(port).await.map(|()| "healthy (PONG)"),
            Self::Moto => http_ready(&url("/moto-api/data.json"))
                .await
                .map(|()| "healthy"),
            Self::Bedrock => http_ready(&url("/__replay/health"))
                .await
                .map(|()| "healthy"),
            Self::Transcripts => http_ready(&url("/__transcripts/health"))
                .await
                .map(|()| "healthy"),
            Self::Alarms => http_ready(&url("/__alarms/health"))
                .await
                .map(|()| "healthy (evaluates the guard alarms)"),
        }
    }

    /// Waits until the service is ready, failing early when its process exits.
    pub async fn wait(self, svc: &ServiceInfo, child: &mut Child) -> Result<(), StackError> {
        let port = svc.port;
        wait_until(svc, child, self.name(), self.start_limit(), || async move {
            self.ready(port).await.map(drop)
        })
        .await
    }
}

/// `PING` answered `PONG`.
async fn redis_ping(port: u16) -> Result<(), StackError> {
    let pong: String = redis_query(port, &redis::cmd("PING")).await?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(StackError::Service {
            service: format!("redis 127.0.0.1:{port}"),
            message: format!("PING answered {pong}"),
        })
    }
}

/// A GET that answers 2xx within 2 s.
async fn http_ready(url: &str) -> Result<(), StackError> {
    let fail = |message: String| StackError::Service {
        service: url.to_owned(),
        message,
    };
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| fail(e.to_string()))?
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(fail(format!("answered {}", resp.status())))
    }
}

/// One Redis command against `127.0.0.1:port` (the `redis` crate: binary-safe, every reply
/// type), within 5 s.
pub async fn redis_query<T: redis::FromRedisValue>(
    port: u16,
    cmd: &redis::Cmd,
) -> Result<T, StackError> {
    redis_timed(port, async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
        let mut con = client.get_multiplexed_async_connection().await?;
        cmd.query_async::<T>(&mut con).await
    })
    .await
}

/// A Redis operation on the stack's server, given five seconds; its error names the server.
pub(crate) async fn redis_timed<T>(
    port: u16,
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StackError> {
    let failed = |message: String| StackError::Service {
        service: format!("redis 127.0.0.1:{port}"),
        message,
    };
    match tokio::time::timeout(Duration::from_secs(5), fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(failed("timed out".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::port_has_listener;

    #[test]
    fn a_listener_is_seen_and_a_client_port_is_not() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(port_has_listener(port));
        // The client side of a connection holds its ephemeral port, but it is not listening.
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let client_port = c.local_addr().unwrap().port();
        assert!(!port_has_listener(client_port));
        drop(c);
        drop(l);
        assert!(!port_has_listener(port));
    }
}
