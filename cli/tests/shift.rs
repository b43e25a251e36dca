//! shift / rollback / status against moto: alias weights, Route 53 records, CloudWatch metrics
//! that the test puts, the journal, crashes.

mod common;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use manuel_migrate::stack::{Ports, Stack};
use std::path::PathBuf;
use std::process::{Command, Output};

struct World {
    stack: Stack,
    lambda: aws_sdk_lambda::Client,
    cw: aws_sdk_cloudwatch::Client,
    ws: PathBuf,
    _tmp: tempfile::TempDir,
}

/// moto with `manuel-health-dev`: version 1 (Python), version 2 (Rust code), alias `live` → 1,
/// and a project whose config records them.
async fn world() -> World {
    let project = common::project();
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&project, tmp.path().join("stack"), Ports::default(), false)
        .await
        .unwrap();
    let conf = stack.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    manuel_migrate::stack::moto::create_two_version_function(&stack, "manuel-health-dev")
        .await
        .unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::copy(
        common::root().join("manuel-migrate.toml"),
        ws.join("manuel-migrate.toml"),
    )
    .unwrap();
    manuel_migrate::config::record_deploy(
        &ws,
        "health",
        &[
            ("function_name", "manuel-health-dev"),
            ("alias", "live"),
            ("python_version", "1"),
            ("rust_version", "2"),
        ],
    )
    .unwrap();
    World {
        cw: aws_sdk_cloudwatch::Client::new(&conf),
        stack,
        lambda,
        ws,
        _tmp: tmp,
    }
}

