//! `functions list | new | build | package | publish | hybrid-template`: the Rust function crates
//! of this workspace and the templates that deploy them.

use crate::cli::{FunctionsAction, LambdaArch};
use crate::config::Project;
use crate::exit;
use std::path::Path;

/// The files `functions new` writes, with `@NAME@`, `@CRATE@`, `@PYTHON_DIR@`, `@RESOURCE@`
/// (and `@ROUTES@`, `@EVENTS@`) to fill in. A test builds and tests a scaffolded crate, so these
/// cannot drift from what the workspace compiles.
mod scaffold {
    pub const CARGO_TOML: &str = include_str!("../../templates/function/Cargo.toml.tmpl");
    pub const MAIN_RS: &str = include_str!("../../templates/function/main.rs.tmpl");
    pub const LIB_RS: &str = include_str!("../../templates/function/lib.rs.tmpl");
    pub const FIXTURES_README: &str =
        include_str!("../../templates/function/fixtures-README.md.tmpl");
    pub const CONFIG_ENTRY: &str = include_str!("../../templates/function/config.toml.tmpl");
    pub const TEMPLATE_RESOURCE: &str =
        include_str!("../../templates/function/template-resource.yaml.tmpl");
}

pub async fn run(project: &Project, action: FunctionsAction) -> anyhow::Result<i32> {
    match action {
        FunctionsAction::List => list(project),
        FunctionsAction::New {
            name,
            python_dir,
            route,
        } => new(project, &name, python_dir.as_deref(), &route),
        FunctionsAction::Build { functions, arch } => build(project, &functions, arch),
        FunctionsAction::Package { functions } => package(project, &functions),
        FunctionsAction::Publish {
            function,
            as_version_of,
            zip,
        } => publish(project, &function, as_version_of.as_deref(), zip.as_deref()).await,
        FunctionsAction::HybridTemplate { check } => hybrid_template(project, check),
    }
}

