//! `functions new`: scaffold a function crate in the house shape, with its fixtures folder,
//! config entry and template resources, all written at once or not at all.

use crate::config::Project;
use crate::exit;

/// The files `functions new` writes, with `@NAME@`, `@CRATE@`, `@PYTHON_DIR@`, `@RESOURCE@`
/// (and `@ROUTES@`, `@EVENTS@`) to fill in. A test builds and tests a scaffolded crate, so these
/// cannot drift from what the workspace compiles.
mod scaffold {
    pub const CARGO_TOML: &str = include_str!("../../../templates/function/Cargo.toml.tmpl");
    pub const MAIN_RS: &str = include_str!("../../../templates/function/main.rs.tmpl");
    pub const LIB_RS: &str = include_str!("../../../templates/function/lib.rs.tmpl");
    pub const LIB_S3_RS: &str = include_str!("../../../templates/function/lib-s3.rs.tmpl");
    pub const LIB_SQS_RS: &str = include_str!("../../../templates/function/lib-sqs.rs.tmpl");
    pub const FIXTURES_README: &str =
        include_str!("../../../templates/function/fixtures-README.md.tmpl");
    pub const CONFIG_ENTRY: &str = include_str!("../../../templates/function/config.toml.tmpl");
    pub const TEMPLATE_RESOURCE: &str =
        include_str!("../../../templates/function/template-resource.yaml.tmpl");
}

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

pub(super) fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub(super) fn new(
    project: &Project,
    name: &str,
    python_dir: Option<&str>,
    routes: &[String],
    kind: crate::cli::NewFunctionKind,
) -> anyhow::Result<i32> {
    use crate::cli::NewFunctionKind;
    check_name(name).map_err(|e| anyhow::anyhow!("functions new: {e}"))?;
    if kind != NewFunctionKind::Apigw && !routes.is_empty() {
        anyhow::bail!("functions new: --route is for API Gateway functions (--kind apigw)");
    }
    let dir = project.root.join("functions").join(name);
    if dir.exists() || project.config.functions.contains_key(name) {
        anyhow::bail!("functions new: '{name}' already exists ({} or [functions.{name}] in manuel-migrate.toml)", dir.display());
    }
    let routes: Vec<String> = if kind != NewFunctionKind::Apigw {
        Vec::new()
    } else if routes.is_empty() {
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
        (
            dir.join("src/lib.rs"),
            fill(
                match kind {
                    NewFunctionKind::Apigw => scaffold::LIB_RS,
                    NewFunctionKind::S3 => scaffold::LIB_S3_RS,
                    NewFunctionKind::Sqs => scaffold::LIB_SQS_RS,
                },
                &[],
            ),
        ),
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
    let routes_entry = match kind {
        NewFunctionKind::Apigw => format!("routes = [{}]", quoted.join(", ")),
        NewFunctionKind::S3 => "# Triggered by S3 notifications: no routes. Fixtures: `fixtures new --kind s3`.\nstateful = true".into(),
        NewFunctionKind::Sqs => "# Consumes an SQS queue: no routes. Fixtures: `fixtures new --kind sqs`.\nstateful = true".into(),
    };
    config.push_str(&fill(
        scaffold::CONFIG_ENTRY,
        &[("@ROUTES@", &routes_entry)],
    ));
    files.push((config_path, config.clone()));
    let template_path = project.root.join("template-rust.yaml");
    let template = std::fs::read_to_string(&template_path)?;
    let events: String = match kind {
        NewFunctionKind::Apigw => std::iter::once("      Events:\n".to_owned())
            .chain(parsed.iter().enumerate().map(|(i, (m, p))| format!("        Api{i}:\n          Type: Api\n          Properties:\n            Path: {p}\n            Method: {}\n", m.to_lowercase())))
            .collect(),
        // The bucket and the queue are the Python stack's: wire them as README (shift, event
        // sources) says, pointing at the alias during the shift.
        NewFunctionKind::S3 => "      # S3 notifications: the Python stack's bucket notification names the function (see README, Event sources).\n".into(),
        NewFunctionKind::Sqs => "      # SQS: add `Events: {Queue: {Type: SQS, Properties: {Queue: <queue ARN>}}}` (see README, Event sources).\n".into(),
    };
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
        let committed = std::fs::read_to_string(&hybrid_path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", hybrid_path.display()))?;
        let options = crate::hybrid::Options::of_template(&committed);
        Some((
            hybrid_path,
            crate::hybrid::generate(&new_config, &template, &options)?,
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
