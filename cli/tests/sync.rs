//! `functions sync`: manuel-migrate.toml against a SAM template written for these tests (Manuel's
//! own template stays out of the repository; scripts/run-local.sh checks it when given one).

mod common;

use std::path::Path;
use std::process::Output;

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    MemorySize: !Ref LambdaMemorySize
    Timeout: 30
    Environment:
      Variables:
        REGION: !Ref AWS::Region
        MODEL: !Ref ModelId
  Api:
    Auth:
      DefaultAuthorizer: CognitoAuth
Parameters:
  Stage:
    Type: String
    Default: dev
  LambdaMemorySize:
    Type: Number
    Default: 256
  ModelId:
    Type: String
    Default: model-a
  EnableCache:
    Type: String
    Default: "false"
Conditions:
  Caching: !Equals [!Ref EnableCache, "true"]
Resources:
  CacheLayer:
    Type: AWS::Serverless::LayerVersion
    Condition: Caching
    Properties:
      ContentUri: layers/redis/
  PdfLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/pdf-processing/
  Bucket:
    Type: AWS::S3::Bucket
  PagesFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/functions/pages/
      Handler: app.lambda_handler
      Timeout: 60
      Layers:
        - !If [Caching, !Ref CacheLayer, !Ref AWS::NoValue]
        - !Ref PdfLayer
      Environment:
        Variables:
          BUCKET: !Ref Bucket
          PREFIX: !Sub "pages-${Stage}"
      Events:
        List:
          Type: Api
          Properties:
            Path: /api/pages
            Method: get
        Render:
          Type: Api
          Properties:
            Path: /api/pages/{id}
            Method: post
            Auth:
              Authorizer: NONE
"#;

const CONFIG: &str = r#"# the project
[project]
stage = "local"
region = "eu-west-1"
account_id = "123456789012"

[env]
REGION = "{region}"
MODEL = "model-a"

[sync.references]
Bucket = "{manuals_bucket}"
Stage = "{stage}"

[functions.pages]
python_dir = "pages"
handler = "app.lambda_handler"
crate = "pages"
template_resource = "PagesFunction"
# as deployed
memory_mb = 256
timeout_s = 60
layers = ["pdf-processing"]
routes = ["GET /api/pages", "POST /api/pages/{id}"]
public_routes = ["POST /api/pages/{id}"]

[functions.pages.env]
BUCKET = "{manuals_bucket}"
PREFIX = "pages-{stage}"
"#;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manuel-migrate.toml"), config).unwrap();
        std::fs::write(dir.path().join("template.yaml"), TEMPLATE).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.path().join("manuel-migrate.toml")).unwrap()
    }

    fn sync(&self, extra: &[&str]) -> Output {
        let template = self.path().join("template.yaml");
        let mut args = vec![
            "functions",
            "sync",
            "--template",
            template.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        std::process::Command::new(common::bin())
            .arg("--project")
            .arg(self.path())
            .args(&args)
            .output()
            .unwrap()
    }
}

