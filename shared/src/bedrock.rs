//! Bedrock calls of the query function: knowledge-base retrieval (bedrock-agent-runtime
//! `Retrieve`) and model invocation (bedrock-runtime `InvokeModel`). Requests carry what boto3
//! sends (the same JSON body for the model, byte for byte), results come back in the shape
//! boto3 hands to Python (a dict with only the fields present), and failures as the exception
//! boto3 raises.

use crate::py::PyException;

use aws_smithy_types::{Document, Number};
use serde_json::{Map, Value};

/// Retrieve `number_of_results` chunks for `text` from a knowledge base.
pub async fn retrieve(
    client: &aws_sdk_bedrockagentruntime::Client,
    knowledge_base_id: &str,
    text: &str,
    number_of_results: i64,
) -> Result<Value, PyException> {
    use aws_sdk_bedrockagentruntime::types::{
        KnowledgeBaseQuery, KnowledgeBaseRetrievalConfiguration,
        KnowledgeBaseVectorSearchConfiguration,
    };
    // botocore validates a model's minimums before sending; the Rust SDK does not.
    if number_of_results < 1 {
        return Err(PyException::new(
            "ParamValidationError",
            format!("Parameter validation failed:\nInvalid value for parameter retrievalConfiguration.vectorSearchConfiguration.numberOfResults, value: {number_of_results}, valid min value: 1"),
        ));
    }
    if knowledge_base_id.is_empty() {
        return Err(PyException::new(
            "ParamValidationError",
            "Parameter validation failed:\nInvalid length for parameter knowledgeBaseId, value: 0, valid min length: 1",
        ));
    }
    let query = KnowledgeBaseQuery::builder().text(text).build();
    let config = KnowledgeBaseRetrievalConfiguration::builder()
        .vector_search_configuration(
            KnowledgeBaseVectorSearchConfiguration::builder()
                .number_of_results(number_of_results.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
                .build(),
        )
        .build();
    let out = client
        .retrieve()
        .knowledge_base_id(knowledge_base_id)
        .retrieval_query(query)
        .retrieval_configuration(config)
        .send()
        .await
        .map_err(|e| crate::aws::to_py(&e, "bedrock-agent-runtime", "Retrieve"))?;
    let results: Vec<Value> = out
        .retrieval_results()
        .iter()
        .map(|r| {
            let mut m = Map::new();
            if let Some(c) = r.content() {
                let mut cm = Map::new();
                if let Some(t) = c.r#type() {
                    cm.insert("type".into(), Value::String(t.as_str().to_owned()));
                }
                cm.insert("text".into(), Value::String(c.text().to_owned()));
                m.insert("content".into(), Value::Object(cm));
            }
            if let Some(l) = r.location() {
                let mut lm = Map::new();
                lm.insert("type".into(), Value::String(l.r#type().as_str().to_owned()));
                if let Some(s3) = l.s3_location() {
                    let mut sm = Map::new();
                    if let Some(uri) = s3.uri() {
                        sm.insert("uri".into(), Value::String(uri.to_owned()));
                    }
                    lm.insert("s3Location".into(), Value::Object(sm));
                }
                m.insert("location".into(), Value::Object(lm));
            }
            if let Some(s) = r.score() {
                m.insert("score".into(), float(s));
            }
            if let Some(md) = r.metadata() {
                let mut mm = Map::new();
                let mut keys: Vec<&String> = md.keys().collect();
                keys.sort();
                for k in keys {
                    mm.insert(k.clone(), document(&md[k]));
                }
                m.insert("metadata".into(), Value::Object(mm));
            }
            Value::Object(m)
        })
        .collect();
    let mut top = Map::new();
    top.insert("retrievalResults".into(), Value::Array(results));
    Ok(Value::Object(top))
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// A smithy document as Python sees the JSON it came from.
pub fn document(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::String(s) => Value::String(s.clone()),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => float(*f),
        Document::Array(items) => Value::Array(items.iter().map(document).collect()),
        Document::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), document(&m[k])))
                    .collect(),
            )
        }
    }
}

/// `invoke_model(modelId=..., body=...)`: the raw response body.
pub async fn invoke_model(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
    body: String,
) -> Result<Vec<u8>, PyException> {
    if model_id.is_empty() {
        return Err(PyException::new(
            "ParamValidationError",
            "Parameter validation failed:\nInvalid length for parameter modelId, value: 0, valid min length: 1",
        ));
    }
    let out = client
        .invoke_model()
        .model_id(model_id)
        .body(aws_sdk_bedrockruntime::primitives::Blob::new(
            body.into_bytes(),
        ))
        .send()
        .await
        .map_err(|e| crate::aws::to_py(&e, "bedrock-runtime", "InvokeModel"))?;
    Ok(out.body().as_ref().to_vec())
}

/// The first data source of a knowledge base (`list_data_sources(...)["dataSourceSummaries"][0]`
/// as every handler that starts an ingestion job reads it): `Ok(None)` when it has none, the
/// exception boto3 raises when the call fails.
#[cfg(feature = "agent")]
pub async fn first_data_source(
    client: &aws_sdk_bedrockagent::Client,
    knowledge_base_id: &str,
) -> Result<Option<String>, PyException> {
    let out = client
        .list_data_sources()
        .knowledge_base_id(knowledge_base_id)
        .send()
        .await
        .map_err(|e| crate::aws::to_py(&e, "bedrock-agent", "ListDataSources"))?;
    Ok(out
        .data_source_summaries()
        .first()
        .map(|d| d.data_source_id().to_owned()))
}
