//! `template-hybrid.yaml`: phase 1 of the migration as one SAM stack, each Python function as it
//! is deployed today on its own routes and its Rust port beside it on test routes under `/rust`.
//!
//! The template is generated, never written by hand, from two things this project already
//! keeps up to date:
//!
//! - `manuel-migrate.toml` says how each Python function is deployed: its folder, handler,
//!   memory, timeout, layers, routes and environment. The Python resources come from it, with
//!   their code taken from a Manuel checkout at `./manuel` (cloned or symlinked there), so
//!   nothing of Manuel's own template is carried in this repository.
//! - `template-rust.yaml` holds the Rust resources. They are copied as text, block by block, so
//!   CloudFormation's short tags (`!Ref`, `!If`, `!Sub`…) pass through untouched; only their API
//!   paths move under `/rust`, and the runtime settings of its `Globals` move into each Rust
//!   function (the Python functions share the `Globals` and need their own runtime).
//!
//! What the configuration does not record about a Python function (its IAM policies, its VPC
//! attachment, the authorizer of a route, and which variables are wired to stack parameters) is
//! taken from its Rust twin, which `template-rust.yaml` keeps equal to the Python function.
//!
//! The text handling below understands the block-style YAML these templates are written in:
//! mappings nested by indentation, one key per line. That is all it needs, and it keeps the
//! copied blocks byte for byte.

use crate::config::{Config, ConfigError, FunctionConfig, Project, CONFIG_FILE};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The generated template, at the project root.
pub const HYBRID_TEMPLATE: &str = "template-hybrid.yaml";
/// The template of the Rust ports it starts from.
pub const RUST_TEMPLATE: &str = "template-rust.yaml";
/// Where the generated template expects the Manuel checkout (relative to the template).
pub const MANUEL_CHECKOUT: &str = "manuel";
/// Runtime of the Python functions.
pub const PYTHON_RUNTIME: &str = "python3.11";
/// The Rust functions' API routes live under this prefix in the hybrid stack.
pub const RUST_ROUTE_PREFIX: &str = "/rust";

/// `Globals.Function` settings of the Rust template that only fit the Rust functions; in the
/// hybrid template each Rust function gets them itself.
const RUST_ONLY_GLOBALS: [&str; 4] = ["Runtime", "Handler", "Architectures", "Layers"];
/// The condition under which the stack's Redis settings apply.
const REDIS_CONDITION: &str = "EnableRedisCaching";