fn failing_lines(o: &Output) -> Vec<String> {
    common::stdout(o)
        .lines()
        .filter(|l| l.starts_with("functions.") || l.starts_with("env."))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_configuration_as_deployed_passes_the_check() {
    let p = Project::new(CONFIG);
    let o = p.sync(&["--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
    assert!(
        common::stdout(&o).contains("0 differ"),
        "{}",
        common::stdout(&o)
    );
}

#[test]
fn a_changed_memory_size_is_one_line_naming_the_function_and_field() {
    let p = Project::new(&CONFIG.replace("memory_mb = 256", "memory_mb = 512"));
    let o = p.sync(&["--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", common::stdout(&o));
    let lines = failing_lines(&o);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("functions.pages.memory_mb: manuel-migrate.toml has 512,"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("(PagesFunction) deploys \"256\""),
        "{}",
        lines[0]
    );
    assert!(
        p.config().contains("memory_mb = 512"),
        "--check writes nothing"
    );
}

#[test]
fn sync_updates_every_drifted_fact_and_keeps_the_comments() {
    let drifted = CONFIG
        .replace("memory_mb = 256", "memory_mb = 1024")
        .replace("timeout_s = 60", "timeout_s = 30")
        .replace("layers = [\"pdf-processing\"]", "layers = []")
        .replace(
            "public_routes = [\"POST /api/pages/{id}\"]",
            "public_routes = []",
        )
        .replace("MODEL = \"model-a\"", "MODEL = \"model-b\"\nEXTRA = \"x\"")
        .replace(
            "PREFIX = \"pages-{stage}\"",
            "PREFIX = \"old\"\nGONE = \"1\"",
        );
    let p = Project::new(&drifted);
    let o = p.sync(&["--check"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = failing_lines(&o);
    for field in [
        "functions.pages.memory_mb:",
        "functions.pages.timeout_s:",
        "functions.pages.layers:",
        "functions.pages.public_routes:",
        "env.MODEL:",
        "env.EXTRA:",
        "functions.pages.env.PREFIX:",
        "functions.pages.env.GONE:",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(field)),
            "{field} missing in {lines:?}"
        );
    }
    assert_eq!(lines.len(), 8, "{lines:?}");

    let o = p.sync(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
    assert!(common::stdout(&o).contains("updated 8 facts"));
    let text = p.config();
    assert!(text.starts_with("# the project\n"), "{text}");
    assert!(text.contains("# as deployed\nmemory_mb = 256"), "{text}");
    assert!(!text.contains("GONE") && !text.contains("EXTRA"), "{text}");
    let o = p.sync(&["--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
}

#[test]
fn a_declared_deviation_is_kept_and_a_stale_one_is_reported() {
    let kept = CONFIG.replace(
        "layers = [\"pdf-processing\"]",
        "layers = [\"redis\", \"pdf-processing\"]",
    )
        + "\n[functions.pages.template_deviations]\nlayers = \"the cache cases import redis\"\n";
    let p = Project::new(&kept);
    let o = p.sync(&["--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stdout(&o));
    assert!(common::stdout(&o).contains("kept: the cache cases import redis"));
    let o = p.sync(&[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(p
        .config()
        .contains("layers = [\"redis\", \"pdf-processing\"]"));

    let stale = CONFIG.to_string()
        + "\n[functions.pages.template_deviations]\nlayers = \"the cache cases import redis\"\n";
    let p = Project::new(&stale);
    let o = p.sync(&["--check"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = failing_lines(&o);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("functions.pages.layers: declared as deviating")),
        "{lines:?}"
    );
}

#[test]
fn parameters_from_a_file_flip_conditions() {
    let p = Project::new(CONFIG);
    let params = p.path().join("params.json");
    std::fs::write(
        &params,
        r#"{"Parameters": {"EnableCache": "true", "LambdaMemorySize": "512"}}"#,
    )
    .unwrap();
    let o = p.sync(&["--check", "--parameters", params.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let lines = failing_lines(&o);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("functions.pages.layers:")
                && l.ends_with("deploys [redis, pdf-processing]")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("functions.pages.memory_mb:")),
        "{lines:?}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let p = Project::new(CONFIG);
    let o = p.sync(&["--check", "--function", "nope"]);
    common::assert_input_error(&o, &["unknown function 'nope'"]);
    std::fs::write(p.path().join("template.yaml"), "Resources: [1, 2\n").unwrap();
    let o = p.sync(&["--check"]);
    common::assert_input_error(&o, &["template.yaml", "line"]);
    let params = p.path().join("p.json");
    std::fs::write(&params, "{\"Parameters\": {\"Unknown\": \"1\"}}").unwrap();
    std::fs::write(p.path().join("template.yaml"), TEMPLATE).unwrap();
    let o = p.sync(&["--check", "--parameters", params.to_str().unwrap()]);
    common::assert_input_error(&o, &["p.json", "parameter Unknown is declared by none"]);
}
