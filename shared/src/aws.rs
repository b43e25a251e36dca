//! AWS SDK errors as boto3 reports them, because Manuel's handlers branch on `type(e).__name__`
//! and on words in `str(e)`.

use crate::py::PyException;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error shapes a service model declares: boto3 raises a class of that name for them and the
/// generic `ClientError` for any other code.
pub fn modeled_exceptions(service: &str) -> &'static [&'static str] {
    match service {
        "bedrock-runtime" => &[
            "AccessDeniedException",
            "ConflictException",
            "InternalServerException",
            "ModelErrorException",
            "ModelNotReadyException",
            "ModelStreamErrorException",
            "ModelTimeoutException",
            "ResourceNotFoundException",
            "ServiceQuotaExceededException",
            "ServiceUnavailableException",
            "ThrottlingException",
            "ValidationException",
        ],
        "bedrock-agent-runtime" => &[
            "AccessDeniedException",
            "BadGatewayException",
            "ConflictException",
            "DependencyFailedException",
            "InternalServerException",
            "ModelNotReadyException",
            "ResourceNotFoundException",
            "ServiceQuotaExceededException",
            "ThrottlingException",
            "ValidationException",
        ],
        "bedrock-agent" => &[
            "AccessDeniedException",
            "ConflictException",
            "InternalServerException",
            "ResourceNotFoundException",
            "ServiceQuotaExceededException",
            "ThrottlingException",
            "ValidationException",
        ],
        "transcribe" => &[
            "BadRequestException",
            "ConflictException",
            "InternalFailureException",
            "LimitExceededException",
            "NotFoundException",
        ],
        "dynamodb" => &[
            "ConditionalCheckFailedException",
            "InternalServerError",
            "ItemCollectionSizeLimitExceededException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "ResourceNotFoundException",
            "TransactionConflictException",
        ],
        "s3" => &["NoSuchBucket", "NoSuchKey", "NoSuchUpload"],
        _ => &[],
    }
}

/// What boto3 raises for a failed call: a service error becomes `ClientError` (or its modeled
/// subclass) with botocore's message, anything else (connection, timeout) a botocore
/// exception.
pub fn to_py<E, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    service: &str,
    operation: &str,
) -> PyException
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            let message = e.message().unwrap_or("Unknown");
            let kind = if modeled_exceptions(service).contains(&code.as_str()) {
                code.clone()
            } else {
                "ClientError".to_owned()
            };
            PyException::new(
                kind,
                format!(
                    "An error occurred ({code}) when calling the {operation} operation: {message}"
                ),
            )
        }
        SdkError::TimeoutError(_) => PyException::new(
            "ReadTimeoutError",
            format!("Read timeout on endpoint URL during {operation}"),
        ),
        SdkError::DispatchFailure(d) => PyException::new(
            "EndpointConnectionError",
            format!("Could not connect to the endpoint URL: {d:?}"),
        ),
        other => PyException::new("BotoCoreError", format!("{operation}: {other}")),
    }
}

/// `datetime.isoformat()` of a timestamp botocore parsed (an aware UTC time, or local time on
/// a UTC host): microseconds only when there are some (truncated from the SDK's nanoseconds),
/// then `+00:00`.
pub fn isoformat_utc(t: &aws_smithy_types::DateTime) -> String {
    let micros = t.subsec_nanos() / 1000;
    let Some(dt) = chrono::DateTime::from_timestamp(t.secs(), micros * 1000) else {
        return t.to_string();
    };
    if micros == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// A client configuration for the function's environment: credentials, region and
/// `AWS_ENDPOINT_URL[_SERVICE]` from the environment, as boto3 reads them.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A configuration with every endpoint at `endpoint`, static credentials and no retries: what
/// tests use to point a function at a local server, or at a closed port to play an outage.
pub async fn config_for_endpoint(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "static");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// An S3 client that uses path-style addresses when an endpoint override is an IP or
/// `localhost` (what botocore does; virtual-host style cannot resolve there).
pub fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_default();
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split([':', '/'])
        .next()
        .unwrap_or("");
    let path_style =
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    )
}
