//! The Runtime API emulator against real runtimes: awslambdaric with tiny handlers of our own,
//! and the Rust health bootstrap against a real redis-server.

mod common;

use axum::body::Bytes;
use manuel_migrate::exec::local::{function_env, LocalTargetSpec, Profile};
use manuel_migrate::exec::runtime_api::Outcome;
use manuel_migrate::exec::{Answer, Side};
use manuel_migrate::parity::diff::{diff_responses, Class, DiffInput, SideCtx};
use manuel_migrate::parity::rules::Rules;
use manuel_migrate::parity::run::noise_between;
use manuel_migrate::stack::{Ports, Stack};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

fn body_json(answer_payload: &Bytes) -> Value {
    let resp: Value = serde_json::from_slice(answer_payload).expect("response is JSON");
    serde_json::from_str(resp["body"].as_str().expect("body string")).expect("body is JSON")
}

#[tokio::test]
async fn python_handler_answers_and_stays_warm() {
    let mut sb = common::python_sandbox("app.echo", Duration::from_secs(10));
    let first = sb
        .invoke(Bytes::from_static(br#"{"hello": "world"}"#))
        .await
        .unwrap();
    let Outcome::Response(payload) = &first.outcome else {
        panic!("{:?}", first.outcome)
    };
    let body = body_json(payload);
    assert_eq!(body["event"], json!({"hello": "world"}));
    assert_eq!(body["has_time_left"], json!(true));
    assert_eq!(
        body["memory"],
        json!("128"),
        "awslambdaric exposes memory as a string"
    );
    assert_eq!(
        body["arn"],
        json!("arn:aws:lambda:eu-west-1:123456789012:function:tiny")
    );
    assert_eq!(body["request_id"], json!(first.request_id));
    assert!(first.report.cold);
    assert!(first.report.init_ms.is_some_and(|ms| ms > 0.0));
    assert!(first.report.max_rss_mb > 1.0, "peak RSS read from /proc");
    assert!(
        first.logs.iter().any(|l| l.contains("module app imported")),
        "{:?}",
        first.logs
    );

    let second = sb.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let Outcome::Response(payload) = &second.outcome else {
        panic!()
    };
    assert_eq!(
        body_json(payload)["pid"],
        body["pid"],
        "warm invocation reuses the process"
    );
    assert!(!second.report.cold);
    assert_eq!(second.report.init_ms, None);
    assert!(second
        .report
        .line(&second.request_id)
        .starts_with("REPORT RequestId: "));
}

#[tokio::test]
async fn handler_error_is_reported_as_lambda_does() {
    let mut sb = common::python_sandbox("app.boom", Duration::from_secs(10));
    let inv = sb
        .invoke(Bytes::from_static(br#"{"why": "testing"}"#))
        .await
        .unwrap();
    let Outcome::FunctionError {
        error_type,
        payload,
    } = &inv.outcome
    else {
        panic!("{:?}", inv.outcome)
    };
    assert_eq!(error_type, "ValueError");
    assert_eq!(payload["errorMessage"], json!("boom: testing"));
    let answer = Answer::from(inv);
    assert_eq!(
        answer.response["statusCode"],
        json!(502),
        "API Gateway turns it into a 502"
    );
    // The runtime survives a handler error.
    let again = sb.invoke(Bytes::from_static(b"{}")).await.unwrap();
    assert!(!again.report.cold);
}

#[tokio::test]
async fn timeout_kills_the_process_and_the_next_invocation_is_cold() {
    let mut sb = common::python_sandbox("app.slow", Duration::from_secs(1));
    let inv = sb
        .invoke(Bytes::from_static(br#"{"sleep": 30}"#))
        .await
        .unwrap();
    let Outcome::FunctionError {
        error_type,
        payload,
    } = &inv.outcome
    else {
        panic!("{:?}", inv.outcome)
    };
    assert_eq!(error_type, "Sandbox.Timedout");
    assert!(payload["errorMessage"]
        .as_str()
        .unwrap()
        .contains("Task timed out after 1.00 seconds"));
    let next = sb
        .invoke(Bytes::from_static(br#"{"sleep": 0}"#))
        .await
        .unwrap();
    assert!(next.report.cold, "a timed-out sandbox is replaced");
    assert!(matches!(next.outcome, Outcome::Response(_)));
}

#[tokio::test]
async fn init_error_is_reported_and_process_is_gone() {
    let mut sb = common::python_sandbox("broken.handler", Duration::from_secs(10));
    let inv = sb.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let Outcome::FunctionError {
        error_type,
        payload,
    } = &inv.outcome
    else {
        panic!("{:?}", inv.outcome)
    };
    assert_eq!(error_type, "Runtime.ImportModuleError");
    assert!(
        payload["errorMessage"]
            .as_str()
            .unwrap()
            .contains("module_that_does_not_exist"),
        "{payload}"
    );
    assert!(inv.report.init_failed);
}

#[tokio::test]
async fn process_exit_during_invoke_is_an_exit_error() {
    let mut sb = common::python_sandbox("app.die", Duration::from_secs(10));
    let inv = sb.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let Outcome::FunctionError {
        error_type,
        payload,
    } = &inv.outcome
    else {
        panic!("{:?}", inv.outcome)
    };
    assert_eq!(error_type, "Runtime.ExitError");
    assert!(
        payload["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exit status: 3"),
        "{payload}"
    );
}

#[tokio::test]
async fn a_function_past_its_memory_size_fails_like_lambdas_out_of_memory_error() {
    use manuel_migrate::exec::runtime_api::limits::Enforcement;
    let mut sb = common::python_sandbox_limited("app.hog", Duration::from_secs(30), 128, true);
    let inv = sb
        .invoke(Bytes::from_static(b"{\"mb\": 300}"))
        .await
        .unwrap();
    assert_ne!(inv.report.limits, Enforcement::Off);
    let Outcome::FunctionError {
        error_type,
        payload,
    } = &inv.outcome
    else {
        panic!("300 MB in a 128 MB function answered {:?}", inv.outcome)
    };
    assert_eq!(error_type, "Runtime.OutOfMemory");
    assert!(
        payload["errorMessage"]
            .as_str()
            .unwrap()
            .contains(&inv.request_id),
        "{payload}"
    );
    // The environment is replaced: the next invocation starts a new process, and fits.
    let next = sb
        .invoke(Bytes::from_static(b"{\"mb\": 10}"))
        .await
        .unwrap();
    assert!(next.report.cold, "{:?}", next.report);
    assert!(!next.outcome.is_error(), "{:?}", next.outcome);
    // Without the limits the same allocation succeeds.
    let mut free = common::python_sandbox_limited("app.hog", Duration::from_secs(30), 128, false);
    let inv = free
        .invoke(Bytes::from_static(b"{\"mb\": 300}"))
        .await
        .unwrap();
    assert!(!inv.outcome.is_error(), "{:?}", inv.outcome);
    assert_eq!(inv.report.limits, Enforcement::Off);
}

#[tokio::test]
async fn the_process_gets_the_cpu_share_of_its_memory_size() {
    use manuel_migrate::exec::runtime_api::limits::Enforcement;
    let mut sb = common::python_sandbox_limited("app.cgroups", Duration::from_secs(30), 512, true);
    let inv = sb.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let Outcome::Response(body) = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap();
    let cgroups = answer["body"].as_str().unwrap().to_owned();
    match inv.report.limits {
        Enforcement::CgroupV1 => {
            // `hierarchy-id:controllers:path`, one line per v1 hierarchy.
            let path_of = |controller: &str| {
                cgroups
                    .lines()
                    .find_map(|l| {
                        let mut f = l.splitn(3, ':');
                        let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
                        ctl.split(',')
                            .any(|c| c == controller)
                            .then(|| path.to_owned())
                    })
                    .unwrap_or_else(|| panic!("no {controller} cgroup in {cgroups}"))
            };
            let cpu = path_of("cpu");
            assert!(cpu.starts_with("/manuel-migrate/"), "{cgroups}");
            let dir = std::path::Path::new("/sys/fs/cgroup/cpu").join(cpu.trim_start_matches('/'));
            let quota: u64 = std::fs::read_to_string(dir.join("cpu.cfs_quota_us"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            // 512 MB is 512/1769 of a vCPU: 28.9 ms of every 100 ms.
            assert_eq!(quota, 28943);
            let mem = path_of("memory");
            let limit: u64 = std::fs::read_to_string(
                std::path::Path::new("/sys/fs/cgroup/memory")
                    .join(mem.trim_start_matches('/'))
                    .join("memory.limit_in_bytes"),
            )
            .unwrap()
            .trim()
            .parse()
            .unwrap();
            assert_eq!(limit, 512 * 1024 * 1024);
            drop(sb);
            assert!(
                !dir.exists(),
                "the cgroup {} outlived its sandbox",
                dir.display()
            );
        }
        Enforcement::CgroupV2 => {
            let path = cgroups.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
            assert!(path.contains("/manuel-migrate/"), "{cgroups}");
            let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
            assert_eq!(
                std::fs::read_to_string(dir.join("cpu.max")).unwrap().trim(),
                "28943 100000"
            );
        }
        Enforcement::Model => {
            // No writable cgroup here: the duration is modelled, never shorter than measured.
            assert!(inv.report.duration_ms > 0.0);
        }
        Enforcement::Off => panic!("limits were asked for"),
    }
}

#[tokio::test]
async fn oversized_response_is_refused() {
    let mut sb = common::python_sandbox("app.big", Duration::from_secs(10));
    let inv = sb.invoke(Bytes::from_static(b"{}")).await.unwrap();
    let Outcome::FunctionError { error_type, .. } = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    assert_eq!(
        error_type, "Function.ResponseSizeTooLarge",
        "{:?}",
        inv.logs
    );
}

#[tokio::test]
async fn noise_is_detected_from_two_runs_without_any_rule() {
    let mut sb = common::python_sandbox("app.clock", Duration::from_secs(10));
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(Answer::from(
            sb.invoke(Bytes::from_static(b"{}")).await.unwrap(),
        ));
    }
    let ctx = SideCtx::default();
    let noise = noise_between(
        &answers[0],
        &answers[1],
        manuel_migrate::exec::EventKind::Apigw,
        &ctx,
    );
    assert_eq!(noise, vec!["$.now_ns".to_string()]);
    let rules = Rules::default();
    let input = DiffInput {
        function: "tiny",
        case: "clock",
        rules: &rules,
        noise: &noise,
        python: &ctx,
        rust: &ctx,
    };
    let diffs = diff_responses(&input, &answers[0].response, &answers[2].response);
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].path, "$.now_ns");
    assert_eq!(diffs[0].class, Class::Noise);
}

#[tokio::test]
async fn rust_health_under_the_emulator_checks_a_real_redis() {
    let project = common::project();
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(&project, dir.path().join("stack"), Ports::default(), false)
        .await
        .expect("stack starts (run scripts/setup.sh if redis-server or moto is missing)");
    let env = function_env(
        &project,
        "health",
        &stack.vars(),
        &stack.aws_env(),
        &BTreeMap::new(),
    )
    .unwrap();
    let spec = LocalTargetSpec {
        project: &project,
        function: "health",
        side: Side::Rust,
        env,
        python_src: None,
        profile: Some(Profile::Debug),
    }
    .build()
    .expect("target/debug/health is built (cargo build --workspace)");
    let mut sb = manuel_migrate::exec::local::sandbox(spec, false);
    let event = Bytes::from(json!({"httpMethod": "GET", "path": "/health"}).to_string());
    let inv = sb.invoke(event.clone()).await.unwrap();
    let Outcome::Response(payload) = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    let body = body_json(payload);
    assert_eq!(body["status"], json!("healthy"));
    assert_eq!(
        body["checks"]["redis_cache"]["connectivity"],
        json!("network_reachable")
    );
    assert_eq!(
        body["checks"]["redis_cache"]["port"],
        json!(stack.info.redis.port.to_string())
    );
    assert!(inv.report.init_ms.is_some());

    // Stop redis: the same warm process now finds the port closed.
    let redis = stack.info.redis.clone();
    unsafe {
        libc::kill(redis.pid as i32, libc::SIGKILL);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let inv = sb.invoke(event).await.unwrap();
    assert!(!inv.report.cold);
    let Outcome::Response(payload) = &inv.outcome else {
        panic!()
    };
    let body = body_json(payload);
    assert_eq!(
        body["checks"]["redis_cache"]["connectivity"],
        json!("network_unreachable")
    );
    assert_eq!(
        body["checks"]["redis_cache"]["connectivity_message"],
        json!("Cannot connect to Redis endpoint (error: 111)")
    );
}

/// Issue 20: fault injection is not compiled into the function binaries any more — a deployed
/// function cannot be made to fail by `MANUEL_MIGRATE_FAULT_PERCENT` — and rehearsals inject
/// faults in the local Runtime API instead, exactly the asked share.
#[tokio::test]
async fn faults_come_from_the_runtime_api_never_from_an_environment_variable() {
    let project = common::project();
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(&project, dir.path().join("stack"), Ports::default(), false)
        .await
        .unwrap();
    let mut overrides = BTreeMap::new();
    overrides.insert(
        "MANUEL_MIGRATE_FAULT_PERCENT".to_string(),
        "100".to_string(),
    );
    let env = function_env(
        &project,
        "health",
        &stack.vars(),
        &stack.aws_env(),
        &overrides,
    )
    .unwrap();
    let spec = LocalTargetSpec {
        project: &project,
        function: "health",
        side: Side::Rust,
        env,
        python_src: None,
        profile: Some(Profile::Debug),
    }
    .build()
    .unwrap();
    let mut sb = manuel_migrate::exec::local::sandbox(spec, false);
    let event = Bytes::from(json!({"httpMethod": "GET", "path": "/health"}).to_string());
    for _ in 0..5 {
        let inv = sb.invoke(event.clone()).await.unwrap();
        assert!(
            matches!(inv.outcome, Outcome::Response(_)),
            "{:?}",
            inv.outcome
        );
    }
    sb.inject(std::sync::Arc::new(manuel_migrate::exec::Faults::new(
        20, 1.0,
    )));
    let mut injected = 0;
    for _ in 0..50 {
        match sb.invoke(event.clone()).await.unwrap().outcome {
            Outcome::FunctionError { error_type, .. } => {
                assert_eq!(error_type, "InjectedFault");
                injected += 1;
            }
            Outcome::Response(_) => {}
        }
    }
    assert_eq!(injected, 10, "exactly 20 % of 50");
}