/// Write template-hybrid.yaml, or with `check` compare the committed one with what would be
/// written (exit 1 when they differ).
fn hybrid_template(project: &Project, check: bool) -> anyhow::Result<i32> {
    use crate::hybrid::{self, HYBRID_TEMPLATE};
    let generated = hybrid::generate_for(project)?;
    let path = project.root.join(HYBRID_TEMPLATE);
    if check {
        let committed = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("{HYBRID_TEMPLATE} is missing: generate it with `manuel-migrate functions hybrid-template`");
                return Ok(exit::GATE_FAILED);
            }
            Err(e) => anyhow::bail!("{}: {e}", path.display()),
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
    println!(
        "wrote {HYBRID_TEMPLATE}: {} Python functions on their routes, their Rust ports under {}",
        project.config.functions.len(),
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
            format!("{}/{}", cfg.python_dir, cfg.handler),
            cfg.routes.join("\n"),
            if binaries.is_empty() {
                "not built".into()
            } else {
                binaries.join("\n")
            },
            if in_template {
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

/// A valid name for a new function crate.
/// A crate name `functions new` refuses, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

pub fn check_name(name: &str) -> Result<(), NameError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    let starts = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if name.is_empty()
        || name.len() > 40
        || !ok_chars
        || !starts
        || name.ends_with('-')
        || name.ends_with('_')
    {
        return Err(NameError(format!(
            "'{name}' is not a valid function crate name (lowercase letters, digits, '-' or '_', starting with a letter)"
        )));
    }
    if [
        "cli",
        "shared",
        "test",
        "tests",
        "core",
        "std",
        "manuel-migrate",
        "manuel-shared",
    ]
    .contains(&name)
    {
        return Err(NameError(format!("'{name}' is reserved")));
    }
    Ok(())
}

fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn new(
    project: &Project,
    name: &str,
    python_dir: Option<&str>,
    routes: &[String],
) -> anyhow::Result<i32> {
    check_name(name).map_err(|e| anyhow::anyhow!("functions new: {e}"))?;
    let dir = project.root.join("functions").join(name);
    if dir.exists() || project.config.functions.contains_key(name) {
        anyhow::bail!("functions new: '{name}' already exists ({} or [functions.{name}] in manuel-migrate.toml)", dir.display());
    }
    let routes: Vec<String> = if routes.is_empty() {
        vec![format!("GET /api/{name}")]
    } else {
        routes.to_vec()
    };
    let mut parsed = Vec::new();
    for r in &routes {
        let (m, p) = r
            .split_once(' ')
            .filter(|(m, p)| {
                ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(m) && p.starts_with('/')
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--route '{r}': expected 'METHOD /path' (GET, POST, PUT, PATCH, DELETE)"
                )
            })?;
        parsed.push((m.to_owned(), p.to_owned()));
    }
    let crate_ident = name.replace('-', "_");
    let resource = format!("{}Function", camel(name));
    let python_dir = python_dir.unwrap_or(name);

    // The house shape, from cli/templates/function/ (`@NAME@` and friends filled in).
    let fill = |template: &str, extra: &[(&str, &str)]| {
        let mut text = template
            .replace("@NAME@", name)
            .replace("@CRATE@", &crate_ident)
            .replace("@PYTHON_DIR@", python_dir)
            .replace("@RESOURCE@", &resource);
        for (k, v) in extra {
            text = text.replace(k, v);
        }
        text
    };
    // Everything is written to temp files first; the renames happen only when all are ready.
    let mut files: Vec<(std::path::PathBuf, String)> = vec![
        (dir.join("Cargo.toml"), fill(scaffold::CARGO_TOML, &[])),
        (dir.join("src/main.rs"), fill(scaffold::MAIN_RS, &[])),
        (dir.join("src/lib.rs"), fill(scaffold::LIB_RS, &[])),
        (
            project.fixtures_dir().join(name).join("README.md"),
            fill(scaffold::FIXTURES_README, &[]),
        ),
    ];
    let config_path = project.root.join(crate::config::CONFIG_FILE);
    let mut config = std::fs::read_to_string(&config_path)?;
    if !config.ends_with('\n') {
        config.push('\n');
    }
    let quoted: Vec<String> = routes.iter().map(|r| format!("\"{r}\"")).collect();
    config.push_str(&fill(
        scaffold::CONFIG_ENTRY,
        &[("@ROUTES@", &quoted.join(", "))],
    ));
    files.push((config_path, config.clone()));
    let template_path = project.root.join("template-rust.yaml");
    let template = std::fs::read_to_string(&template_path)?;
    let events: String = parsed
        .iter()
        .enumerate()
        .map(|(i, (m, p))| format!("        Api{i}:\n          Type: Api\n          Properties:\n            Path: {p}\n            Method: {}\n", m.to_lowercase()))
        .collect();
    let block = fill(scaffold::TEMPLATE_RESOURCE, &[("@EVENTS@", &events)]);
    let Some(at) = template.find("\nOutputs:") else {
        anyhow::bail!(
            "{}: no 'Outputs:' section to insert the resource before",
            template_path.display()
        );
    };
    let template = format!("{}\n{}{}", &template[..at], block, &template[at + 1..]);
    // A project with a hybrid template gets it regenerated with the new pair.
    let hybrid_path = project.root.join(crate::hybrid::HYBRID_TEMPLATE);
    let hybrid = if hybrid_path.is_file() {
        let new_config: crate::config::Config = toml::from_str(&config)
            .map_err(|e| anyhow::anyhow!("{}: {}", crate::config::CONFIG_FILE, e.message()))?;
        Some((
            hybrid_path,
            crate::hybrid::generate(&new_config, &template)?,
        ))
    } else {
        None
    };
    files.push((template_path, template));
    let hybrid_note = if hybrid.is_some() {
        format!(", {resource} and {resource}Rust in template-hybrid.yaml")
    } else {
        String::new()
    };
    files.extend(hybrid);

    let mut staged = Vec::new();
    for (path, text) in &files {
        let dir = path.parent().expect("file has a folder");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".new-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, text)?;
        staged.push((tmp, path.clone()));
    }
    for (tmp, path) in staged {
        std::fs::rename(&tmp, &path)?;
    }
    println!("created functions/{name} (crate {name}), parity-fixtures/{name}/, [functions.{name}] in manuel-migrate.toml, {resource}Rust in template-rust.yaml{hybrid_note}");
    println!("next: cargo test -p {name}; add fixtures; manuel-migrate parity record --python-src DIR --function {name} --yes");
    Ok(exit::OK)
}

/// The selected functions (all when none is named), validated: (name, crate).
fn selected(project: &Project, names: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let names = if names.is_empty() {
        project.function_names()
    } else {
        names.to_vec()
    };
    names
        .into_iter()
        .map(|n| Ok((n.clone(), project.function(&n)?.crate_name.clone())))
        .collect()
}

fn lambda_dir(project: &Project) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| project.root.join("target"))
        .join("lambda")
}

