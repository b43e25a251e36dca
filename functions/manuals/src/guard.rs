//! The download guard: what `POST /api/manuals/download` may fetch.
//!
//! The Python handler hands any URL to `urllib.request.urlopen`: `file://` reads the function's
//! own files, `http://169.254.169.254/` or `http://10.…` reaches whatever the VPC can, and the
//! body is read whole into memory. The port fetches only `http`/`https`, only from public
//! addresses — checked on the addresses DNS gives, and the connection pinned to them so a second
//! lookup cannot rebind — follows redirects itself (each hop checked the same way, at most 10 as
//! urllib) and stops reading at a size cap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// urllib's `HTTPRedirectHandler.max_redirections`.
pub const MAX_REDIRECTS: usize = 10;

/// Why a download failed: `Refused` is the guard (a declared divergence from Python), `Python`
/// carries the exception text Python's `urlopen` would give for the same failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    Refused(String),
    Python(String),
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Exact socket addresses allowed although not public. Tests only: nothing in the function
    /// sets it from the environment.
    pub allow: Vec<SocketAddr>,
    pub timeout: Duration,
}

impl FetchConfig {
    /// `MAX_MANUAL_SIZE_MB` (the template's parameter, 50 by default; Python never reads it).
    pub fn from_env() -> Self {
        let mb = std::env::var("MAX_MANUAL_SIZE_MB")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&v| v > 0)
            .unwrap_or(50);
        Self {
            max_bytes: mb * 1024 * 1024,
            allow: Vec::new(),
            timeout: Duration::from_secs(25),
        }
    }
}

/// An IPv4 address the function must not reach: loopback, private, link-local (instance
/// metadata), carrier-grade NAT, "this network", documentation and benchmark ranges, multicast,
/// reserved and broadcast.
pub fn ipv4_forbidden(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

/// An IPv6 address the function must not reach; addresses that embed an IPv4 address
/// (mapped, compatible, NAT64, 6to4) are judged by that address.
pub fn ipv6_forbidden(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return ipv4_forbidden(v4);
    }
    let embedded_low =
        || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0) {
        return ipv4_forbidden(embedded_low());
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return ipv4_forbidden(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[..6].iter().all(|&x| x == 0) // ::a.b.c.d (deprecated IPv4-compatible)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4].iter().all(|&x| x == 0)) // discard
}

pub fn ip_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => ipv4_forbidden(v4),
        IpAddr::V6(v6) => ipv6_forbidden(v6),
    }
}

/// Check resolved addresses: all of them must be allowed (a name that resolves to one public
/// and one private address is refused: the connection could use either).
pub fn check_addrs(host: &str, addrs: &[SocketAddr], cfg: &FetchConfig) -> Result<(), FetchError> {
    if addrs.is_empty() {
        return Err(FetchError::Python(
            "<urlopen error [Errno -2] Name or service not known>".into(),
        ));
    }
    for a in addrs {
        if ip_forbidden(a.ip()) && !cfg.allow.contains(a) {
            return Err(FetchError::Refused(format!(
                "URL refused: {host} resolves to {}, which is not a public address",
                a.ip()
            )));
        }
    }
    Ok(())
}

/// urllib's `unwrap()`: `str(url).strip()`, `<…>` and a `URL:` prefix removed.
pub fn unwrap_url(url: &str) -> String {
    use manuel_shared::py::strip;
    let mut u = strip(url).to_owned();
    if let Some(inner) = u.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        u = strip(inner).to_owned();
    }
    if let Some(rest) = u.strip_prefix("URL:") {
        u = strip(rest).to_owned();
    }
    u
}

/// urllib's `_splittype`: the lowercased scheme when the URL starts with `name:`.
pub fn url_scheme(url: &str) -> Option<String> {
    let (head, _) = url.split_once(':')?;
    if head.is_empty() || head.contains('/') {
        return None;
    }
    Some(head.to_lowercase())
}

fn gai_errno(message: &str) -> String {
    for (text, errno) in [
        ("Name or service not known", -2),
        ("Temporary failure in name resolution", -3),
        ("No address associated with hostname", -5),
    ] {
        if message.contains(text) {
            return format!("<urlopen error [Errno {errno}] {text}>");
        }
    }
    format!("<urlopen error {message}>")
}

