//! `manuel-migrate.toml`: the function pairs and the project's shared settings.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "manuel-migrate.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no {CONFIG_FILE} in {0} or any parent folder (run from the project, or pass --project DIR)")]
    NotFound(PathBuf),
    #[error("unknown function '{name}' (known: {known})")]
    UnknownFunction { name: String, known: String },
    #[error("function '{name}' has no Python twin (Rust only): {what} does not apply")]
    NoTwin { name: String, what: &'static str },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub project: ProjectSection,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionConfig>,
    #[serde(default)]
    pub shift: ShiftConfig,
    #[serde(default)]
    pub stack: StackConfig,
    #[serde(default)]
    pub sync: SyncConfig,
}

/// `[sync]`: how `functions sync` reads backend/template.yaml in this file's terms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// What a template reference stands for here: a resource's `Ref` (`ManualsBucket`), an
    /// attribute (`RedisCache.RedisEndpoint.Address`) or a parameter (`Stage`) → the text this
    /// file writes for it (`{manuals_bucket}`). `AWS::Region` and `AWS::AccountId` are mapped
    /// to `{region}` and `{account_id}` unless given here.
    #[serde(default)]
    pub references: BTreeMap<String, String>,
    /// Where `[env]` deliberately differs from `Globals.Function.Environment`: `"env.KEY"` →
    /// the reason.
    #[serde(default)]
    pub deviations: BTreeMap<String, String>,
}

/// `[stack]`: resources the local stack creates beside the usage table and the buckets (the
/// tables, queues and topics some functions expect). Names may use `{stage}`, `{region}` and
/// `{account_id}`; each resource's `var` becomes a placeholder for function environments.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    #[serde(default)]
    pub tables: Vec<TableConfig>,
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
}

impl StackConfig {
    /// Key shapes and placeholder names: one line naming the field of the first problem.
    fn validate(&self) -> Result<(), String> {
        let mut vars = std::collections::BTreeSet::new();
        let mut check_var = |at: String, var: &str| {
            let ok = !var.is_empty()
                && var
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(format!(
                    "{at}.var: '{var}' is not a placeholder name (lowercase letters, digits, _)"
                ));
            }
            if crate::stack::STACK_VARS.contains(&var) || !vars.insert(var.to_owned()) {
                return Err(format!("{at}.var: '{var}' is already a placeholder"));
            }
            Ok(())
        };
        for (i, t) in self.tables.iter().enumerate() {
            let at = format!("stack.tables[{i}]");
            check_var(at.clone(), &t.var)?;
            if !(1..=2).contains(&t.key.len()) {
                return Err(format!(
                    "{at}.key: a key is a hash attribute and at most one range attribute"
                ));
            }
            for (j, ix) in t.indexes.iter().enumerate() {
                if !(1..=2).contains(&ix.key.len()) {
                    return Err(format!(
                        "{at}.indexes[{j}].key: a key is a hash attribute and at most one range attribute"
                    ));
                }
            }
        }
        for (i, q) in self.queues.iter().enumerate() {
            check_var(format!("stack.queues[{i}]"), &q.var)?;
        }
        for (i, t) in self.topics.iter().enumerate() {
            check_var(format!("stack.topics[{i}]"), &t.var)?;
        }
        Ok(())
    }
}

/// A DynamoDB table: `{var}` is its name. Every key attribute is a string (`S`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub name: String,
    pub var: String,
    /// Hash key, then the range key if any.
    pub key: Vec<String>,
    #[serde(default)]
    pub indexes: Vec<IndexConfig>,
}

/// A global secondary index (projection ALL).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub name: String,
    pub key: Vec<String>,
}

/// An SQS queue: `{var}` is its URL, `{var_arn}` its ARN. Messages left in it are state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    pub var: String,
}

/// An SNS topic: `{var}` is its ARN. The stack subscribes a queue of its own to it, so that
/// what functions publish is state too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub name: String,
    pub var: String,
}

/// Is `dir` Manuel's `backend/src/shared` (what the `intended` oracle puts on the path)?
pub fn is_manuel_shared(dir: &Path) -> bool {
    dir.join("utils.py").is_file()
}

