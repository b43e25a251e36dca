//! The reset between stateful cases: moto's checkpoint of the provisioned stack restored (data,
//! resource configuration, resources created since, Cognito, moto's seeded ids), Redis flushed —
//! and the full reset it falls back to giving the same state.

mod common;

use common::TempProject;
use manuel_migrate::exec::snapshot::Snapshot;
use manuel_migrate::stack::Stack;

/// Everything a case could change that the state snapshot does not show.
async fn configuration(stack: &Stack) -> (String, Option<String>, Vec<String>, usize) {
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

/// What a case might do: data in every store, configuration, a new bucket, a new user.
async fn change_everything(stack: &Stack) {
    let conf = stack.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    ddb.put_item()
        .table_name(stack.usage_table())
        .item(
            "user_id",
            aws_sdk_dynamodb::types::AttributeValue::S("u".into()),
        )
        .item(
            "date",
            aws_sdk_dynamodb::types::AttributeValue::S("2026-12-01".into()),
        )
        .send()
        .await
        .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_gives_back_the_provisioned_stack_whatever_a_case_changed() {
    let p = TempProject::new();
    let project = manuel_migrate::config::Project::load(p.path()).unwrap();
    let stack = Stack::attach_or_start(&project).await.unwrap();
    stack.reset().await.unwrap();
    let fresh = Snapshot::take(&stack).await.unwrap();
    let fresh_config = configuration(&stack).await;
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
