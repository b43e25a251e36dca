//! Parity: replay captured requests against the Python and the Rust side (through the
//! execution layer), diff semantically, classify, report, gate.

pub mod cross;
pub mod diff;
pub mod image;
pub mod report;
pub mod rules;
pub mod run;