fn build(project: &Project, names: &[String], arch: LambdaArch) -> anyhow::Result<i32> {
    let fns = selected(project, names)?;
    let tool = project.tools_bin().join("cargo-lambda");
    if !tool.is_file() {
        anyhow::bail!(
            "cargo-lambda not found at {} (run scripts/setup.sh, which installs it from PyPI with zig)",
            tool.display()
        );
    }
    let path = format!(
        "{}:{}",
        project.tools_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let flag = match arch {
        LambdaArch::Arm64 => "--arm64",
        LambdaArch::X86_64 => "--x86-64",
    };
    let pb = indicatif::ProgressBar::new(fns.len() as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} {msg} {elapsed}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    pb.set_prefix("build");
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut t = super::table();
    t.set_header(vec!["function", "bootstrap", "architecture", "size"]);
    let logs = project.state_dir().join("build");
    std::fs::create_dir_all(&logs)?;
    for (name, krate) in fns {
        pb.set_message(krate.clone());
        let log = logs.join(format!("{krate}.log"));
        let out = std::fs::File::create(&log)?;
        let status = std::process::Command::new("cargo")
            .args(["lambda", "build", "--release", flag, "--bin", &krate])
            .current_dir(&project.root)
            .env("PATH", &path)
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run cargo lambda: {e}"))?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let last = text
                .lines()
                .rev()
                .find(|l| l.contains("error"))
                .or_else(|| text.lines().last())
                .unwrap_or("")
                .trim()
                .to_owned();
            anyhow::bail!(
                "cargo lambda build of {krate} failed: {last} (full log: {})",
                log.display()
            );
        }
        let bin = lambda_dir(project).join(&krate).join("bootstrap");
        let meta =
            std::fs::metadata(&bin).map_err(|e| anyhow::anyhow!("{}: {e}", bin.display()))?;
        t.add_row(vec![
            name,
            bin.display().to_string(),
            elf_arch(&bin).unwrap_or("?").to_owned(),
            format!("{:.1} MB", meta.len() as f64 / 1e6),
        ]);
        pb.inc(1);
    }
    pb.finish_and_clear();
    println!("{t}");
    Ok(exit::OK)
}

fn package(project: &Project, names: &[String]) -> anyhow::Result<i32> {
    use sha2::Digest;
    let fns = selected(project, names)?;
    let mut t = super::table();
    t.set_header(vec![
        "function",
        "package",
        "architecture",
        "bootstrap",
        "zip",
        "sha256",
        "Lambda limits",
    ]);
    for (name, krate) in fns {
        let bin = lambda_dir(project).join(&krate).join("bootstrap");
        let data = std::fs::read(&bin).map_err(|_| {
            anyhow::anyhow!(
                "{} not built: run `manuel-migrate functions build --function {name}`",
                bin.display()
            )
        })?;
        let arch = elf_arch(&bin)
            .ok_or_else(|| anyhow::anyhow!("{}: not an ELF executable", bin.display()))?;
        let mut extra = Vec::new();
        for (file, path) in project.function(&name)?.bundled_files(&project.root, arch) {
            let bytes = std::fs::read(&path).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e} (listed in `files` of {name}; run scripts/setup.sh)",
                    path.display()
                )
            })?;
            extra.push((file, bytes));
        }
        let mut entries: Vec<(&str, &[u8], u32)> = vec![("bootstrap", &data, 0o755)];
        entries.extend(extra.iter().map(|(f, b)| (f.as_str(), b.as_slice(), 0o644)));
        let zip = crate::package::zip(&entries)?;
        let unzipped: usize = entries.iter().map(|e| e.1.len()).sum();
        let out = lambda_dir(project).join(format!("{krate}.zip"));
        crate::fsutil::write_atomic(&out, &zip)?;
        let ok = (zip.len() as u64) <= crate::package::MAX_ZIPPED
            && (unzipped as u64) <= crate::package::MAX_UNZIPPED;
        t.add_row(vec![
            name,
            out.display().to_string(),
            arch.to_owned(),
            format!("{:.1} MB", data.len() as f64 / 1e6),
            format!("{:.1} MB", zip.len() as f64 / 1e6),
            hex::encode(sha2::Sha256::digest(&zip)),
            if ok {
                "ok (≤ 50 MB zipped, ≤ 250 MB unzipped)".into()
            } else {
                "TOO LARGE for direct upload".into()
            },
        ]);
        if !ok {
            println!("{t}");
            anyhow::bail!("{}: over Lambda's deployment package limits", out.display());
        }
    }
    println!("{t}");
    Ok(exit::OK)
}

