//! Which API version a request asks for (`ApiVersioningHandler.extract_version_from_event` of
//! Manuel's `shared/api_versioning.py`), with the exceptions Python raises on shapes it does not
//! expect.
//!
//! The two patterns are matched by hand rather than with the `regex` crate: Python's `\d` in a
//! `str` pattern is "Unicode decimal digit" as of the interpreter's Unicode version (3.11:
//! Unicode 14), and `regex`'s `\d` follows a newer table. `py::digit_value` is generated from
//! Python 3.11 itself, so the port matches exactly the strings Python matches.

use manuel_shared::py::{digit_value, truthy, type_name, PyException};
use serde_json::{json, Map, Value};

/// `ApiVersion`: the three members of the Python enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1_0,
    V1_1,
    V2_0,
}

/// `supported_versions` of the handler (2.0 is a member of the enum but not supported).
pub const SUPPORTED: [ApiVersion; 2] = [ApiVersion::V1_0, ApiVersion::V1_1];

/// `current_version`.
pub const CURRENT: ApiVersion = ApiVersion::V1_1;

impl ApiVersion {
    pub fn value(self) -> &'static str {
        match self {
            ApiVersion::V1_0 => "1.0",
            ApiVersion::V1_1 => "1.1",
            ApiVersion::V2_0 => "2.0",
        }
    }

    /// `ApiVersion.from_string`: every `v` and `V` removed, then an exact member value, else 1.1.
    pub fn from_str_lenient(s: &str) -> ApiVersion {
        let cleaned: String = s.chars().filter(|c| *c != 'v' && *c != 'V').collect();
        match cleaned.as_str() {
            "1.0" => ApiVersion::V1_0,
            "1.1" => ApiVersion::V1_1,
            "2.0" => ApiVersion::V2_0,
            _ => ApiVersion::V1_1,
        }
    }

    /// `from_string` on any value: only a `str` has `.replace`.
    fn from_value(v: &Value) -> Result<ApiVersion, PyException> {
        match v {
            Value::String(s) => Ok(Self::from_str_lenient(s)),
            other => Err(no_attribute(other, "replace")),
        }
    }

    pub fn is_supported(self) -> bool {
        SUPPORTED.contains(&self)
    }
}

fn no_attribute(v: &Value, attr: &str) -> PyException {
    PyException::new(
        "AttributeError",
        format!("'{}' object has no attribute '{attr}'", type_name(v)),
    )
}

fn not_a_string(v: &Value) -> PyException {
    PyException::new(
        "TypeError",
        format!(
            "expected string or bytes-like object, got '{}'",
            type_name(v)
        ),
    )
}

/// `d.get(key, default)` on a value Python calls `.get` on (only a dict has it).
fn dict_get<'a>(d: &'a Value, key: &str, default: &'a Value) -> Result<&'a Value, PyException> {
    match d {
        Value::Object(m) => Ok(m.get(key).unwrap_or(default)),
        other => Err(no_attribute(other, "get")),
    }
}

/// `d.get(a, "") or d.get(b, "")`.
fn either<'a>(d: &'a Value, a: &str, b: &str, empty: &'a Value) -> Result<&'a Value, PyException> {
    let first = dict_get(d, a, empty)?;
    if truthy(first) {
        Ok(first)
    } else {
        dict_get(d, b, empty)
    }
}

/// `extract_version_from_event(event)` for an event that is a dict.
pub fn extract(event: &Map<String, Value>) -> Result<ApiVersion, PyException> {
    let empty = json!("");
    let empty_dict = json!({});

    // 1. Accept: application/vnd.manuel.vX.Y (re.search: the value must be a str).
    let headers = event.get("headers").unwrap_or(&empty_dict);
    let accept = either(headers, "Accept", "accept", &empty)?;
    let Value::String(accept) = accept else {
        return Err(not_a_string(accept));
    };
    if let Some(found) = search_vendor_type(accept) {
        return Ok(ApiVersion::from_str_lenient(&found));
    }

    // 2. API-Version header.
    let header = either(headers, "API-Version", "api-version", &empty)?;
    if truthy(header) {
        return ApiVersion::from_value(header);
    }

    // 3. ?version= or ?api_version=.
    let query = match event.get("queryStringParameters") {
        Some(q) if truthy(q) => q,
        _ => &empty_dict,
    };
    let param = either(query, "version", "api_version", &empty)?;
    if truthy(param) {
        return ApiVersion::from_value(param);
    }

    // 4. A /vX.Y/ prefix of the path.
    let path = event.get("path").unwrap_or(&empty);
    let Value::String(path) = path else {
        return Err(not_a_string(path));
    };
    if let Some(rest) = path.strip_prefix("/v") {
        if let Some((found, after)) = version_number(rest) {
            if after.starts_with('/') {
                return Ok(ApiVersion::from_str_lenient(&found));
            }
        }
    }
    Ok(CURRENT)
}

