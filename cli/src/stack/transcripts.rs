//! The transcript proxy: how a local Transcribe job's transcript reaches the handlers.
//!
//! moto completes a transcription job but writes no transcript: its `TranscriptFileUri` points
//! at `https://s3.<region>.amazonaws.com/aws-transcribe-<region>-prod/<account>/<job>/<uuid>/
//! asrOutput.json`, which the handlers (urllib in Python, reqwest in Rust) fetch over the
//! internet. Neither handler's code is changed to run that path locally; instead the stack
//! gives both sides the standard variables every HTTP client honours:
//!
//! - `HTTPS_PROXY` (and `https_proxy`) pointing at this service, `NO_PROXY` for 127.0.0.1 and
//!   localhost, so that the AWS SDKs still talk to moto directly;
//! - `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE` and `AWS_CA_BUNDLE` naming the stack's own CA (made
//!   by [`create_ca`] when the stack starts, thrown away with it).
//!
//! The service answers `CONNECT` for S3 hosts on amazonaws.com only, terminates TLS there with a
//! certificate for that host signed by the CA, and answers the transcript request itself: it
//! asks moto for the job (`GetTranscriptionJob`), reads the job's audio from moto's S3, and
//! serves `parity-fixtures/transcripts/<sha256 of the audio>.json` as `application/json` —
//! the output Amazon Transcribe would have written for that recording. Audio without a
//! transcript file, or any other path, answers S3's 404 `NoSuchKey` (the log names the hash to
//! add). Every other host is refused (403): a local stack never reaches the internet.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    #[error("local CA: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The file name of the stack's CA certificate in its run folder.
pub const CA_CERT: &str = "local-ca.pem";

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "manuel-migrate local stack CA");
    dn.push(DnType::OrganizationName, "manuel-migrate");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

/// Make the stack's CA: its certificate is written to `cert_path` (what the functions trust);
/// its key stays in the proxy's memory and dies with it.
pub fn create_ca(cert_path: &Path) -> Result<Issuer<'static, KeyPair>, TranscriptError> {
    let key = KeyPair::generate()?;
    let params = ca_params()?;
    let cert = params.self_signed(&key)?;
    crate::fsutil::write_atomic(cert_path, cert.pem().as_bytes())
        .map_err(|e| TranscriptError::Io(cert_path.display().to_string(), e))?;
    Ok(Issuer::new(params, key))
}

/// Does the proxy terminate TLS for this host? S3 on amazonaws.com only (the transcript URL's
/// host; the handlers' own check is the same: the host ends with .amazonaws.com and holds "s3").
pub fn intercepts(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host.ends_with(".amazonaws.com") && host.contains("s3")
}

/// The transcription job a transcript path belongs to: `/<service bucket>/<account>/<job>/
/// <uuid>/asrOutput.json` (no output bucket) or `/<bucket>/<job>.json` (with one).
pub fn job_of_path(path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let parts: Vec<&str> = decoded.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [_, _, job, _, "asrOutput.json"] if !job.is_empty() => Some((*job).to_owned()),
        [_, file] => file
            .strip_suffix(".json")
            .filter(|j| !j.is_empty())
            .map(str::to_owned),
        _ => None,
    }
}

/// `s3://bucket/key` → (bucket, key).
pub fn split_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

struct State {
    issuer: Issuer<'static, KeyPair>,
    /// TLS configurations per host, made on first use.
    configs: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
    transcripts: PathBuf,
    s3: aws_sdk_s3::Client,
    transcribe: aws_sdk_transcribe::Client,
}

impl State {
    fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, TranscriptError> {
        let mut configs = self.configs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = configs.get(host) {
            return Ok(c.clone());
        }
        let mut params = CertificateParams::new(vec![host.to_owned()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, host.to_owned());
        params.is_ca = IsCa::NoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|e| TranscriptError::Tls(rustls::Error::General(e.to_string())))?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        configs.insert(host.to_owned(), config.clone());
        Ok(config)
    }

