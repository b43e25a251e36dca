//! The execution layer: it turns *(function, side, event, environment, state)* into an answer
//! with timings. Parity, bench, serve, invoke, rehearse (and capture and power tuning) only ever
//! go through it; it depends on none of them.
//!
//! - [`Runner`] is one side wherever it runs: a local [`Pool`] of sandboxes (a process under our
//!   [`runtime_api`], as Lambda runs it), a deployed function ([`remote::LambdaTarget`]) or a
//!   deployed API ([`remote::HttpTarget`]). Each answers a [`Request`].
//! - [`state`] seeds the local stack (`setup`, placeholders, clocks), [`snapshot`] reads what a
//!   side changed, and [`guard::StateGuard`] runs a stateful request on a fresh, seeded stack and
//!   returns the answer with the state it left.
//! - [`Faults`]: rehearsals make the Rust side fail or slow down here, in the local Runtime API,
//!   never inside a function binary.

pub mod guard;
pub mod local;
pub mod pool;
pub mod remote;
pub mod runner;
pub mod runtime_api;
pub mod snapshot;
pub mod state;

pub use guard::StateGuard;
pub use pool::Pool;
pub use runner::{runner, Runner, Where};

use runtime_api::{apigw_view, Invocation, Outcome, Report};
use serde_json::Value;
use std::collections::BTreeMap;

/// What can go wrong when a side answers: the function cannot start (not built, no Python),
/// the local stack or an AWS call failed, a request cannot be taken where it is sent.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Invoke(#[from] runtime_api::InvokeError),
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error(transparent)]
    Remote(#[from] remote::RemoteError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("encoding the event: {0}")]
    Event(#[from] serde_json::Error),
    #[error("{0} needs the local stack to seed its state")]
    NeedsStack(String),
    #[error("a local target needs the local stack")]
    NoStack,
    #[error("{0} is not an API Gateway event: a URL target cannot take it (invoke the function)")]
    NotHttp(String),
}

impl ExecError {
    /// A local service or AWS call failed (not the user's input): exit code 3.
    pub fn is_service_failure(&self) -> bool {
        match self {
            ExecError::Remote(_) => true,
            ExecError::Stack(e) => e.is_service_failure(),
            ExecError::State(state::StateError::Seed { .. }) => true,
            _ => false,
        }
    }
}

/// Environment variables of a function process (name → value).
pub type EnvVars = BTreeMap<String, String>;

/// The value of an override that *removes* a variable (a fixture's `"NAME": null`): a NUL can
/// never be part of an environment value, so it cannot be mistaken for one.
pub const UNSET: &str = "\0";

/// Apply overrides to an environment: set each variable, or remove it where the value is
/// [`UNSET`].
pub fn apply_overrides(env: &mut EnvVars, overrides: impl IntoIterator<Item = (String, String)>) {
    for (k, v) in overrides {
        if v == UNSET {
            env.remove(&k);
        } else {
            env.insert(k, v);
        }
    }
}

/// One request for a side: the event and what it needs around it. Built from a parity fixture
/// (`fixtures::Case::request`), a captured event, or an event file.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Who asks, for error messages (`function/case`, a file name).
    pub label: String,
    pub event: &'a Value,
    /// Environment overrides for a local side (the case's `env`, the variables that pin its
    /// clock), placeholders not yet filled.
    pub env: BTreeMap<String, String>,
    /// State to seed on a fresh local stack before the request runs.
    pub setup: Option<&'a state::Setup>,
    /// "Now" for the setup's time placeholders (the case's clock, or the real time).
    pub now: chrono::DateTime<chrono::Utc>,
    /// Run on a freshly reset, seeded stack, one at a time, with a state snapshot around it.
    pub stateful: bool,
    /// Only a local side can take these.
    pub has_env: bool,
    pub pins_clock: bool,
    /// The event names `{token:…}` or `{sub:…}` of the local Cognito pool.
    pub needs_tokens: bool,
    /// POST, PUT, PATCH or DELETE: refused against deployments unless allowed.
    pub writes: bool,
    /// How the answer is read: as API Gateway answers a proxy event, or the return value.
    pub kind: EventKind,
}

/// What kind of event a request carries, which decides how its answer is read.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// An API Gateway REST proxy event: the answer is what API Gateway makes of the return
    /// value (502 for a function error or a malformed proxy response).
    #[default]
    Apigw,
    /// Any JSON, as a direct `Invoke` or an API Gateway authorizer call sends it: the answer is
    /// the return value itself, or `{"errorType", "errorMessage"}` for a function error.
    Direct,
    /// An S3 event notification (`Records` of `aws:s3` records), answered like `direct`.
    S3,
    /// An SQS batch as the Lambda poller sends it (`Records` of `aws:sqs` messages), answered
    /// like `direct`, with `batchItemFailures` compared as a set.
    Sqs,
}

