//! What a case changed in the shared state: DynamoDB items, S3 objects and Redis keys on the
//! local stack, read before and after a side runs, reduced to the entries that changed.
//!
//! Both sides share Redis, the usage table and the buckets during the shift, so a response can
//! match while the state behind it differs — and then the other side misreads it. The change
//! set is a JSON value diffed with the same engine as responses, at paths a rule can name:
//! `$state.dynamodb[user_id=u1,date=2026-11-27].daily_count`,
//! `$state.s3[manuals/u1/x.pdf].metadata.display_name`, `$state.redis[query:u1:ab12…].ttl`.
//!
//! Values keep their types: a DynamoDB `N` is a JSON number and an `S` a string, so a counter
//! stored as a string shows as a type difference. Entry labels replace timestamps and UUIDs
//! inside keys by `<time>` / `<uuid>`, so that two sides writing "now" under a key land on
//! the same label; the full values stay in the entry and are judged by rules.

use crate::stack::{Stack, StackError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Entries by label, per service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub dynamodb: BTreeMap<String, Value>,
    pub s3: BTreeMap<String, Value>,
    pub redis: BTreeMap<String, Value>,
    /// Messages waiting in the stack's queues (`queue#n`), as a multiset: sorted, numbered.
    pub sqs: BTreeMap<String, Value>,
    /// Messages published to the stack's topics (`topic#n`), seen through their observer
    /// queues: subject, message and message attributes.
    pub sns: BTreeMap<String, Value>,
    /// Amazon Transcribe jobs left behind (a handler deletes its job when done): status and
    /// language, by job name with random ids replaced.
    pub transcribe: BTreeMap<String, Value>,
}

fn time_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
            .expect("time regex")
    })
}

fn uuid_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        )
        .expect("uuid regex")
    })
}

fn epoch_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    // Unix seconds from 2017 to 2033, as a word of its own (`req-1#1764600000`).
    RE.get_or_init(|| regex::Regex::new(r"\b1[5-9]\d{8}\b").expect("epoch regex"))
}

/// `uuid.uuid4().hex`: 32 hex digits with the version nibble 4 and the variant bits of RFC 4122
/// (an MD5 key has that shape one time in 64; both sides then still get the same label).
fn uuid_hex_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\b[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}\b")
            .expect("uuid hex regex")
    })
}

/// A key with its moments and random ids replaced, so both sides' "now" keys meet.
pub fn label(raw: &str) -> String {
    let t = time_re().replace_all(raw, "<time>");
    let t = epoch_re().replace_all(&t, "<epoch>");
    let t = uuid_re().replace_all(&t, "<uuid>");
    uuid_hex_re().replace_all(&t, "<uuid>").into_owned()
}

/// A DynamoDB attribute as a typed JSON value.
pub fn attr_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => Value::String(s.clone()),
        A::N(n) => number(n),
        A::Bool(b) => Value::Bool(*b),
        A::Null(_) => Value::Null,
        A::M(m) => {
            let sorted: BTreeMap<&String, &A> = m.iter().collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), attr_json(v)))
                    .collect(),
            )
        }
        A::L(items) => Value::Array(items.iter().map(attr_json).collect()),
        A::Ss(items) => {
            let mut v: Vec<Value> = items.iter().cloned().map(Value::String).collect();
            v.sort_by_key(|x| x.to_string());
            serde_json::json!({ "SS": v })
        }
        A::Ns(items) => {
            let mut v: Vec<Value> = items.iter().map(|n| number(n)).collect();
            v.sort_by_key(|x| x.to_string());
            serde_json::json!({ "NS": v })
        }
        A::B(b) => serde_json::json!({ "B": format!("{} bytes", b.as_ref().len()) }),
        _ => serde_json::json!({ "?": "unsupported attribute type" }),
    }
}

/// DynamoDB's number text as JSON: an integer when it is one, else a float.
fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    n.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(n.to_owned()), Value::Number)
}

/// The error of one AWS call while reading the stack.
fn aws<E: std::error::Error>(call: &'static str) -> impl Fn(E) -> StackError {
    move |e| StackError::Aws {
        context: format!("snapshot {call}"),
        message: crate::stack::aws_message(&e),
    }
}

