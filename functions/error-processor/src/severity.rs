//! `_determine_severity`: critical, high, medium or low from the message's `exception`, with
//! Python's evaluation order, so that a field of the wrong type raises exactly where Python's
//! `or` chain reaches it (an `HTTPStatusCode` that is a string raises only when the error code
//! did not already decide).

use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{PyInt, PyValue};

const CRITICAL_CODES: [&str; 2] = ["InternalServerError", "ServiceUnavailableException"];
const HIGH_CODES: [&str; 3] = [
    "LimitExceededException",
    "QuotaExceededException",
    "RequestLimitExceeded",
];
const MEDIUM_CODES: [&str; 2] = ["ResourceNotFoundException", "ValidationException"];

/// `d.get(key, default)` on a value that must be a dict.
pub(crate) fn get_or(d: &PyValue, key: &str, default: PyValue) -> Result<PyValue, PyException> {
    Ok(d.get(key)?.cloned().unwrap_or(default))
}

fn empty_dict() -> PyValue {
    PyValue::dict([])
}

/// The severity of a decoded message body (a dict).
pub fn severity(message: &PyValue) -> Result<&'static str, PyException> {
    let exception = get_or(message, "exception", empty_dict())?;
    let exception_type = get_or(&exception, "type", PyValue::str(""))?;
    let aws_error = get_or(&exception, "aws_error", empty_dict())?;
    let error_code = if aws_error.is_truthy() {
        get_or(&aws_error, "Code", PyValue::str(""))?
    } else {
        PyValue::str("")
    };
    let metadata = get_or(&exception, "response_metadata", empty_dict())?;
    let http_status = get_or(&metadata, "HTTPStatusCode", PyValue::Int(PyInt::I64(0)))?;
    if is_one_of(&error_code, &CRITICAL_CODES) {
        return Ok("critical");
    }
    if is_one_of(&error_code, &HIGH_CODES)
        || at_least(&http_status, 500)?
        || contains_timeout(&exception_type)?
    {
        return Ok("high");
    }
    if is_one_of(&error_code, &MEDIUM_CODES) || at_least(&http_status, 400)? {
        return Ok("medium");
    }
    Ok("low")
}

/// `code in [...]`: only an equal `str` is in a list of strings.
fn is_one_of(code: &PyValue, list: &[&str]) -> bool {
    matches!(code, PyValue::Str(s) if list.iter().any(|c| s == c))
}

/// `value >= n` for an int `n`: exact for ints of any size, IEEE for floats (NaN is never
/// greater), `bool` as 0/1; any other type raises Python's TypeError.
pub(crate) fn at_least(value: &PyValue, n: i64) -> Result<bool, PyException> {
    match value {
        PyValue::Bool(b) => Ok(i64::from(*b) >= n),
        PyValue::Int(PyInt::I64(i)) => Ok(*i >= n),
        PyValue::Int(PyInt::Big(s)) => Ok(!s.starts_with('-')),
        PyValue::Float(f) => Ok(*f >= n as f64),
        other => Err(PyException::new(
            "TypeError",
            format!(
                "'>=' not supported between instances of '{}' and 'int'",
                other.type_name()
            ),
        )),
    }
}

/// `"timeout" in value.lower()`, for a value that must be a `str`.
pub(crate) fn contains_timeout(value: &PyValue) -> Result<bool, PyException> {
    let PyValue::Str(s) = value else {
        return Err(PyException::new(
            "AttributeError",
            format!("'{}' object has no attribute 'lower'", value.type_name()),
        ));
    };
    // str.lower() maps code by code (İ becomes two); surrogates stay as they are. Only ASCII
    // letters and a few others lower to ASCII, so matching on the lowered sequence is exact.
    let lowered: Vec<u32> = s
        .code_points()
        .flat_map(|cp| match char::from_u32(cp) {
            Some(c) => c.to_lowercase().map(u32::from).collect::<Vec<_>>(),
            None => vec![cp],
        })
        .collect();
    let needle: Vec<u32> = "timeout".chars().map(u32::from).collect();
    Ok(lowered
        .windows(needle.len())
        .any(|w| w == needle.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use manuel_shared::pyvalue::loads;

    fn sev(body: &str) -> Result<&'static str, String> {
        severity(&loads(body).unwrap()).map_err(|e| e.kind)
    }

    #[test]
    fn codes_statuses_and_timeouts_decide_in_order() {
        assert_eq!(sev(r#"{}"#), Ok("low"));
        assert_eq!(
            sev(r#"{"exception": {"aws_error": {"Code": "InternalServerError"}}}"#),
            Ok("critical")
        );
        assert_eq!(
            sev(r#"{"exception": {"aws_error": {"Code": "RequestLimitExceeded"}}}"#),
            Ok("high")
        );
        assert_eq!(
            sev(r#"{"exception": {"response_metadata": {"HTTPStatusCode": 503}}}"#),
            Ok("high")
        );
        assert_eq!(
            sev(r#"{"exception": {"type": "ReadTIMEOUTError"}}"#),
            Ok("high")
        );
        assert_eq!(
            sev(r#"{"exception": {"aws_error": {"Code": "ValidationException"}}}"#),
            Ok("medium")
        );
        assert_eq!(
            sev(r#"{"exception": {"response_metadata": {"HTTPStatusCode": 404.5}}}"#),
            Ok("medium")
        );
        assert_eq!(
            sev(r#"{"exception": {"response_metadata": {"HTTPStatusCode": NaN}}}"#),
            Ok("low")
        );
        assert_eq!(
            sev(
                r#"{"exception": {"response_metadata": {"HTTPStatusCode": 100000000000000000000000}}}"#
            ),
            Ok("high")
        );
    }

    #[test]
    fn wrong_types_raise_where_python_reaches_them() {
        // A critical code decides before the string status is compared.
        assert_eq!(
            sev(
                r#"{"exception": {"aws_error": {"Code": "InternalServerError"}, "response_metadata": {"HTTPStatusCode": "500"}}}"#
            ),
            Ok("critical")
        );
        assert_eq!(
            sev(r#"{"exception": {"response_metadata": {"HTTPStatusCode": "500"}}}"#),
            Err("TypeError".into())
        );
        assert_eq!(
            sev(r#"{"exception": {"type": 5}}"#),
            Err("AttributeError".into())
        );
        // A high code decides before the type is lowercased.
        assert_eq!(
            sev(r#"{"exception": {"type": 5, "aws_error": {"Code": "QuotaExceededException"}}}"#),
            Ok("high")
        );
        assert_eq!(
            sev(r#"{"exception": {"aws_error": "x"}}"#),
            Err("AttributeError".into())
        );
        assert_eq!(sev(r#"{"exception": {"aws_error": ""}}"#), Ok("low"));
        assert_eq!(
            sev(r#"{"exception": {"response_metadata": null}}"#),
            Err("AttributeError".into())
        );
        assert_eq!(sev(r#"{"exception": []}"#), Err("AttributeError".into()));
    }
}
