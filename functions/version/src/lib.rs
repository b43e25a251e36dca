//! Rust port of Manuel's version function (`backend/src/functions/version/app.py`) *as
//! intended*: deployed, the folder lacks `api_versioning`, `logger` and `utils` (they live in
//! `backend/src/shared`, which the function does not ship), so every call fails to import. The
//! reference is the handler run with the shared folder on its path (`oracle = "intended"`).
//!
//! What it answers: `GET …/version`, `…/version/compatibility` and `…/version/changelog`, each a
//! static document shaped by the requested API version (Accept vendor type, `API-Version`
//! header, `version`/`api_version` query parameter, `/vX.Y/` path prefix; see
//! [`negotiation`]), with the version headers on every answer. Anything the handler's `try`
//! block raises is its 500 "Version API failed" (as version 1.1).

pub mod documents;
pub mod negotiation;

use manuel_shared::apigw::{legacy_cors_response, Response};
use manuel_shared::py::PyException;
use negotiation::{ApiVersion, CURRENT, SUPPORTED};
use serde_json::{json, Map, Value};

/// The environment the handler reads (`os.environ.get` with its defaults).
#[derive(Debug, Clone)]
pub struct VersionEnv {
    pub stage: String,
    pub region: String,
}

impl VersionEnv {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| "unknown".to_owned());
        Self {
            stage: var("STAGE"),
            region: var("AWS_REGION"),
        }
    }
}

/// `Access-Control-Allow-Headers` of the versioned answers (the legacy list plus `API-Version`).
const ALLOW_HEADERS: &str =
    "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,API-Version";

/// Handle one API Gateway proxy event; returns the proxy response dict.
pub async fn handle(event: &Value, env: &VersionEnv) -> Value {
    answer(event, env).to_value()
}

fn answer(event: &Value, env: &VersionEnv) -> Response {
    // `event["httpMethod"]` is read before the handler's `try`: a missing key (or an event that
    // is not a dict) escapes, and API Gateway answers 502. The port answers what the catch-all
    // would have (declared in rules.toml and the README).
    let Value::Object(event) = event else {
        return failed();
    };
    let Some(method) = event.get("httpMethod") else {
        return failed();
    };
    if method.as_str() == Some("OPTIONS") {
        return legacy_cors_response(200).text_body("{}");
    }
    match route(event, method, env) {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e.message, error_type = %e.kind, "Error in version API");
            failed()
        }
    }
}

/// The catch-all of the handler: 500 "Version API failed" as version 1.1.
fn failed() -> Response {
    error_response("Version API failed", 500, ApiVersion::V1_1)
}

/// The body of the handler's `try` block; `Err` is what it raises.
fn route(
    event: &Map<String, Value>,
    method: &Value,
    env: &VersionEnv,
) -> Result<Response, PyException> {
    let version = negotiation::extract(event)?;
    tracing::info!(requested_version = version.value(), "Version API request");

    if method.as_str() != Some("GET") {
        return Ok(error_response("Method not allowed", 405, version));
    }
    let empty = json!("");
    let path = event.get("path").unwrap_or(&empty);
    let path = manuel_shared::py::str_receiver(path, "endswith")?;
    let resp = if path.ends_with("/version/compatibility") {
        versioned(documents::compatibility(), version)
    } else if path.ends_with("/version/changelog") {
        versioned(documents::changelog(), version)
    } else if path.ends_with("/version") {
        version_info(version, env)
    } else {
        error_response("Version endpoint not found", 404, version)
    };
    Ok(resp)
}

/// `handle_version_info`: 400 for a version the handler does not support.
fn version_info(version: ApiVersion, env: &VersionEnv) -> Response {
    if !version.is_supported() {
        let supported: Vec<String> = SUPPORTED
            .iter()
            .map(|v| format!("'{}'", v.value()))
            .collect();
        let warning = format!(
            "API version {} is not supported. Supported versions: [{}]",
            version.value(),
            supported.join(", ")
        );
        return error_response(&warning, 400, version);
    }
    let mut info = documents::version_info();
    info.insert(
        "environment".into(),
        json!({"stage": env.stage, "region": env.region, "runtime": "python3.11"}),
    );
    info.insert("features".into(), documents::features(version));
    info.insert("request_version".into(), json!(version.value()));
    info.insert("timestamp".into(), json!("2025-01-10T12:00:00.000Z"));
    versioned(info, version)
}