/// Which Python code a function's recordings come from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Oracle {
    /// The function folder as backend/template.yaml deploys it.
    #[default]
    Deployed,
    /// The folder with Manuel's `backend/src/shared` importable, as the code was written to
    /// run: for functions whose deployment lacks the shared modules they import.
    Intended,
}

impl Oracle {
    pub fn is_deployed(&self) -> bool {
        *self == Oracle::Deployed
    }
}

impl std::fmt::Display for Oracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Oracle::Deployed => "deployed",
            Oracle::Intended => "intended",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub stage: String,
    pub region: String,
    pub account_id: String,
}

impl ProjectSection {
    /// A resource name with `{stage}`, `{region}` and `{account_id}` filled in (`[stack]`).
    pub fn resource_name(&self, template: &str) -> String {
        template
            .replace("{stage}", &self.stage)
            .replace("{region}", &self.region)
            .replace("{account_id}", &self.account_id)
    }

    /// `arn:aws:SERVICE:REGION:ACCOUNT:NAME` (SQS queues, SNS topics).
    pub fn arn(&self, service: &str, name: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{name}",
            self.region, self.account_id
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Folder of the Python function under `--python-src` (backend/src/functions). Absent for a
    /// Rust-only function (no Python twin: the token authorizer), with `handler`.
    #[serde(default)]
    pub python_dir: Option<String>,
    /// `module.function` of the Python handler.
    #[serde(default)]
    pub handler: Option<String>,
    /// Cargo package of the Rust port (its binary has the same name).
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub template_resource: String,
    pub memory_mb: u32,
    pub timeout_s: u64,
    /// Python layers the deployed function has (folders under `.layers/`).
    #[serde(default)]
    pub layers: Vec<String>,
    #[serde(default)]
    pub routes: Vec<String>,
    /// Routes the Python deployment serves without an authorizer (`Auth: Authorizer: NONE`).
    #[serde(default)]
    pub public_routes: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Files shipped beside the Rust bootstrap (paths relative to the project; `{arch}` is the
    /// target architecture, `x86_64` or `aarch64`): linked into the local task root and added
    /// to the deployment package, where Lambda unpacks them into `/var/task`.
    #[serde(default)]
    pub files: Vec<String>,
    /// The function reads or writes shared state (Redis, DynamoDB, S3): parity resets and
    /// seeds the local stack before each side runs a case, one case at a time.
    #[serde(default)]
    pub stateful: bool,
    /// The Rust twin takes the caller only from authorizer claims: every live route it serves
    /// must have an authorizer (Cognito or a Lambda one), which `shift` checks first.
    #[serde(default)]
    pub needs_authorizer: bool,
    /// The Rust twin verifies Bearer tokens itself where a route has no authorizer, so such a
    /// route does not hold the shift back.
    #[serde(default)]
    pub verifies_tokens: bool,
    /// The handler fetches Transcribe transcripts over HTTPS (the voice path of query and
    /// transcribe): only such a function's HTTPS goes through the stack's transcript proxy.
    /// Every other function reaches hosts as it would on AWS — through a proxy, an unreachable
    /// URL would fail with the proxy's error instead of the resolver's.
    #[serde(default)]
    pub transcripts: bool,
    /// The Python code parity compares with: `deployed` (default) or `intended` (run with
    /// `backend/src/shared` on the path, see `--python-shared`).
    #[serde(default)]
    pub oracle: Oracle,
    /// Where the function is deployed and which versions the shift moves between.
    #[serde(default)]
    pub deploy: Option<DeployConfig>,
    /// A function of the tool itself, not of Manuel (the rollback guard): no Python twin, no
    /// resource in the templates — `shift` creates it in AWS, per shifted function.
    #[serde(default)]
    pub tool: bool,
    /// Where this entry deliberately differs from what backend/template.yaml deploys (`functions
    /// sync` keeps these): a field (`memory_mb`, `timeout_s`, `layers`, `routes`,
    /// `public_routes`, `template_resource`) or `env.KEY` → the reason.
    #[serde(default)]
    pub template_deviations: BTreeMap<String, String>,
}

/// The Python function a Rust port replaces.
#[derive(Debug, Clone, Copy)]
pub struct PythonTwin<'a> {
    pub dir: &'a str,
    pub handler: &'a str,
    pub oracle: Oracle,
}

impl FunctionConfig {
    /// The Python twin; `None` for a Rust-only function.
    pub fn python(&self) -> Option<PythonTwin<'_>> {
        Some(PythonTwin {
            dir: self.python_dir.as_deref()?,
            handler: self.handler.as_deref()?,
            oracle: self.oracle,
        })
    }
}

