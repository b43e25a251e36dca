//! Who is calling: the Cognito user id API Gateway's authorizer puts in the event, and (feature
//! `auth`) [`verify::Verifier::verify_token`] for a Bearer token no authorizer has checked.

#[cfg(feature = "auth")]
pub mod verify;
#[cfg(feature = "auth")]
pub use verify::{bearer, AuthError, Claims, PoolConfig, TokenUse, Verifier};

use crate::apigw::{dict_get, PyGet};
use crate::py::{subscript, PyException};
use serde_json::Value;

/// `event["requestContext"]["authorizer"]["claims"].get("sub")` with Manuel's handling: a
/// missing key on the way means "no user" (`Ok(None)`), a value of the wrong type raises what
/// Python raises (`TypeError`, `AttributeError`). `Ok(Some(Value::Null))` is a claims dict
/// without `sub`. The id is returned as it is in the event (usually a string, but a direct
/// invoke can put anything there, and Python uses it as it is).
pub fn claims_sub(event: &Value) -> Result<Option<Value>, PyException> {
    let Some(rc) = subscript(event, "requestContext")? else {
        return Ok(None);
    };
    let Some(authorizer) = subscript(rc, "authorizer")? else {
        return Ok(None);
    };
    let Some(claims) = subscript(authorizer, "claims")? else {
        return Ok(None);
    };
    match dict_get(claims, "sub")? {
        PyGet::Present(v) => Ok(Some(v.clone())),
        PyGet::Missing => Ok(Some(Value::Null)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_paths() {
        let ev = json!({"requestContext": {"authorizer": {"claims": {"sub": "u1"}}}});
        assert_eq!(claims_sub(&ev).unwrap(), Some(json!("u1")));
        assert_eq!(claims_sub(&json!({})).unwrap(), None);
        assert_eq!(
            claims_sub(&json!({"requestContext": {"authorizer": {}}})).unwrap(),
            None
        );
        let no_sub = json!({"requestContext": {"authorizer": {"claims": {}}}});
        assert_eq!(claims_sub(&no_sub).unwrap(), Some(Value::Null));
        let err = claims_sub(&json!({"requestContext": null})).unwrap_err();
        assert_eq!(err.kind, "TypeError");
        let err =
            claims_sub(&json!({"requestContext": {"authorizer": {"claims": "x"}}})).unwrap_err();
        assert_eq!(err.message, "'str' object has no attribute 'get'");
    }
}
