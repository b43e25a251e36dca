//! API Gateway REST proxy events and responses, the way Manuel's Python handlers see them.
//!
//! Handlers get the event as a JSON value (API Gateway sends a dict, but a direct invoke can send
//! anything) and return the proxy response dict. Accessors mirror Python's `event.get(k, default)`
//! so that ports keep the same behaviour for missing keys and explicit `null`s.

use crate::py::PyException;
use crate::pyjson;
use serde_json::{Map, Value};

/// The CORS headers Manuel's handlers answer an `OPTIONS` request with.
pub const CORS_ALLOW_HEADERS: &str =
    "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token";

/// `utils.create_response` of Manuel's shared modules: the legacy CORS headers (no
/// Content-Type), in the order Python builds them; the caller sets the body.
pub fn legacy_cors_response(status_code: u16) -> Response {
    Response::new(status_code)
        .header("Access-Control-Allow-Origin", "*")
        .header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
        .header("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
}

/// The preflight answer of the handlers that build their own CORS headers: 200, an empty body,
/// `Access-Control-Allow-Origin: *`, the given methods and [`CORS_ALLOW_HEADERS`].
pub fn preflight(methods: &str) -> Response {
    Response::new(200)
        .header("Access-Control-Allow-Origin", "*")
        .header("Access-Control-Allow-Methods", methods)
        .header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
        .text_body("")
}

/// A Lambda proxy integration response (`statusCode`, `headers`, `body`, optional `isBase64Encoded`).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub is_base64_encoded: Option<bool>,
}

impl Response {
    pub fn new(status_code: u16) -> Self {
        Self {
            status_code,
            headers: Vec::new(),
            body: String::new(),
            is_base64_encoded: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Body rendered byte for byte as Python's `json.dumps(value)`.
    pub fn json_body(mut self, value: &Value) -> Self {
        self.body = pyjson::dumps(value);
        self
    }

    pub fn text_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The dict a Python handler returns, keys in the order Python builds them.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("statusCode".into(), Value::from(self.status_code));
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        out.insert("headers".into(), Value::Object(headers));
        out.insert("body".into(), Value::String(self.body.clone()));
        if let Some(b) = self.is_base64_encoded {
            out.insert("isBase64Encoded".into(), Value::Bool(b));
        }
        Value::Object(out)
    }
}

/// A JSON value seen through Python's eyes: what `event.get(key, default)` returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PyGet<'a> {
    /// The key is absent: Python returns the default.
    Missing,
    /// The key is present (possibly `null`, which Python sees as `None`).
    Present(&'a Value),
}

/// `event.get(key)` when `event` is a dict; `Err` carries the AttributeError Python raises when
/// the event is not a dict (`'list' object has no attribute 'get'`).
pub fn dict_get<'a>(obj: &'a Value, key: &str) -> Result<PyGet<'a>, PyException> {
    match obj {
        Value::Object(map) => Ok(match map.get(key) {
            Some(v) => PyGet::Present(v),
            None => PyGet::Missing,
        }),
        other => Err(PyException::new(
            "AttributeError",
            format!(
                "'{}' object has no attribute 'get'",
                crate::py::type_name(other)
            ),
        )),
    }
}

/// `event.get("httpMethod", default)` for a string default.
pub fn get_or<'a>(obj: &'a Value, key: &str, default: &'a Value) -> Result<&'a Value, PyException> {
    Ok(match dict_get(obj, key)? {
        PyGet::Present(v) => v,
        PyGet::Missing => default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_dict_has_python_key_order() {
        let r = Response::new(404)
            .header("Content-Type", "application/json")
            .json_body(&json!({"error": "Endpoint not found"}));
        assert_eq!(
            serde_json::to_string(&r.to_value()).unwrap(),
            r#"{"statusCode":404,"headers":{"Content-Type":"application/json"},"body":"{\"error\": \"Endpoint not found\"}"}"#
        );
    }

    #[test]
    fn get_on_non_dict_raises_like_python() {
        assert_eq!(
            dict_get(&json!([1]), "x").unwrap_err(),
            PyException::new("AttributeError", "'list' object has no attribute 'get'")
        );
        assert_eq!(
            dict_get(&Value::Null, "x").unwrap_err().message,
            "'NoneType' object has no attribute 'get'"
        );
        assert_eq!(dict_get(&json!({}), "x").unwrap(), PyGet::Missing);
    }
}
