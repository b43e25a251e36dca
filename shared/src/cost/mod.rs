//! Costs. [`lambda`] prices Lambda invocations per architecture and region (what `bench` uses for
//! cost per million requests). The port of Manuel's request cost calculator lands beside it.

pub mod lambda;