/// `[functions.NAME.deploy]`: the deployed function whose alias `shift` moves, and its versions
/// (`functions publish --as-version-of` records the Rust one).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    pub function_name: Option<String>,
    pub alias: Option<String>,
    pub python_version: Option<String>,
    pub rust_version: Option<String>,
    /// `alias` (default) or `route53`.
    pub router: Option<String>,
    /// The REST API whose routes invoke the function: `shift` reads their authorizers first.
    pub rest_api_id: Option<String>,
    pub route53: Option<Route53Config>,
}

/// `[functions.NAME.deploy.route53]`: two weighted records in front of two functions' APIs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route53Config {
    pub zone_id: String,
    pub record_name: String,
    #[serde(default = "default_record_type")]
    pub record_type: String,
    pub python_set: String,
    pub rust_set: String,
    pub python_target: String,
    pub rust_target: String,
    #[serde(default = "default_ttl")]
    pub ttl: i64,
    /// The functions behind each record, for their CloudWatch metrics.
    pub python_function: String,
    pub rust_function: String,
}

fn default_record_type() -> String {
    "CNAME".into()
}

fn default_ttl() -> i64 {
    60
}

/// `[shift]`: defaults of the traffic shift (each can be overridden on the command line).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShiftConfig {
    #[serde(default = "default_diff")]
    pub max_error_diff: f64,
    #[serde(default = "default_min_inv")]
    pub min_invocations: u64,
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default = "default_limit")]
    pub inconclusive_limit: u32,
    #[serde(default = "default_limit")]
    pub metric_error_limit: u32,
    /// Below `min_invocations`, a one-sided p-value under this rolls back anyway …
    #[serde(default = "default_strict_p")]
    pub strict_p: f64,
    /// … when Rust has at least this many errors in the window.
    #[serde(default = "default_min_errors")]
    pub min_errors: u64,
    /// The role the rollback guard function runs with in AWS (template-rust.yaml's
    /// `RollbackGuardRoleRustArn` output); on the local stack one is created in moto.
    #[serde(default)]
    pub guard_role_arn: Option<String>,
}

fn default_strict_p() -> f64 {
    crate::shift::Thresholds::STRICT_P
}
fn default_min_errors() -> u64 {
    crate::shift::Thresholds::MIN_ERRORS
}

fn default_diff() -> f64 {
    1.0
}
fn default_min_inv() -> u64 {
    200
}
fn default_interval() -> String {
    "10m".into()
}
fn default_limit() -> u32 {
    3
}

impl Default for ShiftConfig {
    fn default() -> Self {
        Self {
            max_error_diff: default_diff(),
            min_invocations: default_min_inv(),
            interval: default_interval(),
            inconclusive_limit: default_limit(),
            metric_error_limit: default_limit(),
            strict_p: default_strict_p(),
            min_errors: default_min_errors(),
            guard_role_arn: None,
        }
    }
}

/// A loaded configuration and the project folder it came from.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub config: Config,
    /// `--python-shared`: Manuel's `backend/src/shared`, for the functions whose oracle is
    /// `intended` (default: `shared` beside `--python-src`).
    pub python_shared: Option<PathBuf>,
}

