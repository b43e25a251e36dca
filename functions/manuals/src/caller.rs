//! Who is calling. Python takes the authorizer's `sub` claim, else the `sub` of a `Bearer`
//! token's payload *without verifying it*, else `default-user` — and `GET`/`DELETE
//! /api/manuals[/{id}]` are deployed without an authorizer, so anyone could act as anyone by
//! writing a payload. The port keeps the claims path; a Bearer token is *verified* against the
//! user pool (`manuel_shared::auth`) and, once valid, gives exactly the user Python derives from
//! that payload (its base64 quirks included), so real users see the same answers; a forged,
//! expired or foreign token, and a request with neither claims nor token, are refused with 401
//! (declared divergences).

use crate::routes::py_contains;
use manuel_shared::apigw::{dict_get, PyGet};
use manuel_shared::auth::{AuthError, Verifier};
use manuel_shared::py;
use manuel_shared::pyvalue::{self, PyValue};
use serde_json::{json, Value};

/// The caller, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// The user id as Python would use it (usually a string).
    User(Value),
    /// Answer 401 with this reason.
    Refused(String),
}

fn default_user() -> Value {
    Value::String("default-user".into())
}

/// The authorizer's claims path, as Python reads it: `Some(sub)` when the claims are a dict
/// holding `sub` (its value as it is), `None` when Python would go on to the header.
fn claims_user(event: &Value) -> Option<Value> {
    let get = |obj: &Value, key: &str| -> Option<Value> {
        match dict_get(obj, key).ok()? {
            PyGet::Present(v) => Some(v.clone()),
            PyGet::Missing => Some(json!({})),
        }
    };
    let claims = get(event, "requestContext")
        .and_then(|rc| get(&rc, "authorizer"))
        .and_then(|a| get(&a, "claims"))?;
    if !py::truthy(&claims) || !py_contains(&claims, "sub").unwrap_or(false) {
        return None;
    }
    Some(match &claims {
        Value::Object(o) => o.get("sub").cloned().unwrap_or_else(default_user),
        // claims["sub"] on a list or str: TypeError, caught by Python: default-user.
        _ => default_user(),
    })
}

/// `headers.get("Authorization") or headers.get("authorization")` when it is a `Bearer ` string.
fn bearer_header(event: &Value) -> Option<&str> {
    let Some(Value::Object(h)) = event.get("headers") else {
        return None;
    };
    h.get("Authorization")
        .filter(|v| py::truthy(v))
        .or_else(|| h.get("authorization"))
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("Bearer "))
}

/// What Python's `decode_jwt_payload` and the lines after it make of a header: the payload's
/// `sub` when the payload decodes (standard-alphabet `b64decode`, which drops base64url's `-`
/// and `_`, after `"=" * (4 - len % 4)` of padding) to a dict holding it, else `default-user`.
pub fn python_payload_user(header: &str) -> Value {
    let token = header.strip_prefix("Bearer ").unwrap_or(header);
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return default_user();
    }
    let padded = format!("{}{}", parts[1], "=".repeat(4 - parts[1].len() % 4));
    let Ok(bytes) = py::b64decode(&padded) else {
        return default_user();
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return default_user();
    };
    let Ok(payload) = pyvalue::loads(text) else {
        return default_user();
    };
    match &payload {
        PyValue::Dict(d) if payload.is_truthy() => d
            .get("sub")
            .and_then(PyValue::to_json)
            .unwrap_or_else(default_user),
        _ => default_user(),
    }
}

/// The caller of `event`: claims first (as Python), then a verified Bearer token.
pub async fn caller(event: &Value, verifier: Option<&Verifier>) -> Caller {
    if let Some(user) = claims_user(event) {
        return Caller::User(user);
    }
    let Some(header) = bearer_header(event) else {
        return Caller::Refused("no authorizer claims and no Bearer token".into());
    };
    let Some(verifier) = verifier else {
        tracing::warn!("a Bearer token arrived but COGNITO_USER_POOL_ID is not set: refused");
        return Caller::Refused("token verification is not configured".into());
    };
    let Some(token) = manuel_shared::auth::bearer(header) else {
        return Caller::Refused(AuthError::Malformed("no token".into()).to_string());
    };
    match verifier.verify_token(&token).await {
        Ok(_) => Caller::User(python_payload_user(header)),
        Err(e) => {
            tracing::info!("Bearer token refused: {e}");
            Caller::Refused(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn claims_first_then_a_token_that_must_verify() {
        let claims = json!({"requestContext": {"authorizer": {"claims": {"sub": "u1"}}}});
        assert_eq!(caller(&claims, None).await, Caller::User(json!("u1")));
        let null_sub = json!({"requestContext": {"authorizer": {"claims": {"sub": null}}}});
        assert_eq!(caller(&null_sub, None).await, Caller::User(Value::Null));
        let listy = json!({"requestContext": {"authorizer": {"claims": ["sub"]}}});
        assert_eq!(caller(&listy, None).await, Caller::User(default_user()));
        // No claims: a token is needed, and it must verify.
        assert!(matches!(caller(&json!({}), None).await, Caller::Refused(_)));
        let forged = json!({"headers": {"Authorization": "Bearer a.eyJzdWIiOiJ1MiJ9.c"}});
        assert!(matches!(caller(&forged, None).await, Caller::Refused(_)));
    }

    #[test]
    fn python_reads_payloads_with_standard_base64() {
        // {"sub":"u2"} encodes without - or _: read as it is.
        assert_eq!(
            python_payload_user("Bearer a.eyJzdWIiOiJ1MiJ9.c"),
            json!("u2")
        );
        // base64url's '-' and '_' are dropped by b64decode: the rest is out of step.
        let url = "Bearer h.eyJzdWIiOiI_Pj8ifQ.s"; // {"sub":"?>?"} in base64url
        assert_eq!(python_payload_user(url), default_user());
        assert_eq!(python_payload_user("Bearer only.two"), default_user());
        assert_eq!(python_payload_user("Bearer a.WzFd.c"), default_user()); // [1]
    }
}
