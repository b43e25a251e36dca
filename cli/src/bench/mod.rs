//! Bench: latency under load and cold starts of both sides, memory, cost per million requests,
//! judged against the migration plan's targets.

pub mod load;
pub mod report;
pub mod tuning;

use crate::exec::runtime_api::Outcome;
use crate::exec::Pool;
use crate::fixtures::Case;
use axum::body::Bytes;
use report::ColdStats;

/// A cold-start sample could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    #[error(transparent)]
    Deploy(#[from] crate::deploy::DeployError),
    #[error(transparent)]
    Remote(#[from] crate::exec::remote::RemoteError),
    #[error("encoding the event: {0}")]
    Event(#[from] serde_json::Error),
    #[error(transparent)]
    Fixture(#[from] crate::fixtures::FixtureError),
}

impl BenchError {
    /// An AWS or local service call failed: exit code 3.
    pub fn is_service_failure(&self) -> bool {
        match self {
            BenchError::Exec(e) => e.is_service_failure(),
            BenchError::Deploy(_) | BenchError::Remote(_) => true,
            BenchError::Event(_) | BenchError::Fixture(_) => false,
        }
    }
}

/// Cold starts of a local side: a fresh process per sample, first case of the mix.
pub async fn cold_local(
    pool: &Pool<'_>,
    case: &Case,
    samples: usize,
    on_done: &dyn Fn(),
) -> Result<ColdStats, BenchError> {
    let mut stats = ColdStats::default();
    // The case as the load runs it: its environment and clock variables, its tokens filled.
    let req = case.request()?;
    let event = Bytes::from(serde_json::to_vec(&pool.fill(req.event).await?)?);
    for _ in 0..samples {
        if crate::signal::stop_requested() {
            break;
        }
        let answer = pool.invoke_cold(&req.env, event.clone()).await?;
        stats.samples += 1;
        let report = answer.report.unwrap_or_default();
        stats.peak_rss_mb = stats.peak_rss_mb.max(report.max_rss_mb);
        match (&answer.outcome, report.init_ms) {
            (Some(Outcome::Response(_)), Some(init)) => {
                stats.init_ms.push(init);
                stats.first_response_ms.push(init + report.duration_ms);
            }
            _ => stats.failures += 1,
        }
        on_done();
    }
    Ok(stats)
}

/// The environment variable `bench` flips to force a cold start of a deployed function.
pub const COLD_START_VAR: &str = "MANUEL_MIGRATE_COLD_START";

/// Cold starts of a deployed function: change a configuration variable (new execution
/// environments), wait for `LastUpdateStatus: Successful`, invoke with `LogType=Tail` and read the
/// REPORT line. The function's original environment is restored afterwards. Works on the
/// unqualified function (`$LATEST`): published versions cannot change configuration.
pub async fn cold_lambda(
    conf: &aws_config::SdkConfig,
    function: &str,
    case: &Case,
    samples: usize,
    on_done: &dyn Fn(),
) -> Result<ColdStats, BenchError> {
    use aws_sdk_lambda::types::Environment;
    let client = aws_sdk_lambda::Client::new(conf);
    let original = client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| crate::deploy::DeployError::Aws {
            step: "get configuration of",
            function: function.to_owned(),
            message: crate::stack::aws_message(&e),
        })?;
    let base_env = original
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let target = crate::exec::remote::LambdaTarget::new(conf, function, None);
    let event = Bytes::from(serde_json::to_vec(&case.fixture.event)?);
    let mut stats = ColdStats::default();
    let set_env = |vars: std::collections::HashMap<String, String>| {
        let client = client.clone();
        async move {
            client
                .update_function_configuration()
                .function_name(function)
                .environment(Environment::builder().set_variables(Some(vars)).build())
                .send()
                .await
                .map_err(|e| crate::deploy::DeployError::Aws {
                    step: "update configuration of",
                    function: function.to_owned(),
                    message: crate::stack::aws_message(&e),
                })?;
            crate::deploy::wait_updated(&client, function, std::time::Duration::from_secs(120))
                .await?;
            Ok::<(), BenchError>(())
        }
    };
    let mut result = Ok(());
    for _ in 0..samples {
        if crate::signal::stop_requested() {
            break;
        }
        let mut vars = base_env.clone();
        vars.insert(COLD_START_VAR.into(), uuid::Uuid::new_v4().to_string());
        if let Err(e) = set_env(vars).await {
            result = Err(e);
            break;
        }
        let answer = match target.invoke(event.clone()).await {
            Ok(a) => a,
            Err(e) => {
                result = Err(e.into());
                break;
            }
        };
        stats.samples += 1;
        match answer
            .report
            .as_ref()
            .and_then(|r| r.init_ms.map(|i| (i, r)))
        {
            Some((init, r)) => {
                stats.init_ms.push(init);
                stats.first_response_ms.push(init + r.duration_ms);
                stats.peak_rss_mb = stats.peak_rss_mb.max(r.max_rss_mb);
            }
            None => stats.failures += 1,
        }
        on_done();
    }
    // Put the configuration back as we found it.
    set_env(base_env).await?;
    result.map(|()| stats)
}
