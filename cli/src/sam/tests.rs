use super::*;

/// A small SAM template written for these tests: Globals, parameters, conditions, layers and
/// API events in the shapes a backend template uses.
const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: !Ref FunctionTimeout
    MemorySize: !Ref FunctionMemory
    Environment:
      Variables:
        REGION: !Ref AWS::Region
        MODEL: !Ref ModelId
        TRACE: !If [Tracing, "on", "off"]
  Api:
    Auth:
      DefaultAuthorizer: Pool
Parameters:
  Stage:
    Type: String
    Default: dev
  FunctionTimeout:
    Type: Number
    Default: 30
  FunctionMemory:
    Type: Number
    Default: 512
  ModelId:
    Type: String
    Default: model-a
  EnableCache:
    Type: String
    Default: "false"
  EnableTracing:
    Type: String
    Default: "true"
  Secret:
    Type: String
Mappings:
  Sizes:
    dev:
      Memory: 1024
Conditions:
  Caching: !Equals [!Ref EnableCache, "true"]
  Tracing: !Equals [!Ref EnableTracing, "true"]
  NotCaching: !Not [!Condition Caching]
  Both: !And [!Condition Caching, !Condition Tracing]
Resources:
  CacheLayer:
    Type: AWS::Serverless::LayerVersion
    Condition: Caching
    Properties:
      ContentUri: layers/cache/
  PdfLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/pdf-tools
  Bucket:
    Type: AWS::S3::Bucket
  Cache:
    Type: AWS::ElastiCache::ReplicationGroup
  # Defined twice: the second definition is the one deployed.
  PagesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: first.handler
      MemorySize: 128
  CachedFunction:
    Type: AWS::Serverless::Function
    Condition: Both
    Properties:
      Timeout: 5
  PagesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: second.handler
      MemorySize: !FindInMap [Sizes, !Ref Stage, Memory]
      Layers:
        - !If [Caching, !Ref CacheLayer, !Ref AWS::NoValue]
        - !Ref PdfLayer
        - arn:aws:lambda:eu-west-1:123456789012:layer:shared-tools:7
      Environment:
        Variables:
          BUCKET: !Ref Bucket
          PREFIX: !Sub "pages-${Stage}/${!literal}"
          ENDPOINT: !If
            - Caching
            - !GetAtt Cache.PrimaryEndPoint.Address
            - ""
          PORT: !If [Caching, "6379", !Ref AWS::NoValue]
          JOINED: !Join ["-", [a, !Ref Stage, !Select [1, !Split [",", "x,y,z"]]]]
          LONG:
            Fn::Sub:
              - "${Name}-${AWS::Region}"
              - Name: !Ref ModelId
          SECRET: !Ref Secret
      Events:
        Get:
          Type: Api
          Properties:
            Path: /pages
            Method: get
        Post:
          Type: Api
          Properties:
            Path: /pages/{id}
            Method: post
            Auth:
              Authorizer: NONE
        Queue:
          Type: SQS
          Properties:
            Queue: !Ref Bucket
        Hidden:
          Type: Api
          Condition: Caching
          Properties:
            Path: /cached
            Method: get
"#;

