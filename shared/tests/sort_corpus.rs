//! Differential test of `pysort::sort_order` with `ddb::py_lt` against CPython 3.11's
//! `list.sort(key=..., reverse=...)` on DynamoDB values: the same permutation, or the same first
//! failing comparison (its message names the two types in CPython's order).
//!
//! `data/sort_corpus.json` is written by `.venv-lambda/bin/python
//! shared/tests/data/gen_sort_corpus.py`.

use aws_sdk_dynamodb::types::AttributeValue;
use manuel_shared::ddb::{py_lt, Attr};
use manuel_shared::pysort::sort_order;
use serde_json::Value;

const CORPUS: &str = include_str!("data/sort_corpus.json");

fn attr(v: &Value) -> Attr {
    let av = if let Some(n) = v.get("N").and_then(Value::as_str) {
        AttributeValue::N(n.to_owned())
    } else if let Some(s) = v.get("S").and_then(Value::as_str) {
        AttributeValue::S(s.to_owned())
    } else if let Some(b) = v.get("BOOL").and_then(Value::as_bool) {
        AttributeValue::Bool(b)
    } else {
        AttributeValue::Null(true)
    };
    Attr::from_sdk(&av).expect("corpus values are readable")
}

#[test]
fn sort_matches_cpython_on_every_corpus_case() {
    let corpus: Value = serde_json::from_str(CORPUS).expect("corpus is JSON");
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 1000, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let keys: Vec<Attr> = case["keys"].as_array().unwrap().iter().map(attr).collect();
        let reverse = case["reverse"].as_bool().unwrap();
        let got = sort_order(&keys, reverse, py_lt);
        let got = match got {
            Ok(order) => serde_json::json!({ "order": order }),
            Err(e) => serde_json::json!({ "error": format!("{}: {}", e.kind, e.message) }),
        };
        let want = match case.get("error") {
            Some(e) => serde_json::json!({ "error": e }),
            None => serde_json::json!({ "order": case["order"] }),
        };
        if got != want {
            failures.push(format!(
                "case {i} (n={}): python {want}, rust {got}",
                keys.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}
