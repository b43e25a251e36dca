//! The `manuel-migrate` binary as a user runs it: exit codes, one-line errors, no leftovers.

mod common;

use common::{assert_input_error, stderr, stdout, TempProject};
use std::path::PathBuf;
use std::process::Command;

fn fixture(p: &TempProject, case: &str) -> PathBuf {
    p.path()
        .join("parity-fixtures/health")
        .join(format!("{case}.json"))
}

#[test]
fn invoke_bad_inputs_are_one_line_errors() {
    let p = TempProject::new();
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        "/nonexistent/event.json",
    ]);
    assert_input_error(&o, &["/nonexistent/event.json"]);

    let bad = p.path().join("bad.json");
    std::fs::write(&bad, "{\"httpMethod\": ").unwrap();
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        bad.to_str().unwrap(),
    ]);
    assert_input_error(&o, &["bad.json", "invalid JSON", "line 1"]);

    let ev = fixture(&p, "get-health");
    let o = p.run(&[
        "invoke",
        "--function",
        "nope",
        "--event",
        ev.to_str().unwrap(),
    ]);
    assert_input_error(&o, &["unknown function 'nope'", "health"]);

    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
        "--python-src",
        "/nonexistent",
    ]);
    assert_input_error(
        &o,
        &[
            "Python function folder not found",
            "/nonexistent/health/app.py",
        ],
    );
}

#[test]
fn invoke_without_a_built_binary_says_how_to_build_it() {
    let p = TempProject::new();
    std::fs::remove_file(p.path().join("target")).unwrap();
    let ev = fixture(&p, "get-health");
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
    ]);
    assert_input_error(
        &o,
        &[
            "function binary not built",
            "cargo build --release -p health",
        ],
    );
}

#[test]
fn invoke_rust_health_on_a_private_stack_and_leave_nothing_running() {
    let p = TempProject::new();
    let ev = fixture(&p, "get-health");
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
        "--profile",
        "debug",
        "--times",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("\"statusCode\": 200"), "{out}");
    assert!(out.contains("network_reachable"), "{out}");
    let err = stderr(&o);
    assert_eq!(err.matches("REPORT RequestId:").count(), 3, "{err}");
    assert_eq!(
        err.matches("Init Duration:").count(),
        1,
        "only the first invocation is cold: {err}"
    );
    assert!(err.contains("SUMMARY invocations: 3"), "{err}");
    // The private stack is gone: no redis-server with its run dir, no run dir.
    let tmp = p.path().display().to_string();
    assert!(
        common::processes_matching(&tmp).is_empty(),
        "processes left behind"
    );
    let state = p.path().join(".manuel-migrate");
    let leftovers: Vec<_> = std::fs::read_dir(&state)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name())
                .filter(|n| n.to_string_lossy().starts_with("stack"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Issue 22: `invoke --event <fixture>` ignored the fixture's `env`.
#[test]
fn invoke_takes_a_fixtures_environment() {
    let p = TempProject::new();
    let ev = fixture(&p, "get-health-redis-disabled");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "invoke",
            "--function",
            "health",
            "--event",
            ev.to_str().unwrap(),
            "--profile",
            "debug",
        ];
        args.extend_from_slice(extra);
        p.run(&args)
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(r#"\"redis_cache\": {\"status\": \"disabled\""#),
        "{}",
        stdout(&o)
    );
    // --env still wins over the fixture's own.
    let o = run(&["--env", "ENABLE_REDIS_CACHE=true"]);
    assert!(
        !stdout(&o).contains(r#"\"status\": \"disabled\""#),
        "{}",
        stdout(&o)
    );
}

#[test]
fn python_import_error_is_an_input_error() {
    let p = TempProject::new();
    let src = p.path().join("pysrc/health");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("app.py"), "import module_that_does_not_exist\n").unwrap();
    let ev = fixture(&p, "get-health");
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
        "--python-src",
        p.path().join("pysrc").to_str().unwrap(),
    ]);
    assert_input_error(
        &o,
        &[
            "health (python) failed to initialise",
            "Runtime.ImportModuleError",
            "module_that_does_not_exist",
        ],
    );
}

