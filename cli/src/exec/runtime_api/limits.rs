//! Lambda's limits for a local function process: CPU in proportion to the memory size (1,769 MB
//! is one vCPU, 10,240 MB six) and the memory size itself, past which Lambda kills the runtime
//! (`Runtime.OutOfMemory`) and starts a new one.
//!
//! Enforced with a cgroup per process when the machine lets us make one — v2
//! (`cpu.max`, `memory.max`, `memory.swap.max`) or v1 (`cpu.cfs_quota_us` under the `cpu`
//! controller, `memory.limit_in_bytes` under `memory`) — and otherwise modelled: the process's
//! CPU time (`/proc/<pid>/stat`) stretches the measured duration to what the CPU share would
//! have taken, and a peak RSS over the memory size counts as the out-of-memory error. Reports
//! say which of the two was used.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

/// Lambda's period for the CPU quota (the kernel's default CFS period).
const PERIOD_US: u64 = 100_000;
/// The memory size that buys one vCPU.
pub const MB_PER_VCPU: f64 = 1769.0;

#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error("{path}: {message}")]
    Cgroup { path: String, message: String },
}

/// The vCPUs Lambda gives a memory size (linear, at most 6).
pub fn vcpus(memory_mb: u32) -> f64 {
    (f64::from(memory_mb) / MB_PER_VCPU).min(6.0)
}

/// How the limits are applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// Not applied (`--no-lambda-limits`, or a command that does not apply them).
    #[default]
    Off,
    CgroupV2,
    CgroupV1,
    /// No writable cgroup: durations stretched by CPU time, memory checked against peak RSS.
    Model,
}

impl Enforcement {
    pub fn label(self) -> &'static str {
        match self {
            Enforcement::Off => "off",
            Enforcement::CgroupV2 => "cgroup v2",
            Enforcement::CgroupV1 => "cgroup v1",
            Enforcement::Model => "model (no writable cgroup)",
        }
    }
}

/// Where this machine's cgroups are, if we can make our own.
#[derive(Debug, Clone)]
enum Hierarchy {
    V2(PathBuf),
    V1 { cpu: PathBuf, memory: PathBuf },
}

fn hierarchy() -> Option<Hierarchy> {
    let root = Path::new("/sys/fs/cgroup");
    // v2: a unified mount with the cpu and memory controllers enabled for children.
    if let Ok(ctl) = std::fs::read_to_string(root.join("cgroup.subtree_control")) {
        let words: Vec<&str> = ctl.split_whitespace().collect();
        if words.contains(&"cpu") && words.contains(&"memory") {
            return Some(Hierarchy::V2(root.join("manuel-migrate")));
        }
    }
    let (cpu, memory) = (root.join("cpu"), root.join("memory"));
    if cpu.join("cpu.cfs_quota_us").is_file() && memory.join("memory.limit_in_bytes").is_file() {
        return Some(Hierarchy::V1 {
            cpu: cpu.join("manuel-migrate"),
            memory: memory.join("manuel-migrate"),
        });
    }
    None
}

