//! S3 as botocore shows it to the handler: error texts, timestamps and metadata values.

pub(crate) use manuel_shared::aws::isoformat_utc as isoformat;

pub(crate) fn s3_err<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>, op: &str) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    manuel_shared::aws::to_py(e, "s3", op).message
}

/// botocore's error for a HEAD (no body): the status code as the code, the reason phrase as
/// the message — so a missing object is `404`, never `NoSuchKey`.
pub(crate) fn head_err(
    e: &aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::head_object::HeadObjectError,
        aws_smithy_runtime_api::http::Response,
    >,
) -> String {
    if let aws_sdk_s3::error::SdkError::ServiceError(se) = e {
        let status = se.raw().status().as_u16();
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown");
        return format!(
            "An error occurred ({status}) when calling the HeadObject operation: {reason}"
        );
    }
    manuel_shared::aws::to_py(e, "s3", "HeadObject").message
}

/// A metadata header as botocore sees it: `http.client` decodes header bytes as Latin-1, so
/// UTF-8 metadata comes out as mojibake (`Küche` → `KÃ¼che`); ASCII (and S3's RFC 2047
/// encoded words) is unchanged.
pub fn as_http_client_reads(value: &str) -> String {
    value.bytes().map(char::from).collect()
}

pub(crate) fn last_segment(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_as_latin1() {
        assert_eq!(as_http_client_reads("Küche ☕"), "KÃ¼che â\u{98}\u{95}");
        assert_eq!(as_http_client_reads("plain"), "plain");
    }
}
