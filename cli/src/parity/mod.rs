//! Parity: replay captured requests against the Python and the Rust side, diff semantically,
//! classify, report, gate.

pub mod cross;
pub mod diff;
pub mod engine;
pub mod fixture;
pub mod image;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod state;