impl Snapshot {
    /// Read everything the stack holds: moto's own reading of its state in one request (see
    /// `moto_server_local.py`), or, where this moto cannot give it, through the SDK; Redis
    /// alongside. Both readings give the same snapshot (tests/reset.rs holds them to it).
    pub async fn take(stack: &Stack) -> Result<Snapshot, StackError> {
        let (moto, redis) = tokio::try_join!(stack.moto_state(), redis_keys(stack))?;
        match moto {
            Some(dump) => Self::of_moto_state(dump, stack, redis),
            None => Self::read_through_sdk(stack, redis).await,
        }
    }

    /// The snapshot of a moto reading already in hand (the one a restore answered with, see
    /// [`Stack::restore_reading`]), Redis read now.
    pub async fn of_moto_reading(stack: &Stack, dump: Value) -> Result<Snapshot, StackError> {
        let redis = redis_keys(stack).await?;
        Self::of_moto_state(dump, stack, redis)
    }

    /// The snapshot read through the SDK alone (ListTables/Scan, ListObjectsV2/GetObject,
    /// ReceiveMessage, ListTranscriptionJobs), as a strict client sees the services. The
    /// services are read concurrently (moto serves each request on its own thread), every
    /// object of a bucket too; entries are inserted in the order the listings give them, so
    /// labels that collide are numbered the same way.
    pub async fn take_through_sdk(stack: &Stack) -> Result<Snapshot, StackError> {
        let redis = redis_keys(stack).await?;
        Self::read_through_sdk(stack, redis).await
    }

    async fn read_through_sdk(
        stack: &Stack,
        redis: BTreeMap<String, Value>,
    ) -> Result<Snapshot, StackError> {
        let conf = stack.sdk_config().await;
        let (usage_table, manuals) = (stack.usage_table(), stack.manuals_bucket());
        let (dynamodb, s3, (sqs, sns), transcribe) = tokio::try_join!(
            items(&conf, &usage_table),
            objects(&conf, &manuals),
            messages(&conf),
            jobs(&conf),
        )?;
        Ok(Snapshot {
            dynamodb,
            s3,
            redis,
            sqs,
            sns,
            transcribe,
        })
    }

    /// The snapshot of moto's reading: the same entries, labels and order as the SDK reading.
    fn of_moto_state(
        dump: Value,
        stack: &Stack,
        redis: BTreeMap<String, Value>,
    ) -> Result<Snapshot, StackError> {
        let bad = |message: String| StackError::Service {
            service: "moto state".into(),
            message,
        };
        let state: MotoState =
            serde_json::from_value(dump).map_err(|e| bad(format!("unexpected answer: {e}")))?;
        let (usage_table, manuals) = (stack.usage_table(), stack.manuals_bucket());
        let mut dynamodb = BTreeMap::new();
        for table in &state.dynamodb {
            for raw in &table.items {
                let mut item = std::collections::HashMap::new();
                for (k, v) in raw {
                    let attr = super::state::attribute(v, &format!("{}.{k}", table.table))
                        .map_err(|e| bad(e.to_string()))?;
                    item.insert(k.clone(), attr);
                }
                let (label, json) = item_entry(&table.table, &table.keys, &usage_table, &item);
                insert_unique(&mut dynamodb, label, json);
            }
        }
        let mut s3 = BTreeMap::new();
        for o in state.s3 {
            let body = match (o.png_base64, o.sha256) {
                (Some(png), _) => Body::Png(png),
                (None, sha) => Body::Digest {
                    size: o.size,
                    sha256: sha,
                },
            };
            let entry = object_value(
                &o.bucket,
                &o.key,
                o.content_type.as_deref(),
                o.cache_control.as_deref(),
                o.metadata,
                body,
            );
            insert_unique(&mut s3, object_label(&o.bucket, &o.key, &manuals), entry);
        }
        let (mut sqs, mut sns) = (BTreeMap::new(), BTreeMap::new());
        for q in state.sqs {
            let entries = q
                .messages
                .iter()
                .map(|m| {
                    message_value(
                        &m.body,
                        m.attributes.iter().map(|(k, a)| {
                            (k, Value::from(a.kind.clone()), Value::from(a.value.clone()))
                        }),
                    )
                })
                .collect();
            queue_entries(&q.queue, entries, &mut sqs, &mut sns);
        }
        let mut transcribe = BTreeMap::new();
        for j in state.transcribe {
            let entry = job_value(j.status.as_deref(), j.language_code.as_deref());
            insert_unique(&mut transcribe, label(&j.name), entry);
        }
        Ok(Snapshot {
            dynamodb,
            s3,
            redis,
            sqs,
            sns,
            transcribe,
        })
    }

