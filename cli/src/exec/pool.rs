//! Sandboxes of one side of one function, reused across requests.

use super::local::{function_env, sandbox, LocalTargetSpec, Profile};
use super::runtime_api::Sandbox;
use super::{Answer, ExecError, Faults, Side};
use crate::config::Project;
use crate::stack::Stack;
use axum::body::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Sandboxes of one side of one function, reused across cases, one set per distinct
/// per-case environment.
pub struct Pool<'a> {
    project: &'a Project,
    function: String,
    pub side: Side,
    base_env: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    python_src: Option<PathBuf>,
    profile: Option<Profile>,
    faults: Option<Arc<Faults>>,
    /// Fills `{token:…}` / `{sub:…}` in events (the stack's Cognito).
    tokens: Option<Arc<crate::stack::cognito::Tokens>>,
    idle: Mutex<HashMap<String, Vec<Sandbox>>>,
    /// Lambda's CPU and memory limits on every process (see `runtime_api::limits`).
    lambda_limits: bool,
    /// A memory size other than the function's (`bench --memory-mb`, power tuning).
    memory_mb: Option<u32>,
    /// Ask the Rust processes to skip their poll waits (the parity gate; see
    /// `manuel_shared::runtime::local_waits_skipped`).
    skip_waits: bool,
}

impl<'a> Pool<'a> {
    pub fn new(
        project: &'a Project,
        stack: &Stack,
        function: &str,
        side: Side,
        python_src: Option<PathBuf>,
        profile: Option<Profile>,
    ) -> Result<Self, ExecError> {
        let base_env = function_env(
            project,
            function,
            &stack.vars(),
            &stack.aws_env(),
            &BTreeMap::new(),
        )?;
        let pool = Self {
            project,
            function: function.to_owned(),
            side,
            base_env,
            vars: stack.vars(),
            python_src,
            profile,
            faults: None,
            tokens: stack.tokens(),
            idle: Mutex::new(HashMap::new()),
            lambda_limits: false,
            memory_mb: None,
            skip_waits: false,
        };
        // Fail early (binary not built, no Python) before any case runs.
        pool.build(&BTreeMap::new())?;
        Ok(pool)
    }

    fn build(&self, overrides: &BTreeMap<String, String>) -> Result<Sandbox, ExecError> {
        let mut env = self.base_env.clone();
        super::apply_overrides(
            &mut env,
            overrides
                .iter()
                .map(|(k, v)| (k.clone(), crate::config::expand(v, &self.vars))),
        );
        let mut spec = LocalTargetSpec {
            project: self.project,
            function: &self.function,
            side: self.side,
            env,
            python_src: self.python_src.as_deref(),
            profile: self.profile,
        }
        .build()?;
        spec.lambda_limits = self.lambda_limits;
        if let Some(mb) = self.memory_mb {
            spec.memory_mb = mb;
            spec.env
                .insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), mb.to_string());
        }
        if self.skip_waits && self.side == Side::Rust {
            spec.env
                .insert(manuel_shared::runtime::SKIP_WAITS_VAR.into(), "1".into());
        }
        let mut sb = sandbox(spec, false);
        if let Some(f) = &self.faults {
            sb.inject(f.clone());
        }
        Ok(sb)
    }

    /// Run every process of this pool under Lambda's limits for its memory size (`memory_mb`,
    /// or the function's own); idle sandboxes made before are dropped.
    pub fn with_lambda_limits(mut self, on: bool, memory_mb: Option<u32>) -> Self {
        self.lambda_limits = on;
        self.memory_mb = memory_mb;
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        self
    }

    /// Let the Rust processes skip the waits between their polls (Python's cannot be told):
    /// the gate compares what is read and written, not how long a handler sleeps.
    pub fn with_skipped_waits(mut self, on: bool) -> Self {
        self.skip_waits = on;
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        self
    }

    /// Inject faults into every sandbox of this pool (rehearsals).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = Some(Arc::new(faults));
        self
    }

    pub fn function(&self) -> &str {
        &self.function
    }

    /// The event with its `{token:…}` and `{sub:…}` placeholders filled from the stack.
    pub async fn fill(&self, event: &serde_json::Value) -> Result<serde_json::Value, ExecError> {
        match &self.tokens {
            Some(t) => Ok(t.fill(event).await?),
            None => Ok(event.clone()),
        }
    }

    /// One invocation in a new sandbox that is dropped afterwards: a cold start (the answer's
    /// report carries its init time, the process's peak RSS).
    pub async fn invoke_cold(
        &self,
        overrides: &BTreeMap<String, String>,
        event: Bytes,
    ) -> Result<Answer, ExecError> {
        let mut sb = self.build(overrides)?;
        Ok(Answer::from(sb.invoke(event).await?))
    }

    fn key(overrides: &BTreeMap<String, String>) -> String {
        serde_json::to_string(overrides).unwrap_or_default()
    }

    /// Invoke one event in an idle sandbox with these overrides (a new one if none is idle).
    pub async fn invoke(
        &self,
        overrides: &BTreeMap<String, String>,
        event: Bytes,
    ) -> Result<Answer, ExecError> {
        let key = Self::key(overrides);
        let taken = self
            .idle
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(&key).and_then(Vec::pop));
        let mut sb = match taken {
            Some(sb) => sb,
            None => self.build(overrides)?,
        };
        let inv = sb.invoke(event).await?;
        if let Ok(mut m) = self.idle.lock() {
            m.entry(key).or_default().push(sb);
        }
        Ok(Answer::from(inv))
    }
}
