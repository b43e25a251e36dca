//! The routes: method and path to an endpoint, as the Python handler's `if` chain picks them,
//! the caller (the authorizer's `sub` claim) and the manual id of the path parameters — with
//! the exceptions Python raises on events of unexpected shapes.

use crate::cleanup::delete_manual;
use crate::detail::manual_detail;
use crate::download::download_manual;
use crate::list::list_manuals;
use crate::{error, Clients, ManualsEnv};
use manuel_shared::apigw::{dict_get, PyGet, Response, CORS_ALLOW_HEADERS};
use manuel_shared::py::{self, PyException};
use serde_json::{json, Value};

pub(crate) use manuel_shared::py::attribute_error as attr_error;

pub(crate) use manuel_shared::py::contains as py_contains;

pub(crate) use manuel_shared::py::ends_with;

/// `urllib.parse.unquote(x)` for a non-str path parameter: the TypeError/AttributeError Python
/// raises.
pub(crate) fn unquote_value(v: &Value) -> Result<String, PyException> {
    match v {
        Value::String(s) => Ok(manuel_shared::url::unquote(s).into_owned()),
        Value::Array(_) | Value::Object(_) => {
            if py_contains(v, "%")? {
                Err(PyException::new("TypeError", "unquote of a container"))
            } else {
                Err(attr_error(v, "split"))
            }
        }
        other => Err(PyException::new(
            "TypeError",
            format!(
                "argument of type '{}' is not iterable",
                py::type_name(other)
            ),
        )),
    }
}

pub(crate) async fn route(
    event: &Value,
    env: &ManualsEnv,
    c: &Clients,
) -> Result<Response, PyException> {
    let bucket = env
        .manuals_bucket
        .clone()
        .ok_or_else(|| PyException::key_error("MANUALS_BUCKET"))?;
    let get_or = |key: &str, default: Value| -> Result<Value, PyException> {
        match dict_get(event, key)? {
            PyGet::Present(v) => Ok(v.clone()),
            PyGet::Missing => Ok(default),
        }
    };
    let method = get_or("httpMethod", json!("GET"))?;
    let path = get_or("path", json!(""))?;
    let method = method.as_str().unwrap_or("\u{0}not-a-str");
    if method == "OPTIONS" {
        return Ok(Response::new(200)
            .header("Access-Control-Allow-Origin", "*")
            .header("Access-Control-Allow-Methods", "GET,POST,DELETE,OPTIONS")
            .header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
            .text_body(""));
    }
    let user = match crate::caller::caller(event, c.verifier.as_ref()).await {
        crate::caller::Caller::User(u) => u,
        crate::caller::Caller::Refused(why) => {
            return Ok(crate::json_response(
                401,
                &json!({"error": "Unauthorized", "details": why}),
            ))
        }
    };
    tracing::info!("Final user_id: {}", py::str_of(&user));

    if method == "GET" && ends_with(&path, "/api/manuals")? {
        return Ok(list_manuals(c, &bucket, &user).await);
    }
    if method == "POST" && ends_with(&path, "/api/manuals/download")? {
        return Ok(download_manual(event, c, &bucket, &user).await);
    }
    let by_id = |m: &str| -> Result<bool, PyException> {
        Ok(method == m
            && py_contains(&path, "/api/manuals/")?
            && !ends_with(&path, "/api/manuals")?)
    };
    let get_detail = by_id("GET")?;
    let delete = !get_detail && by_id("DELETE")?;
    if get_detail || delete {
        let params = get_or("pathParameters", json!({}))?;
        let manual_id = if py::truthy(&params) {
            match dict_get(&params, "id")? {
                PyGet::Present(v) => v.clone(),
                PyGet::Missing => Value::Null,
            }
        } else {
            Value::Null
        };
        if !py::truthy(&manual_id) {
            return Ok(error(400, "Manual ID is required"));
        }
        let key = unquote_value(&manual_id)?;
        return Ok(if get_detail {
            manual_detail(c, &bucket, &user, &key).await
        } else {
            delete_manual(c, env, &bucket, &user, &key).await
        });
    }
    Ok(error(404, "Endpoint not found"))
}