const VENDOR_PREFIX: &str = "application/vnd.manuel.v";

/// `re.search(r"application/vnd\.manuel\.v(\d+\.\d+)", s).group(1)`: the first occurrence of
/// the prefix followed by a version number.
pub fn search_vendor_type(s: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = s[from..].find(VENDOR_PREFIX) {
        let start = from + at;
        if let Some((found, _)) = version_number(&s[start + VENDOR_PREFIX.len()..]) {
            return Some(found);
        }
        // The prefix cannot overlap itself past its first character; step over that one.
        from = start + 1;
    }
    None
}

/// `\d+\.\d+` at the start of `s` (digits and `.` are disjoint, so greedy is the only match):
/// the matched text and what follows it.
fn version_number(s: &str) -> Option<(String, &str)> {
    let digits = |t: &str| -> usize {
        t.char_indices()
            .find(|(_, c)| digit_value(*c).is_none())
            .map_or(t.len(), |(i, _)| i)
    };
    let major = digits(s);
    if major == 0 {
        return None;
    }
    let rest = s[major..].strip_prefix('.')?;
    let minor = digits(rest);
    if minor == 0 {
        return None;
    }
    let end = major + 1 + minor;
    Some((s[..end].to_owned(), &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test events are objects"),
        }
    }

    #[test]
    fn the_four_methods_in_order() {
        let e = ev(json!({
            "headers": {"Accept": "application/vnd.manuel.v1.0+json", "API-Version": "2.0"},
            "path": "/v2.0/version"
        }));
        assert_eq!(extract(&e).unwrap(), ApiVersion::V1_0);
        let e = ev(json!({"headers": {"api-version": "v2.0"}}));
        assert_eq!(extract(&e).unwrap(), ApiVersion::V2_0);
        let e = ev(json!({"headers": {}, "queryStringParameters": {"api_version": "1.0"}}));
        assert_eq!(extract(&e).unwrap(), ApiVersion::V1_0);
        let e = ev(json!({"headers": {}, "path": "/v1.0/version"}));
        assert_eq!(extract(&e).unwrap(), ApiVersion::V1_0);
        let e = ev(json!({"headers": {}, "path": "/v1.0"}));
        assert_eq!(extract(&e).unwrap(), ApiVersion::V1_1);
    }

    #[test]
    fn from_string_strips_every_v() {
        assert_eq!(ApiVersion::from_str_lenient("vV1.0v"), ApiVersion::V1_0);
        assert_eq!(ApiVersion::from_str_lenient(" 1.0"), ApiVersion::V1_1);
        assert_eq!(ApiVersion::from_str_lenient("3.7"), ApiVersion::V1_1);
    }

    #[test]
    fn vendor_type_search_finds_the_first_complete_match() {
        assert_eq!(
            search_vendor_type("application/vnd.manuel.vX, application/vnd.manuel.v1.0+json"),
            Some("1.0".into())
        );
        assert_eq!(
            search_vendor_type("application/vnd.manuel.v12.345.6"),
            Some("12.345".into())
        );
        // Arabic-Indic digits are \d for Python: matched, then not a member (1.1).
        assert_eq!(
            search_vendor_type("application/vnd.manuel.v\u{661}.\u{660}"),
            Some("\u{661}.\u{660}".into())
        );
        assert_eq!(search_vendor_type("application/vnd.manuel.v1."), None);
        assert_eq!(search_vendor_type("application/vnd-manuel.v1.0"), None);
    }

    #[test]
    fn shapes_python_rejects() {
        assert!(extract(&ev(json!({"headers": null}))).is_err());
        assert!(extract(&ev(json!({"headers": {"accept": 1}}))).is_err());
        // A falsy Accept falls through to `accept`, whose default "" is fine.
        assert!(extract(&ev(json!({"headers": {"Accept": 0}}))).is_ok());
        assert!(extract(&ev(json!({"headers": {"API-Version": 1.0}}))).is_err());
        assert!(extract(&ev(json!({"headers": {}, "queryStringParameters": "x"}))).is_err());
        assert!(extract(&ev(json!({"headers": {}, "queryStringParameters": ""}))).is_ok());
        assert!(extract(&ev(json!({"headers": {}, "path": null}))).is_err());
    }
}
