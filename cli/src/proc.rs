//! Processes this CLI starts: the thread they are forked from, and what `/proc` says of a pid.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// Run `f` (a `spawn`) on one thread that lives as long as the process.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, not the process: a
/// child forked from a Tokio blocking thread (which ends after 10 s idle) or from a worker that
/// handed its core away would be killed while the command still needs it. Forking every service
/// and function process from this thread makes "dies with the command" mean exactly that.
pub fn on_spawner_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("spawner".into())
            .spawn(move || {
                // Ends only with the process: the sender is static and never dropped.
                for job in rx {
                    job();
                }
            })
            .expect("the spawner thread starts");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = reply_tx.send(f());
    });
    sender
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(job)
        .expect("the spawner thread is alive");
    reply_rx.recv().expect("the spawner thread answers")
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub zombie: bool,
    /// Field 22, `starttime`: clock ticks after boot. With the pid it names one process for the
    /// machine's uptime (a reused pid has a later start time).
    pub start_time: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.start_time)
}

/// The fields after the command name, which is in parentheses and may itself hold `)` and spaces.
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    // `rest` starts at field 3 (state); starttime is field 22.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(Stat {
        zombie: state == "Z",
        start_time,
    })
}

/// Whether `pid` is still the process that had `start_time`.
pub fn same_process(pid: u32, start_time: u64) -> bool {
    stat(pid).is_some_and(|s| !s.zombie && s.start_time == start_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_name_with_parentheses() {
        let line = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 1 0 0 0 3 1 0 0 20 0 1 0 987654 1 2";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.start_time, 987654);
        assert!(!s.zombie);
        let z = parse_stat("7 (x) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0").unwrap();
        assert!(z.zombie);
        assert_eq!(z.start_time, 55);
    }

    #[test]
    fn this_process_is_itself_and_children_die_with_the_process_not_the_thread() {
        let me = std::process::id();
        let t = start_time(me).unwrap();
        assert!(same_process(me, t));
        assert!(!same_process(me, t + 1));
        // A child forked from the spawner thread by a short-lived thread outlives that thread.
        let child = std::thread::spawn(|| {
            on_spawner_thread(|| {
                use std::os::unix::process::CommandExt;
                let mut cmd = std::process::Command::new("sleep");
                cmd.arg("30");
                unsafe {
                    cmd.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
                cmd.spawn().unwrap()
            })
        })
        .join()
        .unwrap();
        let mut child = child;
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child died with the thread that asked for it"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