    /// The entries `after` added or changed, and those it removed (`null`), as the value the
    /// state diff compares: `{}` when nothing changed.
    pub fn changes(before: &Snapshot, after: &Snapshot) -> Value {
        let mut out = Map::new();
        for (name, b, a) in [
            ("dynamodb", &before.dynamodb, &after.dynamodb),
            ("s3", &before.s3, &after.s3),
            ("redis", &before.redis, &after.redis),
            ("sqs", &before.sqs, &after.sqs),
            ("sns", &before.sns, &after.sns),
            ("transcribe", &before.transcribe, &after.transcribe),
        ] {
            let mut m = Map::new();
            for (k, v) in a {
                let same = b
                    .get(k)
                    .is_some_and(|old| old == v || (name == "redis" && ttl_ran_down(old, v)));
                if !same {
                    m.insert(k.clone(), v.clone());
                }
            }
            for k in b.keys() {
                if !a.contains_key(k) {
                    m.insert(k.clone(), Value::Null);
                }
            }
            if !m.is_empty() {
                out.insert(name.into(), Value::Object(m));
            }
        }
        Value::Object(out)
    }
}

/// Every item of every table, labelled by its key (the usage table's without a table prefix).
async fn items(
    conf: &aws_config::SdkConfig,
    usage_table: &str,
) -> Result<BTreeMap<String, Value>, StackError> {
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let tables = ddb
        .list_tables()
        .send()
        .await
        .map_err(aws("dynamodb:ListTables"))?
        .table_names()
        .to_vec();
    let per_table = futures::future::try_join_all(tables.iter().map(|table| {
        let ddb = ddb.clone();
        async move {
            let desc = ddb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(aws("dynamodb:DescribeTable"))?;
            let keys: Vec<String> = desc
                .table()
                .map(|t| {
                    t.key_schema()
                        .iter()
                        .map(|k| k.attribute_name().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let mut rows = Vec::new();
            let mut start = None;
            loop {
                let out = ddb
                    .scan()
                    .table_name(table)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(aws("dynamodb:Scan"))?;
                rows.extend(out.items().iter().cloned());
                match out.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => break,
                }
            }
            Ok::<_, StackError>((table, keys, rows))
        }
    }))
    .await?;
    let mut out = BTreeMap::new();
    for (table, keys, rows) in per_table {
        for item in rows {
            let (label, json) = item_entry(table, &keys, usage_table, &item);
            insert_unique(&mut out, label, json);
        }
    }
    Ok(out)
}

/// An item's label (its key attributes; the usage table's without a table prefix) and value.
fn item_entry(
    table: &str,
    keys: &[String],
    usage_table: &str,
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> (String, Value) {
    let key = keys
        .iter()
        .map(|k| {
            let v = item.get(k).map(attr_json).unwrap_or(Value::Null);
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            format!("{k}={text}")
        })
        .collect::<Vec<_>>()
        .join(",");
    let prefix = if table == usage_table {
        String::new()
    } else {
        format!("{table}:")
    };
    let sorted: BTreeMap<&String, _> = item.iter().collect();
    let json: Map<String, Value> = sorted
        .into_iter()
        .map(|(k, v)| (k.clone(), attr_json(v)))
        .collect();
    (label(&format!("{prefix}{key}")), json.into())
}

/// What `POST /__local/state` answers (moto_server_local.py).
#[derive(serde::Deserialize)]
struct MotoState {
    dynamodb: Vec<TableState>,
    s3: Vec<ObjectState>,
    sqs: Vec<QueueState>,
    transcribe: Vec<JobState>,
}

#[derive(serde::Deserialize)]
struct TableState {
    table: String,
    keys: Vec<String>,
    items: Vec<Map<String, Value>>,
}

#[derive(serde::Deserialize)]
struct ObjectState {
    bucket: String,
    key: String,
    content_type: Option<String>,
    cache_control: Option<String>,
    metadata: BTreeMap<String, String>,
    size: u64,
    sha256: Option<String>,
    png_base64: Option<String>,
}

#[derive(serde::Deserialize)]
struct QueueState {
    queue: String,
    messages: Vec<MessageState>,
}

#[derive(serde::Deserialize)]
struct MessageState {
    body: String,
    attributes: BTreeMap<String, AttributeState>,
}

#[derive(serde::Deserialize)]
struct AttributeState {
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
}

#[derive(serde::Deserialize)]
struct JobState {
    name: String,
    status: Option<String>,
    language_code: Option<String>,
}

/// A queue's messages as entries: an observer queue's as what its topic published.
fn queue_entries(
    name: &str,
    entries: Vec<Value>,
    sqs: &mut BTreeMap<String, Value>,
    sns: &mut BTreeMap<String, Value>,
) {
    let (map, base, mut entries) = match name.strip_suffix(crate::stack::OBSERVER_SUFFIX) {
        Some(topic) => (
            sns,
            topic.to_owned(),
            entries.iter().map(published).collect::<Vec<_>>(),
        ),
        None => (sqs, name.to_owned(), entries),
    };
    entries.sort_by_cached_key(crate::stack::bedrock::canonical);
    for (i, v) in entries.into_iter().enumerate() {
        map.insert(format!("{base}#{}", i + 1), v);
    }
}

/// Every object of every bucket: type, caching, metadata and the body's digest (a PNG whole,
/// compared by pixels), labelled by key (other buckets than the manuals one by `bucket/key`).
async fn objects(
    conf: &aws_config::SdkConfig,
    manuals: &str,
) -> Result<BTreeMap<String, Value>, StackError> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    );
    let buckets: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .map_err(aws("s3:ListBuckets"))?
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    let mut listed: Vec<(String, String)> = Vec::new();
    for name in &buckets {
        let mut token = None;
        loop {
            let out = s3
                .list_objects_v2()
                .bucket(name)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(aws("s3:ListObjectsV2"))?;
            listed.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(|k| (name.clone(), k.to_owned()))),
            );
            match out.next_continuation_token() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
    }
    use futures::{StreamExt as _, TryStreamExt as _};
    let entries: Vec<Value> = futures::stream::iter(listed.iter().map(|(name, key)| {
        let s3 = s3.clone();
        async move { object_entry(&s3, name, key).await }
    }))
    .buffered(8)
    .try_collect()
    .await?;
    let mut out = BTreeMap::new();
    for ((name, key), entry) in listed.iter().zip(entries) {
        insert_unique(&mut out, object_label(name, key, manuals), entry);
    }
    Ok(out)
}

