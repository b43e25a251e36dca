//! Issue 14: `shift` reads the live routes of the function (API Gateway GetResources/GetMethod,
//! in moto) before any weight change, and refuses a Rust twin that needs an authorizer a route
//! lacks — naming the route — unless the twin verifies tokens itself, the authorizer is attached,
//! or `--accept-route-auth` is given. `status` shows the routes' authorization.

mod common;

use aws_sdk_apigateway::types::IntegrationType;
use manuel_migrate::stack::{Ports, Stack};
use std::path::PathBuf;
use std::process::{Command, Output};

const FUNCTION: &str = "manuel-manuals-dev";

struct World {
    stack: Stack,
    lambda: aws_sdk_lambda::Client,
    apigw: aws_sdk_apigateway::Client,
    api: String,
    /// (resource id, method) of the routes Manuel serves without an authorizer.
    open: Vec<(String, &'static str)>,
    ws: PathBuf,
    _tmp: tempfile::TempDir,
}

fn lambda_uri(function: &str) -> String {
    format!("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:{function}/invocations")
}

impl World {
    /// moto: `manuel-manuals-dev` with versions 1 (Python) and 2 (Rust) behind alias `live`, and
    /// a REST API as backend/template.yaml deploys manuals: list, detail and delete without an
    /// authorizer, download with Cognito, an OPTIONS mock, and a health route of another function.
    async fn new() -> Self {
        let project = common::project();
        let tmp = tempfile::tempdir().unwrap();
        let stack = Stack::start(&project, tmp.path().join("stack"), Ports::default(), false)
            .await
            .unwrap();
        let conf = stack.sdk_config().await;
        manuel_migrate::stack::moto::create_two_version_function(&stack, FUNCTION)
            .await
            .unwrap();
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        let api = apigw
            .create_rest_api()
            .name("manuel-dev")
            .send()
            .await
            .unwrap()
            .id()
            .unwrap()
            .to_owned();
        let root = apigw
            .get_resources()
            .rest_api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .find(|r| r.path() == Some("/"))
            .and_then(|r| r.id())
            .unwrap()
            .to_owned();
        let child = |parent: String, part: &'static str| {
            let apigw = apigw.clone();
            let api = api.clone();
            async move {
                apigw
                    .create_resource()
                    .rest_api_id(&api)
                    .parent_id(parent)
                    .path_part(part)
                    .send()
                    .await
                    .unwrap()
                    .id()
                    .unwrap()
                    .to_owned()
            }
        };
        let api_res = child(root.clone(), "api").await;
        let manuals = child(api_res, "manuals").await;
        let id = child(manuals.clone(), "{id}").await;
        let download = child(manuals.clone(), "download").await;
        let health = child(root, "health").await;
        let pool_authorizer = apigw
            .create_authorizer()
            .rest_api_id(&api)
            .name("CognitoAuth")
            .r#type(aws_sdk_apigateway::types::AuthorizerType::CognitoUserPools)
            .provider_arns("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_x")
            .identity_source("method.request.header.Authorization")
            .send()
            .await
            .unwrap()
            .id()
            .unwrap()
            .to_owned();
        let w = World {
            stack,
            lambda: aws_sdk_lambda::Client::new(&conf),
            apigw,
            api,
            open: vec![
                (manuals.clone(), "GET"),
                (id.clone(), "GET"),
                (id.clone(), "DELETE"),
            ],
            ws: tmp.path().join("ws"),
            _tmp: tmp,
        };
        for (res, method) in w.open.clone() {
            w.method(&res, method, "NONE", None, Some(FUNCTION)).await;
        }
        w.method(
            &download,
            "POST",
            "COGNITO_USER_POOLS",
            Some(&pool_authorizer),
            Some(FUNCTION),
        )
        .await;
        w.method(&manuals, "OPTIONS", "NONE", None, None).await;
        w.method(&health, "GET", "NONE", None, Some("manuel-health-dev"))
            .await;

        std::fs::create_dir_all(&w.ws).unwrap();
        std::fs::copy(
            common::root().join("manuel-migrate.toml"),
            w.ws.join("manuel-migrate.toml"),
        )
        .unwrap();
        manuel_migrate::config::record_deploy(
            &w.ws,
            "manuals",
            &[
                ("function_name", FUNCTION),
                ("alias", "live"),
                ("python_version", "1"),
                ("rust_version", "2"),
                ("rest_api_id", &w.api),
            ],
        )
        .unwrap();
        w
    }

    /// (Re)define a method: its authorization and its integration (a Lambda proxy of
    /// `function`'s `live` alias, or a mock).
    async fn method(
        &self,
        resource: &str,
        method: &str,
        authorization: &str,
        authorizer: Option<&str>,
        function: Option<&str>,
    ) {
        self.apigw
            .put_method()
            .rest_api_id(&self.api)
            .resource_id(resource)
            .http_method(method)
            .authorization_type(authorization)
            .set_authorizer_id(authorizer.map(str::to_owned))
            .send()
            .await
            .unwrap();
        let integration = self
            .apigw
            .put_integration()
            .rest_api_id(&self.api)
            .resource_id(resource)
            .http_method(method);
        match function {
            Some(f) => integration
                .r#type(IntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(lambda_uri(&format!("{f}:live"))),
            None => integration.r#type(IntegrationType::Mock),
        }
        .send()
        .await
        .unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(common::bin())
            .arg("--project")
            .arg(&self.ws)
            .args(args)
            .envs(self.stack.aws_env())
            .output()
            .unwrap()
    }

