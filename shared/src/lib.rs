//! `manuel-shared`: what the Rust ports of Manuel's Lambda functions share.
//!
//! - [`apigw`]: API Gateway proxy events and responses, CORS.
//! - [`pyjson`]: Python-compatible JSON rendering of response bodies.
//! - [`py`]: Python semantics that show up in responses (type names, `repr`, `int()`).
//! - [`runtime`]: the Lambda context as the Python runtime exposes it.
//! - [`cost`]: prices (Lambda per architecture and region).

pub mod apigw;
pub mod cost;
pub mod py;
pub mod pyjson;
pub mod runtime;
