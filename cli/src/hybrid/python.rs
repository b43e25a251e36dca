//! The Python resources of the hybrid template: one per function pair, made from
//! `manuel-migrate.toml` (validated field by field), with environment values mapped to stack
//! references and what the configuration does not record taken from the Rust twin.

use super::yaml::{quote, yaml_unquote, Node, Yaml};
use super::*;

/// Parameters, conditions and layers the generated Python resources refer to.
#[derive(Default)]
pub(super) struct Needs {
    pub(super) params: BTreeSet<String>,
    pub(super) conditions: BTreeSet<String>,
    /// Layer name → its ARN parameter.
    pub(super) layers: BTreeMap<String, String>,
}

/// A definition for a parameter the Python side refers to but the Rust template lacks.
pub(super) fn parameter_definition(name: &str) -> String {
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

pub(super) fn layer_condition(param: &str) -> String {
    format!("Has{}", param.trim_end_matches("Arn"))
}

/// Reject what would not make a valid resource, naming the field.
pub(super) fn validate(name: &str, f: &FunctionConfig) -> Result<(), HybridError> {
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
    if let Some(py) = f.python() {
        let dir_ok = !py.dir.is_empty()
            && py
                .dir
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !py.dir.starts_with('.');
        if !dir_ok {
            return Err(config_err(
                field("python_dir"),
                format!(
                    "'{}' is not a folder name under backend/src/functions",
                    py.dir
                ),
            ));
        }
        let handler_ok = py.handler.split('.').count() >= 2
            && py.handler.split('.').all(|p| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !p.starts_with(|c: char| c.is_ascii_digit())
            });
        if !handler_ok {
            return Err(config_err(
                field("handler"),
                format!("'{}' is not module.function", py.handler),
            ));
        }
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

pub(super) fn check_env_key(field: &str, key: &str) -> Result<(), HybridError> {
    let ok = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(config_err(field, "not a Lambda environment variable name"))
    }
}

/// `GET /path` → (`get`, `/path`).
pub(super) fn parse_route(route: &str) -> Option<(String, &str)> {
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
pub(super) fn python_resource(
    rust: &Yaml,
    name: &str,
    f: &FunctionConfig,
    py: crate::config::PythonTwin<'_>,
    twin: &Node,
    token_authorizer: bool,
    needs: &mut Needs,
) -> Result<String, HybridError> {
    let place = twin.key;
    let props = rust
        .child(twin, "Properties")
        .ok_or_else(|| rust_err(format!("Resources.{place}"), "no Properties"))?;
    let mut out = String::new();
    let res = &f.template_resource;
    writeln!(out, "  {res}:").unwrap();
    out.push_str("    Type: AWS::Serverless::Function\n");
    // A twin deployed only under a condition (the error processor) takes its Python side along.
    if let Some(c) = rust.child(twin, "Condition") {
        out.push_str(&rust.text(&c, 4));
    }
    out.push_str("    Properties:\n");
    writeln!(out, "      FunctionName: !Sub manuel-{name}-${{Stage}}").unwrap();
    needs.params.insert("Stage".into());
    writeln!(
        out,
        "      CodeUri: {MANUEL_CHECKOUT}/backend/src/functions/{}/",
        py.dir
    )
    .unwrap();
    writeln!(out, "      Handler: {}", py.handler).unwrap();
    writeln!(out, "      Runtime: {PYTHON_RUNTIME}").unwrap();
    writeln!(
        out,
        "      Description: {}",
        quote(&format!(
            "Python function {} of Manuel, unchanged (its Rust port is {place})",
            py.dir
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
    let twin_events = rust
        .child(&props, "Events")
        .map(|e| rust.children(&e))
        .unwrap_or_default();
    // Event sources other than the API (an SQS queue) are the Python function's in this stack:
    // it consumes them, and the alias weights decide which version runs (README, shift).
    let sources: Vec<&Node> = twin_events
        .iter()
        .filter(|e| !is_api_event(rust, e))
        .collect();
    if !f.routes.is_empty() || !sources.is_empty() {
        out.push_str("      Events:\n");
    }
    for e in &sources {
        out.push_str(&rust.text(e, 8));
    }
    if !f.routes.is_empty() {
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
                let authorizer = if token_authorizer {
                    super::TOKEN_AUTHORIZER
                } else {
                    "NONE"
                };
                writeln!(
                    out,
                    "            Auth:\n              Authorizer: {authorizer}"
                )
                .unwrap();
            }
        }
    }
    Ok(out)
}

/// Is this event block an API Gateway route (`Type: Api`)?
pub(super) fn is_api_event(y: &Yaml, event: &Node) -> bool {
    y.child(event, "Type")
        .is_some_and(|t| yaml_unquote(y.inline(&t)) == "Api")
}

/// (method, path) of an API event block.
pub(super) fn event_route(y: &Yaml, event: &Node) -> Option<(String, String)> {
    let props = y.child(event, "Properties")?;
    let path = yaml_unquote(y.inline(&y.child(&props, "Path")?));
    let method = yaml_unquote(y.inline(&y.child(&props, "Method")?)).to_ascii_lowercase();
    Some((method, path))
}

/// Map a configured environment value to a template value: `{placeholder}`s become references to
/// the stack (its parameters, region, account); the local stack's Redis endpoint becomes the
/// stack's Redis parameters, in effect only under EnableRedisCaching.
pub(super) fn map_value(
    field: &str,
    value: &str,
    needs: &mut Needs,
) -> Result<String, HybridError> {
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
pub(super) fn is_one_placeholder(value: &str) -> bool {
    value.len() >= 3 && value.starts_with('{') && value[1..].find('}') == Some(value.len() - 2)
}

pub(super) const PLACEHOLDERS: [&str; 11] = [
    "region",
    "account_id",
    "stage",
    "usage_table",
    "manuals_bucket",
    "audio_bucket",
    "kb_id",
    "redis_host",
    "redis_port",
    "user_pool_id",
    "app_client_id",
];

/// What a placeholder refers to in the template, and whether it is one of the Redis settings.
pub(super) fn placeholder(name: &str) -> Option<(&'static str, bool)> {
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
        "user_pool_id" => ("CognitoUserPoolId", false),
        "app_client_id" => ("CognitoClientIds", false),
        _ => return None,
    })
}

/// `pdf-page` → `PdfPage`, `/api/user/{id}` → `ApiUserId`.
pub(super) fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            let first = c.next().expect("non-empty").to_ascii_uppercase();
            std::iter::once(first).chain(c).collect::<String>()
        })
        .collect()
}
