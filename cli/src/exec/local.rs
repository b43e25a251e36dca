//! Local targets: the Rust bootstrap binary or the Python handler (through awslambdaric), each
//! in its own sandbox process under our Runtime API, with the same environment.

use crate::config::{expand, Project};
use crate::exec::runtime_api::{FunctionSpec, Sandbox};
use crate::exec::Side;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("function binary not built: {path} (run `cargo build {flag}-p {krate}`)")]
    NotBuilt {
        path: String,
        flag: &'static str,
        krate: String,
    },
    #[error("Python function folder not found: {0}")]
    NoPythonSource(String),
    #[error("function '{0}' has no Python twin (Rust only): there is no Python side to run")]
    NoTwin(String),
    #[error("Python runtime not found at {0} (run scripts/setup.sh)")]
    NoPython(String),
    #[error("layer '{layer}' not found at {path} (run scripts/setup.sh)")]
    NoLayer { layer: String, path: String },
    #[error("the oracle of '{function}' is `intended`, which needs Manuel's backend/src/shared: no utils.py in {path} (pass --python-shared DIR)")]
    NoShared { function: String, path: String },
    #[error("{0}")]
    Io(String),
}

/// Which cargo profile's binaries to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    Release,
    Debug,
}

/// Find the Rust binary of a crate: the requested profile, or release then debug.
pub fn rust_binary(
    project: &Project,
    krate: &str,
    profile: Option<Profile>,
) -> Result<PathBuf, LocalError> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project.root.join("target"));
    let candidates: Vec<Profile> = match profile {
        Some(p) => vec![p],
        None => vec![Profile::Release, Profile::Debug],
    };
    for p in &candidates {
        let path = target.join(profile_dir(*p)).join(krate);
        if path.is_file() {
            return Ok(path);
        }
    }
    let p = candidates[0];
    Err(LocalError::NotBuilt {
        path: target
            .join(profile_dir(p))
            .join(krate)
            .display()
            .to_string(),
        flag: if p == Profile::Release {
            "--release "
        } else {
            ""
        },
        krate: krate.to_owned(),
    })
}

fn profile_dir(p: Profile) -> &'static str {
    match p {
        Profile::Release => "release",
        Profile::Debug => "debug",
    }
}

