//! `_send_error_notification`: the SNS alert for a high or critical error — subject, a text
//! message with every field (`str()` of each, the details as `json.dumps(…, indent=2)`) and
//! three message attributes. botocore refuses a non-string attribute value before sending;
//! text that cannot be encoded (a lone surrogate) fails when the request is built. Both end as
//! Python's do: logged, no message.

use crate::item::ErrorItem;
use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{dumps_indent, PyStr, PyValue};

/// `str()` of a field (missing ones as the Python's `.get(…, 'N/A')` would show them).
fn field_text(item: &ErrorItem, name: &str) -> PyStr {
    item.field(name)
        .map_or_else(|| PyStr::from("N/A"), PyValue::py_str)
}

/// The alert's subject and message as Python formats them.
pub fn alert_text(item: &ErrorItem) -> (PyStr, PyStr) {
    let mut subject: Vec<u32> = format!("Manuel {} Error - ", item.severity.to_uppercase())
        .chars()
        .map(u32::from)
        .collect();
    subject.extend(field_text(item, "service").code_points());
    let mut message: Vec<u32> = Vec::new();
    let push = |message: &mut Vec<u32>, text: &str| message.extend(text.chars().map(u32::from));
    push(
        &mut message,
        &format!(
            "\nA {} error occurred in Manuel backend:\n\nError ID: ",
            item.severity
        ),
    );
    let mut parts: Vec<(&str, PyStr)> = vec![("", item.error_id.clone())];
    for (label, field) in [
        ("\nFunction: ", "function_name"),
        ("\nService: ", "service"),
        ("\nOperation: ", "operation"),
        ("\nRequest ID: ", "request_id"),
        ("\nUser ID: ", "user_id"),
        ("\nTimestamp: ", "timestamp"),
        ("\n\nException: ", "exception_type"),
        ("\nMessage: ", "exception_message"),
        ("\n\nAWS Error Code: ", "aws_error_code"),
        ("\nHTTP Status: ", "http_status_code"),
    ] {
        parts.push((label, field_text(item, field)));
    }
    let details = item
        .field("error_details")
        .map(|d| dumps_indent(d, 2))
        .unwrap_or_default();
    for (label, value) in parts {
        push(&mut message, label);
        message.extend(value.code_points());
    }
    push(&mut message, "\n\nError Details:\n");
    push(&mut message, &details);
    push(
        &mut message,
        "\n\nThis error has been logged and is being tracked for analysis.\n",
    );
    (
        PyStr::from_code_points(subject).unwrap_or_default(),
        PyStr::from_code_points(message).unwrap_or_default(),
    )
}

fn encoded(s: &PyStr) -> Result<&str, PyException> {
    s.to_str()
        .map_err(|e| PyException::new("UnicodeEncodeError", e.to_string()))
}

/// An attribute value botocore accepts: a `str`, else its ParamValidationError.
fn attribute(item: &ErrorItem, name: &str, field: &str) -> Result<String, PyException> {
    match item.field(field) {
        Some(PyValue::Str(s)) => Ok(encoded(s)?.to_owned()),
        Some(other) => Err(PyException::new(
            "ParamValidationError",
            format!(
                "Parameter validation failed:\nInvalid type for parameter MessageAttributes.{name}.StringValue, value: {}, type: <class '{}'>, valid types: <class 'str'>",
                other.py_repr(),
                other.type_name()
            ),
        )),
        None => Err(PyException::key_error(field)),
    }
}

/// Publish the alert for `item` to `topic`.
pub async fn send(
    client: &aws_sdk_sns::Client,
    topic: &str,
    item: &ErrorItem,
) -> Result<(), PyException> {
    use aws_sdk_sns::types::MessageAttributeValue;
    let (subject, message) = alert_text(item);
    let mut attrs = Vec::new();
    for (name, value) in [
        ("Severity", item.severity.to_owned()),
        ("Service", attribute(item, "Service", "service")?),
        (
            "FunctionName",
            attribute(item, "FunctionName", "function_name")?,
        ),
    ] {
        let v = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| PyException::new("ParamValidationError", e.to_string()))?;
        attrs.push((name, v));
    }
    let mut req = client
        .publish()
        .topic_arn(topic)
        .subject(encoded(&subject)?)
        .message(encoded(&message)?);
    for (name, v) in attrs {
        req = req.message_attributes(name, v);
    }
    req.send()
        .await
        .map(|_| ())
        .map_err(|e| manuel_shared::aws::to_py(&e, "sns", "Publish"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use manuel_shared::pyvalue::loads;

    #[test]
    fn the_alert_reads_as_python_formats_it() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let body = r#"{"request_id": "r1", "service": "bedrock", "function_name": "query",
            "exception": {"type": "ThrottlingException", "message": "slow down",
            "aws_error": {"Code": "RequestLimitExceeded"}},
            "error_details": {"a": [1, {"b": null}], "c": {}}}"#;
        let item = crate::error_item(&loads(body).unwrap(), at).unwrap();
        let (subject, message) = alert_text(&item);
        assert_eq!(subject.to_string_lossy(), "Manuel HIGH Error - bedrock");
        let text = message.to_string_lossy();
        assert!(text.starts_with("\nA high error occurred in Manuel backend:\n\nError ID: r1#1796126400\nFunction: query\n"), "{text}");
        assert!(
            text.contains("\nAWS Error Code: RequestLimitExceeded\nHTTP Status: N/A\n"),
            "{text}"
        );
        assert!(text.ends_with("Error Details:\n{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}\n\nThis error has been logged and is being tracked for analysis.\n"), "{text}");
    }
}
