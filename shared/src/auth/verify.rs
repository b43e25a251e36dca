//! Verifying Cognito tokens: RS256 against the user pool's JWKS (`{issuer}/.well-known/jwks.json`,
//! fetched once per process, fetched again for an unknown `kid` at most every few seconds, at
//! most [`MAX_KEYS`] keys kept), then `iss` (the configured pool), `exp`/`nbf`/`iat` with
//! [`LEEWAY`], `token_use` (`id` or `access`) and the app client (`aud` of an id token,
//! `client_id` of an access token). Tokens only ever live in [`SecretString`]s: their `Debug` is
//! redacted, so neither a log line nor a report can show one.

use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// Keys kept from a JWKS (Cognito publishes two).
pub const MAX_KEYS: usize = 16;
/// An unknown `kid` refetches the JWKS, but not more often than this (a flood of forged `kid`s
/// must not become a flood of requests).
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

/// Which user pool and app clients tokens must come from.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`: the `iss` of its tokens.
    pub issuer: String,
    /// Where its JWKS is read (the issuer's, or the local stack's moto for the same pool).
    pub jwks_url: String,
    /// App client ids whose tokens are accepted.
    pub client_ids: Vec<String>,
}

impl PoolConfig {
    /// The pool `pool_id` (its region is the id's prefix), its JWKS on `endpoint` when given
    /// (moto serves `/<pool id>/.well-known/jwks.json`), else on Cognito.
    pub fn new(pool_id: &str, client_ids: Vec<String>, endpoint: Option<&str>) -> Self {
        let region = pool_id.split('_').next().unwrap_or_default();
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
        let jwks_url = match endpoint {
            Some(e) => format!(
                "{}/{pool_id}/.well-known/jwks.json",
                e.trim_end_matches('/')
            ),
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        Self {
            issuer,
            jwks_url,
            client_ids,
        }
    }

    /// From `COGNITO_USER_POOL_ID` and `COGNITO_CLIENT_IDS` (comma-separated); the JWKS from
    /// `AWS_ENDPOINT_URL_COGNITO_IDP` / `AWS_ENDPOINT_URL` when set (the local stack), else
    /// Cognito. `None` without a pool id.
    pub fn from_env() -> Option<Self> {
        let pool = std::env::var("COGNITO_USER_POOL_ID")
            .ok()
            .filter(|p| !p.trim().is_empty())?;
        let clients = std::env::var("COGNITO_CLIENT_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let endpoint = std::env::var("AWS_ENDPOINT_URL_COGNITO_IDP")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok();
        Some(Self::new(pool.trim(), clients, endpoint.as_deref()))
    }
}

/// `token_use` of a Cognito token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    Id,
    Access,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub token_use: TokenUse,
    /// `cognito:username` (id token) or `username` (access token).
    pub username: Option<String>,
    /// Every claim, as in the token.
    pub all: Map<String, Value>,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("token signed by a key the user pool does not publish")]
    UnknownKey,
    #[error("invalid token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token of another issuer")]
    WrongIssuer,
    #[error("token of another app client")]
    WrongClient,
    #[error("token_use is neither id nor access")]
    WrongTokenUse,
    #[error("the user pool's keys cannot be read: {0}")]
    Jwks(String),
}

struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// A verifier for one pool; keep one per process (it caches the keys).
pub struct Verifier {
    cfg: PoolConfig,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Verifier {
    pub fn new(cfg: PoolConfig) -> Self {
        Self {
            cfg,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            cache: tokio::sync::Mutex::new(KeyCache {
                keys: HashMap::new(),
                fetched_at: None,
            }),
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, AuthError> {
        let jwks = |e: reqwest::Error| AuthError::Jwks(format!("{}: {e}", self.cfg.jwks_url));
        let set: JwkSet = self
            .http
            .get(&self.cfg.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(jwks)?
            .json()
            .await
            .map_err(jwks)?;
        Ok(set
            .keys
            .iter()
            .filter_map(|k| Some((k.common.key_id.clone()?, DecodingKey::from_jwk(k).ok()?)))
            .take(MAX_KEYS)
            .collect())
    }

    /// The key `kid`, from the cache or a fresh JWKS.
    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(k) = cache.keys.get(kid) {
            return Ok(k.clone());
        }
        if cache
            .fetched_at
            .is_some_and(|t| t.elapsed() < REFETCH_INTERVAL)
        {
            return Err(AuthError::UnknownKey);
        }
        let keys = self.fetch().await?;
        cache.keys = keys;
        cache.fetched_at = Some(Instant::now());
        cache.keys.get(kid).cloned().ok_or(AuthError::UnknownKey)
    }

    /// Verify a token (without its `Bearer ` prefix).
    pub async fn verify_token(&self, token: &SecretString) -> Result<Claims, AuthError> {
        let text = token.expose_secret();
        let header = decode_header(text).map_err(|e| AuthError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Malformed(format!(
                "algorithm {:?}, not RS256",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Malformed("no kid".into()))?;
        let key = self.key(&kid).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = LEEWAY.as_secs();
        v.validate_nbf = true;
        v.validate_aud = false; // id tokens carry `aud`, access tokens `client_id`: checked below
        v.set_issuer(&[&self.cfg.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = decode::<Map<String, Value>>(text, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => AuthError::Expired,
                K::ImmatureSignature => AuthError::NotYetValid,
                K::InvalidIssuer => AuthError::WrongIssuer,
                K::InvalidSignature => AuthError::BadSignature,
                _ => AuthError::Malformed(e.to_string()),
            }
        })?;
        let all = data.claims;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if all
            .get("iat")
            .and_then(Value::as_u64)
            .is_some_and(|iat| iat > now + LEEWAY.as_secs())
        {
            return Err(AuthError::NotYetValid);
        }
        let text_claim = |k: &str| all.get(k).and_then(Value::as_str).map(str::to_owned);
        let (token_use, client) = match all.get("token_use").and_then(Value::as_str) {
            Some("id") => (TokenUse::Id, text_claim("aud")),
            Some("access") => (TokenUse::Access, text_claim("client_id")),
            _ => return Err(AuthError::WrongTokenUse),
        };
        if !client.is_some_and(|c| self.cfg.client_ids.contains(&c)) {
            return Err(AuthError::WrongClient);
        }
        let sub = text_claim("sub").ok_or_else(|| AuthError::Malformed("no sub".into()))?;
        let username = match token_use {
            TokenUse::Id => text_claim("cognito:username"),
            TokenUse::Access => text_claim("username"),
        };
        Ok(Claims {
            sub,
            token_use,
            username,
            all,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` value.
pub fn bearer(header: &str) -> Option<SecretString> {
    header
        .strip_prefix("Bearer ")
        .map(|t| SecretString::from(t.trim().to_owned()))
}