impl Project {
    /// Find `manuel-migrate.toml` in `start` or a parent and load it.
    pub fn discover(start: &Path) -> Result<Self, ConfigError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(CONFIG_FILE).is_file() {
                return Self::load(d);
            }
            dir = d.parent();
        }
        Err(ConfigError::NotFound(start.to_path_buf()))
    }

    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.message().to_owned() + &span_note(&text, e.span()),
        })?;
        for (name, f) in &config.functions {
            let bad = |field: &str, why: String| ConfigError::Parse {
                path: path.clone(),
                message: format!("functions.{name}.{field}: {why}"),
            };
            if f.python_dir.is_some() != f.handler.is_some() {
                return Err(bad(
                    if f.python_dir.is_some() { "handler" } else { "python_dir" },
                    "python_dir and handler go together (both for a Python twin, neither for a Rust-only function)".into(),
                ));
            }
            if !(128..=10240).contains(&f.memory_mb) {
                return Err(bad(
                    "memory_mb",
                    format!("{} is outside Lambda's 128–10240 MB", f.memory_mb),
                ));
            }
            if !(1..=900).contains(&f.timeout_s) {
                return Err(bad(
                    "timeout_s",
                    format!("{} is outside Lambda's 1–900 s", f.timeout_s),
                ));
            }
            if f.oracle == Oracle::Intended && f.python_dir.is_none() {
                return Err(bad(
                    "oracle",
                    "`intended` needs a Python twin (python_dir and handler)".into(),
                ));
            }
        }
        config
            .stack
            .validate()
            .map_err(|message| ConfigError::Parse {
                path: path.clone(),
                message,
            })?;
        Ok(Self {
            root: root.to_path_buf(),
            config,
            python_shared: None,
        })
    }

    /// The Python twin of a function, for `what` (a command or side) that needs one.
    pub fn twin(&self, name: &str, what: &'static str) -> Result<PythonTwin<'_>, ConfigError> {
        self.function(name)?.python().ok_or(ConfigError::NoTwin {
            name: name.to_owned(),
            what,
        })
    }

    pub fn function(&self, name: &str) -> Result<&FunctionConfig, ConfigError> {
        self.config
            .functions
            .get(name)
            .ok_or_else(|| ConfigError::UnknownFunction {
                name: name.to_owned(),
                known: self
                    .config
                    .functions
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn function_names(&self) -> Vec<String> {
        self.config.functions.keys().cloned().collect()
    }

    pub fn fixtures_dir(&self) -> PathBuf {
        self.root.join("parity-fixtures")
    }

    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }

    /// Private working state (stack run directory, Python task copies).
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".manuel-migrate")
    }

    /// The Python that runs handlers: `.venv-lambda`, a Lambda-like runtime (awslambdaric and
    /// boto3 only; everything else comes from the function folder and its layers).
    pub fn lambda_python(&self) -> PathBuf {
        self.root.join(".venv-lambda/bin/python")
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.root.join(".layers")
    }

    /// moto's Cognito signing key in the tools venv (its `kid` is `dummy`).
    pub fn moto_cognito_key(&self) -> PathBuf {
        let lib = self.root.join(".venv/lib");
        let python = std::fs::read_dir(&lib)
            .ok()
            .and_then(|rd| {
                rd.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
                })
            })
            .unwrap_or_else(|| lib.join("python3"));
        python.join("site-packages/moto/cognitoidp/resources/jwks-private.json.gz")
    }

    pub fn tools_bin(&self) -> PathBuf {
        self.root.join(".venv/bin")
    }

    /// The deployed function name of a function on this stage (`manuel-health-local`).
    pub fn lambda_name(&self, function: &str) -> String {
        format!("manuel-{function}-{}", self.config.project.stage)
    }

    pub fn function_arn(&self, function: &str) -> String {
        let p = &self.config.project;
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            p.region,
            p.account_id,
            self.lambda_name(function)
        )
    }
}

/// Set `[functions.FUNCTION.deploy] KEY = VALUE` in manuel-migrate.toml, keeping its comments and
/// layout, atomically.
pub fn record_deploy(
    root: &Path,
    function: &str,
    values: &[(&str, &str)],
) -> Result<(), ConfigError> {
    let path = root.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                path: path.clone(),
                message: e.message().to_owned(),
            })?;
    let func =
        doc["functions"][function]
            .as_table_mut()
            .ok_or_else(|| ConfigError::UnknownFunction {
                name: function.to_owned(),
                known: String::new(),
            })?;
    if !func.contains_key("deploy") {
        func.insert("deploy", toml_edit::Item::Table(toml_edit::Table::new()));
    }
    let deploy = func["deploy"]
        .as_table_mut()
        .ok_or_else(|| ConfigError::Parse {
            path: path.clone(),
            message: format!("functions.{function}.deploy is not a table"),
        })?;
    for (k, v) in values {
        deploy[*k] = toml_edit::value(*v);
    }
    crate::fsutil::write_atomic(&path, doc.to_string().as_bytes())
        .map_err(|source| ConfigError::Read { path, source })
}