fn write(path: &Path, value: &str) -> Result<(), LimitsError> {
    std::fs::write(path, value).map_err(|e| LimitsError::Cgroup {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn make_dir(path: &Path) -> Result<(), LimitsError> {
    std::fs::create_dir_all(path).map_err(|e| LimitsError::Cgroup {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The cgroup(s) of one function process. Made before the spawn; the child joins them between
/// fork and exec (so its init is limited too); removed when dropped.
#[derive(Debug)]
pub struct ProcessCgroup {
    enforcement: Enforcement,
    dirs: Vec<PathBuf>,
    /// The directory whose files tell of out-of-memory kills.
    memory_dir: PathBuf,
    /// `cgroup.procs` files, opened by the parent (close-on-exec) for the child to write to.
    procs: Vec<File>,
}

impl ProcessCgroup {
    /// A new cgroup limited as Lambda limits `memory_mb`; `None` when this machine has no
    /// cgroup we may write (the caller then models the limits).
    pub fn create(memory_mb: u32) -> Result<Option<Self>, LimitsError> {
        let Some(h) = hierarchy() else {
            return Ok(None);
        };
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let quota = (vcpus(memory_mb) * PERIOD_US as f64).round().max(1000.0) as u64;
        let bytes = u64::from(memory_mb) * 1024 * 1024;
        let mut cg = match h {
            Hierarchy::V2(base) => {
                let dir = base.join(&name);
                if !base.is_dir() {
                    make_dir(&base)?;
                    write(&base.join("cgroup.subtree_control"), "+cpu +memory")?;
                }
                make_dir(&dir)?;
                let cg = ProcessCgroup {
                    enforcement: Enforcement::CgroupV2,
                    dirs: vec![dir.clone()],
                    memory_dir: dir.clone(),
                    procs: Vec::new(),
                };
                write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
                write(&dir.join("memory.max"), &bytes.to_string())?;
                // Lambda has no swap: over the size is over.
                let _ = write(&dir.join("memory.swap.max"), "0");
                cg
            }
            Hierarchy::V1 { cpu, memory } => {
                let (cpu_dir, mem_dir) = (cpu.join(&name), memory.join(&name));
                make_dir(&cpu_dir)?;
                let mut cg = ProcessCgroup {
                    enforcement: Enforcement::CgroupV1,
                    dirs: vec![cpu_dir.clone()],
                    memory_dir: mem_dir.clone(),
                    procs: Vec::new(),
                };
                make_dir(&mem_dir)?;
                cg.dirs.push(mem_dir.clone());
                write(&cpu_dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write(&cpu_dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
                write(&mem_dir.join("memory.limit_in_bytes"), &bytes.to_string())?;
                // Without swap accounting this file is absent; with it, no swap either.
                let memsw = mem_dir.join("memory.memsw.limit_in_bytes");
                if memsw.is_file() {
                    let _ = write(&memsw, &bytes.to_string());
                }
                cg
            }
        };
        for dir in &cg.dirs {
            let path = dir.join("cgroup.procs");
            let f =
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| LimitsError::Cgroup {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
            cg.procs.push(f);
        }
        Ok(Some(cg))
    }

    pub fn enforcement(&self) -> Enforcement {
        self.enforcement
    }

    /// The descriptors the child writes `0` (itself) to before exec.
    pub fn join_fds(&self) -> Vec<RawFd> {
        self.procs.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// Whether the kernel killed a process of this cgroup for exceeding its memory.
    pub fn oom_killed(&self) -> bool {
        let file = match self.enforcement {
            Enforcement::CgroupV2 => "memory.events",
            _ => "memory.oom_control",
        };
        std::fs::read_to_string(self.memory_dir.join(file))
            .ok()
            .and_then(|text| {
                text.lines().find_map(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                })
            })
            .is_some_and(|n| n > 0)
    }

    /// The cgroup directories (for tests and diagnostics).
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }
}

impl Drop for ProcessCgroup {
    fn drop(&mut self) {
        self.procs.clear();
        for dir in &self.dirs {
            // Empty by now (the process group was killed); a straggler keeps it for a moment.
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// Join the cgroups whose `cgroup.procs` descriptors are given: called in the child between
/// fork and exec, so only async-signal-safe calls (write(2)).
pub fn join_in_child(fds: &[RawFd]) -> std::io::Result<()> {
    for &fd in fds {
        // SAFETY: write(2) on a descriptor the parent opened; the buffer is a static string.
        let n = unsafe { libc::write(fd, b"0\n".as_ptr().cast(), 2) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// User + system CPU seconds of a process so far (`/proc/<pid>/stat` fields 14 and 15).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks > 0.0).then(|| (utime + stime) / ticks)
}

/// The modelled duration of an invocation that took `wall` and used `cpu` seconds of CPU: at
/// `vcpus(memory_mb)` it could not have been faster than `cpu / vcpus`.
pub fn modelled_duration(
    wall: std::time::Duration,
    cpu: f64,
    memory_mb: u32,
) -> std::time::Duration {
    let share = vcpus(memory_mb);
    if share <= 0.0 {
        return wall;
    }
    wall.max(std::time::Duration::from_secs_f64((cpu / share).max(0.0)))
}

/// Lambda's answer when the runtime ran out of memory.
pub fn out_of_memory(request_id: &str) -> super::Outcome {
    super::Outcome::FunctionError {
        error_type: "Runtime.OutOfMemory".into(),
        payload: serde_json::json!({
            "errorType": "Runtime.OutOfMemory",
            "errorMessage": format!(
                "RequestId: {request_id} Error: Runtime exited with error: signal: killed"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_follows_memory_as_lambda_gives_it() {
        assert!((vcpus(1769) - 1.0).abs() < 1e-9);
        assert!((vcpus(128) - 0.0724).abs() < 1e-3);
        assert!((vcpus(10240) - 5.79).abs() < 0.01);
        assert_eq!(vcpus(20_000), 6.0);
    }

    #[test]
    fn the_model_never_makes_an_invocation_faster() {
        use std::time::Duration;
        let wall = Duration::from_millis(10);
        // 10 ms of CPU at 512 MB (0.29 vCPU) takes ≈ 34.6 ms.
        let d = modelled_duration(wall, 0.010, 512);
        assert!(
            d > Duration::from_millis(34) && d < Duration::from_millis(35),
            "{d:?}"
        );
        assert_eq!(modelled_duration(wall, 0.001, 3008), wall);
    }

    #[test]
    fn cpu_seconds_of_this_process_are_read() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}
