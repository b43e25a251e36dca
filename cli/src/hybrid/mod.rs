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

mod check;
mod python;
mod rust;
#[cfg(test)]
mod tests;
mod yaml;

pub use check::{describe, differences, LineChange};
use python::{
    check_env_key, layer_condition, map_value, parameter_definition, python_resource, validate,
    Needs,
};
use rust::rust_resource;
use yaml::{quote, yaml_unquote, Node, Yaml};

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

/// The logical ID of the Rust token authorizer function in `template-rust.yaml`.
pub const TOKEN_AUTHORIZER_FUNCTION: &str = "AuthorizerFunctionRust";
/// The name of the API authorizer that runs it.
pub const TOKEN_AUTHORIZER: &str = "RustTokenAuthorizer";
/// The header line that records the options a template was generated with.
const OPTIONS_LINE: &str = "# Options: ";

/// How the hybrid template is generated, beyond the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Functions whose routes without an authorizer (`public_routes`) get the Rust token
    /// authorizer, on the Python side as on the Rust one.
    pub token_authorizer: Vec<String>,
}

impl Options {
    /// The options a generated template records in its header (none for an older template).
    pub fn of_template(text: &str) -> Self {
        let mut o = Options::default();
        let Some(line) = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.strip_prefix(OPTIONS_LINE))
        else {
            return o;
        };
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if w == "--token-authorizer" {
                o.token_authorizer.extend(words.next().map(str::to_owned));
            }
        }
        o
    }

    fn header(&self) -> String {
        if self.token_authorizer.is_empty() {
            return String::new();
        }
        let args: Vec<String> = self
            .token_authorizer
            .iter()
            .map(|f| format!("--token-authorizer {f}"))
            .collect();
        format!("{OPTIONS_LINE}{}\n", args.join(" "))
    }

    fn validate(&self, config: &Config) -> Result<(), HybridError> {
        for name in &self.token_authorizer {
            let Some(f) = config.functions.get(name) else {
                return Err(config_err(
                    "--token-authorizer",
                    format!("unknown function '{name}'"),
                ));
            };
            if f.python().is_none() || f.public_routes.is_empty() {
                return Err(config_err(
                    "--token-authorizer",
                    format!("function '{name}' has no Python routes without an authorizer (public_routes)"),
                ));
            }
        }
        Ok(())
    }

    fn protects(&self, function: &str) -> bool {
        self.token_authorizer.iter().any(|f| f == function)
    }
}

/// The hybrid template of a project: its configuration and its `template-rust.yaml`.
pub fn generate_for(project: &Project, options: &Options) -> Result<String, HybridError> {
    let path = project.root.join(RUST_TEMPLATE);
    let rust = std::fs::read_to_string(&path).map_err(|source| HybridError::Io { path, source })?;
    generate(&project.config, &rust, options)
}

