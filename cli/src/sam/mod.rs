//! SAM templates resolved the way CloudFormation would deploy them, for `functions sync`: the
//! parameters at their defaults (or a parameters file's values), the conditions decided, the
//! intrinsic functions (`Ref`, `Fn::Sub`, `Fn::If`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`,
//! `Fn::Split`, `Fn::FindInMap`, in short or long form) evaluated, `Globals` merged into each
//! function. What cannot be known before a deployment (a bucket's generated name, a cache's
//! endpoint) stays a reference, unless `[sync.references]` says which placeholder of
//! `manuel-migrate.toml` stands for it.
//!
//! No SAM or CloudFormation library for Rust does this (cfn-lint and samtranslator are Python,
//! and the project's own CI runs cfn-lint on the templates it writes); the evaluator below covers
//! the intrinsics a function's memory, timeout, layers, environment and API events can use.

pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yaml::Node;

#[derive(Debug, thiserror::Error)]
pub enum SamError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Yaml {
        path: PathBuf,
        source: yaml::YamlError,
    },
    #[error("{path}: {at}: {message}")]
    Shape {
        path: PathBuf,
        at: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Parameters { path: PathBuf, message: String },
}

/// A property's value once the template is resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `!Ref AWS::NoValue`: the property (or list item) is left out.
    NoValue,
    Str(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    /// `!Ref` of a resource that `[sync.references]` does not map: its physical ID exists only
    /// once deployed.
    Resource(String),
    /// Anything else known only once deployed (an attribute, a `!Sub` of such), as written.
    Unknown(String),
}

impl Value {
    /// The text CloudFormation would hand the function, when it is known now.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// How the template writes a value that cannot be known now (for messages).
    pub fn describe(&self) -> String {
        match self {
            Value::NoValue => "(absent)".into(),
            Value::Str(s) => format!("{s:?}"),
            Value::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Value::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(_) => "(a mapping)".into(),
            Value::Resource(id) => format!("!Ref {id}"),
            Value::Unknown(text) => text.clone(),
        }
    }
}

/// One API event of a function: `GET /api/manuals`, and whether it has no authorizer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub public: bool,
}

impl Route {
    /// `GET /api/manuals`, as manuel-migrate.toml writes routes.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What a template deploys for one function.
#[derive(Debug, Clone)]
pub struct FunctionFacts {
    /// The resource's `Condition` holds (true when it has none).
    pub deployed: bool,
    pub memory_mb: Value,
    pub timeout_s: Value,
    /// Layer names: the `ContentUri` folder of a layer resource of the template, or the name
    /// in a layer ARN.
    pub layers: Vec<Value>,
    /// The function's own `Environment.Variables` (`Globals` not merged: see [`Template::globals_env`]).
    pub env: BTreeMap<String, Value>,
    /// `Type: Api` events whose condition holds.
    pub routes: Vec<Route>,
}

/// A SAM template with its parameters set.
pub struct Template {
    path: PathBuf,
    doc: Node,
    params: BTreeMap<String, String>,
    references: BTreeMap<String, String>,
}

/// How deep intrinsics and conditions may nest before the template is taken to be cyclic.
const MAX_DEPTH: usize = 64;

impl Template {
    /// Read `path`. `overrides` set parameters (else their `Default`); `references` map a
    /// resource's `Ref` (`ManualsBucket`), an attribute (`RedisCache.RedisEndpoint.Address`) or
    /// a parameter or pseudo parameter to the text that stands for it.
    pub fn load(
        path: &Path,
        overrides: &BTreeMap<String, String>,
        references: &BTreeMap<String, String>,
    ) -> Result<Self, SamError> {
        let text = std::fs::read_to_string(path).map_err(|source| SamError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text, overrides, references)
    }