/// The environment a function gets: Lambda's reserved variables, the template's globals and the
/// function's own variables (placeholders filled from the stack), the stack's AWS endpoint
/// variables, then per-case overrides.
pub fn function_env(
    project: &Project,
    function: &str,
    stack_vars: &BTreeMap<String, String>,
    aws_env: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> Result<super::EnvVars, crate::config::ConfigError> {
    let cfg = project.function(function)?;
    let name = project.lambda_name(function);
    let mut env = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    put("AWS_LAMBDA_FUNCTION_NAME", name.clone());
    put("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", cfg.memory_mb.to_string());
    put("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
    put(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        format!("{}/[$LATEST]local", chrono::Utc::now().format("%Y/%m/%d")),
    );
    put("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    put("TZ", ":UTC".into());
    put("LANG", "C.UTF-8".into());
    put("PATH", "/usr/local/bin:/usr/bin:/bin".into());
    for (k, v) in project.config.env.iter().chain(cfg.env.iter()) {
        env.insert(k.clone(), expand(v, stack_vars));
    }
    env.extend(
        aws_env
            .iter()
            .filter(|(k, _)| cfg.transcripts || !crate::stack::PROXY_VARS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    super::apply_overrides(
        &mut env,
        overrides.iter().map(|(k, v)| (k.clone(), v.clone())),
    );
    Ok(env)
}

/// Everything needed to start one side of one function.
pub struct LocalTargetSpec<'a> {
    pub project: &'a Project,
    pub function: &'a str,
    pub side: Side,
    pub env: BTreeMap<String, String>,
    /// `backend/src/functions` of a Manuel checkout (Python side only).
    pub python_src: Option<&'a Path>,
    pub profile: Option<Profile>,
}

impl LocalTargetSpec<'_> {
    pub fn build(self) -> Result<FunctionSpec, LocalError> {
        let cfg = self
            .project
            .function(self.function)
            .map_err(|e| LocalError::Io(e.to_string()))?;
        let state = self.project.state_dir();
        let mut env = self.env;
        let (program, args, cwd) = match self.side {
            Side::Rust => {
                let bin = rust_binary(self.project, &cfg.crate_name, self.profile)?;
                let task = state.join("rust").join(self.function).join("var/task");
                std::fs::create_dir_all(&task)
                    .map_err(|e| LocalError::Io(format!("{}: {e}", task.display())))?;
                for (name, path) in cfg.bundled_files(&self.project.root, std::env::consts::ARCH) {
                    if !path.is_file() {
                        return Err(LocalError::Io(format!(
                            "{} (listed in `files` of {}) not found (run scripts/setup.sh)",
                            path.display(),
                            self.function
                        )));
                    }
                    let link = task.join(&name);
                    let _ = std::fs::remove_file(&link);
                    std::os::unix::fs::symlink(&path, &link)
                        .map_err(|e| LocalError::Io(format!("{}: {e}", link.display())))?;
                }
                env.insert("LAMBDA_TASK_ROOT".into(), task.display().to_string());
                env.insert("_HANDLER".into(), "bootstrap".into());
                (bin, Vec::new(), task)
            }
            Side::Python => {
                let py = cfg
                    .python()
                    .ok_or_else(|| LocalError::NoTwin(self.function.to_owned()))?;
                let src = self
                    .python_src
                    .ok_or_else(|| LocalError::NoPythonSource("(no --python-src given)".into()))?
                    .join(py.dir);
                if !src.join(module_file(py.handler)).is_file() {
                    return Err(LocalError::NoPythonSource(
                        src.join(module_file(py.handler)).display().to_string(),
                    ));
                }
                let python = self.project.lambda_python();
                if !python.is_file() {
                    return Err(LocalError::NoPython(python.display().to_string()));
                }
                // Lambda unpacks the function folder into /var/task and starts there; a copy
                // keeps relative sys.path entries (`../../shared`) from reaching the checkout.
                let task = state.join("python").join(self.function).join("var/task");
                copy_tree(&src, &task).map_err(|e| {
                    LocalError::Io(format!("copy {} → {}: {e}", src.display(), task.display()))
                })?;
                let mut path = vec![task.display().to_string()];
                for layer in &cfg.layers {
                    let dir = self.project.layers_dir().join(layer).join("python");
                    if !dir.is_dir() {
                        return Err(LocalError::NoLayer {
                            layer: layer.clone(),
                            path: dir.display().to_string(),
                        });
                    }
                    path.push(dir.display().to_string());
                }
                if py.oracle == crate::config::Oracle::Intended {
                    // As if the deployment shipped backend/src/shared: after the function's own
                    // modules (process-manual carries copies of some) and its layers.
                    let shared = match &self.project.python_shared {
                        Some(dir) => dir.clone(),
                        None => self
                            .python_src
                            .and_then(Path::parent)
                            .map(|p| p.join("shared"))
                            .unwrap_or_default(),
                    };
                    if !crate::config::is_manuel_shared(&shared) {
                        return Err(LocalError::NoShared {
                            function: self.function.to_owned(),
                            path: shared.display().to_string(),
                        });
                    }
                    path.push(shared.display().to_string());
                }
                env.insert("PYTHONPATH".into(), path.join(":"));
                env.insert("PYTHONNOUSERSITE".into(), "1".into());
                env.insert("PYTHONUNBUFFERED".into(), "1".into());
                env.insert("LAMBDA_TASK_ROOT".into(), task.display().to_string());
                env.insert("_HANDLER".into(), py.handler.to_owned());
                env.insert("AWS_EXECUTION_ENV".into(), "AWS_Lambda_python3.11".into());
                (
                    python,
                    vec!["-m".into(), "awslambdaric".into(), py.handler.to_owned()],
                    task,
                )
            }
        };
        Ok(FunctionSpec {
            label: format!("{} ({})", self.function, self.side),
            program,
            args,
            env,
            cwd,
            memory_mb: cfg.memory_mb,
            timeout: Duration::from_secs(cfg.timeout_s),
            function_arn: self.project.function_arn(self.function),
            lambda_limits: false,
        })
    }
}

/// `app.lambda_handler` → `app.py`.
fn module_file(handler: &str) -> String {
    let module = handler.rsplit_once('.').map(|(m, _)| m).unwrap_or(handler);
    format!("{}.py", module.replace('.', "/"))
}

/// Replace `dst` with a copy of `src` (without `__pycache__`).
fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    if dst.exists() {
        std::fs::remove_dir_all(dst)?;
    }
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// A started local target.
pub fn sandbox(spec: FunctionSpec, cold: bool) -> Sandbox {
    let mut s = Sandbox::new(Arc::new(spec));
    s.always_cold = cold;
    s
}