async fn publish(
    project: &Project,
    function: &str,
    as_version_of: Option<&str>,
    zip: Option<&Path>,
) -> anyhow::Result<i32> {
    use sha2::Digest;
    let cfg = project.function(function)?;
    let zip_path = zip
        .map(Path::to_path_buf)
        .unwrap_or_else(|| lambda_dir(project).join(format!("{}.zip", cfg.crate_name)));
    let bytes = std::fs::read(&zip_path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (run `functions build` and `functions package`)",
            zip_path.display()
        )
    })?;
    let arch = zip_arch(&bytes).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no bootstrap ELF found in the package",
            zip_path.display()
        )
    })?;
    let target = as_version_of
        .map(str::to_owned)
        .or_else(|| cfg.deploy.as_ref().and_then(|d| d.function_name.clone()))
        .unwrap_or_else(|| format!("manuel-{function}-rust-{}", project.config.project.stage));
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let conf = crate::aws::config(project).await;
    let client = aws_sdk_lambda::Client::new(&conf);
    // The version the alias serves before the Rust code arrives is the Python one.
    let alias = cfg
        .deploy
        .as_ref()
        .and_then(|d| d.alias.clone())
        .unwrap_or_else(|| "live".into());
    let python_version = match cfg.deploy.as_ref().and_then(|d| d.python_version.clone()) {
        Some(v) => Some(v),
        None => client
            .get_alias()
            .function_name(&target)
            .name(&alias)
            .send()
            .await
            .ok()
            .and_then(|a| a.function_version().map(str::to_owned)),
    };
    let lambda_arch = match arch {
        "aarch64" => aws_sdk_lambda::types::Architecture::Arm64,
        _ => aws_sdk_lambda::types::Architecture::X8664,
    };
    let description = format!("manuel-migrate {} {}", cfg.crate_name, &sha[..16]);
    let published =
        crate::deploy::publish(&client, &target, bytes, lambda_arch, &description).await?;
    println!(
        "published {} version {} ({arch}, package sha256 {sha})",
        published.function, published.version
    );
    if as_version_of.is_some() {
        let mut values = vec![
            ("function_name", target.as_str()),
            ("alias", alias.as_str()),
            ("rust_version", published.version.as_str()),
        ];
        if let Some(v) = python_version.as_deref() {
            values.push(("python_version", v));
        }
        crate::config::record_deploy(&project.root, function, &values)?;
        println!(
            "recorded in manuel-migrate.toml: [functions.{function}.deploy] function_name = {target}, alias = {alias}, rust_version = {}{}",
            published.version,
            python_version.map(|v| format!(", python_version = {v}")).unwrap_or_default()
        );
        println!("note: $LATEST of {target} now holds the Rust code; clients must call the alias '{alias}'");
    }
    Ok(exit::OK)
}

/// The architecture of the `bootstrap` inside a package (reads the first local file entry).
fn zip_arch(zip: &[u8]) -> Option<&'static str> {
    use std::io::Read;
    if zip.len() < 30 || zip[..4] != [0x50, 0x4b, 0x03, 0x04] {
        return None;
    }
    let method = u16::from_le_bytes([zip[8], zip[9]]);
    let csize = u32::from_le_bytes([zip[18], zip[19], zip[20], zip[21]]) as usize;
    let name_len = u16::from_le_bytes([zip[26], zip[27]]) as usize;
    let extra = u16::from_le_bytes([zip[28], zip[29]]) as usize;
    let start = 30 + name_len + extra;
    let data = zip.get(start..start + csize)?;
    let mut head = [0u8; 20];
    match method {
        0 => head.copy_from_slice(data.get(..20)?),
        8 => flate2::read::DeflateDecoder::new(data)
            .read_exact(&mut head)
            .ok()?,
        _ => return None,
    }
    elf_machine(&head)
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
