//! Tests of the hybrid template generator.

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
    let text = "A: 1\nB:\n  x:\n    y: !Ref Z\n\n    z: [1, 2]\n  w: \"q\"\n# c\nC: >\n  text\n";
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
    let t = generate_for(&project, &Options::default()).unwrap();
    assert!(t.contains("  HealthFunction:\n") && t.contains("  HealthFunctionRust:\n"));
    assert!(t.contains("            Path: /rust/health\n"));
    assert!(t.contains("FunctionName: !Sub manuel-query-${Stage}\n"));
    // The Rust-only authorizer has its Rust resource and no Python one.
    assert!(t.contains("  AuthorizerFunctionRust:\n") && !t.contains("  AuthorizerFunction:\n"));
    assert!(!t.contains(TOKEN_AUTHORIZER));
    assert_eq!(Options::of_template(&t), Options::default());
}

#[test]
fn the_token_authorizer_option_protects_the_named_functions_public_routes_only() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let project = Project::load(root).unwrap();
    let options = Options {
        token_authorizer: vec!["manuals".into()],
    };
    let t = generate_for(&project, &options).unwrap();
    assert_eq!(
        Options::of_template(&t),
        options,
        "the header records the option"
    );
    assert!(t.contains(
        "        RustTokenAuthorizer:\n          FunctionArn: !GetAtt AuthorizerFunctionRust.Arn\n"
    ));
    let resource = |name: &str| {
        let start = t.find(&format!("\n  {name}:\n")).unwrap() + 1;
        let rest = &t[start..];
        let end = rest
            .match_indices("\n  ")
            .find(|(i, _)| rest[i + 3..].starts_with(|c: char| c.is_ascii_alphabetic()))
            .map_or(rest.len(), |(i, _)| i);
        rest[..end].to_owned()
    };
    let manuals = resource("ManualsFunction");
    assert_eq!(
        manuals.matches("Authorizer: RustTokenAuthorizer").count(),
        3,
        "{manuals}"
    );
    assert!(!manuals.contains("Authorizer: NONE"));
    // Health stays public.
    let health = resource("HealthFunction");
    assert_eq!(health.matches("Authorizer: NONE").count(), 4, "{health}");
    for bad in ["nope", "health-x"] {
        let e = generate_for(
            &project,
            &Options {
                token_authorizer: vec![bad.into()],
            },
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("--token-authorizer: unknown function"),
            "{e}"
        );
    }
    let e = generate_for(
        &project,
        &Options {
            token_authorizer: vec!["usage".into()],
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no Python routes without an authorizer"),
        "{e}"
    );
}
