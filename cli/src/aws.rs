//! The AWS configuration commands that talk to real AWS use: credentials and endpoints from the
//! usual sources (`AWS_*` variables, `~/.aws` profiles, and what the SDK finds on AWS compute),
//! and the region from `AWS_REGION` / `AWS_DEFAULT_REGION`, the profile, else the project's
//! `[project].region` — so a missing variable never becomes "missing signing region".

use crate::config::Project;
use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The configuration for real AWS calls.
pub async fn config(project: &Project) -> SdkConfig {
    let region = RegionProviderChain::first_try(
        aws_config::environment::region::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(aws_config::profile::ProfileFileRegionProvider::builder().build())
    .or_else(Region::new(project.config.project.region.clone()));
    aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .load()
        .await
}

/// A configuration that can build clients but never reaches the network for credentials or the
/// region (for `--dry-run`, which prints the calls it would make and makes none).
pub fn offline_config(project: &Project) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(project.config.project.region.clone()))
        .build()
}

/// The endpoint the Lambda client will use when it is this machine's (the local stack's moto):
/// `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, on `127.0.0.1` or `localhost`.
pub fn local_endpoint() -> Option<String> {
    let url = std::env::var("AWS_ENDPOINT_URL_LAMBDA")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok()?;
    let host = url
        .split("://")
        .nth(1)?
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    (host == "127.0.0.1" || host == "localhost").then_some(url)
}
