//! Helpers shared by the integration tests: the project root and its installed tools.
#![allow(dead_code)]

use manuel_migrate::config::Project;
use manuel_migrate::exec::runtime_api::{FunctionSpec, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn project() -> Project {
    Project::load(&root()).expect("manuel-migrate.toml loads")
}

/// The Lambda-like Python (scripts/setup.sh installs it; tests fail loudly without it).
pub fn lambda_python() -> PathBuf {
    let p = root().join(".venv-lambda/bin/python");
    assert!(p.is_file(), "{} missing: run scripts/setup.sh", p.display());
    p
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_manuel-migrate"))
}

/// A sandbox running one of our tiny Python handlers under awslambdaric.
pub fn python_sandbox(handler: &str, timeout: Duration) -> Sandbox {
    python_sandbox_limited(handler, timeout, 128, false)
}

/// The same at a memory size, under Lambda's limits for it when `limits`.
pub fn python_sandbox_limited(
    handler: &str,
    timeout: Duration,
    memory_mb: u32,
    limits: bool,
) -> Sandbox {
    let dir = root().join("cli/tests/pyhandlers");
    let env = BTreeMap::from([
        ("PYTHONPATH".to_string(), dir.display().to_string()),
        ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
        ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".to_string(), "tiny".to_string()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_string(),
            memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_VERSION".to_string(),
            "$LATEST".to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".to_string(),
            "/aws/lambda/tiny".to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME".to_string(),
            "local".to_string(),
        ),
    ]);
    Sandbox::new(Arc::new(FunctionSpec {
        label: format!("tiny {handler}"),
        program: lambda_python(),
        args: vec!["-m".into(), "awslambdaric".into(), handler.into()],
        env,
        cwd: dir,
        memory_mb,
        timeout,
        function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:tiny".into(),
        lambda_limits: limits,
    }))
}

/// Is any process of ours still running `needle` in its command line?
pub fn processes_matching(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmd).contains(needle)
        })
        .collect()
}

/// The IAM role moto needs before CreateFunction (the library's helper).
pub async fn create_role(moto: &str) -> String {
    manuel_migrate::stack::moto::create_role(moto)
        .await
        .expect("moto CreateRole")
}

/// Copy a file or a folder tree.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// A throw-away project: `items` of this repository copied, the installed tools and the build
/// folder linked.
pub fn workspace(items: &[&str]) -> tempfile::TempDir {
    let root = root();
    let dir = tempfile::tempdir().unwrap();
    for item in items {
        copy_tree(&root.join(item), &dir.path().join(item));
    }
    for link in [".venv", ".venv-lambda", ".layers", ".pdfium", "target"] {
        std::os::unix::fs::symlink(root.join(link), dir.path().join(link)).unwrap();
    }
    dir
}

/// A project folder `dir/ws` holding our configuration, with `function` deployed as versions 1
/// (Python) and 2 (Rust) of `deployed_name` behind alias `live` (`[functions.NAME.deploy]`).
pub fn deployed_workspace(dir: &Path, function: &str, deployed_name: &str) -> PathBuf {
    let ws = dir.join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::copy(
        root().join("manuel-migrate.toml"),
        ws.join("manuel-migrate.toml"),
    )
    .unwrap();
    manuel_migrate::config::record_deploy(
        &ws,
        function,
        &[
            ("function_name", deployed_name),
            ("alias", "live"),
            ("python_version", "1"),
            ("rust_version", "2"),
        ],
    )
    .unwrap();
    ws
}

/// A throw-away project: our config and fixtures copied, tools and builds linked.
pub struct TempProject {
    dir: tempfile::TempDir,
}

impl TempProject {
    pub fn new() -> Self {
        Self {
            dir: workspace(&["manuel-migrate.toml", "parity-fixtures"]),
        }
    }

    /// A project holding these files of ours as well (e.g. the templates).
    pub fn with(items: &[&str]) -> Self {
        let mut all = vec!["manuel-migrate.toml", "parity-fixtures"];
        all.extend_from_slice(items);
        Self {
            dir: workspace(&all),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// [`TempProject::run`] with these variables set too.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(bin())
            .arg("--project")
            .arg(self.path())
            .args(args)
            .envs(env.iter().copied())
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap()
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        let _ = Command::new(bin())
            .arg("--project")
            .arg(self.path())
            .args(["stack", "down"])
            .output();
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An AWS or local-service failure: exit 3 and exactly one line on stderr with every `needle`.
pub fn assert_service_error(o: &Output, needles: &[&str]) {
    assert_one_line_error(o, 3, needles)
}

/// Bad input: exit 2 and exactly one line on stderr that contains every `needle`.
pub fn assert_input_error(o: &Output, needles: &[&str]) {
    assert_one_line_error(o, 2, needles)
}

fn assert_one_line_error(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {err}\nstdout: {}",
        stdout(o)
    );
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' not in: {err}");
    }
}