fn pid_alive(pid: u64) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && !stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
}

#[test]
fn stack_up_status_down() {
    let p = TempProject::new();
    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.path().join(".manuel-migrate/stack/stack.json")).unwrap(),
    )
    .unwrap();
    let services = ["redis", "moto", "bedrock", "transcripts", "alarms"];
    let pids = services.map(|s| state[s]["pid"].as_u64().unwrap());
    let ports = services.map(|s| state[s]["port"].as_u64().unwrap() as u16);
    assert!(pids.iter().all(|p| pid_alive(*p)));

    let o = p.run(&["stack", "up"]);
    assert_input_error(&o, &["already running"]);

    let o = p.run(&["stack", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o).matches("healthy").count(), 5, "{}", stdout(&o));

    // Commands use the running stack instead of starting their own.
    let ev = fixture(&p, "get-health");
    let o = p.run(&[
        "invoke",
        "--function",
        "health",
        "--event",
        ev.to_str().unwrap(),
        "--profile",
        "debug",
    ]);
    assert!(
        stdout(&o).contains(&format!("\\\"port\\\": \\\"{}\\\"", ports[0])),
        "{}",
        stdout(&o)
    );

    let o = p.run(&["stack", "down"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).matches("free").count(), 5, "{}", stdout(&o));
    let survivors: Vec<String> = pids
        .iter()
        .filter(|p| pid_alive(**p))
        .map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            format!("{p} {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .collect();
    assert!(
        survivors.is_empty(),
        "processes survived stack down: {survivors:?}"
    );
    for port in ports {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} still in use"
        );
    }
    let o = p.run(&["stack", "down"]);
    assert!(stdout(&o).contains("nothing to stop"));
}

#[test]
fn stack_up_on_a_busy_port_fails_cleanly() {
    let p = TempProject::new();
    let busy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let o = p.run(&["stack", "up", "--redis-port", &port]);
    assert_input_error(
        &o,
        &[&format!(
            "port {port} on 127.0.0.1 is already in use (redis)"
        )],
    );
    assert!(!p.path().join(".manuel-migrate/stack/stack.json").exists());
}

