//! `fixtures new`: a parity fixture whose event is built as its source sends it.

use crate::cli::{FixtureNewArgs, FixturesAction, NewEventKind};
use crate::config::Project;
use crate::exec::EventKind;
use crate::exit;
use crate::fixtures::{self, events, Case, Fixture};
use anyhow::Context;

pub fn run(project: &Project, action: FixturesAction) -> anyhow::Result<i32> {
    match action {
        FixturesAction::New(args) => new(project, args),
    }
}

fn new(project: &Project, args: FixtureNewArgs) -> anyhow::Result<i32> {
    project.function(&args.function)?;
    let name = args.name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        anyhow::bail!(
            "--name '{}': a case name is a file name without .json",
            args.name
        );
    }
    let p = &project.config.project;
    let (kind, event) = match args.kind {
        NewEventKind::S3 => {
            if args.keys.is_empty() {
                anyhow::bail!("--kind s3 needs at least one --key");
            }
            let bucket = args
                .bucket
                .clone()
                .unwrap_or_else(|| crate::stack::manuals_bucket_name(&p.stage, &p.account_id));
            let objects: Vec<events::S3Object> = args
                .keys
                .iter()
                .map(|k| events::S3Object {
                    key: k.clone(),
                    size: args.size,
                    etag: args.etag.clone(),
                })
                .collect();
            (
                EventKind::S3,
                events::s3_event(&bucket, &p.region, &args.event_name, &objects),
            )
        }
        NewEventKind::Sqs => {
            let mut bodies = args.bodies.clone();
            for f in &args.body_files {
                bodies.push(
                    std::fs::read_to_string(f)
                        .with_context(|| format!("--body-file {}", f.display()))?,
                );
            }
            if bodies.is_empty() {
                anyhow::bail!("--kind sqs needs at least one --body or --body-file");
            }
            if bodies.len() > 10 {
                anyhow::bail!(
                    "{} bodies: the Lambda poller delivers at most 10 messages of a standard queue per batch here",
                    bodies.len()
                );
            }
            let arn = match &args.queue_arn {
                Some(a) => a.clone(),
                None => {
                    let q = project.config.stack.queues.first().context(
                        "--queue-arn: no queue in [stack] of manuel-migrate.toml to default to",
                    )?;
                    p.arn("sqs", &p.resource_name(&q.name))
                }
            };
            (EventKind::Sqs, events::sqs_event(&arn, &bodies))
        }
    };
    let file = project
        .fixtures_dir()
        .join(&args.function)
        .join(format!("{name}.json"));
    if file.exists() && !args.force {
        anyhow::bail!("{}: exists (pass --force to replace it)", file.display());
    }
    let case = Case {
        function: args.function.clone(),
        file: file.clone(),
        fixture: Fixture {
            name: name.to_owned(),
            notes: args.notes.clone(),
            kind,
            event,
            env: super::parse_env_pairs(&args.env)?
                .into_iter()
                .map(|(k, v)| (k, Some(v)))
                .collect(),
            setup: None,
            clock: args.clock.clone(),
            python: None,
            state: None,
            noise: Vec::new(),
            recorded: None,
        },
        stateful: false,
    };
    // What `parity` will read back must pass its own checks.
    let text = serde_json::to_string_pretty(&case.fixture)?;
    fixtures::parse(&file, &text)?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    fixtures::save(&case).with_context(|| file.display().to_string())?;
    println!(
        "wrote {} ({} event, {} record(s)); record it: manuel-migrate parity record --python-src DIR --function {} --case '{name}' --yes",
        file.display(),
        kind.name(),
        case.fixture.event["Records"].as_array().map_or(0, Vec::len),
        args.function
    );
    Ok(exit::OK)
}