async fn object_entry(s3: &aws_sdk_s3::Client, name: &str, key: &str) -> Result<Value, StackError> {
    let got = s3
        .get_object()
        .bucket(name)
        .key(key)
        .send()
        .await
        .map_err(aws("s3:GetObject"))?;
    let meta: BTreeMap<String, String> = got
        .metadata()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let (content_type, cache_control) = (
        got.content_type().map(str::to_owned),
        got.cache_control().map(str::to_owned),
    );
    let bytes = got
        .body
        .collect()
        .await
        .map_err(aws("s3:GetObject body"))?
        .into_bytes();
    let body = if crate::parity::image::is_png(&bytes) {
        use base64::Engine as _;
        Body::Png(base64::engine::general_purpose::STANDARD.encode(&bytes))
    } else {
        Body::Digest {
            size: bytes.len() as u64,
            sha256: Some(sha256(&bytes)),
        }
    };
    Ok(object_value(
        name,
        key,
        content_type.as_deref(),
        cache_control.as_deref(),
        meta,
        body,
    ))
}

/// An object's label: its key in the manuals bucket, `bucket/key` in any other.
fn object_label(bucket: &str, key: &str, manuals: &str) -> String {
    if bucket == manuals {
        label(key)
    } else {
        label(&format!("{bucket}/{key}"))
    }
}