#[derive(Debug, thiserror::Error)]
pub enum HybridError {
    /// A value of `manuel-migrate.toml` the template cannot be made from.
    #[error("{CONFIG_FILE}: {field}: {message}")]
    Config { field: String, message: String },
    /// `template-rust.yaml` lacks something the hybrid template needs.
    #[error("{RUST_TEMPLATE}: {place}: {message}")]
    RustTemplate { place: String, message: String },
    #[error(transparent)]
    Load(#[from] ConfigError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn config_err(field: impl Into<String>, message: impl Into<String>) -> HybridError {
    HybridError::Config {
        field: field.into(),
        message: message.into(),
    }
}

fn rust_err(place: impl Into<String>, message: impl Into<String>) -> HybridError {
    HybridError::RustTemplate {
        place: place.into(),
        message: message.into(),
    }
}

/// The hybrid template of a project: its configuration and its `template-rust.yaml`.
pub fn generate_for(project: &Project) -> Result<String, HybridError> {
    let path = project.root.join(RUST_TEMPLATE);
    let rust = std::fs::read_to_string(&path).map_err(|source| HybridError::Io { path, source })?;
    generate(&project.config, &rust)
}

/// The hybrid template for a configuration and the text of a Rust template.
pub fn generate(config: &Config, rust_template: &str) -> Result<String, HybridError> {
    let rust = Yaml::new(rust_template);
    let top = rust.entries(0, rust.lines.len());
    let section = |key: &str| top.iter().find(|n| n.key == key).copied();
    let resources = section("Resources").ok_or_else(|| rust_err("Resources", "missing"))?;
    let rust_resources = rust.children(&resources);
    let mut needs = Needs::default();

    // Globals: what both runtimes share stays global; the Rust-only settings go to each Rust
    // function; the environment is the Python stack's globals plus the Rust template's own.
    let mut shared_globals = Vec::new();
    let mut moved_globals = Vec::new();
    let mut rust_global_env = Vec::new();
    let mut other_globals = Vec::new();
    if let Some(globals) = section("Globals") {
        for g in rust.children(&globals) {
            if g.key != "Function" {
                other_globals.push(g);
                continue;
            }
            for setting in rust.children(&g) {
                if RUST_ONLY_GLOBALS.contains(&setting.key) {
                    moved_globals.push(setting);
                } else if setting.key == "Environment" {
                    if let Some(vars) = rust.child(&setting, "Variables") {
                        rust_global_env = rust.children(&vars);
                    }
                } else {
                    shared_globals.push(setting);
                }
            }
        }
    }
    let mut global_env = String::new();
    for (key, value) in &config.env {
        let field = format!("env.{key}");
        check_env_key(&field, key)?;
        let mapped = map_value(&field, value, &mut needs)?;
        if let Some(theirs) = rust_global_env.iter().find(|n| n.key == key) {
            let theirs_value = rust.inline(theirs);
            if rust.is_multiline(theirs) || yaml_unquote(theirs_value) != yaml_unquote(&mapped) {
                return Err(config_err(
                    field,
                    format!(
                        "{mapped} here but {theirs_value} in {RUST_TEMPLATE} Globals (both stand for the Python stack's globals; make them agree)"
                    ),
                ));
            }
        }
        writeln!(global_env, "        {key}: {mapped}").unwrap();
    }
    for n in &rust_global_env {
        if !config.env.contains_key(n.key) {
            global_env.push_str(&rust.text(n, 8));
        }
    }

    // The Python resources, one per function pair.
    let rust_names: BTreeSet<&str> = rust_resources.iter().map(|n| n.key).collect();
    let mut python = String::new();
    let mut outputs = String::new();
    let rust_outputs = section("Outputs")
        .map(|o| rust.children(&o))
        .unwrap_or_default();
    // Output keys written already: a Rust output of the same key is not copied again.
    let mut outputs_done = BTreeSet::from(["ApiUrl".to_owned()]);
    for (name, f) in &config.functions {
        validate(name, f)?;
        let twin_name = format!("{}Rust", f.template_resource);
        let twin = rust_resources
            .iter()
            .find(|n| n.key == twin_name)
            .ok_or_else(|| {
                rust_err(
                    format!("Resources.{twin_name}"),
                    format!("missing (the Rust twin of [functions.{name}])"),
                )
            })?;
        if rust_names.contains(f.template_resource.as_str()) {
            return Err(config_err(
                format!("functions.{name}.template_resource"),
                format!(
                    "{} is also a resource of {RUST_TEMPLATE}",
                    f.template_resource
                ),
            ));
        }
        python.push_str(&python_resource(&rust, name, f, twin, &mut needs)?);
        python.push('\n');
        let res = &f.template_resource;
        write!(
            outputs,
            "  {res}Arn:\n    Description: {}\n    Value: !GetAtt {res}.Arn\n",
            quote(&format!("Python function manuel-{name} (original routes)"))
        )
        .unwrap();
        outputs_done.insert(format!("{res}Arn"));
        let rust_arn = format!("{twin_name}Arn");
        match rust_outputs.iter().find(|o| o.key == rust_arn) {
            Some(o) => outputs.push_str(&rust.text(o, 2)),
            None => write!(
                outputs,
                "  {rust_arn}:\n    Description: {}\n    Value: !GetAtt {twin_name}.Arn\n",
                quote(&format!(
                    "Rust port of manuel-{name} (routes under {RUST_ROUTE_PREFIX})"
                ))
            )
            .unwrap(),
        }
        outputs_done.insert(rust_arn);
    }
    for o in &rust_outputs {
        if !outputs_done.contains(o.key) {
            outputs.push_str(&rust.text(o, 2));
        }
    }

    // The Rust resources as written, test routes under /rust, runtime settings inline.
    let mut rust_part = String::new();
    for r in &rust_resources {
        rust_part.push_str(&rust_resource(&rust, r, &moved_globals)?);
        rust_part.push('\n');
    }

    // Parameters and Conditions: the Rust template's, plus what the Python side adds.
    let rust_params: Vec<Node> = section("Parameters")
        .map(|p| rust.children(&p))
        .unwrap_or_default();
    let rust_conditions: Vec<Node> = section("Conditions")
        .map(|c| rust.children(&c))
        .unwrap_or_default();
    if needs.conditions.contains(REDIS_CONDITION)
        && !rust_conditions.iter().any(|c| c.key == REDIS_CONDITION)
    {
        needs.params.insert("EnableRedisCache".into());
    }
    let mut params = String::new();
    for p in &rust_params {
        params.push_str(&rust.text(p, 2));
    }
    for p in &needs.params {
        if !rust_params.iter().any(|n| n.key == p) {
            params.push_str(&parameter_definition(p));
        }
    }
    for (layer, param) in &needs.layers {
        write!(
            params,
            "  {param}:\n    Type: String\n    Default: \"\"\n    Description: {}\n",
            quote(&format!(
                "LayerVersion ARN of the Python layer '{layer}' (empty: the Python functions run without it)"
            ))
        )
        .unwrap();
    }
    let mut conditions = String::new();
    for c in &rust_conditions {
        conditions.push_str(&rust.text(c, 2));
    }
    for c in &needs.conditions {
        if c == REDIS_CONDITION && !rust_conditions.iter().any(|n| n.key == c) {
            writeln!(
                conditions,
                "  {REDIS_CONDITION}: !Equals [!Ref EnableRedisCache, \"true\"]"
            )
            .unwrap();
        }
    }
    for param in needs.layers.values() {
        writeln!(
            conditions,
            "  {}: !Not [!Equals [!Ref {param}, \"\"]]",
            layer_condition(param)
        )
        .unwrap();
    }

    // Assemble.
    let mut out = String::new();
    out.push_str(
        "# Generated by `manuel-migrate functions hybrid-template` from manuel-migrate.toml and\n\
         # template-rust.yaml: do not edit. Regenerate after changing either; CI runs it with --check.\n",
    );
    for key in ["AWSTemplateFormatVersion", "Transform"] {
        match section(key) {
            Some(n) => out.push_str(&rust.text(&n, 0)),
            None if key == "Transform" => out.push_str("Transform: AWS::Serverless-2016-10-31\n"),
            None => out.push_str("AWSTemplateFormatVersion: \"2010-09-09\"\n"),
        }
    }
    write!(
        out,
        "Description: >\n  Manuel backend during phase 1 of the migration to Rust: every Python function\n  unchanged on its original routes, and its Rust port (manuel-NAME-rust-STAGE) beside it on\n  test routes under {RUST_ROUTE_PREFIX}. The Python code is built from a Manuel checkout at\n  ./{MANUEL_CHECKOUT} (clone a1o1/manuel there, or symlink it).\n"
    )
    .unwrap();
    out.push_str("\nParameters:\n");
    out.push_str(&params);
    if !conditions.is_empty() {
        out.push_str("\nConditions:\n");
        out.push_str(&conditions);
    }
    for n in &top {
        if ![
            "AWSTemplateFormatVersion",
            "Transform",
            "Description",
            "Parameters",
            "Conditions",
            "Globals",
            "Resources",
            "Outputs",
        ]
        .contains(&n.key)
        {
            out.push('\n');
            out.push_str(&rust.text(n, 0));
        }
    }
    let mut function_globals: String = shared_globals.iter().map(|g| rust.text(g, 4)).collect();
    if !global_env.is_empty() {
        function_globals.push_str("    Environment:\n      Variables:\n");
        function_globals.push_str(&global_env);
    }
    if !function_globals.is_empty() || !other_globals.is_empty() {
        out.push_str("\nGlobals:\n");
        if !function_globals.is_empty() {
            out.push_str("  Function:\n");
            out.push_str(&function_globals);
        }
        for g in &other_globals {
            out.push_str(&rust.text(g, 2));
        }
    }
    out.push_str("\nResources:\n");
    out.push_str("  # Python functions, as deployed (code from the Manuel checkout).\n");
    out.push_str(&python);
    writeln!(
        out,
        "  # Rust ports, from {RUST_TEMPLATE}; their routes are under {RUST_ROUTE_PREFIX}."
    )
    .unwrap();
    out.push_str(&rust_part);
    write!(
        out,
        "Outputs:\n  ApiUrl:\n    Description: Base URL of the API (Python on the original routes, Rust under {RUST_ROUTE_PREFIX})\n    Value: !Sub https://${{ServerlessRestApi}}.execute-api.${{AWS::Region}}.amazonaws.com/Prod\n"
    )
    .unwrap();
    out.push_str(&outputs);
    Ok(out)
}

/// Parameters, conditions and layers the generated Python resources refer to.
#[derive(Default)]
struct Needs {
    params: BTreeSet<String>,
    conditions: BTreeSet<String>,
    /// Layer name → its ARN parameter.
    layers: BTreeMap<String, String>,
}

/// A definition for a parameter the Python side refers to but the Rust template lacks.
fn parameter_definition(name: &str) -> String {
    match name {
        "Stage" => "  Stage:\n    Type: String\n    Default: dev\n    Description: Deployment stage\n".into(),
        "EnableRedisCache" => "  EnableRedisCache:\n    Type: String\n    Default: \"false\"\n    AllowedValues: [\"true\", \"false\"]\n    Description: Use the Redis cache\n".into(),
        "RedisPort" => "  RedisPort:\n    Type: String\n    Default: \"6379\"\n    Description: Port of the Redis endpoint (used only with EnableRedisCache)\n".into(),
        other => format!(
            "  {other}:\n    Type: String\n    Default: \"\"\n    Description: {}\n",
            quote(&format!("{other} of the Python stack"))
        ),
    }
}

fn layer_condition(param: &str) -> String {
    format!("Has{}", param.trim_end_matches("Arn"))
}

/// Reject what would not make a valid resource, naming the field.
fn validate(name: &str, f: &FunctionConfig) -> Result<(), HybridError> {
    let field = |k: &str| format!("functions.{name}.{k}");
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || name.is_empty()
    {
        return Err(config_err(
            format!("functions.{name}"),
            "function names are lower-case letters, digits and '-' (they go into manuel-NAME-STAGE)",
        ));
    }
    if f.template_resource.is_empty()
        || !f
            .template_resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    {
        return Err(config_err(
            field("template_resource"),
            format!(
                "'{}' is not a CloudFormation logical ID (letters and digits)",
                f.template_resource
            ),
        ));
    }
    let dir_ok = !f.python_dir.is_empty()
        && f.python_dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !f.python_dir.starts_with('.');
    if !dir_ok {
        return Err(config_err(
            field("python_dir"),
            format!(
                "'{}' is not a folder name under backend/src/functions",
                f.python_dir
            ),
        ));
    }
    let handler_ok = f.handler.split('.').count() >= 2
        && f.handler.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        });
    if !handler_ok {
        return Err(config_err(
            field("handler"),
            format!("'{}' is not module.function", f.handler),
        ));
    }
    if !(128..=10240).contains(&f.memory_mb) {
        return Err(config_err(
            field("memory_mb"),
            format!("{} is outside Lambda's 128–10240 MB", f.memory_mb),
        ));
    }
    if !(1..=900).contains(&f.timeout_s) {
        return Err(config_err(
            field("timeout_s"),
            format!("{} is outside Lambda's 1–900 s", f.timeout_s),
        ));
    }
    for layer in &f.layers {
        if layer.is_empty()
            || !layer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(config_err(
                field("layers"),
                format!("'{layer}' is not a layer name (letters, digits, '-', '_')"),
            ));
        }
    }
    for route in &f.routes {
        parse_route(route).ok_or_else(|| {
            config_err(field("routes"), format!("'{route}' is not 'METHOD /path'"))
        })?;
    }
    for route in &f.public_routes {
        if !f.routes.iter().any(|r| r.trim() == route.trim()) {
            return Err(config_err(
                field("public_routes"),
                format!("'{route}' is not one of the function's routes"),
            ));
        }
    }
    for key in f.env.keys() {
        check_env_key(&field(&format!("env.{key}")), key)?;
    }
    Ok(())
}

