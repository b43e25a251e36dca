//! Building, packaging and publishing function code: cargo-lambda for arm64, reproducible zips,
//! and `functions publish` against moto's Lambda API.

mod common;

use std::process::Command;

fn mm(args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .arg("--project")
        .arg(common::root())
        .args(args)
        .output()
        .unwrap()
}

fn table_cell(out: &str, row: &str, col: usize) -> String {
    out.lines()
        .find(|l| l.contains(row))
        .and_then(|l| l.split('┆').nth(col))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn arm64_build_and_reproducible_package() {
    let o = mm(&[
        "functions",
        "build",
        "--arch",
        "arm64",
        "--function",
        "health",
        // The pipeline (cargo-lambda, zig, an arm64 ELF, a reproducible zip), not the code:
        // unoptimised, a few minutes less of CI.
        "--cargo-profile",
        "lambda-check",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bootstrap = common::root().join("target/lambda/health/bootstrap");
    let head = std::fs::read(&bootstrap).unwrap();
    assert_eq!(&head[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([head[18], head[19]]), 0xb7, "EM_AARCH64");

    let first = mm(&["functions", "package", "--function", "health"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let zip1 = std::fs::read(common::root().join("target/lambda/health.zip")).unwrap();
    let second = mm(&["functions", "package", "--function", "health"]);
    let zip2 = std::fs::read(common::root().join("target/lambda/health.zip")).unwrap();
    assert_eq!(zip1, zip2, "same input, same bytes");
    let (out1, out2) = (
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout),
    );
    let sha = table_cell(&out1, "health", 5);
    assert_eq!(sha.len(), 64, "{out1}");
    assert_eq!(sha, table_cell(&out2, "health", 5));
    assert_eq!(table_cell(&out1, "health", 2), "aarch64");
    // The zip holds exactly `bootstrap`, executable (checked with Python's zipfile).
    let check = Command::new("python3")
        .args(["-c", "import sys,zipfile,stat; z=zipfile.ZipFile(sys.argv[1]); i=z.infolist(); print([x.filename for x in i], oct(stat.S_IMODE(i[0].external_attr>>16)), z.testzip())", common::root().join("target/lambda/health.zip").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "['bootstrap'] 0o755 None"
    );
}

#[tokio::test]
async fn publish_as_a_version_of_the_python_function_against_moto() {
    use manuel_migrate::stack::{Ports, Stack};
    let project = common::project();
    let tmp = tempfile::tempdir().unwrap();
    let stack = Stack::start(&project, tmp.path().join("stack"), Ports::default(), false)
        .await
        .unwrap();
    let conf = stack.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let role = common::create_role(&stack.moto_url()).await;

    // The "Python" function as deployed: version 1 behind alias `live`.
    let py_zip = manuel_migrate::package::zip(&[(
        "app.py",
        b"def lambda_handler(event, context):\n    return {}\n",
        0o644,
    )])
    .unwrap();
    lambda
        .create_function()
        .function_name("manuel-health-dev")
        .runtime(aws_sdk_lambda::types::Runtime::Python311)
        .handler("app.lambda_handler")
        .role(&role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(py_zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let v1 = lambda
        .publish_version()
        .function_name("manuel-health-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.version(), Some("1"));
    lambda
        .create_alias()
        .function_name("manuel-health-dev")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();

    // A temp project (config is rewritten by publish) and a package of a real ELF binary.
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::copy(
        common::root().join("manuel-migrate.toml"),
        ws.join("manuel-migrate.toml"),
    )
    .unwrap();
    let exe = std::fs::read(common::root().join("target/debug/health"))
        .expect("cargo build --workspace first");
    let zip_path = ws.join("health.zip");
    std::fs::write(
        &zip_path,
        manuel_migrate::package::zip(&[("bootstrap", &exe, 0o755)]).unwrap(),
    )
    .unwrap();

    let o = Command::new(common::bin())
        .arg("--project")
        .arg(&ws)
        .args([
            "functions",
            "publish",
            "--function",
            "health",
            "--as-version-of",
            "manuel-health-dev",
            "--zip",
            zip_path.to_str().unwrap(),
        ])
        .envs(stack.aws_env())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("published manuel-health-dev version 2"));

    let v2 = lambda
        .get_function_configuration()
        .function_name("manuel-health-dev")
        .qualifier("2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        v2.runtime(),
        Some(&aws_sdk_lambda::types::Runtime::Providedal2023)
    );
    assert_eq!(v2.handler(), Some("bootstrap"));
    assert_eq!(
        v2.architectures(),
        [aws_sdk_lambda::types::Architecture::X8664]
    );
    let alias = lambda
        .get_alias()
        .function_name("manuel-health-dev")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        alias.function_version(),
        Some("1"),
        "publishing does not move traffic"
    );

    let p = manuel_migrate::config::Project::load(&ws).unwrap();
    let d = p.function("health").unwrap().deploy.clone().unwrap();
    assert_eq!(
        (
            d.function_name.as_deref(),
            d.alias.as_deref(),
            d.python_version.as_deref(),
            d.rust_version.as_deref()
        ),
        (
            Some("manuel-health-dev"),
            Some("live"),
            Some("1"),
            Some("2")
        )
    );

    // The recorded versions are what `shift` moves between.
    let o = Command::new(common::bin())
        .arg("--project")
        .arg(&ws)
        .args(["shift", "--function", "health", "--percent", "5"])
        .envs(stack.aws_env())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let alias = lambda
        .get_alias()
        .function_name("manuel-health-dev")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.function_version(), Some("1"));
    let weights = alias
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .cloned()
        .unwrap_or_default();
    assert_eq!(weights.get("2"), Some(&0.05));

    // A package without an ELF bootstrap is refused before any AWS call.
    let bad = ws.join("bad.zip");
    std::fs::write(
        &bad,
        manuel_migrate::package::zip(&[("bootstrap", b"#!/bin/sh\n", 0o755)]).unwrap(),
    )
    .unwrap();
    let o = Command::new(common::bin())
        .arg("--project")
        .arg(&ws)
        .args([
            "functions",
            "publish",
            "--function",
            "health",
            "--zip",
            bad.to_str().unwrap(),
        ])
        .envs(stack.aws_env())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no bootstrap ELF found"));
}
