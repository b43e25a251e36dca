//! One module per subcommand; `run` dispatches.

pub mod bench;
pub mod fixtures;
pub mod functions;
pub mod invoke;
pub mod parity;
pub mod rehearse;
pub mod serve;
pub mod shift;
pub mod stack;

use crate::cli::{Cli, Command};
use crate::config::Project;
use anyhow::Context;

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut project = load_project(cli.project.as_deref())?;
    if let Some(dir) = cli.python_shared {
        if !crate::config::is_manuel_shared(&dir) {
            anyhow::bail!(
                "--python-shared {}: not Manuel's backend/src/shared (no utils.py in it)",
                dir.display()
            );
        }
        project.python_shared = Some(dir);
    }
    match cli.command {
        Command::Stack { action } => stack::run(&project, action).await,
        Command::Invoke(args) => invoke::run(&project, args).await,
        Command::Parity(args) => parity::run(&project, *args).await,
        Command::Serve(args) => serve::run(&project, args).await,
        Command::Bench(args) => bench::run(&project, *args).await,
        Command::Functions { action } => functions::run(&project, action).await,
        Command::Fixtures { action } => fixtures::run(&project, action),
        Command::Shift(args) => shift::shift(&project, args).await,
        Command::Rollback(args) => shift::rollback(&project, args).await,
        Command::Guard(args) => shift::guard(&project, args).await,
        Command::Status(args) => shift::status(&project, args).await,
        Command::Rehearse(args) => rehearse::run(&project, args).await,
    }
}

fn load_project(dir: Option<&std::path::Path>) -> anyhow::Result<Project> {
    Ok(match dir {
        Some(d) => Project::load(d)?,
        None => {
            let cwd = std::env::current_dir().context("current folder")?;
            Project::discover(&cwd)?
        }
    })
}

/// Parse `KEY=VALUE` pairs given on the command line.
pub fn parse_env_pairs(pairs: &[String]) -> anyhow::Result<crate::exec::EnvVars> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--env {p}: expected KEY=VALUE"))
        })
        .collect()
}

/// A result table: wrapped to the terminal's width (or `$COLUMNS` when output is not a
/// terminal), long cells broken over lines.
pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if t.width().is_none() {
        if let Some(w) = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|w| *w >= 40)
        {
            t.set_width(w);
        }
    }
    t
}

/// One line of a function's log, as `  | text`. Python's runtime joins the lines of one log
/// record (a traceback) with bare `\r` so that CloudWatch keeps them together; on a terminal
/// those would overwrite each other, so each becomes its own `  | ` line.
pub fn print_log_line(line: &str) {
    for l in log_lines(line) {
        eprintln!("{l}");
    }
}

fn log_lines(line: &str) -> Vec<String> {
    line.split('\r').map(|part| format!("  | {part}")).collect()
}

/// `{rate}` for progress bars: items per second without the four decimals of `{per_sec}`.
pub fn progress_style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .expect("progress template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let r = state.per_sec();
                let _ = if r >= 10.0 {
                    write!(w, "{r:.0}/s")
                } else {
                    write!(w, "{r:.1}/s")
                };
            },
        )
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 22: tracebacks joined with bare `\r` overwrote themselves on a terminal.
    #[test]
    fn a_traceback_becomes_one_line_per_frame() {
        let tb = "[ERROR] KeyError: 'x'\rTraceback (most recent call last):\r  File \"/var/task/app.py\", line 3";
        assert_eq!(
            log_lines(tb),
            [
                "  | [ERROR] KeyError: 'x'",
                "  | Traceback (most recent call last):",
                "  |   File \"/var/task/app.py\", line 3"
            ]
        );
    }

    /// Issue 22: tables ignored the terminal's width (214 columns on an 80-column terminal).
    #[test]
    fn tables_wrap_to_the_width() {
        let mut t = table();
        t.set_width(80);
        t.set_header(vec![
            "crate",
            "python twin",
            "routes",
            "binaries",
            "template",
        ]);
        t.add_row(vec![
            "pdf-page (functions/pdf-page)",
            "pdf-page/app.lambda_handler",
            "GET /api/pdf-page, POST /api/pdf-page/highlight, GET /api/pdf-page/{id}/{page}",
            "release 12.3 MB x86_64, debug 140.1 MB x86_64, lambda 10.2 MB aarch64",
            "PDFPageFunctionRust",
        ]);
        let text = t.to_string();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }
}