fn check_env_key(field: &str, key: &str) -> Result<(), HybridError> {
    let ok = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(config_err(field, "not a Lambda environment variable name"))
    }
}

/// `GET /path` → (`get`, `/path`).
fn parse_route(route: &str) -> Option<(String, &str)> {
    let (method, path) = route.trim().split_once(' ')?;
    let path = path.trim();
    let method = method.to_ascii_uppercase();
    let known = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
    ];
    (known.contains(&method.as_str())
        && path.starts_with('/')
        && !path.contains(char::is_whitespace))
    .then(|| (method.to_ascii_lowercase(), path))
}

/// The Python resource of one function pair.
fn python_resource(
    rust: &Yaml,
    name: &str,
    f: &FunctionConfig,
    twin: &Node,
    needs: &mut Needs,
) -> Result<String, HybridError> {
    let place = twin.key;
    let props = rust
        .child(twin, "Properties")
        .ok_or_else(|| rust_err(format!("Resources.{place}"), "no Properties"))?;
    let mut out = String::new();
    let res = &f.template_resource;
    writeln!(out, "  {res}:").unwrap();
    out.push_str("    Type: AWS::Serverless::Function\n    Properties:\n");
    writeln!(out, "      FunctionName: !Sub manuel-{name}-${{Stage}}").unwrap();
    needs.params.insert("Stage".into());
    writeln!(
        out,
        "      CodeUri: {MANUEL_CHECKOUT}/backend/src/functions/{}/",
        f.python_dir
    )
    .unwrap();
    writeln!(out, "      Handler: {}", f.handler).unwrap();
    writeln!(out, "      Runtime: {PYTHON_RUNTIME}").unwrap();
    writeln!(
        out,
        "      Description: {}",
        quote(&format!(
            "Python function {} of Manuel, unchanged (its Rust port is {place})",
            f.python_dir
        ))
    )
    .unwrap();
    writeln!(out, "      MemorySize: {}", f.memory_mb).unwrap();
    writeln!(out, "      Timeout: {}", f.timeout_s).unwrap();
    if !f.layers.is_empty() {
        out.push_str("      Layers:\n");
        for layer in &f.layers {
            let param = format!("{}LayerArn", camel(layer));
            writeln!(
                out,
                "        - !If [{}, !Ref {param}, !Ref AWS::NoValue]",
                layer_condition(&param)
            )
            .unwrap();
            needs.layers.insert(layer.clone(), param);
        }
    }
    if let Some(n) = rust.child(&props, "VpcConfig") {
        out.push_str(&rust.text(&n, 6));
    }
    if !f.env.is_empty() {
        let twin_env = rust
            .child(&props, "Environment")
            .and_then(|e| rust.child(&e, "Variables"))
            .map(|v| rust.children(&v))
            .unwrap_or_default();
        out.push_str("      Environment:\n        Variables:\n");
        for (key, value) in &f.env {
            let field = format!("functions.{name}.env.{key}");
            // A variable the Rust twin wires to the stack keeps that wiring here too, so one
            // parameter sets both versions; the configured value is that parameter's default.
            match twin_env.iter().find(|n| n.key == key) {
                Some(n) if rust.is_multiline(n) || rust.inline(n).starts_with('!') => {
                    out.push_str(&rust.text(n, 10));
                }
                _ => {
                    let mapped = map_value(&field, value, needs)?;
                    writeln!(out, "          {key}: {mapped}").unwrap();
                }
            }
        }
    }
    if let Some(n) = rust.child(&props, "Policies") {
        out.push_str(&rust.text(&n, 6));
    }
    if !f.routes.is_empty() {
        let twin_events = rust
            .child(&props, "Events")
            .map(|e| rust.children(&e))
            .unwrap_or_default();
        out.push_str("      Events:\n");
        let mut used = BTreeSet::new();
        for route in &f.routes {
            let (method, path) = parse_route(route).expect("validated");
            // The twin's event name on the same route; the authorizer is the Python
            // deployment's (`public_routes`), never the twin's: the Rust side may add one
            // where Python has none (a declared fix) without changing Python's routes.
            let mut event = twin_events
                .iter()
                .find(|e| event_route(rust, e).is_some_and(|(m, p)| m == method && p == path))
                .map(|e| e.key.to_owned())
                .unwrap_or_else(|| format!("{}{}Api", camel(&method), camel(path)));
            let base = event.clone();
            let mut i = 2;
            while !used.insert(event.clone()) {
                event = format!("{base}{i}");
                i += 1;
            }
            writeln!(
                out,
                "        {event}:\n          Type: Api\n          Properties:\n            Path: {path}\n            Method: {method}"
            )
            .unwrap();
            if f.public_routes.iter().any(|r| r.trim() == route.trim()) {
                out.push_str("            Auth:\n              Authorizer: NONE\n");
            }
        }
    }
    Ok(out)
}

