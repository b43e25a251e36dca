//! From knowledge-base retrieval results to the prompt's context and the answer's `sources`:
//! the manual's display name from S3 metadata (else the file name without `.pdf`), the page
//! from the knowledge base's page-number metadata or a `#page=` fragment.

use manuel_shared::py::PyException;
use manuel_shared::pyvalue::{PyDict, PyInt, PyStr, PyValue};
use serde_json::Value;

pub struct Found {
    pub context_pieces: Vec<String>,
    /// The `sources` list, as the Python builds it.
    pub sources: PyValue,
}

/// `x.get(k, default)` on a JSON object (the retrieval output is always a dict of dicts).
fn get<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.as_object().and_then(|m| m.get(k))
}

fn truthy(v: Option<&Value>) -> bool {
    v.is_some_and(manuel_shared::py::truthy)
}

/// `int(float(x))` of the page-number metadata: `Ok(None)` where Python raises the
/// ValueError/TypeError the handler catches, `Err` for the OverflowError of an infinity, which
/// it does not.
fn page_from_metadata(v: &Value) -> Result<Option<i64>, PyException> {
    let f = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => manuel_shared::py::parse_float(s),
        Value::Bool(b) => Some(*b as i64 as f64),
        _ => None,
    };
    match f {
        Some(f) if f.is_infinite() => Err(PyException::new(
            "OverflowError",
            "cannot convert float infinity to integer",
        )),
        Some(f) if f.is_nan() => Ok(None),
        Some(f) => Ok(Some(f.trunc() as i64)),
        None => Ok(None),
    }
}

/// Python's `int(s)` of the text after `#page=` up to `&`.
fn page_from_uri(uri: &str) -> Option<Result<i64, ()>> {
    let (_, after) = uri.rsplit_once("#page=")?;
    let part = after.split('&').next().unwrap_or("");
    Some(manuel_shared::py::parse_int(part).map_err(|_| ()))
}

pub async fn from_retrieval(
    s3: &aws_sdk_s3::Client,
    retrieved: &Value,
) -> Result<Found, PyException> {
    let mut context_pieces = Vec::new();
    let mut sources = Vec::new();
    let empty = Vec::new();
    let results = get(retrieved, "retrievalResults")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for result in results {
        let content = get(result, "content")
            .and_then(|c| get(c, "text"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if content.is_empty() {
            continue;
        }
        context_pieces.push(content.to_owned());
        let location = get(result, "location");
        let score = get(result, "score").cloned().unwrap_or(Value::from(0.0));
        if location
            .and_then(|l| get(l, "type"))
            .and_then(Value::as_str)
            != Some("S3")
        {
            continue;
        }
        let uri = location
            .and_then(|l| get(l, "s3Location"))
            .and_then(|s| get(s, "uri"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if uri.is_empty() {
            continue;
        }
        let mut manual_name = "Unknown Manual".to_string();
        let mut page_number: Option<i64> = None;
        if uri.contains("/manuals/") {
            let stripped = uri.replace("s3://", "");
            if let Some((bucket, key)) = stripped.split_once('/') {
                let file_stem = || {
                    let filename = uri.rsplit('/').next().unwrap_or("");
                    filename.strip_suffix(".pdf").map(str::to_owned)
                };
                match s3.head_object().bucket(bucket).key(key).send().await {
                    Ok(head) => {
                        let display = head
                            .metadata()
                            .and_then(|m| m.get("display_name"))
                            .filter(|d| !d.is_empty());
                        match display {
                            Some(d) => manual_name = d.clone(),
                            None => {
                                if let Some(stem) = file_stem() {
                                    manual_name = stem;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::info!("Failed to get S3 metadata: {e}");
                        if let Some(stem) = file_stem() {
                            manual_name = stem;
                        }
                    }
                }
            }
            // A bad page number (ValueError) ends this block quietly, as in Python.
            if let Some(Ok(p)) = page_from_uri(uri) {
                page_number = Some(p);
            }
        }
        let metadata = get(result, "metadata");
        let page_meta = metadata.and_then(|m| get(m, "x-amz-bedrock-kb-document-page-number"));
        if truthy(page_meta) {
            if let Some(p) = page_meta.map(page_from_metadata).transpose()?.flatten() {
                page_number = Some(p);
            }
        }
        let mut d = PyDict::new();
        let mut put = |k: &str, v: PyValue| {
            d.insert(PyStr::from(k), v);
        };
        put(
            "manual_name",
            PyValue::Str(PyStr::from(manual_name.as_str())),
        );
        put(
            "page_number",
            page_number.map_or(PyValue::None, |p| PyValue::Int(PyInt::I64(p))),
        );
        put("chunk_text", PyValue::Str(PyStr::from(content)));
        put("score", PyValue::from_json(&score));
        put("pdf_url", PyValue::None);
        put("pdf_id", PyValue::None);
        sources.push(PyValue::Dict(d));
    }
    Ok(Found {
        context_pieces,
        sources: PyValue::List(sources),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_parse_like_python() {
        assert_eq!(page_from_metadata(&Value::from(3.0)), Ok(Some(3)));
        assert_eq!(page_from_metadata(&Value::from("4.7")), Ok(Some(4)));
        assert_eq!(page_from_metadata(&Value::from(" 1_2 ")), Ok(Some(12)));
        assert_eq!(page_from_metadata(&Value::from("x")), Ok(None));
        assert_eq!(page_from_metadata(&Value::from("nan")), Ok(None));
        assert_eq!(
            page_from_metadata(&Value::from("-inf")).unwrap_err().kind,
            "OverflowError"
        );
        assert_eq!(
            page_from_uri("s3://b/manuals/u/a.pdf#page=7&x=1"),
            Some(Ok(7))
        );
        assert_eq!(
            page_from_uri("s3://b/manuals/u/a.pdf#page=x"),
            Some(Err(()))
        );
        assert_eq!(page_from_uri("s3://b/manuals/u/a.pdf"), None);
    }
}
