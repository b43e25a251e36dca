//! `manuel-shared`: what the Rust ports of Manuel's Lambda functions share.
//!
//! - [`apigw`]: API Gateway proxy events and responses, CORS.
//! - [`pyjson`]: Python-compatible JSON rendering of response bodies.
//! - [`pyround`]: Python's `round(x, ndigits)` for floats, bit for bit.
//! - [`pydecimal`]: Python's `Decimal` (and boto3's number contexts) for DynamoDB numbers.
//! - [`pyvalue`]: Python's `json.loads` (its acceptance, errors and value model) and `json.dumps`.
//! - [`py`]: Python semantics that show up in responses (type names, `repr`, `int()`).
//! - [`runtime`]: the Lambda context as the Python runtime exposes it.
//! - [`cost`]: prices (Lambda per architecture and region).
//! - with feature `services`: [`auth`]-adjacent AWS and Redis helpers — [`aws`] (boto3-style
//!   errors, clients), [`ddb`] (items as boto3 deserialises them), [`usage`] (quota counters),
//!   [`cache`] (the query cache in Redis), [`bedrock`] (Retrieve, InvokeModel).
//! - [`auth`]: the caller's user id from the authorizer claims.
//! - with feature `file-security`: [`file_security`], what process-manual's and transcribe's
//!   upload checks share.
//! - [`url`]: Python's `unquote` / `unquote_plus`, the one percent-decoder.

pub mod apigw;
pub mod auth;
#[cfg(feature = "services")]
pub mod aws;
#[cfg(feature = "services")]
pub mod bedrock;
#[cfg(feature = "services")]
pub mod cache;
pub mod cost;
#[cfg(feature = "services")]
pub mod ddb;
#[cfg(feature = "file-security")]
pub mod file_security;
pub mod magic;
pub mod py;
pub mod pydecimal;
pub mod pyjson;
pub mod pymimetypes;
mod pymimetypes_table;
pub mod pyround;
pub mod pysort;
pub mod pyvalue;
#[cfg(feature = "routing")]
pub mod routing;
pub mod runtime;
#[cfg(feature = "testkit")]
pub mod testkit;
#[rustfmt::skip]
pub mod unicode_tables;
pub mod url;
#[cfg(feature = "services")]
pub mod usage;