/// (method, path) of an API event block.
fn event_route(y: &Yaml, event: &Node) -> Option<(String, String)> {
    let props = y.child(event, "Properties")?;
    let path = yaml_unquote(y.inline(&y.child(&props, "Path")?));
    let method = yaml_unquote(y.inline(&y.child(&props, "Method")?)).to_ascii_lowercase();
    Some((method, path))
}

/// A resource of the Rust template for the hybrid one: a function gets the Rust-only global
/// settings and its API paths under `/rust`; anything else is copied as it is.
fn rust_resource(y: &Yaml, r: &Node, moved_globals: &[Node]) -> Result<String, HybridError> {
    let is_function = y
        .child(r, "Type")
        .is_some_and(|t| yaml_unquote(y.inline(&t)) == "AWS::Serverless::Function");
    if !is_function {
        return Ok(y.text(r, 2));
    }
    let props = y
        .child(r, "Properties")
        .ok_or_else(|| rust_err(format!("Resources.{}", r.key), "no Properties"))?;
    let prop_children = y.children(&props);
    let prop_indent = prop_children.first().map_or(props.indent + 2, |n| n.indent);
    let mut insert = String::new();
    for g in moved_globals {
        if !prop_children.iter().any(|p| p.key == g.key) {
            insert.push_str(&y.text(g, prop_indent));
        }
    }
    let mut path_lines = BTreeMap::new();
    if let Some(events) = y.child(&props, "Events") {
        for e in y.children(&events) {
            if let Some(p) = y.child(&e, "Properties").and_then(|p| y.child(&p, "Path")) {
                let old = yaml_unquote(y.inline(&p));
                let new = if old == "/" {
                    RUST_ROUTE_PREFIX.to_owned()
                } else {
                    format!("{RUST_ROUTE_PREFIX}{old}")
                };
                let line = format!("{}Path: {new}", " ".repeat(p.indent - r.indent + 2));
                path_lines.insert(p.start, line);
            }
        }
    }
    let mut out = String::new();
    for i in r.start..r.end {
        match path_lines.get(&i) {
            Some(line) => out.push_str(line),
            None => out.push_str(&reindent_line(y.lines[i], r.indent, 2)),
        }
        out.push('\n');
        if i == props.start {
            // Indentation relative to the resource, as the copied lines are.
            for line in insert.lines() {
                out.push_str(&reindent_line(line, r.indent, 2));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Map a configured environment value to a template value: `{placeholder}`s become references to
/// the stack (its parameters, region, account); the local stack's Redis endpoint becomes the
/// stack's Redis parameters, in effect only under EnableRedisCaching.
fn map_value(field: &str, value: &str, needs: &mut Needs) -> Result<String, HybridError> {
    let mut sub = String::new();
    let mut refs = Vec::new();
    let mut gated = false;
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let name = after.find('}').map(|end| &after[..end]).filter(|n| {
            n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
        let Some(name) = name else {
            sub.push_str(&rest[..=start].replace("${", "${!"));
            rest = after;
            continue;
        };
        let (target, redis) = placeholder(name).ok_or_else(|| {
            config_err(
                field,
                format!(
                    "unknown placeholder {{{name}}} (known: {})",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        sub.push_str(&rest[..start].replace("${", "${!"));
        write!(sub, "${{{target}}}").unwrap();
        refs.push(target);
        gated |= redis;
        if !target.starts_with("AWS::") {
            needs.params.insert(target.to_owned());
        }
        rest = &after[name.len() + 1..];
    }
    sub.push_str(&rest.replace("${", "${!"));
    let expr = match refs.as_slice() {
        [] => return Ok(quote(value)),
        [one] if is_one_placeholder(value) => format!("!Ref {one}"),
        _ => format!("!Sub {}", quote(&sub)),
    };
    if gated {
        needs.conditions.insert(REDIS_CONDITION.into());
        Ok(format!("!If [{REDIS_CONDITION}, {expr}, \"\"]"))
    } else {
        Ok(expr)
    }
}

/// `value` is one `{placeholder}` and nothing else.
fn is_one_placeholder(value: &str) -> bool {
    value.len() >= 3 && value.starts_with('{') && value[1..].find('}') == Some(value.len() - 2)
}

const PLACEHOLDERS: [&str; 9] = [
    "region",
    "account_id",
    "stage",
    "usage_table",
    "manuals_bucket",
    "audio_bucket",
    "kb_id",
    "redis_host",
    "redis_port",
];

/// What a placeholder refers to in the template, and whether it is one of the Redis settings.
fn placeholder(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "region" => ("AWS::Region", false),
        "account_id" => ("AWS::AccountId", false),
        "stage" => ("Stage", false),
        "usage_table" => ("UsageTableName", false),
        "manuals_bucket" => ("ManualsBucketName", false),
        "audio_bucket" => ("AudioBucketName", false),
        "kb_id" => ("KnowledgeBaseId", false),
        "redis_host" => ("RedisEndpointAddress", true),
        "redis_port" => ("RedisPort", true),
        _ => return None,
    })
}

/// `pdf-page` → `PdfPage`, `/api/user/{id}` → `ApiUserId`.
fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            let first = c.next().expect("non-empty").to_ascii_uppercase();
            std::iter::once(first).chain(c).collect::<String>()
        })
        .collect()
}

/// A YAML double-quoted string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A plain or quoted scalar's text.
fn yaml_unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else {
        s.to_owned()
    }
}

/// A mapping entry of a block-style YAML text: its key line and the lines under it.
#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    key: &'a str,
    indent: usize,
    /// The key's line.
    start: usize,
    /// One past its last line (trailing blank lines excluded).
    end: usize,
}

/// The lines of a block-style YAML text, read as nested mappings.
struct Yaml<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Yaml<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.lines().collect(),
        }
    }

    /// The mapping entries among lines `from..to`: keys at the indentation of its first line.
    fn entries(&self, from: usize, to: usize) -> Vec<Node<'a>> {
        let Some(indent) = self.lines[from..to]
            .iter()
            .find(|l| is_content(l))
            .map(|l| indent_of(l))
        else {
            return Vec::new();
        };
        let mut out: Vec<Node<'a>> = Vec::new();
        for i in from..to {
            let l = self.lines[i];
            if !is_content(l) || indent_of(l) != indent {
                continue;
            }
            if let Some(key) = key_of(l) {
                if let Some(last) = out.last_mut() {
                    last.end = self.trim_end(last.start, i);
                }
                out.push(Node {
                    key,
                    indent,
                    start: i,
                    end: to,
                });
            }
        }
        if let Some(last) = out.last_mut() {
            last.end = self.trim_end(last.start, to);
        }
        out
    }

    fn trim_end(&self, start: usize, mut end: usize) -> usize {
        while end > start + 1 && !is_content(self.lines[end - 1]) {
            end -= 1;
        }
        end
    }

    fn children(&self, n: &Node) -> Vec<Node<'a>> {
        self.entries(n.start + 1, n.end)
    }

    fn child(&self, n: &Node, key: &str) -> Option<Node<'a>> {
        self.children(n).into_iter().find(|c| c.key == key)
    }

    /// The value written on the key's own line.
    fn inline(&self, n: &Node) -> &'a str {
        let l = self.lines[n.start].trim_start();
        let after = &l[key_end(l).expect("a key line") + 1..];
        after.trim()
    }

    fn is_multiline(&self, n: &Node) -> bool {
        n.end > n.start + 1
    }

    /// The entry's lines, moved to indentation `to`.
    fn text(&self, n: &Node, to: usize) -> String {
        let mut out = String::new();
        for l in &self.lines[n.start..n.end] {
            out.push_str(&reindent_line(l, n.indent, to));
            out.push('\n');
        }
        out
    }
}