    pub fn parse(
        path: &Path,
        text: &str,
        overrides: &BTreeMap<String, String>,
        references: &BTreeMap<String, String>,
    ) -> Result<Self, SamError> {
        let doc = yaml::parse(text).map_err(|source| SamError::Yaml {
            path: path.to_path_buf(),
            source,
        })?;
        if !matches!(doc.get("Resources"), Some(Node::Map(_))) {
            return Err(SamError::Shape {
                path: path.to_path_buf(),
                at: "Resources".into(),
                message: "missing: this is not a CloudFormation/SAM template".into(),
            });
        }
        let mut template = Template {
            path: path.to_path_buf(),
            doc,
            params: BTreeMap::new(),
            references: references.clone(),
        };
        let mut params = BTreeMap::new();
        for (name, decl) in template.section("Parameters") {
            match decl.get("Default") {
                None | Some(Node::Null) => {}
                Some(Node::Scalar(s)) => {
                    params.insert(name.clone(), s.clone());
                }
                Some(Node::Seq(items)) => {
                    let parts: Vec<&str> = items.iter().filter_map(Node::as_str).collect();
                    params.insert(name.clone(), parts.join(","));
                }
                Some(_) => {
                    return Err(
                        template.shape(format!("Parameters.{name}.Default"), "not a value".into())
                    )
                }
            }
        }
        // A parameters file may serve several templates: each takes the values it declares
        // (the caller checks that every value is declared by one of them).
        for (name, value) in overrides {
            if template.declares(name) {
                params.insert(name.clone(), value.clone());
            }
        }
        template.params = params;
        Ok(template)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The template has a parameter `name`.
    pub fn declares(&self, name: &str) -> bool {
        self.section("Parameters").iter().any(|(n, _)| n == name)
    }

    fn section(&self, name: &str) -> &[(String, Node)] {
        self.doc.get(name).map(Node::entries).unwrap_or(&[])
    }

    fn resource(&self, id: &str) -> Option<&Node> {
        self.doc.get("Resources")?.get(id)
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.resource(id)?.get("Type")?.as_str()
    }

    fn shape(&self, at: String, message: String) -> SamError {
        SamError::Shape {
            path: self.path.clone(),
            at,
            message,
        }
    }

    /// Logical IDs of the template's functions (`AWS::Serverless::Function`), in order.
    pub fn function_ids(&self) -> Vec<String> {
        self.section("Resources")
            .iter()
            .filter(|(_, r)| {
                r.get("Type").and_then(Node::as_str) == Some("AWS::Serverless::Function")
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// `Globals.Function.Environment.Variables`.
    pub fn globals_env(&self) -> Result<BTreeMap<String, Value>, SamError> {
        let at = "Globals.Function.Environment.Variables";
        let node = self
            .doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"));
        self.variables(node, at)
    }

    fn variables(
        &self,
        environment: Option<&Node>,
        at: &str,
    ) -> Result<BTreeMap<String, Value>, SamError> {
        let Some(environment) = environment else {
            return Ok(BTreeMap::new());
        };
        let vars = match self.eval(environment, at)? {
            Value::Map(entries) => entries
                .into_iter()
                .find(|(k, _)| k == "Variables")
                .map(|(_, v)| v),
            Value::NoValue => None,
            other => {
                return Err(self.shape(
                    at.into(),
                    format!("Environment is {}, not a mapping", other.describe()),
                ))
            }
        };
        match vars {
            None | Some(Value::NoValue) => Ok(BTreeMap::new()),
            Some(Value::Map(entries)) => Ok(entries
                .into_iter()
                .filter(|(_, v)| *v != Value::NoValue)
                .collect()),
            Some(other) => Err(self.shape(
                at.into(),
                format!("Variables is {}, not a mapping", other.describe()),
            )),
        }
    }

    /// What the template deploys for function `id`, or `None` when it has no such function.
    pub fn function(&self, id: &str) -> Result<Option<FunctionFacts>, SamError> {
        let Some(resource) = self.resource(id) else {
            return Ok(None);
        };
        let rtype = self.resource_type(id).unwrap_or_default();
        if rtype != "AWS::Serverless::Function" {
            return Err(self.shape(
                format!("Resources.{id}.Type"),
                format!("{rtype}, not AWS::Serverless::Function"),
            ));
        }
        let at = |p: &str| format!("Resources.{id}.Properties.{p}");
        let deployed = match resource.get("Condition").and_then(Node::as_str) {
            Some(cond) => self.condition(cond, 0, &format!("Resources.{id}.Condition"))?,
            None => true,
        };
        let props = resource.get("Properties");
        let globals = self.doc.get("Globals").and_then(|g| g.get("Function"));
        let property = |name: &str| -> Result<Value, SamError> {
            let own = props.and_then(|p| p.get(name));
            match own {
                Some(node) => self.eval(node, &at(name)),
                None => match globals.and_then(|g| g.get(name)) {
                    Some(node) => self.eval(node, &format!("Globals.Function.{name}")),
                    // Lambda's defaults.
                    None => Ok(match name {
                        "MemorySize" => Value::Str("128".into()),
                        "Timeout" => Value::Str("3".into()),
                        _ => Value::NoValue,
                    }),
                },
            }
        };
        let memory_mb = property("MemorySize")?;
        let timeout_s = property("Timeout")?;
        // SAM puts the Globals' layers before the function's own.
        let mut layers = Vec::new();
        for (node, at) in [
            (
                globals.and_then(|g| g.get("Layers")),
                "Globals.Function.Layers".to_string(),
            ),
            (props.and_then(|p| p.get("Layers")), at("Layers")),
        ] {
            let Some(node) = node else { continue };
            match self.eval(node, &at)? {
                Value::List(items) => layers.extend(
                    items
                        .into_iter()
                        .filter(|v| *v != Value::NoValue)
                        .map(|v| self.layer_name(v)),
                ),
                Value::NoValue => {}
                other => return Err(self.shape(at, format!("{}, not a list", other.describe()))),
            }
        }
        let env = self.variables(props.and_then(|p| p.get("Environment")), &at("Environment"))?;
        let mut routes = Vec::new();
        for (name, event) in props
            .and_then(|p| p.get("Events"))
            .map(Node::entries)
            .unwrap_or(&[])
        {
            let at = at(&format!("Events.{name}"));
            if event.get("Type").and_then(Node::as_str) != Some("Api") {
                continue;
            }
            if let Some(cond) = event.get("Condition").and_then(Node::as_str) {
                if !self.condition(cond, 0, &at)? {
                    continue;
                }
            }
            let Some(ep) = event.get("Properties") else {
                return Err(self.shape(at, "an Api event without Properties".into()));
            };
            let text = |key: &str| -> Result<String, SamError> {
                let node = ep.get(key).ok_or_else(|| {
                    self.shape(format!("{at}.Properties.{key}"), "missing".into())
                })?;
                match self.eval(node, &format!("{at}.Properties.{key}"))? {
                    Value::Str(s) => Ok(s),
                    other => Err(self.shape(
                        format!("{at}.Properties.{key}"),
                        format!("{}, not text", other.describe()),
                    )),
                }
            };
            let path = text("Path")?;
            let method = text("Method")?.to_ascii_uppercase();
            let authorizer = match ep.get("Auth").and_then(|a| a.get("Authorizer")) {
                Some(node) => self.eval(node, &format!("{at}.Properties.Auth.Authorizer"))?,
                None => Value::NoValue,
            };
            let public = match authorizer {
                Value::Str(a) => a == "NONE",
                _ => !self.api_has_default_authorizer(ep, &at)?,
            };
            routes.push(Route {
                method,
                path,
                public,
            });
        }
        Ok(Some(FunctionFacts {
            deployed,
            memory_mb,
            timeout_s,
            layers,
            env,
            routes,
        }))
    }

    /// An event without its own `Auth.Authorizer` gets its API's default authorizer: the
    /// `RestApiId` resource's, or `Globals.Api`'s for SAM's implicit API.
    fn api_has_default_authorizer(&self, event_props: &Node, at: &str) -> Result<bool, SamError> {
        let api_props = match event_props.get("RestApiId") {
            Some(node) => match self.eval(node, &format!("{at}.Properties.RestApiId"))? {
                Value::Resource(id) => self.resource(&id).and_then(|r| r.get("Properties")),
                _ => None,
            },
            None => self.doc.get("Globals").and_then(|g| g.get("Api")),
        };
        let default = api_props
            .and_then(|p| p.get("Auth"))
            .and_then(|a| a.get("DefaultAuthorizer"));
        Ok(match default {
            Some(node) => matches!(self.eval(node, at)?, Value::Str(s) if s != "NONE"),
            None => false,
        })
    }

    /// A layer entry's name: a layer resource of this template by the folder of its
    /// `ContentUri` (or its `LayerName`), an ARN by its name.
    fn layer_name(&self, value: Value) -> Value {
        match value {
            Value::Resource(id) => {
                let props = self.resource(&id).and_then(|r| r.get("Properties"));
                let uri = props
                    .and_then(|p| p.get("ContentUri"))
                    .and_then(Node::as_str)
                    .map(|u| u.trim_end_matches('/'))
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|n| !n.is_empty());
                match uri {
                    Some(name) => Value::Str(name.to_owned()),
                    None => match props
                        .and_then(|p| p.get("LayerName"))
                        .and_then(Node::as_str)
                    {
                        Some(name) => Value::Str(name.to_owned()),
                        None => Value::Resource(id),
                    },
                }
            }
            Value::Str(arn) if arn.starts_with("arn:") => {
                // arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION
                let parts: Vec<&str> = arn.split(':').collect();
                match parts.iter().position(|p| *p == "layer") {
                    Some(i) if i + 1 < parts.len() => Value::Str(parts[i + 1].to_owned()),
                    _ => Value::Str(arn),
                }
            }
            other => other,
        }
    }

    /// Decide condition `name` of the `Conditions` section.
    fn condition(&self, name: &str, depth: usize, at: &str) -> Result<bool, SamError> {
        if depth > MAX_DEPTH {
            return Err(self.shape(at.into(), format!("condition {name} refers to itself")));
        }
        let node = self
            .doc
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| self.shape(at.into(), format!("no condition {name}")))?;
        self.truth(node, depth + 1, &format!("Conditions.{name}"))
    }

    /// A condition expression: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`.
    fn truth(&self, node: &Node, depth: usize, at: &str) -> Result<bool, SamError> {
        if depth > MAX_DEPTH {
            return Err(self.shape(at.into(), "conditions nest too deep".into()));
        }
        let Some((func, args)) = intrinsic(node) else {
            return Err(self.shape(at.into(), "not a condition function".into()));
        };
        let list = |n: usize| -> Result<&[Node], SamError> {
            match args {
                Node::Seq(items) if n == 0 || items.len() == n => Ok(items),
                _ => Err(self.shape(
                    at.into(),
                    format!("Fn::{func} takes a list of {n} arguments"),
                )),
            }
        };
        match func {
            "Equals" => {
                let items = list(2)?;
                let a = self.eval_depth(&items[0], at, depth + 1)?;
                let b = self.eval_depth(&items[1], at, depth + 1)?;
                match (a.text(), b.text()) {
                    (Some(a), Some(b)) => Ok(a == b),
                    _ => Err(self.shape(
                        at.into(),
                        format!(
                            "cannot decide Fn::Equals of {} and {} before deployment",
                            a.describe(),
                            b.describe()
                        ),
                    )),
                }
            }
            "Not" => Ok(!self.truth(&list(1)?[0], depth + 1, at)?),
            "And" => {
                for item in list(0)? {
                    if !self.truth(item, depth + 1, at)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            "Or" => {
                for item in list(0)? {
                    if self.truth(item, depth + 1, at)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            "Condition" => match args.as_str() {
                Some(name) => self.condition(name, depth + 1, at),
                None => Err(self.shape(at.into(), "Condition takes a condition name".into())),
            },
            other => Err(self.shape(at.into(), format!("Fn::{other} is not a condition"))),
        }
    }

    /// Evaluate a property's node.
    pub fn eval(&self, node: &Node, at: &str) -> Result<Value, SamError> {
        self.eval_depth(node, at, 0)
    }

    fn eval_depth(&self, node: &Node, at: &str, depth: usize) -> Result<Value, SamError> {
        if depth > MAX_DEPTH {
            return Err(self.shape(at.into(), "intrinsic functions nest too deep".into()));
        }
        let d = depth + 1;
        if let Some((func, args)) = intrinsic(node) {
            return self.call(func, args, at, d);
        }
        Ok(match node {
            Node::Null => Value::Str(String::new()),
            Node::Scalar(s) => Value::Str(s.clone()),
            Node::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    match self.eval_depth(item, at, d)? {
                        Value::NoValue => {}
                        v => out.push(v),
                    }
                }
                Value::List(out)
            }
            Node::Map(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    match self.eval_depth(v, &format!("{at}.{k}"), d)? {
                        Value::NoValue => {}
                        v => out.push((k.clone(), v)),
                    }
                }
                Value::Map(out)
            }
            Node::Tag(tag, _) => {
                return Err(self.shape(at.into(), format!("unknown tag !{tag}")));
            }
        })
    }

    fn reference(&self, name: &str) -> Value {
        if let Some(text) = self.references.get(name) {
            return Value::Str(text.clone());
        }
        if let Some(value) = self.params.get(name) {
            return Value::Str(value.clone());
        }
        match name {
            "AWS::NoValue" => Value::NoValue,
            "AWS::Partition" => Value::Str("aws".into()),
            "AWS::URLSuffix" => Value::Str("amazonaws.com".into()),
            _ if name.starts_with("AWS::") => Value::Unknown(format!("!Ref {name}")),
            _ if self.declares(name) => {
                Value::Unknown(format!("!Ref {name} (a parameter without a default)"))
            }
            _ => Value::Resource(name.to_owned()),
        }
    }

    fn attribute(&self, id: &str, attr: &str) -> Value {
        let key = format!("{id}.{attr}");
        match self.references.get(&key) {
            Some(text) => Value::Str(text.clone()),
            None => Value::Unknown(format!("!GetAtt {key}")),
        }
    }

    fn call(&self, func: &str, args: &Node, at: &str, depth: usize) -> Result<Value, SamError> {
        let text_arg = |node: &Node, what: &str| -> Result<String, SamError> {
            match self.eval_depth(node, at, depth)? {
                Value::Str(s) => Ok(s),
                other => Err(self.shape(
                    at.into(),
                    format!("Fn::{func}: {what} is {}, not text", other.describe()),
                )),
            }
        };
        let seq = |n: usize| -> Result<&[Node], SamError> {
            match args {
                Node::Seq(items) if items.len() == n => Ok(items),
                _ => Err(self.shape(
                    at.into(),
                    format!("Fn::{func} takes a list of {n} arguments"),
                )),
            }
        };
        Ok(match func {
            "Ref" => match args.as_str() {
                Some(name) => self.reference(name),
                None => return Err(self.shape(at.into(), "Ref takes a name".into())),
            },
            "GetAtt" => {
                let (id, attr) = match args {
                    Node::Scalar(s) => match s.split_once('.') {
                        Some((id, attr)) => (id.to_owned(), attr.to_owned()),
                        None => {
                            return Err(
                                self.shape(at.into(), format!("Fn::GetAtt {s}: no attribute"))
                            )
                        }
                    },
                    Node::Seq(items) if items.len() == 2 => (
                        text_arg(&items[0], "the resource")?,
                        text_arg(&items[1], "the attribute")?,
                    ),
                    _ => {
                        return Err(
                            self.shape(at.into(), "Fn::GetAtt takes RESOURCE.ATTRIBUTE".into())
                        )
                    }
                };
                self.attribute(&id, &attr)
            }
            "Sub" => {
                let (template, vars) = match args {
                    Node::Scalar(s) => (s.clone(), Vec::new()),
                    Node::Seq(items) if items.len() == 2 => {
                        let template = items[0].as_str().ok_or_else(|| {
                            self.shape(at.into(), "Fn::Sub: the string is not text".into())
                        })?;
                        let mut vars = Vec::new();
                        for (k, v) in items[1].entries() {
                            vars.push((k.clone(), self.eval_depth(v, at, depth)?));
                        }
                        (template.to_owned(), vars)
                    }
                    _ => {
                        return Err(self
                            .shape(at.into(), "Fn::Sub takes a string or [string, vars]".into()))
                    }
                };
                self.substitute(&template, &vars, at)?
            }
            "If" => {
                let items = seq(3)?;
                let cond = items[0]
                    .as_str()
                    .ok_or_else(|| self.shape(at.into(), "Fn::If: a condition name".into()))?;
                let branch = if self.condition(cond, depth, at)? {
                    &items[1]
                } else {
                    &items[2]
                };
                self.eval_depth(branch, at, depth)?
            }
            "Join" => {
                let items = seq(2)?;
                let delim = text_arg(&items[0], "the delimiter")?;
                let parts = match self.eval_depth(&items[1], at, depth)? {
                    Value::List(parts) => parts,
                    other => {
                        return Err(self.shape(
                            at.into(),
                            format!("Fn::Join: {} is not a list", other.describe()),
                        ))
                    }
                };
                let mut texts = Vec::new();
                for part in &parts {
                    match part {
                        Value::Str(s) => texts.push(s.clone()),
                        _ => {
                            return Ok(Value::Unknown(format!(
                                "!Join {}",
                                Value::List(parts).describe()
                            )))
                        }
                    }
                }
                Value::Str(texts.join(&delim))
            }
            "Select" => {
                let items = seq(2)?;
                let index: usize = text_arg(&items[0], "the index")?.parse().map_err(|_| {
                    self.shape(at.into(), "Fn::Select: the index is not a number".into())
                })?;
                match self.eval_depth(&items[1], at, depth)? {
                    Value::List(mut list) if index < list.len() => list.swap_remove(index),
                    Value::List(_) => {
                        return Err(self.shape(at.into(), "Fn::Select: index out of range".into()))
                    }
                    other => Value::Unknown(format!("!Select [{index}, {}]", other.describe())),
                }
            }
            "Split" => {
                let items = seq(2)?;
                let delim = text_arg(&items[0], "the delimiter")?;
                match self.eval_depth(&items[1], at, depth)? {
                    Value::Str(s) if !delim.is_empty() => Value::List(
                        s.split(delim.as_str())
                            .map(|p| Value::Str(p.to_owned()))
                            .collect(),
                    ),
                    other => Value::Unknown(format!("!Split [{delim:?}, {}]", other.describe())),
                }
            }
            "FindInMap" => {
                let items = seq(3)?;
                let map = text_arg(&items[0], "the map")?;
                let k1 = text_arg(&items[1], "the first key")?;
                let k2 = text_arg(&items[2], "the second key")?;
                let node = self
                    .doc
                    .get("Mappings")
                    .and_then(|m| m.get(&map))
                    .and_then(|m| m.get(&k1))
                    .and_then(|m| m.get(&k2))
                    .ok_or_else(|| {
                        self.shape(at.into(), format!("Fn::FindInMap: no {map}.{k1}.{k2}"))
                    })?;
                self.eval_depth(node, at, depth)?
            }
            "Equals" | "Not" | "And" | "Or" | "Condition" => {
                let node = Node::Tag(func.into(), Box::new(args.clone()));
                Value::Str(self.truth(&node, depth, at)?.to_string())
            }
            other => Value::Unknown(format!("!{other}")),
        })
    }

    /// `Fn::Sub`: `${Name}` a parameter, reference or variable; `${Res.Attr}` an attribute;
    /// `${!Literal}` the text `${Literal}`.
    fn substitute(
        &self,
        template: &str,
        vars: &[(String, Value)],
        at: &str,
    ) -> Result<Value, SamError> {
        let mut out = String::new();
        let mut known = true;
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                self.shape(at.into(), format!("Fn::Sub: unclosed ${{ in {template:?}"))
            })?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let name = name.trim();
                let value = match vars.iter().find(|(k, _)| k == name) {
                    Some((_, v)) => v.clone(),
                    None => match name.split_once('.') {
                        Some((id, attr)) if !name.starts_with("AWS::") => self.attribute(id, attr),
                        _ => self.reference(name),
                    },
                };
                match value {
                    Value::Str(s) => out.push_str(&s),
                    Value::NoValue => {
                        return Err(
                            self.shape(at.into(), format!("Fn::Sub: ${{{name}}} is AWS::NoValue"))
                        )
                    }
                    _ => {
                        known = false;
                        out.push_str("${");
                        out.push_str(name);
                        out.push('}');
                    }
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(if known {
            Value::Str(out)
        } else {
            Value::Unknown(format!("!Sub {out:?}"))
        })
    }
}

/// An intrinsic function call: a short-form tag (`!Ref X`) or a one-key mapping whose key is
/// `Ref`, `Condition` or `Fn::NAME`. Returns the function's name without `Fn::`.
fn intrinsic(node: &Node) -> Option<(&str, &Node)> {
    match node {
        Node::Tag(tag, args) => Some((tag.as_str(), args.as_ref())),
        Node::Map(entries) if entries.len() == 1 => {
            let (key, args) = &entries[0];
            match key.as_str() {
                "Ref" | "Condition" => Some((key.as_str(), args)),
                k => k.strip_prefix("Fn::").map(|f| (f, args)),
            }
        }
        _ => None,
    }
}

/// Parameter values from a file: CloudFormation's `[{"ParameterKey", "ParameterValue"}]` list,
/// a `{"Parameters": {…}}` template configuration (CodePipeline's, Manuel's parameters-*.json)
/// or a flat JSON object; or a samconfig.toml's `[ENV.deploy.parameters] parameter_overrides`.
pub fn read_parameters(
    path: &Path,
    config_env: &str,
) -> Result<BTreeMap<String, String>, SamError> {
    let err = |message: String| SamError::Parameters {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| SamError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    if is_toml {
        let doc: toml::Table = toml::from_str(&text).map_err(|e| err(e.message().to_owned()))?;
        let overrides = doc
            .get(config_env)
            .and_then(|e| e.get("deploy"))
            .and_then(|d| d.get("parameters"))
            .and_then(|p| p.get("parameter_overrides"));
        let items: Vec<String> = match overrides {
            None => {
                return Err(err(format!(
                    "no {config_env}.deploy.parameters.parameter_overrides"
                )))
            }
            Some(toml::Value::String(s)) => split_overrides(s).map_err(err)?,
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| err("parameter_overrides: not a list of strings".into()))?,
            Some(_) => return Err(err("parameter_overrides: not a string".into())),
        };
        let mut out = BTreeMap::new();
        for item in items {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| err(format!("parameter_overrides: '{item}' is not KEY=VALUE")))?;
            out.insert(k.to_owned(), v.to_owned());
        }
        return Ok(out);
    }
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = BTreeMap::new();
    match &json {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let key = item.get("ParameterKey").and_then(|k| k.as_str());
                let value = item.get("ParameterValue").and_then(scalar);
                match (key, value) {
                    (Some(k), Some(v)) => {
                        out.insert(k.to_owned(), v);
                    }
                    _ => {
                        return Err(err(format!(
                            "[{i}]: not {{\"ParameterKey\": …, \"ParameterValue\": …}}"
                        )))
                    }
                }
            }
        }
        serde_json::Value::Object(map) => {
            let map = match map.get("Parameters") {
                Some(serde_json::Value::Object(inner)) => inner,
                Some(_) => return Err(err("Parameters: not an object".into())),
                None => map,
            };
            for (k, v) in map {
                let v = scalar(v).ok_or_else(|| err(format!("{k}: not a string or number")))?;
                out.insert(k.clone(), v);
            }
        }
        _ => return Err(err("not a list or an object of parameters".into())),
    }
    Ok(out)
}

/// `K=V K2="a b"`: samconfig's space-separated overrides, values optionally double-quoted.
fn split_overrides(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("parameter_overrides: an unclosed quote".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// The pseudo parameters every project maps the same way.
pub fn default_references() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("AWS::Region".to_string(), "{region}".to_string()),
        ("AWS::AccountId".to_string(), "{account_id}".to_string()),
    ])
}

#[cfg(test)]
mod tests;