fn io_errno_text(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(code) = io.raw_os_error() {
                let text = std::io::Error::from_raw_os_error(code).to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
                return Some(format!("<urlopen error [Errno {code}] {text}>"));
            }
        }
        cur = err.source();
    }
    None
}

/// Fetch `url` (already unwrapped, scheme known) with the browser-like headers the Python
/// handler sends, under the guard.
pub async fn fetch(url: &str, cfg: &FetchConfig) -> Result<Vec<u8>, FetchError> {
    let mut current = url.to_owned();
    for _hop in 0..=MAX_REDIRECTS {
        let parsed = reqwest::Url::parse(&current).map_err(|e| {
            FetchError::Refused(format!("URL refused: cannot parse {current:?}: {e}"))
        })?;
        match parsed.scheme() {
            "http" | "https" => {}
            other => {
                return Err(FetchError::Refused(format!(
                    "URL refused: scheme {other:?} is not http or https"
                )))
            }
        }
        let port = parsed.port_or_known_default().unwrap_or(80);
        let (host_text, addrs, domain) = match parsed.host() {
            None => return Err(FetchError::Python("<urlopen error no host given>".into())),
            Some(url::Host::Ipv4(ip)) => {
                (ip.to_string(), vec![SocketAddr::new(ip.into(), port)], None)
            }
            Some(url::Host::Ipv6(ip)) => {
                (ip.to_string(), vec![SocketAddr::new(ip.into(), port)], None)
            }
            Some(url::Host::Domain(d)) => {
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((d, port))
                    .await
                    .map_err(|e| FetchError::Python(gai_errno(&e.to_string())))?
                    .collect();
                (d.to_owned(), addrs, Some(d.to_owned()))
            }
        };
        check_addrs(&host_text, &addrs, cfg)?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.timeout)
            .no_proxy();
        if let Some(d) = &domain {
            builder = builder.resolve_to_addrs(d, &addrs);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Python(format!("<urlopen error {e}>")))?;
        let resp = client
            .get(parsed.clone())
            .header(
                "User-Agent",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
            )
            .header("Accept", "application/pdf,application/octet-stream,*/*")
            .header("Accept-Language", "en-US,en;q=0.9")
            .header("Accept-Encoding", "gzip, deflate, br")
            .header("Upgrade-Insecure-Requests", "1")
            .send()
            .await
            .map_err(|e| {
                FetchError::Python(
                    io_errno_text(&e).unwrap_or_else(|| format!("<urlopen error {e}>")),
                )
            })?;
        let status = resp.status();
        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = resp.headers().get("location").and_then(|v| v.to_str().ok()) {
                let next = parsed.join(loc).map_err(|e| {
                    FetchError::Refused(format!("URL refused: bad redirect location {loc:?}: {e}"))
                })?;
                current = next.to_string();
                continue;
            }
        }
        if !status.is_success() {
            return Err(FetchError::Python(format!(
                "HTTP Error {}: {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )));
        }
        if resp.content_length().is_some_and(|n| n > cfg.max_bytes) {
            return Err(FetchError::Refused(format!(
                "body refused: larger than {} bytes",
                cfg.max_bytes
            )));
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Python(format!("<urlopen error {e}>")))?
        {
            if body.len() as u64 + chunk.len() as u64 > cfg.max_bytes {
                return Err(FetchError::Refused(format!(
                    "body refused: larger than {} bytes",
                    cfg.max_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(FetchError::Python(
        "HTTP Error 302: The HTTP server returned a redirect error that would lead to an infinite loop.\nThe last 30x error message was:\nFound".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn v4(s: &str) -> bool {
        ipv4_forbidden(s.parse().unwrap())
    }
    fn v6(s: &str) -> bool {
        ipv6_forbidden(s.parse().unwrap())
    }

    #[test]
    fn private_ipv4_ranges_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.1",
            "198.18.0.1",
            "192.0.2.5",
            "203.0.113.9",
        ] {
            assert!(v4(ip), "{ip} should be forbidden");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "52.95.110.1",
        ] {
            assert!(!v4(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4() {
        for ip in [
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(v6(ip), "{ip} should be forbidden");
        }
        for ip in [
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!v6(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn urllib_url_parsing() {
        assert_eq!(unwrap_url("  <URL: http://x/ >"), "http://x/");
        // str.strip() also strips the ASCII separators U+001C–U+001F.
        assert_eq!(
            unwrap_url("\u{1f}<\u{1c}http://x/\u{1d}>\u{1e}"),
            "http://x/"
        );
        assert_eq!(url_scheme("HTTP://a/b"), Some("http".into()));
        assert_eq!(url_scheme("not a url"), None);
        assert_eq!(url_scheme("ftp//x:1"), None);
        assert_eq!(url_scheme("file:///etc/passwd"), Some("file".into()));
    }

    fn cfg(allow: Vec<SocketAddr>) -> FetchConfig {
        FetchConfig {
            max_bytes: 64,
            allow,
            timeout: Duration::from_secs(5),
        }
    }

    /// A one-shot HTTP server answering `response` to every connection.
    fn serve(response: String) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(response.as_bytes());
            }
        });
        addr
    }

    #[tokio::test]
    async fn loopback_and_other_schemes_are_refused() {
        for url in [
            "http://127.0.0.1:1/x.pdf",
            "http://[::1]/x.pdf",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:9/x",
        ] {
            match fetch(url, &cfg(vec![])).await {
                Err(FetchError::Refused(m)) => assert!(m.contains("not a public address"), "{m}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(matches!(
            fetch("file:///etc/passwd", &cfg(vec![])).await,
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            fetch("ftp://example.com/x", &cfg(vec![])).await,
            Err(FetchError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn allowed_server_is_fetched_and_cap_applies() {
        let ok = serve(
            "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n%PDF-1.4".into(),
        );
        let body = fetch(&format!("http://{ok}/m.pdf"), &cfg(vec![ok]))
            .await
            .unwrap();
        assert_eq!(body, b"%PDF-1.4");
        let big = serve(format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}",
            "x".repeat(100)
        ));
        assert!(
            matches!(fetch(&format!("http://{big}/m.pdf"), &cfg(vec![big])).await, Err(FetchError::Refused(m)) if m.contains("larger"))
        );
        let chunked = serve(format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n64\r\n{}\r\n0\r\n\r\n", "y".repeat(100)));
        assert!(matches!(
            fetch(&format!("http://{chunked}/m.pdf"), &cfg(vec![chunked])).await,
            Err(FetchError::Refused(_))
        ));
        let missing = serve(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        );
        assert_eq!(
            fetch(&format!("http://{missing}/m.pdf"), &cfg(vec![missing])).await,
            Err(FetchError::Python("HTTP Error 404: Not Found".into()))
        );
    }

    #[tokio::test]
    async fn redirects_to_private_addresses_are_refused() {
        let target =
            serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into());
        // Allowed first hop, redirect to a server that is not allowed.
        let hop = serve(format!("HTTP/1.1 302 Found\r\nLocation: http://{target}/secret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        match fetch(&format!("http://{hop}/m.pdf"), &cfg(vec![hop])).await {
            Err(FetchError::Refused(m)) => assert!(m.contains(&target.ip().to_string()), "{m}"),
            other => panic!("{other:?}"),
        }
        let meta = serve("HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/latest/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into());
        assert!(matches!(
            fetch(&format!("http://{meta}/"), &cfg(vec![meta])).await,
            Err(FetchError::Refused(_))
        ));
        let file = serve("HTTP/1.1 307 Temporary\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into());
        assert!(matches!(
            fetch(&format!("http://{file}/"), &cfg(vec![file])).await,
            Err(FetchError::Refused(_))
        ));
        // Both hops allowed: the redirect is followed.
        let hop2 = serve(format!("HTTP/1.1 302 Found\r\nLocation: http://{target}/ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        assert_eq!(
            fetch(&format!("http://{hop2}/"), &cfg(vec![hop2, target]))
                .await
                .unwrap(),
            b"ok"
        );
    }
}
