//! Requests that need state: each runs on a freshly reset, seeded local stack, one at a time,
//! bracketed by snapshots, so neither side sees what the other wrote.

use super::snapshot::Snapshot;
use super::state::StateError;
use super::{Answer, ExecError, Request, Runner};
use crate::stack::{Restore, Stack};
use serde_json::Value;
use std::path::PathBuf;

/// Resets and seeds the local stack for cases that need state; one such case at a time.
pub struct StateGuard<'s> {
    pub stack: &'s Stack,
    pub fixtures_dir: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl<'s> StateGuard<'s> {
    pub fn new(stack: &'s Stack, fixtures_dir: PathBuf) -> Self {
        Self {
            stack,
            fixtures_dir,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Fresh stack, then the request's setup (placeholders relative to its clock).
    /// moto's checkpoint comes back with the setup's items and objects in one request, Redis is
    /// flushed and seeded in one round trip; a moto without checkpoints is reset and seeded
    /// through the SDK.
    pub async fn prepare(&self, req: &Request<'_>) -> Result<(), ExecError> {
        self.prepare_reading(req, false).await.map(|_| ())
    }

    /// [`StateGuard::prepare`], then the snapshot of the prepared state: moto's part comes
    /// with the restore's answer (one request less per case), read apart where this moto
    /// cannot give it there.
    pub async fn prepared_snapshot(&self, req: &Request<'_>) -> Result<Snapshot, ExecError> {
        Ok(match self.prepare_reading(req, true).await? {
            Some(dump) => Snapshot::of_moto_reading(self.stack, dump).await?,
            None => Snapshot::take(self.stack).await?,
        })
    }

    async fn prepare_reading(
        &self,
        req: &Request<'_>,
        read: bool,
    ) -> Result<Option<Value>, ExecError> {
        let named = |e: StateError| match e {
            StateError::Seed { at, message } => StateError::Seed {
                at: format!("{} {at}", req.label),
                message,
            },
            StateError::Invalid { at, message } => StateError::Invalid {
                at: format!("{} {at}", req.label),
                message,
            },
        };
        let seed = match req.setup {
            Some(setup) => super::state::moto_seed(self.stack, setup, &self.fixtures_dir, req.now)
                .map_err(named)?,
            None => None,
        };
        match self.stack.restore_reading(seed.as_ref(), read).await? {
            (Restore::Done, dump) => {
                if let Some(setup) = req.setup {
                    super::state::seed_redis(self.stack, setup, req.now)
                        .await
                        .map_err(named)?;
                }
                Ok(dump)
            }
            (Restore::SeedRefused(message), _) => Err(named(StateError::Seed {
                at: String::new(),
                message,
            })
            .into()),
            (Restore::Unavailable, _) => {
                self.stack.reset().await?;
                if let Some(setup) = req.setup {
                    super::state::seed(self.stack, setup, &self.fixtures_dir, req.now)
                        .await
                        .map_err(named)?;
                }
                Ok(None)
            }
        }
    }

    /// Hold this while running requests that need state (one at a time).
    pub async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }
}

/// One answer, on prepared state when the request needs it, with what it changed in the state
/// (`None` for requests that touch no state, and for remote targets). The caller holds
/// [`StateGuard::one_at_a_time`] for stateful requests.
pub async fn answer_prepared(
    runner: &Runner<'_>,
    req: &Request<'_>,
    state: Option<&StateGuard<'_>>,
) -> Result<(Answer, Option<Value>), ExecError> {
    if req.needs_state() && !runner.is_remote() {
        let guard = state.ok_or_else(|| ExecError::NeedsStack(req.label.clone()))?;
        let t0 = std::time::Instant::now();
        let before = guard.prepared_snapshot(req).await?;
        let t2 = std::time::Instant::now();
        let answer = runner.answer(req).await?;
        let t3 = std::time::Instant::now();
        let after = Snapshot::take(guard.stack).await?;
        tracing::debug!(
            case = %req.label,
            prepare_and_snapshot_ms = (t2 - t0).as_secs_f64() * 1e3,
            answer_ms = (t3 - t2).as_secs_f64() * 1e3,
            snapshot_after_ms = t3.elapsed().as_secs_f64() * 1e3,
            "stateful case timings"
        );
        return Ok((answer, Some(Snapshot::changes(&before, &after))));
    }
    Ok((runner.answer(req).await?, None))
}

/// Two requests on one prepared state — the first side writes, the second reads what it wrote
/// (cross-reads). Both answers and what the pair changed.
pub async fn two_steps(
    req: &Request<'_>,
    first: &Runner<'_>,
    second: &Runner<'_>,
    guard: &StateGuard<'_>,
) -> Result<(Answer, Answer, Value), ExecError> {
    let before = guard.prepared_snapshot(req).await?;
    let a = first.answer(req).await?;
    let b = second.answer(req).await?;
    let after = Snapshot::take(guard.stack).await?;
    Ok((a, b, Snapshot::changes(&before, &after)))
}