fn load(overrides: &[(&str, &str)], refs: &[(&str, &str)]) -> Template {
    let overrides = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut references = default_references();
    references.extend(refs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Template::parse(Path::new("t.yaml"), TEMPLATE, &overrides, &references).unwrap()
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

#[test]
fn defaults_globals_and_intrinsics_resolve() {
    let t = load(&[], &[]);
    assert_eq!(t.function_ids(), vec!["PagesFunction", "CachedFunction"]);
    let f = t.function("PagesFunction").unwrap().unwrap();
    assert!(f.deployed);
    assert_eq!(f.memory_mb, s("1024"), "FindInMap on the Stage default");
    assert_eq!(
        f.timeout_s,
        s("30"),
        "Globals' Timeout, a parameter's default"
    );
    assert_eq!(f.layers, vec![s("pdf-tools"), s("shared-tools")]);
    assert_eq!(f.env["BUCKET"], Value::Resource("Bucket".into()));
    assert_eq!(f.env["PREFIX"], s("pages-dev/${literal}"));
    assert_eq!(f.env["ENDPOINT"], s(""));
    assert!(
        !f.env.contains_key("PORT"),
        "AWS::NoValue drops the variable"
    );
    assert_eq!(f.env["JOINED"], s("a-dev-y"));
    assert_eq!(f.env["LONG"], s("model-a-{region}"));
    assert!(matches!(&f.env["SECRET"], Value::Unknown(t) if t.contains("without a default")));
    assert_eq!(
        f.routes
            .iter()
            .map(|r| (r.label(), r.public))
            .collect::<Vec<_>>(),
        vec![
            ("GET /pages".to_string(), false),
            ("POST /pages/{id}".to_string(), true)
        ]
    );
    let globals = t.globals_env().unwrap();
    assert_eq!(globals["REGION"], s("{region}"));
    assert_eq!(globals["MODEL"], s("model-a"));
    assert_eq!(globals["TRACE"], s("on"));
    let cached = t.function("CachedFunction").unwrap().unwrap();
    assert!(!cached.deployed, "Both needs Caching, off by default");
    assert_eq!(cached.memory_mb, s("512"));
    assert_eq!(cached.timeout_s, s("5"));
}

#[test]
fn the_second_definition_of_a_resource_is_the_one_deployed() {
    let t = load(&[], &[]);
    let doc_handler = t
        .resource("PagesFunction")
        .and_then(|r| r.get("Properties"))
        .and_then(|p| p.get("Handler"))
        .and_then(Node::as_str);
    assert_eq!(doc_handler, Some("second.handler"));
}

#[test]
fn overrides_flip_conditions_and_references_map_attributes() {
    let t = load(
        &[
            ("EnableCache", "true"),
            ("Stage", "dev"),
            ("Secret", "s3cr3t"),
        ],
        &[
            ("Bucket", "{manuals_bucket}"),
            ("Cache.PrimaryEndPoint.Address", "{redis_host}"),
        ],
    );
    let f = t.function("PagesFunction").unwrap().unwrap();
    assert_eq!(
        f.layers,
        vec![s("cache"), s("pdf-tools"), s("shared-tools")]
    );
    assert_eq!(f.env["BUCKET"], s("{manuals_bucket}"));
    assert_eq!(f.env["ENDPOINT"], s("{redis_host}"));
    assert_eq!(f.env["PORT"], s("6379"));
    assert_eq!(f.env["SECRET"], s("s3cr3t"));
    assert!(f.routes.iter().any(|r| r.label() == "GET /cached"));
    let cached = t.function("CachedFunction").unwrap().unwrap();
    assert!(cached.deployed);
}

#[test]
fn an_unmapped_attribute_stays_unknown() {
    let t = load(&[("EnableCache", "true")], &[]);
    let f = t.function("PagesFunction").unwrap().unwrap();
    assert_eq!(
        f.env["ENDPOINT"],
        Value::Unknown("!GetAtt Cache.PrimaryEndPoint.Address".into())
    );
}

#[test]
fn an_undeclared_override_is_ignored_and_a_non_template_refused() {
    let t = Template::parse(
        Path::new("t.yaml"),
        TEMPLATE,
        &BTreeMap::from([("Nope".to_string(), "1".to_string())]),
        &default_references(),
    )
    .unwrap();
    assert!(!t.declares("Nope"));
    assert!(t.declares("Stage"));
    let err = Template::parse(
        Path::new("x.yaml"),
        "a: 1\n",
        &BTreeMap::new(),
        &BTreeMap::new(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.starts_with("x.yaml: Resources: missing"), "{err}");
}

#[test]
fn a_cyclic_condition_is_an_error_not_a_stack_overflow() {
    let text = "Conditions:\n  A: !Condition B\n  B: !Condition A\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Condition: A\n";
    let t = Template::parse(
        Path::new("c.yaml"),
        text,
        &BTreeMap::new(),
        &BTreeMap::new(),
    )
    .unwrap();
    let err = t.function("F").err().unwrap().to_string();
    assert!(
        err.contains("refers to itself") || err.contains("too deep"),
        "{err}"
    );
}

#[test]
fn parameter_files_in_their_three_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.json");
    std::fs::write(
        &list,
        r#"[{"ParameterKey": "Stage", "ParameterValue": "prod"}, {"ParameterKey": "N", "ParameterValue": 3}]"#,
    )
    .unwrap();
    let got = read_parameters(&list, "default").unwrap();
    assert_eq!(got["Stage"], "prod");
    assert_eq!(got["N"], "3");
    let object = dir.path().join("params.json");
    std::fs::write(&object, r#"{"Parameters": {"Stage": "staging"}}"#).unwrap();
    assert_eq!(
        read_parameters(&object, "default").unwrap()["Stage"],
        "staging"
    );
    let samconfig = dir.path().join("samconfig.toml");
    std::fs::write(
        &samconfig,
        "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"Stage=dev Name=\\\"a b\\\" Empty=\"\n",
    )
    .unwrap();
    let got = read_parameters(&samconfig, "default").unwrap();
    assert_eq!(got["Stage"], "dev");
    assert_eq!(got["Name"], "a b");
    assert_eq!(got["Empty"], "");
    let err = read_parameters(&samconfig, "prod").unwrap_err().to_string();
    assert!(
        err.contains("no prod.deploy.parameters.parameter_overrides"),
        "{err}"
    );
}
