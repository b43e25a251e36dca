//! `functions list | new | build | package | publish | hybrid-template | sync`: the Rust function
//! crates of this workspace, the templates that deploy them, and the configuration's agreement
//! with the Python template.

mod new;
pub(crate) mod package;
mod sync;

#[cfg(test)]
use new::camel;
pub use new::check_name;
use new::new;
#[cfg(test)]
use package::zip_arch;
use package::{build, package, publish};

use crate::cli::FunctionsAction;
use crate::config::Project;
use crate::exit;
use std::path::Path;

pub async fn run(project: &Project, action: FunctionsAction) -> anyhow::Result<i32> {
    match action {
        FunctionsAction::List => list(project),
        FunctionsAction::New {
            name,
            python_dir,
            route,
            kind,
        } => new(project, &name, python_dir.as_deref(), &route, kind),
        FunctionsAction::Build {
            functions,
            arch,
            cargo_profile,
        } => build(project, &functions, arch, &cargo_profile),
        FunctionsAction::Package { functions } => package(project, &functions),
        FunctionsAction::Publish {
            function,
            as_version_of,
            zip,
        } => publish(project, &function, as_version_of.as_deref(), zip.as_deref()).await,
        FunctionsAction::HybridTemplate {
            check,
            token_authorizer,
            no_token_authorizer,
        } => hybrid_template(project, check, token_authorizer, no_token_authorizer),
        FunctionsAction::Sync {
            template,
            parameters,
            config_env,
            check,
            functions,
        } => sync::sync(
            project,
            &template,
            parameters.as_deref(),
            &config_env,
            check,
            &functions,
        ),
    }
}

/// Write template-hybrid.yaml, or with `check` compare the committed one with what would be
/// written (exit 1 when they differ). Options not given are those the committed file records.
fn hybrid_template(
    project: &Project,
    check: bool,
    token_authorizer: Vec<String>,
    no_token_authorizer: bool,
) -> anyhow::Result<i32> {
    use crate::hybrid::{self, Options, HYBRID_TEMPLATE};
    let path = project.root.join(HYBRID_TEMPLATE);
    let committed = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    };
    let mut options = committed
        .as_deref()
        .map(Options::of_template)
        .unwrap_or_default();
    if no_token_authorizer {
        options.token_authorizer.clear();
    } else if !token_authorizer.is_empty() {
        options.token_authorizer = token_authorizer;
    }
    let generated = hybrid::generate_for(project, &options)?;
    if check {
        let Some(committed) = committed else {
            println!("{HYBRID_TEMPLATE} is missing: generate it with `manuel-migrate functions hybrid-template`");
            return Ok(exit::GATE_FAILED);
        };
        let changes = hybrid::differences(&committed, &generated);
        if changes.is_empty() {
            println!(
                "{HYBRID_TEMPLATE} is up to date with manuel-migrate.toml and template-rust.yaml"
            );
            return Ok(exit::OK);
        }
        println!("{}", hybrid::describe(&changes, 20));
        return Ok(exit::GATE_FAILED);
    }
    crate::fsutil::write_atomic(&path, generated.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let twins = project
        .config
        .functions
        .values()
        .filter(|f| f.python().is_some())
        .count();
    let protected = if options.token_authorizer.is_empty() {
        String::new()
    } else {
        format!(
            "; the Rust token authorizer on the unauthenticated routes of {}",
            options.token_authorizer.join(", ")
        )
    };
    println!(
        "wrote {HYBRID_TEMPLATE}: {twins} Python functions on their routes, their Rust ports under {}{protected}",
        hybrid::RUST_ROUTE_PREFIX
    );
    Ok(exit::OK)
}

/// The architecture of an ELF binary, from its header.
pub fn elf_arch(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 20];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    elf_machine(&head)
}

/// `e_machine` of an ELF header's first 20 bytes.
fn elf_machine(head: &[u8; 20]) -> Option<&'static str> {
    if &head[..4] != b"\x7fELF" {
        return None;
    }
    Some(match u16::from_le_bytes([head[18], head[19]]) {
        0x3e => "x86_64",
        0xb7 => "aarch64",
        _ => "other",
    })
}