    /// Edit the copied configuration's manuals section.
    fn config(&self, from: &str, to: &str) {
        let path = self.ws.join("manuel-migrate.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from} not in the config");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    async fn rust_weight(&self) -> f64 {
        let a = self
            .lambda
            .get_alias()
            .function_name(FUNCTION)
            .name("live")
            .send()
            .await
            .unwrap();
        a.routing_config()
            .and_then(|r| r.additional_version_weights())
            .and_then(|m| m.get("2").copied())
            .unwrap_or(0.0)
    }

    /// `shift --function manuals` with these flags.
    fn shift(&self, flags: &[&str]) -> Output {
        let mut args = vec!["shift", "--function", "manuals"];
        args.extend_from_slice(flags);
        self.run(&args)
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.ws.join("reports/shift-journal.jsonl")).unwrap_or_default()
    }
}

fn out(o: &Output) -> String {
    common::stdout(o) + &common::stderr(o)
}

#[tokio::test]
async fn a_twin_that_needs_an_authorizer_is_not_shifted_onto_routes_without_one() {
    let w = World::new().await;

    // As configured: the Rust manuals verifies tokens itself, so the open routes are noted and
    // the shift proceeds.
    let o = w.shift(&["--percent", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("note: manuals: DELETE /api/manuals/{id} NONE, GET /api/manuals NONE, GET /api/manuals/{id} NONE without an authorizer; the Rust twin verifies tokens itself"),
        "{err}"
    );
    assert_eq!(w.rust_weight().await, 0.05);
    let o = w.run(&["rollback", "--function", "manuals"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    // A twin that takes the caller only from claims: refused before any weight change, in one
    // line naming the first open route (exit 2); nothing journaled, the alias untouched.
    w.config("verifies_tokens = true", "verifies_tokens = false");
    let journal = w.journal();
    let o = w.shift(&["--percent", "5", "--force"]);
    common::assert_input_error(
        &o,
        &[
            "manuals: route DELETE /api/manuals/{id} of API",
            "has no authorizer (NONE)",
            "needs_authorizer",
            "--token-authorizer manuals",
            "--accept-route-auth",
        ],
    );
    assert_eq!(w.rust_weight().await, 0.0);
    assert_eq!(w.journal(), journal, "a refused shift journals nothing");
    // A plan is refused the same way.
    let o = w.shift(&["--plan", "5,50,100", "--force"]);
    common::assert_input_error(&o, &["route DELETE /api/manuals/{id}"]);
    // The dry run says what it would read.
    let o = w.shift(&["--percent", "5", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("apigateway:GetResources {}", w.api)),
        "{}",
        out(&o)
    );
    // Moving traffic back to Python needs nothing of the routes.
    let o = w.shift(&["--percent", "0"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    // status shows every route that invokes the function, with its authorization (not the
    // OPTIONS mock, not the health function's route).
    let o = w.run(&["status", "--function", "manuals"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    for route in [
        "GET /api/manuals NONE",
        "GET /api/manuals/{id} NONE",
        "DELETE /api/manuals/{id} NONE",
        "POST /api/manuals/download COGNITO_USER_POOLS",
    ] {
        assert!(s.contains(route), "{route}:\n{s}");
    }
    assert!(!s.contains("OPTIONS") && !s.contains("/health"), "{s}");

    // --accept-route-auth: shifted with a warning.
    let o = w.shift(&["--percent", "5", "--force", "--accept-route-auth"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains("shifting anyway (--accept-route-auth)"),
        "{}",
        out(&o)
    );
    assert_eq!(w.rust_weight().await, 0.05);
    let o = w.run(&["rollback", "--function", "manuals"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    // The token authorizer attached to the open routes (what `functions hybrid-template
    // --token-authorizer manuals` deploys): the shift proceeds, status shows CUSTOM.
    let token_authorizer = w
        .apigw
        .create_authorizer()
        .rest_api_id(&w.api)
        .name("RustTokenAuthorizer")
        .r#type(aws_sdk_apigateway::types::AuthorizerType::Token)
        .authorizer_uri(lambda_uri("manuel-authorizer-rust-dev"))
        .identity_source("method.request.header.Authorization")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    for (res, method) in w.open.clone() {
        w.method(
            &res,
            method,
            "CUSTOM",
            Some(&token_authorizer),
            Some(FUNCTION),
        )
        .await;
    }
    let o = w.shift(&["--percent", "5", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains("without"), "{}", out(&o));
    assert_eq!(w.rust_weight().await, 0.05);
    let o = w.run(&["status", "--function", "manuals"]);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains(&format!("GET /api/manuals CUSTOM ({token_authorizer})")),
        "{}",
        out(&o)
    );

    // Without the API id the routes cannot be checked: refused naming the field.
    let path = w.ws.join("manuel-migrate.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = format!("rest_api_id = \"{}\"\n", w.api);
    assert!(text.contains(&line), "{text}");
    std::fs::write(&path, text.replace(&line, "")).unwrap();
    let o = w.shift(&["--percent", "10"]);
    common::assert_input_error(&o, &["functions.manuals.deploy.rest_api_id is missing"]);
}
