//! `stack up|status|down|env`.

use crate::cli::StackAction;
use crate::config::Project;
use crate::exec::local::function_env;
use crate::stack::{self, Ports, Stack};
use std::collections::BTreeMap;

pub async fn run(project: &Project, action: StackAction) -> anyhow::Result<i32> {
    match action {
        StackAction::Up {
            redis_port,
            moto_port,
            workers,
        } => {
            if let Some(s) = Stack::attach(project) {
                let pids: Vec<String> = s
                    .info
                    .services()
                    .iter()
                    .map(|v| v.pid.to_string())
                    .collect();
                return Err(stack::StackError::AlreadyRunning(pids.join(", ")).into());
            }
            // A recorded stack that is only partly alive (one service died or was killed):
            // stop the survivors, or they would run on, unrecorded, once stack.json is rewritten.
            for svc in stack::down(project)? {
                eprintln!(
                    "stopped {} (pid {}) left over from a stack that was no longer whole",
                    svc.name, svc.pid
                );
            }
            stack::clean_stale_private_stacks(project);
            let s = Stack::start(
                project,
                stack::shared_run_dir(project),
                Ports {
                    redis: redis_port,
                    moto: moto_port,
                    ..Ports::default()
                },
                true,
            )
            .await?;
            let further = match Stack::start_workers(project, workers as usize - 1).await {
                Ok(w) => w,
                Err(e) => {
                    // Not half up: what started is stopped again.
                    stack::down(project)?;
                    return Err(e.into());
                }
            };
            let mut t = super::table();
            t.set_header(vec!["stack", "service", "pid", "address", "log"]);
            for (i, st) in std::iter::once(&s).chain(&further).enumerate() {
                for svc in st.info.services() {
                    t.add_row(vec![
                        stack_label(i),
                        svc.name.clone(),
                        svc.pid.to_string(),
                        format!("127.0.0.1:{}", svc.port),
                        svc.log.display().to_string(),
                    ]);
                }
            }
            println!("{t}");
            println!(
                "resources: table {}, buckets {} and {}; Bedrock recordings from {}",
                s.usage_table(),
                s.manuals_bucket(),
                s.audio_bucket(),
                project.fixtures_dir().join("bedrock").display()
            );
            let extra = &project.config.stack;
            let names = |kind: &str, items: Vec<&String>| {
                items
                    .iter()
                    .map(|n| format!("{kind} {}", s.resource_name(n)))
                    .collect::<Vec<_>>()
            };
            let listed: Vec<String> = [
                names("table", extra.tables.iter().map(|t| &t.name).collect()),
                names("queue", extra.queues.iter().map(|q| &q.name).collect()),
                names("topic", extra.topics.iter().map(|t| &t.name).collect()),
            ]
            .concat();
            if !listed.is_empty() {
                println!("[stack] resources: {}", listed.join(", "));
            }
            Ok(0)
        }
        StackAction::Status => {
            let Some(info) = stack::recorded(project) else {
                println!("no stack is running (start one with `manuel-migrate stack up`)");
                return Ok(0);
            };
            let mut t = super::table();
            t.set_header(vec![
                "stack", "service", "pid", "address", "process", "health",
            ]);
            let mut all_ok = true;
            let workers = stack::recorded_workers(project);
            for (i, info) in std::iter::once(&info).chain(&workers).enumerate() {
                for (svc, alive, health) in Stack::health(info).await {
                    all_ok &= alive && health.starts_with("healthy");
                    t.add_row(vec![
                        stack_label(i),
                        svc.name.clone(),
                        svc.pid.to_string(),
                        format!("127.0.0.1:{}", svc.port),
                        if alive { "running" } else { "gone" }.to_string(),
                        health,
                    ]);
                }
            }
            println!("{t}");
            println!("started {}", info.started_at);
            Ok(if all_ok { 0 } else { 1 })
        }
        StackAction::Down => {
            let stopped = stack::down(project)?;
            if stopped.is_empty() {
                println!("nothing to stop");
            }
            for svc in stopped {
                let free = !stack::port_has_listener(svc.port);
                println!(
                    "stopped {} (pid {}), port {} {}",
                    svc.name,
                    svc.pid,
                    svc.port,
                    if free { "free" } else { "STILL IN USE" }
                );
            }
            Ok(0)
        }
        StackAction::BedrockReplay { dir, misses, port } => {
            stack::bedrock::serve(&dir, &misses, port).await?;
            Ok(0)
        }
        StackAction::Alarms {
            run_dir,
            port,
            tick_ms,
        } => {
            stack::alarms::serve(
                project.clone(),
                run_dir,
                port,
                std::time::Duration::from_millis(tick_ms.max(100)),
            )
            .await?;
            Ok(0)
        }
        StackAction::TranscriptProxy {
            port,
            ca_out,
            dir,
            moto_url,
            region,
        } => {
            stack::transcripts::serve(port, &ca_out, &dir, &moto_url, &region).await?;
            Ok(0)
        }
        StackAction::Env { function } => {
            let Some(s) = Stack::attach(project) else {
                anyhow::bail!("no stack is running (start one with `manuel-migrate stack up`)");
            };
            let env = function_env(
                project,
                &function,
                &s.vars(),
                &s.aws_env(),
                &BTreeMap::new(),
            )?;
            // The process environment Lambda gives a function also sets PATH, LANG and TZ;
            // exported into a shell they would replace the user's own.
            let (host, exported): (Vec<_>, Vec<_>) = env
                .into_iter()
                .partition(|(k, _)| HOST_VARS.contains(&k.as_str()));
            for (k, v) in exported {
                println!("export {k}={}", shell_quote(&v));
            }
            let host: Vec<String> = host.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "# not exported (the function process gets them; your shell keeps its own): {}",
                host.join(" ")
            );
            Ok(0)
        }
    }
}

/// Variables of the function's process that belong to the host, not to the function.
const HOST_VARS: [&str; 3] = ["PATH", "LANG", "TZ"];

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// How the tables name a stack: the first, or worker N of `stack up --workers`.
fn stack_label(i: usize) -> String {
    if i == 0 {
        "main".into()
    } else {
        format!("worker-{i}")
    }
}
