//! `functions list` and `functions new` on a copy of the workspace.

mod common;

use std::path::Path;
use std::process::Command;

fn mm(project: &Path, args: &[&str]) -> std::process::Output {
    Command::new(common::bin())
        .arg("--project")
        .arg(project)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn new_function_builds_tests_and_lists() {
    let root = common::root();
    let tmp = common::workspace(&[
        "Cargo.toml",
        "Cargo.lock",
        "manuel-migrate.toml",
        "template-rust.yaml",
        "shared",
        "cli",
        "functions",
        "parity-fixtures",
    ]);
    let ws = tmp.path();

    let o = mm(
        ws,
        &[
            "functions",
            "new",
            "demo",
            "--route",
            "GET /api/demo",
            "--route",
            "POST /api/demo",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "functions/demo/Cargo.toml",
        "functions/demo/src/main.rs",
        "functions/demo/src/lib.rs",
        "parity-fixtures/demo/README.md",
    ] {
        assert!(ws.join(f).is_file(), "{f} missing");
    }
    assert!(std::fs::read_to_string(ws.join("manuel-migrate.toml"))
        .unwrap()
        .contains("[functions.demo]"));
    let template = std::fs::read_to_string(ws.join("template-rust.yaml")).unwrap();
    assert!(
        template.contains("  DemoFunctionRust:\n")
            && template.contains("CodeUri: functions/demo\n")
    );
    let main_lines = std::fs::read_to_string(ws.join("functions/demo/src/main.rs"))
        .unwrap()
        .lines()
        .count();
    assert!(main_lines <= 25, "main.rs stays small: {main_lines} lines");

    // The new crate builds and its test passes (sharing this build's target folder).
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let o = Command::new(env!("CARGO"))
        .args(["test", "--offline", "-q", "-p", "demo"])
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 passed"));

    // The template with the new resource still lints clean.
    let o = Command::new(root.join(".venv/bin/cfn-lint"))
        .arg("template-rust.yaml")
        .current_dir(ws)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let o = mm(ws, &["functions", "list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("demo (functions/demo)") && out.contains("DemoFunctionRust"),
        "{out}"
    );
    assert!(out.contains("health (functions/health)"), "{out}");

    // Existing and invalid names are refused, nothing is written.
    for (name, needle) in [
        ("health", "already exists"),
        ("Bad_Name", "not a valid function crate name"),
        ("shared", "reserved"),
    ] {
        let before = std::fs::read_to_string(ws.join("manuel-migrate.toml")).unwrap();
        let o = mm(ws, &["functions", "new", name]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(needle) && err.trim().lines().count() == 1,
            "{err}"
        );
        assert_eq!(
            before,
            std::fs::read_to_string(ws.join("manuel-migrate.toml")).unwrap()
        );
    }
    // Parity skips a function that has no fixtures yet.
    let o = mm(
        ws,
        &[
            "parity",
            "--profile",
            "debug",
            "--reports",
            ws.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
