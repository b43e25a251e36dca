//! An API Gateway TOKEN authorizer for the routes Manuel deploys with `Authorizer: NONE`
//! (`GET/DELETE /api/manuals[/{id}]`): during the shift both sides of such a route are reached
//! only with a verified Cognito token, not only the Rust one. It verifies the token with the
//! same code the Rust manuals uses (`manuel_shared::auth`) and answers an IAM policy for the
//! method ARN: `Allow` with `principalId` = `sub` and the claims in `context` (which API Gateway
//! passes on as `requestContext.authorizer`, so both sides read the same user), or `Deny` for a
//! token that does not verify. A request without a `Bearer` token gets `Deny` too; the policy
//! is never cached across users because API Gateway caches by token.
//!
//! No Python twin: parity does not apply; tests run it against moto's Cognito.

use manuel_shared::auth::{AuthError, PoolConfig, Verifier};
use serde_json::{json, Map, Value};

/// The verifier of the configured pool (`COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_IDS`).
pub fn verifier_from_env() -> Option<Verifier> {
    PoolConfig::from_env().map(Verifier::new)
}

/// The resource a policy covers: every method of the API stage the request came through
/// (`arn:…:api-id/stage/*`). API Gateway caches a policy by token (ReauthorizeEvery), so a
/// policy for the one method ARN would deny the same user's next route from the cache.
pub fn stage_resource(method_arn: &str) -> String {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) if !api.is_empty() && !stage.is_empty() => {
            format!("{api}/{stage}/*")
        }
        _ => method_arn.to_owned(),
    }
}

fn policy(principal: &str, effect: &str, method_arn: &str, context: Map<String, Value>) -> Value {
    let mut out = json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": stage_resource(method_arn),
            }],
        },
    });
    if !context.is_empty() {
        out["context"] = Value::Object(context);
    }
    out
}

/// The reason a request is denied (logged, never the token).
pub fn deny_reason(e: &AuthError) -> String {
    e.to_string()
}

/// Answer one TOKEN authorizer event (`{"type": "TOKEN", "authorizationToken": "Bearer …",
/// "methodArn": "…"}`).
pub async fn authorize(event: &Value, verifier: Option<&Verifier>) -> Value {
    let method_arn = event
        .get("methodArn")
        .and_then(Value::as_str)
        .unwrap_or("*");
    let header = event
        .get("authorizationToken")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(token) = manuel_shared::auth::bearer(header) else {
        tracing::info!("deny: no Bearer token");
        return policy("anonymous", "Deny", method_arn, Map::new());
    };
    let Some(verifier) = verifier else {
        tracing::warn!("deny: COGNITO_USER_POOL_ID is not set");
        return policy("anonymous", "Deny", method_arn, Map::new());
    };
    match verifier.verify_token(&token).await {
        Ok(claims) => {
            // API Gateway takes string, number and boolean context values only.
            let context: Map<String, Value> = claims
                .all
                .iter()
                .filter(|(_, v)| v.is_string() || v.is_number() || v.is_boolean())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            tracing::info!("allow: {}", claims.sub);
            policy(&claims.sub, "Allow", method_arn, context)
        }
        Err(e) => {
            tracing::info!("deny: {}", deny_reason(&e));
            policy("anonymous", "Deny", method_arn, Map::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_token_or_a_pool_the_answer_is_deny() {
        let arn = "arn:aws:execute-api:eu-west-1:123456789012:abc/Prod/GET/api/manuals";
        for event in [
            json!({"type": "TOKEN", "methodArn": arn}),
            json!({"type": "TOKEN", "methodArn": arn, "authorizationToken": "Basic x"}),
            json!({"type": "TOKEN", "methodArn": arn, "authorizationToken": "Bearer a.b.c"}),
        ] {
            let p = authorize(&event, None).await;
            assert_eq!(p["policyDocument"]["Statement"][0]["Effect"], "Deny", "{p}");
            assert_eq!(
                p["policyDocument"]["Statement"][0]["Resource"],
                "arn:aws:execute-api:eu-west-1:123456789012:abc/Prod/*"
            );
        }
    }

    #[test]
    fn the_policy_covers_the_stage_whatever_the_arn_looks_like() {
        assert_eq!(stage_resource("arn:x:abc/Prod/GET/a/b"), "arn:x:abc/Prod/*");
        assert_eq!(stage_resource("arn:x:abc/Prod"), "arn:x:abc/Prod/*");
        // Not an API method ARN: kept as given (and never a panic).
        for odd in ["", "*", "abc", "/", "a//b", "/Prod/GET"] {
            let _ = stage_resource(odd);
        }
        assert_eq!(stage_resource("*"), "*");
        assert_eq!(stage_resource("a//b"), "a//b");
    }
}
