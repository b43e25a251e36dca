//! `parity-fixtures/schema.json` is generated from the fixture types and every fixture and cross
//! scenario in the repository validates against it (with a real JSON Schema validator).

mod common;

use serde_json::{json, Value};
use std::path::Path;

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(common::root().join("parity-fixtures/schema.json")).unwrap();
    serde_json::from_str(&text).expect("schema.json is JSON")
}

fn json_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{} (at {})", e, e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    assert_eq!(
        committed_schema(),
        manuel_migrate::fixtures::schema(),
        "parity-fixtures/schema.json is stale: run `manuel-migrate parity schema`"
    );
}

#[test]
fn every_fixture_and_cross_scenario_validates() {
    let schema = committed_schema();
    let fixtures = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let mut cross_schema = schema.clone();
    cross_schema["$ref"] = json!("#/$defs/CrossScenario");
    for k in [
        "type",
        "properties",
        "required",
        "additionalProperties",
        "title",
    ] {
        cross_schema.as_object_mut().unwrap().remove(k);
    }
    let cross = jsonschema::draft202012::new(&cross_schema).expect("the cross schema compiles");

    let root = common::root().join("parity-fixtures");
    let mut checked = 0;
    let mut problems = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap().filter_map(Result::ok) {
        let path = dir.path();
        let name = dir.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || name == "files" || name == "bedrock" || name == "transcripts" {
            continue;
        }
        let validator = if name == "cross" { &cross } else { &fixtures };
        for file in json_files(&path) {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for e in errors(validator, &doc) {
                problems.push(format!("{}: {e}", file.display()));
            }
            checked += 1;
        }
    }
    assert!(checked >= 190, "only {checked} documents found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_validator_rejects_what_the_loader_rejects() {
    let fixtures = jsonschema::draft202012::new(&committed_schema()).unwrap();
    let good = json!({"name": "x", "event": {}, "state": {}, "noise": ["$.a"]});
    assert!(
        errors(&fixtures, &good).is_empty(),
        "{:?}",
        errors(&fixtures, &good)
    );
    for bad in [
        json!({"event": {}}),
        json!({"name": "", "event": {}}),
        json!({"name": "x", "event": {}, "unknown": 1}),
        json!({"name": "x", "event": {}, "env": {"A": 1}}),
        json!({"name": "x", "event": {}, "setup": {"s3": [{"bucket": "b"}]}}),
        json!({"name": "x", "event": {}, "setup": {"redis": [{"key": "k", "value": 1, "ttl": -1}]}}),
    ] {
        assert!(!errors(&fixtures, &bad).is_empty(), "accepted: {bad}");
    }
}
