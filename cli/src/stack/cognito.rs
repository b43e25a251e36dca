//! The local stack's Cognito: moto's `cognito-idp` is the issuer. Provisioning creates the
//! user pool the functions verify against (`manuel-users-<stage>`, app client `manuel-app`),
//! the fixtures' users, and a second pool whose tokens must be refused. moto's random ids are
//! seeded before provisioning, so the pool id, the client id and every user's `sub` are the
//! same on every run and after every reset — recordings that name a user's `sub` stay valid
//! (a moto upgrade that changes its random sequence or its signing key means re-recording).
//!
//! Fixture events ask for tokens by placeholder, filled when the request is sent:
//! `{token:NAME}` (an id token of user NAME), `{token:NAME:access}`, and three that the Rust
//! side must refuse — `{token:NAME:expired}` (moto's own key, `exp` two hours ago),
//! `{token:NAME:forged}` (the same claims signed by another key under moto's `kid`) and
//! `{token:NAME:other-pool}`. `{sub:NAME}` is the user's `sub` (in events and setups).

use super::StackError;
use aws_sdk_cognitoidentityprovider as cognito;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The seed moto's random ids start from after each reset.
pub const MOTO_SEED: u64 = 20261201;
/// The fixtures' users, in every pool.
pub const USERS: [&str; 2] = ["user-1", "user-2"];
/// Their password (local only).
const PASSWORD: &str = "Manuel-local-1!";
/// A minted token is reused while it has this long to live.
const TOKEN_REUSE: Duration = Duration::from_secs(45 * 60);

/// What provisioning created (recorded in `stack.json` for attached stacks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CognitoInfo {
    pub pool_id: String,
    pub client_id: String,
    pub other_pool_id: String,
    pub other_client_id: String,
    /// user name → `sub`.
    pub subs: BTreeMap<String, String>,
}

fn fail(context: &str, e: impl std::error::Error) -> StackError {
    StackError::Aws {
        context: format!("cognito-idp {context}"),
        message: super::aws_message(&e),
    }
}