impl EventKind {
    /// The kind of a bare event file: a proxy event has `httpMethod`; `Records` whose first
    /// `eventSource` is `aws:s3` or `aws:sqs` are those; anything else is direct.
    pub fn of_event(event: &Value) -> Self {
        if event.get("httpMethod").is_some() {
            return EventKind::Apigw;
        }
        let source = event
            .pointer("/Records/0/eventSource")
            .or_else(|| event.pointer("/Records/0/EventSource"))
            .and_then(Value::as_str);
        match source {
            Some("aws:s3") => EventKind::S3,
            Some("aws:sqs") => EventKind::Sqs,
            _ => EventKind::Direct,
        }
    }

    pub fn is_apigw(&self) -> bool {
        *self == EventKind::Apigw
    }

    /// The name fixtures and reports use.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Apigw => "apigw",
            EventKind::Direct => "direct",
            EventKind::S3 => "s3",
            EventKind::Sqs => "sqs",
        }
    }
}

impl<'a> Request<'a> {
    /// A bare event with no environment, state or clock of its own.
    pub fn event(label: impl Into<String>, event: &'a Value) -> Self {
        let method = event
            .get("httpMethod")
            .and_then(Value::as_str)
            .unwrap_or("GET");
        Self {
            label: label.into(),
            event,
            env: BTreeMap::new(),
            setup: None,
            now: chrono::Utc::now(),
            stateful: false,
            has_env: false,
            pins_clock: false,
            needs_tokens: names_tokens(event),
            writes: matches!(method, "POST" | "PUT" | "PATCH" | "DELETE"),
            kind: EventKind::of_event(event),
        }
    }

    /// Does it seed or touch state (reset, seed, snapshot)?
    pub fn needs_state(&self) -> bool {
        self.stateful || self.setup.is_some_and(|s| !s.is_empty())
    }
}

/// Does any string of `event` hold a `{token:…}` or `{sub:…}` placeholder?
pub fn names_tokens(event: &Value) -> bool {
    match event {
        Value::String(s) => s.contains("{token:") || s.contains("{sub:"),
        Value::Array(items) => items.iter().any(names_tokens),
        Value::Object(m) => m.values().any(names_tokens),
        _ => false,
    }
}

/// Faults a rehearsal injects into a local side, in the Runtime API: exactly `error_percent` %
/// of the invocations (evenly spread) report a function error after the function ran, and each
/// answer takes `delay_factor` times as long. Shared by every sandbox of a pool.
#[derive(Debug, Default)]
pub struct Faults {
    pub error_percent: u64,
    pub delay_factor: f64,
    count: std::sync::atomic::AtomicU64,
}

impl Faults {
    pub fn new(error_percent: u64, delay_factor: f64) -> Self {
        Self {
            error_percent: error_percent.min(100),
            delay_factor,
            count: Default::default(),
        }
    }

    /// Is this invocation one of the `error_percent` % that fail?
    pub fn error_due(&self) -> bool {
        let pct = self.error_percent;
        if pct == 0 {
            return false;
        }
        let n = self
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        n * pct / 100 != (n - 1) * pct / 100
    }
}

/// Which implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Python,
    Rust,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Python => "python",
            Side::Rust => "rust",
        })
    }
}

/// One answered request: what the client saw (after API Gateway) and how it went.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The proxy response as the client sees it (502 for function errors).
    pub response: Value,
    pub outcome: Option<Outcome>,
    pub report: Option<Report>,
    pub logs: Vec<String>,
    pub request_id: Option<String>,
}

impl From<Invocation> for Answer {
    fn from(inv: Invocation) -> Self {
        Answer {
            response: apigw_view(&inv.outcome),
            outcome: Some(inv.outcome),
            report: Some(inv.report),
            logs: inv.logs,
            request_id: Some(inv.request_id),
        }
    }
}

impl Answer {
    /// The answer as a client of this kind of event sees it.
    pub fn viewed_as(mut self, kind: EventKind) -> Self {
        if !kind.is_apigw() {
            if let Some(outcome) = &self.outcome {
                self.response = runtime_api::direct_view(outcome);
            }
        }
        self
    }
}

/// The body bytes of a proxy event or response: base64-decoded when `isBase64Encoded` is true.
pub fn body_bytes(v: &Value) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = v.get("body").and_then(Value::as_str)?;
    Some(
        if v.get("isBase64Encoded")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        },
    )
}