/// "at line L, column C" for a TOML error span.
fn span_note(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    format!(" (line {line}, column {col})")
}

/// Replace `{placeholder}`s with values; an unknown placeholder is left as written.
pub fn expand(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if vars.contains_key(&after[..end]) => {
                out.push_str(&vars[&after[..end]]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl FunctionConfig {
    /// The `files` for `arch` (`x86_64`, `aarch64`): (name in the task root, path on disk).
    pub fn bundled_files(&self, root: &Path, arch: &str) -> Vec<(String, PathBuf)> {
        self.files
            .iter()
            .map(|f| {
                let path = root.join(f.replace("{arch}", arch));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, path)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22: `memory_mb = 0` was accepted.
    #[test]
    fn memory_and_timeout_are_within_lambdas_limits() {
        let dir = tempfile::tempdir().unwrap();
        let write = |memory: u32, timeout: u64| {
            std::fs::write(
                dir.path().join(CONFIG_FILE),
                format!("[project]\nstage='s'\nregion='r'\naccount_id='1'\n[functions.f]\npython_dir='f'\nhandler='app.h'\ncrate='f'\ntemplate_resource='F'\nmemory_mb={memory}\ntimeout_s={timeout}\n"),
            )
            .unwrap();
            Project::load(dir.path())
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(write(128, 3).is_ok());
        let e = write(0, 3).unwrap_err();
        assert!(
            e.contains("functions.f.memory_mb: 0 is outside Lambda's 128–10240 MB"),
            "{e}"
        );
        let e = write(256, 0).unwrap_err();
        assert!(e.contains("functions.f.timeout_s"), "{e}");
    }

    #[test]
    fn expand_fills_known_placeholders_only() {
        let vars = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert_eq!(expand("x{a}y{b}{", &vars), "x1y{b}{");
    }

    #[test]
    fn bundled_files_are_per_architecture() {
        let cfg: FunctionConfig = toml::from_str(
            r#"
python_dir = "pdf-page"
handler = "app.lambda_handler"
crate = "pdf-page"
template_resource = "PDFPageFunction"
memory_mb = 1024
timeout_s = 60
files = [".pdfium/{arch}/lib/libpdfium.so"]
"#,
        )
        .unwrap();
        assert_eq!(
            cfg.bundled_files(Path::new("/p"), "aarch64"),
            vec![(
                "libpdfium.so".to_string(),
                PathBuf::from("/p/.pdfium/aarch64/lib/libpdfium.so")
            )]
        );
    }

    #[test]
    fn unknown_key_is_named_with_position() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[project]\nstage='s'\nregion='r'\naccount_id='1'\nbogus=1\n",
        )
        .unwrap();
        let err = Project::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("manuel-migrate.toml"), "{err}");
        assert!(err.contains("bogus"), "{err}");
        assert!(err.contains("line 5"), "{err}");
    }

    #[test]
    fn deploy_values_are_recorded_keeping_comments() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# top comment\n[project]\nstage='s'\nregion='r'\naccount_id='1'\n\n[functions.f] # keep me\npython_dir='f'\nhandler='app.h'\ncrate='f'\ntemplate_resource='F'\nmemory_mb=128\ntimeout_s=3\n";
        std::fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
        record_deploy(
            dir.path(),
            "f",
            &[("function_name", "fn-dev"), ("rust_version", "7")],
        )
        .unwrap();
        let after = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(
            after.contains("# top comment") && after.contains("# keep me"),
            "{after}"
        );
        let p = Project::load(dir.path()).unwrap();
        let d = p.function("f").unwrap().deploy.clone().unwrap();
        assert_eq!(d.rust_version.as_deref(), Some("7"));
        assert_eq!(d.function_name.as_deref(), Some("fn-dev"));
        assert!(record_deploy(dir.path(), "nope", &[("a", "b")]).is_err());
    }

    #[test]
    fn repo_config_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let p = Project::load(root).unwrap();
        assert_eq!(p.function("health").unwrap().crate_name, "health");
        assert!(p.function("nope").is_err());
    }
}
