//! Costs. [`lambda`] prices Lambda invocations per architecture and region (what `bench` uses for
//! cost per million requests); [`calculator`] is the port of Manuel's per-request cost calculator.

pub mod calculator;
pub mod lambda;
