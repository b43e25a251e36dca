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
    let t = generate_for(&project).unwrap();
    assert!(t.contains("  HealthFunction:\n") && t.contains("  HealthFunctionRust:\n"));
    assert!(t.contains("            Path: /rust/health\n"));
    assert!(t.contains("FunctionName: !Sub manuel-query-${Stage}\n"));
}
