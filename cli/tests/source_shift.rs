//! Issue 15: alias weights route only what invokes the alias. `shift` reads the function's
//! event source mappings (moto's Lambda) before any weight change and refuses one that invokes
//! `$LATEST` — the Rust code after `publish --as-version-of` — naming it.

mod common;

use manuel_migrate::stack::{Ports, Stack};
use std::process::Command;

const FUNCTION: &str = "manuel-error-processor-dev";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unqualified_event_source_refuses_the_shift_and_the_alias_lets_it_through() {
    let project = common::project();
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&project, tmp.path().join("stack"), Ports::default(), false)
        .await
        .unwrap();
    let conf = stack.sdk_config().await;
    manuel_migrate::stack::moto::create_two_version_function(&stack, FUNCTION)
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = sqs
        .create_queue()
        .queue_name("manuel-error-dlq-dev")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = "arn:aws:sqs:eu-west-1:123456789012:manuel-error-dlq-dev";
    assert!(url.ends_with("/manuel-error-dlq-dev"));
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let unqualified = lambda
        .create_event_source_mapping()
        .event_source_arn(queue_arn)
        .function_name(FUNCTION)
        .batch_size(10)
        .send()
        .await
        .unwrap()
        .uuid()
        .unwrap()
        .to_owned();

    let ws = common::deployed_workspace(tmp.path(), "error-processor", FUNCTION);
    let run = |args: &[&str]| {
        Command::new(common::bin())
            .arg("--project")
            .arg(&ws)
            .args(args)
            .envs(stack.aws_env())
            .output()
            .unwrap()
    };
    let weight = || async {
        lambda
            .get_alias()
            .function_name(FUNCTION)
            .name("live")
            .send()
            .await
            .unwrap()
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .and_then(|w| w.get("2").copied())
            .unwrap_or(0.0)
    };

    let o = run(&["shift", "--function", "error-processor", "--percent", "5"]);
    common::assert_input_error(
        &o,
        &[&unqualified, queue_arn, "$LATEST", "--accept-event-sources"],
    );
    assert_eq!(weight().await, 0.0, "a refused shift moves nothing");

    // Pointed at the alias (moto reports it by the alias's version), the shift proceeds.
    lambda
        .delete_event_source_mapping()
        .uuid(&unqualified)
        .send()
        .await
        .unwrap();
    lambda
        .create_event_source_mapping()
        .event_source_arn(queue_arn)
        .function_name(format!("{FUNCTION}:live"))
        .batch_size(10)
        .send()
        .await
        .unwrap();
    let o = run(&["shift", "--function", "error-processor", "--percent", "5"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!((weight().await - 0.05).abs() < 1e-9);

    // And --accept-event-sources shifts past an unqualified one, with a warning.
    lambda
        .create_event_source_mapping()
        .event_source_arn(queue_arn)
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    let o = run(&[
        "shift",
        "--function",
        "error-processor",
        "--percent",
        "25",
        "--accept-event-sources",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(common::stderr(&o).contains("Rust gets all of its events"));
    assert!((weight().await - 0.25).abs() < 1e-9);
}