/// The hybrid template for a configuration and the text of a Rust template.
pub fn generate(
    config: &Config,
    rust_template: &str,
    options: &Options,
) -> Result<String, HybridError> {
    options.validate(config)?;
    let rust = Yaml::new(rust_template);
    let top = rust.entries(0, rust.lines.len());
    let section = |key: &str| top.iter().find(|n| n.key == key).copied();
    let resources = section("Resources").ok_or_else(|| rust_err("Resources", "missing"))?;
    let rust_resources = rust.children(&resources);
    let mut needs = Needs::default();
    let globals = Globals::split(&rust, section("Globals"));
    let global_env = global_environment(config, &rust, &globals.rust_env, &mut needs)?;
    let rust_outputs = section("Outputs")
        .map(|o| rust.children(&o))
        .unwrap_or_default();
    if !options.token_authorizer.is_empty()
        && !rust_resources
            .iter()
            .any(|n| n.key == TOKEN_AUTHORIZER_FUNCTION)
    {
        return Err(rust_err(
            format!("Resources.{TOKEN_AUTHORIZER_FUNCTION}"),
            "missing (--token-authorizer runs it)",
        ));
    }
    let (python, outputs) = python_part(
        config,
        &rust,
        &rust_resources,
        &rust_outputs,
        options,
        &mut needs,
    )?;

    // The Rust resources as written, test routes under /rust, runtime settings inline.
    let mut rust_part = String::new();
    for r in &rust_resources {
        rust_part.push_str(&rust_resource(&rust, r, &globals.moved)?);
        rust_part.push('\n');
    }
    let (params, conditions) = parameters_and_conditions(
        &rust,
        section("Parameters"),
        section("Conditions"),
        &mut needs,
    );

    // Assemble.
    let mut out = String::new();
    out.push_str(
        "# Generated by `manuel-migrate functions hybrid-template` from manuel-migrate.toml and\n\
         # template-rust.yaml: do not edit. Regenerate after changing either; CI runs it with --check.\n",
    );
    out.push_str(&options.header());
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
    out.push_str(&globals.section(&rust, &global_env, options)?);
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

/// The Rust template's `Globals`: what both runtimes share stays global; the Rust-only settings
/// go to each Rust function; its environment joins the Python stack's globals.
struct Globals<'a> {
    shared: Vec<Node<'a>>,
    moved: Vec<Node<'a>>,
    rust_env: Vec<Node<'a>>,
    other: Vec<Node<'a>>,
}

impl<'a> Globals<'a> {
    fn split(rust: &Yaml<'a>, globals: Option<Node<'a>>) -> Self {
        let mut g = Globals {
            shared: Vec::new(),
            moved: Vec::new(),
            rust_env: Vec::new(),
            other: Vec::new(),
        };
        let Some(globals) = globals else { return g };
        for entry in rust.children(&globals) {
            if entry.key != "Function" {
                g.other.push(entry);
                continue;
            }
            for setting in rust.children(&entry) {
                if RUST_ONLY_GLOBALS.contains(&setting.key) {
                    g.moved.push(setting);
                } else if setting.key == "Environment" {
                    if let Some(vars) = rust.child(&setting, "Variables") {
                        g.rust_env = rust.children(&vars);
                    }
                } else {
                    g.shared.push(setting);
                }
            }
        }
        g
    }

    /// The hybrid template's `Globals` section (empty when there is nothing global).
    fn section(
        &self,
        rust: &Yaml,
        global_env: &str,
        options: &Options,
    ) -> Result<String, HybridError> {
        let mut function_globals: String = self.shared.iter().map(|g| rust.text(g, 4)).collect();
        if !global_env.is_empty() {
            function_globals.push_str("    Environment:\n      Variables:\n");
            function_globals.push_str(global_env);
        }
        let mut out = String::new();
        if !function_globals.is_empty() || !self.other.is_empty() {
            out.push_str("\nGlobals:\n");
            if !function_globals.is_empty() {
                out.push_str("  Function:\n");
                out.push_str(&function_globals);
            }
            for g in &self.other {
                if g.key == "Api" && !options.token_authorizer.is_empty() {
                    out.push_str(&api_with_token_authorizer(rust, g)?);
                } else {
                    out.push_str(&rust.text(g, 2));
                }
            }
        }
        if !options.token_authorizer.is_empty() && !self.other.iter().any(|g| g.key == "Api") {
            return Err(rust_err(
                "Globals.Api.Auth.Authorizers",
                "missing (--token-authorizer adds to it)",
            ));
        }
        Ok(out)
    }
}

/// `Globals.Api` with the token authorizer added to the Rust template's `Auth.Authorizers`.
fn api_with_token_authorizer(rust: &Yaml, api: &Node) -> Result<String, HybridError> {
    let place = "Globals.Api.Auth.Authorizers";
    let mut out = String::from("  Api:\n");
    for setting in rust.children(api) {
        if setting.key != "Auth" {
            out.push_str(&rust.text(&setting, 4));
            continue;
        }
        out.push_str("    Auth:\n");
        let mut found = false;
        for part in rust.children(&setting) {
            out.push_str(&rust.text(&part, 6));
            if part.key == "Authorizers" {
                found = true;
                write!(
                    out,
                    "        # --token-authorizer: the routes Manuel serves without an authorizer.\n        {TOKEN_AUTHORIZER}:\n          FunctionArn: !GetAtt {TOKEN_AUTHORIZER_FUNCTION}.Arn\n          FunctionPayloadType: TOKEN\n          Identity:\n            Header: Authorization\n            ReauthorizeEvery: 300\n"
                )
                .unwrap();
            }
        }
        if !found {
            return Err(rust_err(place, "missing (--token-authorizer adds to it)"));
        }
        return Ok(out);
    }
    Err(rust_err(place, "missing (--token-authorizer adds to it)"))
}