/// What an object's body shows in a snapshot.
enum Body {
    /// A PNG, base64: two renderers never write the same PNG bytes, so the image is kept and
    /// compared by pixels (the `pixels` rules of the function).
    Png(String),
    /// Anything else: its size and SHA-256.
    Digest { size: u64, sha256: Option<String> },
}

/// An object's entry: bucket, key, type, caching, user metadata and its body.
fn object_value(
    bucket: &str,
    key: &str,
    content_type: Option<&str>,
    cache_control: Option<&str>,
    metadata: BTreeMap<String, String>,
    body: Body,
) -> Value {
    let mut entry = Map::new();
    entry.insert("bucket".into(), Value::from(bucket));
    entry.insert("key".into(), Value::from(key));
    entry.insert(
        "content_type".into(),
        content_type.map_or(Value::Null, Value::from),
    );
    entry.insert(
        "cache_control".into(),
        cache_control.map_or(Value::Null, Value::from),
    );
    entry.insert(
        "metadata".into(),
        serde_json::to_value(metadata).unwrap_or_default(),
    );
    match body {
        Body::Png(png) => {
            entry.insert(
                "image".into(),
                Value::from(format!("data:image/png;base64,{png}")),
            );
        }
        Body::Digest { size, sha256 } => {
            entry.insert("size".into(), Value::from(size));
            entry.insert("sha256".into(), sha256.map_or(Value::Null, Value::from));
        }
    }
    entry.into()
}

/// A Transcribe job's entry: status and language.
fn job_value(status: Option<&str>, language_code: Option<&str>) -> Value {
    let mut entry = Map::new();
    entry.insert("status".into(), status.map_or(Value::Null, Value::from));
    entry.insert(
        "language_code".into(),
        language_code.map_or(Value::Null, Value::from),
    );
    entry.into()
}

/// Every Redis key: its value (JSON when it parses as Python's `json.loads` would) and TTL.
/// Three round trips whatever the number of keys: the keys, their types and TTLs, the strings.
async fn redis_keys(stack: &Stack) -> Result<BTreeMap<String, Value>, StackError> {
    let mut keys: Vec<Vec<u8>> = stack.redis(redis::cmd("KEYS").arg("*")).await?;
    keys.sort();
    let mut out = BTreeMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let mut pipe = redis::pipe();
    for k in &keys {
        pipe.cmd("TYPE").arg(k).cmd("TTL").arg(k);
    }
    let kinds: Vec<(String, i64)> = stack.redis_pipe(&pipe).await?;
    let strings: Vec<&Vec<u8>> = keys
        .iter()
        .zip(&kinds)
        .filter(|(_, (kind, _))| kind == "string")
        .map(|(k, _)| k)
        .collect();
    let mut values: Vec<Option<Vec<u8>>> = Vec::new();
    if !strings.is_empty() {
        let mut pipe = redis::pipe();
        for k in &strings {
            pipe.cmd("GET").arg(*k);
        }
        values = stack.redis_pipe(&pipe).await?;
    }
    let mut values = values.into_iter();
    for (raw_key, (kind, ttl)) in keys.iter().zip(kinds) {
        let key = String::from_utf8_lossy(raw_key).into_owned();
        let value = if kind == "string" {
            // A key that expired between the reads is read as empty.
            let bytes = values.next().flatten().unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            manuel_shared::pyvalue::loads(&text)
                .ok()
                .and_then(|v| v.to_json())
                .unwrap_or(Value::String(text))
        } else {
            Value::String(format!("<{kind}>"))
        };
        let mut entry = Map::new();
        entry.insert("value".into(), value);
        entry.insert("ttl".into(), Value::from(ttl));
        insert_unique(&mut out, label(&key), entry.into());
    }
    Ok(out)
}