    /// The transcript for a request path, or the reason there is none.
    async fn transcript(&self, path: &str) -> Result<Vec<u8>, String> {
        let job = job_of_path(path).ok_or_else(|| format!("{path}: not a transcript path"))?;
        let out = self
            .transcribe
            .get_transcription_job()
            .transcription_job_name(&job)
            .send()
            .await
            .map_err(|e| format!("GetTranscriptionJob {job}: {}", super::aws_message(&e)))?;
        let uri = out
            .transcription_job()
            .and_then(|j| j.media())
            .and_then(|m| m.media_file_uri())
            .ok_or_else(|| format!("job {job} has no MediaFileUri"))?;
        let (bucket, key) =
            split_s3_uri(uri).ok_or_else(|| format!("job {job}: media {uri} is not s3://"))?;
        let audio = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("GetObject {uri}: {}", super::aws_message(&e)))?
            .body
            .collect()
            .await
            .map_err(|e| format!("GetObject {uri}: {e}"))?
            .into_bytes();
        let sha = hex::encode(Sha256::digest(&audio));
        let file = self.transcripts.join(format!("{sha}.json"));
        std::fs::read(&file).map_err(|e| {
            format!(
                "job {job}: no transcript for its audio {uri} (sha256 {sha}): {}: {e}",
                file.display()
            )
        })
    }
}

type Body = Full<Bytes>;

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(Full::new(body.into()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn no_such_key(path: &str) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>{}</Key></Error>",
        path.replace('&', "&amp;").replace('<', "&lt;")
    );
    text(StatusCode::NOT_FOUND, "application/xml", body)
}

/// A request inside an intercepted TLS connection: the transcript, or S3's 404.
async fn inner(state: Arc<State>, host: String, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    match state.transcript(&path).await {
        Ok(json) => {
            println!(
                "{} https://{host}{path}: 200 ({} bytes)",
                req.method(),
                json.len()
            );
            text(StatusCode::OK, "application/json", json)
        }
        Err(why) => {
            println!(
                "{} https://{host}{path}: 404 NoSuchKey — {why}",
                req.method()
            );
            no_such_key(&path)
        }
    }
}

/// A request to the proxy itself: CONNECT to an S3 host, or the health check.
async fn outer(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    if req.method() == Method::GET && req.uri().path() == "/__transcripts/health" {
        return text(StatusCode::OK, "text/plain", "ok");
    }
    let authority = req.uri().authority().map(|a| a.to_string());
    let host = req.uri().host().unwrap_or("").to_owned();
    if req.method() != Method::CONNECT || !intercepts(&host) {
        println!(
            "{} {}: 403 (the local stack serves only S3 transcripts)",
            req.method(),
            authority.as_deref().unwrap_or("-")
        );
        return text(
            StatusCode::FORBIDDEN,
            "text/plain",
            format!(
                "manuel-migrate local stack: {} is not reachable from here (only S3 transcripts are served)\n",
                authority.as_deref().unwrap_or("this address")
            ),
        );
    }
    let config = match state.server_config(&host) {
        Ok(c) => c,
        Err(e) => {
            println!("CONNECT {host}: 502 ({e})");
            return text(StatusCode::BAD_GATEWAY, "text/plain", e.to_string());
        }
    };
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(e) => return println!("CONNECT {host}: upgrade failed: {e}"),
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let tls = match acceptor.accept(TokioIo::new(upgraded)).await {
            Ok(t) => t,
            Err(e) => return println!("CONNECT {host}: TLS handshake failed: {e}"),
        };
        let service = hyper::service::service_fn(move |r| {
            let (state, host) = (state.clone(), host.clone());
            async move { Ok::<_, std::convert::Infallible>(inner(state, host, r).await) }
        });
        if let Err(e) = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tls), service)
            .await
        {
            println!("TLS connection: {e}");
        }
    });
    Response::new(Full::new(Bytes::new()))
}

