//! The reset between stateful cases: moto's checkpoint of the provisioned stack restored (data,
//! resource configuration, resources created since, Cognito, moto's seeded ids), Redis flushed —
//! and the full reset it falls back to giving the same state.

mod common;

use common::TempProject;
use manuel_migrate::exec::snapshot::Snapshot;
use manuel_migrate::stack::Stack;

/// Everything a case could change that the state snapshot does not show.
async fn configuration(stack: &Stack) -> Configuration {
    let conf = stack.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let pitr = ddb
        .describe_continuous_backups()
        .table_name(stack.usage_table())
        .send()
        .await
        .unwrap()
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket(stack.manuals_bucket())
        .send()
        .await
        .unwrap()
        .status()
        .map(|s| s.as_str().to_owned());
    let mut buckets: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    buckets.sort();
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    let pool = &stack.info.cognito.as_ref().unwrap().pool_id;
    let users = cognito
        .list_users()
        .user_pool_id(pool)
        .send()
        .await
        .unwrap()
        .users()
        .len();
    (pitr, versioning, buckets, users)
}

/// One item in the usage table (user `u`, `date`).
async fn put_usage_item(stack: &Stack, date: &str) {
    let conf = stack.sdk_config().await;
    aws_sdk_dynamodb::Client::new(&conf)
        .put_item()
        .table_name(stack.usage_table())
        .item(
            "user_id",
            aws_sdk_dynamodb::types::AttributeValue::S("u".into()),
        )
        .item(
            "date",
            aws_sdk_dynamodb::types::AttributeValue::S(date.into()),
        )
        .send()
        .await
        .unwrap();
}

