use clap::Parser;
use manuel_migrate::{cli::Cli, commands, exit, signal};

fn main() {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info,aws_config=warn,aws_smithy_runtime=warn",
        _ => "debug,hyper=info,aws_smithy_runtime=info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a CI capture gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit::INPUT_ERROR);
        }
    };
    let code = runtime.block_on(async {
        let command = commands::run(cli);
        tokio::pin!(command);
        loop {
            tokio::select! {
                res = &mut command => break match res {
                    Ok(code) => code,
                    Err(e) => {
                        eprintln!("error: {}", one_line(&e));
                        // An AWS or local-service failure is not the user's input: its own code.
                        if e.chain().any(exit::is_service_failure) {
                            exit::SERVICE_FAILED
                        } else {
                            exit::INPUT_ERROR
                        }
                    }
                },
                _ = tokio::signal::ctrl_c() => {
                    if signal::claimed() && !signal::stop_requested() {
                        eprintln!("interrupted: finishing with what was measured (Ctrl-C again to abort)");
                        signal::request_stop();
                        continue;
                    }
                    eprintln!("interrupted: stopping what this command started");
                    break 130;
                }
            }
        }
    });
    // Dropping the runtime drops the command's futures: sandboxes and private stacks stop.
    drop(runtime);
    std::process::exit(code);
}

fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}
