//! S3 and SQS events as first-class fixtures: built as their sources send them, refused in one
//! line when malformed, compared by their return value and the state they leave — including
//! what was left in queues and published to topics (moto's SQS and SNS, read through the
//! stack's observer queues without consuming anything).

mod common;

use common::{assert_input_error, stdout, TempProject};
use manuel_migrate::exec::snapshot::Snapshot;
use manuel_migrate::stack::Stack;
use serde_json::Value;

fn read(p: &TempProject, function: &str, name: &str) -> Value {
    let f = p
        .path()
        .join("parity-fixtures")
        .join(function)
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
}

#[test]
fn fixtures_new_builds_events_as_their_sources_send_them() {
    let p = TempProject::new();
    let o = p.run(&[
        "fixtures",
        "new",
        "--function",
        "process-manual",
        "--kind",
        "s3",
        "--name",
        "t-s3",
        "--key",
        "manuals/u 1/Ünï+(1).pdf",
        "--size",
        "12",
        "--clock",
        "2026-12-01T12:00:00Z",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        stdout(&o).contains("s3 event, 1 record(s)"),
        "{}",
        stdout(&o)
    );
    let f = read(&p, "process-manual", "t-s3");
    assert_eq!(f["kind"], "s3");
    assert_eq!(f["clock"], "2026-12-01T12:00:00Z");
    let rec = &f["event"]["Records"][0];
    assert_eq!(rec["eventSource"], "aws:s3");
    assert_eq!(
        rec["s3"]["bucket"]["name"],
        "manuel-manuals-local-123456789012"
    );
    assert_eq!(
        rec["s3"]["object"]["key"],
        "manuals/u+1/%C3%9Cn%C3%AF%2B%281%29.pdf"
    );
    assert_eq!(rec["s3"]["object"]["size"], 12);

    let o = p.run(&[
        "fixtures",
        "new",
        "--function",
        "error-processor",
        "--kind",
        "sqs",
        "--name",
        "t-sqs",
        "--body",
        "{\"request_id\": \"r\"}",
        "--body",
        "not json",
        "--env",
        "ERROR_TOPIC_ARN=",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let f = read(&p, "error-processor", "t-sqs");
    assert_eq!(f["kind"], "sqs");
    assert_eq!(f["env"]["ERROR_TOPIC_ARN"], "");
    let recs = f["event"]["Records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["body"], "not json");
    // The MD5 of the body, as SQS computes it.
    assert_eq!(recs[1]["md5OfBody"], "83e12cc6068a0f3c5555be0d55fb01bb");
    assert_eq!(
        recs[0]["eventSourceARN"],
        "arn:aws:sqs:eu-west-1:123456789012:manuel-error-dlq-local"
    );
    // An existing fixture is not overwritten without --force.
    let again = p.run(&[
        "fixtures",
        "new",
        "--function",
        "error-processor",
        "--kind",
        "sqs",
        "--name",
        "t-sqs",
        "--body",
        "x",
    ]);
    assert_input_error(&again, &["t-sqs.json", "exists", "--force"]);
}

#[test]
fn malformed_s3_and_sqs_fixtures_are_refused_naming_file_and_field() {
    let p = TempProject::new();
    let dir = p.path().join("parity-fixtures/error-processor");
    let case = |name: &str, fixture: Value| {
        std::fs::write(dir.join(format!("{name}.json")), fixture.to_string()).unwrap();
    };
    // A body that is not a string: the Lambda poller always sends text.
    let mut f = read(&p, "error-processor", "low-minimal");
    f["name"] = "bad-body".into();
    f["event"]["Records"][0]["body"] = serde_json::json!({"request_id": "r"});
    case("bad-body", f);
    let o = p.run(&[
        "parity",
        "--function",
        "error-processor",
        "--case",
        "bad-body",
    ]);
    assert_input_error(
        &o,
        &["bad-body.json", "not a string", "$.event.Records[0].body"],
    );
    std::fs::remove_file(dir.join("bad-body.json")).unwrap();
    // No Records at all.
    case(
        "no-records",
        serde_json::json!({"name": "no-records", "kind": "sqs", "event": {"records": []}}),
    );
    let o = p.run(&[
        "parity",
        "--function",
        "error-processor",
        "--case",
        "no-records",
    ]);
    assert_input_error(
        &o,
        &["no-records.json", "missing `Records`", "$.event.Records"],
    );
    std::fs::remove_file(dir.join("no-records.json")).unwrap();
    // An S3 record whose key S3 would have encoded, and one without a size.
    let sdir = p.path().join("parity-fixtures/process-manual");
    let mut f = read(&p, "process-manual", "pdf-ingested");
    f["name"] = "raw-key".into();
    f["event"]["Records"][0]["s3"]["object"]["key"] = "manuals/a b.pdf".into();
    std::fs::write(sdir.join("raw-key.json"), f.to_string()).unwrap();
    let o = p.run(&[
        "parity",
        "--function",
        "process-manual",
        "--case",
        "raw-key",
    ]);
    assert_input_error(&o, &["raw-key.json", "$.event.Records[0].s3.object.key"]);
    // An S3 event in a fixture that does not say so.
    let mut f = read(&p, "process-manual", "pdf-ingested");
    f["name"] = "raw-key".into();
    f.as_object_mut().unwrap().remove("kind");
    std::fs::write(sdir.join("raw-key.json"), f.to_string()).unwrap();
    let o = p.run(&[
        "parity",
        "--function",
        "process-manual",
        "--case",
        "raw-key",
    ]);
    assert_input_error(&o, &["raw-key.json", "\"kind\": \"s3\"", "$.kind"]);
}

#[test]
fn a_recording_of_the_other_oracle_is_refused() {
    let p = TempProject::new();
    let file = p
        .path()
        .join("parity-fixtures/error-processor/low-minimal.json");
    let mut f: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(f["recorded"]["oracle"], "intended");
    f["recorded"].as_object_mut().unwrap().remove("oracle");
    std::fs::write(&file, f.to_string()).unwrap();
    let o = p.run(&[
        "parity",
        "--function",
        "error-processor",
        "--case",
        "low-minimal",
    ]);
    assert_input_error(
        &o,
        &[
            "low-minimal.json",
            "deployed",
            "oracle is intended",
            "$.recorded.oracle",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_and_topics_are_state_and_reading_them_consumes_nothing() {
    let p = TempProject::new();
    let project = manuel_migrate::config::Project::load(p.path()).unwrap();
    let stack = Stack::attach_or_start(&project).await.unwrap();
    let vars = stack.vars();
    let conf = stack.sdk_config().await;
    let before = Snapshot::take(&stack).await.unwrap();
    assert!(before.sqs.is_empty() && before.sns.is_empty(), "{before:?}");

    let sns = aws_sdk_sns::Client::new(&conf);
    sns.publish()
        .topic_arn(&vars["error_topic"])
        .subject("Manuel HIGH Error - s3")
        .message("line 1\nline 2")
        .message_attributes(
            "Severity",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("high")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    for body in ["{\"b\": 2}", "plain text"] {
        sqs.send_message()
            .queue_url(&vars["error_queue"])
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let after = Snapshot::take(&stack).await.unwrap();
    let again = Snapshot::take(&stack).await.unwrap();
    assert_eq!(after, again, "taking a snapshot must not consume messages");
    let published = &after.sns["manuel-error-notifications-local#1"];
    assert_eq!(published["subject"], "Manuel HIGH Error - s3");
    assert_eq!(published["message"], "line 1\nline 2");
    assert_eq!(published["attributes"]["Severity"]["value"], "high");
    // Messages as a multiset: sorted, numbered; JSON bodies parsed.
    let queued: Vec<&Value> = after.sqs.values().collect();
    assert_eq!(queued.len(), 2, "{:?}", after.sqs);
    assert!(queued
        .iter()
        .any(|m| m["body"] == serde_json::json!({"b": 2})));
    assert!(queued.iter().any(|m| m["body"] == "plain text"));
    let changes = Snapshot::changes(&before, &after);
    assert!(
        changes["sns"].is_object() && changes["sqs"].is_object(),
        "{changes}"
    );
    // A reset empties them, and the observer subscription comes back.
    stack.reset().await.unwrap();
    let fresh = Snapshot::take(&stack).await.unwrap();
    assert!(fresh.sqs.is_empty() && fresh.sns.is_empty());
}

#[test]
fn functions_list_names_the_event_source_of_functions_without_routes() {
    let p = TempProject::new();
    let o = p.run(&["functions", "list"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let out = stdout(&o);
    let row = |name: &str| {
        out.lines()
            .find(|l| l.contains(&format!("{name} (functions/{name})")))
            .unwrap_or_else(|| panic!("{name} not listed: {out}"))
            .to_owned()
    };
    assert!(row("process-manual").contains("S3 notifications"), "{out}");
    assert!(row("error-processor").contains("SQS batches"), "{out}");
}