/// `format_response`: the response transformer of the version (1.1's for any other), which for
/// these documents only adds `api_version` — none of them has the `answer`, `cost` or `usage`
/// keys the transformers rewrite.
fn transform(mut data: Map<String, Value>, version: ApiVersion) -> Map<String, Value> {
    let tag = match version {
        ApiVersion::V1_0 => "1.0",
        _ => "1.1",
    };
    data.insert("api_version".into(), json!(tag));
    data
}

/// `create_versioned_response` / `create_versioned_error_response`: the CORS headers, then the
/// version headers (whose `Content-Type` replaces the first one in place).
fn respond(status: u16, data: Map<String, Value>, version: ApiVersion) -> Response {
    let supported: Vec<&str> = SUPPORTED.iter().map(|v| v.value()).collect();
    Response::new(status)
        .header(
            "Content-Type",
            &format!("application/vnd.manuel.v{}+json", version.value()),
        )
        .header("Access-Control-Allow-Origin", "*")
        .header("Access-Control-Allow-Headers", ALLOW_HEADERS)
        .header("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
        .header("API-Version", version.value())
        .header("Supported-Versions", &supported.join(","))
        .header("Current-Version", CURRENT.value())
        .json_body(&Value::Object(transform(data, version)))
}

fn versioned(data: Map<String, Value>, version: ApiVersion) -> Response {
    respond(200, data, version)
}

fn error_response(error: &str, status: u16, version: ApiVersion) -> Response {
    let mut data = Map::new();
    data.insert("error".into(), json!(error));
    data.insert("status_code".into(), json!(status));
    data.insert("version".into(), json!(version.value()));
    respond(status, data, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> VersionEnv {
        VersionEnv {
            stage: "dev".into(),
            region: "eu-west-1".into(),
        }
    }

    fn body(r: &Value) -> Value {
        serde_json::from_str(r["body"].as_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn version_info_as_1_0() {
        let r = handle(
            &json!({"httpMethod": "GET", "path": "/version",
                    "headers": {"Accept": "application/vnd.manuel.v1.0+json"}}),
            &env(),
        )
        .await;
        assert_eq!(r["statusCode"], 200);
        assert_eq!(
            r["headers"]["Content-Type"],
            "application/vnd.manuel.v1.0+json"
        );
        let b = body(&r);
        assert_eq!(b["api_version"], "1.0");
        assert_eq!(b["request_version"], "1.0");
        assert_eq!(b["features"]["api_versioning"], false);
        assert_eq!(b["environment"]["stage"], "dev");
    }

    #[tokio::test]
    async fn unsupported_and_errors() {
        let r = handle(
            &json!({"httpMethod": "GET", "path": "/version", "headers": {"API-Version": "2.0"}}),
            &env(),
        )
        .await;
        assert_eq!(r["statusCode"], 400);
        assert_eq!(r["headers"]["API-Version"], "2.0");
        let b = body(&r);
        assert_eq!(
            b["error"],
            "API version 2.0 is not supported. Supported versions: ['1.0', '1.1']"
        );
        assert_eq!(b["api_version"], "1.1");

        let r = handle(&json!({"path": "/version"}), &env()).await;
        assert_eq!(r["statusCode"], 500);
        let r = handle(&json!({"httpMethod": "GET", "headers": null}), &env()).await;
        assert_eq!(body(&r)["error"], "Version API failed");
        let r = handle(&json!({"httpMethod": "POST", "headers": {}}), &env()).await;
        assert_eq!(r["statusCode"], 405);
        let r = handle(
            &json!({"httpMethod": "GET", "headers": {}, "path": "/x"}),
            &env(),
        )
        .await;
        assert_eq!(r["statusCode"], 404);
    }

    #[tokio::test]
    async fn options_is_the_legacy_preflight() {
        let r = handle(&json!({"httpMethod": "OPTIONS"}), &env()).await;
        assert_eq!(r["statusCode"], 200);
        assert_eq!(r["body"], "{}");
        assert!(r["headers"].get("Content-Type").is_none());
    }
}
