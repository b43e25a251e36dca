//! The query cache in Redis, as Manuel's query function uses it: one key per user and question
//! (`query:{user_id}:{sha256(question)[:16]}`), the response JSON plus `cached_at`/`cache_ttl`,
//! stored with SETEX for an hour. Redis is optional: disabled, misconfigured or unreachable
//! means "no cache" and the request goes on, as in Python.

use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// `query:{user_id}:{first 16 hex digits of sha256(question)}`.
pub fn cache_key(question: &str, user_id: &str) -> String {
    let digest = hex::encode(Sha256::digest(question.as_bytes()));
    format!("query:{user_id}:{}", &digest[..16])
}

/// Seconds an answer stays cached.
pub const TTL_SECS: u64 = 3600;

/// Configuration as the handler reads it (`ENABLE_REDIS_CACHE`, `REDIS_ENDPOINT`,
/// `REDIS_PORT`) and the connection, made on first use and kept across invocations.
pub struct QueryCache {
    target: Option<(String, String)>,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl QueryCache {
    pub fn from_env() -> Self {
        let enabled = std::env::var("ENABLE_REDIS_CACHE")
            .unwrap_or_else(|_| "false".into())
            .to_lowercase()
            == "true";
        let endpoint = std::env::var("REDIS_ENDPOINT").unwrap_or_default();
        let port = std::env::var("REDIS_PORT").unwrap_or_else(|_| "6379".into());
        Self {
            target: (enabled && !endpoint.is_empty()).then_some((endpoint, port)),
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// A live connection, or `None` (disabled, bad port, unreachable, PING failed) — Python's
    /// `get_cache_client()`, which connects and pings on every request. The manager is kept
    /// between invocations; a PING still runs each time, so an outage is noticed at once.
    pub async fn client(&self) -> Option<ConnectionManager> {
        let (host, port) = self.target.as_ref()?;
        let port: u16 = match crate::py::parse_int(port) {
            Ok(p) if (0..=65535).contains(&p) => p as u16,
            _ => {
                tracing::info!("Redis connection failed: invalid port {port:?}");
                return None;
            }
        };
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            let info = format!("redis://{host}:{port}/");
            let client = redis::Client::open(info).ok()?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(5)))
                .set_response_timeout(Some(Duration::from_secs(5)))
                .set_number_of_retries(0);
            match ConnectionManager::new_with_config(client, config).await {
                Ok(c) => *guard = Some(c),
                Err(e) => {
                    tracing::info!("Redis connection failed: {e}");
                    return None;
                }
            }
        }
        let mut conn = guard.clone()?;
        match redis::cmd("PING").query_async::<String>(&mut conn).await {
            Ok(_) => Some(conn),
            Err(e) => {
                tracing::info!("Redis connection failed: {e}");
                *guard = None;
                None
            }
        }
    }
}

/// `GET key`; errors are logged and read as a miss.
pub async fn get(conn: &mut ConnectionManager, key: &str) -> Option<String> {
    match redis::cmd("GET")
        .arg(key)
        .query_async::<Option<String>>(conn)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::info!("Cache read error: {e}");
            None
        }
    }
}

/// `SETEX key ttl value`; `false` on error, as Python's `cache_response`.
pub async fn setex(conn: &mut ConnectionManager, key: &str, ttl: u64, value: &str) -> bool {
    match redis::cmd("SETEX")
        .arg(key)
        .arg(ttl)
        .arg(value)
        .query_async::<()>(conn)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::info!("Cache write error: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_is_user_and_question_hash() {
        // sha256("hello") = 2cf24dba5fb0a30e26e83b2ac5b9e29e...
        assert_eq!(super::cache_key("hello", "u1"), "query:u1:2cf24dba5fb0a30e");
    }
}
