//! Where the PDF comes from: the handler accepts an S3 URL (virtual-hosted, regional, dashed or
//! presigned) and reads bucket and key out of it the way the Python handler does with
//! `urllib.parse.urlparse` — including its quirks (the key is not percent-decoded, a `;params`
//! tail of the last segment is dropped, a path-style URL yields the bucket `s3`).

/// Bucket and key of an S3 URL, or the `ValueError` text Python raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

/// The parts of `urllib.parse.urlparse` (Python 3.11) the handler uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
}

const WHATWG_C0_CONTROL_OR_SPACE: &[char] = &[
    '\x00', '\x01', '\x02', '\x03', '\x04', '\x05', '\x06', '\x07', '\x08', '\t', '\n', '\x0b',
    '\x0c', '\r', '\x0e', '\x0f', '\x10', '\x11', '\x12', '\x13', '\x14', '\x15', '\x16', '\x17',
    '\x18', '\x19', '\x1a', '\x1b', '\x1c', '\x1d', '\x1e', '\x1f', ' ',
];

/// Schemes for which `urlparse` splits `;params` off the last path segment (`uses_params`).
const USES_PARAMS: &[&str] = &[
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtspu", "sip", "sips",
    "mms", "sftp", "tel",
];

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// `urlparse(url)`: `Err` carries the ValueError message (`Invalid IPv6 URL`).
pub fn urlparse(url: &str) -> Result<Parsed, String> {
    let mut url: String = url
        .trim_start_matches(WHATWG_C0_CONTROL_OR_SPACE)
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut scheme = String::new();
    if let Some(i) = url.find(':') {
        let head = &url[..i];
        if i > 0
            && head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && head.chars().all(is_scheme_char)
        {
            scheme = head.to_ascii_lowercase();
            url = url[i + 1..].to_owned();
        }
    }
    let mut netloc = String::new();
    if let Some(rest) = url.strip_prefix("//") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        netloc = rest[..end].to_owned();
        url = rest[end..].to_owned();
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return Err("Invalid IPv6 URL".into());
        }
    }
    if let Some(i) = url.find('#') {
        url.truncate(i);
    }
    if let Some(i) = url.find('?') {
        url.truncate(i);
    }
    if USES_PARAMS.contains(&scheme.as_str()) && url.contains(';') {
        let cut = match url.rfind('/') {
            Some(slash) => url[slash..].find(';').map(|j| slash + j),
            None => url.find(';'),
        };
        if let Some(i) = cut {
            url.truncate(i);
        }
    }
    Ok(Parsed {
        scheme,
        netloc,
        path: url,
    })
}

/// The handler's bucket/key extraction: only hosts containing `amazonaws.com` are accepted.
pub fn s3_location(url: &str) -> Result<S3Location, String> {
    let parsed = urlparse(url)?;
    let host = parsed.netloc.as_str();
    if !host.contains("amazonaws.com") {
        return Err(format!("Unsupported URL format: {url}"));
    }
    let bucket = if let Some((b, _)) = host.split_once(".s3.") {
        b
    } else if let Some((b, _)) = host.split_once(".s3-") {
        b
    } else {
        host.split('.').next().unwrap_or("")
    };
    Ok(S3Location {
        bucket: bucket.to_owned(),
        key: parsed.path.trim_start_matches('/').to_owned(),
    })
}

/// botocore's parameter validation for `GetObject(Bucket, Key)`: the message of the
/// `ParamValidationError` it raises before sending anything, if any.
pub fn validate(loc: &S3Location) -> Result<(), String> {
    let bucket_ok = !loc.bucket.is_empty()
        && loc.bucket.chars().count() <= 255
        && loc
            .bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !bucket_ok && !loc.bucket.starts_with("arn:") {
        return Err(format!(
            "Parameter validation failed:\nInvalid bucket name \"{}\": Bucket name must match the regex \"^[a-zA-Z0-9.\\-_]{{1,255}}$\" or be an ARN matching the regex \"^arn:(aws).*:(s3|s3-object-lambda):[a-z\\-0-9]*:[0-9]{{12}}:accesspoint[/:][a-zA-Z0-9\\-.]{{1,50}}$|^arn:(aws).*:s3-outposts:[a-z\\-0-9]+:[0-9]{{12}}:outpost[/:][a-zA-Z0-9\\-]{{1,63}}[/:]accesspoint[/:][a-zA-Z0-9\\-]{{1,63}}$\"",
            loc.bucket
        ));
    }
    if loc.key.is_empty() {
        return Err(
            "Parameter validation failed:\nInvalid length for parameter Key, value: 0, valid min length: 1"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(url: &str) -> Result<(String, String), String> {
        s3_location(url).map(|l| (l.bucket, l.key))
    }

    #[test]
    fn bucket_and_key_as_the_handler_reads_them() {
        let ok = |b: &str, k: &str| Ok((b.to_owned(), k.to_owned()));
        assert_eq!(
            loc("https://manuals.s3.amazonaws.com/manuals/u/a.pdf"),
            ok("manuals", "manuals/u/a.pdf")
        );
        assert_eq!(
            loc("https://manuals.s3.eu-west-1.amazonaws.com/m/a%20b.pdf?X-Amz-Signature=1#x"),
            ok("manuals", "m/a%20b.pdf")
        );
        assert_eq!(
            loc("https://manuals.s3-eu-west-1.amazonaws.com/a.pdf"),
            ok("manuals", "a.pdf")
        );
        // Path style: the first label is "s3".
        assert_eq!(
            loc("https://s3.amazonaws.com/manuals/a.pdf"),
            ok("s3", "manuals/a.pdf")
        );
        // ;params of the last segment are split off by urlparse.
        assert_eq!(
            loc("HTTPS://b.s3.amazonaws.com/x;y/a.pdf;v=1"),
            ok("b", "x;y/a.pdf")
        );
        assert_eq!(
            loc("  https://b.s3.amazonaws.com/a\t.pdf"),
            ok("b", "a.pdf")
        );
        assert_eq!(
            loc("s3://manuals/a.pdf"),
            Err("Unsupported URL format: s3://manuals/a.pdf".into())
        );
        assert_eq!(
            loc("manuals.s3.amazonaws.com/a.pdf"),
            Err("Unsupported URL format: manuals.s3.amazonaws.com/a.pdf".into())
        );
        assert_eq!(
            loc("https://[::1.amazonaws.com/a.pdf"),
            Err("Invalid IPv6 URL".into())
        );
    }

    #[test]
    fn botocore_validation_messages() {
        let l = S3Location {
            bucket: "b".into(),
            key: String::new(),
        };
        assert!(validate(&l)
            .unwrap_err()
            .contains("Invalid length for parameter Key"));
        let l = S3Location {
            bucket: "user@b".into(),
            key: "k".into(),
        };
        assert!(validate(&l)
            .unwrap_err()
            .starts_with("Parameter validation failed:\nInvalid bucket name \"user@b\""));
    }
}
