//! The item `lambda_handler` puts into the error table for one message, built in Python's
//! order (so the first failing field fails the record, as in Python) and serialised as boto3
//! serialises it.

use crate::severity::{get_or, severity};
use chrono::{DateTime, Utc};
use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{PyDict, PyInt, PyStr, PyValue};

/// How many containers a value of the item may nest before boto3 raises `RecursionError` on
/// the way to `put_item` (its serializer and botocore's validation recurse a few frames per
/// level, counted from where the handler calls it). Bisected against the real handler under
/// awslambdaric (`invoke --python-src` with `error_details` nested N dicts, and N lists): 161
/// is stored, 162 fails. Real DynamoDB refuses more than 32 levels anyway; moto does not.
pub const MAX_ITEM_DEPTH: usize = 161;

/// An item ready to put, with what the alert needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorItem {
    /// Field by field, in Python's order.
    pub data: PyDict,
    pub error_id: PyStr,
    pub severity: &'static str,
}

impl ErrorItem {
    pub fn field(&self, name: &str) -> Option<&PyValue> {
        self.data.get(name)
    }

    /// `table.put_item(Item=error_data)`.
    pub async fn put(
        &self,
        client: &aws_sdk_dynamodb::Client,
        table: &str,
    ) -> Result<(), PyException> {
        let mut req = client.put_item().table_name(table);
        for (k, v) in self.data.iter() {
            let key = k
                .to_str()
                .map_err(|e| PyException::new("UnicodeEncodeError", e.to_string()))?;
            req = req.item(key, manuel_shared::ddb::attr_from_py(v, MAX_ITEM_DEPTH)?);
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| manuel_shared::aws::to_py(&e, "dynamodb", "PutItem"))
    }
}

fn text(s: &str) -> PyValue {
    PyValue::str(s)
}

/// `error_data` of one decoded message body (which must be a dict), at `now`.
pub fn error_item(message: &PyValue, now: DateTime<Utc>) -> Result<ErrorItem, PyException> {
    let unknown = || text("unknown");
    let request_id = get_or(message, "request_id", unknown())?;
    let mut points: Vec<u32> = request_id.py_str().code_points().collect();
    points.extend(format!("#{}", now.timestamp()).chars().map(u32::from));
    let error_id = PyStr::from_code_points(points).unwrap_or_default();
    let mut d = PyDict::new();
    let mut put = |k: &str, v: PyValue| {
        d.insert(PyStr::from(k), v);
    };
    put("error_id", PyValue::Str(error_id.clone()));
    put(
        "timestamp",
        get_or(
            message,
            "timestamp",
            text(&manuel_shared::usage::isoformat(now)),
        )?,
    );
    for field in [
        "function_name",
        "request_id",
        "user_id",
        "service",
        "operation",
    ] {
        put(field, get_or(message, field, unknown())?);
    }
    let exception = get_or(message, "exception", PyValue::dict([]))?;
    put(
        "exception_type",
        get_or(&exception, "type", text("Unknown"))?,
    );
    put(
        "exception_message",
        get_or(&exception, "message", text("Unknown error"))?,
    );
    put(
        "error_details",
        get_or(message, "error_details", PyValue::dict([]))?,
    );
    let severity = severity(message)?;
    put("severity", text(severity));
    put(
        "ttl",
        PyValue::Int(PyInt::I64(now.timestamp() + 30 * 24 * 60 * 60)),
    );
    let aws_error = get_or(&exception, "aws_error", PyValue::dict([]))?;
    if aws_error.is_truthy() {
        put("aws_error_code", get_or(&aws_error, "Code", text(""))?);
        put(
            "aws_error_message",
            get_or(&aws_error, "Message", text(""))?,
        );
    }
    let metadata = get_or(&exception, "response_metadata", PyValue::dict([]))?;
    if metadata.is_truthy() {
        put(
            "http_status_code",
            get_or(&metadata, "HTTPStatusCode", PyValue::Int(PyInt::I64(0)))?,
        );
    }
    Ok(ErrorItem {
        data: d,
        error_id,
        severity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use manuel_shared::pyvalue::loads;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn fields_come_in_python_order_with_defaults() {
        let item = error_item(&loads("{}").unwrap(), at()).unwrap();
        let keys: Vec<String> = item.data.iter().map(|(k, _)| k.to_string_lossy()).collect();
        assert_eq!(
            keys,
            [
                "error_id",
                "timestamp",
                "function_name",
                "request_id",
                "user_id",
                "service",
                "operation",
                "exception_type",
                "exception_message",
                "error_details",
                "severity",
                "ttl"
            ]
        );
        assert_eq!(item.error_id.to_string_lossy(), "unknown#1796126400");
        assert_eq!(item.field("timestamp"), Some(&text("2026-12-01T12:00:00")));
        assert_eq!(
            item.field("ttl"),
            Some(&PyValue::Int(PyInt::I64(1798718400)))
        );
    }

    #[test]
    fn request_ids_are_formatted_with_str() {
        for (body, id) in [
            (r#"{"request_id": null}"#, "None#1796126400"),
            (r#"{"request_id": 1.5e16}"#, "1.5e+16#1796126400"),
            (
                r#"{"request_id": {"a": [true]}}"#,
                "{'a': [True]}#1796126400",
            ),
        ] {
            let item = error_item(&loads(body).unwrap(), at()).unwrap();
            assert_eq!(item.error_id.to_string_lossy(), id);
        }
    }

    #[test]
    fn aws_error_and_metadata_add_fields_only_when_truthy() {
        let item = error_item(
            &loads(r#"{"exception": {"aws_error": {"Code": "X"}, "response_metadata": {"RetryAttempts": 0}}}"#).unwrap(),
            at(),
        )
        .unwrap();
        assert_eq!(item.field("aws_error_code"), Some(&text("X")));
        assert_eq!(item.field("aws_error_message"), Some(&text("")));
        assert_eq!(
            item.field("http_status_code"),
            Some(&PyValue::Int(PyInt::I64(0)))
        );
        let item =
            error_item(&loads(r#"{"exception": {"aws_error": {}}}"#).unwrap(), at()).unwrap();
        assert_eq!(item.field("aws_error_code"), None);
    }
}