fn list(project: &Project) -> anyhow::Result<i32> {
    let template =
        std::fs::read_to_string(project.root.join("template-rust.yaml")).unwrap_or_default();
    let parity: Option<serde_json::Value> =
        std::fs::read(project.reports_dir().join("parity-latest.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
    let mut t = super::table();
    t.set_header(vec![
        "function",
        "replaces (Python)",
        "routes",
        "binary",
        "template resource",
        "last parity",
    ]);
    for (name, cfg) in &project.config.functions {
        let mut binaries = Vec::new();
        for (label, path) in [
            (
                "lambda",
                project
                    .root
                    .join("target/lambda")
                    .join(&cfg.crate_name)
                    .join("bootstrap"),
            ),
            (
                "release",
                project.root.join("target/release").join(&cfg.crate_name),
            ),
            (
                "debug",
                project.root.join("target/debug").join(&cfg.crate_name),
            ),
        ] {
            if let Ok(meta) = std::fs::metadata(&path) {
                binaries.push(format!(
                    "{label}: {:.1} MB {}",
                    meta.len() as f64 / 1e6,
                    elf_arch(&path).unwrap_or("?")
                ));
            }
        }
        let resource = format!("{}Rust", cfg.template_resource);
        let in_template = template.contains(&format!("  {resource}:\n"));
        let last = parity
            .as_ref()
            .map(|p| parity_outcome(p, name))
            .unwrap_or_else(|| "never run".into());
        t.add_row(vec![
            format!("{name} (functions/{})", cfg.crate_name),
            cfg.python().map_or_else(
                || {
                    if cfg.tool {
                        "— (the tool's own)".into()
                    } else {
                        "— (Rust only)".into()
                    }
                },
                |py| format!("{}/{}", py.dir, py.handler),
            ),
            if cfg.routes.is_empty() {
                event_sources(project, name)
            } else {
                cfg.routes.join("\n")
            },
            if binaries.is_empty() {
                "not built".into()
            } else {
                binaries.join("\n")
            },
            if cfg.tool {
                "— (created by shift, per function)".into()
            } else if in_template {
                resource
            } else {
                format!("{resource} MISSING")
            },
            last,
        ]);
    }
    println!("{t}");
    Ok(exit::OK)
}

fn parity_outcome(report: &serde_json::Value, function: &str) -> String {
    let cases: Vec<&serde_json::Value> = report["cases"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["function"] == function).collect())
        .unwrap_or_default();
    if cases.is_empty() {
        return "not in last report".into();
    }
    let different = cases.iter().filter(|c| c["verdict"] == "different").count();
    format!(
        "{} — {} cases, {different} different ({})",
        if different == 0 { "PASSED" } else { "FAILED" },
        cases.len(),
        report["started_at"]
            .as_str()
            .unwrap_or("?")
            .get(..19)
            .unwrap_or("?")
    )
}

/// What triggers a function without routes, as its fixtures say (`S3 notifications`, `SQS
/// batches`), or `—`.
fn event_sources(project: &Project, function: &str) -> String {
    use crate::exec::EventKind;
    let kinds: std::collections::BTreeSet<&str> =
        crate::fixtures::load_function(&project.fixtures_dir(), function, None)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| match c.fixture.kind {
                EventKind::S3 => Some("S3 notifications"),
                EventKind::Sqs => Some("SQS batches"),
                EventKind::Apigw | EventKind::Direct => None,
            })
            .collect();
    if kinds.is_empty() {
        "—".into()
    } else {
        kinds.into_iter().collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("pdf-page").is_ok());
        assert!(check_name("demo").is_ok());
        for bad in ["", "Demo", "1x", "a b", "x-", "shared", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(camel("pdf-page"), "PdfPage");
    }

    #[test]
    fn package_architecture_is_read_from_the_zip() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let z = crate::package::zip(&[("bootstrap", &exe[..4096], 0o755)]).unwrap();
        assert_eq!(zip_arch(&z), Some("x86_64"));
        assert_eq!(zip_arch(b"not a zip"), None);
    }

    #[test]
    fn elf_header_is_read() {
        let exe = std::env::current_exe().unwrap();
        assert_eq!(
            elf_arch(&exe),
            Some(std::env::consts::ARCH).filter(|a| *a == "x86_64" || *a == "aarch64")
        );
        assert_eq!(elf_arch(Path::new("Cargo.toml")), None);
    }
}
