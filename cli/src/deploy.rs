//! Lambda control-plane steps shared by `functions publish`, `bench` (forced cold starts) and
//! `shift`: waiting for configuration updates, publishing code.

use aws_sdk_lambda::types::{Architecture, LastUpdateStatus, Runtime};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{step} {function}: {message}")]
    Aws {
        step: &'static str,
        function: String,
        message: String,
    },
    #[error("update of {0} failed: {1}")]
    UpdateFailed(String, String),
    #[error("update of {0} did not finish within {1} s")]
    Timeout(String, u64),
}

fn aws(step: &'static str, function: &str, e: impl std::error::Error) -> DeployError {
    DeployError::Aws {
        step,
        function: function.to_owned(),
        message: crate::stack::aws_message(&e),
    }
}

/// Wait until the function's last update is `Successful` (or there is none).
pub async fn wait_updated(
    client: &aws_sdk_lambda::Client,
    function: &str,
    limit: Duration,
) -> Result<(), DeployError> {
    let started = std::time::Instant::now();
    loop {
        let c = client
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| aws("get configuration of", function, e))?;
        match c.last_update_status() {
            Some(LastUpdateStatus::Successful) | None => return Ok(()),
            Some(LastUpdateStatus::Failed) => {
                return Err(DeployError::UpdateFailed(
                    function.to_owned(),
                    c.last_update_status_reason().unwrap_or("").to_owned(),
                ))
            }
            _ if started.elapsed() > limit => {
                return Err(DeployError::Timeout(function.to_owned(), limit.as_secs()))
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// What `publish` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub function: String,
    pub version: String,
    pub code_sha256: String,
}

/// Upload a `bootstrap` zip as the function's code, switch it to `provided.al2023` / `bootstrap`
/// on `arch`, and publish a version.
pub async fn publish(
    client: &aws_sdk_lambda::Client,
    function: &str,
    zip: Vec<u8>,
    arch: Architecture,
    description: &str,
) -> Result<Published, DeployError> {
    let limit = Duration::from_secs(300);
    client
        .update_function_code()
        .function_name(function)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
        .architectures(arch)
        .send()
        .await
        .map_err(|e| aws("update code of", function, e))?;
    wait_updated(client, function, limit).await?;
    client
        .update_function_configuration()
        .function_name(function)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .send()
        .await
        .map_err(|e| aws("update configuration of", function, e))?;
    wait_updated(client, function, limit).await?;
    let v = client
        .publish_version()
        .function_name(function)
        .description(description)
        .send()
        .await
        .map_err(|e| aws("publish a version of", function, e))?;
    Ok(Published {
        function: function.to_owned(),
        version: v.version().unwrap_or_default().to_owned(),
        code_sha256: v.code_sha256().unwrap_or_default().to_owned(),
    })
}
