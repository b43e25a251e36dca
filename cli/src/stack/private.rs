//! Private stacks (`.manuel-migrate/stack-<pid>/`): who owns one, and cleaning up after owners
//! that were killed before their `Drop` ran.

use super::{read_info, stop_alive, StackError};
use crate::config::Project;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file in a private stack's folder naming the command that owns it.
const OWNER_FILE: &str = "owner.json";

#[derive(Serialize, Deserialize)]
struct Owner {
    pid: u32,
    start_time: u64,
}

pub(super) fn write_owner(run_dir: &Path) -> Result<(), StackError> {
    let pid = std::process::id();
    let owner = Owner {
        pid,
        start_time: crate::proc::start_time(pid).unwrap_or(0),
    };
    let json = serde_json::to_vec(&owner).expect("owner serialises");
    crate::fsutil::write_atomic(&run_dir.join(OWNER_FILE), &json)
        .map_err(|e| StackError::Io(e.to_string()))
}

/// Private stack folders (`stack-<pid>[-<n>]`) whose command is gone — killed with `kill -9`, so its
/// `Drop` never ran: stop any service still alive (the kernel normally has, by
/// `PR_SET_PDEATHSIG`) and remove the folder. Returns the folders removed.
pub fn clean_stale_private_stacks(project: &Project) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(project.state_dir()) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("stack-")
            // `stack-<pid>`, or `stack-<pid>-<n>` for the further stacks of one command.
            .and_then(|p| p.split('-').next()?.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let owner: Option<Owner> = std::fs::read(dir.join(OWNER_FILE))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok());
        let owner_alive = match owner {
            Some(o) => o.pid == pid && crate::proc::same_process(o.pid, o.start_time),
            None => crate::proc::stat(pid).is_some(),
        };
        if owner_alive {
            continue;
        }
        if let Some(info) = read_info(&dir) {
            stop_alive(&info);
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            tracing::info!("removed the stale private stack {}", dir.display());
            removed.push(dir);
        }
    }
    removed
}