#[test]
fn parity_passes_then_fails_on_a_changed_field_naming_case_and_path() {
    let p = TempProject::new();
    let reports = p.path().join("out");
    let r = reports.to_str().unwrap();
    // One function is enough to exercise the gate's verdicts and reports (the whole gate runs
    // at the end of scripts/test.sh; twice more here cost CI twelve minutes).
    let gate = [
        "parity",
        "--profile",
        "debug",
        "--reports",
        r,
        "--function",
        "health",
    ];
    let o = p.run(&gate);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("PASSED"));

    // The recorded Python answer now says something the Rust side does not.
    let f = fixture(&p, "get-health");
    let mut fx: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    let body = fx["python"]["body"]
        .as_str()
        .unwrap()
        .replace("manuel-backend", "manuel-backend-v2");
    fx["python"]["body"] = body.into();
    std::fs::write(&f, serde_json::to_vec_pretty(&fx).unwrap()).unwrap();
    let o = p.run(&gate);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAILED"));
    let md = std::fs::read_to_string(reports.join("parity-latest.md")).unwrap();
    assert!(md.contains("`get-health` — **DIFFERENT**"), "{md}");
    assert!(
        md.contains(
            "`$.service` value — python `\"manuel-backend-v2\"` · rust `\"manuel-backend\"`"
        ),
        "{md}"
    );
    // The failing case is summarised before the hundreds of identical ones (issue 22).
    let summary = md.find("## Different (1)\n\n- `health/get-health`: `$.service` (value)");
    let all = md.find("## Every case");
    assert!(summary.is_some() && summary < all, "{md}");
    let xml = std::fs::read_to_string(reports.join("parity-latest.xml")).unwrap();
    assert!(xml.contains("name=\"get-health\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"1 unexplained difference(s): $.service\""),
        "{xml}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("parity-latest.json")).unwrap())
            .unwrap();
    assert_eq!(json["unexplained"], 1);

    // Declaring it a divergence (with a reason) makes it accepted, and the gate passes.
    let rules = p.path().join("parity-fixtures/rules.toml");
    let mut text = std::fs::read_to_string(&rules).unwrap();
    text.push_str("\n[[divergence]]\nfunction = \"health\"\ncase = \"get-health\"\npath = \"$.service\"\nreason = \"renamed on purpose\"\n");
    std::fs::write(&rules, text).unwrap();
    let o = p.run(&[
        "parity",
        "--profile",
        "debug",
        "--reports",
        r,
        "--case",
        "get-health",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let md = std::fs::read_to_string(reports.join("parity-latest.md")).unwrap();
    assert!(md.contains("accepted: renamed on purpose"), "{md}");
}

#[test]
fn parity_input_errors_name_file_and_field() {
    let p = TempProject::new();
    let rules = p.path().join("parity-fixtures/rules.toml");
    let original = std::fs::read_to_string(&rules).unwrap();
    // The appended divergence comes after the ones the project declares.
    let at = format!("divergence[{}]", original.matches("[[divergence]]").count());

    std::fs::write(
        &rules,
        format!("{original}\n[[divergence]]\nfunction = \"health\"\n"),
    )
    .unwrap();
    let o = p.run(&["parity"]);
    assert_input_error(&o, &["rules.toml", &at, "reason"]);

    std::fs::write(
        &rules,
        format!("{original}\n[[divergence]]\nfunction = \"health\"\nreason = \" \"\n"),
    )
    .unwrap();
    let o = p.run(&["parity"]);
    assert_input_error(&o, &["rules.toml", &format!("{at}.reason")]);

    std::fs::write(
        &rules,
        format!("{original}\n[[rule]]\npath = \"$.a\"\naction = \"ignore\"\ncolour = \"red\"\n"),
    )
    .unwrap();
    let o = p.run(&["parity"]);
    assert_input_error(&o, &["rules.toml", "colour"]);
    std::fs::write(&rules, &original).unwrap();

    let f = fixture(&p, "options-health");
    let mut fx: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    fx.as_object_mut().unwrap().remove("event");
    std::fs::write(&f, serde_json::to_vec_pretty(&fx).unwrap()).unwrap();
    let o = p.run(&["parity"]);
    assert_input_error(&o, &["options-health.json", "missing field `event`"]);

    let o = p.run(&["parity", "--function", "nope"]);
    assert_input_error(&o, &["unknown function 'nope'"]);
}

#[test]
fn parity_over_http_against_served_functions_skips_what_it_must() {
    use std::io::BufRead;
    let p = TempProject::new();
    let mut child = Command::new(common::bin())
        .arg("--project")
        .arg(p.path())
        .args(["serve", "--function", "health", "--profile", "debug"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serve prints its URL")
        .to_owned();

    let reports = p.path().join("out");
    let o = p.run(&[
        "parity",
        "--function",
        "health",
        "--python-url",
        &url,
        "--rust-url",
        &url,
        "--reports",
        reports.to_str().unwrap(),
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("parity-latest.json")).unwrap())
            .unwrap();
    let cases = report["cases"].as_array().unwrap();
    let skipped: Vec<&str> = cases
        .iter()
        .filter(|c| c["verdict"] == "skipped")
        .map(|c| c["case"].as_str().unwrap())
        .collect();
    assert!(
        skipped.contains(&"post-health"),
        "writes are refused without --allow-writes: {skipped:?}"
    );
    assert!(
        skipped.contains(&"get-health-redis-disabled"),
        "per-case env needs a local target: {skipped:?}"
    );
    let get = cases.iter().find(|c| c["case"] == "get-health").unwrap();
    assert_eq!(get["rust"]["statusCode"], 200);
    assert_eq!(get["verdict"], "identical");
    assert!(report["rust_target"]
        .as_str()
        .unwrap()
        .starts_with("URL http://127.0.0.1:"));
}

#[test]
fn bench_writes_table_json_hlogs_and_svg() {
    let p = TempProject::new();
    let out = p.path().join("bench");
    let failing = common::root().join("cli/tests/pysrc-failing");
    let o = p.run(&[
        "bench",
        "--function",
        "health",
        "--requests",
        "200",
        "--warmup",
        "10",
        "--cold-samples",
        "2",
        "--profile",
        "debug",
        "--reports",
        out.to_str().unwrap(),
        "--python-src",
        failing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("latency p99 (ms)") && text.contains("cost per 1M requests (USD)"),
        "{text}"
    );
    let files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for suffix in [".json", "-rust.hlog", "-python.hlog", ".svg"] {
        assert!(
            files.iter().any(|f| f.ends_with(suffix)),
            "no *{suffix} in {files:?}"
        );
    }
    let json_file = files.iter().find(|f| f.ends_with(".json")).unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(json_file)).unwrap()).unwrap();
    assert_eq!(report["rust"]["requests"], 200);
    assert_eq!(
        report["rust"]["errors"], 0,
        "{}",
        report["rust"]["error_samples"]
    );
    assert!(report["rust"]["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(report["rust"]["cold"]["samples"], 2);
    assert!(report["rust"]["cost_per_million_usd"].as_f64().unwrap() > 0.0);
    // A side that fails every request is reported as failing, not as fast.
    assert_eq!(report["python"]["error_rate"], 1.0);
    let err_row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "error rate (%)")
        .unwrap();
    assert_eq!(err_row["python"], 100.0);
    let svg =
        std::fs::read_to_string(out.join(files.iter().find(|f| f.ends_with(".svg")).unwrap()))
            .unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("python") && svg.contains("rust"),
        "legend names both sides"
    );
    let hlog = std::fs::read_to_string(
        out.join(files.iter().find(|f| f.ends_with("-rust.hlog")).unwrap()),
    )
    .unwrap();
    assert!(
        hlog.contains("#[StartTime:") && hlog.contains("Tag=rust"),
        "{hlog}"
    );
}

#[test]
fn bench_sweeps_memory_sizes_and_writes_the_choice_into_the_template() {
    let p = TempProject::with(&["template-rust.yaml", "template-hybrid.yaml"]);
    let out = p.path().join("bench");
    let o = p.run(&[
        "bench",
        "--function",
        "health",
        "--memory",
        "128,1769",
        "--requests",
        "40",
        "--warmup",
        "5",
        "--cold-samples",
        "1",
        "--profile",
        "debug",
        "--reports",
        out.to_str().unwrap(),
        "--write-template",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("chosen"), "{text}");
    let sweep = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with("-sweep.json"))
        .expect("a sweep report");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sweep).unwrap()).unwrap();
    let sizes: Vec<u64> = doc["rust"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["memory_mb"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [128, 1769]);
    for point in doc["rust"].as_array().unwrap() {
        assert_eq!(point["errors"], 0, "{point}");
        assert_ne!(point["lambda_limits"], "off", "{point}");
    }
    let chosen = doc["choice"]["rust"]["balanced_mb"].as_u64().unwrap();
    let svg = sweep.with_file_name(
        sweep
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".json", ".svg"),
    );
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.contains("cost by memory size") && svg.contains("p99 by memory size"));
    // The template now holds the chosen size with its evidence, and the hybrid follows.
    let template = std::fs::read_to_string(p.path().join("template-rust.yaml")).unwrap();
    let block: String = template
        .split("  HealthFunctionRust:")
        .nth(1)
        .unwrap()
        .chars()
        .take(1500)
        .collect();
    assert!(block.contains(&format!("MemorySize: {chosen}")), "{block}");
    assert!(template.contains("# MemorySize chosen by manuel-migrate bench --memory"));
    let o = p.run(&["functions", "hybrid-template", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    // Bad inputs: a size Lambda does not have, --write-template alone.
    let o = p.run(&["bench", "--function", "health", "--memory", "64"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = p.run(&["bench", "--function", "health", "--write-template"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn bench_bad_inputs() {
    let p = TempProject::new();
    let o = p.run(&["bench", "--function", "health", "--rate", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("rate must be a positive number"),
        "{}",
        stderr(&o)
    );
    let o = p.run(&["bench", "--function", "health", "--concurrency", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = p.run(&["bench", "--function", "nope"]);
    assert_input_error(&o, &["unknown function 'nope'"]);
    let o = p.run(&["bench", "--function", "health", "--case", "post-*"]);
    assert_input_error(
        &o,
        &[
            "no read-only fixtures for function 'health'",
            "--allow-writes",
        ],
    );
    let o = p.run(&[
        "bench",
        "--function",
        "health",
        "--rust-url",
        "http://127.0.0.1:1",
    ]);
    assert_input_error(&o, &["rust target URL http://127.0.0.1:1/ is unreachable"]);
    let o = p.run(&[
        "bench",
        "--function",
        "health",
        "--region",
        "mars-1",
        "--profile",
        "debug",
    ]);
    assert_input_error(&o, &["--region", "mars-1"]);
    // Output paths and memory sizes are checked before anything runs (issue 22).
    let file = p.path().join("manuel-migrate.toml");
    let o = p.run(&[
        "bench",
        "--function",
        "health",
        "--reports",
        file.to_str().unwrap(),
    ]);
    assert_input_error(&o, &["--reports", "is not a folder"]);
    let o = p.run(&["bench", "--function", "health", "--memory-mb", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = p.run(&["parity", "--function", "health", "--case", "zzz"]);
    assert_input_error(
        &o,
        &["--case 'zzz' matches none of the 20 cases of function 'health'"],
    );
    let o = p.run(&["parity", "--reports", "/proc/nope", "--function", "health"]);
    assert_input_error(&o, &["--reports /proc/nope"]);
}

/// Issue 22: `--cold-samples 0` ("skip") failed the cold-start row and `--gate`; a bench
/// interrupted during the Python phase showed Rust as 0.000 everywhere, each "pass", exit 0.
#[test]
fn bench_skipped_and_unmeasured_rows_never_pass() {
    let p = TempProject::new();
    let out = p.path().join("bench");
    let report = |dir: &std::path::Path| -> serde_json::Value {
        let f = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| f.extension().is_some_and(|e| e == "json"))
            .unwrap();
        serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()
    };
    let row = |r: &serde_json::Value, metric: &str| {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric"].as_str().unwrap().starts_with(metric))
            .cloned()
            .unwrap()
    };
    let o = p.run(&[
        "bench",
        "--function",
        "health",
        "--requests",
        "50",
        "--cold-samples",
        "0",
        "--gate",
        "--profile",
        "debug",
        "--reports",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let r = report(&out);
    assert_eq!(row(&r, "cold start, spawn")["verdict"], "skipped");
    assert_eq!(row(&r, "latency p99")["verdict"], "pass");
    assert!(stdout(&o).contains("skipped"), "{}", stdout(&o));

    let o = p.run(&["stack", "up"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = p.path().join("bench-interrupted");
    let failing = common::root().join("cli/tests/pysrc-failing");
    let child = Command::new(common::bin())
        .arg("--project")
        .arg(p.path())
        .args([
            "bench",
            "--function",
            "health",
            "--duration",
            "60s",
            "--profile",
            "debug",
        ])
        .arg("--reports")
        .arg(&out)
        .arg("--python-src")
        .arg(&failing)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(5));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}\n{}", stdout(&o), stderr(&o));
    let r = report(&out);
    assert_eq!(r["rust"]["requests"], 0, "the Rust phase never ran");
    for metric in ["latency p99", "error rate", "cost per 1M"] {
        let x = row(&r, metric);
        assert!(x["rust"].is_null(), "{x}");
        assert_eq!(x["verdict"], "skipped", "{x}");
    }
}

/// Rewrite one recorded fixture of the temp project.
fn edit_fixture(
    p: &TempProject,
    function: &str,
    case: &str,
    f: impl FnOnce(&mut serde_json::Value),
) {
    let file = p
        .path()
        .join(format!("parity-fixtures/{function}/{case}.json"));
    let mut fx: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    f(&mut fx);
    std::fs::write(&file, serde_json::to_vec_pretty(&fx).unwrap()).unwrap();
}

#[test]
fn state_differences_fail_the_gate_and_name_the_state_path() {
    let p = TempProject::new();
    let reports = p.path().join("out");
    let r = reports.to_str().unwrap();
    let run = |case: &str| {
        p.run(&[
            "parity",
            "--function",
            "query",
            "--case",
            case,
            "--profile",
            "debug",
            "--reports",
            r,
        ])
    };
    // As recorded: the response and what the handler wrote both match.
    let o = run("usage-counted");
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));

    // Had Python stored the counter as a string, Rust's number would be a type difference.
    edit_fixture(&p, "query", "usage-counted", |fx| {
        fx["state"]["dynamodb"]["user_id=user-1,date=2026-11-15"]["daily_count"] = "4".into();
    });
    let o = run("usage-counted");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let md = std::fs::read_to_string(reports.join("parity-latest.md")).unwrap();
    assert!(
        md.contains("`$state.dynamodb[user_id=user-1,date=2026-11-15].daily_count` type"),
        "{md}"
    );

    // A cache entry under another key: missing on one side, extra on the other.
    edit_fixture(&p, "query", "cache-miss", |fx| {
        let redis = fx["state"]["redis"].as_object_mut().unwrap();
        let (key, entry) = redis
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap();
        redis.remove(&key);
        redis.insert(key.replace("query:", "q:"), entry);
    });
    let o = run("cache-miss");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let md = std::fs::read_to_string(reports.join("parity-latest.md")).unwrap();
    assert!(md.contains("`$state.redis[q:user-1:"), "{md}");
    assert!(md.contains("`$state.redis[query:user-1:"), "{md}");
    let xml = std::fs::read_to_string(reports.join("parity-latest.xml")).unwrap();
    assert!(xml.contains("$state.redis[query:user-1:"), "{xml}");

    // A case without side effects says so for both sides.
    let o = run("invalid-json");
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let md = std::fs::read_to_string(reports.join("parity-latest.md")).unwrap();
    assert!(
        md.contains("state — python: no state change · rust: no state change"),
        "{md}"
    );
    // A side that writes where the other does not is a difference.
    edit_fixture(&p, "query", "invalid-json", |fx| {
        fx["state"] =
            serde_json::json!({"redis": {"query:user-1:0000": {"value": "x", "ttl": 3600}}});
    });
    let o = run("invalid-json");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let md = std::fs::read_to_string(reports.join("parity-latest.md")).unwrap();
    assert!(
        md.contains("`$state.redis[query:user-1:0000]` missing"),
        "{md}"
    );
}

/// Issue 22: `parity record` proposed changes its table did not name, and two identical runs
/// proposed different ones (a path seen to vary once was dropped from the noise when the next
/// two runs happened to agree). The table names each change; agreeing runs change nothing.
#[test]
fn record_names_what_would_change_and_noise_is_sticky() {
    let p = TempProject::new();
    let src = p.path().join("pysrc/health");
    std::fs::create_dir_all(&src).unwrap();
    let mode = p.path().join("mode");
    std::fs::write(
        src.join("app.py"),
        "import json, os, random\n\
         def lambda_handler(event, context):\n\
         \x20   m = open(os.environ['MODE_FILE']).read().strip()\n\
         \x20   a = random.random() if m == 'noisy' else 0.5\n\
         \x20   b = 2 if m == 'changed' else 1\n\
         \x20   return {'statusCode': 200, 'body': json.dumps({'a': a, 'b': b})}\n",
    )
    .unwrap();
    let fixture = p.path().join("parity-fixtures/health/rec-sticky.json");
    std::fs::write(
        &fixture,
        serde_json::json!({
            "name": "rec-sticky",
            "event": {"httpMethod": "GET", "path": "/health"},
            "env": {"MODE_FILE": mode.display().to_string()},
        })
        .to_string(),
    )
    .unwrap();
    let record = |yes: bool| {
        let mut args = vec![
            "parity",
            "record",
            "--function",
            "health",
            "--case",
            "rec-sticky",
            "--python-src",
        ];
        let src = p.path().join("pysrc");
        let src = src.to_str().unwrap().to_owned();
        args.push(&src);
        if yes {
            args.push("--yes");
        }
        let o = p.run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    std::fs::write(&mode, "noisy").unwrap();
    let out = record(true);
    assert!(
        out.contains("new") && out.contains("wrote 1 recording"),
        "{out}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    assert_eq!(saved["noise"], serde_json::json!(["$.a"]));
    // Now $.a does not vary: still noise, nothing to write — twice.
    std::fs::write(&mode, "stable").unwrap();
    for _ in 0..2 {
        let out = record(false);
        assert!(out.contains("recordings are up to date"), "{out}");
    }
    // A real change is named in the table.
    std::fs::write(&mode, "changed").unwrap();
    let out = record(false);
    assert!(
        out.contains("changed: $.b") && out.contains("1 recording(s) would change"),
        "{out}"
    );
}

/// A Rust-only function (the token authorizer): what needs a Python twin says so in one line.
#[test]
fn a_rust_only_function_is_refused_where_a_python_twin_is_needed() {
    let p = TempProject::new();
    let ev = p.path().join("parity-fixtures/authorizer/deny-forged.json");
    let ev = ev.to_str().unwrap();
    for (args, what) in [
        (
            vec!["parity", "--function", "authorizer"],
            "parity does not apply",
        ),
        (
            vec![
                "parity",
                "record",
                "--function",
                "authorizer",
                "--python-src",
                "/tmp",
                "--yes",
            ],
            "parity does not apply",
        ),
        (
            vec![
                "shift",
                "--function",
                "authorizer",
                "--percent",
                "5",
                "--dry-run",
            ],
            "shift (there is no Python version to shift from) does not apply",
        ),
        (
            vec!["rehearse", "--function", "authorizer", "--plan", "5,100"],
            "rehearse does not apply",
        ),
        (
            vec!["bench", "--function", "authorizer", "--python-src", "/tmp"],
            "a Python side of bench does not apply",
        ),
    ] {
        let o = p.run(&args);
        assert_input_error(
            &o,
            &["function 'authorizer' has no Python twin (Rust only)", what],
        );
    }
    let o = p.run(&[
        "invoke",
        "--function",
        "authorizer",
        "--event",
        ev,
        "--python-src",
        "/tmp",
    ]);
    assert_input_error(&o, &["function 'authorizer' has no Python twin"]);
    let o = p.run(&["serve", "--function", "authorizer"]);
    assert_input_error(
        &o,
        &["function 'authorizer' has no API routes", "invoke --event"],
    );
    let o = p.run(&["functions", "list"]);
    assert!(stdout(&o).contains("— (Rust only)"), "{}", stdout(&o));
}
