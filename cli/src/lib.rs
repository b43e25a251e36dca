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
pub mod sam;
pub mod shift;
pub mod signal;
pub mod stack;

/// Exit codes: 0 success, 1 a gate failed (parity differences, bench targets, a shift rolled
/// back or stopped, an unhealthy stack), 2 usage or input error (bad file, unknown function,
/// missing tool), 3 an AWS or local-service call failed, 130 interrupted (Ctrl-C).
pub mod exit {
    pub const OK: i32 = 0;
    pub const GATE_FAILED: i32 = 1;
    pub const INPUT_ERROR: i32 = 2;
    pub const SERVICE_FAILED: i32 = 3;
    pub const INTERRUPTED: i32 = 130;

    /// Is this error (one link of a command's error chain) a failed call to AWS or to a
    /// service of the local stack, rather than bad input?
    pub fn is_service_failure(e: &(dyn std::error::Error + 'static)) -> bool {
        use crate::shift::controller::ControllerError;
        use crate::shift::router::RouterError;
        if let Some(e) = e.downcast_ref::<crate::stack::StackError>() {
            return e.is_service_failure();
        }
        if let Some(e) = e.downcast_ref::<crate::exec::ExecError>() {
            return e.is_service_failure();
        }
        if let Some(e) = e.downcast_ref::<crate::parity::ParityError>() {
            return e.is_service_failure();
        }
        if let Some(e) = e.downcast_ref::<crate::bench::BenchError>() {
            return e.is_service_failure();
        }
        if let Some(e) = e.downcast_ref::<crate::shift::guard::GuardError>() {
            return matches!(e, crate::shift::guard::GuardError::Aws { .. });
        }
        if let Some(e) = e.downcast_ref::<ControllerError>() {
            return matches!(e, ControllerError::Router(RouterError::Aws { .. }));
        }
        e.downcast_ref::<RouterError>()
            .is_some_and(|r| matches!(r, RouterError::Aws { .. }))
            || e.is::<crate::shift::monitor::MetricsError>()
            || e.is::<crate::shift::routes::RouteError>()
            || e.is::<crate::shift::sources::SourceError>()
            || e.is::<crate::deploy::DeployError>()
            || e.is::<crate::exec::remote::RemoteError>()
    }
}
