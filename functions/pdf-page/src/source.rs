//! Where the PDF comes from: the handler accepts an S3 URL (virtual-hosted, regional, dashed or
//! presigned) and reads bucket and key out of it the way the Python handler does with
//! `urllib.parse.urlparse` — including its quirks (the key is not percent-decoded, a `;params`
//! tail of the last segment is dropped, a path-style URL yields the bucket `s3`).

use manuel_shared::py::PyException;

/// The `ValueError` `urlparse` (or the handler) raises.
fn value_error(message: impl Into<String>) -> PyException {
    PyException::new("ValueError", message)
}

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
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtsps", "rtspu",
    "sip", "sips", "mms", "sftp", "tel",
];

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// `_check_bracketed_host`: the text between `[` and `]` must be an IPv6 address (a scope
/// `%id` allowed) or an IPvFuture literal; an IPv4 address is refused too.
fn check_bracketed_host(host: &str) -> Result<(), PyException> {
    if let Some(rest) = host.strip_prefix('v') {
        let ok = rest.split_once('.').is_some_and(|(hex, tail)| {
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && !tail.is_empty()
        }) && !host.contains('\n');
        return if ok {
            Ok(())
        } else {
            Err(value_error("IPvFuture address is invalid"))
        };
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(value_error("An IPv4 address cannot be in brackets"));
    }
    let (addr, scope) = match host.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (host, None),
    };
    if scope != Some("") && addr.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(());
    }
    Err(value_error(format!(
        "{} does not appear to be an IPv4 or IPv6 address",
        manuel_shared::py::repr_str(host)
    )))
}

/// `_checknetloc`: a non-ASCII netloc whose NFKC form grows one of `/?#@:` is refused.
fn check_netloc(netloc: &str) -> Result<(), PyException> {
    use unicode_normalization::UnicodeNormalization;
    if netloc.is_ascii() {
        return Ok(());
    }
    let n: String = netloc
        .chars()
        .filter(|c| !matches!(c, '@' | ':' | '#' | '?'))
        .collect();
    let normalized: String = n.nfkc().collect();
    if n == normalized || !normalized.contains(['/', '?', '#', '@', ':']) {
        return Ok(());
    }
    Err(value_error(format!(
        "netloc '{netloc}' contains invalid characters under NFKC normalization"
    )))
}

/// `urlparse(url)`: `Err` is the ValueError it raises (`Invalid IPv6 URL`).
pub fn urlparse(url: &str) -> Result<Parsed, PyException> {
    let mut url: String = url
        .trim_start_matches(WHATWG_C0_CONTROL_OR_SPACE)
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut scheme = String::new();
    if let Some((head, rest)) = url.split_once(':') {
        if head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && head.chars().all(is_scheme_char)
        {
            scheme = head.to_ascii_lowercase();
            url = rest.to_owned();
        }
    }
    let mut netloc = String::new();
    if let Some(rest) = url.strip_prefix("//") {
        // The netloc runs to the first `/`, `?` or `#`.
        let mut parts = rest.splitn(2, ['/', '?', '#']);
        netloc = parts.next().unwrap_or_default().to_owned();
        let path = rest.strip_prefix(netloc.as_str()).unwrap_or_default();
        url = path.to_owned();
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return Err(value_error("Invalid IPv6 URL"));
        }
        if open {
            let inside = netloc.split_once('[').map_or("", |(_, r)| r);
            check_bracketed_host(inside.split_once(']').map_or(inside, |(h, _)| h))?;
        }
    }
    if let Some(i) = url.find('#') {
        url.truncate(i);
    }
    if let Some(i) = url.find('?') {
        url.truncate(i);
    }
    check_netloc(&netloc)?;
    if USES_PARAMS.contains(&scheme.as_str()) && url.contains(';') {
        // `;params` of the last path segment only.
        let (dir, last) = match url.rsplit_once('/') {
            Some((d, l)) => (format!("{d}/"), l.to_owned()),
            None => (String::new(), url.clone()),
        };
        if let Some((segment, _)) = last.split_once(';') {
            url = dir + segment;
        }
    }
    Ok(Parsed {
        scheme,
        netloc,
        path: url,
    })
}