impl World {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(common::bin())
            .arg("--project")
            .arg(&self.ws)
            .args(args)
            .envs(self.stack.aws_env())
            .output()
            .unwrap()
    }

    async fn alias(&self) -> (String, Vec<(String, f64)>) {
        let a = self
            .lambda
            .get_alias()
            .function_name("manuel-health-dev")
            .name("live")
            .send()
            .await
            .unwrap();
        let mut w: Vec<(String, f64)> = a
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        (a.function_version().unwrap_or_default().to_owned(), w)
    }

    /// Put metrics every 300 ms in the background, as live traffic would.
    fn traffic(&self, per_tick: Vec<(&'static str, f64, f64)>) -> tokio::task::JoinHandle<()> {
        let cw = self.cw.clone();
        tokio::spawn(async move {
            loop {
                for (version, inv, err) in &per_tick {
                    put(&cw, version, *inv, *err).await;
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        })
    }

    async fn run_async(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(common::bin());
        cmd.arg("--project")
            .arg(&self.ws)
            .args(args)
            .envs(self.stack.aws_env());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.ws.join("reports/shift-journal.jsonl")).unwrap_or_default()
    }
}

/// Put AWS/Lambda Invocations and Errors for one version of the alias, as Lambda would.
async fn put(cw: &aws_sdk_cloudwatch::Client, version: &str, invocations: f64, errors: f64) {
    let dims = vec![
        Dimension::builder()
            .name("FunctionName")
            .value("manuel-health-dev")
            .build(),
        Dimension::builder()
            .name("Resource")
            .value("manuel-health-dev:live")
            .build(),
        Dimension::builder()
            .name("ExecutedVersion")
            .value(version)
            .build(),
    ];
    for (name, value) in [("Invocations", invocations), ("Errors", errors)] {
        cw.put_metric_data()
            .namespace("AWS/Lambda")
            .metric_data(
                MetricDatum::builder()
                    .metric_name(name)
                    .set_dimensions(Some(dims.clone()))
                    .value(value)
                    .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(
                        std::time::SystemTime::now(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn percent_status_rollback_and_bad_input() {
    let w = world().await;
    let o = w.run(&["shift", "--function", "health", "--percent", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(w.alias().await, ("1".into(), vec![("2".into(), 0.05)]));
    let o = w.run(&["status"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("5.0%"),
        "{}",
        out(&o)
    );
    let j = w.journal();
    assert!(
        j.contains("\"event\":\"intent\"") && j.contains("\"event\":\"outcome\""),
        "{j}"
    );

    for _ in 0..2 {
        let o = w.run(&["rollback", "--function", "health"]);
        assert_eq!(o.status.code(), Some(0), "{}", out(&o));
        assert_eq!(w.alias().await, ("1".into(), vec![]));
    }
    // After a rollback verdict, going up needs --force.
    let o = w.run(&["shift", "--function", "health", "--percent", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("--force"));
    let o = w.run(&[
        "shift",
        "--function",
        "health",
        "--percent",
        "10",
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(w.alias().await, ("1".into(), vec![("2".into(), 0.1)]));

    // Bad input: no AWS call, exit 2, one line.
    let before = w.journal();
    for (args, needle) in [
        (
            vec!["shift", "--function", "health", "--percent", "150"],
            "percent must be a number from 0 to 100",
        ),
        (
            vec!["shift", "--function", "nope", "--percent", "5"],
            "unknown function 'nope'",
        ),
        (
            vec!["shift", "--function", "health", "--plan", "5,3"],
            "steps must increase",
        ),
    ] {
        let o = w.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        assert!(out(&o).contains(needle), "{}", out(&o));
    }
    // A deploy section without the Rust version.
    let cfg = std::fs::read_to_string(w.ws.join("manuel-migrate.toml")).unwrap();
    std::fs::write(
        w.ws.join("manuel-migrate.toml"),
        cfg.replace("rust_version = \"2\"\n", ""),
    )
    .unwrap();
    let o = w.run(&["shift", "--function", "health", "--percent", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        out(&o).contains("functions.health.deploy.rust_version is missing"),
        "{}",
        out(&o)
    );
    std::fs::write(
        w.ws.join("manuel-migrate.toml"),
        "[project]\nstage = \"x\"\n",
    )
    .unwrap();
    let o = w.run(&["shift", "--function", "health", "--percent", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("manuel-migrate.toml"),
        "{}",
        out(&o)
    );
    assert_eq!(before, w.journal(), "nothing happened");
    assert_eq!(w.alias().await, ("1".into(), vec![("2".into(), 0.1)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_reaches_100_with_healthy_metrics_and_dry_run_calls_nothing() {
    let w = world().await;
    let o = w.run(&[
        "shift",
        "--function",
        "health",
        "--plan",
        "5,50,100",
        "--interval",
        "1s",
        "--dry-run",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let text = out(&o);
    assert!(text.contains("lambda:UpdateAlias manuel-health-dev alias live → version 1, AdditionalVersionWeights {2: 0.05}"), "{text}");
    assert!(text.contains("(promote, no additional weights)"), "{text}");
    assert_eq!(
        w.alias().await,
        ("1".into(), vec![]),
        "dry run changed nothing"
    );
    assert!(w.journal().is_empty());

    // Traffic keeps flowing while the shift watches each window.
    let traffic = w.traffic(vec![("1", 100.0, 1.0), ("2", 40.0, 0.0)]);
    let o = w
        .run_async(&[
            "shift",
            "--function",
            "health",
            "--plan",
            "5,50,100",
            "--interval",
            "2s",
            "--min-invocations",
            "50",
        ])
        .await;
    traffic.abort();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(w.alias().await, ("2".into(), vec![]), "promoted");
    let j = w.journal();
    assert_eq!(j.matches("\"action\":\"promote\"").count(), 2, "{j}");
    assert!(j.contains("\"action\":\"done\""), "{j}");
    assert!(out(&o).contains("p-value"), "{}", out(&o));
}

#[tokio::test]
async fn kill_9_during_a_step_then_status_and_rollback_tell_the_truth() {
    let w = world().await;
    let mut child = Command::new(common::bin())
        .arg("--project")
        .arg(&w.ws)
        .args([
            "shift",
            "--function",
            "health",
            "--plan",
            "5,100",
            "--interval",
            "60s",
        ])
        .envs(w.stack.aws_env())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first step is applied, then kill -9 mid-watch.
    for _ in 0..100 {
        if w.journal().contains("\"event\":\"outcome\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
    let o = w.run(&["status", "--function", "health"]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("5.0%"), "weights are read from AWS: {text}");
    let o = w.run(&["rollback", "--function", "health"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(w.alias().await, ("1".into(), vec![]));
}

#[tokio::test]
async fn route53_weights() {
    let w = world().await;
    let conf = w.stack.sdk_config().await;
    let r53 = aws_sdk_route53::Client::new(&conf);
    let zone = r53
        .create_hosted_zone()
        .name("manuel.example.")
        .caller_reference(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    manuel_migrate::config::record_deploy(&w.ws, "health", &[("router", "route53")]).unwrap();
    let mut cfg = std::fs::read_to_string(w.ws.join("manuel-migrate.toml")).unwrap();
    cfg.push_str(&format!(
        "\n[functions.health.deploy.route53]\nzone_id = \"{zone_id}\"\nrecord_name = \"api.manuel.example\"\npython_set = \"python\"\nrust_set = \"rust\"\npython_target = \"py.execute-api.example\"\nrust_target = \"rs.execute-api.example\"\npython_function = \"manuel-health-dev\"\nrust_function = \"manuel-health-rust-dev\"\n"
    ));
    std::fs::write(w.ws.join("manuel-migrate.toml"), cfg).unwrap();
    let o = w.run(&["shift", "--function", "health", "--percent", "25"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    let weight = |id: &str| {
        sets.resource_record_sets()
            .iter()
            .find(|s| s.set_identifier() == Some(id))
            .and_then(|s| s.weight())
    };
    assert_eq!((weight("python"), weight("rust")), (Some(75), Some(25)));
    let o = w.run(&["status", "--function", "health"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("25.0%"),
        "{}",
        out(&o)
    );
}

/// Both outcomes end to end, twice on one running stack (issue 22: the second rehearsal failed
/// with IAM's raw "Role with name manuel-rehearsal already exists"). The controller's verdicts
/// themselves are unit-tested in `shift::controller`.
#[test]
fn rehearsal_reaches_100_without_faults_and_rolls_back_with_them() {
    let p = common::TempProject::new();
    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "rehearse",
            "--function",
            "health",
            "--plan",
            "5,50,100",
            "--profile",
            "debug",
        ];
        args.extend_from_slice(extra);
        p.run(&args)
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.contains("promoted, Rust at 100%"), "{text}");
    let o = run(&["--fault-percent", "20"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("FAILING: rollback") && text.contains("ROLLED BACK from 5% to 0%"),
        "{text}"
    );
    let journal =
        std::fs::read_to_string(p.path().join("reports/rehearsal-journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"action\":\"done\"") && journal.contains("\"action\":\"rollback\""),
        "{journal}"
    );
}

/// Issue 22: without AWS_REGION, `status` said "missing signing region" inside its table and
/// `rollback` exited 2; `shift --dry-run` reached for the instance-metadata endpoint.
#[tokio::test]
async fn the_project_region_stands_in_and_a_dry_run_touches_no_network() {
    let w = world().await;
    let without_region = |args: &[&str]| {
        let mut cmd = Command::new(common::bin());
        cmd.arg("--project").arg(&w.ws).args(args);
        for (k, v) in w.stack.aws_env() {
            if k != "AWS_REGION" && k != "AWS_DEFAULT_REGION" {
                cmd.env(k, v);
            }
        }
        cmd.env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .output()
            .unwrap()
    };
    let o = without_region(&["status", "--function", "health"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let text = out(&o);
    assert!(text.contains("0.0%") && !text.contains("region"), "{text}");
    let o = without_region(&["rollback", "--function", "health"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    // A listener standing in for the metadata endpoint: nothing may connect to it.
    let imds = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    imds.set_nonblocking(true).unwrap();
    let mut cmd = Command::new(common::bin());
    let o = cmd
        .arg("--project")
        .arg(&w.ws)
        .args([
            "shift",
            "--function",
            "health",
            "--plan",
            "5,100",
            "--dry-run",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{}", imds.local_addr().unwrap()),
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        imds.accept().is_err(),
        "the dry run connected to the metadata endpoint"
    );
    let o = Command::new(common::bin())
        .arg("--project")
        .arg(&w.ws)
        .args(["rollback", "--function", "health", "--dry-run"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("no AWS call is made"));
}

/// Issue 20: an AWS failure and an input error exit with different codes (3 and 2).
#[tokio::test]
async fn an_aws_failure_and_an_input_error_exit_differently() {
    let w = world().await;
    let o = Command::new(common::bin())
        .arg("--project")
        .arg(&w.ws)
        .args(["rollback", "--function", "health"])
        .envs(w.stack.aws_env())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim().lines().count(),
        1,
        "{}",
        out(&o)
    );
    let o = w.run(&["rollback", "--function", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
}

/// The guard in AWS: `shift` installs it (alarm, topic, rollback-guard function) before moving
/// weight; with no controller running, the local stack evaluates the alarm on the metrics Lambda
/// would publish, sends CloudWatch's notification and invokes the guard as SNS would; the guard
/// sends the alias back to Python. `status` and `guard show` read it all from AWS.
#[tokio::test]
async fn the_guard_rolls_back_when_no_controller_watches() {
    let w = world().await;
    let o = w.run(&[
        "shift",
        "--function",
        "health",
        "--percent",
        "5",
        "--min-invocations",
        "20",
        "--interval",
        "60s",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let name = "manuel-migrate-guard-manuel-health-dev-live";
    assert!(
        out(&o).contains(&format!("guard: alarm {name} (OK")),
        "{}",
        out(&o)
    );
    assert_eq!(w.alias().await, ("1".into(), vec![("2".into(), 0.05)]));
    let o = w.run(&["guard", "show", "--function", "health"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("is whole — alarm OK"), "{}", out(&o));

    // The shift process is gone. Rust fails 10 of 30 invocations, Python none of 100.
    let started = std::time::Instant::now();
    put(&w.cw, "1", 100.0, 0.0).await;
    put(&w.cw, "2", 30.0, 10.0).await;
    let mut restored = None;
    for _ in 0..150 {
        if w.alias().await == ("1".into(), vec![]) {
            restored = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log_file = w.stack.info.alarms.as_ref().unwrap().log.clone();
    let read_log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    let restored = restored.unwrap_or_else(|| {
        panic!(
            "the guard did not roll back; alarm service log:\n{}",
            read_log()
        )
    });
    // The weights move before the guard answers: its answer is logged a moment later.
    for _ in 0..100 {
        if read_log().contains("for the alarm:") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = read_log();
    for line in log.lines().filter(|l| l.contains("for the alarm:")) {
        eprintln!("{}", &line[..line.len().min(300)]);
    }
    eprintln!("metrics put → weights restored by the guard: {restored:?}");
    assert!(log.contains(&format!("alarm {name}: OK → ALARM")), "{log}");
    assert!(
        log.contains("\"action\":\"rolled_back\"") && log.contains("\"from\":5.0"),
        "{log}"
    );

    let alarm =
        w.cw.describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .unwrap();
    let alarm = &alarm.metric_alarms()[0];
    assert_eq!(alarm.state_value().unwrap().as_str(), "ALARM");
    assert!(
        alarm.state_reason().unwrap().contains("[33.33"),
        "{:?}",
        alarm.state_reason()
    );

    // Evaluated again: still ALARM, no second notification, nothing invoked.
    let port = w.stack.info.alarms.as_ref().unwrap().port;
    let again: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/__alarms/evaluate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &again["alarms"][0];
    assert_eq!(
        (entry["from"].as_str(), entry["to"].as_str()),
        (Some("ALARM"), Some("ALARM")),
        "{again}"
    );
    assert!(entry.get("delivered").is_none(), "{again}");

    let o = w.run(&["status", "--function", "health"]);
    let text = out(&o);
    assert!(
        text.contains("0.0%") && text.contains("alarm ALARM"),
        "{text}"
    );

    // Removed on request, and then shown as missing (exit 1).
    let o = w.run(&["guard", "remove", "--function", "health"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains(&format!("alarm {name}")), "{}", out(&o));
    let o = w.run(&["guard", "show", "--function", "health"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}

/// `--no-guard` moves weight without creating anything, and says what that means.
#[tokio::test]
async fn no_guard_shifts_unwatched_and_says_so() {
    let w = world().await;
    let o = w.run(&[
        "shift",
        "--function",
        "health",
        "--percent",
        "5",
        "--no-guard",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("no alarm watches health"), "{}", out(&o));
    let alarms = w.cw.describe_alarms().send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "{alarms:?}");
    let o = w.run(&["guard", "show", "--function", "health"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}