/// Make moto's next random ids the same on every run.
pub async fn seed(moto_url: &str) -> Result<(), StackError> {
    reqwest::Client::new()
        .post(format!("{moto_url}/moto-api/seed?a={MOTO_SEED}"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map(|_| ())
        .map_err(|e| StackError::Service {
            service: "moto seed".into(),
            message: e.to_string(),
        })
}

/// A pool, its app client and its users' subs.
struct PoolWithUsers {
    pool_id: String,
    client_id: String,
    subs: BTreeMap<String, String>,
}

async fn pool_with_users(c: &cognito::Client, name: &str) -> Result<PoolWithUsers, StackError> {
    use cognito::types::{ExplicitAuthFlowsType, MessageActionType};
    let pool = c
        .create_user_pool()
        .pool_name(name)
        .send()
        .await
        .map_err(|e| fail("CreateUserPool", e))?;
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .unwrap_or_default()
        .to_owned();
    let client = c
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("manuel-app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AdminNoSrpAuth)
        .send()
        .await
        .map_err(|e| fail("CreateUserPoolClient", e))?;
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .unwrap_or_default()
        .to_owned();
    let mut subs = BTreeMap::new();
    for user in USERS {
        let created = c
            .admin_create_user()
            .user_pool_id(&pool_id)
            .username(user)
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .map_err(|e| fail("AdminCreateUser", e))?;
        let sub = created
            .user()
            .map(|u| u.attributes())
            .unwrap_or_default()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .unwrap_or_default()
            .to_owned();
        c.admin_set_user_password()
            .user_pool_id(&pool_id)
            .username(user)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await
            .map_err(|e| fail("AdminSetUserPassword", e))?;
        subs.insert(user.to_owned(), sub);
    }
    Ok(PoolWithUsers {
        pool_id,
        client_id,
        subs,
    })
}

/// Create the pools, the app clients and the users (after [`seed`]).
pub async fn provision(
    conf: &aws_config::SdkConfig,
    stage: &str,
) -> Result<CognitoInfo, StackError> {
    let c = cognito::Client::new(conf);
    let main = pool_with_users(&c, &format!("manuel-users-{stage}")).await?;
    let other = pool_with_users(&c, &format!("manuel-other-{stage}")).await?;
    Ok(CognitoInfo {
        pool_id: main.pool_id,
        client_id: main.client_id,
        other_pool_id: other.pool_id,
        other_client_id: other.client_id,
        subs: main.subs,
    })
}

/// Mints the tokens fixture events ask for.
pub struct Tokens {
    client: cognito::Client,
    info: CognitoInfo,
    /// moto's signing key (`kid` `dummy`), from the installed moto package.
    moto_key: std::path::PathBuf,
    /// Tokens stay in `SecretString`s (no Debug, zeroed on drop) until written into an event.
    cache: tokio::sync::Mutex<BTreeMap<String, (SecretString, Instant)>>,
}

impl Tokens {
    /// A minter against the local stack's moto (no credential chain: the config is built here).
    pub fn new(
        moto_url: &str,
        region: &str,
        info: CognitoInfo,
        moto_key: std::path::PathBuf,
    ) -> Self {
        let conf = cognito::Config::builder()
            .behavior_version(cognito::config::BehaviorVersion::latest())
            .region(cognito::config::Region::new(region.to_owned()))
            .endpoint_url(moto_url)
            .credentials_provider(cognito::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "local-stack",
            ))
            .build();
        Self {
            client: cognito::Client::from_conf(conf),
            info,
            moto_key,
            cache: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    pub fn info(&self) -> &CognitoInfo {
        &self.info
    }

    async fn initiate(
        &self,
        pool: &str,
        client: &str,
        user: &str,
    ) -> Result<(String, String), StackError> {
        let out = self
            .client
            .admin_initiate_auth()
            .user_pool_id(pool)
            .client_id(client)
            .auth_flow(cognito::types::AuthFlowType::AdminNoSrpAuth)
            .auth_parameters("USERNAME", user)
            .auth_parameters("PASSWORD", PASSWORD)
            .send()
            .await
            .map_err(|e| fail("AdminInitiateAuth", e))?;
        let r = out.authentication_result();
        Ok((
            r.and_then(|r| r.id_token()).unwrap_or_default().to_owned(),
            r.and_then(|r| r.access_token())
                .unwrap_or_default()
                .to_owned(),
        ))
    }

    /// The token a `{token:…}` placeholder names (`spec` is what follows `token:`).
    pub async fn token(&self, spec: &str) -> Result<SecretString, StackError> {
        let mut cache = self.cache.lock().await;
        if let Some((t, at)) = cache.get(spec) {
            if at.elapsed() < TOKEN_REUSE {
                return Ok(t.clone());
            }
        }
        let (user, kind) = spec.split_once(':').unwrap_or((spec, "id"));
        if !self.info.subs.contains_key(user) {
            return Err(StackError::Io(format!(
                "{{token:{spec}}}: unknown user '{user}' (the stack's users: {})",
                USERS.join(", ")
            )));
        }
        let (pool, client) = match kind {
            "other-pool" => (&self.info.other_pool_id, &self.info.other_client_id),
            _ => (&self.info.pool_id, &self.info.client_id),
        };
        let (id, access) = self.initiate(pool, client, user).await?;
        let token = match kind {
            "id" | "other-pool" => id,
            "access" => access,
            "expired" => forge::resign(&id, &forge::moto_key(&self.moto_key)?, -7200)?,
            "forged" => forge::resign(&id, forge::stranger(), 0)?,
            other => {
                return Err(StackError::Io(format!(
                    "{{token:{spec}}}: unknown kind '{other}' (id, access, expired, forged, other-pool)"
                )))
            }
        };
        let token = SecretString::from(token);
        cache.insert(spec.to_owned(), (token.clone(), Instant::now()));
        Ok(token)
    }

    /// Fill `{token:…}` and `{sub:…}` placeholders in every string of an event.
    pub async fn fill(&self, v: &Value) -> Result<Value, StackError> {
        Ok(match v {
            Value::String(s) if s.contains("{token:") || s.contains("{sub:") => {
                Value::String(self.fill_text(s).await?)
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(Box::pin(self.fill(i)).await?);
                }
                Value::Array(out)
            }
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, x) in m {
                    out.insert(k.clone(), Box::pin(self.fill(x)).await?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    async fn fill_text(&self, s: &str) -> Result<String, StackError> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find('{') {
            let (before, after) = rest.split_at(start);
            out.push_str(before);
            let Some((name, tail)) = after[1..].split_once('}') else {
                out.push_str(after);
                return Ok(out);
            };
            if let Some(spec) = name.strip_prefix("token:") {
                out.push_str(self.token(spec).await?.expose_secret());
            } else if let Some(user) = name.strip_prefix("sub:") {
                match self.info.subs.get(user) {
                    Some(sub) => out.push_str(sub),
                    None => out.push_str(&after[..name.len() + 2]),
                }
            } else {
                out.push_str(&after[..name.len() + 2]);
            }
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Tokens the Rust side must refuse: a real token's claims moved in time or signed by a stranger.
mod forge {
    use super::*;
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::{BigUint, RsaPrivateKey};

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn unb64(text: &str) -> Result<Vec<u8>, StackError> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|e| StackError::Io(format!("token: {e}")))
    }

    /// `token`'s header and claims, times shifted by `shift` seconds, signed with `key`.
    pub fn resign(token: &str, key: &RsaPrivateKey, shift: i64) -> Result<String, StackError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
            return Err(StackError::Io("token: not a JWT".into()));
        };
        let mut claims: serde_json::Map<String, Value> =
            serde_json::from_slice(&unb64(payload)?)
                .map_err(|e| StackError::Io(format!("token claims: {e}")))?;
        for k in ["iat", "exp", "auth_time"] {
            if let Some(t) = claims.get(k).and_then(Value::as_i64) {
                claims.insert(k.into(), Value::from(t + shift));
            }
        }
        let body = serde_json::to_vec(&claims).map_err(|e| StackError::Io(e.to_string()))?;
        let signing_input = format!("{header}.{}", b64(&body));
        let signer = SigningKey::<rsa::sha2::Sha256>::new(key.clone());
        let signature = signer.sign(signing_input.as_bytes()).to_vec();
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }

    /// moto's Cognito signing key, from the installed package (`jwks-private.json.gz`: n, e, d).
    pub fn moto_key(path: &std::path::Path) -> Result<RsaPrivateKey, StackError> {
        use std::io::Read;
        let bad = |m: String| StackError::MissingTool {
            what: "moto's Cognito signing key",
            path: format!("{} ({m})", path.display()),
        };
        let gz = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .map_err(|e| bad(e.to_string()))?;
        let jwk: serde_json::Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let num = |k: &str| -> Result<BigUint, StackError> {
            let s = jwk
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("no '{k}'")))?;
            Ok(BigUint::from_bytes_be(&unb64(s)?))
        };
        RsaPrivateKey::from_components(num("n")?, num("e")?, num("d")?, Vec::new())
            .map_err(|e| bad(e.to_string()))
    }

    /// A key of our own, made once per process (what a forger would sign with).
    pub fn stranger() -> &'static RsaPrivateKey {
        static KEY: std::sync::OnceLock<RsaPrivateKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .expect("an RSA key can be generated")
        })
    }
}