/// The handler's bucket/key extraction: only hosts containing `amazonaws.com` are accepted;
/// anything else is the handler's `ValueError`.
pub fn s3_location(url: &str) -> Result<S3Location, PyException> {
    let parsed = urlparse(url)?;
    let host = parsed.netloc.as_str();
    if !host.contains("amazonaws.com") {
        return Err(value_error(format!("Unsupported URL format: {url}")));
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
pub fn validate(loc: &S3Location) -> Result<(), PyException> {
    let invalid = |message: String| PyException::new("ParamValidationError", message);
    const PLAIN: &str = r"^[a-zA-Z0-9.\-_]{1,255}$";
    const ARN: &str = r"^arn:(aws).*:(s3|s3-object-lambda):[a-z\-0-9]*:[0-9]{12}:accesspoint[/:][a-zA-Z0-9\-.]{1,63}$|^arn:(aws).*:s3-outposts:[a-z\-0-9]+:[0-9]{12}:outpost[/:][a-zA-Z0-9\-]{1,63}[/:]accesspoint[/:][a-zA-Z0-9\-]{1,63}$";
    static RES: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    let (plain, arn) = RES.get_or_init(|| {
        (
            regex::Regex::new(PLAIN).expect("bucket regex"),
            regex::Regex::new(ARN).expect("ARN regex"),
        )
    });
    if !plain.is_match(&loc.bucket) && !arn.is_match(&loc.bucket) {
        return Err(invalid(format!(
            "Parameter validation failed:\nInvalid bucket name \"{}\": Bucket name must match the regex \"{PLAIN}\" or be an ARN matching the regex \"{ARN}\"",
            loc.bucket
        )));
    }
    if loc.key.is_empty() {
        return Err(invalid(
            "Parameter validation failed:\nInvalid length for parameter Key, value: 0, valid min length: 1"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(url: &str) -> Result<(String, String), PyException> {
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
            Err(value_error("Unsupported URL format: s3://manuals/a.pdf"))
        );
        assert_eq!(
            loc("manuals.s3.amazonaws.com/a.pdf"),
            Err(value_error(
                "Unsupported URL format: manuals.s3.amazonaws.com/a.pdf"
            ))
        );
        assert_eq!(
            loc("https://[::1.amazonaws.com/a.pdf"),
            Err(value_error("Invalid IPv6 URL"))
        );
        // Python 3.11.7's messages for bracketed hosts and NFKC-unsafe hosts.
        let err = |u: &str| {
            let e = loc(u).unwrap_err();
            assert_eq!(e.kind, "ValueError", "{u}");
            e.message
        };
        assert_eq!(
            err("https://b.s3.amazonaws.com[x]/manual.pdf"),
            "'x' does not appear to be an IPv4 or IPv6 address"
        );
        assert_eq!(
            err("https://b.s3.amazonaws.com[vz.x]/m"),
            "IPvFuture address is invalid"
        );
        assert_eq!(
            err("https://b.s3.amazonaws.com[1.2.3.4]/m"),
            "An IPv4 address cannot be in brackets"
        );
        assert!(loc("https://b.s3.amazonaws.com[fe80::1%eth0]/m").is_ok());
        assert!(loc("https://b.s3.amazonaws.com[v1.x]/m").is_ok());
        assert_eq!(
            err("https://b.s3.amazonaws.com\u{2100}/manual.pdf"),
            "netloc 'b.s3.amazonaws.com\u{2100}' contains invalid characters under NFKC normalization"
        );
        assert_eq!(
            err("https://b.s3.amazonaws.com\u{ff0f}manual.pdf"),
            "netloc 'b.s3.amazonaws.com\u{ff0f}manual.pdf' contains invalid characters under NFKC normalization"
        );
        assert_eq!(loc("https://bü.s3.amazonaws.com/m.pdf"), ok("bü", "m.pdf"));
        assert_eq!(loc("rtsps://b.s3.amazonaws.com/a.pdf;x"), ok("b", "a.pdf"));
    }

    #[test]
    fn botocore_validation_messages() {
        let l = S3Location {
            bucket: "b".into(),
            key: String::new(),
        };
        assert!(validate(&l)
            .unwrap_err()
            .message
            .contains("Invalid length for parameter Key"));
        let l = S3Location {
            bucket: "user@b".into(),
            key: "k".into(),
        };
        // botocore 1.44.8's text, byte for byte.
        let e = validate(&l).unwrap_err();
        assert_eq!(e.kind, "ParamValidationError");
        assert_eq!(
            e.message,
            r#"Parameter validation failed:
Invalid bucket name "user@b": Bucket name must match the regex "^[a-zA-Z0-9.\-_]{1,255}$" or be an ARN matching the regex "^arn:(aws).*:(s3|s3-object-lambda):[a-z\-0-9]*:[0-9]{12}:accesspoint[/:][a-zA-Z0-9\-.]{1,63}$|^arn:(aws).*:s3-outposts:[a-z\-0-9]+:[0-9]{12}:outpost[/:][a-zA-Z0-9\-]{1,63}[/:]accesspoint[/:][a-zA-Z0-9\-]{1,63}$""#
        );
        let arn = |b: &str| S3Location {
            bucket: b.into(),
            key: "k".into(),
        };
        assert!(validate(&arn("arn:x")).is_err());
        assert!(validate(&arn("arn:aws:s3:eu-west-1:123456789012:accesspoint/ap1")).is_ok());
    }
}
