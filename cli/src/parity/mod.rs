//! Parity: replay captured requests against the Python and the Rust side (through the
//! execution layer), diff semantically, classify, report, gate.

pub mod cross;
pub mod diff;
pub mod image;
pub mod report;
pub mod rules;
pub mod run;

/// A case could not be run (the comparison itself never fails: differences are results).
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    #[error(transparent)]
    Fixture(#[from] crate::fixtures::FixtureError),
    #[error("{scenario}: no runner for function {function}")]
    NoRunner { scenario: String, function: String },
}

impl ParityError {
    /// An AWS or local service call failed: exit code 3.
    pub fn is_service_failure(&self) -> bool {
        matches!(self, ParityError::Exec(e) if e.is_service_failure())
    }
}