/// The global environment: the configuration's `[env]`, which must agree with what the Rust
/// template's globals say for the same keys, then the Rust template's other global variables.
fn global_environment(
    config: &Config,
    rust: &Yaml,
    rust_global_env: &[Node],
    needs: &mut Needs,
) -> Result<String, HybridError> {
    let mut global_env = String::new();
    for (key, value) in &config.env {
        let field = format!("env.{key}");
        check_env_key(&field, key)?;
        let mapped = map_value(&field, value, needs)?;
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
    for n in rust_global_env {
        if !config.env.contains_key(n.key) {
            global_env.push_str(&rust.text(n, 8));
        }
    }
    Ok(global_env)
}

/// The Python resources, one per function pair, and the outputs of both sides.
fn python_part(
    config: &Config,
    rust: &Yaml,
    rust_resources: &[Node],
    rust_outputs: &[Node],
    options: &Options,
    needs: &mut Needs,
) -> Result<(String, String), HybridError> {
    let rust_names: BTreeSet<&str> = rust_resources.iter().map(|n| n.key).collect();
    let mut python = String::new();
    let mut outputs = String::new();
    // Output keys written already: a Rust output of the same key is not copied again.
    let mut outputs_done = BTreeSet::from(["ApiUrl".to_owned()]);
    for (name, f) in config.functions.iter().filter(|(_, f)| !f.tool) {
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
        // A Rust-only function (the token authorizer) has its Rust resource only.
        if let Some(py) = f.python() {
            let token_auth = options.protects(name);
            python.push_str(&python_resource(
                rust, name, f, py, twin, token_auth, needs,
            )?);
            python.push('\n');
            let res = &f.template_resource;
            let condition = rust
                .child(twin, "Condition")
                .map(|c| format!("    Condition: {}\n", rust.inline(&c)))
                .unwrap_or_default();
            write!(
                outputs,
                "  {res}Arn:\n    Description: {}\n{condition}    Value: !GetAtt {res}.Arn\n",
                quote(&format!("Python function manuel-{name} (original routes)"))
            )
            .unwrap();
            outputs_done.insert(format!("{res}Arn"));
        }
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
    for o in rust_outputs {
        if !outputs_done.contains(o.key) {
            outputs.push_str(&rust.text(o, 2));
        }
    }
    Ok((python, outputs))
}

/// Parameters and Conditions: the Rust template's, plus what the Python side adds.
fn parameters_and_conditions(
    rust: &Yaml,
    parameters: Option<Node>,
    conditions: Option<Node>,
    needs: &mut Needs,
) -> (String, String) {
    let rust_params: Vec<Node> = parameters.map(|p| rust.children(&p)).unwrap_or_default();
    let rust_conditions: Vec<Node> = conditions.map(|c| rust.children(&c)).unwrap_or_default();
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
    let mut conds = String::new();
    for c in &rust_conditions {
        conds.push_str(&rust.text(c, 2));
    }
    for c in &needs.conditions {
        if c == REDIS_CONDITION && !rust_conditions.iter().any(|n| n.key == c) {
            writeln!(
                conds,
                "  {REDIS_CONDITION}: !Equals [!Ref EnableRedisCache, \"true\"]"
            )
            .unwrap();
        }
    }
    for param in needs.layers.values() {
        writeln!(
            conds,
            "  {}: !Not [!Equals [!Ref {param}, \"\"]]",
            layer_condition(param)
        )
        .unwrap();
    }
    (params, conds)
}
