//! template-rust.yaml and template-hybrid.yaml: cfn-lint clean, the hybrid one generated from the
//! configuration and kept in step, and every function crate has its resources in both.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn cfn_lint(file: &str) {
    let root = common::root();
    let lint = root.join(".venv/bin/cfn-lint");
    assert!(
        lint.is_file(),
        "{} missing: run scripts/setup.sh",
        lint.display()
    );
    let out = Command::new(lint)
        .arg(file)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint {file}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mm(project: &Path, args: &[&str]) -> Output {
    Command::new(common::bin())
        .arg("--project")
        .arg(project)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn cfn_lint_passes() {
    cfn_lint("template-rust.yaml");
}

#[test]
fn hybrid_cfn_lint_passes() {
    cfn_lint("template-hybrid.yaml");
}

/// What SAM makes of a template: each API route and its authorizer (scripts/python/sam_transform.py).
fn sam_routes(file: &Path) -> Result<std::collections::BTreeMap<String, String>, String> {
    let root = common::root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/python/sam_transform.py"))
        .arg(file)
        .current_dir(&root)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(text(&out));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(serde_json::from_value(v["routes"].clone()).unwrap())
}

/// cfn-lint does not run the SAM transform; CloudFormation does, at deploy time. Both templates
/// must pass it, with each route's authorizer where the migration needs it.
#[test]
fn sam_transforms_both_templates_with_the_intended_authorizers() {
    let root = common::root();
    let rust = sam_routes(&root.join("template-rust.yaml")).unwrap();
    assert_eq!(rust["GET /api/manuals"], "CognitoAuth");
    assert_eq!(rust["DELETE /api/manuals/{id}"], "CognitoAuth");
    assert_eq!(rust["GET /health"], "NONE");
    let hybrid = sam_routes(&root.join("template-hybrid.yaml")).unwrap();
    // Generated with --token-authorizer manuals: Python's unauthenticated manuals routes get
    // the Rust token authorizer; its authenticated ones and the Rust test routes keep Cognito.
    for route in [
        "GET /api/manuals",
        "GET /api/manuals/{id}",
        "DELETE /api/manuals/{id}",
    ] {
        assert_eq!(hybrid[route], "RustTokenAuthorizer", "{route}");
        assert_eq!(
            hybrid[&route.replace(" /", " /rust/")],
            "CognitoAuth",
            "{route}"
        );
    }
    assert_eq!(hybrid["POST /api/manuals/download"], "CognitoAuth");
    assert_eq!(hybrid["GET /health"], "NONE");
    assert_eq!(hybrid["POST /api/pdf-page"], "NONE");
}

/// The check fails on what SAM refuses: the `!If` around `Globals.Api.Auth` that an earlier
/// template-rust.yaml had (cfn-lint passed it).
#[test]
fn sam_transform_refuses_an_intrinsic_around_auth() {
    let root = common::root();
    let text = std::fs::read_to_string(root.join("template-rust.yaml")).unwrap();
    let at = text.find("    Auth:\n").expect("Globals.Api.Auth");
    let end = at + text[at..].find("\n\nResources:").unwrap();
    let broken = format!(
        "{}    Auth: !If\n      - HasPool\n      - DefaultAuthorizer: CognitoAuth\n        Authorizers:\n          CognitoAuth:\n            UserPoolArn: !Ref CognitoUserPoolArn\n      - !Ref AWS::NoValue{}",
        &text[..at],
        &text[end..]
    )
    .replace(
        "Conditions:\n",
        "Conditions:\n  HasPool: !Not [!Equals [!Ref CognitoUserPoolArn, \"\"]]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, broken).unwrap();
    let e = sam_routes(&file).unwrap_err();
    assert!(e.contains("SAM refuses it") && e.contains("Auth"), "{e}");
}

#[test]
fn hybrid_template_is_up_to_date() {
    let o = mm(
        &common::root(),
        &["functions", "hybrid-template", "--check"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "template-hybrid.yaml is stale (run `manuel-migrate functions hybrid-template`):\n{}",
        text(&o)
    );
}

#[test]
fn hybrid_check_catches_a_config_change_and_bad_config() {
    let tmp = common::workspace(&[
        "manuel-migrate.toml",
        "template-rust.yaml",
        "template-hybrid.yaml",
    ]);
    let ws = tmp.path();
    let config_path = ws.join("manuel-migrate.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let committed = std::fs::read_to_string(ws.join("template-hybrid.yaml")).unwrap();

    // The query function's timeout changes: the gate names the resource and the line.
    let at = config.find("[functions.query]").unwrap();
    let (head, tail) = config.split_at(at);
    let changed = format!(
        "{head}{}",
        tail.replacen("timeout_s = 60", "timeout_s = 90", 1)
    );
    assert_ne!(changed, config);
    std::fs::write(&config_path, &changed).unwrap();
    let o = mm(ws, &["functions", "hybrid-template", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Resources.QueryFunction"), "{out}");
    assert!(out.contains("Timeout: 90"), "{out}");
    assert!(!out.contains("Resources.HealthFunction"), "{out}");
    assert_eq!(
        std::fs::read_to_string(ws.join("template-hybrid.yaml")).unwrap(),
        committed,
        "--check wrote the template"
    );

    // Regenerating brings it back in step.
    let o = mm(ws, &["functions", "hybrid-template"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let regenerated = std::fs::read_to_string(ws.join("template-hybrid.yaml")).unwrap();
    assert!(regenerated.contains("      Timeout: 90\n"));
    let o = mm(ws, &["functions", "hybrid-template", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A missing file fails the gate too.
    std::fs::remove_file(ws.join("template-hybrid.yaml")).unwrap();
    let o = mm(ws, &["functions", "hybrid-template", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("missing"), "{}", text(&o));

    // Bad configuration: exit 2, one line naming the file and the field, nothing written.
    let bad = changed.replacen(
        "routes = [\"POST /api/query\"]",
        "routes = [\"FETCH api/query\"]",
        1,
    );
    assert_ne!(bad, changed);
    std::fs::write(&config_path, &bad).unwrap();
    let o = mm(ws, &["functions", "hybrid-template"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("manuel-migrate.toml: functions.query.routes"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!ws.join("template-hybrid.yaml").exists());

    // A function pair whose Rust twin is missing from template-rust.yaml.
    std::fs::write(&config_path, &changed).unwrap();
    let rust = std::fs::read_to_string(ws.join("template-rust.yaml")).unwrap();
    std::fs::write(
        ws.join("template-rust.yaml"),
        rust.replace("UsageFunctionRust", "UsageFunctionRenamed"),
    )
    .unwrap();
    let o = mm(ws, &["functions", "hybrid-template"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("template-rust.yaml: Resources.UsageFunctionRust"),
        "{err}"
    );
}

#[test]
fn new_function_keeps_the_hybrid_template_in_step() {
    let tmp = common::workspace(&[
        "manuel-migrate.toml",
        "template-rust.yaml",
        "template-hybrid.yaml",
    ]);
    let ws = tmp.path();
    let o = mm(
        ws,
        &["functions", "new", "demo", "--route", "GET /api/demo"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let hybrid = std::fs::read_to_string(ws.join("template-hybrid.yaml")).unwrap();
    assert!(hybrid.contains("  DemoFunction:\n") && hybrid.contains("  DemoFunctionRust:\n"));
    assert!(hybrid.contains("Path: /api/demo\n") && hybrid.contains("Path: /rust/api/demo\n"));
    let o = mm(ws, &["functions", "hybrid-template", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// The logical IDs of a template's resources (keys under `Resources:` at two spaces).
fn resources(template: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in template.lines() {
        if !line.starts_with(' ') && !line.is_empty() && !line.starts_with('#') {
            inside = line == "Resources:";
            continue;
        }
        if inside {
            if let Some(key) = line
                .strip_prefix("  ")
                .filter(|l| !l.starts_with([' ', '#']))
                .and_then(|l| l.strip_suffix(':'))
            {
                out.push(key.to_owned());
            }
        }
    }
    out
}

#[test]
fn every_function_crate_has_its_resources_and_config() {
    let root = common::root();
    let project = common::project();
    let rust = std::fs::read_to_string(root.join("template-rust.yaml")).unwrap();
    let hybrid = std::fs::read_to_string(root.join("template-hybrid.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("functions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let (fname, cfg) = project
            .config
            .functions
            .iter()
            .find(|(_, c)| c.crate_name == name)
            .unwrap_or_else(|| {
                panic!("crate functions/{name} has no [functions.*] entry in manuel-migrate.toml")
            });
        if cfg.tool {
            // The tool's own functions (the rollback guard) are created by `shift` per
            // shifted function, never by a template.
            for (file, template) in [
                ("template-rust.yaml", &rust),
                ("template-hybrid.yaml", &hybrid),
            ] {
                assert!(
                    !template.contains(&format!("CodeUri: functions/{name}\n")),
                    "{file} deploys the tool function {name}, which shift creates"
                );
            }
            assert!(
                cfg.routes.is_empty(),
                "{fname}: a tool function has no routes"
            );
            continue;
        }
        let res = &cfg.template_resource;
        for (file, template) in [
            ("template-rust.yaml", &rust),
            ("template-hybrid.yaml", &hybrid),
        ] {
            assert!(
                template.contains(&format!("  {res}Rust:\n")),
                "{file} lacks {res}Rust"
            );
            assert!(
                template.contains(&format!("CodeUri: functions/{name}\n")),
                "{file}: no CodeUri for {name}"
            );
            assert!(
                template.contains(&format!("Binary: {name}\n")),
                "{file}: no BuildProperties.Binary for {name}"
            );
            assert!(
                template.contains(&format!(
                    "FunctionName: !Sub manuel-{fname}-rust-${{Stage}}\n"
                )),
                "{file}: {res}Rust is not named manuel-{fname}-rust-STAGE"
            );
        }
        // The hybrid template also holds the Python function, as deployed (a Rust-only
        // function, the token authorizer, has none).
        let Some(py) = cfg.python() else {
            assert!(
                !hybrid.contains(&format!("  {res}:\n")),
                "template-hybrid.yaml has a Python {res} for the Rust-only {fname}"
            );
            assert!(
                cfg.routes.is_empty(),
                "{fname}: a Rust-only function has no routes"
            );
            continue;
        };
        assert!(
            hybrid.contains(&format!("  {res}:\n")),
            "template-hybrid.yaml lacks the Python {res}"
        );
        assert!(
            hybrid.contains(&format!("FunctionName: !Sub manuel-{fname}-${{Stage}}\n")),
            "template-hybrid.yaml: {res} is not named manuel-{fname}-STAGE"
        );
        assert!(
            hybrid.contains(&format!(
                "CodeUri: manuel/backend/src/functions/{}/\n",
                py.dir
            )),
            "template-hybrid.yaml: {res} does not build from the Manuel checkout"
        );
        for route in &cfg.routes {
            let (method, path) = route.split_once(' ').unwrap();
            let event =
                |p: &str| format!("Path: {p}\n            Method: {}\n", method.to_lowercase());
            assert!(
                rust.contains(&event(path)),
                "{fname}: route {route} missing from template-rust.yaml"
            );
            assert!(
                hybrid.contains(&event(path)),
                "{fname}: Python route {route} missing from template-hybrid.yaml"
            );
            assert!(
                hybrid.contains(&event(&format!("/rust{path}"))),
                "{fname}: Rust test route /rust{path} missing from template-hybrid.yaml"
            );
        }
    }

    // And the other way: every function resource of either template belongs to a crate.
    let crate_of = |resource: &str| {
        project
            .config
            .functions
            .values()
            .find(|c| c.template_resource == resource)
            .map(|c| c.crate_name.clone())
    };
    for (file, template) in [
        ("template-rust.yaml", &rust),
        ("template-hybrid.yaml", &hybrid),
    ] {
        let found = resources(template);
        assert!(!found.is_empty(), "{file}: no resources found");
        for r in found {
            let Some(base) = r
                .strip_suffix("Rust")
                .filter(|b| b.ends_with("Function"))
                .or_else(|| r.ends_with("Function").then_some(r.as_str()))
            else {
                continue;
            };
            if file == "template-rust.yaml" && base == r {
                panic!("template-rust.yaml has a resource {r} without the Rust suffix");
            }
            let krate = crate_of(base).unwrap_or_else(|| {
                panic!("{file}: {r} has no [functions.*] entry with template_resource = {base}")
            });
            assert!(
                root.join("functions")
                    .join(&krate)
                    .join("Cargo.toml")
                    .is_file(),
                "{file}: {r} has no crate functions/{krate}"
            );
        }
    }
}

/// The hybrid template keeps each Python route's authorizer as deployed (`public_routes`), even
/// where the Rust twin adds one: manuals' list is public in Python, its download is not. With
/// `--token-authorizer manuals` (as committed) the public ones run the Rust token authorizer;
/// without it they stay `NONE`.
#[test]
fn python_routes_keep_their_deployed_authorizer() {
    let committed = std::fs::read_to_string(common::root().join("template-hybrid.yaml")).unwrap();
    let tmp = common::workspace(&[
        "manuel-migrate.toml",
        "template-rust.yaml",
        "template-hybrid.yaml",
    ]);
    let o = mm(
        tmp.path(),
        &["functions", "hybrid-template", "--no-token-authorizer"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plain = std::fs::read_to_string(tmp.path().join("template-hybrid.yaml")).unwrap();
    assert!(!plain.contains("RustTokenAuthorizer") && !plain.contains("# Options:"));
    // A later run without options keeps what the file records (none now).
    let o = mm(tmp.path(), &["functions", "hybrid-template", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for (text, public) in [
        (&plain, "Authorizer: NONE"),
        (&committed, "Authorizer: RustTokenAuthorizer"),
    ] {
        let block = manuals_block(text);
        let event_of = |path: &str, method: &str| {
            let at = block
                .find(&format!("Path: {path}\n            Method: {method}\n"))
                .unwrap_or_else(|| panic!("{method} {path} in ManualsFunction:\n{block}"));
            let rest = &block[at..];
            let next = rest[1..].find("Type: Api").map_or(rest.len(), |i| i + 1);
            rest[..next].to_owned()
        };
        assert!(event_of("/api/manuals", "get").contains(public));
        assert!(event_of("/api/manuals/{id}", "delete").contains(public));
        assert!(!event_of("/api/manuals/download", "post").contains("Authorizer"));
    }
    // Unknown functions are refused, naming the option.
    let o = mm(
        tmp.path(),
        &["functions", "hybrid-template", "--token-authorizer", "nope"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--token-authorizer: unknown function 'nope'"),
        "{}",
        text(&o)
    );
}

fn manuals_block(text: &str) -> String {
    let start = text
        .find("\n  ManualsFunction:\n")
        .expect("ManualsFunction in the hybrid");
    // The resource runs until the next line indented by exactly two spaces.
    let lines: Vec<&str> = text[start + 1..].lines().collect();
    let len = 1 + lines[1..]
        .iter()
        .take_while(|l| !l.starts_with("  ") || l.starts_with("   "))
        .count();
    lines[..len].join("\n") + "\n"
}