/// What a case might do: data in every store, configuration, a new bucket, a new user.
async fn change_everything(stack: &Stack) {
    let conf = stack.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    put_usage_item(stack, "2026-12-01").await;
    ddb.update_continuous_backups()
        .table_name(stack.usage_table())
        .point_in_time_recovery_specification(
            aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    s3.put_object()
        .bucket(stack.manuals_bucket())
        .key("manuals/u/a.pdf")
        .body(b"%PDF-1.4".to_vec().into())
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket(stack.manuals_bucket())
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.create_bucket()
        .bucket("a-bucket-made-by-a-case")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    sqs.send_message()
        .queue_url(&stack.vars()["error_queue"])
        .message_body("left behind")
        .send()
        .await
        .unwrap();
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
    cognito
        .admin_create_user()
        .user_pool_id(&stack.info.cognito.as_ref().unwrap().pool_id)
        .username("made-by-a-case")
        .send()
        .await
        .unwrap();
    stack
        .redis::<()>(redis::cmd("SET").arg("query:k").arg("v"))
        .await
        .unwrap();
}

/// An id moto draws from its seeded generator.
async fn next_pool_id(stack: &Stack) -> String {
    let conf = stack.sdk_config().await;
    aws_sdk_cognitoidentityprovider::Client::new(&conf)
        .create_user_pool()
        .pool_name("drawn")
        .send()
        .await
        .unwrap()
        .user_pool()
        .and_then(|p| p.id())
        .unwrap()
        .to_owned()
}

type Configuration = (String, Option<String>, Vec<String>, usize);

/// A private stack, reset: its snapshot and configuration.
async fn fresh_stack(p: &TempProject) -> (Stack, Snapshot, Configuration) {
    let project = manuel_migrate::config::Project::load(p.path()).unwrap();
    let stack = Stack::attach_or_start(&project).await.unwrap();
    stack.reset().await.unwrap();
    let fresh = Snapshot::take(&stack).await.unwrap();
    let config = configuration(&stack).await;
    (stack, fresh, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_gives_back_the_provisioned_stack_whatever_a_case_changed() {
    let p = TempProject::new();
    let (stack, fresh, fresh_config) = fresh_stack(&p).await;
    assert_eq!(fresh_config.0, "DISABLED");
    assert_eq!(fresh_config.1, None);

    change_everything(&stack).await;
    let changed = Snapshot::take(&stack).await.unwrap();
    assert_ne!(changed, fresh);
    assert_ne!(configuration(&stack).await, fresh_config);

    stack.reset().await.unwrap();
    assert_eq!(Snapshot::take(&stack).await.unwrap(), fresh);
    assert_eq!(configuration(&stack).await, fresh_config);

    // moto's seeded ids start over: a case draws the same ids whatever ran before it.
    stack.reset().await.unwrap();
    let first = next_pool_id(&stack).await;
    change_everything(&stack).await;
    stack.reset().await.unwrap();
    assert_eq!(next_pool_id(&stack).await, first);

    // The full reset (what a moto without checkpoints gets) ends in the same place.
    change_everything(&stack).await;
    stack.full_reset().await.unwrap();
    assert_eq!(Snapshot::take(&stack).await.unwrap(), fresh);
    assert_eq!(configuration(&stack).await, fresh_config);
    stack.reset().await.unwrap();
    assert_eq!(next_pool_id(&stack).await, first);
}

/// A restore straight at moto: how many services it copied back, of how many.
async fn restored(stack: &Stack) -> (u64, u64) {
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/__local/restore", stack.moto_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["restored"].as_u64().expect("a restored count"),
        v["backends"].as_u64().expect("a backend count"),
    )
}

/// Issue 19: a restore copies back only what requests touched since the last one — and what it
/// leaves alone was not changed: after a change to one service, the stack is the fresh one again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_copies_back_what_was_touched_and_gives_the_fresh_stack() {
    let p = TempProject::new();
    let (stack, fresh, fresh_config) = fresh_stack(&p).await;
    let (_, all) = restored(&stack).await;
    assert!(all >= 5, "{all} services in the checkpoint");
    // Nothing touched since: nothing to copy.
    assert_eq!(restored(&stack).await, (0, all));
    put_usage_item(&stack, "d").await;
    assert_ne!(Snapshot::take(&stack).await.unwrap(), fresh);
    let conf = stack.sdk_config().await;
    // DynamoDB alone.
    assert_eq!(restored(&stack).await, (1, all));
    assert_eq!(Snapshot::take(&stack).await.unwrap(), fresh);
    // Cognito alone (a user is not in the snapshot, the configuration counts them).
    let pool = stack.info.cognito.as_ref().unwrap().pool_id.clone();
    aws_sdk_cognitoidentityprovider::Client::new(&conf)
        .admin_create_user()
        .user_pool_id(&pool)
        .username("someone-new")
        .send()
        .await
        .unwrap();
    assert_ne!(configuration(&stack).await, fresh_config);
    assert!(restored(&stack).await.0 < all);
    assert_eq!(configuration(&stack).await, fresh_config);
    // CloudWatch alone (the shift guard's metrics and alarms stay within it); the reads
    // above touched their services, a first restore puts them back.
    restored(&stack).await;
    aws_sdk_cloudwatch::Client::new(&conf)
        .put_metric_data()
        .namespace("Manuel/Test")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("m")
                .value(1.0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(restored(&stack).await.0, 1);
    // An S3 write may notify other services: everything.
    change_everything(&stack).await;
    assert_eq!(restored(&stack).await, (all, all));
    // Redis too (the stack's reset flushes it; moto has nothing left to copy back).
    stack.reset().await.unwrap();
    assert_eq!(Snapshot::take(&stack).await.unwrap(), fresh);
    assert_eq!(configuration(&stack).await, fresh_config);
}

/// A setup with every kind of value a fixture seeds: DynamoDB types down to nested maps, lists
/// and sets, objects with and without a type, user metadata, a PNG, another bucket, Redis
/// strings with and without a TTL.
fn rich_setup() -> manuel_migrate::exec::state::Setup {
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nnot really");
    serde_json::from_value(serde_json::json!({
        "dynamodb": [
            {"table": "{usage_table}", "item": {
                "user_id": {"S": "u1"}, "date": {"S": "{date}"},
                "daily_count": {"N": "3"}, "ratio": {"N": "0.25"}, "huge": {"N": "12345678901234567890123456789012345678"},
                "flag": {"BOOL": true}, "none": {"NULL": true},
                "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"deep": {"N": "2.5"}}}]},
                "map": {"M": {"k": {"S": "v"}, "n": {"N": "7"}}},
                "tags": {"SS": ["b", "a"]}, "nums": {"NS": ["2", "1"]},
                "blob": {"B": "AAEC"}
            }},
            {"table": "{usage_table}", "item": {"user_id": {"S": "cost#u1"}, "date": {"S": "{iso}"}, "cost": {"N": "0.0001"}}},
            {"table": "manuel-error-tracking-{stage}", "item": {"error_id": {"S": "e-1"}, "severity": {"S": "HIGH"}, "timestamp": {"S": "{iso-60}"}}}
        ],
        "s3": [
            {"bucket": "{manuals_bucket}", "key": "manuals/u1/guide.pdf", "body": "%PDF-1.4 text",
             "content_type": "application/pdf", "metadata": {"Display_Name": "Kaffeemaschine Küche ☕", "original-name": "g.pdf"}},
            {"bucket": "{manuals_bucket}", "key": "manuals/u1/untyped.bin", "body": "plain"},
            {"bucket": "{manuals_bucket}", "key": "processed-pages/0f8fad5b-d9cb-469f-a165-70867728950e.png",
             "body_base64": png, "content_type": "image/png"},
            {"bucket": "{audio_bucket}", "key": "audio/u1/a.wav", "body": "RIFF", "content_type": "audio/wav"}
        ],
        "redis": [
            {"key": "query:u1:abc", "value": {"answer": "x", "cached_at": 1794744000.5}, "ttl": 3600},
            {"key": "plain", "value": "text"}
        ]
    }))
    .unwrap()
}

/// Messages, a published notification and a Transcribe job: the rest of what a snapshot reads.
async fn leave_messages_and_a_job(stack: &Stack) {
    let conf = stack.sdk_config().await;
    let vars = stack.vars();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    for body in ["{\"b\": 2}", "not json"] {
        sqs.send_message()
            .queue_url(&vars["error_queue"])
            .message_body(body)
            .message_attributes(
                "kind",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("test")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    aws_sdk_sns::Client::new(&conf)
        .publish()
        .topic_arn(&vars["error_topic"])
        .subject("Alert")
        .message("{\"severity\": \"HIGH\"}")
        .send()
        .await
        .unwrap();
    aws_sdk_transcribe::Client::new(&conf)
        .start_transcription_job()
        .transcription_job_name("transcribe-0f8fad5b-d9cb-469f-a165-70867728950e")
        .language_code(aws_sdk_transcribe::types::LanguageCode::EnUs)
        .media(
            aws_sdk_transcribe::types::Media::builder()
                .media_file_uri(format!("s3://{}/audio/u1/a.wav", stack.audio_bucket()))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// What a function reading the seeded objects and items gets back (beyond the snapshot).
async fn as_read(stack: &Stack) -> Vec<String> {
    let conf = stack.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let mut out = Vec::new();
    for key in ["manuals/u1/guide.pdf", "manuals/u1/untyped.bin"] {
        let o = s3
            .get_object()
            .bucket(stack.manuals_bucket())
            .key(key)
            .send()
            .await
            .unwrap();
        let mut meta: Vec<_> = o
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        meta.sort();
        out.push(format!(
            "{key}: {:?} {:?} {:?} {:?}",
            o.content_type(),
            o.content_length(),
            o.e_tag(),
            meta
        ));
    }
    let item = aws_sdk_dynamodb::Client::new(&conf)
        .get_item()
        .table_name(stack.usage_table())
        .key(
            "user_id",
            aws_sdk_dynamodb::types::AttributeValue::S("u1".into()),
        )
        .key(
            "date",
            aws_sdk_dynamodb::types::AttributeValue::S(
                chrono::Utc::now().format("%Y-%m-%d").to_string(),
            ),
        )
        .send()
        .await
        .unwrap();
    let mut attrs: Vec<_> = item
        .item()
        .unwrap()
        .iter()
        // Maps as sorted JSON (the SDK's HashMap has no order); sets in the order read.
        .map(|(k, v)| match v {
            aws_sdk_dynamodb::types::AttributeValue::M(_) => {
                format!("{k}={}", manuel_migrate::exec::snapshot::attr_json(v))
            }
            other => format!("{k}={other:?}"),
        })
        .collect();
    attrs.sort();
    out.extend(attrs);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_reads_and_seeds_the_state_as_the_sdk_does() {
    use manuel_migrate::exec::state;
    use manuel_migrate::stack::Restore;
    let p = TempProject::new();
    let project = manuel_migrate::config::Project::load(p.path()).unwrap();
    let stack = Stack::attach_or_start(&project).await.unwrap();
    let setup = rich_setup();
    let (dir, now) = (project.fixtures_dir(), chrono::Utc::now());

    // Seeded through the SDK, read both ways.
    stack.reset().await.unwrap();
    state::seed(&stack, &setup, &dir, now).await.unwrap();
    leave_messages_and_a_job(&stack).await;
    let by_sdk = Snapshot::take_through_sdk(&stack).await.unwrap();
    let by_moto = Snapshot::take(&stack).await.unwrap();
    assert_eq!(by_moto, by_sdk);
    // Not an empty agreement: every service shows what was put there.
    assert_eq!(by_sdk.dynamodb.len(), 3, "{:?}", by_sdk.dynamodb.keys());
    assert_eq!(by_sdk.s3.len(), 4, "{:?}", by_sdk.s3.keys());
    assert_eq!(by_sdk.redis.len(), 2);
    assert_eq!(by_sdk.sqs.len(), 2, "{:?}", by_sdk.sqs);
    assert_eq!(by_sdk.sns.len(), 1, "{:?}", by_sdk.sns);
    assert_eq!(by_sdk.transcribe.len(), 1);
    // Reading through the SDK left every message visible: a second reading sees them all.
    assert_eq!(Snapshot::take_through_sdk(&stack).await.unwrap(), by_sdk);
    let read_sdk_seeded = as_read(&stack).await;

    // Seeded by moto in the restore's request: the same state, read the same by a function.
    let seed = state::moto_seed(&stack, &setup, &dir, now).unwrap();
    assert_eq!(
        stack.restore_seeded(seed.as_ref()).await.unwrap(),
        Restore::Done
    );
    state::seed_redis(&stack, &setup, now).await.unwrap();
    leave_messages_and_a_job(&stack).await;
    let seeded_by_moto = Snapshot::take(&stack).await.unwrap();
    assert_eq!(seeded_by_moto, by_sdk);
    assert_eq!(Snapshot::take_through_sdk(&stack).await.unwrap(), by_sdk);
    assert_eq!(as_read(&stack).await, read_sdk_seeded);

    // The restore's own reading of the state it left is the reading taken right after it.
    let (restored, dump) = stack.restore_reading(seed.as_ref(), true).await.unwrap();
    assert_eq!(restored, Restore::Done);
    state::seed_redis(&stack, &setup, now).await.unwrap();
    let with_restore = Snapshot::of_moto_reading(&stack, dump.expect("a moto reading"))
        .await
        .unwrap();
    assert_eq!(with_restore, Snapshot::take(&stack).await.unwrap());
    assert_eq!(
        with_restore.dynamodb.len(),
        3,
        "{:?}",
        with_restore.dynamodb
    );
    assert_eq!(with_restore.redis.len(), 2);
    // Without `read`, no reading.
    assert_eq!(
        stack.restore_reading(seed.as_ref(), false).await.unwrap(),
        (Restore::Done, None)
    );

    // A seed moto refuses names its entry; the restore itself happened.
    let bad: state::Setup = serde_json::from_value(serde_json::json!({
        "dynamodb": [{"table": "no-such-table", "item": {"k": {"S": "v"}}}]
    }))
    .unwrap();
    let seed = state::moto_seed(&stack, &bad, &dir, now).unwrap();
    match stack.restore_seeded(seed.as_ref()).await.unwrap() {
        Restore::SeedRefused(m) => {
            assert!(
                m.contains("$.setup.dynamodb[0]") && m.contains("no-such-table"),
                "{m}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    stack.reset().await.unwrap();
    let fresh = Snapshot::take(&stack).await.unwrap();
    assert!(fresh.dynamodb.is_empty() && fresh.s3.is_empty() && fresh.redis.is_empty());
}