fn reindent_line(line: &str, from: usize, to: usize) -> String {
    if line.trim().is_empty() {
        return String::new();
    }
    let strip = from.min(indent_of(line));
    format!("{}{}", " ".repeat(to), &line[strip..])
        .trim_end()
        .to_owned()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// Byte index of the `:` ending a mapping key at the start of `s` (already trimmed).
fn key_end(s: &str) -> Option<usize> {
    if s.starts_with(['-', '#', '!', '[', '{', '>', '|']) {
        return None;
    }
    let b = s.as_bytes();
    (0..b.len()).find(|&i| b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' '))
}

fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let end = key_end(t)?;
    let key = t[..end].trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key);
    (!key.is_empty() && !key.contains(' ')).then_some(key)
}

/// One line that differs between the committed template and the generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// Line number: in the committed file for a removed line, in the generated text for an added one.
    pub line: usize,
    /// `Section.Entry` the line belongs to (`Resources.QueryFunction`).
    pub location: String,
    pub added: bool,
    pub text: String,
}

/// The lines by which `committed` differs from `generated`.
pub fn differences(committed: &str, generated: &str) -> Vec<LineChange> {
    let diff = similar::TextDiff::from_lines(committed, generated);
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        let (index, lines, added) = match change.tag() {
            similar::ChangeTag::Equal => continue,
            similar::ChangeTag::Delete => (change.old_index(), &old, false),
            similar::ChangeTag::Insert => (change.new_index(), &new, true),
        };
        let index = index.expect("a changed line has an index");
        out.push(LineChange {
            line: index + 1,
            location: location(lines, index),
            added,
            text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
        });
    }
    out
}