/// Every Transcribe job moto holds (ListTranscriptionJobs only: a GetTranscriptionJob would
/// move a moto job on to its next status).
async fn jobs(conf: &aws_config::SdkConfig) -> Result<BTreeMap<String, Value>, StackError> {
    let tr = aws_sdk_transcribe::Client::new(conf);
    let mut jobs = BTreeMap::new();
    let mut token = None;
    loop {
        let out = tr
            .list_transcription_jobs()
            .set_next_token(token)
            .max_results(100)
            .send()
            .await
            .map_err(aws("transcribe:ListTranscriptionJobs"))?;
        for j in out.transcription_job_summaries() {
            let name = j.transcription_job_name().unwrap_or_default();
            let entry = job_value(
                j.transcription_job_status().map(|s| s.as_str()),
                j.language_code().map(|s| s.as_str()),
            );
            insert_unique(&mut jobs, label(name), entry);
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(jobs)
}

/// Every message of every queue, read without consuming it: received in batches with a
/// visibility timeout (so that each comes once), then made visible again.
#[allow(clippy::type_complexity)]
async fn messages(
    conf: &aws_config::SdkConfig,
) -> Result<(BTreeMap<String, Value>, BTreeMap<String, Value>), StackError> {
    let (mut sqs_entries, mut sns_entries) = (BTreeMap::new(), BTreeMap::new());
    use aws_sdk_sqs::types::{
        ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName,
    };
    let sqs = aws_sdk_sqs::Client::new(conf);
    let urls = sqs
        .list_queues()
        .send()
        .await
        .map_err(aws("sqs:ListQueues"))?
        .queue_urls()
        .to_vec();
    for url in urls {
        let name = url.rsplit('/').next().unwrap_or(&url).to_owned();
        let mut entries: Vec<Value> = Vec::new();
        let mut handles: Vec<String> = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .wait_time_seconds(0)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(aws("sqs:ReceiveMessage"))?;
            if out.messages().is_empty() {
                break;
            }
            for m in out.messages() {
                handles.extend(m.receipt_handle().map(str::to_owned));
                entries.push(message_entry(m));
            }
        }
        for chunk in handles.chunks(10) {
            let batch: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .receipt_handle(h)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            sqs.change_message_visibility_batch()
                .queue_url(&url)
                .set_entries(Some(batch))
                .send()
                .await
                .map_err(aws("sqs:ChangeMessageVisibilityBatch"))?;
        }
        queue_entries(&name, entries, &mut sqs_entries, &mut sns_entries);
    }
    Ok((sqs_entries, sns_entries))
}

/// A queued message: its body (JSON when it is JSON) and message attributes.
fn message_entry(m: &aws_sdk_sqs::types::Message) -> Value {
    message_value(
        m.body().unwrap_or_default(),
        m.message_attributes()
            .into_iter()
            .flatten()
            .map(|(k, a)| (k, Value::from(a.data_type()), Value::from(a.string_value()))),
    )
}

/// A message's entry: its body (JSON when it is JSON) and its attributes by name.
fn message_value<'a>(
    body: &str,
    attributes: impl Iterator<Item = (&'a String, Value, Value)>,
) -> Value {
    serde_json::json!({
        "body": serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::from(body)),
        "attributes": sorted_attributes(attributes),
    })
}

