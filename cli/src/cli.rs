//! Command-line surface.

use crate::exec::local::Profile;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "manuel-migrate",
    version,
    about = "Move Manuel's Lambda backend from Python to Rust without downtime"
)]
pub struct Cli {
    /// Project folder (holds manuel-migrate.toml); default: the current folder or a parent.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Manuel's backend/src/shared, put on the path of the Python handlers whose oracle is
    /// `intended` (default: `shared` beside --python-src).
    #[arg(long, global = true, value_name = "DIR")]
    pub python_shared: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The local stack: up, status, down, env — redis-server, moto (S3, DynamoDB, Lambda,
    /// CloudWatch, Route 53 …) and the Bedrock replay on 127.0.0.1.
    Stack {
        #[command(subcommand)]
        action: StackAction,
    },
    /// Run one API Gateway proxy event through a local function (Rust, or Python with --python-src).
    Invoke(InvokeArgs),
    /// Replay the fixtures against the Rust side and the Python side, diff, report, gate.
    Parity(Box<ParityArgs>),
    /// Serve one local function over HTTP like API Gateway (for curl, or parity --*-url).
    Serve(ServeArgs),
    /// Latency under load, cold starts, memory and cost per million, Rust vs Python vs targets.
    Bench(Box<BenchArgs>),
    /// Move traffic to the Rust version: one weight, or a plan watched step by step.
    Shift(ShiftArgs),
    /// Send all traffic back to the Python version (idempotent).
    Rollback(RollbackArgs),
    /// The shift's guard in AWS: `show` whether it is whole, `remove` it.
    Guard(GuardArgs),
    /// Weights read from AWS, last decision, error rates, journal tail.
    Status(StatusArgs),
    /// Rehearse a shift on the local stack: replayed traffic routed by moto's alias weights.
    Rehearse(RehearseArgs),
    /// Parity fixtures: `new` writes one with an event built as its source sends it (an S3
    /// notification, an SQS batch).
    Fixtures {
        #[command(subcommand)]
        action: FixturesAction,
    },
    /// The Rust function crates: list, new (scaffold), build (cargo-lambda), package (zip),
    /// publish (as a version of the Python function), hybrid-template.
    Functions {
        #[command(subcommand)]
        action: FunctionsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum FixturesAction {
    /// Write parity-fixtures/FUNCTION/NAME.json with an S3 or SQS event (record it after with
    /// `parity record`).
    New(FixtureNewArgs),
}

#[derive(Debug, Args)]
pub struct FixtureNewArgs {
    /// Function name from manuel-migrate.toml.
    #[arg(long)]
    pub function: String,
    /// Case name (the file name without .json).
    #[arg(long)]
    pub name: String,
    /// What the event is.
    #[arg(long, value_enum)]
    pub kind: NewEventKind,
    /// What the case tests.
    #[arg(long)]
    pub notes: Option<String>,
    /// s3: the bucket (default: the manuals bucket of the project's stage).
    #[arg(long)]
    pub bucket: Option<String>,
    /// s3: an object key, unencoded (repeatable: one record each; encoded as S3 encodes it).
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// s3: the objects' size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub size: u64,
    /// s3: the objects' ETag.
    #[arg(long, default_value = "d41d8cd98f00b204e9800998ecf8427e")]
    pub etag: String,
    /// s3: the event name.
    #[arg(long, default_value = "ObjectCreated:Put")]
    pub event_name: String,
    /// sqs: the queue's ARN (default: the first queue of `[stack]` in manuel-migrate.toml).
    #[arg(long)]
    pub queue_arn: Option<String>,
    /// sqs: a message body (repeatable: one message each).
    #[arg(long = "body", value_name = "TEXT")]
    pub bodies: Vec<String>,
    /// sqs: a file whose text is a message body (repeatable).
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_files: Vec<PathBuf>,
    /// Environment override for both sides, `KEY=VALUE` (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The time both sides start at (RFC 3339), for answers and state that hold "now".
    #[arg(long, value_name = "TIME")]
    pub clock: Option<String>,
    /// Replace an existing fixture of that name.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NewFunctionKind {
    Apigw,
    S3,
    Sqs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NewEventKind {
    S3,
    Sqs,
}

#[derive(Debug, Subcommand)]
pub enum FunctionsAction {
    /// Table of the function crates: Python twin, routes, binaries, template resource, last parity.
    List,
    /// Scaffold a function crate in the house shape, with its fixtures folder, config entry and
    /// template resource.
    New {
        /// Crate name of the new function (a folder under functions/ and a [functions.NAME] entry).
        name: String,
        /// Folder of the Python function it replaces (default: the same name).
        #[arg(long)]
        python_dir: Option<String>,
        /// API route, `METHOD /path` (repeatable; default `GET /api/NAME`; apigw only).
        #[arg(long)]
        route: Vec<String>,
        /// What triggers it: API Gateway routes (default), S3 notifications or an SQS queue —
        /// the handler shape, config entry and template resource follow.
        #[arg(long, value_enum, default_value = "apigw")]
        kind: NewFunctionKind,
    },
    /// Cross-build release `bootstrap` binaries for provided.al2023 with cargo-lambda.
    Build {
        /// Functions to build (repeatable; default: all).
        #[arg(long = "function", value_name = "NAME")]
        functions: Vec<String>,
        /// CPU architecture of the Lambda function.
        #[arg(long, value_enum, default_value = "arm64")]
        arch: LambdaArch,
        /// Cargo profile of the build: `release` (what is deployed), or another of the
        /// workspace's, e.g. `lambda-check` (unoptimised: the tests' check of the pipeline).
        #[arg(long, default_value = "release", value_name = "PROFILE")]
        cargo_profile: String,
    },
    /// Zip each built `bootstrap` reproducibly (target/lambda/NAME.zip), with size and sha256.
    Package {
        /// Functions to package (repeatable; default: every built one).
        #[arg(long = "function", value_name = "NAME")]
        functions: Vec<String>,
    },
    /// Upload a package as the code of a deployed function and publish a version.
    Publish {
        /// Function name from manuel-migrate.toml.
        #[arg(long)]
        function: String,
        /// Publish the Rust code as a new version of this (Python) function, as alias-weight
        /// shifting needs; recorded in manuel-migrate.toml.
        #[arg(long, value_name = "NAME")]
        as_version_of: Option<String>,
        /// The package to upload (default: target/lambda/CRATE.zip).
        #[arg(long, value_name = "FILE")]
        zip: Option<PathBuf>,
    },
    /// Generate template-hybrid.yaml (Python functions as deployed, Rust ports on /rust test
    /// routes) from manuel-migrate.toml and template-rust.yaml.
    HybridTemplate {
        /// Write nothing; exit 1 when the committed file differs from what would be generated.
        #[arg(long)]
        check: bool,
        /// Put the Rust token authorizer (AuthorizerFunctionRust) on FUNCTION's routes that
        /// Manuel serves without an authorizer, Python side included (repeatable). The template
        /// records it in its header; later runs keep what it records unless given again.
        #[arg(long, value_name = "FUNCTION")]
        token_authorizer: Vec<String>,
        /// Drop the token authorizer the committed template records.
        #[arg(long, conflicts_with = "token_authorizer")]
        no_token_authorizer: bool,
    },
    /// Compare manuel-migrate.toml with what a SAM template (Manuel's backend/template.yaml)
    /// deploys — memory, timeout, layers, environment, routes, routes without an authorizer —
    /// and update the file (comments kept), or with --check report each difference.
    Sync {
        /// The SAM template (repeatable: a function is taken from the first that defines its
        /// template_resource, e.g. backend/template.yaml, then backend/template-minimal.yaml).
        #[arg(long, required = true, value_name = "PATH")]
        template: Vec<PathBuf>,
        /// Parameter values: a CloudFormation parameters JSON (a list of ParameterKey and
        /// ParameterValue, or {"Parameters": {...}}) or a samconfig.toml (default: each
        /// parameter's Default).
        #[arg(long, value_name = "FILE")]
        parameters: Option<PathBuf>,
        /// The samconfig.toml environment whose parameter_overrides to read.
        #[arg(long, default_value = "default", value_name = "ENV")]
        config_env: String,
        /// Write nothing; exit 1 when a fact differs, naming the function and field.
        #[arg(long)]
        check: bool,
        /// Only these functions (repeatable; default: every function with a Python twin).
        #[arg(long = "function", value_name = "NAME")]
        functions: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LambdaArch {
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Function name from manuel-migrate.toml (its parity fixtures are the request mix).
    #[arg(long)]
    pub function: String,
    /// Only cases whose name matches this glob.
    #[arg(long = "case", value_name = "GLOB")]
    pub case: Option<String>,
    #[command(flatten)]
    pub targets: Targets,
    /// Requests in flight at once (closed loop), or workers (open loop).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Measured requests per side (default 2000 unless --duration is given).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Measure for this long per side instead (e.g. 30s, 2m).
    #[arg(long, value_parser = crate::bench::load::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Open loop at this many requests per second (latency from the intended send time).
    #[arg(long, value_parser = positive_rate)]
    pub rate: Option<f64>,
    /// Unrecorded requests before measuring.
    #[arg(long, default_value_t = 50)]
    pub warmup: u64,
    /// Cold-start samples per side (0: skip).
    #[arg(long, default_value_t = 10)]
    pub cold_samples: u32,
    /// Share of requests assumed to hit a cold start, for the billed-INIT part of the cost.
    #[arg(long, default_value_t = 0.01)]
    pub cold_ratio: f64,
    /// Region for prices (default: the project's).
    #[arg(long)]
    pub region: Option<String>,
    /// Architecture the Rust function is priced on.
    #[arg(long, default_value = "arm64")]
    pub rust_arch: String,
    /// Architecture the Python function is priced on (backend/template.yaml sets none: x86_64).
    #[arg(long, default_value = "x86_64")]
    pub python_arch: String,
    /// Memory size, 128–10240: what the local processes are limited to and what is priced
    /// (default: the function's in manuel-migrate.toml).
    #[arg(long, value_parser = clap::value_parser!(u32).range(128..=10240))]
    pub memory_mb: Option<u32>,
    /// Run function processes without Lambda's limits (CPU in proportion to memory, the memory
    /// size itself; see the README, "Lambda limits").
    #[arg(long)]
    pub no_lambda_limits: bool,
    /// Power tuning: run the mix at each of these memory sizes (comma-separated, 128–10240)
    /// under Lambda's limits and name the cheapest and the fastest within 10 % of its cost.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(128..=10240), conflicts_with_all = ["memory_mb", "no_lambda_limits"])]
    pub memory: Vec<u32>,
    /// With --memory: write the chosen size (the fastest within 10 %) into template-rust.yaml,
    /// with the evidence as a comment.
    #[arg(long, requires = "memory")]
    pub write_template: bool,
    /// Exit 1 when a Rust target fails.
    #[arg(long)]
    pub gate: bool,
    /// Cargo profile of the Rust binary (default: release if built, else debug).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Folder for the reports (default: reports/ of the project).
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
}

/// A flag value clap refuses, with the reason it prints.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(String);

fn positive_rate(s: &str) -> Result<f64, ArgError> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(ArgError(format!(
            "rate must be a positive number of requests per second, got '{s}'"
        ))),
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Function name from manuel-migrate.toml.
    #[arg(long)]
    pub function: String,
    /// Port on 127.0.0.1 (0: a free one, printed at start).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Serve the real Python handler from this folder instead of the Rust binary.
    #[arg(long, value_name = "DIR")]
    pub python_src: Option<PathBuf>,
    /// Cargo profile of the Rust binary (default: release if built, else debug).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Subcommand)]
pub enum StackAction {
    /// Start redis and moto detached on 127.0.0.1 and create the functions' resources.
    Up {
        /// Port for redis-server on 127.0.0.1 (default: a free one; a busy one is refused).
        #[arg(long)]
        redis_port: Option<u16>,
        /// Port for moto server on 127.0.0.1 (default: a free one; a busy one is refused).
        #[arg(long)]
        moto_port: Option<u16>,
        /// Stacks to run: the first on the ports above, each further one a whole stack of its
        /// own (moto, Redis, Bedrock replay, transcript proxy) on free ports, which `parity`
        /// replays on in parallel (`--stacks`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
        workers: u32,
    },
    /// Show the services of the running stack and their health.
    Status,
    /// Stop what `stack up` started.
    Down,
    /// Print the environment a function gets on this stack (shell `export` lines).
    Env {
        /// Function whose environment to print.
        #[arg(long, default_value = "health")]
        function: String,
    },
    /// The stack's Bedrock replay service (started by the stack; not for direct use).
    #[command(hide = true)]
    BedrockReplay {
        /// Folder of the recordings (parity-fixtures/bedrock).
        #[arg(long)]
        dir: PathBuf,
        /// Folder where unknown requests are saved.
        #[arg(long)]
        misses: PathBuf,
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
    },
    /// The stack's alarm evaluator and SNS → Lambda delivery (started by the stack; not for
    /// direct use).
    #[command(hide = true)]
    Alarms {
        /// The stack's run folder (its stack.json).
        #[arg(long)]
        run_dir: PathBuf,
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Time between evaluations, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        tick_ms: u64,
    },
    /// The stack's transcript proxy (started by the stack; not for direct use).
    #[command(hide = true)]
    TranscriptProxy {
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Where to write the stack CA's certificate (its key stays in memory).
        #[arg(long)]
        ca_out: PathBuf,
        /// Folder of the transcripts (parity-fixtures/transcripts), by SHA-256 of the audio.
        #[arg(long)]
        dir: PathBuf,
        /// moto's URL (jobs and audio).
        #[arg(long)]
        moto_url: String,
        /// Region of the stack.
        #[arg(long)]
        region: String,
    },
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Function name from manuel-migrate.toml.
    #[arg(long)]
    pub function: String,
    /// JSON file: an API Gateway proxy event, or a parity fixture (its `event` is used).
    #[arg(long, value_name = "FILE")]
    pub event: PathBuf,
    /// Run the real Python handler from this folder (a Manuel checkout's backend/src/functions).
    #[arg(long, value_name = "DIR")]
    pub python_src: Option<PathBuf>,
    /// A fresh process for every invocation.
    #[arg(long)]
    pub cold: bool,
    /// Run function processes without Lambda's limits (CPU in proportion to memory, the memory
    /// size itself; see the README, "Lambda limits").
    #[arg(long)]
    pub no_lambda_limits: bool,
    /// Invoke this many times (the first is cold, the rest warm unless --cold).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub times: u32,
    /// Cargo profile of the Rust binary (default: release if built, else debug).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Extra environment for the function (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ParityArgs {
    #[command(subcommand)]
    pub action: Option<ParityAction>,
    #[command(flatten)]
    pub run: ParityRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum ParityAction {
    /// Run the real Python handlers and (with --yes) write their responses into the fixtures.
    Record(RecordArgs),
    /// Write parity-fixtures/schema.json, the JSON Schema of fixtures and cross scenarios,
    /// generated from the fixture types (--check: exit 1 if the committed file is stale).
    Schema {
        /// Write nothing; exit 1 when parity-fixtures/schema.json differs from the generated one.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Args, Clone)]
pub struct CaseSelection {
    /// Functions to check (repeatable; default: every function with fixtures).
    #[arg(long = "function", value_name = "NAME")]
    pub functions: Vec<String>,
    /// Only cases whose name matches this glob.
    #[arg(long = "case", value_name = "GLOB")]
    pub case: Option<String>,
    /// Cargo profile of the Rust binaries (default: release if built, else debug).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Args)]
pub struct ParityRunArgs {
    #[command(flatten)]
    pub select: CaseSelection,
    #[command(flatten)]
    pub targets: Targets,
    /// Replay every case this many times (throughput measurement).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub repeat: u32,
    /// Cases in flight at once on each stack.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Isolated local stacks (each its own moto and Redis) the cases are spread over; stateful
    /// cases run one at a time on each. Default: the running ones (`stack up --workers N`), or
    /// without a running stack one private stack per CPU core, at most 4.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub stacks: Option<u32>,
    /// Unexplained differences the gate tolerates.
    #[arg(long, default_value_t = 0)]
    pub max_diff: usize,
    /// Folder for the reports (default: reports/ of the project).
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Cross-read: every stateful case runs twice on one state, written by one side and read
    /// by the other (Python→Rust and Rust→Python), compared with Python→Python. Needs
    /// --python-src and the local Rust side.
    #[arg(long)]
    pub cross: bool,
    /// Let the local Rust processes wait between their polls as deployed (4 s between the
    /// query function's Transcribe job reads). By default the gate asks them to skip the
    /// waits: the reads and their order are the same, the answers come seconds sooner.
    #[arg(long)]
    pub real_waits: bool,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub select: CaseSelection,
    /// backend/src/functions of a Manuel checkout.
    #[arg(long, value_name = "DIR")]
    pub python_src: PathBuf,
    /// Write the recordings (without it, only show what would change).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ShiftArgs {
    /// Function name from manuel-migrate.toml (needs its [functions.NAME.deploy] section).
    #[arg(long)]
    pub function: String,
    /// Set Rust's share to this percentage (0–100).
    #[arg(long, value_parser = percent, conflicts_with = "plan")]
    pub percent: Option<f64>,
    /// Walk these increasing percentages, e.g. 5,25,50,100.
    #[arg(long)]
    pub plan: Option<String>,
    /// Time between steps, also the metrics window (default from [shift]).
    #[arg(long)]
    pub interval: Option<String>,
    /// Rust invocations a window needs before it is judged (default from [shift]).
    #[arg(long)]
    pub min_invocations: Option<u64>,
    /// Points by which Rust's error rate may exceed Python's.
    #[arg(long)]
    pub max_error_diff: Option<f64>,
    /// Windows without enough Rust traffic before the shift stops.
    #[arg(long)]
    pub inconclusive_limit: Option<u32>,
    /// Shift up even though the last verdict was a rollback.
    #[arg(long)]
    pub force: bool,
    /// Print every AWS call it would make, make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Shift even though a live route lacks the authorizer the Rust twin needs.
    #[arg(long)]
    pub accept_route_auth: bool,
    /// Shift although an event source mapping invokes the function unqualified (`$LATEST`) or
    /// the Rust version, so that its events bypass the weights.
    #[arg(long)]
    pub accept_event_sources: bool,
    /// Move weight without the guard in AWS (alarm, topic, rollback-guard function): once this
    /// process is gone, nothing watches the Rust share.
    #[arg(long)]
    pub no_guard: bool,
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    #[command(subcommand)]
    pub action: GuardAction,
}

#[derive(Debug, Subcommand)]
pub enum GuardAction {
    /// Whether the function's guard is whole, and its alarm's state.
    Show {
        /// Function name from manuel-migrate.toml (needs its [functions.NAME.deploy] section).
        #[arg(long)]
        function: String,
    },
    /// Delete the function's guard (alarm, topic, function): when Python is being removed.
    Remove {
        /// Function name from manuel-migrate.toml (needs its [functions.NAME.deploy] section).
        #[arg(long)]
        function: String,
    },
}

fn percent(s: &str) -> Result<f64, ArgError> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(ArgError(format!(
            "percent must be a number from 0 to 100, got '{s}'"
        ))),
    }
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Function name from manuel-migrate.toml (needs its [functions.NAME.deploy] section).
    #[arg(long)]
    pub function: String,
    /// Print the AWS call it would make, make none.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One function (default: every function with a deploy section).
    #[arg(long)]
    pub function: Option<String>,
}

#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Function name from manuel-migrate.toml (its read-only fixtures are the traffic).
    #[arg(long)]
    pub function: String,
    /// Run the real Python handlers (default: the recorded answers stand in for Python).
    #[arg(long, value_name = "DIR")]
    pub python_src: Option<PathBuf>,
    /// The increasing Rust percentages to walk.
    #[arg(long, default_value = "5,25,50,100")]
    pub plan: String,
    /// Time between steps, also the metrics window.
    #[arg(long, default_value = "3s")]
    pub interval: String,
    /// Rust invocations a window needs before it is judged.
    #[arg(long, default_value_t = 20)]
    pub min_invocations: u64,
    /// Points by which Rust's error rate may exceed Python's.
    #[arg(long, default_value_t = 1.0)]
    pub max_error_diff: f64,
    /// Windows without enough Rust traffic before the plan stops.
    #[arg(long, default_value_t = 3)]
    pub inconclusive_limit: u32,
    /// Make this percentage of the Rust side's invocations fail (injected by the local Runtime API).
    #[arg(long, default_value_t = 0)]
    pub fault_percent: u32,
    /// Replayed requests per second.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub rate: u32,
    /// Run function processes without Lambda's limits (CPU in proportion to memory, the memory
    /// size itself; see the README, "Lambda limits").
    #[arg(long)]
    pub no_lambda_limits: bool,
    /// Cargo profile of the Rust binary (default: release if built, else debug).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

/// Where each side answers. Python: the recordings (default), `--python-src` (local),
/// `--python-function` or `--python-url`. Rust: the local binary (default), `--rust-function` or
/// `--rust-url`.
#[derive(Debug, Args, Clone, Default)]
pub struct Targets {
    /// The real Python handlers in this folder (a Manuel checkout's backend/src/functions), run locally.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["python_function", "python_url"])]
    pub python_src: Option<PathBuf>,
    /// Deployed Python function (Lambda Invoke).
    #[arg(long, value_name = "NAME", conflicts_with = "python_url")]
    pub python_function: Option<String>,
    /// Deployed Rust function (Lambda Invoke) instead of the local binary.
    #[arg(long, value_name = "NAME", conflicts_with = "rust_url")]
    pub rust_function: Option<String>,
    /// Alias or version for --python-function / --rust-function.
    #[arg(long, value_name = "Q")]
    pub qualifier: Option<String>,
    /// Base URL of the deployed Python API (e.g. https://ID.execute-api.REGION.amazonaws.com/Prod).
    #[arg(long, value_name = "URL")]
    pub python_url: Option<String>,
    /// Base URL of the deployed Rust API.
    #[arg(long, value_name = "URL")]
    pub rust_url: Option<String>,
    /// Also send requests that write (POST/PUT/PATCH/DELETE) to deployments.
    #[arg(long)]
    pub allow_writes: bool,
}

impl Targets {
    /// A Python side other than the recordings was asked for.
    pub fn python_live(&self) -> bool {
        self.python_src.is_some() || self.python_function.is_some() || self.python_url.is_some()
    }

    pub fn rust_local(&self) -> bool {
        self.rust_function.is_none() && self.rust_url.is_none()
    }

    /// Any side is a deployment.
    pub fn remote(&self) -> bool {
        !self.rust_local() || self.python_function.is_some() || self.python_url.is_some()
    }

    /// Local targets need the local stack.
    pub fn needs_stack(&self) -> bool {
        self.rust_local() || self.python_src.is_some()
    }

    pub fn python_where(&self) -> crate::exec::Where<'_> {
        crate::exec::Where {
            local_src: self.python_src.as_deref(),
            lambda: self.python_function.as_deref(),
            url: self.python_url.as_deref(),
            qualifier: self.qualifier.as_deref(),
        }
    }

    pub fn rust_where(&self) -> crate::exec::Where<'_> {
        crate::exec::Where {
            local_src: None,
            lambda: self.rust_function.as_deref(),
            url: self.rust_url.as_deref(),
            qualifier: self.qualifier.as_deref(),
        }
    }
}

#[cfg(test)]
mod help_tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Issue 22: about 25 flags had no help text. Every argument of every subcommand has one.
    #[test]
    fn every_flag_and_subcommand_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(format!("{p} (no about)"));
                }
                walk(sub, &p, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "manuel-migrate", &mut missing);
        assert!(missing.is_empty(), "without help:\n{}", missing.join("\n"));
    }
}