/// `Section.Entry` of line `index` (by the nearest keys above it at indentation 0 and 2).
fn location(lines: &[&str], index: usize) -> String {
    let mut entry = None;
    for i in (0..=index.min(lines.len().saturating_sub(1))).rev() {
        let l = lines.get(i).copied().unwrap_or("");
        if !is_content(l) {
            continue;
        }
        match (indent_of(l), key_of(l)) {
            (0, Some(section)) => {
                return match entry {
                    Some(e) => format!("{section}.{e}"),
                    None => section.to_owned(),
                };
            }
            (2, Some(k)) if entry.is_none() => entry = Some(k),
            _ => {}
        }
    }
    "(top of file)".into()
}

/// The `--check` report: which entries differ, then the lines (at most `limit`).
pub fn describe(changes: &[LineChange], limit: usize) -> String {
    let mut places: Vec<&str> = Vec::new();
    for c in changes {
        if !places.contains(&c.location.as_str()) {
            places.push(&c.location);
        }
    }
    let mut out = format!(
        "{HYBRID_TEMPLATE} is out of date in {}:\n",
        places.join(", ")
    );
    for c in changes.iter().take(limit) {
        writeln!(
            out,
            "  {} line {} ({}): {}",
            if c.added { "+" } else { "-" },
            c.line,
            c.location,
            c.text
        )
        .unwrap();
    }
    if changes.len() > limit {
        writeln!(out, "  … and {} more lines", changes.len() - limit).unwrap();
    }
    out.push_str("regenerate it with `manuel-migrate functions hybrid-template`");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs() -> Needs {
        Needs::default()
    }

    #[test]
    fn values_become_references() {
        let mut n = needs();
        assert_eq!(map_value("f", "50", &mut n).unwrap(), "\"50\"");
        assert_eq!(map_value("f", "", &mut n).unwrap(), "\"\"");
        assert_eq!(
            map_value("f", "{usage_table}", &mut n).unwrap(),
            "!Ref UsageTableName"
        );
        assert_eq!(
            map_value("f", "{region}", &mut n).unwrap(),
            "!Ref AWS::Region"
        );
        assert_eq!(
            map_value("f", "arn:{region}:{kb_id}", &mut n).unwrap(),
            "!Sub \"arn:${AWS::Region}:${KnowledgeBaseId}\""
        );
        assert_eq!(
            map_value("f", "{\"a\": 1}", &mut n).unwrap(),
            "\"{\\\"a\\\": 1}\""
        );
        assert!(n.params.contains("UsageTableName") && n.params.contains("KnowledgeBaseId"));
        assert!(!n.params.iter().any(|p| p.starts_with("AWS::")));
        assert!(n.conditions.is_empty());
        assert_eq!(
            map_value("f", "{redis_host}", &mut n).unwrap(),
            "!If [EnableRedisCaching, !Ref RedisEndpointAddress, \"\"]"
        );
        assert!(n.conditions.contains(REDIS_CONDITION));
        let err = map_value("functions.x.env.A", "{nope}", &mut n)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("manuel-migrate.toml: functions.x.env.A") && err.contains("{nope}"),
            "{err}"
        );
    }

    #[test]
    fn sub_escapes_literal_dollar_braces() {
        let mut n = needs();
        assert_eq!(
            map_value("f", "${-}-{stage}", &mut n).unwrap(),
            "!Sub \"${!-}-${Stage}\""
        );
    }

    #[test]
    fn block_yaml_is_read_by_indentation() {
        let text =
            "A: 1\nB:\n  x:\n    y: !Ref Z\n\n    z: [1, 2]\n  w: \"q\"\n# c\nC: >\n  text\n";
        let y = Yaml::new(text);
        let top = y.entries(0, y.lines.len());
        assert_eq!(
            top.iter().map(|n| n.key).collect::<Vec<_>>(),
            ["A", "B", "C"]
        );
        let b = top[1];
        let x = y.child(&b, "x").unwrap();
        assert_eq!(y.inline(&y.child(&x, "y").unwrap()), "!Ref Z");
        assert_eq!(y.text(&x, 0), "x:\n  y: !Ref Z\n\n  z: [1, 2]\n");
        assert_eq!(yaml_unquote(y.inline(&y.child(&b, "w").unwrap())), "q");
    }

    #[test]
    fn changes_name_their_resource() {
        let a = "Resources:\n  One:\n    Timeout: 1\n  Two:\n    Timeout: 2\n";
        let b = "Resources:\n  One:\n    Timeout: 1\n  Two:\n    Timeout: 3\n";
        let d = differences(a, b);
        assert_eq!(d.len(), 2);
        assert!(d
            .iter()
            .all(|c| c.location == "Resources.Two" && c.line == 5));
        assert!(describe(&d, 10).contains("out of date in Resources.Two"));
        assert!(differences(a, a).is_empty());
    }

    #[test]
    fn repo_templates_generate() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let project = Project::load(root).unwrap();
        let t = generate_for(&project).unwrap();
        assert!(t.contains("  HealthFunction:\n") && t.contains("  HealthFunctionRust:\n"));
        assert!(t.contains("            Path: /rust/health\n"));
        assert!(t.contains("FunctionName: !Sub manuel-query-${Stage}\n"));
    }
}
