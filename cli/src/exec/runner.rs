//! One side, wherever it runs.

use super::remote::{HttpTarget, LambdaTarget};
use super::{Answer, ExecError, Pool, Request, Side};
use crate::config::Project;
use crate::stack::Stack;
use axum::body::Bytes;

/// One side, wherever it runs.
pub enum Runner<'a> {
    /// A local process under our Runtime API.
    Local(Pool<'a>),
    /// A deployed function (Lambda `Invoke`).
    Lambda(LambdaTarget),
    /// A deployed API (HTTPS through API Gateway).
    Http(HttpTarget),
}

impl Runner<'_> {
    /// A local side under Lambda's CPU and memory limits (`memory_mb`: another size than the
    /// function's); deployed sides have Lambda's own.
    pub fn with_lambda_limits(self, on: bool, memory_mb: Option<u32>) -> Self {
        match self {
            Runner::Local(p) => Runner::Local(p.with_lambda_limits(on, memory_mb)),
            other => other,
        }
    }

    /// A local Rust side that skips its poll waits (see [`Pool::with_skipped_waits`]).
    pub fn with_skipped_waits(self, on: bool) -> Self {
        match self {
            Runner::Local(p) => Runner::Local(p.with_skipped_waits(on)),
            other => other,
        }
    }

    pub fn is_remote(&self) -> bool {
        !matches!(self, Runner::Local(_))
    }

    pub fn describe(&self) -> String {
        match self {
            Runner::Local(p) => format!("local {}", p.side),
            Runner::Lambda(t) => format!(
                "Lambda {}{}",
                t.function,
                t.qualifier
                    .as_deref()
                    .map(|q| format!(":{q}"))
                    .unwrap_or_default()
            ),
            Runner::Http(t) => format!("URL {}", t.base),
        }
    }

    /// Why this runner cannot run the request, if it cannot.
    pub fn refuses(&self, req: &Request, allow_writes: bool) -> Option<String> {
        if !self.is_remote() {
            return None;
        }
        if req.has_env {
            return Some("needs per-case environment, which only a local target can take".into());
        }
        if req.needs_tokens {
            return Some(
                "names tokens or users of the local Cognito pool ({token:…}, {sub:…})".into(),
            );
        }
        if req.pins_clock {
            return Some("pins the clock, which only a local target can take".into());
        }
        if req.setup.is_some_and(|s| !s.is_empty()) {
            return Some("seeds state, which only the local stack can take".into());
        }
        if req.writes && !allow_writes {
            return Some("writes (POST/PUT/PATCH/DELETE) are refused against deployments without --allow-writes".into());
        }
        None
    }

    pub async fn answer(&self, req: &Request<'_>) -> Result<Answer, ExecError> {
        if let Runner::Local(p) = self {
            let event = if req.needs_tokens {
                Bytes::from(serde_json::to_vec(&p.fill(req.event).await?)?)
            } else {
                Bytes::from(serde_json::to_vec(req.event)?)
            };
            return Ok(p.invoke(&req.env, event).await?.viewed_as(req.kind));
        }
        let event = Bytes::from(serde_json::to_vec(req.event)?);
        Ok(match self {
            Runner::Local(_) => unreachable!("answered above"),
            Runner::Lambda(t) => t.invoke(event).await?.viewed_as(req.kind),
            Runner::Http(_) if !req.kind.is_apigw() => {
                return Err(ExecError::NotHttp(req.label.clone()))
            }
            Runner::Http(t) => t.invoke(req.event).await?,
        })
    }
}

/// Where one side answers: a local process (Python source folder, or the Rust binary when
/// `None`), a deployed function, or a URL.
#[derive(Clone, Copy)]
pub struct Where<'s> {
    pub local_src: Option<&'s std::path::Path>,
    pub lambda: Option<&'s str>,
    pub url: Option<&'s str>,
    pub qualifier: Option<&'s str>,
}

/// Build the runner of one side.
pub async fn runner<'a>(
    project: &'a Project,
    stack: Option<&Stack>,
    function: &str,
    side: Side,
    at: Where<'_>,
    profile: Option<super::local::Profile>,
) -> Result<Runner<'a>, ExecError> {
    if let Some(name) = at.lambda {
        let conf = crate::aws::config(project).await;
        return Ok(Runner::Lambda(LambdaTarget::new(&conf, name, at.qualifier)));
    }
    if let Some(u) = at.url {
        return Ok(Runner::Http(HttpTarget::new(
            u,
            std::time::Duration::from_secs(60),
        )?));
    }
    let stack = stack.ok_or(ExecError::NoStack)?;
    Ok(Runner::Local(Pool::new(
        project,
        stack,
        function,
        side,
        at.local_src.map(|p| p.to_path_buf()),
        profile,
    )?))
}