/// Message attributes as `{name: {"type", "value"}}`, by name.
fn sorted_attributes<'a>(attrs: impl Iterator<Item = (&'a String, Value, Value)>) -> Value {
    let sorted: BTreeMap<&String, Value> = attrs
        .map(|(k, t, v)| (k, serde_json::json!({"type": t, "value": v})))
        .collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

/// What a function published, from the SNS envelope an observer queue received: subject,
/// message and message attributes (ids, timestamps and signatures dropped).
fn published(entry: &Value) -> Value {
    let env = &entry["body"];
    let attributes = sorted_attributes(
        env["MessageAttributes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, a)| (k, a["Type"].clone(), a["Value"].clone())),
    );
    serde_json::json!({
        "subject": env.get("Subject").cloned().unwrap_or(Value::Null),
        "message": env.get("Message").cloned().unwrap_or(Value::Null),
        "attributes": attributes,
    })
}

/// A Redis entry whose value is unchanged and whose TTL only counted down (by up to a minute)
/// was not written: time passed. A rewrite (SETEX) resets the TTL upwards.
fn ttl_ran_down(before: &Value, after: &Value) -> bool {
    let ttl = |v: &Value| v.get("ttl").and_then(Value::as_i64);
    match (ttl(before), ttl(after)) {
        (Some(t0), Some(t1)) if t0 > 0 && t1 > 0 => {
            before.get("value") == after.get("value") && (0..=60).contains(&(t0 - t1))
        }
        _ => false,
    }
}

fn insert_unique(map: &mut BTreeMap<String, Value>, label: String, v: Value) {
    let mut l = label.clone();
    let mut n = 2;
    while map.contains_key(&l) {
        l = format!("{label}#{n}");
        n += 1;
    }
    map.insert(l, v);
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_hide_moments_and_ids() {
        assert_eq!(
            label("user_id=cost#u1,date=2026-11-15T12:00:03.123456"),
            "user_id=cost#u1,date=<time>"
        );
        assert_eq!(
            label("temp-audio/transcribe-0f8fad5b-d9cb-469f-a165-70867728950e.wav"),
            "temp-audio/transcribe-<uuid>.wav"
        );
        assert_eq!(
            label("audio/user-1/880bd6c78ac04d74b16eb925264aefca.mp3"),
            "audio/user-1/<uuid>.mp3"
        );
        // An MD5 is not a uuid4: the version nibble is not 4.
        assert_eq!(
            label("processed-pages/f49be858e62d7b6d887679ecc4ca5584.png"),
            "processed-pages/f49be858e62d7b6d887679ecc4ca5584.png"
        );
        assert_eq!(
            label("user_id=u1,date=2026-11-15"),
            "user_id=u1,date=2026-11-15"
        );
    }

    #[test]
    fn changes_are_added_changed_and_removed_entries() {
        let mut before = Snapshot::default();
        before.redis.insert("a".into(), Value::from(1));
        before.redis.insert("gone".into(), Value::from(1));
        let mut after = before.clone();
        after.redis.insert("a".into(), Value::from(2));
        after.redis.remove("gone");
        after
            .dynamodb
            .insert("k=v".into(), serde_json::json!({"n": 1}));
        let c = Snapshot::changes(&before, &after);
        assert_eq!(
            c,
            serde_json::json!({"dynamodb": {"k=v": {"n": 1}}, "redis": {"a": 2, "gone": null}})
        );
        assert_eq!(Snapshot::changes(&after, &after), serde_json::json!({}));
        // A TTL that counted down is time passing, not a write; a reset TTL is a write.
        let mut t0 = Snapshot::default();
        t0.redis
            .insert("k".into(), serde_json::json!({"value": "v", "ttl": 3600}));
        let mut t1 = Snapshot::default();
        t1.redis
            .insert("k".into(), serde_json::json!({"value": "v", "ttl": 3598}));
        assert_eq!(Snapshot::changes(&t0, &t1), serde_json::json!({}));
        assert_ne!(Snapshot::changes(&t1, &t0), serde_json::json!({}));
        // DynamoDB has no countdown: an item whose `ttl` attribute moved was rewritten.
        let mut d0 = Snapshot::default();
        d0.dynamodb
            .insert("k=v".into(), serde_json::json!({"n": 3, "ttl": 1800000060}));
        let mut d1 = Snapshot::default();
        d1.dynamodb
            .insert("k=v".into(), serde_json::json!({"n": 4, "ttl": 1800000000}));
        assert_ne!(Snapshot::changes(&d0, &d1), serde_json::json!({}));
    }

    #[test]
    fn numbers_keep_their_kind() {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        assert_eq!(attr_json(&A::N("3".into())), Value::from(3));
        assert_eq!(attr_json(&A::N("2.5".into())), Value::from(2.5));
        assert_eq!(attr_json(&A::S("3".into())), Value::from("3"));
    }
}
