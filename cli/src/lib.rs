//! manuel-migrate: move Manuel's Lambda backend from Python to Rust without downtime.
//!
//! Data flows one way: fixture → execution → answer → diff → report. See the README for the
//! commands and DESIGN.md (shared) for the architecture.

pub mod aws;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod exec;
pub mod fixtures;
pub mod fsutil;
pub mod hybrid;
pub mod package;
pub mod parity;
pub mod proc;
pub mod shift;
pub mod signal;
pub mod stack;

/// Exit codes: 0 success, 1 a gate failed (parity differences, bench targets, a shift rolled
/// back or stopped, an unhealthy stack), 2 usage or input error (bad file, unknown function,
/// missing tool), 130 interrupted (Ctrl-C).
pub mod exit {
    pub const OK: i32 = 0;
    pub const GATE_FAILED: i32 = 1;
    pub const INPUT_ERROR: i32 = 2;
    pub const INTERRUPTED: i32 = 130;
}
