//! Rust port of Manuel's health function (`backend/src/functions/health/app.py`) *as deployed*
//! by `backend/template.yaml`.
//!
//! Deployment facts that decide the behaviour (see the README's parity table):
//! - The function has no layers, so neither the `security_*` modules nor the `redis` package are
//!   importable in Lambda. The security decorators fall back to identity, and the Redis check
//!   takes its fallback path: a plain TCP connect to `REDIS_ENDPOINT:REDIS_PORT`, reported as
//!   `"status": "unavailable"` with a `connectivity` verdict. This port does the same.
//! - Only a `GET` whose path ends in `/health` is answered; every other route (including
//!   `/health/deep` and the circuit-breaker routes the template wires to it) is a 404.

use manuel_shared::apigw::{get_or, Response, CORS_ALLOW_HEADERS};
use manuel_shared::py::{ends_with, parse_int, PyException};
use manuel_shared::runtime::{now_secs, InvokeContext};
use serde_json::{json, Map, Value};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The environment the handler reads (`os.environ.get` with Python's defaults).
#[derive(Debug, Clone, Default)]
pub struct HealthEnv {
    pub redis_endpoint: String,
    pub redis_port: String,
    pub enable_redis: String,
}

impl HealthEnv {
    pub fn from_env() -> Self {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        Self {
            redis_endpoint: var("REDIS_ENDPOINT", ""),
            redis_port: var("REDIS_PORT", "6379"),
            enable_redis: var("ENABLE_REDIS_CACHE", "false"),
        }
    }
}

/// Handle one API Gateway proxy event; returns the proxy response dict.
pub async fn handle(event: &Value, ctx: &InvokeContext, env: &HealthEnv) -> Value {
    match route(event, ctx, env).await {
        Ok(resp) => resp.to_value(),
        Err(e) => json_response(
            500,
            &json!({"status": "unhealthy", "error": e.message, "timestamp": now_secs()}),
        )
        .to_value(),
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::new(status)
        .header("Content-Type", "application/json")
        .header("Access-Control-Allow-Origin", "*")
        .json_body(body)
}

/// The body of Python's `try:` block; `Err` is the exception it would raise.
async fn route(
    event: &Value,
    ctx: &InvokeContext,
    env: &HealthEnv,
) -> Result<Response, PyException> {
    let default_method = json!("GET");
    let default_path = json!("");
    let method = get_or(event, "httpMethod", &default_method)?;
    let path = get_or(event, "path", &default_path)?;

    if method.as_str() == Some("OPTIONS") {
        return Ok(Response::new(200)
            .header("Access-Control-Allow-Origin", "*")
            .header("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
            .header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
            .text_body(""));
    }

    if method.as_str() == Some("GET") && ends_with(path, "/health")? {
        let redis_check = redis_check(env).await;
        let overall = if redis_check.get("status").and_then(Value::as_str) == Some("error") {
            "degraded"
        } else {
            "healthy"
        };
        let region = if ctx.invoked_function_arn.is_empty() {
            "unknown".to_owned()
        } else {
            ctx.arn_part(3)
                .ok_or_else(|| PyException::new("IndexError", "list index out of range"))?
                .to_owned()
        };
        let used_mb = match &ctx.memory_limit_in_mb {
            Some(m) => Value::String(m.clone()),
            None => Value::Null,
        };
        let remaining = ctx.remaining_time_in_millis() as f64 / 1000.0;
        let body = json!({
            "status": overall,
            "timestamp": now_secs(),
            "service": "manuel-backend",
            "version": "minimal-v1.0.1",
            "region": region,
            "environment": "dev",
            "checks": {
                "lambda": {"status": "healthy", "message": "Function executing normally"},
                "memory": {"status": "healthy", "used_mb": used_mb, "available_mb": 512},
                "redis_cache": Value::Object(redis_check),
            },
            "uptime_seconds": remaining,
        });
        return Ok(json_response(200, &body));
    }

    Ok(json_response(404, &json!({"error": "Endpoint not found"})))
}

/// `test_redis_connection()` on the path the deployed function takes: no `redis` package, so a
/// TCP reachability test of the configured endpoint.
pub async fn redis_check(env: &HealthEnv) -> Map<String, Value> {
    let enabled = env.enable_redis.to_lowercase() == "true";
    if !enabled || env.redis_endpoint.is_empty() {
        return obj(json!({"status": "disabled", "message": "Redis cache is not enabled"}));
    }
    let (status, message) = match tcp_probe(&env.redis_endpoint, &env.redis_port).await {
        Ok(0) => (
            "network_reachable",
            "Redis endpoint is reachable but client library not available".to_owned(),
        ),
        Ok(errno) => (
            "network_unreachable",
            format!("Cannot connect to Redis endpoint (error: {errno})"),
        ),
        Err(e) => (
            "network_error",
            format!("Network test failed: {}", e.message),
        ),
    };
    obj(json!({
        "status": "unavailable",
        "message": "Redis client library not installed",
        "endpoint": env.redis_endpoint,
        "port": env.redis_port,
        "connectivity": status,
        "connectivity_message": message,
    }))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Python's `socket.connect_ex((host, int(port)))` with a 5 s timeout: `Ok(0)` when connected,
/// `Ok(errno)` when the connect failed, `Err` where Python raises.
async fn tcp_probe(host: &str, port: &str) -> Result<i32, PyException> {
    let name_unknown = || PyException::new("gaierror", "[Errno -2] Name or service not known");
    let port = parse_int(port)?;
    let port = u16::try_from(port)
        .map_err(|_| PyException::new("OverflowError", "connect_ex(): port must be 0-65535."))?;
    let target = format!("{host}:{port}");
    let addrs: Vec<SocketAddr> = tokio::task::spawn_blocking(move || {
        target
            .to_socket_addrs()
            .map(|it| it.filter(SocketAddr::is_ipv4).collect::<Vec<_>>())
    })
    .await
    .map_err(|e| PyException::new("RuntimeError", e.to_string()))?
    .map_err(|_| name_unknown())?;
    let Some(addr) = addrs.first().copied() else {
        return Err(name_unknown());
    };
    match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(0),
        Ok(Err(e)) => Ok(e.raw_os_error().unwrap_or(EIO)),
        Err(_) => Ok(11), // EAGAIN: what connect_ex returns when the socket timeout expires
    }
}

/// errno reported when the OS gave no code (never seen on Linux; kept total).
const EIO: i32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> InvokeContext {
        InvokeContext {
            request_id: "r".into(),
            invoked_function_arn:
                "arn:aws:lambda:eu-west-1:123456789012:function:manuel-health-dev".into(),
            deadline_ms: manuel_shared::runtime::now_ms() + 45_000,
            memory_limit_in_mb: Some("256".into()),
        }
    }

    fn disabled() -> HealthEnv {
        HealthEnv {
            redis_endpoint: String::new(),
            redis_port: "6379".into(),
            enable_redis: "false".into(),
        }
    }

    fn body(resp: &Value) -> Value {
        serde_json::from_str(resp["body"].as_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn get_health_with_redis_disabled() {
        let r = handle(
            &json!({"httpMethod": "GET", "path": "/health"}),
            &ctx(),
            &disabled(),
        )
        .await;
        assert_eq!(r["statusCode"], 200);
        let b = body(&r);
        assert_eq!(b["status"], "healthy");
        assert_eq!(b["region"], "eu-west-1");
        assert_eq!(b["checks"]["memory"]["used_mb"], "256");
        assert_eq!(
            b["checks"]["redis_cache"],
            json!({"status": "disabled", "message": "Redis cache is not enabled"})
        );
        assert!(b["uptime_seconds"].as_f64().unwrap() > 44.0);
        // Python's separators and key order.
        assert!(r["body"]
            .as_str()
            .unwrap()
            .starts_with("{\"status\": \"healthy\", \"timestamp\": "));
    }

    #[tokio::test]
    async fn options_and_unknown_routes() {
        let r = handle(
            &json!({"httpMethod": "OPTIONS", "path": "/anything"}),
            &ctx(),
            &disabled(),
        )
        .await;
        assert_eq!(r["statusCode"], 200);
        assert_eq!(r["body"], "");
        assert_eq!(
            r["headers"]["Access-Control-Allow-Methods"],
            "GET,POST,OPTIONS"
        );
        for (m, p) in [
            ("GET", "/health/deep"),
            ("POST", "/health"),
            ("GET", "/health/"),
        ] {
            let r = handle(&json!({"httpMethod": m, "path": p}), &ctx(), &disabled()).await;
            assert_eq!(r["statusCode"], 404, "{m} {p}");
            assert_eq!(r["body"], "{\"error\": \"Endpoint not found\"}");
        }
    }

    #[tokio::test]
    async fn python_exceptions_become_500_with_their_text() {
        let r = handle(&json!(["x"]), &ctx(), &disabled()).await;
        assert_eq!(r["statusCode"], 500);
        assert_eq!(body(&r)["error"], "'list' object has no attribute 'get'");
        let r = handle(&json!({"path": null}), &ctx(), &disabled()).await;
        assert_eq!(
            body(&r)["error"],
            "'NoneType' object has no attribute 'endswith'"
        );
        // A non-GET never looks at the path.
        let r = handle(
            &json!({"httpMethod": "POST", "path": null}),
            &ctx(),
            &disabled(),
        )
        .await;
        assert_eq!(r["statusCode"], 404);
    }

    #[tokio::test]
    async fn redis_probe_paths() {
        let env = |port: &str| HealthEnv {
            redis_endpoint: "127.0.0.1".into(),
            redis_port: port.into(),
            enable_redis: "True".into(),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port().to_string();
        assert_eq!(
            redis_check(&env(&open)).await["connectivity"],
            "network_reachable"
        );
        drop(listener);
        let closed = redis_check(&env(&open)).await;
        assert_eq!(closed["connectivity"], "network_unreachable");
        assert_eq!(
            closed["connectivity_message"],
            "Cannot connect to Redis endpoint (error: 111)"
        );
        let bad = redis_check(&env("abc")).await;
        assert_eq!(
            bad["connectivity_message"],
            "Network test failed: invalid literal for int() with base 10: 'abc'"
        );
    }
}