/// Run the proxy on 127.0.0.1:`port` until killed, after writing the CA's certificate to
/// `ca_out` (so a listening proxy means the certificate is there).
pub async fn serve(
    port: u16,
    ca_out: &Path,
    transcripts: &Path,
    moto_url: &str,
    region: &str,
) -> Result<(), TranscriptError> {
    let issuer = create_ca(ca_out)?;
    let creds =
        aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "local-stack");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(moto_url)
        .credentials_provider(creds)
        .load()
        .await;
    let state = Arc::new(State {
        issuer,
        configs: Mutex::new(HashMap::new()),
        transcripts: transcripts.to_path_buf(),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        ),
        transcribe: aws_sdk_transcribe::Client::new(&conf),
    });
    let at = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| TranscriptError::Io(at.clone(), e))?;
    println!(
        "transcript proxy on {at}: transcripts from {}, jobs and audio from {moto_url}",
        transcripts.display()
    );
    loop {
        let (tcp, _) = listener
            .accept()
            .await
            .map_err(|e| TranscriptError::Io(at.clone(), e))?;
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |r| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(outer(state, r).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades()
                .await
            {
                println!("proxy connection: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_paths_name_their_job() {
        assert_eq!(
            job_of_path("/aws-transcribe-eu-west-1-prod/123456789012/manuel-transcription-ab12/0f1e/asrOutput.json")
                .as_deref(),
            Some("manuel-transcription-ab12")
        );
        assert_eq!(
            job_of_path("/out-bucket/transcribe-1.json").as_deref(),
            Some("transcribe-1")
        );
        assert_eq!(job_of_path("/out-bucket/.json"), None);
        assert_eq!(job_of_path("/a/b/c/d/other.json"), None);
        assert_eq!(job_of_path("/"), None);
    }

    #[test]
    fn only_s3_on_amazonaws_is_intercepted() {
        assert!(intercepts("s3.eu-west-1.amazonaws.com"));
        assert!(intercepts("bucket.S3.amazonaws.com"));
        assert!(!intercepts("transcribe.eu-west-1.amazonaws.com"));
        assert!(!intercepts("s3.example.com"));
        assert!(!intercepts("amazonaws.com.s3.evil"));
    }

    #[test]
    fn s3_uris_split() {
        assert_eq!(split_s3_uri("s3://b/k/x.wav"), Some(("b", "k/x.wav")));
        assert_eq!(split_s3_uri("s3://b/"), None);
        assert_eq!(split_s3_uri("https://b/k"), None);
    }

    #[test]
    fn the_ca_signs_host_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join(CA_CERT);
        let issuer = create_ca(&cert).unwrap();
        let pem = std::fs::read_to_string(&cert).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        // Only the certificate is written: the key never reaches the disk.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut p = CertificateParams::new(vec!["s3.eu-west-1.amazonaws.com".into()]).unwrap();
        p.use_authority_key_identifier_extension = true;
        let leaf = p.signed_by(&KeyPair::generate().unwrap(), &issuer).unwrap();
        // rustls' own verifier accepts the leaf for the host with only the stack CA as root.
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        let ca_der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        roots.add(ca_der).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        use rustls::client::danger::ServerCertVerifier;
        let name = rustls::pki_types::ServerName::try_from("s3.eu-west-1.amazonaws.com").unwrap();
        verifier
            .verify_server_cert(
                leaf.der(),
                &[],
                &name,
                &[],
                rustls::pki_types::UnixTime::now(),
            )
            .unwrap();
        let other = rustls::pki_types::ServerName::try_from("s3.example.com").unwrap();
        assert!(verifier
            .verify_server_cert(
                leaf.der(),
                &[],
                &other,
                &[],
                rustls::pki_types::UnixTime::now()
            )
            .is_err());
    }
}
